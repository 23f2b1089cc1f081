"""Lock-order inversions (SPEC section 2: lock_order_inversion; section 3:
lock_order = 1 by object, class, 0 off).

The programs take their locks in conflicting orders one thread after the
other (thread 1 runs to its end and is joined before thread 2 starts), so
no run deadlocks: the finding is a potential deadlock. They print their
locks' addresses. A positive checks:
  - one finding, reported live on stderr (before the exit report) and
    once: "2 locks taken in conflicting orders: T2 took 0xB then 0xA; T1
    took 0xA then 0xB; they can deadlock", the edge that closed the cycle
    first, then the rest of the cycle in order;
  - per edge, "edge N of the cycle, in T<n>: holding 0x…, taken at:" with
    the function that took the held lock at #0, and "took 0x… at:" with
    the function that took the second lock at #0 and its caller below;
  - the JSON finding's threads: the threads of the edges, in that order.

Negatives (no finding, exit 0): one global order under load, trylock
back-off, recursive relocks, memory reused for new locks, a gate lock,
lock_order=0, random nesting that follows one hidden order.

Many edges (issue 16 item 7): 100,000 nested pairs under one outer lock
finish in well under the bound the old graph (a full search for every new
edge, quadratic) could not meet, and an inversion planted among them is
reported once.

A cycle made by one thread alone (T1 takes A then B, later B then A) IS
reported, by choice, as lockdep does: the same code can run in two threads
at once, and then it deadlocks.
"""
import re
import resource

from lwtest import assert_in_stack, program, run

FRAME = re.compile(r"^\s+#(\d+)\s+0x[0-9a-f]+ in (.*)$")
# The object's name, where it has one, follows its address: "0x… (lock_a)".
EDGE = re.compile(r"^  edge (\d+) of the cycle, in T(\d+): holding (0x[0-9a-f]+)(?: \([^)]*\))?, taken at:$")
FOLDED = re.compile(r"^ +#(\d+)-#(\d+) \u2026 \d+ frames in std::$")
TOOK = re.compile(r"^    took (0x[0-9a-f]+)(?: \([^)]*\))? at:$")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def printed(result):
    found = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("0x"):
            found[parts[0]] = parts[1]
    return found


def frame_function(text):
    return re.split(r"[ +]", text, maxsplit=1)[0]


def cycle_message(edges):
    """edges: [(thread, first, second), ...] in the report's order."""
    parts = "; ".join(f"T{t} took {a} then {b}" for t, a, b in edges)
    return f"{len(edges)} locks taken in conflicting orders: {parts}; they can deadlock"


def the_inversion(result, expected_status=66):
    assert result.returncode == expected_status, result
    assert result.report is not None, result
    findings = result.findings()
    assert [f["kind"] for f in findings] == ["lock_order_inversion"], findings
    return findings[0]


def live_edges(result, message):
    """The live text report of the inversion `message` (once, before the
    exit report), parsed: [{thread, holding, holding_frames, took,
    took_frames}] in order."""
    header = f"leakwatch: lock_order_inversion: {message}\n"
    count = result.stderr.count(header)
    assert count == 1, f"{header!r} appears {count} times on stderr:\n{result.stderr[-5000:]}"
    assert result.stderr.count("leakwatch: lock_order_inversion:") == 1, result.stderr
    start = result.stderr.index(header)
    exit_summary = result.stderr.find("SUMMARY (exit)")
    assert exit_summary == -1 or start < exit_summary, "reported only at exit"
    body = result.stderr[start + len(header):]
    body = body[:body.find("\n\n") + 1]
    edges, frames = [], None
    for line in body.splitlines():
        m = EDGE.match(line)
        if m:
            assert int(m.group(1)) == len(edges) + 1, body
            edges.append({"thread": int(m.group(2)), "holding": m.group(3), "holding_frames": [],
                          "took": None, "took_frames": []})
            frames = edges[-1]["holding_frames"]
            continue
        m = TOOK.match(line)
        if m and edges:
            edges[-1]["took"] = m.group(1)
            frames = edges[-1]["took_frames"]
            continue
        m = FOLDED.match(line)
        if m and frames is not None:
            # "#0-#2 … 3 frames in std::": the standard library's frames, one line.
            assert int(m.group(1)) == len(frames), body
            frames.extend(["(std::)"] * (int(m.group(2)) - int(m.group(1)) + 1))
            continue
        m = FRAME.match(line)
        assert m and frames is not None, f"unexpected line {line!r} in\n{body}"
        assert int(m.group(1)) == len(frames), body
        frames.append(m.group(2))
    return edges


def check_edges(edges, expected):
    """expected: [(thread, held, held_taken_in, took, took_in, caller), ...]:
    the held lock's stack has held_taken_in at #0; the second lock's has
    took_in at #0 and `caller` somewhere below it."""
    assert len(edges) == len(expected), edges
    for edge, (thread, held, held_in, took, took_in, caller) in zip(edges, expected):
        assert edge["thread"] == thread and edge["holding"] == held and edge["took"] == took, (edge, expected)
        assert edge["holding_frames"], edge
        assert frame_function(edge["holding_frames"][0]) == held_in, edge
        assert edge["took_frames"], edge
        assert frame_function(edge["took_frames"][0]) == took_in, edge
        if caller:
            assert caller in [frame_function(f) for f in edge["took_frames"][1:]], edge
        for frame in edge["holding_frames"] + edge["took_frames"]:
            assert "libleakwatch" not in frame, f"shim frame in {edge}"


def assert_no_report(result, expected_stdout=None):
    assert result.returncode == 0, result
    assert "leakwatch:" not in result.stderr, result.stderr
    assert result.report is not None and result.report["findings"] == [], result.report["findings"]
    if expected_stdout is not None:
        assert result.stdout == expected_stdout, result.stdout


# ---------------------------------------------------------------------------
# positives
# ---------------------------------------------------------------------------

def test_two_lock_inversion():
    r = run([program("lo_abba")], timeout=30)
    values = printed(r)
    a, b = values["A"], values["B"]
    finding = the_inversion(r)
    message = cycle_message([(2, b, a), (1, a, b)])
    assert finding["message"] == message, finding
    assert finding["threads"] == [2, 1], finding
    check_edges(live_edges(r, message), [
        (2, b, "take_b_first", a, "then_a", "take_b_first"),
        (1, a, "take_a_first", b, "then_b", "take_a_first"),
    ])
    # The edges as data: per edge a "held" and a "taken" event, with stacks.
    edges = [(e["role"], e["edge"], e["thread"], e["object"], e["call"], e["stack"][0]["function"])
             for e in finding["evidence"]]
    assert edges == [("held", 1, 2, b, "pthread_mutex_lock", "take_b_first"),
                     ("taken", 1, 2, a, "pthread_mutex_lock", "then_a"),
                     ("held", 2, 1, a, "pthread_mutex_lock", "take_a_first"),
                     ("taken", 2, 1, b, "pthread_mutex_lock", "then_b")], finding["evidence"]
    assert finding["location"]["function"] == "then_a", finding["location"]
    # Objects named by their data symbols (lo_abba.c's lock_a, lock_b).
    names = {e["object"]: e.get("object_name") for e in finding["evidence"]}
    assert names == {a: "lock_a", b: "lock_b"}, names
    assert f"holding {b} (lock_b), taken at:" in r.stderr, r.stderr
    assert finding["location"]["file"].endswith("lo_abba.c"), finding["location"]
    assert r.stdout.endswith("done 0\n"), r.stdout


def test_inversion_shows_its_threads_even_when_joined():
    """SPEC section 2: a finding names every thread involved, with its
    start routine, creator and creation stack. T1 was joined long before
    T2 closed the cycle; the report still says who T1 was."""
    r = run([program("lo_abba")], timeout=30)
    finding = the_inversion(r)
    assert finding["threads"] == [2, 1], finding
    problems = []
    for thread_id, start in ((1, "forward"), (2, "backward")):
        t = r.thread(thread_id)
        if t["start"] != start:
            problems.append(f"T{thread_id} start {t['start']!r}, not {start!r}")
        if t["parent"] != 0:
            problems.append(f"T{thread_id} parent {t['parent']!r}, not 0")
        if "main" not in [f.get("function") for f in t["create_stack"]]:
            problems.append(f"T{thread_id} create_stack {[f.get('function') for f in t['create_stack']]} lacks main")
        if t["state"] != "exited":
            problems.append(f"T{thread_id} state {t['state']!r}, not 'exited'")
    assert not problems, "; ".join(problems)


def test_three_lock_cycle_across_three_threads():
    r = run([program("lo_cycle3")], timeout=30)
    values = printed(r)
    a, b, c = values["A"], values["B"], values["C"]
    finding = the_inversion(r)
    message = cycle_message([(3, c, a), (1, a, b), (2, b, c)])
    assert finding["message"] == message, finding
    assert finding["threads"] == [3, 1, 2], finding
    check_edges(live_edges(r, message), [
        (3, c, "hold_c", a, "take_a", "hold_c"),
        (1, a, "hold_a", b, "take_b", "hold_a"),
        (2, b, "hold_b", c, "take_c", "hold_b"),
    ])


def test_rwlock_write_then_read_against_write_then_write():
    r = run([program("lo_rwlock"), "write_read"], timeout=30)
    values = printed(r)
    a, b = values["A"], values["B"]
    finding = the_inversion(r)
    message = cycle_message([(2, b, a), (1, a, b)])
    assert finding["message"] == message and finding["threads"] == [2, 1], finding
    check_edges(live_edges(r, message), [
        (2, b, "outer_write", a, "inner_write", "outer_write"),
        (1, a, "outer_write", b, "inner_read", "outer_write"),
    ])


def test_rwlock_read_then_write_both_ways():
    """Each thread's read lock keeps out the other's writer: a conflict."""
    r = run([program("lo_rwlock"), "read_write"], timeout=30)
    values = printed(r)
    a, b = values["A"], values["B"]
    finding = the_inversion(r)
    message = cycle_message([(2, b, a), (1, a, b)])
    assert finding["message"] == message and finding["threads"] == [2, 1], finding
    check_edges(live_edges(r, message), [
        (2, b, "outer_read", a, "inner_write", "outer_read"),
        (1, a, "outer_read", b, "inner_write", "outer_read"),
    ])


def test_rwlock_read_then_read_both_ways_is_clean():
    assert_no_report(run([program("lo_rwlock"), "read_read"], timeout=30))


def test_c11_mtx_inversion():
    r = run([program("lo_c11")], timeout=30)
    values = printed(r)
    a, b = values["A"], values["B"]
    finding = the_inversion(r)
    message = cycle_message([(2, b, a), (1, a, b)])
    assert finding["message"] == message and finding["threads"] == [2, 1], finding
    check_edges(live_edges(r, message), [
        (2, b, "debit", a, "credit", "debit"),
        (1, a, "debit", b, "credit", "debit"),
    ])


def user_frames(frames):
    """Frames outside the C++ library's headers and libstdc++."""
    return [f for f in frames if "/usr/include/" not in f and "libstdc++" not in f and f != "(std::)"]


def test_cxx_std_mutex_lock_guard_inversion():
    r = run([program("lo_cxx")], timeout=30)
    values = printed(r)
    a, b = values["A"], values["B"]  # savings, checking
    finding = the_inversion(r)
    message = cycle_message([(2, b, a), (1, a, b)])
    assert finding["message"] == message and finding["threads"] == [2, 1], finding
    edges = live_edges(r, message)
    assert [(e["thread"], e["holding"], e["took"]) for e in edges] == [(2, b, a), (1, a, b)], edges
    for edge in edges:
        # Demangled: "bank::transfer(bank::Account&, bank::Account&, long) file:line",
        # below the frames inlined into it from <mutex>, which are kept
        # (marked "(inlined)") as in every other stack.
        holding = user_frames(edge["holding_frames"])
        took = user_frames(edge["took_frames"])
        assert holding[0].startswith("bank::transfer("), edge
        assert took[0].startswith("bank::deposit("), edge
        assert took[1].startswith("bank::transfer("), edge
        assert edge["took_frames"][0] == "(std::)", edge  # folded in the text
    for event in finding["evidence"]:  # and all there in the JSON, inlined frames included
        top = event["stack"][0]
        assert top["function"] == "__gthread_mutex_lock" and top.get("inlined"), event
        for frame in edge["holding_frames"] + edge["took_frames"]:
            assert not frame.startswith("_Z"), frame


def test_same_cycle_100_times_is_one_finding():
    r = run([program("lo_abba"), "100"], timeout=60)
    values = printed(r)
    a, b = values["A"], values["B"]
    finding = the_inversion(r)
    # Found when T2 closed it; the 99 later rounds (T3..T200) add nothing.
    message = cycle_message([(2, b, a), (1, a, b)])
    assert finding["message"] == message and finding["threads"] == [2, 1], finding
    assert finding.get("count", 1) == 1, finding
    live_edges(r, message)  # once on stderr


def test_ended_threads_of_an_inversion_show_who_they_were_not_what_they_held():
    """T2 still holds both locks when the inversion is reported live; by
    exit it has ended. The exit report lists it as exited, with its name,
    start and creation stack, and nothing held or waited on (what it held
    then is the finding's evidence). The old copy kept the live report's
    held list, whose names pointed into a freed report: garbage, or a
    crash at exit."""
    for attempt in range(3):
        r = run([program("lo_abba"), "linger"], timeout=30)
        values = printed(r)
        a, b = values["A"], values["B"]
        finding = the_inversion(r)
        assert finding["threads"] == [2, 1], finding
        for thread_id, start in ((1, "forward"), (2, "backward")):
            t = r.thread(thread_id)
            assert t["state"] == "exited" and t["start"] == start, t
            assert t["held"] == [] and "wait" not in t and "stack" not in t, t
            assert_in_stack(t["create_stack"], "main")
        held = [(e["object"], e["object_name"]) for e in finding["evidence"] if e["role"] == "held"]
        assert sorted(held) == sorted([(a, "lock_a"), (b, "lock_b")]), finding["evidence"]


def test_cycle_within_one_thread_is_reported():
    """Intended: T1 alone takes A then B, later B then A. lockdep's rule:
    the code can run in two threads at once, and then it deadlocks."""
    r = run([program("lo_abba"), "self"], timeout=30)
    values = printed(r)
    a, b = values["A"], values["B"]
    finding = the_inversion(r)
    message = cycle_message([(1, b, a), (1, a, b)])
    assert finding["message"] == message and finding["threads"] == [1], finding
    check_edges(live_edges(r, message), [
        (1, b, "take_b_first", a, "then_a", "take_b_first"),
        (1, a, "take_a_first", b, "then_b", "take_a_first"),
    ])


def test_gate_lock_not_held_for_every_edge_is_reported():
    """T1 takes A then B inside G, T2 B then A without G: nothing keeps
    them apart."""
    r = run([program("lo_gate"), "partial"], timeout=30)
    values = printed(r)
    a, b = values["A"], values["B"]
    finding = the_inversion(r)
    message = cycle_message([(2, b, a), (1, a, b)])
    assert finding["message"] == message and finding["threads"] == [2, 1], finding
    check_edges(live_edges(r, message), [
        (2, b, "nested", a, "nested", "ungated_ba"),
        (1, a, "nested", b, "nested", "gated_ab"),
    ])


# ---------------------------------------------------------------------------
# lock_order=class
# ---------------------------------------------------------------------------

CLASS = {"lock_order": "class"}


def test_class_mode_cache_entry_inversion_on_different_objects():
    r = run([program("lo_class"), "types"], options=CLASS, timeout=30)
    finding = the_inversion(r)
    assert finding["threads"] == [2, 1], finding
    message = finding["message"]
    assert re.fullmatch(r"2 locks taken in conflicting orders: T2 took 0x[0-9a-f]+ then 0x[0-9a-f]+; "
                        r"T1 took 0x[0-9a-f]+ then 0x[0-9a-f]+; they can deadlock", message), message
    edges = live_edges(r, message)
    assert [e["thread"] for e in edges] == [2, 1], edges
    # T2: entry lock then cache lock, in entry_evict; T1: cache then entry, in cache_insert.
    for edge, fn in zip(edges, ("entry_evict", "cache_insert")):
        assert frame_function(edge["holding_frames"][0]) == fn, edge
        assert frame_function(edge["took_frames"][0]) == fn, edge
    # The two edges are the two orders of one pair of classes.
    # Class mode: the two orders were taken on different objects of the two
    # classes; each edge names the locks it really took.
    assert {edges[0]["holding"], edges[0]["took"]}.isdisjoint({edges[1]["holding"], edges[1]["took"]}), edges


def test_class_mode_names_the_locks_taken():
    """In class mode the message still says which locks each thread took
    (the objects: T2 took entry2 then cache2; T1 took cache1 then entry1),
    not the classes' keys."""
    r = run([program("lo_class"), "types"], options=CLASS, timeout=30)
    values = printed(r)
    finding = the_inversion(r)
    expected = cycle_message([(2, values["E2"], values["C2"]), (1, values["C1"], values["E1"])])
    assert finding["message"] == expected, f"{finding['message']!r} != {expected!r}"


def test_object_mode_cache_entry_on_different_objects_is_clean():
    assert_no_report(run([program("lo_class"), "types"], timeout=30))


def test_class_mode_nesting_two_locks_of_one_class_is_clean():
    assert_no_report(run([program("lo_class"), "same_class"], options=CLASS, timeout=30))


def test_object_mode_same_class_pair_is_an_inversion():
    """The contrast: by object, e1 -> e2 then e2 -> e1 does conflict."""
    r = run([program("lo_class"), "same_class"], timeout=30)
    values = printed(r)
    finding = the_inversion(r)
    assert finding["message"] == cycle_message([(2, values["E2"], values["E1"]), (1, values["E1"], values["E2"])])


def test_class_mode_static_locks_classed_where_first_locked():
    """Statically initialised shards[i] are all first locked in lock_shard,
    indexes[i] in lock_index: shard 0 -> index 0 and index 1 -> shard 1
    conflict by class, not by object."""
    r = run([program("lo_class"), "static"], options=CLASS, timeout=30)
    finding = the_inversion(r)
    assert finding["threads"] == [2, 1], finding
    edges = live_edges(r, finding["message"])
    assert [frame_function(e["took_frames"][0]) for e in edges] == ["lock_shard", "lock_index"], edges
    assert [frame_function(e["holding_frames"][0]) for e in edges] == ["lock_index", "lock_shard"], edges
    assert_no_report(run([program("lo_class"), "static"], timeout=30))


# ---------------------------------------------------------------------------
# negatives
# ---------------------------------------------------------------------------

def test_consistent_global_order_under_load_is_clean():
    assert_no_report(run([program("lo_ok_ordered"), "2"], options={"deadlock_ms": 100}, timeout=60),
                     "ordered ok\n")


def test_trylock_back_off_in_inverted_order_is_clean():
    r = run([program("lo_ok_trylock"), "1"], timeout=60)
    assert_no_report(r)
    assert r.stdout.endswith("trylock ok\n"), r.stdout


def test_recursive_relock_inside_another_lock_is_clean():
    r = run([program("lo_ok_recursive")], timeout=30)
    assert_no_report(r)
    assert r.stdout.endswith("recursive ok\n"), r.stdout


def test_new_locks_in_destroyed_locks_memory_are_clean():
    r = run([program("lo_ok_reuse"), "destroy"], timeout=30)
    assert_no_report(r)
    assert r.stdout.endswith("reuse ok\n"), r.stdout


def test_reinitialised_locks_forget_their_order():
    r = run([program("lo_ok_reuse"), "reinit"], timeout=30)
    assert_no_report(r)
    assert r.stdout.endswith("reuse ok\n"), r.stdout


def test_same_locks_reversed_without_reinit_are_an_inversion():
    """The contrast for the two cases above: the very same program, but
    the locks are not destroyed or initialised again."""
    r = run([program("lo_ok_reuse"), "keep"], timeout=30)
    values = printed(r)
    finding = the_inversion(r)
    assert finding["message"] == cycle_message([(2, values["S1"], values["S0"]), (1, values["S0"], values["S1"])])


def test_gate_lock_around_every_conflicting_order_is_clean():
    assert_no_report(run([program("lo_gate")], timeout=30), None)


def test_lock_order_off_reports_no_inversion():
    r = run([program("lo_abba")], options={"lock_order": 0}, timeout=30)
    assert_no_report(r)
    assert r.stdout.endswith("done 0\n"), r.stdout


# ---------------------------------------------------------------------------
# many edges: the graph keeps a topological order (issue 16 item 7)
# ---------------------------------------------------------------------------

def test_many_edges_stay_fast_and_an_inversion_among_them_is_reported_once():
    """lo_many: T0 holds `outer` and takes m[i] then m[i-1] for 100,000 i:
    200,000 new edges, each going down the graph's order. The old graph
    searched everything below each new edge: about 114 s on a quiet machine
    (far more on a loaded one); now about 1 s of CPU. The bound is on
    the program's CPU time, which a busy machine does not stretch the way
    it stretches wall time. Among the edges a gated cycle (not reported),
    an inversion by T1 (reported, once) and the same again by T2 (nothing
    new)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = run([program("lo_many"), "100000"], timeout=100)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 20, f"100,000 nested pairs took {cpu:.1f} s of CPU under the shim"
    values = printed(r)
    a, b = values["A"], values["B"]
    finding = the_inversion(r)
    message = cycle_message([(1, a, b), (0, b, a)])
    assert finding["message"] == message and finding["threads"] == [1, 0], finding
    check_edges(live_edges(r, message), [
        (1, a, "take_pair", b, "take_pair", "plant"),
        (0, b, "take_pair", a, "take_pair", "main"),
    ])
    assert r.stdout.endswith("many 100002\n"), r.stdout[-200:]


def test_gated_order_taken_later_without_the_gate_is_reported():
    """A cycle made under one gate is not reported; when one of its orders
    is later taken outside the gate (T3), it can deadlock, and is. The old
    graph only searched for cycles when an edge was new."""
    r = run([program("lo_many"), "2000", "ungate"], timeout=60)
    assert r.returncode == 66, r
    values = printed(r)
    expected = {
        cycle_message([(1, values["A"], values["B"]), (0, values["B"], values["A"])]),
        cycle_message([(3, values["GA"], values["GB"]), (0, values["GB"], values["GA"])]),
    }
    findings = r.findings()
    assert [f["kind"] for f in findings] == ["lock_order_inversion"] * 2, findings
    assert {f["message"] for f in findings} == expected, findings
    for message in expected:  # each once, live
        assert r.stderr.count(f"leakwatch: lock_order_inversion: {message}\n") == 1, r.stderr[-5000:]
    ungated = next(f for f in findings if "T3" in f["message"])
    assert ungated["threads"] == [3, 0], ungated


def test_random_nesting_in_one_global_order_is_clean():
    """8,000 random nestings of 2-4 of 400 locks, always in one hidden
    order, with locks destroyed and initialised again on the way: the
    graph reorders itself at many new edges and must never see a cycle."""
    for seed in (1, 2, 3):
        assert_no_report(run([program("lo_random"), str(seed)], timeout=60), "random ok\n")


def test_random_nesting_then_one_pair_reversed_is_one_inversion():
    r = run([program("lo_random"), "1", "invert"], timeout=60)
    values = printed(r)
    a, b = values["A"], values["B"]
    finding = the_inversion(r)
    assert finding["threads"] == [0], finding
    assert re.fullmatch(rf"\d+ locks taken in conflicting orders: T0 took {a} then {b}; "
                        rf"(T0 took 0x[0-9a-f]+ then 0x[0-9a-f]+; )*T0 took 0x[0-9a-f]+ then {a}; "
                        r"they can deadlock", finding["message"]), finding
    live_edges(r, finding["message"])


# fork (issue 17): a child keeps none of its parent's findings
# ---------------------------------------------------------------------------

def test_fork_child_keeps_none_of_the_parents_findings_20_runs():
    """The parent has a lock-order inversion, then forks; the child does
    nothing wrong: it reports nothing and exits 0 (not exitcode), 20 runs
    in a row. The parent still reports its inversion, once."""
    bad = []
    for _ in range(20):
        r = run([program("cw_cases"), "fork_clean"], timeout=30)
        parent = r.report["pid"] if r.report else None
        children = [pid for pid in r.json_files if pid != parent]
        child_findings = [f for pid in children for f in r.json_files[pid]["findings"]]
        child_text = [line for line in r.stderr.splitlines()
                      if line.startswith("==") and parent and not line.startswith(f"=={parent}==")]
        if ("child status 0\n" not in r.stdout or len(children) != 1 or child_findings or child_text
                or [f["kind"] for f in r.findings()] != ["lock_order_inversion"] or r.returncode != 66):
            bad.append(r)
    assert not bad, f"{len(bad)} of 20 runs: {bad[0]!r}"


def test_inlined_helper_frames_are_kept():
    """The locks are taken in lock_pair, inlined into take_ab and take_ba
    (always_inline): every edge stack shows lock_pair marked inlined, then
    the function it was inlined into, at the same address."""
    r = run([program("lo_inline")], timeout=30)
    assert r.returncode == 66 and r.stdout.endswith("done\n"), r
    lines = r.stderr.splitlines()
    start = next(i for i, l in enumerate(lines) if "lock_order_inversion:" in l)
    frames = []
    for line in lines[start + 1:]:
        m = FRAME.match(line)
        if m:
            frames.append(m.group(2))
        elif not EDGE.match(line) and not TOOK.match(line):
            break
    inlined = [i for i, f in enumerate(frames) if f.startswith("lock_pair ") and f.endswith("(inlined)")]
    assert len(inlined) == 4, frames  # both locks of both edges
    for i in inlined:
        assert frame_function(frames[i + 1]) in ("take_ab", "take_ba"), frames
        assert re.search(r"lo_inline\.c:\d+$", frames[i + 1]), frames
