"""Futex waits made through libc's syscall() (C++20's latch, barrier,
counting_semaphore and atomic::wait; GLib; Rust's standard library): seen
as waits, checked field by field."""
import os
import subprocess
import time

from lwtest import BUILD, SOURCE, assert_in_stack, functions, program, run

CXX20_WAITERS = {
    "wait_on_latch": "std::latch::wait",
    "wait_on_barrier": "arrive_and_wait",
    "wait_on_semaphore": "acquire",
    "wait_on_atomic": "wait",
}

# The call the program made, past libstdc++'s reserved helpers (an inlined
# std::atomic::wait leaves only those: then the user's function).
THROUGH = {
    "wait_on_latch": "std::latch::wait",
    "wait_on_barrier": "std::barrier",
    "wait_on_semaphore": "std::counting_semaphore",
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
        # The text and the JSON name the library call that waits.
        assert THROUGH[user[0]] in t["wait"]["through"], t["wait"]
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


# --- GLib: GAsyncQueue, GThreadPool, GMutex/GCond wait on futexes ---------------

def test_glib_consumer_left_in_async_queue_pop_is_blocked():
    r = run([program("glib_waits"), "leak"])
    assert r.returncode == 66 and r.stdout == "returning\n", r
    (leak,) = r.findings("thread_leak")
    t = r.thread(leak["threads"][0])
    assert t["name"] == "consumer" and t["state"] == "blocked", t
    assert t["wait"]["call"] == "futex"
    stack = functions(t["wait"]["stack"])
    assert "g_async_queue_pop" in stack and "consume_forever" in stack, stack
    assert t["wait"]["through"] == "g_cond_wait", t["wait"]
    assert "blocked in futex (g_cond_wait) on 0x" in r.stderr, r.stderr


def test_glib_pool_shut_down_is_clean_20_runs():
    for attempt in range(20):
        r = run([program("glib_waits"), "clean"],
                options={"suppressions": SOURCE / "suppressions" / "glib.supp"})
        assert r.returncode == 0 and r.stdout == "pool 500500 queue 5050\n", (attempt, r)
        assert r.report["findings"] == [], (attempt, r.report["findings"])


# --- Rust's standard library: Mutex, mpsc, thread::park ------------------------

def rust_program(name):
    """tests/rust/NAME.rs, built by the build (tests/CMakeLists.txt) with
    Debian's rustc, which scripts/test.sh installs."""
    out = BUILD / "tests" / "rust" / name
    assert out.exists(), f"{out} was not built: is Debian's rustc installed? (scripts/test.sh installs it)"
    return str(out)


def test_rust_threads_blocked_on_channel_and_mutex_are_blocked_leaks():
    r = run([rust_program("waits"), "leak"])
    assert r.returncode == 66 and r.stdout == "returning\n", r
    leaked = [r.thread(i) for f in r.findings("thread_leak") for i in f["threads"]]
    assert len(leaked) == 3, [f["message"] for f in r.findings()]
    by_function = {}
    for t in leaked:
        assert t["state"] == "blocked" and t["wait"]["call"] == "futex", t
        stack = " ".join(f or "" for f in functions(t["wait"]["stack"]))
        for user in ("wait_on_channel", "hold_forever", "wait_on_mutex"):
            if f"waits::{user}" in stack:
                by_function[user] = stack
    assert sorted(by_function) == ["hold_forever", "wait_on_channel", "wait_on_mutex"], by_function
    assert "Receiver" in by_function["wait_on_channel"] and "recv" in by_function["wait_on_channel"]
    assert "lock_contended" in by_function["wait_on_mutex"]


def test_rust_primitives_used_correctly_are_clean_20_runs():
    binary = rust_program("waits")
    for attempt in range(20):
        r = run([binary, "clean"])
        assert r.returncode == 0 and r.stdout.startswith("total 4000 received "), (attempt, r)
        assert r.report["findings"] == [], (attempt, r.report["findings"])


def test_rust_mutex_deadlock_is_found_live():
    r = run([rust_program("waits"), "deadlock"],
            options={"deadlock_ms": 300, "deadlock_action": "exit"}, timeout=30)
    (finding,) = r.findings("deadlock")
    assert "all threads are asleep" in finding["message"], finding
    workers = [r.thread(i) for i in finding["threads"] if i != 0]
    assert len(workers) == 2 and all(t["wait"]["call"] == "futex" for t in workers), workers


def test_futex_lock_pi_and_futex_waitv_are_waits():
    r = run([program("futex_other_waits")])
    leaked = {r.thread(i)["start"]: r.thread(i) for f in r.findings("thread_leak") for i in f["threads"]}
    pi = leaked["lock_pi_waiter"]
    assert pi["state"] == "blocked" and pi["wait"]["call"] == "futex_lock_pi", pi
    if "waitv unsupported" not in r.stdout:
        waitv = leaked["waitv_waiter"]
        assert waitv["state"] == "blocked" and waitv["wait"]["call"] == "futex_waitv", waitv
