"""Live deadlock detection (SPEC section 2: deadlock, abandoned_lock,
long_wait; section 3: deadlock_ms, deadlock_action, hang_ms, exitcode).

Positives run with deadlock_action=exit and a short deadlock_ms, so the
process ends right after the live report and the JSON report is the
deadlock report. The programs print the addresses of their locks (and the
pthread_t values joins wait on), and "formed <ms>" (CLOCK_MONOTONIC, the
clock of Python's time.monotonic) just before each blocking call, so the
delay from the deadlock forming to the report is measured.

Negatives put the detector under load for a couple of seconds with
deadlock_ms=100 and must report nothing.
"""
import json
import os
import re
import resource
import signal
import subprocess
import tempfile
import threading
import time

import lwtest
from lwtest import assert_clean, assert_in_stack, functions, named, program, run

FAST = {"deadlock_ms": 300, "deadlock_action": "exit"}
# Reported within deadlock_ms of forming, plus the second look and the
# report itself: allow 1.5 s on a loaded 2-core machine.
SLACK_MS = 1500


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def printed(result):
    """The program's "name value" lines as a dict (last value wins), and
    the list of "formed <ms>" times."""
    values, formed = {}, []
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "formed":
            formed.append(int(parts[1]))
        elif len(parts) == 2:
            values[parts[0]] = parts[1]
    return values, formed


def run_timed(argv, options, timeout=20):
    """run() and the CLOCK_MONOTONIC ms at which it came back."""
    result = run(argv, options=options, timeout=timeout)
    return result, time.monotonic() * 1000


def check_report_delay(result, ended_ms, deadlock_ms, nformed):
    """The deadlock was reported no earlier than deadlock_ms after it formed
    and no later than deadlock_ms + SLACK_MS (the process ends right after
    the report with deadlock_action=exit)."""
    _, formed = printed(result)
    assert len(formed) == nformed, result
    delay = ended_ms - max(formed)
    assert deadlock_ms <= delay < deadlock_ms + SLACK_MS, f"reported {delay:.0f} ms after forming"


def the_deadlock(result):
    assert result.report is not None, result
    (finding,) = result.findings("deadlock")
    assert result.findings() == [finding], result.report["findings"]
    return finding


def cycle_texts(edges):
    """Every rotation of a cycle given as [(thread, "mutex 0x…"|None), …]
    in order (None: a join of the next thread), as the message spells it."""
    texts = []
    for start in range(len(edges)):
        order = edges[start:] + edges[:start]
        text = f"T{order[0][0]}"
        for k, (_, what) in enumerate(order):
            nxt = order[(k + 1) % len(order)][0]
            text += f" -> joins T{nxt}" if what is None else f" -> {what} held by T{nxt}"
        texts.append(text)
    return texts


def assert_cycle_message(message, prefix, edges, suffix=""):
    expected = [prefix + text + suffix for text in cycle_texts(edges)]
    assert message in expected, f"{message!r} not one of {expected}"


def assert_waits(thread, call, obj, owner=None, in_stack=None):
    assert thread["state"] == "blocked", thread
    wait = thread["wait"]
    assert wait["call"] == call, wait
    assert wait["object"] == obj, (wait, obj)
    if owner is not None:
        assert wait.get("owner") == owner, (wait, owner)
    assert wait["waited_ms"] >= FAST["deadlock_ms"] - 5, wait
    if in_stack:
        assert_in_stack(wait["stack"], in_stack)


def assert_holds(thread, obj, call, taken_in):
    """`thread` holds `obj`, taken by `call` with `taken_in` in the stack."""
    for held in thread["held"]:
        if held["object"] == obj:
            assert held["call"] == call, held
            assert_in_stack(held["stack"], taken_in)
            return held
    raise AssertionError(f"T{thread['id']} does not hold {obj}: {thread['held']}")


def assert_text_once(result, needle):
    count = result.stderr.count(needle)
    assert count == 1, f"{needle!r} appears {count} times on stderr:\n{result.stderr[-4000:]}"


def start(argv, options=None, stdin=subprocess.DEVNULL, preexec_fn=None):
    """Like lwtest.run but returns the running process (and the directory
    of its JSON reports) for cases that look at it while it runs."""
    options = dict(options or {})
    tmp = tempfile.mkdtemp(prefix="lwtest-dl-")
    options.setdefault("json_path", os.path.join(tmp, "report-%p.json"))
    env = dict(os.environ)
    env["LD_PRELOAD"] = str(lwtest.LIB)
    env["LEAKWATCH_OPTIONS"] = ":".join(f"{k}={v}" for k, v in options.items())
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, stdin=stdin, preexec_fn=preexec_fn)
    return proc, tmp


def finish(proc, timeout):
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        raise AssertionError(f"did not finish in {timeout} s; stderr: {stderr[-3000:]}")


def read_report(tmp, pid):
    path = os.path.join(tmp, f"report-{pid}.json")
    try:
        with open(path) as f:
            data = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    lwtest.check_schema(data)
    return data


def no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# ---------------------------------------------------------------------------
# cycles of mutexes
# ---------------------------------------------------------------------------

def test_abba_two_threads():
    r, ended = run_timed([program("dl_abba")], FAST)
    assert r.returncode == 66, r
    values, _ = printed(r)
    a, b = values["A"], values["B"]
    assert r.report["trigger"] == "deadlock"
    finding = the_deadlock(r)
    assert finding["threads"] == [1, 2], finding
    # T1 holds A and wants B, T2 holds B and wants A.
    assert_cycle_message(finding["message"], "2 threads wait for each other: ",
                         [(1, f"mutex {b}"), (2, f"mutex {a}")])
    t1, t2 = r.thread(1), r.thread(2)
    assert t1["start"] == "forward" and t2["start"] == "backward"
    assert_waits(t1, "pthread_mutex_lock", b, owner=2, in_stack="take_second")
    assert_waits(t2, "pthread_mutex_lock", a, owner=1, in_stack="take_second")
    assert_in_stack(t1["wait"]["stack"], "forward")
    assert_in_stack(t2["wait"]["stack"], "backward")
    assert_holds(t1, a, "pthread_mutex_lock", "take_first")
    assert_holds(t2, b, "pthread_mutex_lock", "take_first")
    assert "wait" not in r.thread(0) or r.thread(0)["state"] != "blocked"  # main sleeps
    # The text: the finding, each thread blocked with its stack and its locks.
    pid = r.report["pid"]
    assert f"=={pid}== leakwatch: deadlock: {finding['message']}\n" in r.stderr
    assert re.search(rf"blocked in pthread_mutex_lock on {named(b)}, owned by T2", r.stderr)
    assert re.search(rf"blocked in pthread_mutex_lock on {named(a)}, owned by T1", r.stderr)
    assert re.search(rf"holds {named(a)}, taken by pthread_mutex_lock", r.stderr)
    assert re.search(rf"holds {named(b)}, taken by pthread_mutex_lock", r.stderr)
    assert "in take_second " in r.stderr and "in take_first " in r.stderr
    assert "main done" not in r.stdout  # ended by deadlock_action=exit
    check_report_delay(r, ended, FAST["deadlock_ms"], 2)


def test_cycle_of_three_threads():
    r, ended = run_timed([program("dl_cycle3")], FAST)
    assert r.returncode == 66, r
    values, _ = printed(r)
    m = [values["m0"], values["m1"], values["m2"]]
    finding = the_deadlock(r)
    assert finding["threads"] == [1, 2, 3], finding
    # T(i+1) holds m[i] and wants m[i+1].
    assert_cycle_message(finding["message"], "3 threads wait for each other: ",
                         [(1, f"mutex {m[1]}"), (2, f"mutex {m[2]}"), (3, f"mutex {m[0]}")])
    for i in range(3):
        t = r.thread(i + 1)
        assert_waits(t, "pthread_mutex_lock", m[(i + 1) % 3], owner=(i + 1) % 3 + 1, in_stack="grab_next")
        assert_holds(t, m[i], "pthread_mutex_lock", "grab_own")
    check_report_delay(r, ended, FAST["deadlock_ms"], 3)


def test_self_deadlock_relocking_default_mutex():
    r, ended = run_timed([program("dl_self")], FAST)
    assert r.returncode == 66, r
    values, _ = printed(r)
    m = values["M"]
    finding = the_deadlock(r)
    assert finding["threads"] == [1], finding
    assert finding["message"] == f"a thread waits for itself: T1 -> mutex {m} held by T1", finding
    t1 = r.thread(1)
    assert_waits(t1, "pthread_mutex_lock", m, owner=1, in_stack="read_config")
    assert_in_stack(t1["wait"]["stack"], "update_config")
    assert_holds(t1, m, "pthread_mutex_lock", "update_config")
    assert re.search(rf"holds {named(m)}, taken by pthread_mutex_lock", r.stderr)
    check_report_delay(r, ended, FAST["deadlock_ms"], 1)


# ---------------------------------------------------------------------------
# joins
# ---------------------------------------------------------------------------

def test_join_cycle():
    r, ended = run_timed([program("dl_join_cycle")], FAST)
    assert r.returncode == 66, r
    values, _ = printed(r)
    finding = the_deadlock(r)
    assert finding["threads"] == [1, 2], finding
    assert_cycle_message(finding["message"], "2 threads wait for each other: ", [(1, None), (2, None)])
    t1, t2 = r.thread(1), r.thread(2)
    assert_waits(t1, "pthread_join", values["T2"], owner=2, in_stack="wait_for")
    assert_waits(t2, "pthread_join", values["T1"], owner=1, in_stack="wait_for")
    assert_in_stack(t1["wait"]["stack"], "first_main")
    assert_in_stack(t2["wait"]["stack"], "second_main")
    assert t1["held"] == [] and t2["held"] == []
    check_report_delay(r, ended, FAST["deadlock_ms"], 2)


def test_main_joins_deadlocked_thread():
    """ABBA between T1 and T2; main joins T1 and is stuck behind them."""
    r, ended = run_timed([program("dl_abba"), "join"], FAST)
    assert r.returncode == 66, r
    values, _ = printed(r)
    a, b = values["A"], values["B"]
    finding = the_deadlock(r)
    assert finding["threads"] == [1, 2, 0], finding  # the cycle first, then main
    assert_cycle_message(finding["message"], "2 threads wait for each other: ",
                         [(1, f"mutex {b}"), (2, f"mutex {a}")],
                         " (and 1 more blocked behind them)")
    main = r.thread(0)
    assert_waits(main, "pthread_join", values["T1"], owner=1, in_stack="main")
    assert_waits(r.thread(1), "pthread_mutex_lock", b, owner=2)
    assert_waits(r.thread(2), "pthread_mutex_lock", a, owner=1)
    assert "T0 (main thread)" in r.stderr and "blocked in pthread_join" in r.stderr
    check_report_delay(r, ended, FAST["deadlock_ms"], 2)


def test_join_cycle_with_main_behind():
    r, ended = run_timed([program("dl_join_cycle"), "join"], FAST)
    assert r.returncode == 66, r
    values, _ = printed(r)
    finding = the_deadlock(r)
    assert finding["threads"] == [1, 2, 0], finding
    assert_cycle_message(finding["message"], "2 threads wait for each other: ", [(1, None), (2, None)],
                         " (and 1 more blocked behind them)")
    assert_waits(r.thread(0), "pthread_join", values["T1"], owner=1, in_stack="main")
    check_report_delay(r, ended, FAST["deadlock_ms"], 2)


# ---------------------------------------------------------------------------
# rwlocks
# ---------------------------------------------------------------------------

def test_rwlock_writer_waits_on_reader():
    """T1 holds mutex M, wrlocks R; T2 holds R read-locked, locks M."""
    r, ended = run_timed([program("dl_rwlock"), "writer"], FAST)
    assert r.returncode == 66, r
    values, _ = printed(r)
    m, rw = values["M"], values["R"]
    finding = the_deadlock(r)
    assert finding["threads"] == [1, 2], finding
    assert_cycle_message(finding["message"], "2 threads wait for each other: ",
                         [(1, f"rwlock {rw}"), (2, f"mutex {m}")])
    writer, reader = r.thread(1), r.thread(2)
    assert_waits(writer, "pthread_rwlock_wrlock", rw, in_stack="writer_thread")
    # A read-held rwlock has no single owner (SPEC: owner only where write-held).
    assert writer["wait"].get("owner") in (None, 2), writer["wait"]
    assert_waits(reader, "pthread_mutex_lock", m, owner=1, in_stack="reader_thread")
    assert_holds(writer, m, "pthread_mutex_lock", "lock_table")
    assert_holds(reader, rw, "pthread_rwlock_rdlock", "read_index")
    check_report_delay(r, ended, FAST["deadlock_ms"], 2)


def test_rwlock_readers_wait_on_writer_waiting_on_them():
    """T1 write-holds R, wrlocks Q; T2 and T3 read-hold Q, rdlock R."""
    r, ended = run_timed([program("dl_rwlock"), "readers"], FAST)
    assert r.returncode == 66, r
    values, _ = printed(r)
    rw, q = values["R"], values["Q"]
    finding = the_deadlock(r)
    assert finding["threads"] == [1, 2, 3], finding
    message = finding["message"]
    assert message.startswith("3 threads wait for each other: "), message
    assert f"rwlock {q} held by T2" in message or f"rwlock {q} held by T3" in message, message
    assert f"rwlock {rw} held by T1" in message, message
    writer = r.thread(1)
    assert_waits(writer, "pthread_rwlock_wrlock", q, in_stack="rebuilder")
    assert writer["wait"].get("owner") in (None, 2, 3), writer["wait"]
    assert_holds(writer, rw, "pthread_rwlock_wrlock", "write_index")
    for reader_id in (2, 3):
        reader = r.thread(reader_id)
        assert_waits(reader, "pthread_rwlock_rdlock", rw, owner=1, in_stack="lookup")
        assert_holds(reader, q, "pthread_rwlock_rdlock", "read_stats")
    check_report_delay(r, ended, FAST["deadlock_ms"], 3)


# ---------------------------------------------------------------------------
# C11 and C++
# ---------------------------------------------------------------------------

def test_c11_mtx_abba():
    r, ended = run_timed([program("dl_c11_abba")], FAST)
    assert r.returncode == 66, r
    values, _ = printed(r)
    a, b = values["A"], values["B"]
    finding = the_deadlock(r)
    assert finding["threads"] == [1, 2], finding
    assert_cycle_message(finding["message"], "2 threads wait for each other: ",
                         [(1, f"mutex {b}"), (2, f"mutex {a}")])
    t1, t2 = r.thread(1), r.thread(2)
    assert t1["start"] == "transfer_ab" and t2["start"] == "transfer_ba"
    assert_waits(t1, "mtx_lock", b, owner=2, in_stack="credit")
    assert_waits(t2, "mtx_lock", a, owner=1, in_stack="credit")
    assert_holds(t1, a, "mtx_lock", "debit")
    assert_holds(t2, b, "mtx_lock", "debit")
    assert "blocked in mtx_lock" in r.stderr
    check_report_delay(r, ended, FAST["deadlock_ms"], 2)


def frame_named(frames, prefix):
    for frame in frames:
        if str(frame.get("function", "")).startswith(prefix):
            return frame
    raise AssertionError(f"no {prefix}… in {functions(frames)}")


def test_cxx_std_mutex_lock_guard_abba():
    r, ended = run_timed([program("dl_cxx_abba")], FAST)
    assert r.returncode == 66, r
    values, _ = printed(r)
    a, b = values["A"], values["B"]  # savings, checking
    finding = the_deadlock(r)
    assert finding["threads"] == [1, 2], finding
    assert_cycle_message(finding["message"], "2 threads wait for each other: ",
                         [(1, f"mutex {b}"), (2, f"mutex {a}")])
    t1, t2 = r.thread(1), r.thread(2)
    # std::mutex::lock is pthread_mutex_lock underneath.
    assert_waits(t1, "pthread_mutex_lock", b, owner=2)
    assert_waits(t2, "pthread_mutex_lock", a, owner=1)
    for t, mine in ((t1, a), (t2, b)):
        frame_named(t["wait"]["stack"], "bank::deposit(")  # demangled
        held = next(h for h in t["held"] if h["object"] == mine)
        frame_named(held["stack"], "bank::transfer(")
        for frame in t["wait"]["stack"] + held["stack"]:
            assert not str(frame.get("function", "")).startswith("_Z"), frame  # no mangled names
    assert "in bank::deposit(" in r.stderr and "in bank::transfer(" in r.stderr
    check_report_delay(r, ended, FAST["deadlock_ms"], 2)


# ---------------------------------------------------------------------------
# all threads asleep
# ---------------------------------------------------------------------------

def test_all_threads_asleep_cond_and_sem():
    r, ended = run_timed([program("dl_all_asleep")], FAST, timeout=15)
    assert r.returncode == 66, r
    values, _ = printed(r)
    finding = the_deadlock(r)
    assert finding["message"].startswith("all threads are asleep"), finding
    assert sorted(finding["threads"]) == [0, 1], finding
    main, worker = r.thread(0), r.thread(1)
    assert_waits(main, "pthread_cond_wait", values["cond"], in_stack="main")
    assert_waits(worker, "sem_wait", values["sem"], in_stack="worker")
    assert "leakwatch: deadlock: all threads are asleep" in r.stderr
    assert "main done" not in r.stdout
    check_report_delay(r, ended, FAST["deadlock_ms"], 1)


# ---------------------------------------------------------------------------
# deadlock_action
# ---------------------------------------------------------------------------

def test_deadlock_action_abort():
    proc, tmp = start([program("dl_abba")], {"deadlock_ms": 300, "deadlock_action": "abort"},
                      preexec_fn=no_core)
    stdout, stderr = finish(proc, 20)
    assert proc.returncode == -signal.SIGABRT, (proc.returncode, stderr[-3000:])
    assert "leakwatch: deadlock: 2 threads wait for each other: T1 -> mutex" in stderr, stderr
    assert "main done" not in stdout
    report = read_report(tmp, proc.pid)
    assert report is not None and report["trigger"] == "deadlock", report
    # The deadlock's report is about the deadlock: the inversion its two
    # threads' edges made (each recorded when its second lock was refused)
    # was reported live before it, on stderr.
    assert [f["kind"] for f in report["findings"]] == ["deadlock"], report["findings"]
    assert stderr.count("leakwatch: lock_order_inversion:") == 1, stderr


def test_deadlock_action_report_carries_on():
    """A deadlock between two background threads is reported once while
    main carries on; the exit status then says there were findings."""
    r = run([program("dl_abba")], options={"deadlock_ms": 300, "deadlock_action": "report"}, timeout=20)
    assert r.returncode == 66, r
    assert r.stdout.endswith("main done\n"), r
    # The live report comes once, however many checks run in the 3 s.
    assert_text_once(r, "SUMMARY (deadlock)")
    live = r.stderr.split("SUMMARY (deadlock)")[0]
    assert live.count("leakwatch: deadlock:") == 1, r.stderr
    # At most the exit report repeats it, once.
    assert r.stderr.count("leakwatch: deadlock:") <= 2, r.stderr
    # The exit report still shows the deadlock (SPEC: live and at exit).
    assert r.report["trigger"] == "exit"
    (finding,) = r.findings("deadlock")
    assert finding["threads"] == [1, 2], finding


# ---------------------------------------------------------------------------
# long_wait
# ---------------------------------------------------------------------------

def run_long_wait():
    """dl_long_wait with hang_ms=200: returns the live JSON report (read
    while the program runs), stdout, stderr, the exit status and the exit
    JSON report."""
    proc, tmp = start([program("dl_long_wait")], {"hang_ms": 200, "deadlock_ms": 0})
    live = None
    deadline = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < deadline:
        report = read_report(tmp, proc.pid)
        if report and report["trigger"] != "exit":
            live = report
            break
        time.sleep(0.02)
    stdout, stderr = finish(proc, 20)
    return live, stdout, stderr, proc.returncode, read_report(tmp, proc.pid)


def test_long_wait_names_waiter_and_running_owner():
    """T2 blocks on M held by T1, which sleeps in clock_nanosleep for 1.5 s."""
    live, stdout, stderr, status, exit_report = run_long_wait()
    m = stdout.split()[1]
    assert stdout.startswith(f"M {m}\n") and stdout.endswith("done\n"), stdout
    assert "leakwatch: long_wait: T2 (waiter)" in stderr, stderr
    assert stderr.count("leakwatch: long_wait:") == 1, stderr  # once per wait
    assert "deadlock:" not in stderr  # deadlock_ms=0: live detection off
    assert live is not None, f"no live JSON report; stderr: {stderr[-3000:]}"
    assert [f["kind"] for f in live["findings"]] == ["long_wait"], live["findings"]
    (finding,) = live["findings"]
    assert finding["threads"] == [2, 1], finding
    message = finding["message"]
    assert message.startswith(f"T2 (waiter) has been blocked in pthread_mutex_lock on {m}"), message
    assert "T1 (holder)" in message and "running" in message, message
    threads = {t["id"]: t for t in live["threads"]}
    wait = threads[2]["wait"]
    assert wait["call"] == "pthread_mutex_lock" and wait["object"] == m and wait.get("owner") == 1, wait
    assert wait["waited_ms"] >= 200
    assert_in_stack(wait["stack"], "cache_get")
    # The wait as data: one "waits" event with the wait's own stack, and
    # the finding's location in the program's code.
    (event,) = finding["evidence"]
    assert (event["role"], event["thread"], event["call"], event["object"], event["owner"]) == \
        ("waits", 2, "pthread_mutex_lock", m, 1), event
    assert event["waited_ms"] >= 200 and event["stack"] == wait["stack"], event
    assert finding["location"]["function"] == "cache_get", finding["location"]
    assert threads[1]["state"] == "running", threads[1]
    assert any(h["object"] == m for h in threads[1]["held"]), threads[1]
    # A finding: the exit status and the exit report say so.
    assert status == 66, (status, stderr[-3000:])
    assert exit_report["trigger"] == "exit"
    assert [f["kind"] for f in exit_report["findings"]] == ["long_wait"], exit_report["findings"]


def test_long_wait_report_does_not_interrupt_sleepers():
    """Reporting the long wait must not wake the owner (or main) from
    clock_nanosleep: the program counts EINTRs and nothing sends signals."""
    _, stdout, stderr, _, _ = run_long_wait()
    assert "leakwatch: long_wait: T2 (waiter)" in stderr, stderr
    assert "interrupted 0\n" in stdout, f"the program's sleeps were interrupted: {stdout!r}"


def test_long_wait_is_printed_once_across_later_checks():
    """T1 stays stuck ~3 s (hang_ms=300) while three later waits (T2, T3,
    T4) each turn long and make the helper check again: T1's long wait is
    printed once, each later one once, under SUMMARY (long_wait)."""
    r = run([program("lw_long_waits"), "once"], options={"hang_ms": 300, "deadlock_ms": 0},
            timeout=30)
    assert r.stdout == "done\n", r
    assert r.returncode == 66, r
    assert r.stderr.count("leakwatch: long_wait: T1 (stuck) has been blocked") == 1, r.stderr
    for late in (2, 3, 4):
        assert r.stderr.count(f"leakwatch: long_wait: T{late} (late) has been blocked") == 1, r.stderr
    assert r.stderr.count("leakwatch: long_wait:") == 4, r.stderr
    assert "SUMMARY (long_wait): 1 finding: 1 long_wait" in r.stderr, r.stderr
    assert "SUMMARY (deadlock)" not in r.stderr, r.stderr
    findings = r.findings("long_wait")
    assert sorted(f["threads"][0] for f in findings) == [1, 2, 3, 4], findings


def test_long_waits_at_one_site_are_one_finding():
    """Four pool workers stuck together at one site: one long_wait with
    count 4 naming all four."""
    r = run([program("lw_long_waits"), "group"], options={"hang_ms": 500, "deadlock_ms": 0},
            timeout=30)
    assert r.stdout == "done\n", r
    assert r.returncode == 66, r
    assert r.stderr.count("leakwatch: long_wait:") == 1, r.stderr
    assert re.search(r"leakwatch: long_wait: 4 threads like this: T[1-4] \(pool_worker\) has been "
                     r"blocked in pthread_cond_wait", r.stderr), r.stderr
    assert "SUMMARY (long_wait): 4 findings: 4 long_wait" in r.stderr, r.stderr
    (finding,) = r.findings("long_wait")
    assert finding["count"] == 4 and sorted(finding["threads"]) == [1, 2, 3, 4], finding


# ---------------------------------------------------------------------------
# abandoned_lock
# ---------------------------------------------------------------------------

SITE = r"at \S*dl_abandoned\.c:\d+\)"


def test_abandoned_locks_return_exit_cancel():
    r = run([program("dl_abandoned")], timeout=20)
    assert r.returncode == 66, r
    values, _ = printed(r)
    assert r.stdout.endswith("done\n"), r
    findings = r.findings("abandoned_lock")
    by_thread = {f["threads"][0]: f for f in findings}
    expected = {
        1: ("returner", values["M1"], r"pthread_mutex_lock in take_and_return "),
        2: ("exiter", values["M2"], r"pthread_mutex_lock in take_and_exit "),
        3: ("cancelled", values["M3"], r"(pthread_mutex_lock|pthread_cond_wait) in wait_for_work "),
    }
    problems = []
    for thread_id, (start_fn, lock, site) in expected.items():
        f = by_thread.get(thread_id)
        if f is None:
            problems.append(f"T{thread_id} ({start_fn}) not reported")
            continue
        assert f["threads"] == [thread_id], f
        pattern = (rf"T{thread_id} \({start_fn}\) ended holding 1 lock: {lock} \({site}{SITE}")
        if not re.match(pattern, f["message"]):
            problems.append(f"message {f['message']!r} does not match {pattern!r}")
        t = r.thread(thread_id)
        if not any(h["object"] == lock for h in t["held"]):
            problems.append(f"T{thread_id} held {t['held']} lacks {lock}")
        # Reported when the thread ended, before the exit report.
        live = r.stderr.split("SUMMARY (exit)")[0]
        if f"leakwatch: abandoned_lock: T{thread_id} ({start_fn}) ended holding 1 lock: {lock}" not in live:
            problems.append(f"T{thread_id} not reported on stderr when it ended")
    assert not problems, "; ".join(problems) + f"\nfindings: {findings}"
    assert len(findings) == len(expected), findings  # once per site, nothing else
    held = next(h for h in r.thread(1)["held"] if h["object"] == values["M1"])
    assert_in_stack(held["stack"], "take_and_return")
    held = next(h for h in r.thread(2)["held"] if h["object"] == values["M2"])
    assert_in_stack(held["stack"], "take_and_exit")
    held = next(h for h in r.thread(3)["held"] if h["object"] == values["M3"])
    assert held["stack"][0]["function"] == "wait_for_work", held  # the call site
    # As data: a "taken" event per lock, with where it was taken, and the
    # ended thread in threads[] as exited.
    for thread_id, function, lock in ((1, "take_and_return", values["M1"]),
                                      (2, "take_and_exit", values["M2"])):
        (event,) = by_thread[thread_id]["evidence"]
        assert (event["role"], event["thread"], event["call"], event["object"], event["object_kind"]) == \
            ("taken", thread_id, "pthread_mutex_lock", lock, "mutex"), event
        assert event["stack"][0]["function"] == function, event
        assert by_thread[thread_id]["location"]["function"] == function, by_thread[thread_id]
        assert r.thread(thread_id)["state"] == "exited", r.thread(thread_id)



# ---------------------------------------------------------------------------
# negatives: under load, nothing to report
# ---------------------------------------------------------------------------

LOADED = {"deadlock_ms": 100}


def test_consistent_lock_order_many_threads_is_clean():
    r = run([program("dl_ok_ordered")], options=LOADED, timeout=30)
    assert_clean(r)
    assert r.stdout == "consistent\n"


def test_timed_cond_waits_are_clean():
    r = run([program("dl_ok_timed_cond")], options=LOADED, timeout=30)
    assert_clean(r)
    assert r.stdout == "done\n"


def test_trylock_back_off_inverted_order_is_clean():
    r = run([program("dl_ok_trylock")], options=LOADED, timeout=30)
    assert_clean(r)
    assert r.stdout == "done ok\n"


def test_producer_consumer_queue_is_clean():
    r = run([program("dl_ok_prodcons")], options=LOADED, timeout=30)
    assert_clean(r)
    assert r.stdout == "sum 40000200000\n"  # 2 * (200000 * 200001 / 2)


def test_idle_pool_then_shutdown_is_clean():
    """Workers in cond_wait for 1 s (10 x deadlock_ms) while main sleeps:
    main is running, so this is no deadlock and not all asleep."""
    r = run([program("dl_ok_pool_idle"), "1.0"], options=LOADED, timeout=30)
    assert_clean(r)
    assert r.stdout == "jobs 4\n"


def test_reader_in_pipe_read_is_not_asleep():
    """main in pthread_join, the only other thread in read(): a call the
    shim cannot see, so the reader may be running; no report."""
    read_end, write_end = os.pipe()

    def feed():
        time.sleep(1.2)
        os.write(write_end, b"hello\n")
        os.close(write_end)

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        r = run([program("dl_ok_pipe_read")], options=LOADED, timeout=30, stdin=read_end)
    finally:
        feeder.join()
        os.close(read_end)
    assert_clean(r)
    assert r.stdout == "read hello\n"


def test_sigalrm_handler_posting_semaphore_is_not_asleep():
    r = run([program("dl_ok_sigalrm")], options=LOADED, timeout=30)
    assert_clean(r)
    assert r.stdout == "alarm\ndone\n"


# ---------------------------------------------------------------------------
# the helper thread's cost
# ---------------------------------------------------------------------------

def helper_files(pid, name):
    """The text of /proc/PID/task/TID/NAME of each thread named leakwatch."""
    texts = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() != "leakwatch":
                    continue
            with open(f"/proc/{pid}/task/{tid}/{name}") as f:
                texts.append(f.read())
        except FileNotFoundError:
            continue
    return texts


def helper_cpu_ticks(pid):
    """utime + stime (clock ticks) of the threads named leakwatch, and how
    many there are."""
    ticks = 0
    stats = helper_files(pid, "stat")
    for stat in stats:
        fields = stat[stat.rindex(")") + 2:].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return ticks, len(stats)


def check_idle_cpu(options):
    proc, _ = start([program("dl_ok_pool_idle"), "2.5", "pid"], options)
    try:
        first = proc.stdout.readline()
        assert first == f"pid {proc.pid}\n", first
        time.sleep(2.0)
        ticks, found = helper_cpu_ticks(proc.pid)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    stdout, stderr = finish(proc, 20)
    assert found == 1, f"{found} threads named leakwatch"
    assert ticks < 2, f"helper used {ticks} clock ticks in 2 s of idle waits"
    assert proc.returncode == 0 and stdout == "jobs 4\n" and "leakwatch:" not in stderr, (proc.returncode, stdout, stderr)


def test_idle_pool_helper_cpu_default_options():
    check_idle_cpu({})


def test_idle_pool_helper_cpu_short_deadlock_ms():
    check_idle_cpu({"deadlock_ms": 100})


def helper_wakeups(pid):
    """Voluntary context switches of the thread named leakwatch: how often
    it went to sleep, so how often something woke it."""
    for status in helper_files(pid, "status"):
        return int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
    return None


def test_waits_do_not_wake_the_helper_when_live_checks_are_off():
    """deadlock_ms=0 (hang_ms off): the helper stays for dumps, and the
    thousands of short waits of a busy queue must not wake it (each wake-up
    is a futex call in the waiting thread and a pass of the helper)."""
    proc, _ = start([program("dl_ok_prodcons")], {"deadlock_ms": 0})
    try:
        time.sleep(0.35)  # the producers pause 10 x 50 ms: the program runs >= 0.5 s
        wakeups = helper_wakeups(proc.pid)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    stdout, stderr = finish(proc, 30)
    assert proc.returncode == 0 and stdout == "sum 40000200000\n" and "leakwatch:" not in stderr, (proc.returncode, stdout, stderr)
    assert wakeups is not None, "no thread named leakwatch while the program ran"
    assert wakeups <= 3, f"the helper woke {wakeups} times in 0.35 s with live checks off"


def test_evidence_for_waits_without_an_owner():
    """Who could still wake a condition variable or semaphore wait: nobody
    ever signalled it, or the last one who did has exited."""
    r = run([program("dl_evidence")], options={"deadlock_ms": 0}, timeout=20)
    assert r.returncode == 66, r
    values, _ = printed(r)
    waits = {t["wait"]["object"]: t for t in r.report["threads"] if "wait" in t}
    never = waits[values["never"]]
    assert never["id"] == 1 and never["wait"]["signalled_by"] is None, never["wait"]
    once = waits[values["once"]]
    assert once["id"] == 3 and once["wait"]["signalled_by"] == 2, once["wait"]
    tokens = waits[values["tokens"]]
    assert tokens["id"] == 4 and tokens["wait"]["signalled_by"] == 0, tokens["wait"]
    text = r.stderr
    assert f"T1 (wait_never), tid {never['tid']}: blocked in pthread_cond_wait on {values['never']}" in text
    assert "(no thread has ever signalled or posted it)" in text
    assert "(last signalled by T2, which has exited)" in text, text
    assert "(last signalled by T0 (main thread))" in text, text


def test_join_of_a_thread_that_has_ended_is_not_asleep():
    # The joined thread has returned but its key destructor still runs for
    # 1.5 s: main alone is blocked, in a join that will return. Under load
    # this looked like "all threads are asleep" in a clean producer-consumer
    # program.
    r = run([program("dl_ok_join_slow_exit")], options={"deadlock_ms": 200})
    assert r.stdout == "joined\n" and r.returncode == 0, r
    assert r.report["findings"] == [], r.report["findings"]
    assert "leakwatch:" not in r.stderr, r.stderr


# ---------------------------------------------------------------------------
# owners past the held list's capacity (issue 16 item 9)
# ---------------------------------------------------------------------------

def check_deep_abba(report, values, depth, text):
    """T1 holds `depth` locks, A the deepest, and wants B; T2 holds B and
    wants A. The cycle is found whatever the depth; past the held list's
    16 entries the report says what it lost."""
    a, b = values["A"], values["B"]
    (finding,) = [f for f in report["findings"] if f["kind"] == "deadlock"]
    assert finding["threads"] == [1, 2], finding
    assert_cycle_message(finding["message"], "2 threads wait for each other: ",
                         [(1, f"mutex {b}"), (2, f"mutex {a}")])
    threads = {t["id"]: t for t in report["threads"]}
    t1, t2 = threads[1], threads[2]
    assert t1["wait"]["object"] == b and t1["wait"]["owner"] == 2, t1["wait"]
    assert t2["wait"]["object"] == a and t2["wait"]["owner"] == 1, t2["wait"]
    held = [h["object"] for h in t1["held"]]
    if depth > 16:
        assert len(held) == 16 and a not in held, held
    # The cycle as data: T1 waits on B owned by T2, T2 on A owned by T1; the
    # owner of A found by glibc's field when T1's list is full.
    steps = [(e["role"], e["thread"], e["object"], e["owner"], e.get("owner_unlisted", False))
             for e in finding["evidence"]]
    assert steps == [("waits", 1, b, 2, False), ("waits", 2, a, 1, depth > 16)], finding["evidence"]
    assert all(e["stack"] and e["call"] == "pthread_mutex_lock" for e in finding["evidence"]), finding
    if depth > 16:
        assert len(held) == 16 and a not in held, held
        # The lock's name, where it has one, follows its address.
        assert re.search(rf"^  T1 owns mutex {a}( \([^)]*\))? \(glibc's owner field says so\) but does "
                         r"not list it: leakwatch keeps 16 held locks a thread, so where it took this "
                         r"one, and its stack, are not known$", text, re.M), text
    else:
        assert a in held and "does not list it" not in text, (held, text)


def test_deadlock_found_past_the_held_list_capacity_live():
    for depth in (17, 40):
        r = run([program("stk_deep_abba"), str(depth)], options=FAST, timeout=20)
        assert r.returncode == 66, r
        assert r.report["trigger"] == "deadlock", r.report["findings"]
        values, _ = printed(r)
        check_deep_abba(r.report, values, depth, r.stderr)


def test_deadlock_found_past_the_held_list_capacity_at_exit():
    for depth in (17, 40, 3):
        r = run([program("stk_deep_abba"), str(depth), "500"], options={"deadlock_ms": 0}, timeout=20)
        assert r.returncode == 66, r
        assert r.report["trigger"] == "exit", r.report["trigger"]
        values, _ = printed(r)
        check_deep_abba(r.report, values, depth, r.stderr)
        kinds = [f["kind"] for f in r.report["findings"]]
        assert kinds.count("deadlock") == 1 and kinds.count("thread_leak") == 2, kinds


# ---------------------------------------------------------------------------
# a process-shared mutex held by another process (issue 17 item 11)
# ---------------------------------------------------------------------------

def run_pshared(hold_ms, hang_ms):
    r = run([program("stk_pshared"), str(hold_ms)], options={"hang_ms": hang_ms}, timeout=30)
    assert r.returncode == 0, r
    values = dict(line.rsplit(" ", 1) for line in r.stdout.splitlines())
    parent, child = int(values["parent"]), int(values["child"])
    assert parent == r.report["pid"], (parent, r.report["pid"])
    assert child in r.json_files, (child, list(r.json_files))
    return r, values["M"], parent, child, int(values["child status"])


def test_long_wait_on_mutex_owned_by_another_process():
    # The parent holds a process-shared mutex for 1.5 s; the child's T1
    # blocks on it. The child's long_wait names the owner's process instead
    # of "nothing owns it", and no deadlock (the child's main thread lists
    # the mutex, copied by fork, but glibc's owner field says otherwise).
    r, m, parent, child, child_status = run_pshared(1500, 300)
    assert child_status == 66, r
    report = r.json_files[child]
    kinds = [f["kind"] for f in report["findings"]]
    assert "deadlock" not in kinds, report["findings"]
    (finding,) = [f for f in report["findings"] if f["kind"] == "long_wait" and f["threads"][0] == 1]
    assert finding["threads"] == [1], finding
    assert finding["message"].startswith(f"T1 'waiter' (waiter) has been blocked in pthread_mutex_lock on {m}"), finding
    assert finding["message"].endswith(
        f"; it is owned by another process: thread {parent} of pid {parent}"), finding
    # (The JSON file now holds the exit report, where T1 has ended; the
    # live report's text shows the wait.)
    assert re.search(rf"blocked in pthread_mutex_lock on {named(m)}, owned by another process", r.stderr), \
        r.stderr[-3000:]
    assert "nothing owns it" not in r.stderr, r.stderr[-3000:]
    assert f"owned by another process (thread {parent} of pid {parent})" in r.stderr, r.stderr[-3000:]
    assert "deadlock:" not in r.stderr, r.stderr[-3000:]
    # The parent, which owned it, has nothing to report.
    assert r.report["findings"] == [], r.report["findings"]


def test_short_hold_of_process_shared_mutex_is_clean():
    # The same, held 50 ms with hang_ms=1000: no long wait, both clean.
    for _ in range(3):
        r, _, _, child, child_status = run_pshared(50, 1000)
        assert child_status == 0, r
        assert r.json_files[child]["findings"] == [], r.json_files[child]["findings"]
        assert r.report["findings"] == [] and "leakwatch:" not in r.stderr, r
