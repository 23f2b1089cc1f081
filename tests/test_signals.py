"""report_signals: a report when the user gives up on a process (issue 20
part 3; docs/reference.md "Options" and "Triggers").

The program is tests/programs/sig_hung: main joins a worker blocked in
read() on a pipe nobody closes (no cycle, not all asleep: only a signal
ends it). Each case starts it under the shim, waits for "ready", sends a
signal and checks what the user gets: the report (text on stderr, JSON at
json_path) with trigger "signal" and the signal's name, and a death by that
same signal (subprocess returncode -N). Programs that handle or ignore the
signal, and report_signals=0, are untouched. Dumps on SIGUSR2 say where
they went and keep the newest few per process.
"""
import glob
import json
import os
import re
import resource
import select
import shutil
import signal
import subprocess
import tempfile
import time

import lwtest
from lwtest import functions, program

DUMP_DIR = f"/tmp/leakwatch-{os.getuid()}"


class Hung:
    """sig_hung MODE under the shim, read line by line until "ready"."""

    def __init__(self, mode="plain", options=None, preload=True, preexec=None):
        self.tmp = tempfile.mkdtemp(prefix="lwsig-")
        options = dict(options or {})
        options.setdefault("json_path", os.path.join(self.tmp, "report-%p.json"))
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS")}
        if preload:
            env["LD_PRELOAD"] = str(lwtest.LIB)
        env["LEAKWATCH_OPTIONS"] = ":".join(f"{k}={v}" for k, v in options.items())

        def child_setup():
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGQUIT: no core file here
            if preexec:
                preexec()

        self.proc = subprocess.Popen([program("sig_hung"), mode], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=child_setup)
        self.out = b""
        self.err = b""
        self.stdout_lines = []

    @property
    def pid(self):
        return self.proc.pid

    def _pump(self, timeout):
        """Read what is there on stdout and stderr, waiting up to `timeout`."""
        streams = [s for s in (self.proc.stdout, self.proc.stderr) if s]
        ready, _, _ = select.select(streams, [], [], timeout)
        for stream in ready:
            chunk = os.read(stream.fileno(), 65536)
            if stream is self.proc.stdout:
                self.out += chunk
            else:
                self.err += chunk
        return bool(ready)

    def wait_stdout(self, line, timeout=30):
        deadline = time.monotonic() + timeout
        while line.encode() + b"\n" not in self.out:
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and not self._pump(0)):
                raise AssertionError(f"no {line!r} on stdout: {self.out!r}, stderr {self.err[-3000:]!r}")
            self._pump(min(left, 0.5))

    def wait_stderr(self, pattern, timeout=30):
        """The first stderr line matching `pattern` (a regex) from here on."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.err.decode(errors="replace").split("\n")
            for i, text in enumerate(lines[:-1]):
                match = re.search(pattern, text)
                if match:
                    self.err = "\n".join(lines[i + 1:]).encode()
                    return match
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} on stderr: {self.err[-3000:]!r}")
            self._pump(min(left, 0.5))

    def ready(self):
        self.wait_stdout("ready")
        time.sleep(0.1)  # the blocking thread is in read() by now

    def signal(self, signo):
        os.kill(self.pid, signo)

    def finish(self, timeout=30):
        """Wait for the end; returns (returncode, stdout, stderr, JSON report or None)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"did not end in {timeout} s; stderr {(self.err + err)[-3000:]!r}")
        stdout = (self.out + out).decode(errors="replace")
        stderr = (self.err + err).decode(errors="replace")
        report = None
        path = os.path.join(self.tmp, f"report-{self.pid}.json")
        if os.path.exists(path):
            with open(path) as f:
                report = json.load(f)
            lwtest.check_schema(report)
        return self.proc.returncode, stdout, stderr, report

    def alive(self, what):
        time.sleep(0.3)  # a fatal signal would have acted by now
        assert self.proc.poll() is None, f"{what}: died (status {self.proc.returncode}); {self.err!r}"

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        return self.finish()


def by_id(report):
    return {t["id"]: t for t in report["threads"]}


def check_signal_report(signo, mode="plain", options=None):
    """sig_hung gets `signo`: the report, then death by `signo`."""
    hung = Hung(mode, options)
    hung.ready()
    hung.signal(signo)
    status, stdout, stderr, report = hung.finish()
    name = signal.Signals(signo).name
    assert status == -signo, (status, stderr)
    # Text: a header naming the signal, every thread, the summary line.
    assert re.search(rf"==\d+== leakwatch: {name} arrived; the state of \S+sig_hung", stderr), stderr
    assert f"leakwatch: SUMMARY (signal {name}): " in stderr, stderr
    # JSON: the same report.
    assert report is not None, stderr
    assert report["trigger"] == "signal" and report["signal"] == name, report
    return report, stderr


def check_hung_threads(report, stderr, name):
    threads = by_id(report)
    assert sorted(threads) == [0, 1], sorted(threads)
    main, worker = threads[0], threads[1]
    assert main["wait"]["call"] == "pthread_join" and main["wait"]["owner"] == 1, main
    assert "main" in functions(main["wait"]["stack"]), main
    assert worker["start"] == "pipe_worker" and worker["state"] == "running", worker
    assert worker["syscall"]["name"] == "read", worker
    assert worker["syscall"]["fd_target"].startswith("pipe:"), worker
    assert "pipe_worker" in functions(worker["stack"]), worker
    leaks = [f for f in report["findings"] if f["kind"] == "thread_leak"]
    assert len(leaks) == 1 and leaks[0]["threads"] == [1], report["findings"]
    assert leaks[0]["message"] == f"T1 (pipe_worker) still in read when {name} arrived", leaks[0]
    assert f"thread_leak: T1 (pipe_worker) still in read when {name} arrived" in stderr, stderr
    assert re.search(r"T0 \(main thread\), tid \d+: blocked in pthread_join on 0x[0-9a-f]+, "
                     r"waiting for T1 \(pipe_worker\)", stderr), stderr
    assert re.search(r"T1 \(pipe_worker\), tid \d+: in read on fd \d+ \(pipe:", stderr), stderr


# ---------------------------------------------------------------------------
# the report, then death by the signal
# ---------------------------------------------------------------------------

def test_term_on_hung_service():
    """SIGTERM on a service that does not shut down: the report names the
    worker blocked in read and main joining it; the process dies of SIGTERM."""
    report, stderr = check_signal_report(signal.SIGTERM)
    check_hung_threads(report, stderr, "SIGTERM")


def test_int_on_hung_service():
    """Ctrl-C (SIGINT): the same, and the process dies of SIGINT (shell: 130)."""
    report, stderr = check_signal_report(signal.SIGINT)
    check_hung_threads(report, stderr, "SIGINT")


def test_hup_and_quit():
    """SIGHUP and SIGQUIT too (SIGQUIT's death keeps its core action)."""
    for signo in (signal.SIGHUP, signal.SIGQUIT):
        report, stderr = check_signal_report(signo)
        check_hung_threads(report, stderr, signal.Signals(signo).name)


def test_single_thread():
    """One thread (no helper thread to hand the report to): main, blocked
    in read, is reported from the handler, where the signal found it."""
    report, stderr = check_signal_report(signal.SIGTERM, "single")
    threads = by_id(report)
    assert sorted(threads) == [0], threads
    main = threads[0]
    assert main["syscall"]["name"] == "read", main
    assert "main" in functions(main["stack"]), main
    assert report["findings"] == [], report["findings"]
    assert "SUMMARY (signal SIGTERM): 0 findings" in stderr, stderr


def test_interrupted_thread_shown_where_it_was():
    """The thread the signal stopped (main in read, while leakwatch's helper
    thread runs) is shown in read, not in leakwatch's handler."""
    report, stderr = check_signal_report(signal.SIGTERM, "joined")
    main = by_id(report)[0]
    assert "wait" not in main, main
    assert main["syscall"]["name"] == "read", main
    assert "main" in functions(main["stack"]), main
    lwtest.assert_no_shim_frames(main["stack"])
    assert re.search(r"T0 \(main thread\), tid \d+: in read on fd \d+ \(pipe:", stderr), stderr


def test_forked_child():
    """A child after fork (one thread, no helper) keeps the behaviour: it
    reports and dies of SIGTERM; the parent, which waited for it, exits
    normally with its own clean exit report."""
    hung = Hung("fork")
    hung.wait_stdout("ready")
    child = int(re.search(rb"child (\d+)", hung.out).group(1))
    time.sleep(0.1)
    os.kill(child, signal.SIGTERM)
    status, stdout, stderr, report = hung.finish()
    assert status == 0, (status, stderr)
    assert f"child died of {int(signal.SIGTERM)}" in stdout, stdout
    assert report["trigger"] == "exit" and report["findings"] == [], report
    with open(os.path.join(hung.tmp, f"report-{child}.json")) as f:
        child_report = json.load(f)
    lwtest.check_schema(child_report)
    assert child_report["trigger"] == "signal" and child_report["signal"] == "SIGTERM", child_report
    main = by_id(child_report)[0]
    assert main["syscall"]["name"] == "read" and "main" in functions(main["stack"]), main
    assert f"=={child}== leakwatch: SUMMARY (signal SIGTERM): 0 findings" in stderr, stderr


# ---------------------------------------------------------------------------
# programs that take the signal themselves: untouched
# ---------------------------------------------------------------------------

def test_own_handler_untouched():
    """A SIGTERM handler installed after leakwatch started replaces its own:
    the handler runs, the exit status is the program's, no report."""
    hung = Hung("handler")
    hung.ready()
    hung.signal(signal.SIGTERM)
    status, stdout, stderr, report = hung.finish()
    assert status == 7, (status, stderr)
    assert stdout.splitlines() == ["SIGTERM was SIG_DFL", "ready", "handled"], stdout
    assert "leakwatch" not in stderr, stderr
    assert report is None, report
    # The same program's SIGINT, which it leaves at its default, reports.
    report, stderr = check_signal_report(signal.SIGINT, "handler")
    check_hung_threads(report, stderr, "SIGINT")


def test_ignored_untouched():
    """SIGINT ignored by the program stays ignored; SIGTERM, left at its
    default, still reports."""
    hung = Hung("ignore")
    hung.ready()
    hung.signal(signal.SIGINT)
    hung.alive("SIGINT is ignored")
    assert b"leakwatch" not in hung.err, hung.err
    hung.signal(signal.SIGTERM)
    status, stdout, stderr, report = hung.finish()
    assert status == -signal.SIGTERM, (status, stderr)
    assert report["signal"] == "SIGTERM" and stderr.count("SUMMARY (signal") == 1, stderr


def test_inherited_ignore_untouched():
    """SIGHUP ignored by the parent (nohup) stays ignored."""
    hung = Hung(preexec=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    hung.ready()
    hung.signal(signal.SIGHUP)
    hung.alive("SIGHUP is ignored")
    hung.signal(signal.SIGTERM)
    status, stdout, stderr, report = hung.finish()
    assert status == -signal.SIGTERM, (status, stderr)
    assert "SIGHUP" not in stderr and report["signal"] == "SIGTERM", stderr


def check_program_view(mode, lines):
    """sig_hung MODE prints `lines` (what its calls answered) alike with and
    without the shim, and SIGTERM, left at its default, ends it: with the
    report under the shim."""
    for preload in (False, True):
        hung = Hung(mode, preload=preload)
        hung.ready()
        hung.signal(signal.SIGTERM)
        status, stdout, stderr, report = hung.finish()
        assert stdout.splitlines() == lines + ["ready"], (preload, stdout)
        assert status == -signal.SIGTERM, (preload, status, stderr)
        assert (report is not None) == preload, report
        if preload:
            assert report["signal"] == "SIGTERM", report


def test_program_sees_sig_dfl():
    """sigaction(SIGTERM, NULL, &old) and signal() tell the program what it
    sees alone (SIG_DFL), not leakwatch's handler: the same lines with and
    without the shim."""
    check_program_view("query", [
        "sigaction SIGTERM: 0 SIG_DFL flags 0",
        "signal SIGINT was SIG_DFL",
        "signal SIGINT was SIG_IGN",
        "signal SIGINT was SIG_DFL",
    ])


def test_sigset_answers_as_without_the_shim():
    """System V's sigset: what it returns (SIG_HOLD for a blocked signal,
    else the disposition the program had) and what sigaction says after
    it are the same with and without the shim; SIGINT back at SIG_DFL and
    SIGTERM untouched still bring the report."""
    check_program_view("sigset", [
        "sigset SIGHUP hold was SIG_DFL",
        "sigset SIGHUP hold again was SIG_HOLD",
        "sigset SIGHUP default was SIG_HOLD",
        "sigset SIGINT handler was SIG_DFL",
        "sigaction SIGINT: a handler",
        "sigset SIGINT default was a handler",
    ])


def test_default_restored_reports_again():
    """A program that installs a SIGTERM handler and then sets SIG_DFL again
    wants the default: the report comes back, and signal() returned the
    program's own handler."""
    hung = Hung("restore")
    hung.ready()
    hung.signal(signal.SIGTERM)
    status, stdout, stderr, report = hung.finish()
    assert stdout.splitlines() == ["SIGTERM was SIG_DFL", "SIGTERM was a handler", "ready"], stdout
    assert status == -signal.SIGTERM and report["signal"] == "SIGTERM", (status, stderr)


def test_report_signals_off():
    """report_signals=0: SIGTERM kills as it would without leakwatch, silently;
    report_signals=INT: only SIGINT reports."""
    hung = Hung(options={"report_signals": "0"})
    hung.ready()
    hung.signal(signal.SIGTERM)
    status, stdout, stderr, report = hung.finish()
    assert status == -signal.SIGTERM, (status, stderr)
    assert "leakwatch" not in stderr and report is None, (stderr, report)
    hung = Hung(options={"report_signals": "INT"})
    hung.ready()
    hung.signal(signal.SIGTERM)
    status, stdout, stderr, report = hung.finish()
    assert status == -signal.SIGTERM and "leakwatch" not in stderr, (status, stderr)
    report, stderr = check_signal_report(signal.SIGINT, options={"report_signals": "2"})


def test_bad_report_signals_value():
    """A signal the option may not name (KILL, a fault, CHLD) is an error
    naming the key; the default stays."""
    hung = Hung(options={"report_signals": "INT,KILL"})
    hung.ready()
    hung.signal(signal.SIGTERM)
    status, stdout, stderr, report = hung.finish()
    assert "bad value 'INT,KILL' for report_signals" in stderr, stderr
    assert status == -signal.SIGTERM and report["signal"] == "SIGTERM", (status, stderr)


def test_dump_signal_wins():
    """dump_signal=QUIT: SIGQUIT dumps and the program goes on."""
    hung = Hung(options={"dump_signal": "QUIT"})
    try:
        hung.ready()
        hung.signal(signal.SIGQUIT)
        hung.wait_stderr(r"leakwatch: dump written to ")
        hung.alive("after SIGQUIT, the dump signal")
        assert b"SUMMARY (signal" not in hung.err, hung.err
    finally:
        hung.kill()
        remove_dumps(hung.pid)


# ---------------------------------------------------------------------------
# dumps: one line on stderr, numbered files, pruning
# ---------------------------------------------------------------------------

def remove_dumps(pid):
    for path in glob.glob(f"{DUMP_DIR}/{pid}.dump.*"):
        os.unlink(path)


def numbered_dumps(pid, directory=DUMP_DIR):
    found = {}
    for path in glob.glob(f"{directory}/{pid}.dump.*.*"):
        match = re.fullmatch(rf"{pid}\.dump\.(\d+)\.(txt|json)", os.path.basename(path))
        if match:
            found.setdefault(int(match.group(1)), set()).add(match.group(2))
    return found


def test_usr2_dump_line_and_pruning():
    """kill -USR2: one line on stderr saying where the dump went; eight dumps
    of one process keep the newest five, and each line says how many older
    ones it pruned. PID.dump.txt/json are the newest (what `leakwatch dump`
    reads)."""
    # As root, the process runs as a uid of its own: its dump directory is
    # its alone, and the counts exact (the machine's is shared with every
    # other test, whose dead processes' dumps any dump may prune).
    uid = 40000 + os.getpid() % 10000 if os.geteuid() == 0 else None
    directory = f"/tmp/leakwatch-{uid}" if uid else DUMP_DIR
    if uid:
        shutil.rmtree(directory, ignore_errors=True)

    def as_own_uid():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    hung = Hung(options={"json_path": ""}, preexec=as_own_uid if uid else None)
    try:
        hung.ready()
        remove_dumps(hung.pid)  # a process that had this pid before left some
        for n in range(1, 9):
            hung.signal(signal.SIGUSR2)
            match = hung.wait_stderr(r"^==(\d+)== leakwatch: dump written to (\S+)\.txt and \.json "
                                     r"\((\d+) old dumps? pruned\)$")
            assert int(match.group(1)) == hung.pid, match.group(0)
            assert match.group(2) == f"{directory}/{hung.pid}.dump.{n}", match.group(0)
            own = 1 if n > 5 else 0
            pruned = int(match.group(3))
            assert pruned == own if uid else pruned >= own, match.group(0)
        dumps = numbered_dumps(hung.pid, directory)
        assert sorted(dumps) == [4, 5, 6, 7, 8], dumps
        assert all(kinds == {"txt", "json"} for kinds in dumps.values()), dumps
        for ext in ("txt", "json"):
            newest = os.stat(f"{directory}/{hung.pid}.dump.8.{ext}")
            latest = os.stat(f"{directory}/{hung.pid}.dump.{ext}")
            assert (newest.st_ino, newest.st_dev) == (latest.st_ino, latest.st_dev), ext
        with open(f"{directory}/{hung.pid}.dump.json") as f:
            assert json.load(f)["trigger"] == "dump"
        # Exactly one line per dump, and nothing else from leakwatch.
        hung.alive("after the dumps")
        assert b"leakwatch" not in hung.err, hung.err
    finally:
        hung.kill()
        remove_dumps(hung.pid)
        if uid:
            shutil.rmtree(directory, ignore_errors=True)


def test_cli_dump_says_nothing_on_stderr():
    """`leakwatch dump PID` still finds the newest dump, and the program's
    stderr gets no line (the command shows the dump itself)."""
    built = lwtest.BUILD / "leakwatch"
    command = str(built) if built.is_file() else str(lwtest.SOURCE / "scripts" / "leakwatch")
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS")}
    env.setdefault("LEAKWATCH_LIB", str(lwtest.LIB))
    hung = Hung()
    try:
        hung.ready()
        hung.signal(signal.SIGUSR2)
        hung.wait_stderr(r"leakwatch: dump written to ")
        result = subprocess.run([command, "dump", "--json", str(hung.pid)], env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["trigger"] == "dump" and sorted(by_id(report)) == [0, 1], report
        assert sorted(numbered_dumps(hung.pid)) == [1, 2]
        hung.alive("after the dumps")
        assert b"leakwatch" not in hung.err, hung.err
    finally:
        hung.kill()
        remove_dumps(hung.pid)


def test_gone_processes_dumps_pruned():
    """Dumps of processes that no longer exist are kept up to a cap (20):
    older ones go at the next dump."""
    os.makedirs(DUMP_DIR, mode=0o700, exist_ok=True)
    # pids that cannot be alive (above pid_max), oldest first
    with open("/proc/sys/kernel/pid_max") as f:
        base = int(f.read()) + 1000
    fake = [base + i for i in range(25)]
    try:
        for i, pid in enumerate(fake):
            for ext in ("txt", "json"):
                path = f"{DUMP_DIR}/{pid}.dump.1.{ext}"
                with open(path, "w") as f:
                    f.write("{}")
                os.utime(path, ns=(1_000_000_000 * (1000 + i),) * 2)
                os.link(path, f"{DUMP_DIR}/{pid}.dump.{ext}")
        hung = Hung()
        try:
            hung.ready()
            hung.signal(signal.SIGUSR2)
            match = hung.wait_stderr(r"\((\d+) old dumps? pruned\)")
            left = [pid for pid in fake if os.path.exists(f"{DUMP_DIR}/{pid}.dump.1.txt")]
            links = [pid for pid in fake if os.path.exists(f"{DUMP_DIR}/{pid}.dump.txt")]
            # Other gone processes may have left dumps too (other tests):
            # the oldest of ours go first, and at most 20 gone remain.
            assert int(match.group(1)) >= 5, match.group(0)
            assert left == fake[len(fake) - len(left):] and len(left) <= 20, left
            assert links == left, (links, left)
        finally:
            hung.kill()
            remove_dumps(hung.pid)
    finally:
        for pid in fake:
            remove_dumps(pid)


# ---------------------------------------------------------------------------
# negatives
# ---------------------------------------------------------------------------

def test_normal_exit_no_signal_report():
    """A program that ends by itself gets no signal report, and the shim's
    handlers change nothing it prints or returns (20 runs)."""
    modes = ["mutex", "rwlock", "cond", "sem", "barrier", "c11"]
    for i in range(20):
        r = lwtest.run([program("clean_sync"), modes[i % len(modes)]])
        lwtest.assert_clean(r)
        assert r.report["trigger"] == "exit" and "signal" not in r.report, r.report
    # A program that leaks and exits: the exit report, no signal in it.
    r = lwtest.run([program("thread_unjoined"), "one"])
    assert r.report["trigger"] == "exit" and "signal" not in r.report, r.report
    assert "SUMMARY (exit)" in r.stderr and "SUMMARY (signal" not in r.stderr, r.stderr
    assert " arrived; the state of " not in r.stderr, r.stderr


def test_worker_ends_before_signal_no_leak():
    """The worker was stopped and joined before the signal: the report lists
    main alone and finds nothing (20 runs: no flaky thread_leak)."""
    for _ in range(20):
        report, stderr = check_signal_report(signal.SIGTERM, "joined")
        assert report["findings"] == [], report["findings"]
        assert [t["id"] for t in report["threads"]] == [0], report["threads"]
