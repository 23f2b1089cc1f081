"""What every process pays (issue 21): a clean process's exit does no
symbolization, JSON or not, in the parent and in forked children; threads a
suppression covers are not waited for at exit; and the cheaper stack
capture at thread creation still gives the same stacks, however many
threads one thread creates. No case here measures time: each asserts what
the shim did (libraries it loaded, lines it logged, what the report holds).
"""
import os
import re
import shutil
import subprocess
import tempfile

from lwtest import BUILD, LIB, assert_in_stack, assert_no_shim_frames, functions, program, run
from test_suppressions import assert_suppressed, run_with


def loaded_libdw(stderr):
    """LD_DEBUG=files names every library a process loads, dlopen too."""
    return [line for line in stderr.splitlines() if "file=libdw" in line]


def test_clean_json_report_loads_no_symbols():
    # A clean process with json_path set used to symbolize every stack of
    # its threads for the JSON (libdw: +100 ms). Nothing is shown, so
    # nothing is symbolized: the report lists the threads without stacks.
    for attempt in range(3):
        r = run([program("cost_fork_children"), "0"], env={"LD_DEBUG": "files"})
        assert r.returncode == 0 and r.stdout == "forked 0\n", r
        assert r.report is not None, r  # written, and valid (run() parses it)
        assert r.report["findings"] == [] and r.report["trigger"] == "exit", r.report
        assert loaded_libdw(r.stderr) == [], (attempt, loaded_libdw(r.stderr))
        main = r.thread(0)
        assert main["create_stack"] == [] and "stack" not in main, main


def test_forked_children_report_without_symbols():
    # Each forked child that exits makes its own report: it must not pay
    # for symbols either (a fork-heavy program went from 0.04 to 1.2 s).
    r = run([program("cost_fork_children"), "3"], env={"LD_DEBUG": "files"})
    assert r.returncode == 0 and r.stdout == "forked 3\n", r
    assert len(r.json_files) == 4, sorted(r.json_files)
    for pid, report in r.json_files.items():
        assert report["findings"] == [] and report["trigger"] == "exit", (pid, report)
    assert loaded_libdw(r.stderr) == [], loaded_libdw(r.stderr)


def test_report_with_findings_still_symbolized():
    # The other side: a finding's report has its stacks, with names.
    r = run([program("cost_many_creates")])
    assert r.report["findings"], r
    for f in r.findings("thread_leak"):
        for thread_id in f["threads"]:
            assert_in_stack(r.thread(thread_id)["create_stack"], "spawn_batch")


def test_creation_stacks_of_many_threads_from_one_thread():
    # The creating thread's first stacks come from libgcc's unwinder, later
    # ones from libunwind's cached one: the 3rd and the 140th thread, from
    # the same call, must have the very same creation stack (same program
    # counters: the two leaks fold into one finding of 2).
    r = run([program("cost_many_creates")])
    assert r.returncode == 66 and r.stdout == "created 150\n", r
    leaks = r.findings("thread_leak")
    assert len(leaks) == 1 and leaks[0]["count"] == 2, leaks
    stacks = [r.thread(thread_id)["create_stack"] for thread_id in leaks[0]["threads"]]
    assert len(stacks) == 2, leaks
    for stack in stacks:
        assert_no_shim_frames(stack)
        names = functions(stack)
        assert names.index("spawn_batch") < names.index("main"), names
    assert [f["pc"] for f in stacks[0]] == [f["pc"] for f in stacks[1]], stacks


NOT_WAITING = "not waiting for T"


def test_exit_does_not_wait_for_suppressed_threads():
    # A pool that a thread_leak rule covers by its start routine: the exit
    # grace does not wait for it (it waited up to exit_grace_ms for
    # threads whose finding would be hidden anyway), and says so.
    r, _ = run_with("thread_leak:pool_worker\n", "pool", "4", options={"verbosity": 1})
    assert_suppressed(r, count=4)
    waived = [line for line in r.stderr.splitlines() if NOT_WAITING in line]
    assert len(waived) == 4, r.stderr
    for thread_id in (1, 2, 3, 4):
        assert any(f"{NOT_WAITING}{thread_id}," in line for line in waived), waived


def test_exit_waits_for_threads_not_covered_by_what_they_are():
    # A rule that matches only through where the thread waits now (its wait
    # stack may yet change) or a rule for another kind waives nothing; the
    # findings come out as before.
    r, _ = run_with("thread_leak:wait_forever\n", "pool", "4", options={"verbosity": 1})
    assert_suppressed(r, count=4)
    assert NOT_WAITING not in r.stderr, r.stderr
    r, _ = run_with("unjoined_thread:pool_worker\n", "pool", "4", options={"verbosity": 1})
    assert r.returncode == 66 and NOT_WAITING not in r.stderr, r
    r, _ = run_with(None, "pool", "4", options={"verbosity": 1})
    assert r.returncode == 66 and NOT_WAITING not in r.stderr, r


def test_the_wrapped_functions_are_found_as_the_loader_finds_them():
    # The shim reads glibc's definitions of the functions it wraps from the
    # objects' GNU hash tables (elfsym.c), not through dlsym 71 times (a
    # fifth of its start-up instructions). For every function of its table
    # (the table itself is compiled in, so a function added is checked
    # too) the answer must be dlsym's or dlvsym's: after a plain program
    # (libc is next); with the shim preloaded (it is next, with its
    # unversioned definitions and its own GLIBC_2.2.5 and 2.3.2 ones); with
    # the bench's forwarding library preloaded (unversioned definitions
    # only, which a versioned dlvsym passes over). Names it must leave to
    # dlsym (absent, an unknown version, an IFUNC, data) are never answered.
    forwarder = BUILD / "bench" / "liblwforward.so"
    for preload in (None, LIB, forwarder):
        r = run([program("elfsym_agrees")], preload=False,
                env={"LD_PRELOAD": str(preload)} if preload else None)
        m = re.fullmatch(r"wrapped: answered (\d+) of (\d+); others answered: 0; agreed\n",
                         r.stdout)
        assert r.returncode == 0 and m, (preload, r)
        assert m.group(1) == m.group(2) and int(m.group(2)) >= 70, (preload, r.stdout)


def test_start_up_asks_the_loader_for_no_wrapped_function():
    # LD_DEBUG=symbols logs every look-up the loader makes, dlsym's too.
    # Nothing in the program or its libraries imports these three: a line
    # for any of them is the shim asking dlsym at start.
    r = run([program("cost_fork_children"), "0"], env={"LD_DEBUG": "symbols"})
    assert r.returncode == 0 and r.stdout == "forked 0\n", r
    assert "symbol=pthread_create;" in r.stderr, r.stderr[-2000:]  # the log is on
    for name in ("pthread_mutex_clocklock", "sem_clockwait", "thrd_create"):
        assert "symbol=%s;" % name not in r.stderr, name


def test_the_report_arena_serves_its_loan_first_and_finds_it_zero_again():
    # The exit look's first memory is a buffer of the shim's own, not a
    # mapping (mem.c's lw_mem_arena_lend): checked on mem.c alone, where a
    # release that left the buffer dirty, or a loan that did not start
    # over, shows. Its 16-byte alignment holds in the mappings too.
    r = run([program("mem_arena_loan")], preload=False)
    assert r.returncode == 0 and r.stdout == "arena loan: ok\n", r


def test_a_clean_exit_maps_and_unmaps_nothing():
    # After the program's last write, a clean process's exit (the exit
    # look and everything around it) makes no mapping and unmaps none:
    # with threads on other CPUs, each munmap is a TLB flush there too.
    strace = shutil.which("strace")
    assert strace, "strace is needed (scripts/test.sh installs it)"
    with tempfile.TemporaryDirectory(prefix="lwtest-") as tmp:
        trace = os.path.join(tmp, "trace")
        env = dict(os.environ, LD_PRELOAD=str(LIB), LEAKWATCH_OPTIONS="")
        proc = subprocess.run([strace, "-f", "-qq", "-e", "trace=write,mmap,munmap,openat", "-o",
                               trace, program("cost_clean_exit")], env=env, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0 and proc.stdout == "exiting\n", proc
        with open(trace) as f:
            lines = f.read().splitlines()
    marks = [i for i, line in enumerate(lines) if 'write(1, "exiting\\n"' in line]
    assert len(marks) == 1, lines[-20:]
    after = [line for line in lines[marks[0] + 1:] if re.search(r"\b(mmap|munmap|openat)\(", line)]
    assert after == [], after
    # The trace sees the shim at work: the helper's stack is mapped before.
    assert any("mmap(" in line for line in lines[:marks[0]]), lines[:40]


def pages_at_exit(argv, preload=LIB):
    """The shim's mappings as the process's main thread exits
    (pages_at_exit), keyed by their permissions ("r-xp" is the text, and
    "rw-p:bss" its .bss): (size in pages, pages present, 64 KiB windows
    with a page present)."""
    env = dict(os.environ, LEAKWATCH_OPTIONS="")
    proc = subprocess.run([program("pages_at_exit"), str(preload)] + argv, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc
    shim = {}
    for line in proc.stdout.splitlines():
        fields = line.split(" ", 5)
        if len(fields) != 6 or "libleakwatch" not in fields[5]:
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        key = fields[1] + (":bss" if fields[5].endswith(":bss") else "")
        shim[key] = ((end - start) // 4096, int(fields[3]), int(fields[4]))
    assert "r-xp" in shim, proc.stdout
    return shim


def test_a_short_process_runs_the_shims_text_in_two_windows():
    # The code a short process runs lies first in the shim's text, side by
    # side (src/start_path.txt, placed by the link): a thread created and
    # joined, and the exit, touch at most two of the text's 64 KiB windows
    # (the kernel maps a file's pages a window at a time: a window is a page
    # fault), where the text spans more; they touched three. Every lock and
    # wait used by several threads (clean_sync) stays within three (it
    # touched three or four).
    cases = [["cost_clean_exit"]] * 5
    cases += [["clean_sync", mode] for mode in ("mutex", "rwlock", "cond", "sem", "barrier", "c11")]
    for argv in cases:
        pages, present, windows = pages_at_exit([program(argv[0])] + argv[1:])["r-xp"]
        assert pages > 2 * 16 and present > 0, (argv, pages, present)
        assert windows <= (2 if argv[0] == "cost_clean_exit" else 3), (argv, pages, present, windows)

