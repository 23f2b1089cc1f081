"""Hostile programs that once broke the program leakwatch ran in (issue:
never break the program). Each case runs a small program built to hit one
mechanism, and checks that the program sees what it sees without the shim,
and that the report is still right."""
import json
import os
import shutil
import subprocess
import tempfile

from lwtest import LIB, program, run


def kinds(report):
    return sorted({f["kind"] for f in report["findings"]}) if report else []


def test_latent_abba_is_not_made_certain():
    # Two threads released by one barrier take two mutexes once, in
    # opposite orders. Without the shim this practically never deadlocks;
    # the shim once did the new edge's work (a stack unwind, the graph's
    # lock) between the two acquisitions, and 11 to 18 runs in 20
    # deadlocked. Now the second lock is tried first and the edge recorded
    # after. The inversion must still be reported in every run: at exit,
    # or, in a run that deadlocked anyway (deadlock_action=exit: the
    # deadlock's report is the last, and about the deadlock), live.
    deadlocked = 0
    for attempt in range(20):
        r = run([program("hostile_abba_window")],
                options={"deadlock_ms": 200, "deadlock_action": "exit"}, timeout=30)
        found = kinds(r.report)
        if "deadlock" in found:
            deadlocked += 1
            assert found == ["deadlock"], (attempt, r)
            assert r.stderr.count("leakwatch: lock_order_inversion:") == 1, (attempt, r)
        else:
            assert found == ["lock_order_inversion"], (attempt, r)
            assert r.stdout == "done\n", (attempt, r)
    assert deadlocked <= 2, f"{deadlocked} of 20 runs deadlocked"


def test_pending_cancel_never_acts_inside_a_lock():
    # A deferred cancel is pending while the worker takes two nested locks
    # (a new lock-order edge: a stack capture inside pthread_mutex_lock).
    # pthread_mutex_lock is no cancellation point: the cancel must act at
    # pthread_testcancel, after both unlocks, and nothing is abandoned.
    for attempt in range(5):
        r = run([program("hostile_cancel_pending_in_lock")])
        assert r.stdout == "cancelled 1 reached_testcancel 1 outer free inner free\n", (attempt, r)
        assert r.returncode == 0, (attempt, r)
        assert kinds(r.report) == [], (attempt, r.report["findings"])


def test_a_signal_handler_never_makes_the_shim_allocate():
    # libunwind, loaded when first needed, has thread-local storage that
    # glibc allocates (malloc) at a thread's first use of it. A worker that
    # started before libunwind was loaded made 70 stack captures (the shim
    # wants libunwind from the 64th), then takes a new lock-order edge in a
    # signal handler: that capture must not be its first use of libunwind
    # (the handler may have stopped it inside malloc). The program counts
    # its own malloc calls while the handler runs.
    for attempt in range(3):
        plain = run([program("hostile_unwind_in_handler")], preload=False)
        assert plain.stdout == "mallocs in the handler: 0\nunwinder mapped: no\n", plain
        r = run([program("hostile_unwind_in_handler")], timeout=30)
        assert r.stdout == "mallocs in the handler: 0\nunwinder mapped: yes\n", (attempt, r)
        assert r.returncode == 0 and kinds(r.report) == [], (attempt, r)


def test_libraries_are_loaded_only_when_needed():
    # Every process paid for mapping libdw and its four libraries, and
    # libunwind and liblzma, at start. Now libunwind is loaded by the
    # helper once a thread has captured many stacks (or by a report), libdw
    # only by a report (dlopen), with the same frames.
    r = run([program("cost_libraries_on_demand")])
    assert r.stdout == ("after one thread: libunwind not mapped, libdw not mapped\n"
                        "after 100 threads: libunwind mapped, libdw not mapped\n"
                        "after a report: libunwind mapped, libdw mapped\n"), r
    assert r.returncode == 0 and r.report["findings"] == [], r
    # (The symbols cases check that reports still have functions and lines.)


def test_a_program_that_links_libunwind_keeps_its_descriptors():
    # A program that links libunwind: the loader finds libunwind's
    # _Unwind_Backtrace first, whose first use opens a pipe, and the
    # program gained two descriptors from creating a thread when the shim
    # used the one the loader bound. The shim has libgcc's unwinder linked
    # in, private to it, and uses that one only.
    plain = run([program("unwinder_with_libunwind_linked")], preload=False)
    assert plain.stdout == ("first _Unwind_Backtrace: libunwind's\n"
                            "descriptors gained: 0\n"), plain
    r = run([program("unwinder_with_libunwind_linked")])
    assert r.stdout == plain.stdout, r
    assert r.returncode == 0 and r.report["findings"] == [], r


def test_the_helper_thread_runs_where_the_program_may():
    # The helper starts on the CPU of the thread that starts it (a short
    # process then pays no wake-up on another CPU), and takes that thread's
    # CPUs before its first real work: here the check due when main's join
    # has lasted deadlock_ms. Under `taskset -c 0` it is on CPU 0 all along.
    r = run([program("helper_cpus")], options={"deadlock_ms": 100})
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and r.returncode == 0 and r.report["findings"] == [], r
    started_helper, started_main = lines[0].removeprefix("started: ").split(" / ")
    after_helper, after_main = lines[1].removeprefix("after a check: ").split(" / ")
    assert after_helper == after_main == started_main, lines
    if "," in started_main or "-" in started_main:  # more than one CPU
        assert started_helper.isdigit(), lines  # pinned until then
    else:
        assert started_helper == started_main, lines
    if shutil.which("taskset"):
        r = run(["taskset", "-c", "0", program("helper_cpus")], options={"deadlock_ms": 100})
        assert r.stdout == "started: 0 / 0\nafter a check: 0 / 0\n", r


def unused_uid(start):
    """A uid no process runs as, from `start` on."""
    owners = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                owners.add(os.stat(f"/proc/{entry}").st_uid)
            except OSError:
                pass
    uid = start + os.getpid() % 5000
    while uid in owners:
        uid += 1
    return uid


def test_the_helper_thread_is_started_once():
    # The helper said it was idle before its creator had marked it running,
    # and a wait that began in that moment started a second helper, which
    # the deadlock finder did not count: "all threads asleep" went
    # unreported (futex.deadlock_through_futex_locks_is_all_threads_asleep
    # hung once in CI; futex_abba hung in 13 runs of 480 under load). The
    # moment is short: four copies side by side, 50 runs each, and the
    # program's thread waits from its first moment on (helper_once.c). The
    # old library showed two helpers in 8 runs of 200.
    env = dict(os.environ, LD_PRELOAD=str(LIB), LEAKWATCH_OPTIONS="")
    loop = "for i in $(seq 1 50); do %s || echo failed $?; done" % program("helper_once")
    copies = [subprocess.Popen(["sh", "-c", loop], env=env, stdout=subprocess.PIPE, text=True)
              for _ in range(4)]
    outputs = [copy.communicate(timeout=120)[0] for copy in copies]
    lines = [line for output in outputs for line in output.splitlines()]
    assert len(lines) == 200 and set(lines) == {"helpers 1"}, sorted(set(lines))


def test_a_program_at_its_thread_limit_gets_its_thread():
    # RLIMIT_NPROC (or a cgroup's pids.max) lets the program have one
    # thread more than it has. The shim's helper thread started inside the
    # program's first pthread_create, before the program's thread, and took
    # that slot: the program's pthread_create failed with EAGAIN. The
    # program's thread comes first now; the helper starts at a later
    # creation that has room, also when it found none at a first wait
    # ("wait"). Root is not held to the limit: the program becomes an
    # unused uid first.
    if os.geteuid() != 0:
        return  # needs root (see above)
    plain = run([program("hostile_thread_limit"), str(unused_uid(61000))], preload=False)
    assert plain.stdout == "created: ok\nhelper: no\n", plain
    for mode in ("pthread", "c11", "wait"):
        reports = tempfile.mkdtemp(prefix="lwtest-limit-")
        os.chmod(reports, 0o777)  # the program writes it as its new uid
        r = run([program("hostile_thread_limit"), str(unused_uid(66000)), mode],
                options={"json_path": f"{reports}/r.json"})
        waited = "waited: ok\n" if mode == "wait" else ""
        assert r.stdout == waited + "created: ok\nhelper: yes\n", (mode, r)
        with open(f"{reports}/r.json") as f:
            report = json.load(f)
        assert r.returncode == 0 and kinds(report) == [], (mode, r, report)
        assert report["trigger"] == "exit", report
