"""thread_leak and unjoined_thread at exit (SPEC section 2), checked field by
field in the JSON report and in the text report."""
import datetime

from lwtest import assert_clean, assert_in_stack, program, run


def test_cond_wait_after_early_return():
    r = run([program("leak_cond_early_return")])
    assert r.returncode == 66, r  # exitcode on findings
    assert r.stdout == "returning early\n"
    (leak,) = r.findings("thread_leak")
    (thread_id,) = leak["threads"]
    t = r.thread(thread_id)
    assert thread_id == 1 and t["name"] == "waiter" and t["start"] == "waiter"
    assert t["parent"] == 0 and t["detached"] is False and t["state"] == "blocked"
    assert t["wait"]["call"] == "pthread_cond_wait"
    assert t["wait"]["mutex"].startswith("0x") and t["wait"]["waited_ms"] >= 40
    assert t["held"] == []  # the mutex is released while waiting
    frame = assert_in_stack(t["wait"]["stack"], "waiter", "leak_cond_early_return.c")
    assert t["wait"]["stack"][0]["function"] == "waiter"  # no shim frames on top
    assert_in_stack(t["create_stack"], "start_worker", "leak_cond_early_return.c")
    assert t["create_stack"][0]["function"] == "start_worker"
    assert leak["message"] == "T1 'waiter' (waiter) still blocked in pthread_cond_wait at exit"
    assert "==%d== leakwatch: thread_leak: T1 'waiter' (waiter)" % r.report["pid"] in r.stderr
    assert "SUMMARY (exit): 1 finding: 1 thread_leak" in r.stderr
    assert r.report["trigger"] == "exit" and r.report["exe"].endswith("leak_cond_early_return")
    assert frame["line"] > 0


def test_report_time_is_the_utc_time_of_the_report():
    # The time is computed by arithmetic (gmtime_r takes a lock that fork
    # does not reset): it must read as the UTC time around the run.
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    r = run([program("leak_cond_early_return")])
    after = datetime.datetime.now(datetime.timezone.utc)
    stamp = datetime.datetime.strptime(r.report["time"], "%Y-%m-%dT%H:%M:%SZ")
    stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    assert before <= stamp <= after, (before, r.report["time"], after)


def test_exitcode_zero_keeps_program_status():
    r = run([program("leak_cond_early_return")], options={"exitcode": 0})
    assert r.returncode == 3, r
    assert len(r.findings("thread_leak")) == 1


def test_joined_pool_and_1000_short_threads_are_clean():
    r = run([program("clean_joined_pool")])
    assert_clean(r)
    assert r.stdout == "total 1028000\n"  # 28 * 1000 + 1000 * 1000
    assert r.report["threads"][0]["id"] == 0  # only main is left
    assert len(r.report["threads"]) == 1


def test_name_that_is_not_utf8_keeps_the_json_valid():
    r = run([program("leak_odd_name")], options={"exit_grace_ms": 0})
    assert r.returncode == 66, r
    (leak,) = r.findings("thread_leak")
    t = r.thread(leak["threads"][0])
    # Bytes that are not UTF-8 come back as the code points of the same value.
    assert t["name"] == "w\u00ff\u00fe\"q\\", t["name"]
