"""Threads blocked in system calls leakwatch does not wrap (read, accept,
epoll_wait, sleep): shown with the call, the descriptor and what it is, and
the timeout, in the text and in the JSON's `syscall` object; never
interrupted; and the exit grace does not wait for them."""
import re
import time

from lwtest import assert_in_stack, program, run

EXPECTED = {
    "wait_for_input": ("read", "pipe:["),
    "wait_for_client": ("accept", "socket:["),
    "wait_for_events": ("epoll_wait", "anon_inode:[eventpoll]"),
    "nap": ("clock_nanosleep", None),
}


def test_threads_in_system_calls_show_the_call_and_the_fd():
    r = run([program("sys_blocked_calls")])
    assert r.stdout == "returning\n", r  # nothing returned early: no EINTR
    assert r.returncode == 66, r
    leaked = {r.thread(i)["start"]: r.thread(i) for f in r.findings("thread_leak") for i in f["threads"]}
    assert sorted(leaked) == sorted(EXPECTED), leaked.keys()
    for start, (call, target) in EXPECTED.items():
        t = leaked[start]
        assert t["state"] == "running" and "wait" not in t, t
        sc = t["syscall"]
        assert sc["name"] == call, sc
        if target:
            assert sc["fd"] >= 3 and sc["fd_target"].startswith(target), sc
        else:
            assert "fd" not in sc, sc
        assert_in_stack(t["stack"], start, "sys_blocked_calls.c")
    # A TCP socket is shown with its addresses (/proc/net/tcp).
    assert re.fullmatch(r"socket:\[\d+\] tcp 127\.0\.0\.1:\d+ listening",
                        leaked["wait_for_client"]["syscall"]["fd_target"]), leaked["wait_for_client"]["syscall"]
    assert leaked["wait_for_events"]["syscall"]["timeout_ms"] == 20000
    assert leaked["nap"]["syscall"]["timeout_ms"] == 30000
    assert "timeout_ms" not in leaked["wait_for_input"]["syscall"]
    # The text says the same.
    assert "(wait_for_input), tid" in r.stderr and "in read on fd" in r.stderr and "(pipe:[" in r.stderr
    assert "in accept on fd" in r.stderr and "(socket:[" in r.stderr, r.stderr
    assert "in epoll_wait on fd" in r.stderr and "timeout 20.0 s" in r.stderr, r.stderr


def test_exit_grace_does_not_wait_for_untimed_system_calls():
    # read and accept have no timeout: unchanged, they are not waited for
    # past a quarter of the 8 s grace (as "running" they cost all of it).
    started = time.monotonic()
    r = run([program("sys_blocked_calls"), "untimed"], options={"exit_grace_ms": 8000})
    elapsed = time.monotonic() - started
    assert r.stdout == "returning\n" and r.returncode == 66, r
    assert sorted(f["kind"] for f in r.findings()) == ["thread_leak", "thread_leak"], r.findings()
    assert elapsed < 6, f"exit took {elapsed:.1f} s"
