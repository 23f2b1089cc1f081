"""thread_leak and unjoined_thread at exit (SPEC section 2), checked field by
field in the JSON report and in the text report."""
import datetime
import os
import re
import tempfile

from lwtest import assert_clean, assert_in_stack, program, run


def test_cond_wait_after_early_return():
    r = run([program("leak_cond_early_return")])
    # The program fails on its own (status 3): it keeps its status; exitcode
    # replaces only a 0. The findings are reported all the same.
    assert r.returncode == 3, r
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


def test_status_zero_with_findings_becomes_exitcode():
    r = run([program("leak_cond_early_return"), "0"])
    assert r.returncode == 66, r
    assert len(r.findings("thread_leak")) == 1


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


# ---------------------------------------------------------------------------
# the real end of a thread (issue 17): locks are judged after the cleanup
# handlers, C++ thread_local destructors and every round of thread-specific
# data destructors; robust mutexes are never abandoned. The negatives run
# 20 times each in their case: not one run may report anything.
# ---------------------------------------------------------------------------

RUNS = 20


def clean_runs(argv, expected_stdout):
    bad = []
    for _ in range(RUNS):
        r = run(argv, timeout=60)
        if r.returncode != 0 or "leakwatch:" in r.stderr or r.report is None or r.report["findings"]:
            bad.append(r)
        assert r.stdout.endswith(expected_stdout), r.stdout
    assert not bad, f"{len(bad)} of {RUNS} runs reported: {bad[0]!r}"


def addresses_of(stdout):
    return dict(line.split() for line in stdout.splitlines() if line.split()[-1].startswith("0x"))


def the_abandoned(r):
    (finding,) = r.findings()
    assert finding["kind"] == "abandoned_lock" and finding["threads"] == [1], finding
    return finding


def test_ok_lock_unlocked_by_a_cleanup_handler_after_pthread_exit_20_runs():
    clean_runs([program("cw_cases"), "exit_cleanup"], "trylock 0\n")


def test_ok_lock_unlocked_in_the_last_destructor_round_20_runs():
    """A key's destructor sets itself again until the last of the
    PTHREAD_DESTRUCTOR_ITERATIONS rounds, then unlocks."""
    clean_runs([program("cw_cases"), "tsd_rearm"], "trylock 0\n")


def test_ok_lock_unlocked_by_a_thread_local_destructor_20_runs():
    clean_runs([program("cw_thread_local")], "trylock 0\n")


def test_ok_robust_mutex_of_a_dead_owner_recovered_20_runs():
    """Its owner dies holding it; the next locker gets EOWNERDEAD (130),
    makes it consistent: nobody waits forever."""
    clean_runs([program("cw_cases"), "robust"], "lock 130\nconsistent 0\nunlock 0\ndestroy 0\n")


def test_lock_taken_by_a_cleanup_handler_is_the_one_abandoned():
    """T1 holds M (a destructor unlocks it in the last round) and takes M2
    in a cleanup handler, which it never unlocks: M2 alone is abandoned."""
    r = run([program("cw_cases"), "tsd_mixed"], timeout=30)
    assert r.returncode == 66, r
    values = addresses_of(r.stdout)
    finding = the_abandoned(r)
    assert finding["message"].startswith(f"T1 (tsd_mixed) ended holding 1 lock: {values['M2']} "
                                         "(pthread_mutex_lock in take_m2 at "), finding
    assert values["M"] not in finding["message"], finding
    assert "trylock 0\n" in r.stdout  # M was unlocked indeed
    assert f"leakwatch: abandoned_lock: T1 (tsd_mixed) ended holding 1 lock: {values['M2']}" \
        in r.stderr.split("SUMMARY (exit)")[0], r.stderr


def test_robust_mutex_is_not_abandoned_the_other_lock_is():
    """T1 dies holding robust R and normal M: M only."""
    r = run([program("cw_cases"), "robust_mixed"], timeout=30)
    assert r.returncode == 66, r
    values = addresses_of(r.stdout)
    finding = the_abandoned(r)
    assert finding["message"].startswith(f"T1 (die_holding_robust) ended holding 1 lock: {values['M']} "), finding
    assert "lock 130\nconsistent 0\n" in r.stdout, r.stdout


# ---------------------------------------------------------------------------
# symbols after setuid and chroot (issue 17)
# ---------------------------------------------------------------------------

def leak_text(r):
    """The text of the thread_leak finding on stderr (the JSON file cannot
    be written by a process that dropped root or left the file system)."""
    start = r.stderr.find("leakwatch: thread_leak: ")
    assert start >= 0, r.stderr
    return r.stderr[start:]


def test_frames_keep_their_names_after_setuid():
    """A root process drops to nobody: /proc/self/maps and /proc/self/exe
    become root's, yet the frames and the start routine keep their names
    (the loader's list of modules, the program's path read at load)."""
    if os.getuid() != 0:
        return  # needs root to drop it; CI runs as root
    r = run([program("cw_setuid"), "setuid"], options={"json_path": ""}, timeout=30)
    assert r.stdout == "dropped 0\nleaking\n", r.stdout
    text = leak_text(r)
    assert "T1 (leaked_worker) still blocked in pthread_cond_wait at exit" in text, text
    assert re.search(r"#0 +0x[0-9a-f]+ in leaked_worker \S*cw_setuid\.c:\d+", text), text
    assert re.search(r"#0 +0x[0-9a-f]+ in start_leak \S*cw_setuid\.c:\d+", text), text
    assert "(?+" not in text.split("\n\n")[0], text


def test_bare_frames_after_chroot_are_explained():
    """After chroot into an empty directory no module can be opened: the
    frames are bare, and a warning says why."""
    if os.getuid() != 0:
        return
    root = tempfile.mkdtemp(prefix="lwroot-")
    r = run([program("cw_setuid"), "chroot", root], options={"json_path": ""}, timeout=30)
    assert r.stdout == "dropped 0\nleaking\n", r.stdout
    assert "leakwatch: cannot open " in r.stderr and "after chroot?" in r.stderr, r.stderr
    text = leak_text(r)
    assert "still blocked in pthread_cond_wait at exit" in text, text
    # libunwind, loaded when first needed, was loaded before the chroot:
    # the blocked thread's stack is there, its frames bare.
    blocking = text.split("blocking stack:\n")[1].split("created by")[0]
    frames = [line for line in blocking.splitlines() if line.strip().startswith("#")]
    assert len(frames) >= 2, text
    assert "cannot open libunwind" not in r.stderr, r.stderr
