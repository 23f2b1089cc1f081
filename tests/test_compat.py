"""Programs linked against glibc's old condition variables
(pthread_cond_*@GLIBC_2.2.5) reach the old implementation through the
shim's versioned wrappers, and their waits are seen."""
import subprocess

from lwtest import LIB, addresses, assert_in_stack, program, run


def test_old_condition_variables_work_and_are_seen():
    r = run([program("wait_cond_compat")], timeout=30)
    plain = run([program("wait_cond_compat")], preload=False, timeout=30)
    assert plain.stdout.startswith("handshake 1000\n") and plain.returncode == 0, plain
    assert r.stdout.splitlines()[0] == "handshake 1000", r
    assert r.returncode == 66, r
    never = addresses(r.stdout)["never"]
    (leak,) = r.findings("thread_leak")
    t = r.thread(leak["threads"][0])
    assert t["start"] == "stuck" and t["state"] == "blocked", t
    assert t["wait"]["call"] == "pthread_cond_wait" and t["wait"]["object"] == never, t["wait"]
    assert_in_stack(t["wait"]["stack"], "stuck")


def test_both_symbol_versions_are_exported():
    out = subprocess.run(["readelf", "--dyn-syms", "-W", str(LIB)], capture_output=True, text=True,
                         check=True).stdout
    for name in ("pthread_cond_wait", "pthread_cond_timedwait", "pthread_cond_signal",
                 "pthread_cond_broadcast", "pthread_cond_destroy"):
        assert f"{name}@@GLIBC_2.3.2" in out, name
        assert f"{name}@GLIBC_2.2.5" in out, name
