"""Real multi-threaded programs nobody on the project wrote (SPEC section 7:
leakwatch must never change what a program computes, prints or returns,
nor crash or hang it).

Each case runs a program with and without the shim (exitcode=0, so the
status is the program's own; the text report goes to log_path, so stderr
can be compared byte for byte) on input generated here (a few MB of
deterministic pseudo-random, compressible text), and checks:

  - identical output bytes (compressed files, decompressed round trip,
    sorted output, stdout), identical stderr and exit status, no signal;
  - the report: exactly the findings expected from reading what the program
    does (written down at each case), so a new false positive fails;
  - that the program really used threads on this input (counted with
    strace when it is there and ptrace is allowed; otherwise skipped with
    a note).

Each case prints one table row:
    ROW | program | output identical | time shim/plain | findings
The time ratio is the best of a few interleaved runs for short programs.
"""
import json
import os
import pathlib
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time

from lwtest import LIB, check_schema, program

DATA_SIZE = 4 * 1024 * 1024
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")


# --- inputs ---------------------------------------------------------------------

def make_text(path, size=DATA_SIZE, seed=20261127):
    """Deterministic text from a small vocabulary: compresses about 3:1."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 11))) for _ in range(4000)]
    chunks, total = [], 0
    while total < size:
        line = " ".join(rng.choices(words, k=rng.randint(3, 14))) + f" {rng.randrange(10**6)}\n"
        chunks.append(line)
        total += len(line)
    data = "".join(chunks).encode()[:size]
    data = data[: data.rfind(b"\n") + 1]
    pathlib.Path(path).write_bytes(data)
    return data


def make_short_lines(path, lines=600_000, seed=7):
    """Many short lines: GNU sort only starts a second thread for a buffer of
    at least 128 Ki lines (SUBTHREAD_LINES_HEURISTIC)."""
    rng = random.Random(seed)
    data = "".join(f"{rng.getrandbits(24):06x}{rng.choice('abcdef')}\n" for _ in range(lines)).encode()
    pathlib.Path(path).write_bytes(data)
    return data


# --- running ----------------------------------------------------------------------

class Outcome:
    def __init__(self, argv, returncode, stdout, stderr, elapsed, reports, texts, pid):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.reports = reports      # {pid: JSON report}
        self.texts = texts          # text reports (log_path), concatenated
        self.pid = pid

    @property
    def report(self):
        return self.reports.get(self.pid)

    def __repr__(self):
        return (f"Outcome({self.argv!r}, returncode={self.returncode}, elapsed={self.elapsed:.3f}, "
                f"stderr={self.stderr[-2000:]!r}, report text={self.texts[-4000:]!r})")


def clean_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("LEAKWATCH_OPTIONS", None)
    env["LC_ALL"] = "C"
    return env


def shim_env(report_dir, json_report=True):
    env = clean_env()
    env["LD_PRELOAD"] = str(LIB)
    options = {"exitcode": "0", "log_path": os.path.join(report_dir, "report-%p.txt")}
    if json_report:
        options["json_path"] = os.path.join(report_dir, "report-%p.json")
    env["LEAKWATCH_OPTIONS"] = ":".join(f"{k}={v}" for k, v in options.items())
    return env


def collect_reports(report_dir):
    reports, texts = {}, ""
    for path in sorted(pathlib.Path(report_dir).glob("report-*.json")):
        with open(path) as f:
            data = json.load(f)  # whole or absent
        check_schema(data)
        reports[data["pid"]] = data
    for path in sorted(pathlib.Path(report_dir).glob("report-*.txt")):
        texts += path.read_text(errors="replace")
    return reports, texts


def run_once(argv, *, shim, workdir, stdin_path=None, stdout_path=None, timeout=60, json_report=True):
    """Run argv (plain or under the shim, with or without json_path);
    stdout to stdout_path or captured."""
    report_dir = tempfile.mkdtemp(prefix="lw-", dir=workdir)
    env = shim_env(report_dir, json_report) if shim else clean_env()
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    stdout = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
    try:
        started = time.monotonic()
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdin=stdin, stdout=stdout,
                                stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"{'shim' if shim else 'plain'} run of {argv} hung for {timeout} s; "
                                 f"stderr {err[-2000:]!r}")
        elapsed = time.monotonic() - started
    finally:
        if stdin_path:
            stdin.close()
        if stdout_path:
            stdout.close()
    if stdout_path:
        out = pathlib.Path(stdout_path).read_bytes()
    reports, texts = collect_reports(report_dir)
    shutil.rmtree(report_dir, ignore_errors=True)
    outcome = Outcome(argv, proc.returncode, out, err, elapsed, reports, texts, proc.pid)
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {outcome}"
    if shim and json_report:
        assert outcome.report is not None, f"no JSON report from the shim: {outcome}"
        assert outcome.report["trigger"] == "exit", outcome.report["trigger"]
    if not json_report:
        assert outcome.reports == {}, outcome
    return outcome


def same(plain, shimmed, what):
    assert shimmed.returncode == plain.returncode, (what, plain, shimmed)
    assert shimmed.stdout == plain.stdout, f"{what}: output differs under the shim ({len(plain.stdout)} vs {len(shimmed.stdout)} bytes)"
    assert shimmed.stderr == plain.stderr, (what, plain.stderr[-2000:], shimmed.stderr[-2000:])


class Comparison:
    """Interleaved runs of one command: plain, under the shim with json_path
    (the checked report), and under the shim with only log_path (no JSON to
    write at exit: the shim's own overhead)."""

    def __init__(self, plains, shims, lights):
        self.plain = plains[0]
        self.shims = shims
        self.lights = lights
        def best(runs):
            return max(min(o.elapsed for o in runs), 1e-6)
        self.plain_s, self.light_s, self.json_s = best(plains), best(lights), best(shims)
        self.ratio = self.light_s / self.plain_s
        self.ratio_json = self.json_s / self.plain_s

    def check_reports(self, check):
        """`check` every JSON report; the text reports of the runs without
        JSON agree on whether there were findings."""
        for o in self.shims:
            check(o)
        has_findings = bool(self.shims[0].report["findings"])
        for o in self.shims + self.lights:
            assert bool(o.texts) == has_findings, (has_findings, o.texts)
            if has_findings:
                assert "leakwatch: SUMMARY (exit)" in o.texts, o.texts

    def timing(self):
        return (f"{self.ratio:.2f} ({self.plain_s:.3f} s -> {self.light_s:.3f} s; "
                f"with json_path {self.ratio_json:.2f})")


def compare_runs(argv, *, workdir, repeats, stdin_path=None, to_file=False, timeout=60):
    """Interleaved plain/shim runs; every output identical."""
    plains, shims, lights = [], [], []
    variants = ((False, True, plains, "plain"), (True, True, shims, "shim"), (True, False, lights, "light"))
    for i in range(repeats):
        for shim, json_report, runs, label in variants:
            out_path = os.path.join(workdir, f"out-{label}-{i}") if to_file else None
            runs.append(run_once(argv, shim=shim, workdir=workdir, stdin_path=stdin_path,
                                 stdout_path=out_path, timeout=timeout, json_report=json_report))
            if out_path:
                os.unlink(out_path)
    for o in plains[1:] + shims + lights:
        same(plains[0], o, " ".join(argv))
    return Comparison(plains, shims, lights)


def threads_created(argv, *, workdir, stdin_path=None):
    """How many threads argv creates (plain run, under strace), or None."""
    strace = shutil.which("strace")
    if not strace:
        print(f"note: strace not installed, thread use of {argv[0]} not checked")
        return None
    trace = os.path.join(workdir, "strace.out")
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        proc = subprocess.run([strace, "-f", "-qq", "-e", "trace=clone,clone3", "-o", trace] + argv,
                              cwd=workdir, env=clean_env(), stdin=stdin, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=60)
    finally:
        if stdin_path:
            stdin.close()
    if proc.returncode != 0 or not os.path.exists(trace):
        print(f"note: strace could not trace {argv[0]} (ptrace not allowed?): {proc.stderr[-300:]!r}")
        return None
    with open(trace) as f:
        count = sum(1 for line in f if "CLONE_THREAD" in line)
    os.unlink(trace)
    return count


def check_threaded(argv, minimum, **kw):
    count = threads_created(argv, **kw)
    if count is not None:
        assert count >= minimum, f"{argv} created {count} threads on this input, expected >= {minimum}"
    return count


# --- findings -----------------------------------------------------------------------

def leaked(report):
    """[(kind, thread)] for every thread a finding names."""
    by_id = {t["id"]: t for t in report["threads"]}
    return [(f["kind"], by_id[i]) for f in report["findings"] for i in f["threads"]]


def summary(report):
    if not report["findings"]:
        return "none"
    parts = []
    for f in report["findings"]:
        by_id = {t["id"]: t for t in report["threads"]}
        first = by_id[f["threads"][0]]
        what = first.get("start") or first.get("name") or "?"
        if first.get("name"):
            what = f"{first['name']}" if not first.get("start") else f"{first['start']} '{first['name']}'"
        where = first["wait"]["call"] if "wait" in first else first["state"]
        parts.append(f"{f['kind']} x{f.get('count', len(f['threads']))} {what} in {where}")
    return "; ".join(parts)


def row(program_name, timing, report, extra=""):
    line = f"ROW | {program_name} | identical | {timing} | {summary(report)}"
    if extra:
        line += f" | {extra}"
    print(line)


def workdir():
    return tempfile.mkdtemp(prefix="lw-real-")


def need(tool):
    path = shutil.which(tool)
    assert path, f"{tool} is not installed (scripts/test.sh installs it)"
    return path


# --- compressors -------------------------------------------------------------------------

def compressor_case(name, compress, decompress, *, min_threads, check_compress, check_decompress,
                    repeats=3, suffix):
    """Compress DATA with `compress` (writes to stdout) plain and under the
    shim, compare the bytes; decompress the result both ways, compare with
    the original."""
    need(compress[0])
    wd = workdir()
    try:
        original = make_text(os.path.join(wd, "data.txt"))
        data = os.path.join(wd, "data.txt")
        check_threaded(compress, min_threads["compress"], workdir=wd, stdin_path=data)
        packing = compare_runs(compress, workdir=wd, repeats=repeats, stdin_path=data, to_file=True)
        compressed = packing.plain.stdout
        assert 0 < len(compressed) < len(original), len(compressed)
        packing.check_reports(check_compress)
        row(f"{name} (compress)", packing.timing(), packing.shims[0].report)

        packed = os.path.join(wd, "data" + suffix)
        pathlib.Path(packed).write_bytes(compressed)
        check_threaded(decompress, min_threads["decompress"], workdir=wd, stdin_path=packed)
        unpacking = compare_runs(decompress, workdir=wd, repeats=repeats, stdin_path=packed, to_file=True)
        assert unpacking.plain.stdout == original, "round trip differs"
        unpacking.check_reports(check_decompress)
        row(f"{name} (decompress)", unpacking.timing(), unpacking.shims[0].report)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def expect_clean(o):
    assert o.report["findings"] == [], (o.report["findings"], o.texts)
    assert o.texts == "", o.texts


def test_pigz():
    # pigz (yarn threads): compression runs up to -p compress threads plus a
    # writer, decompression a reader/writer/check helper; finish_jobs() and
    # join_all() join every one before exit. Expected findings: none.
    compressor_case("pigz -p 2", ["pigz", "-p", "2", "-c"], ["pigz", "-p", "2", "-d", "-c"],
                    min_threads={"compress": 2, "decompress": 1}, suffix=".gz",
                    check_compress=expect_clean, check_decompress=expect_clean)


def liblzma_workers_leaked(o, expected):
    """xz never calls lzma_end(): src/xz/main.c frees the coder only
    `#ifndef NDEBUG`, so in a release build the liblzma worker threads
    (worker_start / worker_decoder in liblzma.so, stripped: shown as
    liblzma.so.5+0x...) are still parked in pthread_cond_wait, waiting for
    the next block, when main returns. That is a true thread_leak, each
    thread blocked in pthread_cond_wait, holding nothing; nothing else."""
    report = o.report
    threads = leaked(report)
    assert len(threads) == expected, (expected, report["findings"], o.texts)
    for kind, t in threads:
        assert kind == "thread_leak", report["findings"]
        assert t["state"] == "blocked" and t["wait"]["call"] == "pthread_cond_wait", t
        in_liblzma = "liblzma" in (t.get("start") or "") or any(
            "liblzma" in str(frame.get("module", "")) for frame in t["create_stack"][:2])
        assert in_liblzma, t
        assert t["parent"] == 0 and t["held"] == [], t
    assert "thread_leak" in o.texts


def test_xz():
    # xz -T2 with 1 MiB blocks: two encoder threads (and, since xz 5.4,
    # two decoder threads for the multi-block file). Expected: 2 thread_leak
    # threads when compressing and 2 when decompressing (see above).
    compressor_case("xz -T2", ["xz", "-T2", "--block-size=1MiB", "-c"], ["xz", "-T2", "-d", "-c"],
                    min_threads={"compress": 2, "decompress": 2}, suffix=".xz", repeats=1,
                    check_compress=lambda o: liblzma_workers_leaked(o, 2),
                    check_decompress=lambda o: liblzma_workers_leaked(o, 2))


def test_zstd():
    # zstd -T2: libzstd's POOL workers (compression) and the CLI's async I/O
    # pool (decompression); ZSTD_freeCCtx/POOL_free join them before exit.
    # Expected findings: none.
    compressor_case("zstd -T2", ["zstd", "-q", "-T2", "-c"], ["zstd", "-q", "-T2", "-d", "-c"],
                    min_threads={"compress": 2, "decompress": 1}, suffix=".zst",
                    check_compress=expect_clean, check_decompress=expect_clean)


def test_pbzip2():
    # pbzip2 -p2: a producer, 2 consumer threads and a file writer; main
    # joins them all per file (C++, pthreads). Expected findings: none.
    compressor_case("pbzip2 -p2", ["pbzip2", "-p2", "-c"], ["pbzip2", "-p2", "-d", "-c"],
                    min_threads={"compress": 3, "decompress": 3}, suffix=".bz2",
                    check_compress=expect_clean, check_decompress=expect_clean)


def test_sort_parallel():
    # GNU sort --parallel=2 with a 12 MiB buffer over ~600 Ki short lines:
    # several buffers, each sorted by two threads (sortlines spawns one
    # subthread per >= 128 Ki-line half and joins it), temporary files in
    # -T, then a merge. Every thread is joined. Expected findings: none.
    need("sort")
    wd = workdir()
    try:
        data = make_short_lines(os.path.join(wd, "lines.txt"))
        tmp = os.path.join(wd, "sorttmp")
        os.mkdir(tmp)
        argv = ["sort", "--parallel=2", "-S", "12M", "-T", tmp, "lines.txt"]
        check_threaded(argv, 2, workdir=wd)
        c = compare_runs(argv, workdir=wd, repeats=3, to_file=True)
        assert c.plain.stdout == b"".join(sorted(data.splitlines(keepends=True))), "sort output is not sorted"
        c.check_reports(expect_clean)
        assert os.listdir(tmp) == []
        row("sort --parallel=2 -S 12M", c.timing(), c.shims[0].report)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


# --- Python ----------------------------------------------------------------------------------

PY_PROGRAM = r'''
import concurrent.futures
import hashlib
import threading

def digest(i):
    h = hashlib.sha256()
    for j in range(300):
        h.update(b"%d:%d;" % (i, j))
    return h.hexdigest()[:12]

state = {"total": 0, "rounds": 0}
lock = threading.Lock()
changed = threading.Condition(lock)
ready = threading.Event()

def side_worker(n):
    ready.wait()
    for k in range(n):
        with changed:
            state["total"] += k
            state["rounds"] += 1
            changed.notify_all()

side = threading.Thread(target=side_worker, args=(5000,), name="side")
side.start()
with concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="pool") as pool:
    ready.set()
    digests = list(pool.map(digest, range(600)))
    squares = sum(pool.map(lambda x: x * x, range(1000)))
with changed:
    while state["rounds"] < 5000:
        changed.wait(timeout=5)
side.join()
print(len(digests), digests[0], digests[-1], squares, state["total"], state["rounds"])
print(hashlib.sha256("".join(digests).encode()).hexdigest())
'''


def test_python_threads():
    # CPython 3 threads are pthreads, created detached (thread_pthread.h
    # calls pthread_detach right after pthread_create; join() waits on the
    # thread-state lock instead). ThreadPoolExecutor's with-block calls
    # shutdown(wait=True), which joins every worker; side.join() waits for
    # the other thread; the GIL waits are timed (5 ms) condition waits.
    # When the interpreter exits every thread has ended or is in its last
    # instructions after releasing its lock (finished within exit_grace_ms);
    # detached threads that ended are not unjoined_thread. Expected
    # findings: none.
    assert PYTHON, "python3 not found"
    wd = workdir()
    try:
        script = os.path.join(wd, "threads.py")
        pathlib.Path(script).write_text(PY_PROGRAM)
        argv = [PYTHON, "-I", script]
        check_threaded(argv, 2, workdir=wd)
        c = compare_runs(argv, workdir=wd, repeats=3)
        assert c.plain.stdout.startswith(b"600 "), c.plain.stdout
        assert c.plain.stdout.split()[4:6] == [b"12497500", b"5000"], c.plain.stdout
        c.check_reports(expect_clean)
        row("python3 threading + ThreadPoolExecutor", c.timing(), c.shims[0].report)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


# --- our own C++ pool -------------------------------------------------------------------------

def test_pool_cxx():
    # tests/programs/pool_cxx.cpp: std::thread workers, std::mutex and two
    # std::condition_variable, packaged_task futures, a shared_mutex table,
    # a promise fulfilled by a joined std::thread, clean shutdown (stop flag,
    # notify_all, join). Expected findings: none.
    wd = workdir()
    try:
        argv = [program("pool_cxx"), "4", "2000"]
        check_threaded(argv, 5, workdir=wd)
        c = compare_runs(argv, workdir=wd, repeats=3)
        assert c.plain.returncode == 0 and b"promise 42\n" in c.plain.stdout, c.plain.stdout
        assert b"executed 2572\n" in c.plain.stdout, c.plain.stdout
        c.check_reports(expect_clean)
        row("pool_cxx (std::thread pool)", c.timing(), c.shims[0].report)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


# --- redis ------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REDIS_SCRIPT = "".join(
    [f"SET k{i} v{i * 7}\n" for i in range(200)]
    + [f"INCRBY counter {i}\n" for i in range(100)]
    + [f"RPUSH list {i}\n" for i in range(50)]
    + [f"SADD set m{i % 17}\n" for i in range(60)]
    + [f"HSET h f{i} {i * i}\n" for i in range(30)]
    + ["GET k5\n", "GET k199\n", "GET counter\n", "LRANGE list 0 9\n", "SCARD set\n", "HGET h f29\n",
       "HLEN h\n", "DBSIZE\n", "GET key:__rand_int__\n", "DEL k0 k1 nosuch\n", "DBSIZE\n"])


def redis_session(wd, shim, port):
    """Start redis-server, wait for it, drive it, shut it down. Returns
    (server outcome, client outputs, benchmark seconds, session seconds)."""
    data_dir = os.path.join(wd, f"redis-{'shim' if shim else 'plain'}")
    os.mkdir(data_dir)
    report_dir = tempfile.mkdtemp(prefix="lw-", dir=wd)
    env = shim_env(report_dir) if shim else clean_env()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", data_dir, "--io-threads", "3", "--daemonize", "no",
            "--logfile", os.path.join(data_dir, "redis.log")]
    cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
    started = time.monotonic()
    server = subprocess.Popen(argv, cwd=wd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    outputs = {}
    try:
        deadline = time.monotonic() + 15
        while True:
            ping = subprocess.run(cli + ["ping"], env=clean_env(), capture_output=True, timeout=10)
            if ping.stdout == b"PONG\n":
                break
            assert server.poll() is None, f"redis-server exited early: {server.communicate()}"
            assert time.monotonic() < deadline, "redis-server did not answer PING in 15 s"
            time.sleep(0.02)
        bench_start = time.monotonic()
        bench = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-q", "-n", "2000", "-c", "4",
                                "-p", str(port), "-t", "set,get"],
                               env=clean_env(), capture_output=True, timeout=60)
        bench_seconds = time.monotonic() - bench_start
        assert bench.returncode == 0, bench
        final = bench.stdout.replace(b"\r", b"\n").decode()
        assert re.search(r"^SET: [\d.]+ requests per second", final, re.M), final
        assert re.search(r"^GET: [\d.]+ requests per second", final, re.M), final
        after = subprocess.run(cli + ["dbsize"], env=clean_env(), capture_output=True, timeout=10)
        outputs["dbsize after benchmark"] = after.stdout
        script = subprocess.run(cli, input=REDIS_SCRIPT.encode(), env=clean_env(), capture_output=True,
                                timeout=30)
        outputs["script"] = (script.returncode, script.stdout, script.stderr)
        down = subprocess.run(cli + ["shutdown", "nosave"], env=clean_env(), capture_output=True, timeout=10)
        outputs["shutdown"] = (down.returncode, down.stdout)
        out, err = server.communicate(timeout=30)
    except BaseException:
        server.kill()
        server.communicate()
        raise
    session = time.monotonic() - started
    reports, texts = collect_reports(report_dir)
    outcome = Outcome(argv, server.returncode, out, err, session, reports, texts, server.pid)
    assert server.returncode >= 0, f"redis-server killed by signal: {outcome}"
    return outcome, outputs, bench_seconds, session


def test_redis():
    # redis-server 7.0 with --io-threads 3 on a loopback port, driven by
    # redis-benchmark and a scripted redis-cli session, stopped with
    # SHUTDOWN NOSAVE. What redis does at shutdown decides the findings:
    # prepareForShutdown() then exit(0); it never stops its threads (only
    # the crash handler calls bioKillThreads/killIOThreads). So at exit:
    #  - 3 bio threads (bio_close_file, bio_aof_fsync, bio_lazy_free,
    #    start bioProcessBackgroundJobs) blocked in pthread_cond_wait on
    #    their job conditions: thread_leak;
    #  - the 2 I/O threads io_thd_1, io_thd_2 (IOThreadMain): initThreadedIO
    #    starts them "stopped" (main holds io_threads_mutex[i]); redis only
    #    starts threaded I/O when at least 2 x io-threads = 6 clients have
    #    replies pending, never with -c 4, so after their first spin they
    #    block in pthread_mutex_lock on that mutex, owner T0, until exit:
    #    thread_leak (not a deadlock: T0 is running, it is the thread that
    #    exits). (With --io-threads 2 the threshold is 4 clients: threaded
    #    I/O switches on and off, the I/O thread and main busy-spin, and on a
    #    shared 2-core machine the 4000 requests took up to 15 s, plain.)
    #  - jemalloc's background purge thread(s), 'jemalloc_bg_thd' (redis
    #    sets background_thread=true; jemalloc starts them through the
    #    pthread_create it finds with dlsym(RTLD_NEXT), so leakwatch sees no
    #    creation, only their condition waits): thread_leak, in a timed or
    #    untimed condition wait. At most one per arena in use, and jemalloc
    #    has 4 arenas per CPU. Plain: 1. Under the shim 1 to 4: once the
    #    shim loads libunwind (the helper, dlopen) and sets up its storage in
    #    the I/O threads, threads that never allocated before have, and
    #    jemalloc gives each its own arena (docs/reference.md, "What the
    #    program may notice").
    # Nothing else: no deadlock, no abandoned_lock, no unjoined_thread.
    for tool in ("redis-server", "redis-cli", "redis-benchmark"):
        need(tool)
    wd = workdir()
    try:
        plain, plain_out, plain_bench, plain_session = redis_session(wd, False, free_port())
        shim, shim_out, shim_bench, shim_session = redis_session(wd, True, free_port())
        assert shim.returncode == plain.returncode == 0, (plain, shim)
        assert shim.stdout == plain.stdout and shim.stderr == plain.stderr, (plain, shim)
        assert plain_out["dbsize after benchmark"] == b"1\n", plain_out
        assert shim_out == plain_out, (plain_out, shim_out)
        assert plain_out["script"][0] == 0 and plain_out["script"][1].count(b"OK\n") == 200, plain_out
        assert shim.report is not None and shim.report["trigger"] == "exit", shim

        by_kind = {}
        for kind, t in leaked(shim.report):
            by_kind.setdefault(kind, []).append(t)
        assert set(by_kind) == {"thread_leak"}, (shim.report["findings"], shim.texts)
        threads = by_kind["thread_leak"]
        bio = sorted(t["name"] for t in threads if t.get("start") == "bioProcessBackgroundJobs")
        assert bio == ["bio_aof_fsync", "bio_close_file", "bio_lazy_free"], threads
        for t in threads:
            if t.get("start") == "bioProcessBackgroundJobs":
                assert t["state"] == "blocked" and t["wait"]["call"] == "pthread_cond_wait", t
        io = [t for t in threads if t.get("start") == "IOThreadMain"]
        assert sorted(t["name"] for t in io) == ["io_thd_1", "io_thd_2"], io
        for t in io:
            assert t["state"] == "blocked" and t["wait"]["call"] == "pthread_mutex_lock", t
            assert t["wait"].get("owner") == 0, t
        jemalloc = [t for t in threads if t.get("name") == "jemalloc_bg_thd"]
        assert 1 <= len(jemalloc) <= 4 * (os.cpu_count() or 1), jemalloc
        for t in jemalloc:
            assert t["wait"]["call"] in ("pthread_cond_wait", "pthread_cond_timedwait"), t
        assert len(threads) == 3 + 2 + len(jemalloc), [(t.get("name"), t.get("start")) for t in threads]
        timing = (f"{shim_session / plain_session:.2f} (whole session with json_path, "
                  f"{plain_session:.2f} s -> {shim_session:.2f} s; "
                  f"benchmark alone {plain_bench:.2f} s -> {shim_bench:.2f} s)")
        row("redis-server --io-threads 3 + redis-benchmark -n 2000 -c 4", timing, shim.report)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


# --- GObject and ffmpeg: a library constructor calls the shim first -------------------------
#
# libgobject's constructor initialises a GRWLock (pthread_rwlock_init) before
# the shim's constructor has run; ffmpeg links libgobject through its
# dependencies. Each of these died of SIGSEGV under the shim (issue 16).

FFMPEG_INPUT = ["-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10"]
FFMPEG_QUIET = ["-nostdin", "-hide_banner", "-loglevel", "error"]


def ffmpeg_encode_argv(ffmpeg):
    # libx264 with 2 threads (frame threads plus its lookahead), raw H.264
    # to stdout: x264 is deterministic with threads, so are the bytes.
    return [ffmpeg] + FFMPEG_QUIET + FFMPEG_INPUT + ["-c:v", "libx264", "-threads", "2",
                                                    "-pix_fmt", "yuv420p", "-f", "h264", "-"]


def test_ffmpeg_encode():
    # ffmpeg 5.1 encoding 10 generated frames with libx264 -threads 2:
    # x264 starts its frame threads and lookahead in x264_encoder_open and
    # joins them in x264_encoder_close (x264_threadpool_delete,
    # lookahead_delete); libavfilter's and libavcodec's slice thread pools
    # (avpriv_slicethread) are joined when their contexts are freed, all
    # before main returns. Expected findings: none.
    ffmpeg = need("ffmpeg")
    wd = workdir()
    try:
        argv = ffmpeg_encode_argv(ffmpeg)
        check_threaded(argv, 2, workdir=wd)
        c = compare_runs(argv, workdir=wd, repeats=1, to_file=True)
        assert c.plain.returncode == 0 and c.plain.stdout[:4] == b"\0\0\0\1", c.plain.stdout[:16]
        c.check_reports(expect_clean)
        row("ffmpeg -c:v libx264 -threads 2 (encode)", c.timing(), c.shims[0].report)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def test_ffmpeg_decode():
    # ffmpeg 5.1 decoding that H.264 stream with 2 frame threads
    # (-thread_type frame: pthread_frame.c, one thread per frame in flight,
    # handing frames over with mutexes and condition variables), printing
    # one MD5 a frame. ff_frame_thread_free joins them when the decoder is
    # closed. Expected findings: none.
    ffmpeg = need("ffmpeg")
    wd = workdir()
    try:
        stream = os.path.join(wd, "in.h264")
        with open(stream, "wb") as out:
            subprocess.run(ffmpeg_encode_argv(ffmpeg), env=clean_env(), stdout=out, check=True, timeout=60)
        argv = [ffmpeg] + FFMPEG_QUIET + ["-threads", "2", "-thread_type", "frame", "-i", stream,
                                          "-f", "framemd5", "-"]
        check_threaded(argv, 2, workdir=wd)
        c = compare_runs(argv, workdir=wd, repeats=1)
        frames = [line for line in c.plain.stdout.splitlines() if line and not line.startswith(b"#")]
        assert len(frames) == 10, c.plain.stdout
        c.check_reports(expect_clean)
        row("ffmpeg -threads 2 -thread_type frame (decode)", c.timing(), c.shims[0].report)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def test_gobject_pool():
    # tests/gobject/gobject_pool.c: an exclusive GThreadPool of 3 threads
    # hashing 400 strings, a GAsyncQueue, a GObject property and signal, a
    # GRWLock table written by a g_thread_new thread that main joins.
    # g_thread_pool_free(pool, FALSE, TRUE) waits for the tasks and stops
    # the pool's threads (GLib detached them when it dropped their GThread);
    # with g_thread_pool_set_max_unused_threads(0) none stays idle in GLib's
    # global pool (15 s, past exit: a thread_leak otherwise), so they end
    # right after. Expected findings: none.
    argv = [program("gobject_pool")]
    wd = workdir()
    try:
        check_threaded(argv, 2, workdir=wd)
        c = compare_runs(argv, workdir=wd, repeats=1)
        assert c.plain.stdout.startswith(b"tasks 400 total 55576 notifications 400 written 1000 table 97\n"), \
            c.plain.stdout
        c.check_reports(expect_clean)
        row("gobject_pool (GThreadPool, GObject signals)", c.timing(), c.shims[0].report)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


def test_gio_cat():
    # Debian's gio (GLib 2.74) reading a local file: a GObject program with
    # no threads of its own (local files need no GVfs daemon, no D-Bus).
    # Expected findings: none.
    gio = need("gio")
    wd = workdir()
    try:
        text = os.path.join(wd, "text.txt")
        make_text(text, size=64 * 1024)
        argv = [gio, "cat", text]
        c = compare_runs(argv, workdir=wd, repeats=1)
        assert c.plain.stdout == pathlib.Path(text).read_bytes()
        c.check_reports(expect_clean)
        row("gio cat", c.timing(), c.shims[0].report)
    finally:
        shutil.rmtree(wd, ignore_errors=True)


# --- ripgrep (Rust) -----------------------------------------------------------------

def test_ripgrep():
    # ripgrep searches 200 files with 2 worker threads (Rust's standard
    # library: threads, channels and mutexes waiting on futexes through
    # syscall()). Its output order depends on the threads, so the lines are
    # compared sorted. Every worker is joined. Expected findings: none.
    need("rg")
    wd = workdir()
    try:
        text = make_text(os.path.join(wd, "all.txt"), size=2 * 1024 * 1024)
        os.unlink(os.path.join(wd, "all.txt"))
        tree = os.path.join(wd, "tree")
        os.mkdir(tree)
        lines = text.splitlines(keepends=True)
        for i in range(200):
            pathlib.Path(tree, f"part{i:03}.txt").write_bytes(b"".join(lines[i::200]))
        argv = ["rg", "-j2", "--no-config", "-c", "[aeiou]{3}", "tree"]
        check_threaded(argv, 2, workdir=wd)
        # The threads decide the order of the lines: compare them sorted.
        runs = [run_once(argv, shim=shim, workdir=wd) for _ in range(3) for shim in (False, True)]
        expected = sorted(runs[0].stdout.splitlines())
        assert len(expected) == 200, runs[0].stdout[:500]
        for o in runs:
            assert o.returncode == 0 and o.stderr == b"", o
            assert sorted(o.stdout.splitlines()) == expected, o
        for o in runs[1::2]:
            expect_clean(o)
        c = Comparison(runs[0::2], runs[1::2], runs[1::2])
        row("rg -j2 (200 files)", c.timing(), c.shims[0].report)
    finally:
        shutil.rmtree(wd, ignore_errors=True)
