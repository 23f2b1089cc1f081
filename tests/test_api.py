"""The test-suite API, include/leakwatch.h (SPEC section 6; issue 6), used by
programs that include the header and are not linked with the library: the
calls reach the preloaded shim through weak symbols, and are no-ops
without it. (Linked use is covered by test_packaging.py.)

The programs print what each call returned ("verify <n>", "report <n>",
"leaky <n>"...) and how long it took ("elapsed <ms>"); the verify report
goes to stderr (or log_path) as text, and to json_path with trigger
"verify". The exit report writes json_path again at exit, so cases that
need the verify JSON end the program with _exit, which makes no exit
report.
"""
import os
import re
import tempfile

from lwtest import assert_clean, assert_in_stack, program, run


def printed(result):
    """The program's "name value" lines as {name: value} (ints where they are)."""
    values = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            values[parts[0]] = int(parts[1]) if parts[1].lstrip("-").isdigit() else parts[1]
    return values


def verify_blocks(stderr, trigger="verify"):
    """The finding lines of the reports made by `trigger` on stderr."""
    return re.findall(rf"^==\d+== leakwatch: (\w+): (.* at {trigger})$", stderr, re.M)


# ---------------------------------------------------------------------------
# leakwatch_verify_none
# ---------------------------------------------------------------------------

def test_verify_none_clean():
    r = run([program("api_verify"), "clean"], timeout=60)
    assert_clean(r, 0)
    v = printed(r)
    assert v["active"] == 1, r
    assert v["verify"] == 0, r
    assert v["elapsed"] < 500, f"nothing to wait for, yet verify took {v['elapsed']} ms"
    assert r.report["trigger"] == "exit" and r.report["findings"] == []
    assert "main done" in r.stdout


def test_verify_none_leak_report():
    """A worker blocked forever: verify_none retries for the whole timeout,
    returns 1, and reports it (text and JSON, trigger "verify")."""
    r = run([program("api_verify"), "leak", "_exit"], timeout=60)
    assert r.returncode == 0, r  # _exit(0): the program's own status, no exit report
    v = printed(r)
    assert v["active"] == 1 and v["verify"] == 1, r
    assert 950 <= v["elapsed"] < 5000, f"verify_none(1000) took {v['elapsed']} ms"
    # JSON: the verify report.
    report = r.report
    assert report is not None, r
    assert report["trigger"] == "verify", report["trigger"]
    (finding,) = report["findings"]
    assert finding["kind"] == "thread_leak" and finding["threads"] == [1], finding
    assert finding["message"] == "T1 (stuck_worker) still blocked in pthread_cond_wait at verify", finding
    t1 = r.thread(1)
    assert t1["start"] == "stuck_worker" and t1["state"] == "blocked", t1
    assert t1["wait"]["call"] == "pthread_cond_wait" and t1["wait"]["object"] == v["cv"], t1["wait"]
    assert t1["wait"]["waited_ms"] >= 950, t1["wait"]
    assert_in_stack(t1["wait"]["stack"], "stuck_worker", "api_verify.c")
    assert_in_stack(t1["create_stack"], "main", "api_verify.c")
    assert report["suppressed"] == 0
    # Text, on stderr: the finding, the thread's wait and its stacks.
    pid = report["pid"]
    assert f"=={pid}== leakwatch: thread_leak: {finding['message']}\n" in r.stderr, r.stderr
    assert re.search(rf"T1 \(stuck_worker\), tid \d+: blocked in pthread_cond_wait on {v['cv']}", r.stderr), r.stderr
    assert re.search(r" in stuck_worker \S*api_verify\.c:\d+", r.stderr), r.stderr
    assert f"=={pid}== leakwatch: SUMMARY (verify): 1 finding: 1 thread_leak\n" in r.stderr
    assert "SUMMARY (exit)" not in r.stderr, r.stderr


def test_verify_none_leak_then_exit():
    """The same leak, and main returns: the verify report (text to log_path)
    says it; the exit report does not say it again, and the status stays
    the program's own (the test framework has failed the test already;
    this used to print the thread a second time at exit and exit 66)."""
    tmp = tempfile.mkdtemp(prefix="lwtest-api-")
    log = os.path.join(tmp, "log-%p.txt")
    r = run([program("api_verify"), "leak"], options={"log_path": log}, timeout=60)
    assert r.returncode == 0, r
    assert "leakwatch:" not in r.stderr, r.stderr  # all of it went to log_path
    v = printed(r)
    assert v["verify"] == 1 and "main done" in r.stdout, r
    pid = r.report["pid"]
    with open(log.replace("%p", str(pid))) as f:
        text = f.read()
    assert text.count(f"=={pid}== leakwatch: thread_leak: T1 (stuck_worker) still blocked in "
                      "pthread_cond_wait at verify\n") == 1, text
    assert f"=={pid}== leakwatch: SUMMARY (verify): 1 finding: 1 thread_leak\n" in text, text
    assert "at exit" not in text and "SUMMARY (exit)" not in text, text
    assert r.report["trigger"] == "exit", r.report["trigger"]
    assert r.report["findings"] == [], r.report["findings"]
    # The thread is still there, alive: only not counted again.
    assert r.thread(1)["state"] == "blocked"


def test_verify_none_slow_exit_within_timeout():
    """A detached worker that ends after 200 ms: verify_none(1000) waits for
    it (retrying) and returns 0."""
    r = run([program("api_verify"), "slow"], timeout=60)
    assert_clean(r, 0)
    v = printed(r)
    assert v["verify"] == 0, r
    assert 150 <= v["elapsed"] < 900, f"verify took {v['elapsed']} ms for a worker that ends after 200 ms"
    assert r.report["findings"] == [] and r.report["trigger"] == "exit"


def test_verify_none_unjoined():
    """A worker that ended but was never joined or detached still counts:
    its stack and TLS stay allocated."""
    r = run([program("api_verify"), "unjoined"], timeout=60)
    v = printed(r)
    assert v["verify"] == 1, r
    assert 290 <= v["elapsed"] < 3000, v
    assert re.search(r"==\d+== leakwatch: unjoined_thread: T1 \(quick_worker\) finished but was never "
                     r"joined or detached\n", r.stderr), r.stderr
    assert "SUMMARY (verify): 1 finding: 1 unjoined_thread" in r.stderr, r.stderr
    # Joined afterwards: clean at exit, the program's own status.
    assert r.returncode == 0, r
    assert r.report["trigger"] == "exit" and r.report["findings"] == [], r.report["findings"]
    assert "SUMMARY (exit)" not in r.stderr


# ---------------------------------------------------------------------------
# leakwatch_ignore_current
# ---------------------------------------------------------------------------

def test_ignore_current():
    """Threads alive at leakwatch_ignore_current() are expected: not counted
    by verify, not reported at exit."""
    r = run([program("api_verify"), "ignore"], timeout=60)
    assert_clean(r, 0)
    v = printed(r)
    assert v["verify"] == 0, r
    assert v["elapsed"] < 400, f"verify waited {v['elapsed']} ms for ignored threads"
    assert "main done" in r.stdout
    # The ignored threads are still there at exit, blocked; just not findings.
    assert r.report["trigger"] == "exit" and r.report["findings"] == []
    old = {t["id"]: t for t in r.report["threads"] if t["id"] in (1, 2)}
    assert old[1]["start"] == "old_cond_worker" and old[1]["state"] == "blocked", old
    assert old[2]["start"] == "old_sem_worker" and old[2]["state"] == "blocked", old


def test_ignore_current_control():
    """The same program without the call: both old threads leak, reported
    by verify (and not again at exit: the status stays the program's)."""
    r = run([program("api_verify"), "no_ignore"], timeout=60)
    assert r.returncode == 0, r
    v = printed(r)
    assert v["verify"] == 2 and 450 <= v["elapsed"] < 3000, v
    found = verify_blocks(r.stderr)
    assert sorted(found) == [
        ("thread_leak", "T1 'old-pool' (old_cond_worker) still blocked in pthread_cond_wait at verify"),
        ("thread_leak", "T2 (old_sem_worker) still blocked in sem_wait at verify")], found
    assert r.findings() == [], r.findings()
    assert "at exit" not in r.stderr, r.stderr
    assert {t["id"]: t["state"] for t in r.report["threads"] if t["id"] in (1, 2)} == \
        {1: "blocked", 2: "blocked"}, r.report["threads"]


def test_ignore_current_then_new_leak():
    """Only threads created after the call count: T3 is reported, T1 and T2
    are not, by verify or at exit; T3 is not reported again at exit."""
    r = run([program("api_verify"), "ignore_then_leak"], timeout=60)
    assert r.returncode == 0, r
    v = printed(r)
    assert v["verify"] == 1, r
    assert verify_blocks(r.stderr) == [
        ("thread_leak", "T3 (new_leak) still blocked in pthread_cond_wait at verify")], r.stderr
    assert "old_cond_worker" not in r.stderr and "old-pool" not in r.stderr and "old_sem_worker" not in r.stderr
    assert r.findings() == [], r.findings()


# ---------------------------------------------------------------------------
# leakwatch_mark / leakwatch_verify_since
# ---------------------------------------------------------------------------

def test_verify_since_parallel_tests():
    """Two tests at once in one process, each verifying its own threads:
    the leaky one (whose leak is a grandchild) gets 1, the clean one 0."""
    r = run([program("api_parallel")], timeout=60)
    v = printed(r)
    assert v["leaky"] == 1, r
    assert v["clean"] == 0, r
    # The clean test waited for its worker (300 ms), not for the other
    # test's grandchild (it would have timed out at 3000 ms).
    assert 250 <= v["clean_elapsed"] < 2500, v
    # The leaky test timed out with its grandchild still there.
    assert 550 <= v["leaky_elapsed"] < 5000, v
    # One verify report, naming the grandchild only.
    found = verify_blocks(r.stderr)
    assert len(found) == 1, r.stderr
    kind, message = found[0]
    assert kind == "thread_leak", found
    assert re.fullmatch(r"T\d+ \(leaky_grandchild\) still blocked in pthread_cond_wait at verify", message), message
    assert r.stderr.count("SUMMARY (verify)") == 1, r.stderr
    assert "SUMMARY (verify): 1 finding: 1 thread_leak" in r.stderr
    for other in ("clean_worker", "clean_helper", "test_clean", "test_leaky", "leaky_child"):
        assert f"({other})" not in r.stderr, f"{other} reported:\n{r.stderr}"
    # At exit the grandchild is still blocked, reported by verify already:
    # not again, and the status is the program's own.
    assert r.returncode == 0, r
    assert r.findings() == [], r.findings()
    (g,) = [t for t in r.report["threads"] if t["start"] == "leaky_grandchild"]
    assert g["start"] == "leaky_grandchild" and g["wait"]["call"] == "pthread_cond_wait", g
    parent = r.thread(g["parent"]) if any(t["id"] == g["parent"] for t in r.report["threads"]) else None
    if parent is not None:
        assert parent["start"] == "leaky_child", parent
    assert_in_stack(g["create_stack"], "leaky_child", "api_parallel.c")


def test_verify_since_cxx_fixture():
    """The header from C++, as a GoogleTest fixture would use it."""
    r = run([program("api_cxx")], timeout=60)
    v = printed(r)
    assert v["active"] == 1 and v["clean_test"] == 0 and v["leaky_test"] == 1, r
    found = verify_blocks(r.stderr)
    assert len(found) == 1 and found[0][0] == "thread_leak", r.stderr
    assert re.fullmatch(r"T2 .*still blocked in pthread_cond_wait at verify", found[0][1]), found
    assert ", detached: blocked in pthread_cond_wait" in r.stderr, r.stderr
    assert "parked_worker" in r.stderr, r.stderr  # its wait stack
    # Released before main returns: nothing at exit.
    assert r.returncode == 0, r
    assert r.report["trigger"] == "exit" and r.report["findings"] == [], r.report["findings"]
    assert "SUMMARY (exit)" not in r.stderr


# ---------------------------------------------------------------------------
# leakwatch_report
# ---------------------------------------------------------------------------

def test_report_to_fd():
    r = run([program("api_verify"), "report"], timeout=60)
    v = printed(r)
    assert v["report"] == 2, r.stdout
    out = r.stdout
    pid = r.report["pid"]
    start = out.index(f"=={pid}== leakwatch: dump of {program('api_verify')} (pid {pid}), 3 threads, up ")
    leak1 = out.index(f"=={pid}== leakwatch: thread_leak: T1 (report_cond_worker) still blocked in "
                      "pthread_cond_wait now\n")
    leak2 = out.index(f"=={pid}== leakwatch: thread_leak: T2 (report_sem_worker) still blocked in sem_wait now\n")
    summary = out.index(f"=={pid}== leakwatch: SUMMARY (dump): 2 findings: 2 thread_leak\n")
    returned = out.index("report 2\n")
    assert start < leak1 < leak2 < summary < returned, out
    assert re.search(rf"T1 \(report_cond_worker\), tid \d+: blocked in pthread_cond_wait on {v['cv']}", out), out
    assert re.search(rf"T2 \(report_sem_worker\), tid \d+: blocked in sem_wait on {v['sem']}", out), out
    assert re.search(r" in report_cond_worker \S*api_verify\.c:\d+", out), out
    # Written to the fd given, nowhere else; the program then cleans up.
    assert_clean(r, 0)
    assert "main done" in out


# ---------------------------------------------------------------------------
# without the shim
# ---------------------------------------------------------------------------

def test_without_shim_everything_is_a_noop():
    for mode in ("clean", "leak", "ignore_then_leak", "no_ignore", "unjoined"):
        r = run([program("api_verify"), mode], preload=False, timeout=60)
        assert r.returncode == 0, (mode, r)
        assert r.report is None, (mode, r.report)
        assert r.stderr == "", (mode, r.stderr)
        v = printed(r)
        assert v["active"] == 0 and v["verify"] == 0, (mode, r.stdout)
        assert v["elapsed"] < 100, (mode, v)
        assert "main done" in r.stdout
    r = run([program("api_verify"), "report"], preload=False, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r
    assert "leakwatch" not in r.stdout, r.stdout
    assert printed(r)["report"] == 0, r.stdout
    r = run([program("api_parallel")], preload=False, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r
    v = printed(r)
    assert v["leaky"] == 0 and v["clean"] == 0 and v["leaky_elapsed"] < 100, v
    r = run([program("api_cxx")], preload=False, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r
    v = printed(r)
    assert v["active"] == 0 and v["clean_test"] == 0 and v["leaky_test"] == 0, v


def test_active_under_shim():
    r = run([program("api_verify"), "clean"], timeout=60)
    assert printed(r)["active"] == 1, r
    r = run([program("api_cxx")], timeout=60)
    assert printed(r)["active"] == 1, r


# ---------------------------------------------------------------------------
# leakwatch_verify_none_text / leakwatch_verify_since_text
# ---------------------------------------------------------------------------

def text_between(stdout):
    return stdout.split("BEGIN\n", 1)[1].split("END\n", 1)[0]


def test_verify_none_text_returns_the_stacks_and_prints_nothing():
    r = run([program("api_verify_text"), "none"])
    assert "verify_none_text: text\n" in r.stdout, r
    text = text_between(r.stdout)
    pid = r.report["pid"]
    assert f"=={pid}== leakwatch: thread_leak: T1 (stuck_worker) still blocked in pthread_cond_wait at verify" in text
    assert "blocking stack:" in text and "stuck_worker" in text and "api_verify_text.c:" in text, text
    assert "SUMMARY (verify): 1 finding: 1 thread_leak" in text, text
    # Printed nothing itself, and the thread is not reported again: not by
    # a second verify call, not at exit; the status is the program's.
    assert "leakwatch:" not in r.stderr, r.stderr
    assert "again: NULL\n" in r.stdout, r.stdout
    assert r.returncode == 0 and r.report["findings"] == [], r


def test_verify_since_text_reports_only_its_own_test():
    r = run([program("api_verify_text"), "since"])
    assert "first test: NULL\n" in r.stdout and "second test: text\n" in r.stdout, r
    text = text_between(r.stdout)
    assert "T2 (stuck_worker) still blocked in pthread_cond_wait at verify" in text, text
    assert "quick_worker" not in text, text
    assert r.returncode == 0 and "leakwatch:" not in r.stderr, r


def test_verify_text_clean_is_null():
    r = run([program("api_verify_text"), "clean"])
    assert r.stdout == "clean: NULL\n" and r.returncode == 0, r
    assert r.report["findings"] == []


def test_verify_text_without_the_shim_is_null():
    r = run([program("api_verify_text"), "none"], preload=False, timeout=30)
    assert r.stdout.startswith("verify_none_text: NULL\nagain: NULL\n"), r
