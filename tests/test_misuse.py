"""pthread API misuse (SPEC section 2: misuse).

Each positive runs a program that makes one mistake from a function of its
own (release_wrong, tear_down_mutex, join_it, ...) and checks:
  - the live report on stderr: "==PID== leakwatch: misuse: MESSAGE" with
    the exact thread ids and addresses, then "  the call:" and a stack whose
    frame #0 is that function, and, where there is one, the earlier event's
    site ("  where the holder took it:", "  where it was detached:");
  - the exit JSON report: one `misuse` finding with that message and the
    right `threads`;
  - the program's stdout (addresses aside: ASLR) and exit status are those
    of a run without the shim (exitcode=0 keeps the program's own status),
    so the call still returned what glibc returns.

Once per call site: a mistake made 100 times from one site is one finding.
Negatives: correct use of every primitive, including odd but legal uses,
gives no finding at all and exit status 0.
"""
import re

from lwtest import program, run

KEEP_STATUS = {"exitcode": 0}
FRAME = re.compile(r"^\s+#(\d+)\s+0x[0-9a-f]+ in (.*)$")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def printed(result):
    """The program's "label 0x..." lines as {label: address}."""
    found = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("0x"):
            found[parts[0]] = parts[1]
    return found


def without_addresses(text):
    return re.sub(r"0x[0-9a-f]+", "0x?", text)


def run_both(argv, timeout=30):
    """The program under the shim (exitcode=0) and without it: same stdout
    (but for the addresses it prints) and the same exit status."""
    shimmed = run(argv, options=KEEP_STATUS, timeout=timeout)
    plain = run(argv, preload=False, timeout=timeout)
    assert plain.returncode == 0, plain
    assert shimmed.returncode == plain.returncode, (shimmed, plain)
    assert without_addresses(shimmed.stdout) == without_addresses(plain.stdout), (shimmed.stdout, plain.stdout)
    assert shimmed.report is not None, shimmed
    return shimmed


def live_block(result, message):
    """The text report of the misuse `message`, from its header line to the
    blank line that ends it. It comes once, before the exit report."""
    header = f"leakwatch: misuse: {message}\n"
    count = result.stderr.count(header)
    assert count == 1, f"{header!r} appears {count} times on stderr:\n{result.stderr[-4000:]}"
    start = result.stderr.index(header)
    assert re.search(r"==\d+== $", result.stderr[:start]), result.stderr[max(0, start - 40):start]
    exit_summary = result.stderr.find("SUMMARY (exit)")
    assert exit_summary == -1 or start < exit_summary, "reported only at exit"
    body = result.stderr[start + len(header):]
    end = body.find("\n\n")
    return body if end < 0 else body[:end + 1]


def sections(block):
    """{label: [frame text after "in ", ...]} for "  label:" lines and the
    frames under them."""
    found, current = {}, None
    for line in block.splitlines():
        m = FRAME.match(line)
        if m and current is not None:
            assert int(m.group(1)) == len(found[current]), block  # #0, #1, ... in order
            found[current].append(m.group(2))
        elif line.startswith("  ") and not line.startswith("   ") and line.endswith(":"):
            current = line.strip()[:-1]
            found[current] = []
        else:
            raise AssertionError(f"unexpected line {line!r} in\n{block}")
    return found


def frame_function(text):
    """The function of a frame's text: "fn file:line", "fn+0x1 (mod)",
    "fn (mod)"."""
    return re.split(r"[ +]", text, maxsplit=1)[0]


def check_misuse(result, message, threads, call_in, source, earlier=None):
    """One misuse finding and nothing else: the message, the threads, the
    call's stack with `call_in` (in `source`) at #0, and `earlier`, a
    (label, function) pair, for the earlier event's site."""
    findings = result.findings()
    assert [f["kind"] for f in findings] == ["misuse"], findings
    (finding,) = findings
    assert finding["message"] == message, finding
    assert finding["threads"] == threads, finding
    block = live_block(result, message)
    parts = sections(block)
    expected_labels = ["the call"] + ([earlier[0]] if earlier else [])
    assert list(parts) == expected_labels, block
    call = parts["the call"]
    assert call, block
    assert frame_function(call[0]) == call_in, f"frame #0 is {call[0]!r}, not {call_in}:\n{block}"
    assert re.search(rf" \S*{re.escape(source)}:\d+$", call[0]), call[0]
    assert any(frame_function(f) == "main" or frame_function(f) == "start_thread" for f in call[1:]), block
    assert not any("libleakwatch" in f for f in call), f"shim frames in the call's stack:\n{block}"
    if earlier:
        site = parts[earlier[0]]
        assert len(site) >= 1 and frame_function(site[0]) == earlier[1], block
        assert re.search(rf" \S*{re.escape(source)}:\d+$", site[0]), site[0]
    # The JSON finding carries the same evidence as data.
    assert block.startswith("  the call:\n"), block
    events = finding["evidence"]
    assert [e["role"] for e in events] == ["call"] + (["earlier"] if earlier else []), events
    assert events[0]["thread"] == finding["threads"][0], events
    assert events[0]["stack"][0]["function"] == call_in, events[0]
    assert finding["location"]["function"] == call_in, finding["location"]
    if earlier:
        assert events[1]["label"] == earlier[0], events[1]
        assert events[1]["stack"][0]["function"] == earlier[1], events[1]
    return finding


# ---------------------------------------------------------------------------
# unlocking what the caller does not hold
# ---------------------------------------------------------------------------

def test_unlock_mutex_held_by_another_thread():
    r = run_both([program("mis_unlock"), "mutex_other"])
    m = printed(r)["M"]
    assert "T0 unlock 1\n" in r.stdout  # EPERM: an error-checking mutex
    check_misuse(r, f"T0 unlocks mutex {m} held by T1", [0, 1], "release_wrong", "mis_unlock.c",
                 earlier=("where the holder took it", "grab_mutex"))


def test_unlock_mutex_nobody_holds():
    r = run_both([program("mis_unlock"), "mutex_nobody"])
    m = printed(r)["M"]
    assert "T0 unlock 1\n" in r.stdout
    check_misuse(r, f"T0 unlocks mutex {m} that it does not hold (nobody holds it)", [0],
                 "release_wrong", "mis_unlock.c")


def test_unlock_rwlock_held_by_another_thread():
    r = run_both([program("mis_unlock"), "rwlock_other"])
    w = printed(r)["W"]
    check_misuse(r, f"T0 unlocks rwlock {w} held by T1", [0, 1], "release_wrong_rwlock", "mis_unlock.c",
                 earlier=("where the holder took it", "grab_rwlock"))


def test_unlock_c11_mtx_held_by_another_thread():
    r = run_both([program("mis_unlock"), "mtx_other"])
    x = printed(r)["X"]
    check_misuse(r, f"T0 unlocks mtx_t {x} held by T1", [0, 1], "release_wrong_mtx", "mis_unlock.c",
                 earlier=("where the holder took it", "grab_mtx"))


def test_thread_ending_with_a_lock_is_abandoned_lock_not_misuse():
    r = run([program("mis_unlock"), "exit_holding"], timeout=30)
    assert r.returncode == 66, r
    m = printed(r)["M"]
    assert [f["kind"] for f in r.findings()] == ["abandoned_lock"], r.findings()
    (finding,) = r.findings()
    assert finding["threads"] == [1], finding
    assert m in finding["message"], finding
    assert "misuse" not in r.stderr, r.stderr


# ---------------------------------------------------------------------------
# destroying what is in use
# ---------------------------------------------------------------------------

def test_destroy_locked_mutex():
    r = run_both([program("mis_destroy"), "mutex"])
    m = printed(r)["M"]
    # glibc refuses (EBUSY); the later destroy, after the unlock, is fine
    # and not reported.
    assert "T0 destroy 16\n" in r.stdout and "T0 destroy again 0\n" in r.stdout, r.stdout
    check_misuse(r, f"T0 destroys mutex {m} while T1 holds it", [0, 1], "tear_down_mutex", "mis_destroy.c",
                 earlier=("where the holder took it", "grab_mutex"))


def test_destroy_write_locked_rwlock():
    r = run_both([program("mis_destroy"), "rwlock"])
    w = printed(r)["W"]
    check_misuse(r, f"T0 destroys rwlock {w} while it is held", [0, 1], "tear_down_rwlock", "mis_destroy.c",
                 earlier=("where the holder took it", "grab_rwlock"))


def test_destroy_cond_with_a_waiter():
    r = run_both([program("mis_destroy"), "cond"])
    c = printed(r)["C"]
    assert "T1 timedwait 110\n" in r.stdout, r.stdout  # the waiter timed out
    check_misuse(r, f"T0 calls pthread_cond_destroy on {c} while 1 thread waits on it", [0, 1],
                 "tear_down_cond", "mis_destroy.c")


def test_destroy_semaphore_with_a_waiter():
    r = run_both([program("mis_destroy"), "sem"])
    s = printed(r)["S"]
    assert "T1 sem_timedwait errno 110\n" in r.stdout, r.stdout
    check_misuse(r, f"T0 calls sem_destroy on {s} while 1 thread waits on it", [0, 1],
                 "tear_down_sem", "mis_destroy.c")


def test_destroy_barrier_with_a_waiter():
    """T2 destroys the barrier T1 waits at. Both stay blocked for good
    (glibc's destroy waits for the waiter to leave), so the exit report
    also has them as thread leaks; nothing else."""
    shimmed = run([program("mis_destroy"), "barrier"], options=KEEP_STATUS, timeout=30)
    plain = run([program("mis_destroy"), "barrier"], preload=False, timeout=30)
    assert shimmed.returncode == plain.returncode == 0, (shimmed, plain)
    assert without_addresses(shimmed.stdout) == without_addresses(plain.stdout)
    b = printed(shimmed)["B"]
    message = f"T2 calls pthread_barrier_destroy on {b} while 1 thread waits on it"
    misuse = [f for f in shimmed.findings() if f["kind"] == "misuse"]
    assert len(misuse) == 1, shimmed.findings()
    leaks = sorted((f["kind"], f["threads"]) for f in shimmed.findings() if f["kind"] != "misuse")
    assert leaks == [("thread_leak", [1]), ("thread_leak", [2])], shimmed.findings()
    (finding,) = misuse
    assert finding["message"] == message and finding["threads"] == [2, 1], finding
    parts = sections(live_block(shimmed, message))
    assert list(parts) == ["the call"], parts
    assert frame_function(parts["the call"][0]) == "tear_down_barrier", parts
    assert frame_function(parts["the call"][1]) == "barrier_destroyer", parts


# ---------------------------------------------------------------------------
# condition variables
# ---------------------------------------------------------------------------

def test_cond_wait_without_holding_the_mutex():
    r = run_both([program("mis_cond"), "no_mutex"])
    values = printed(r)
    assert "T0 timedwait 1\n" in r.stdout  # EPERM from the error-checking mutex
    check_misuse(r, f"T0 waits on condition variable {values['C']} without holding its mutex {values['M']}",
                 [0], "wait_unlocked", "mis_cond.c")


def test_cond_wait_with_a_second_mutex():
    r = run_both([program("mis_cond"), "two_mutexes"])
    values = printed(r)
    assert "T0 timedwait 110\n" in r.stdout and "T1 woke\n" in r.stdout, r.stdout
    check_misuse(r, f"T0 waits on condition variable {values['C']} with mutex {values['M2']}"
                    " while T1 waits on it with another mutex",
                 [0, 1], "wait_other_mutex", "mis_cond.c")


# ---------------------------------------------------------------------------
# joins and detaches
# ---------------------------------------------------------------------------

def test_join_detached_thread():
    r = run_both([program("mis_join"), "detached"])
    assert "join 22\n" in r.stdout, r.stdout  # EINVAL
    check_misuse(r, "T0 calls pthread_join on T1, which is detached", [0, 1], "join_it", "mis_join.c",
                 earlier=("where it was detached", "let_go"))


def test_join_twice():
    r = run_both([program("mis_join"), "twice"])
    assert r.stdout.startswith("join 0\njoin again "), r.stdout
    # T1 was joined: it is gone from the report, the finding names T0 only.
    check_misuse(r, "T0 calls pthread_join on a thread that was already joined", [0], "join_again", "mis_join.c")


def test_join_self():
    r = run_both([program("mis_join"), "self"])
    assert "join self 35\n" in r.stdout, r.stdout  # EDEADLK
    check_misuse(r, "T0 calls pthread_join on itself", [0], "join_self", "mis_join.c")
    assert "deadlock" not in r.stderr


def test_detach_twice():
    r = run_both([program("mis_join"), "detach_twice"])
    assert "detach 0\ndetach again 22\n" in r.stdout, r.stdout
    check_misuse(r, "T0 detaches T1, which is already detached", [0, 1], "let_go_again", "mis_join.c",
                 earlier=("where it was detached first", "let_go"))


# ---------------------------------------------------------------------------
# once per call site
# ---------------------------------------------------------------------------

def test_once_per_call_site():
    r = run_both([program("mis_site")])
    m = printed(r)["M"]
    assert "loop failed 100\nelsewhere failed 1\n" in r.stdout, r.stdout
    message = f"T0 unlocks mutex {m} that it does not hold (nobody holds it)"
    findings = r.findings()
    assert [f["kind"] for f in findings] == ["misuse", "misuse"], findings
    assert all(f["message"] == message and f["threads"] == [0] for f in findings), findings
    # One report per site: the 100 unlocks of the loop, then the other one.
    assert r.stderr.count(f"leakwatch: misuse: {message}\n") == 2, r.stderr
    sites = [f["evidence"][0]["stack"][0]["function"] for f in findings]
    assert sorted(sites) == ["release_elsewhere", "release_in_loop"], findings


# ---------------------------------------------------------------------------
# negatives: correct use reports nothing
# ---------------------------------------------------------------------------

def check_clean(case, timeout=60):
    r = run([program("mis_ok"), case], timeout=timeout)
    assert r.returncode == 0, r
    assert "leakwatch:" not in r.stderr, r.stderr
    assert r.report is not None and r.report["findings"] == [], r.report["findings"]
    return r


def test_ok_semaphore_posted_from_another_thread():
    assert check_clean("sem_cross").stdout == "sem_cross ok\n"


def test_ok_recursive_mutex_locked_three_times():
    assert check_clean("recursive").stdout == "recursive ok\n"


def test_ok_hand_over_hand_unlock_order():
    assert check_clean("hand_over_hand").stdout == "hand_over_hand ok\n"


def test_ok_cond_shared_by_many_waiters_with_one_mutex():
    assert check_clean("cond_many").stdout == "cond_many ok\n"


def test_ok_destroy_after_use_and_reinit():
    assert check_clean("reinit").stdout == "reinit ok\n"


def test_ok_detach_running_thread_once():
    assert check_clean("detach_running").stdout == "detach_running ok\n"


def test_ok_join_after_tryjoin_busy():
    assert check_clean("tryjoin").stdout == "tryjoin ok\n"


def test_ok_reused_thread_handles_are_not_already_joined():
    r = check_clean("reuse")
    # The case means something only if glibc did hand a handle out again.
    assert r.stdout == "reuse ok (handles reused)\n", r.stdout


def test_ok_every_primitive():
    assert check_clean("primitives").stdout == "primitives ok\n"


def test_ok_all_cases_in_one_process():
    r = check_clean("all", timeout=90)
    assert r.stdout.count(" ok") == 9, r.stdout


# ---------------------------------------------------------------------------
# never cry wolf (issue 17): legal code that looked like misuse, and misuse
# that went unseen. Every negative runs 20 times in its case: not once may
# it report anything.
# ---------------------------------------------------------------------------

RUNS = 20


def cw(case, timeout=30, options=None):
    return run([program("cw_cases"), case], options=options, timeout=timeout)


def clean_runs(case, expected_stdout=None, runs=RUNS, program_name="cw_cases"):
    """`case` RUNS times: status 0, nothing on stderr from leakwatch, no
    finding. Fails with the number of runs that did report."""
    bad = []
    for i in range(runs):
        r = run([program(program_name)] + ([case] if case else []), timeout=60)
        if (r.returncode != 0 or "leakwatch:" in r.stderr or r.report is None
                or r.report["findings"]):
            bad.append(r)
        elif expected_stdout is not None:
            assert without_addresses(r.stdout) == expected_stdout, r.stdout
    assert not bad, f"{len(bad)} of {runs} runs reported: {bad[0]!r}"


def test_ok_cond_destroyed_right_after_broadcast_20_runs():
    """4 waiters woken by a broadcast, the condition variable destroyed
    before they return (the destroyer still holds the mutex): legal."""
    clean_runs("cond_broadcast", "")


def test_ok_cond_destroyed_right_after_signal_20_runs():
    clean_runs("cond_signal", "")


def test_ok_barrier_destroyed_right_after_it_trips_20_runs():
    clean_runs("barrier", "")


def test_destroy_cond_counts_only_waiters_not_woken():
    """3 waiters, one signal, then the destroy: 2 are still blocked."""
    r = run_both([program("cw_cases"), "cond_partial"])
    c = printed(r)["C"]
    (finding,) = r.findings("misuse")
    assert finding["message"] == f"T0 calls pthread_cond_destroy on {c} while 2 threads wait on it", finding
    assert r.findings() == [finding], r.findings()


def test_ok_destroy_after_a_bad_rwlock_unlock_20_runs():
    """The unlock of a rwlock nobody holds is misuse (once); glibc's reader
    count goes below zero, and the correct destroy after it is not "while
    it is held"."""
    bad = []
    for _ in range(RUNS):
        r = cw("rw_bad_unlock")
        w = printed(r)["W"]
        messages = [f["message"] for f in r.findings()]
        if messages != [f"T0 unlocks rwlock {w} that it does not hold (nobody holds it)"] \
                or "destroys rwlock" in r.stderr or "destroy 0\n" not in r.stdout:
            bad.append(r)
    assert not bad, f"{len(bad)} of {RUNS} runs: {bad[0]!r}"


def test_destroy_rwlock_read_held_after_a_bad_unlock():
    """After the bad unlock glibc counts no reader though T1 holds a read
    lock: the holder comes from the threads' held lists."""
    r = run_both([program("cw_cases"), "rw_bad_then_rd"])
    w = printed(r)["W"]
    messages = sorted(f["message"] for f in r.findings("misuse"))
    assert messages == [f"T0 destroys rwlock {w} while it is held",
                        f"T0 unlocks rwlock {w} that it does not hold (nobody holds it)"], r.findings()
    (destroy,) = [f for f in r.findings() if "destroys" in f["message"]]
    assert destroy["threads"] == [0, 1], destroy
    parts = sections(live_block(r, destroy["message"]))
    assert frame_function(parts["the call"][0]) == "destroy_w", parts
    assert frame_function(parts["where the holder took it"][0]) == "read_lock_w", parts


def test_read_lock_while_holding_the_write_lock():
    r = run_both([program("cw_cases"), "rw_wr_rd"])
    w = printed(r)["W"]
    assert "wrlock 0\nrdlock 35\nunlock 0\n" in r.stdout, r.stdout  # EDEADLK from glibc
    check_misuse(r, f"T0 read-locks rwlock {w} whose write lock it holds: a self-deadlock"
                    " (glibc refuses it: EDEADLK)", [0], "write_then_read", "cw_cases.c",
                 earlier=("where it took the write lock", "write_then_read"))


def test_ok_rwlock_read_twice_then_write_20_runs():
    clean_runs("rw_ok")


def test_detach_a_joined_thread():
    r = run_both([program("cw_cases"), "detach_joined"])
    assert "join 0\ndetach " in r.stdout, r.stdout
    check_misuse(r, "T0 detaches a thread that was already joined", [0], "detach_it", "cw_cases.c")


def test_ok_detach_a_new_thread_with_a_joined_ones_handle_20_runs():
    clean_runs("detach_reused", "join 0\nreused 1\ndetach 0\n")


def test_once_per_call_stack_not_per_program_counter():
    """Three mistakes through one helper (one program counter), from three
    callers: three findings."""
    r = run_both([program("cw_cases"), "shared_helper"])
    values = printed(r)
    assert "first 1\nsecond 1\nthird 1\n" in r.stdout, r.stdout
    expected = {
        f"T0 unlocks mutex {values['C']} that it does not hold (nobody holds it)": "first_caller",
        f"T0 unlocks mutex {values['O']} held by T1": "second_caller",
        f"T0 unlocks mutex {values['T']} that it does not hold (nobody holds it)": "third_caller",
    }
    findings = r.findings("misuse")
    assert sorted(f["message"] for f in findings) == sorted(expected), findings
    for message, caller in expected.items():
        call = sections(live_block(r, message))["the call"]
        assert frame_function(call[0]) == "unlock_it", call
        assert frame_function(call[1]) == caller, call


def test_ok_one_helper_from_three_callers_20_runs():
    clean_runs("helper_ok", "good 0 0\ngood 1 0\ngood 2 0\n")


def test_misuse_with_a_cancel_pending_is_reported_and_the_cancel_acts_later():
    """T1 has a cancel pending when it unlocks a mutex it does not hold: the
    report must not reach a cancellation point (the thread would die inside
    the shim, the report lost); the cancel acts at the program's own
    pthread_testcancel."""
    r = run_both([program("cw_cases"), "cancel_pending"])
    assert "past 1 cancelled 1\n" in r.stdout, r.stdout
    c = printed(r)["C"]
    (finding,) = r.findings("misuse")
    assert finding["message"] == f"T1 unlocks mutex {c} that it does not hold (nobody holds it)", finding
    call = sections(live_block(r, finding["message"]))["the call"]
    assert frame_function(call[0]) == "cancel_target", call


def test_fork_child_reports_its_own_misuse_at_the_parents_site():
    """The parent reported a misuse at bad_unlock; its child makes the same
    mistake there: the child's own finding, reported live in the child."""
    r = run([program("cw_cases"), "fork_repeat"], options=KEEP_STATUS, timeout=30)
    assert r.returncode == 0, r
    assert "child status 0\n" in r.stdout, r.stdout
    parent = r.report["pid"]
    (child,) = [pid for pid in r.json_files if pid != parent]
    live = re.findall(r"==(\d+)== leakwatch: misuse: T0 unlocks mutex", r.stderr)
    assert sorted(int(p) for p in live) == sorted([parent, child]), r.stderr
    assert [f["kind"] for f in r.json_files[child]["findings"]] == ["misuse"], r.json_files[child]
    assert [f["kind"] for f in r.findings()] == ["misuse"], r.findings()
