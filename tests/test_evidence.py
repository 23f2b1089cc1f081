"""The last wake-up of a condition variable (issue 20, part 5): for a thread
blocked on one, the report says which thread last signalled it, with which
call (a signal, waking one waiter, or a broadcast, waking all), how many
threads waited then, how many wake-ups it had in all, and the stack of that
call: the JSON wait's "last_signal", and a line under the blocking stack
in the text ("T4, which has exited, last signalled it once,
with pthread_cond_signal at ev_last_signal.c:57, while 3 threads waited:").

ev_last_signal: three pool workers wait on one condition variable; a
producer wakes it once while all three wait, then ends; the workers are
leaked at exit. ev_notify_one_cxx: the same with std::condition_variable
and notify_one. Negatives: never signalled (no last_signal), and correct
use, 20 runs, no finding."""
import re

from lwtest import assert_clean, assert_in_stack, program, run


def line_of_call(result):
    (line,) = [int(l.split()[1]) for l in result.stdout.splitlines() if l.startswith("line ")]
    return line


def stuck_workers(result, start):
    workers = [t for t in result.report["threads"] if t.get("start") == start]
    assert len(workers) >= 2, result.report["threads"]
    for t in workers:
        assert t["state"] == "blocked" and "wait" in t, t
    return workers


def check_last_signal(result, start, call, waiters, function, source, line):
    """Workers T1-T3 stuck; T4, the producer, woke them once and was joined."""
    assert result.returncode == 66, result
    workers = stuck_workers(result, start)
    for t in workers:
        last = t["wait"].get("last_signal")
        assert last is not None, t["wait"]
        assert last["thread"] == 4 == t["wait"]["signalled_by"], last
        assert last["call"] == call, last
        assert last["waiters"] == waiters, last
        assert last["count"] == 1, last
        top = last["stack"][0]
        assert top["function"].startswith(function), last["stack"]
        assert top["file"].endswith(source) and top["line"] == line, top
    # The text: in each stuck thread's block, under its blocking stack.
    pattern = (rf"\n  T4, which has exited, last signalled it once, with {call} at "
               rf"\S*{re.escape(source)}:{line}, while {waiters} threads waited:\n"
               rf"    #0  0x[0-9a-f]+ in {re.escape(function)} ")
    assert re.search(pattern, result.stderr), result.stderr[-4000:]
    return workers


def test_last_signal_is_a_signal_with_its_stack():
    r = run([program("ev_last_signal"), "signal"], timeout=30)
    check_last_signal(r, "pool_worker", "pthread_cond_signal", 3, "wake_pool", "ev_last_signal.c",
                      line_of_call(r))
    for t in stuck_workers(r, "pool_worker"):
        assert_in_stack(t["wait"]["last_signal"]["stack"], "producer")


def test_last_signal_is_a_broadcast():
    r = run([program("ev_last_signal"), "broadcast"], timeout=30)
    check_last_signal(r, "pool_worker", "pthread_cond_broadcast", 3, "wake_pool",
                      "ev_last_signal.c", line_of_call(r))


def test_last_signal_c11_cnd_signal_and_broadcast():
    for mode, call in (("c11signal", "cnd_signal"), ("c11broadcast", "cnd_broadcast")):
        r = run([program("ev_last_signal"), mode], timeout=30)
        check_last_signal(r, "c11_worker", call, 3, "c11_wake_pool", "ev_last_signal.c",
                          line_of_call(r))


def test_last_signal_cxx_notify_one():
    """libstdc++'s notify_one is pthread_cond_signal, called from
    libstdc++.so: the call site and stack are the program's."""
    r = run([program("ev_notify_one_cxx")], timeout=30)
    assert r.returncode == 66, r
    line = line_of_call(r)
    waits = [t["wait"] for t in r.report["threads"] if "wait" in t and t["state"] == "blocked"]
    assert len(waits) == 2, r.report["threads"]
    for w in waits:
        last = w.get("last_signal")
        assert last is not None, w
        assert last["call"] == "pthread_cond_signal" and last["waiters"] == 3 and last["count"] == 1, last
        top = last["stack"][0]
        assert "start_all" in top["function"], last["stack"]
        assert top["file"].endswith("ev_notify_one_cxx.cpp") and top["line"] == line, top
    assert re.search(rf"T4, which has exited, last signalled it once, with pthread_cond_signal at "
                     rf"\S*ev_notify_one_cxx.cpp:{line}, while 3 threads waited:", r.stderr), r.stderr[-4000:]


def test_never_signalled_has_no_last_signal():
    r = run([program("ev_last_signal"), "never"], timeout=30)
    assert r.returncode == 66, r
    for t in stuck_workers(r, "pool_worker"):
        assert t["wait"]["signalled_by"] is None, t["wait"]
        assert "last_signal" not in t["wait"], t["wait"]
    assert "last signalled it" not in r.stderr, r.stderr
    assert "(no thread has ever signalled or posted it)" in r.stderr


def test_correct_signals_are_clean_20_runs():
    for _ in range(20):
        r = run([program("ev_ok_signals")], timeout=30)
        assert_clean(r)
        assert r.stdout == "done 2001000\n", r
