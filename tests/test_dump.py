"""`leakwatch dump PID` against the real shim (README "The command line";
SPEC section 5; the process side of issue 5).

Each case starts a program from tests/programs under the shim, waits for
it to print "ready" (every thread it made is in its blocking call by then),
dumps it with the `leakwatch` command of the build tree, and checks the
dump field by field: in the text, the header, one block per thread with its
wait, owner and held locks, and the findings; in the JSON, the same facts.
Every process is killed at the end, and its dump files removed.
"""
import json
import os
import re
import select
import signal
import subprocess
import time

import lwtest
from lwtest import assert_in_stack, functions, named, program

UID = os.getuid()
DUMP_DIR = f"/tmp/leakwatch-{UID}"


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def command():
    """The command under test: the build tree's copy (CMake puts it next
    to libleakwatch.so), else the source tree's script."""
    built = lwtest.BUILD / "leakwatch"
    if built.is_file():
        return str(built)
    return str(lwtest.SOURCE / "scripts" / "leakwatch")


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS", "LEAKWATCH_LIB")}
    if command() != str(lwtest.BUILD / "leakwatch"):
        env["LEAKWATCH_LIB"] = str(lwtest.LIB)
    return env


class Live:
    """A test program running under the shim, with its stdout read line by
    line ("label 0x…" lines collected in .values)."""

    def __init__(self, name, options=None, args=(), stdin=subprocess.DEVNULL):
        env = clean_env()
        env["LD_PRELOAD"] = str(lwtest.LIB)
        env["LEAKWATCH_OPTIONS"] = ":".join(f"{k}={v}" for k, v in (options or {}).items())
        self.argv = [program(name), *args]
        self.proc = subprocess.Popen(self.argv, env=env, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.pending = b""
        self.lines = []
        self.values = {}
        self.stderr = None

    @property
    def pid(self):
        return self.proc.pid

    def readline(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.argv[0]}: no line in {timeout} s; so far {self.lines[-5:]}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError(f"{self.argv[0]} closed stdout (status {self.proc.poll()}); "
                                         f"stderr: {self.kill()[-3000:]}")
                self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        line = line.decode()
        self.lines.append(line)
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("0x"):
            self.values[parts[0]] = parts[1]
        return line

    def wait_for(self, wanted, timeout=30):
        while True:
            line = self.readline(timeout)
            if line == wanted:
                return

    def assert_alive(self, what):
        time.sleep(0.2)  # a fatal signal would have acted by now
        assert self.proc.poll() is None, f"{what}: the process died (status {self.proc.returncode})"

    def kill(self):
        """Kill it, reap it, remove its dump files; returns its stderr."""
        if self.stderr is not None:
            return self.stderr
        if self.proc.poll() is None:
            self.proc.kill()
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.stdin = None
        try:
            _, err = self.proc.communicate(timeout=20)
        except (ValueError, subprocess.TimeoutExpired):
            err = b""
        remove_dumps(self.proc.pid)
        self.stderr = (err or b"").decode(errors="replace")
        return self.stderr

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False


def remove_dumps(pid):
    for ext in ("txt", "json"):
        try:
            os.unlink(f"{DUMP_DIR}/{pid}.dump.{ext}")
        except OSError:
            pass


def dump(pid, *flags, timeout=20):
    """Run `leakwatch dump [flags] PID`; returns the CompletedProcess and
    the seconds it took."""
    started = time.monotonic()
    result = subprocess.run([command(), "dump", *flags, str(pid)], capture_output=True, text=True,
                            env=clean_env(), timeout=timeout + 30, stdin=subprocess.DEVNULL)
    return result, time.monotonic() - started


def dump_text(pid, timeout=20):
    result, _ = dump(pid, "--timeout", str(timeout), timeout=timeout)
    assert result.returncode == 0, f"dump: exit {result.returncode}: {result.stderr}"
    return result.stdout


def dump_json(pid, timeout=20):
    result, _ = dump(pid, "--json", "--timeout", str(timeout), timeout=timeout)
    assert result.returncode == 0, f"dump --json: exit {result.returncode}: {result.stderr}"
    report = json.loads(result.stdout)
    lwtest.check_schema(report)
    assert report["trigger"] == "dump", report["trigger"]
    assert report["pid"] == pid, report["pid"]
    return report


def header(text, live, nthreads):
    """Checks the first line; returns the uptime in seconds it gives."""
    first = text.split("\n", 1)[0]
    m = re.fullmatch(rf"=={live.pid}== leakwatch: dump of (\S+) \(pid {live.pid}\), "
                     rf"(\d+) threads, up (\d+\.\d) s", first)
    assert m, f"bad first line: {first!r}"
    assert m.group(1) == live.argv[0], (m.group(1), live.argv[0])
    assert int(m.group(2)) == nthreads, first
    return float(m.group(3))


def thread_blocks(text):
    """{thread id: its block of lines} of a text dump."""
    blocks = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"  T(\d+) ", line)
        if m:
            current = int(m.group(1))
            assert current not in blocks, f"T{current} shown twice"
            blocks[current] = [line]
        elif not line.strip() or line.startswith("=="):
            current = None
        elif current is not None:
            blocks[current].append(line)
    return blocks


def by_id(report):
    threads = {t["id"]: t for t in report["threads"]}
    assert len(threads) == len(report["threads"]), "a thread id shown twice"
    return threads


def task_tids(pid):
    return {int(tid) for tid in os.listdir(f"/proc/{pid}/task")}


def cycle_messages(a, b):
    """The deadlock message of dump_abba, both ways round (T1 holds A and
    wants B; T2 holds B and wants A)."""
    return {f"2 threads wait for each other: T1 -> mutex {b} held by T2 -> mutex {a} held by T1",
            f"2 threads wait for each other: T2 -> mutex {a} held by T1 -> mutex {b} held by T2"}


# ---------------------------------------------------------------------------
# an ABBA deadlock, live detection off: only a dump shows it
# ---------------------------------------------------------------------------

ABBA_OPTIONS = {"deadlock_ms": 0}


def test_abba_text():
    with Live("dump_abba", ABBA_OPTIONS) as live:
        live.wait_for("ready")
        a, b = live.values["A"], live.values["B"]
        text = dump_text(live.pid)
        up1 = header(text, live, 3)
        # What the command printed is the file the process wrote.
        with open(f"{DUMP_DIR}/{live.pid}.dump.txt") as f:
            assert f.read() == text
        blocks = thread_blocks(text)
        assert sorted(blocks) == [0, 1, 2], sorted(blocks)
        tids = task_tids(live.pid)
        for n, (start, want, other_start, held) in {1: ("forward", b, "backward", a),
                                                    2: ("backward", a, "forward", b)}.items():
            first, rest = blocks[n][0], "\n".join(blocks[n][1:])
            other = 3 - n
            m = re.fullmatch(
                rf"  T{n} \({start}\), tid (\d+): blocked in pthread_mutex_lock on {named(want)}, "
                rf"owned by T{other} \({other_start}\) \(itself blocked in pthread_mutex_lock on {held}\) "
                rf"for \d+(\.\d)? m?s, holding {named(held)}", first)
            assert m, f"T{n}: {first!r}"
            assert int(m.group(1)) in tids, (m.group(1), tids)
            assert "  blocking stack:\n" in rest + "\n", rest
            assert re.search(r"#\d+ +0x[0-9a-f]+ in take_second \S*dump_abba\.c:\d+", rest), rest
            assert re.search(rf"#\d+ +0x[0-9a-f]+ in {start} \S*dump_abba\.c:\d+", rest), rest
            assert re.search(rf"  holds {named(held)}, taken by pthread_mutex_lock", rest), rest
            assert re.search(r"#\d+ +0x[0-9a-f]+ in take_first ", rest), rest
            assert "  created by T0 (main thread) at:" in rest, rest
            assert re.search(r"#\d+ +0x[0-9a-f]+ in main \S*dump_abba\.c:\d+", rest), rest
        # The main thread sleeps in pause(), a call leakwatch does not wrap.
        # main sits in pause(): a system call leakwatch does not wrap, named.
        assert blocks[0][0].startswith(f"  T0 (main thread), tid {live.pid}: in pause"), blocks[0][0]
        assert "  current stack:" in blocks[0][1], blocks[0]
        assert any(re.search(r" in main \S*dump_abba\.c:\d+", line) for line in blocks[0]), blocks[0]
        # The finding: the cycle, found now.
        findings = re.findall(rf"^=={live.pid}== leakwatch: deadlock: (.*)$", text, re.M)
        assert len(findings) == 1 and findings[0] in cycle_messages(a, b), findings
        # The summary counts the deadlock (the lock-order inversion the
        # same two threads made, reported live, may be counted as well).
        assert re.search(rf"^=={live.pid}== leakwatch: SUMMARY \(dump\): \d+ findings?: 1 deadlock"
                         r"(, 1 lock_order_inversion)?$", text, re.M), text[-500:]
        others = re.findall(rf"^=={live.pid}== leakwatch: (\w+): ", text, re.M)
        assert set(others) <= {"deadlock", "lock_order_inversion", "SUMMARY"}, others
        assert text.index("leakwatch: deadlock:") > text.index("  T2 (backward)"), \
            "the findings come after the threads"
        live.assert_alive("after the first dump")
        # A second dump works, later.
        time.sleep(0.3)
        text2 = dump_text(live.pid)
        up2 = header(text2, live, 3)
        assert up2 > up1, (up1, up2)
        assert re.findall(rf"^=={live.pid}== leakwatch: deadlock: (.*)$", text2, re.M) == findings
        live.assert_alive("after the second dump")
    # deadlock_ms=0: live detection is off, nothing reported the deadlock by itself.
    assert "leakwatch: deadlock" not in live.stderr, live.stderr
    assert not os.path.exists(f"{DUMP_DIR}/{live.pid}.dump.txt")


def test_abba_json():
    with Live("dump_abba", ABBA_OPTIONS) as live:
        live.wait_for("ready")
        a, b = live.values["A"], live.values["B"]
        report = dump_json(live.pid)
        with open(f"{DUMP_DIR}/{live.pid}.dump.json") as f:
            assert json.load(f) == report
        assert report["exe"] == live.argv[0], report["exe"]
        threads = by_id(report)
        assert sorted(threads) == [0, 1, 2], sorted(threads)
        t0, t1, t2 = threads[0], threads[1], threads[2]
        assert t0["tid"] == live.pid and t0["state"] == "running" and "wait" not in t0, t0
        assert_in_stack(t0["stack"], "main", "dump_abba.c")
        assert {t1["tid"], t2["tid"]} <= task_tids(live.pid)
        for t, start, want, owner, held in ((t1, "forward", b, 2, a), (t2, "backward", a, 1, b)):
            assert t["start"] == start and t["parent"] == 0 and t["detached"] is False, t
            assert t["state"] == "blocked", t
            w = t["wait"]
            assert w["call"] == "pthread_mutex_lock" and w["object"] == want, w
            assert w["owner"] == owner, w
            assert w["timed"] is False, w
            assert w["waited_ms"] >= 150, w
            assert_in_stack(w["stack"], "take_second", "dump_abba.c")
            assert_in_stack(w["stack"], start, "dump_abba.c")
            assert [h["object"] for h in t["held"]] == [held], t["held"]
            assert t["held"][0]["call"] == "pthread_mutex_lock", t["held"]
            assert_in_stack(t["held"][0]["stack"], "take_first")
            assert_in_stack(t["create_stack"], "main", "dump_abba.c")
        deadlocks = [f for f in report["findings"] if f["kind"] == "deadlock"]
        assert len(deadlocks) == 1, report["findings"]
        finding = deadlocks[0]
        # Anything else is the ABBA's lock-order inversion, by the same two threads.
        for other in report["findings"]:
            if other is not finding:
                assert other["kind"] == "lock_order_inversion" and sorted(other["threads"]) == [1, 2], other
        assert sorted(finding["threads"]) == [1, 2], finding
        assert finding["message"] in cycle_messages(a, b), finding["message"]
        assert report["suppressed"] == 0
        live.assert_alive("after the dump")
        time.sleep(0.3)
        again = dump_json(live.pid)
        assert again["uptime_ms"] >= report["uptime_ms"] + 250, (report["uptime_ms"], again["uptime_ms"])
        assert again["time"] >= report["time"]
        for n in (1, 2):
            assert again["threads"][n]["wait"]["waited_ms"] >= threads[n]["wait"]["waited_ms"] + 250
        assert [f["message"] for f in again["findings"] if f["kind"] == "deadlock"] == [finding["message"]]
        live.assert_alive("after the second dump")
    assert "leakwatch: deadlock" not in live.stderr, live.stderr


# ---------------------------------------------------------------------------
# 50 threads blocked on every kind of primitive
# ---------------------------------------------------------------------------

MANY_GROUPS = [  # start routine, count, wait call (None: running)
    ("mutex_holder", 1, "sem_wait"),
    ("mutex_waiter", 6, "pthread_mutex_lock"),
    ("writer_holder", 1, "sem_wait"),
    ("reader_waiter", 5, "pthread_rwlock_rdlock"),
    ("reader_holder", 1, "sem_wait"),
    ("writer_waiter", 5, "pthread_rwlock_wrlock"),
    ("cond_waiter", 10, "pthread_cond_wait"),
    ("sem_waiter", 8, "sem_wait"),
    ("barrier_waiter", 6, "pthread_barrier_wait"),
    ("joiner", 5, "pthread_join"),
    ("pipe_reader", 1, None),
    ("sleeper", 1, None),
]


def ask(live, question, timeout=10):
    live.proc.stdin.write(question.encode() + b"\n")
    live.proc.stdin.flush()
    return live.readline(timeout)


def test_fifty_threads_json():
    with Live("dump_many", stdin=subprocess.PIPE) as live:
        live.wait_for("ready")
        v = live.values
        assert ask(live, "before") == "pong 1 before"
        time.sleep(0.2)  # the pipe reader is back in read()
        report = dump_json(live.pid)
        threads = by_id(report)
        assert len(threads) == 51, f"{len(threads)} threads: {sorted(threads)}"
        assert len(report["threads"]) == 51
        # Created in order: the groups are consecutive ids from T1.
        next_id, group = 1, {}
        for start, count, _ in MANY_GROUPS:
            group[start] = list(range(next_id, next_id + count))
            next_id += count
        for start, count, call in MANY_GROUPS:
            for i in group[start]:
                t = threads[i]
                assert t["start"] == start, (i, start, t["start"])
                assert t["parent"] == 0 and t["detached"] is False, t
                assert_in_stack(t["create_stack"], "main", "dump_many.c")
                if call is None:
                    assert t["state"] == "running" and "wait" not in t, t
                    assert start in functions(t["stack"]), (start, functions(t["stack"]))
                    continue
                assert t["state"] == "blocked", t
                w = t["wait"]
                assert w["call"] == call, (start, w)
                assert w["timed"] is False, w
                assert w["waited_ms"] >= 200, w
                assert_in_stack(w["stack"], start, "dump_many.c")
        # The objects, the owners, the held locks.
        holder, writer, reader = group["mutex_holder"][0], group["writer_holder"][0], group["reader_holder"][0]
        for i, lock in ((holder, "m_busy"), (writer, "rw_w"), (reader, "rw_r")):
            t = threads[i]
            assert t["wait"]["object"] == v["park"] and "owner" not in t["wait"], t["wait"]
            assert [h["object"] for h in t["held"]] == [v[lock]], (t["start"], t["held"])
        assert [h["call"] for h in threads[holder]["held"]] == ["pthread_mutex_lock"]
        assert [h["call"] for h in threads[writer]["held"]] == ["pthread_rwlock_wrlock"]
        assert [h["call"] for h in threads[reader]["held"]] == ["pthread_rwlock_rdlock"]
        for i in group["mutex_waiter"]:
            w = threads[i]["wait"]
            assert (w["object"], w.get("owner")) == (v["m_busy"], holder), w
        for i in group["reader_waiter"]:
            w = threads[i]["wait"]
            assert (w["object"], w.get("owner")) == (v["rw_w"], writer), w
        for i in group["writer_waiter"]:
            w = threads[i]["wait"]
            # Read-held: no single owner (SPEC 4: owner only for write-held rwlocks).
            assert w["object"] == v["rw_r"] and "owner" not in w, w
        for i in group["cond_waiter"]:
            w = threads[i]["wait"]
            assert (w["object"], w.get("mutex")) == (v["cv"], v["cv_m"]) and "owner" not in w, w
            assert "signalled_by" in w and w["signalled_by"] is None, w  # nobody ever signalled
        for i in group["sem_waiter"]:
            w = threads[i]["wait"]
            assert w["object"] == v["sem"] and "owner" not in w, w
        for i in group["barrier_waiter"]:
            w = threads[i]["wait"]
            assert w["object"] == v["bar"] and "owner" not in w, w
        for k, i in enumerate(group["joiner"]):
            w = threads[i]["wait"]
            assert w["object"] == v[f"cond_waiter{k}"], (k, w)
            assert w.get("owner") == group["cond_waiter"][k], (k, w)
        for t in threads.values():
            if t["start"] not in ("mutex_holder", "writer_holder", "reader_holder"):
                assert t["held"] == [], t
        # Main joins the pipe reader.
        t0 = threads[0]
        assert t0["tid"] == live.pid and t0["state"] == "blocked", t0
        assert t0["wait"]["call"] == "pthread_join", t0["wait"]
        assert t0["wait"]["object"] == v["pipe_reader"], t0["wait"]
        assert t0["wait"]["owner"] == group["pipe_reader"][0], t0["wait"]
        assert_in_stack(t0["wait"]["stack"], "main", "dump_many.c")
        assert_in_stack(threads[group["pipe_reader"][0]]["stack"], "read")
        # Kernel tids are the process's own.
        assert {t["tid"] for t in threads.values()} <= task_tids(live.pid)
        assert len({t["tid"] for t in threads.values()}) == 51
        # Nothing is wrong in a way a dump reports: no cycle, two threads run.
        assert report["findings"] == [], report["findings"]
        # Alive and responsive: the reader still answers, the sleeper still ticks.
        live.assert_alive("after the dump")
        assert ask(live, "after") == "pong 2 after"
        first = int(ask(live, "ticks").split()[1])
        time.sleep(0.3)
        second = int(ask(live, "ticks").split()[1])
        assert second > first, (first, second)
        live.proc.stdin.close()  # EOF: the reader ends, main's join returns, main exits
        live.proc.wait(timeout=30)
        assert live.proc.returncode == 66, live.proc.returncode  # the 49 leaked threads


def test_fifty_threads_text():
    with Live("dump_many", stdin=subprocess.PIPE) as live:
        live.wait_for("ready")
        v = live.values
        text = dump_text(live.pid)
        header(text, live, 51)
        blocks = thread_blocks(text)
        assert sorted(blocks) == list(range(51)), sorted(blocks)
        firsts = {n: lines[0] for n, lines in blocks.items()}
        # One of each kind of line, exactly.
        assert re.fullmatch(rf"  T2 \(mutex_waiter\), tid \d+: blocked in pthread_mutex_lock on {named(v['m_busy'])}, "
                            rf"owned by T1 \(mutex_holder\) \(itself blocked in sem_wait on {v['park']}\) "
                            r"for \d+(\.\d)? m?s, holding nothing", firsts[2]), firsts[2]
        assert re.fullmatch(rf"  T1 \(mutex_holder\), tid \d+: blocked in sem_wait on {named(v['park'])} "
                            rf"for \d+(\.\d)? m?s.*, holding {named(v['m_busy'])}", firsts[1]), firsts[1]
        assert re.fullmatch(rf"  T20 \(cond_waiter\), tid \d+: blocked in pthread_cond_wait on {named(v['cv'])} "
                            rf"\(mutex {named(v['cv_m'])}\) for \d+(\.\d)? m?s \(no thread has ever signalled or "
                            r"posted it\), holding nothing", firsts[20]), firsts[20]
        assert re.fullmatch(rf"  T44 \(joiner\), tid \d+: blocked in pthread_join on {v['cond_waiter0']}, "
                            rf"waiting for T20 \(cond_waiter\) \(itself blocked in pthread_cond_wait on "
                            rf"{v['cv']}\) for \d+(\.\d)? m?s, holding nothing", firsts[44]), firsts[44]
        assert re.fullmatch(rf"  T0 \(main thread\), tid {live.pid}: blocked in pthread_join on "
                            rf"{v['pipe_reader']}, waiting for T49 \(pipe_reader\) \(running\) "
                            r"for \d+(\.\d)? m?s, holding nothing", firsts[0]), firsts[0]
        # The pipe reader is in read() on stdin, named with its fd; the
        # sleeper naps in nanosleep or runs between naps.
        assert re.fullmatch(r"  T49 \(pipe_reader\), tid \d+: in read on fd 0 \(pipe:\[\d+\]\), "
                            r"holding nothing", firsts[49]), firsts[49]
        assert "in clock_nanosleep, timeout 5 ms" in firsts[50] or ": running" in firsts[50], firsts[50]
        for n in (49, 50):
            assert blocks[n][1] == "  current stack:", blocks[n][:2]
        assert any(" in sleeper " in line for line in blocks[50]), blocks[50]
        assert f"=={live.pid}== leakwatch: SUMMARY (dump): 0 findings\n" in text, text[-300:]
        live.assert_alive("after the dump")
        assert ask(live, "after") == "pong 1 after"


# ---------------------------------------------------------------------------
# 1,000 threads on one condition variable
# ---------------------------------------------------------------------------

def test_thousand_cond_waiters():
    with Live("dump_cond1000", args=["1000"]) as live:
        live.wait_for("ready", timeout=60)
        cv = live.values["cv"]
        result, seconds = dump(live.pid, "--json", "--timeout", "20")
        assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
        assert seconds < 5, f"the dump of 1,001 threads took {seconds:.1f} s"
        report = json.loads(result.stdout)
        lwtest.check_schema(report)
        assert report["trigger"] == "dump"
        threads = by_id(report)
        assert len(threads) == 1001, len(threads)
        assert sorted(threads) == list(range(1001))
        waiters = [t for t in threads.values() if t["id"] != 0]
        assert all(t["start"] == "cond_sleeper" and t["detached"] is True for t in waiters)
        assert all(t["state"] == "blocked" and t["wait"]["call"] == "pthread_cond_wait"
                   and t["wait"]["object"] == cv for t in waiters), \
            [t for t in waiters if t.get("wait", {}).get("object") != cv][:2]
        assert len({t["tid"] for t in threads.values()}) == 1001
        live.assert_alive("after the JSON dump")
        # The text dump as well.
        result, seconds = dump(live.pid, "--timeout", "20")
        assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
        assert seconds < 5, f"the text dump of 1,001 threads took {seconds:.1f} s"
        header(result.stdout, live, 1001)
        assert len(thread_blocks(result.stdout)) == 1001
        live.assert_alive("after the text dump")


# ---------------------------------------------------------------------------
# a program with its own handler for the dump signal
# ---------------------------------------------------------------------------

def handler_runs(live, how):
    """Send SIGUSR2 with kill(1) and see the program's own handler answer."""
    before = sum(1 for line in live.lines if line == "handler ran")
    subprocess.run(["kill", "-USR2", str(live.pid)], check=True, timeout=10)
    line = live.readline(10)
    assert line == "handler ran", f"{how}: {line!r}"
    live.assert_alive(how)
    return before + 1


def test_own_handler_wins():
    """The program's SIGUSR2 handler, installed after leakwatch's, replaces
    it: `kill -USR2` runs the program's handler, as it would alone, and
    writes no dump. `leakwatch dump` does not send SIGUSR2 (it asks the
    helper thread alone, with the shim's own signal): the dump works, and
    the program's handler does not run for it (it once did, and the dump
    got no answer)."""
    with Live("dump_own_handler") as live:
        live.wait_for("ready")
        handler_runs(live, "kill -USR2")
        assert not os.path.exists(f"{DUMP_DIR}/{live.pid}.dump.txt"), "leakwatch's handler ran too"
        report = dump_json(live.pid)
        assert sorted(by_id(report)) == [0, 1], report
        try:
            line = live.readline(0.5)
        except AssertionError:
            line = None
        assert line is None, f"the dump ran the program's handler: {line!r}"
        handler_runs(live, "kill -USR2 after the dump")


def test_own_handler_other_dump_signal():
    """With dump_signal=SIGUSR1 the dump works, and the program keeps its
    SIGUSR2 handler."""
    with Live("dump_own_handler", {"dump_signal": "SIGUSR1"}) as live:
        live.wait_for("ready")
        handler_runs(live, "kill -USR2")
        report = dump_json(live.pid)
        threads = by_id(report)
        assert sorted(threads) == [0, 1], sorted(threads)
        assert threads[1]["start"] == "handler_worker", threads[1]
        assert threads[1]["wait"]["call"] == "pthread_cond_wait", threads[1]
        text = dump_text(live.pid)
        header(text, live, 2)
        live.assert_alive("after the dumps")
        handler_runs(live, "kill -USR2 after the dumps")
        # No stray lines: the dumps did not run the program's handler.
        assert live.lines.count("handler ran") == 2, live.lines


# ---------------------------------------------------------------------------
# kill -USR2
# ---------------------------------------------------------------------------

def wait_for_file(path, after=None, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            st = os.stat(path)
            if after is None or (st.st_ino, st.st_mtime_ns) != after:
                return st
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"{path} not written within {timeout} s")


def test_kill_usr2_writes_dump():
    with Live("dump_abba", ABBA_OPTIONS) as live:
        live.wait_for("ready")
        a, b = live.values["A"], live.values["B"]
        txt, js = f"{DUMP_DIR}/{live.pid}.dump.txt", f"{DUMP_DIR}/{live.pid}.dump.json"
        remove_dumps(live.pid)  # a dead process of the same pid may have left some
        subprocess.run(["kill", "-USR2", str(live.pid)], check=True, timeout=10)
        wait_for_file(txt)
        st = wait_for_file(js)
        live.assert_alive("kill -USR2")
        # The directory is private to the user.
        d = os.stat(DUMP_DIR)
        assert d.st_uid == UID and d.st_mode & 0o077 == 0, oct(d.st_mode)
        assert os.stat(txt).st_mode & 0o077 == 0 and st.st_mode & 0o077 == 0
        with open(js) as f:
            report = json.load(f)
        lwtest.check_schema(report)
        assert report["trigger"] == "dump" and report["pid"] == live.pid, report
        assert sorted(by_id(report)) == [0, 1, 2]
        deadlocks = [f["message"] for f in report["findings"] if f["kind"] == "deadlock"]
        assert len(deadlocks) == 1 and deadlocks[0] in cycle_messages(a, b), report["findings"]
        with open(txt) as f:
            text = f.read()
        up1 = header(text, live, 3)
        assert f"=={live.pid}== leakwatch: deadlock: " in text
        # Again: new files.
        time.sleep(0.3)
        before = (os.stat(txt).st_ino, os.stat(txt).st_mtime_ns)
        os.kill(live.pid, signal.SIGUSR2)
        wait_for_file(txt, after=before)
        with open(txt) as f:
            assert header(f.read(), live, 3) > up1
        live.assert_alive("a second kill -USR2")
        # A dump goes to the files only, not to stderr (which may have the
        # live lock-order report of the ABBA).
        live.kill()
    assert "dump of" not in live.stderr and "leakwatch: deadlock" not in live.stderr, live.stderr


# ---------------------------------------------------------------------------
# threads blocked in system calls: never signalled, stacks from memory
# ---------------------------------------------------------------------------

def caller_after_libc(frames, function):
    """The frame of `function` in `frames`, checked to be the first frame
    of the program after the C library's (the system call's wrappers)."""
    names = functions(frames)
    assert function in names, f"{function} not in stack {names}"
    index = names.index(function)
    assert index > 0, names
    for frame in frames[:index]:
        assert "libc.so" in str(frame["module"]), f"not a libc frame before {function}: {frame}"
    frame = frames[index]
    assert frame["module"].endswith("stk_sleepers"), frame
    assert frame.get("file", "").endswith("stk_sleepers.c") and frame.get("line", 0) > 0, frame
    return frame


def test_dumps_never_interrupt_system_calls():
    # T1 sleeps 20 ms at a time in nanosleep and counts EINTRs; T2 blocks in
    # read on stdin. Five dumps (`leakwatch dump`, then SIGUSR2) must not
    # cut a single sleep short (a signal did, once per dump), and each shows
    # both threads' stacks down to the program's own function that made the
    # call.
    with Live("stk_sleepers", {"deadlock_ms": 0}, args=("loop",), stdin=subprocess.PIPE) as live:
        live.wait_for("ready")
        for attempt in range(5):
            if attempt < 4:
                report = dump_json(live.pid)
            else:
                js = f"{DUMP_DIR}/{live.pid}.dump.json"
                remove_dumps(live.pid)
                os.kill(live.pid, signal.SIGUSR2)
                wait_for_file(js)
                time.sleep(0.2)  # written whole by now (rename)
                with open(js) as f:
                    report = json.load(f)
                lwtest.check_schema(report)
            threads = {t["name"]: t for t in report["threads"] if t["name"]}
            napper, reader = threads["napper"], threads["reader"]
            for t in (napper, reader):
                assert t["state"] == "running" and "wait" not in t, t
            caller_after_libc(napper["stack"], "nap_loop")
            assert any("nanosleep" in str(name) for name in functions(napper["stack"])), napper["stack"]
            caller_after_libc(reader["stack"], "read_command")
            assert any("read" in str(name) for name in functions(reader["stack"])), reader["stack"]
            live.assert_alive(f"dump {attempt}")
        live.proc.stdin.close()
        live.proc.stdin = None
        line = live.readline(timeout=20)
        assert line == "eintr 0", f"the dumps cut sleeps short: {line!r}"
        assert live.proc.wait(timeout=20) == 0


def test_a_long_wait_reported_live_is_in_a_dump_once():
    """T2 has waited past hang_ms and was reported live; a dump after that
    lists its long wait once (the dump's own look at the waits skips those
    the findings kept since then already hold)."""
    with Live("dl_long_wait", {"hang_ms": 200, "deadlock_ms": 0}) as live:
        live.readline(10)  # "M 0x…": T1 holds M, T2 is on its way to wait for it
        time.sleep(0.9)  # T2 waits 1.5 s in all: reported live by now, still waiting
        report = dump_json(live.pid)
        waits = [f for f in report["findings"] if f["kind"] == "long_wait"]
        assert len(waits) == 1, report["findings"]
        assert waits[0]["threads"][0] == 2, waits


def test_a_dump_never_cuts_the_programs_sleep_short():
    # `leakwatch dump` sent dump_signal to the process; the kernel gave it
    # to the main thread, asleep in sleep(), which returned early (the
    # program saw "1 second left"). The request now goes to the helper
    # thread alone. A process with one thread has no helper: it is read
    # from outside (ptrace, which restarts the sleep where it was), and the
    # report says why. Four dumps, during the sleep (6 s) and the poll.
    for mode, threads, trigger in (("threaded", 2, "dump"), ("single", 1, "attach")):
        with Live("dump_sleeping_main", {"deadlock_ms": 0}, args=(mode,)) as live:
            live.wait_for("ready")
            time.sleep(0.3)  # in sleep() by now
            started = time.monotonic()
            for attempt in range(4):
                if time.monotonic() - started > 5:
                    break  # a slow machine: the program is about to end
                result, _ = dump(live.pid, "--json", "--timeout", "20", timeout=20)
                assert result.returncode == 0, (mode, result.returncode, result.stderr)
                report = json.loads(result.stdout)
                if trigger == "dump":
                    lwtest.check_schema(report)
                assert report["trigger"] == trigger and report["pid"] == live.pid, (mode, report)
                assert len(report["threads"]) == threads, (mode, report["threads"])
                main = by_id(report)[0]
                stack = main.get("stack") or main.get("wait", {}).get("stack", [])
                assert any("sleep" in str(name) or "poll" in str(name) for name in functions(stack)), \
                    (mode, main)
                if mode == "single":
                    assert "leakwatch is loaded but idle" in report["note"], report["note"]
                time.sleep(0.2)
            assert live.readline(10) == "sleep left 0", mode
            assert live.readline(10) == "poll 0", mode
            assert live.proc.wait(timeout=20) == 0


def test_a_dump_leaves_the_programs_sigwait_alone():
    # The program takes SIGUSR2 (dump_signal) with sigwait(), blocked in
    # every thread. `leakwatch dump` sent SIGUSR2 to the process: the
    # program's sigwait took it ("got SIGUSR2", a signal nobody sent it)
    # and the dump never came. The request now goes to the helper thread,
    # which blocks SIGUSR2 like every signal but its own: the program gets
    # exactly the SIGUSR2 sent to it.
    with Live("dump_sigwait_usr2", {"deadlock_ms": 0}, stdin=subprocess.PIPE) as live:
        live.wait_for("ready")
        for attempt in range(3):
            report = dump_json(live.pid, timeout=10)
            assert len(report["threads"]) == 3, report["threads"]
            try:
                line = live.readline(0.3)
            except AssertionError:
                line = None
            assert line is None, f"dump {attempt} reached the program: {line!r}"
        os.kill(live.pid, signal.SIGUSR2)
        assert live.readline(10) == "got SIGUSR2"
        live.assert_alive("after the dumps and a SIGUSR2")
        live.proc.stdin.close()
        live.proc.stdin = None
        assert live.proc.wait(timeout=20) == 66  # its two threads never end: thread_leak
