"""Futex waits made through libc's syscall() (C++20's latch, barrier,
counting_semaphore and atomic::wait; GLib; Rust's standard library): seen
as waits, checked field by field."""
import time

from lwtest import assert_in_stack, functions, program, run

CXX20_WAITERS = {
    "wait_on_latch": "std::latch::wait",
    "wait_on_barrier": "arrive_and_wait",
    "wait_on_semaphore": "acquire",
    "wait_on_atomic": "wait",
}


def test_cxx20_waits_left_blocked_are_thread_leaks():
    r = run([program("futex_cxx20_leaks")])
    assert r.returncode == 66 and r.stdout == "returning\n", r
    leaks = r.findings("thread_leak")
    leaked = [r.thread(i) for f in leaks for i in f["threads"]]
    assert len(leaked) == 4, [f["message"] for f in leaks]
    seen = set()
    for t in leaked:
        assert t["state"] == "blocked", t
        assert t["wait"]["call"] == "futex", t["wait"]
        assert t["wait"]["object"].startswith("0x")
        stack = [f or "" for f in functions(t["wait"]["stack"])]
        user = [f for f in CXX20_WAITERS if f + "()" in stack]
        assert len(user) == 1, stack
        library_wait = CXX20_WAITERS[user[0]]
        assert any(library_wait in (f or "") for f in stack), (library_wait, stack)
        seen.add(user[0])
        assert_in_stack(t["wait"]["stack"], user[0] + "()", "futex_cxx20_leaks.cpp")
    assert seen == set(CXX20_WAITERS)
    # Nobody ever woke any of these words.
    assert "no thread has ever signalled" in r.stderr


def test_cxx20_waits_used_correctly_are_clean_20_runs():
    for attempt in range(20):
        r = run([program("futex_cxx20_clean")])
        assert r.returncode == 0 and r.stdout == "done\n", (attempt, r)
        assert r.report["findings"] == [], (attempt, r.report["findings"])


def test_deadlock_through_futex_locks_is_all_threads_asleep():
    r = run([program("futex_abba")], options={"deadlock_ms": 300, "deadlock_action": "exit"},
            timeout=30)
    (finding,) = r.findings("deadlock")
    assert "all threads are asleep" in finding["message"], finding
    workers = [r.thread(i) for i in finding["threads"] if i != 0]
    assert sorted(t["start"] for t in workers) == ["backward", "forward"]
    for t in workers:
        assert t["wait"]["call"] == "futex" and t["state"] == "blocked"
        assert_in_stack(t["wait"]["stack"], "futex_lock_take", "futex_abba.c")
    assert r.thread(0)["wait"]["call"] == "pthread_join"


def test_exit_grace_does_not_wait_for_threads_blocked_in_futex_waits():
    # Blocked threads are not waited for past a quarter of exit_grace_ms;
    # a thread leakwatch thought was running would cost the whole grace.
    started = time.monotonic()
    r = run([program("futex_cxx20_leaks")], options={"exit_grace_ms": 8000})
    elapsed = time.monotonic() - started
    assert len(r.findings("thread_leak")) == 4, r
    assert elapsed < 6, f"exit took {elapsed:.1f} s: the grace waited for futex waiters"
