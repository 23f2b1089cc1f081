"""Suppressions (SPEC section 3, `suppressions`; README "Suppressions") and
the example files shipped in suppressions/.

The leaking program is built here from VICTIM_C (gcc -g -O1, into a
private directory), so its module has a name of its own to match
("supp_victim"). It returns 0 from main; the shim turns that into 66 when a
finding is left. Every case runs it with a suppressions file written for
the case and checks the exit status, the text on stderr and the JSON
report's `findings` and `suppressed`.
"""
import atexit
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time

import lwtest
from lwtest import assert_in_stack, program, run

SUPPRESSIONS = lwtest.SOURCE / "suppressions"

# argv[1] picks the leak; every leaked thread is blocked in
# pthread_cond_wait (in wait_forever) before main returns 0.
#   plugin            T1 (generic_worker) created by plugin_start_worker, a
#                     function found in the creation stack only
#   plugin_and_other  the same, and T2 (other_worker) created by main
#   named NAME...     one thread (named_worker) per NAME, named NAME
#   pool N            N identical pool_worker threads, one creation site
#   unjoined          T1 (quick_finisher) ends at once, never joined
VICTIM_C = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int blocked, released;

static __attribute__((noinline)) void wait_forever(void) {
  pthread_mutex_lock(&lock);
  blocked++;
  while (!released)
    pthread_cond_wait(&never, &lock);
  pthread_mutex_unlock(&lock);
}

static void *generic_worker(void *arg) { wait_forever(); return arg; }
static void *other_worker(void *arg) { wait_forever(); return arg; }
static void *named_worker(void *arg) { wait_forever(); return arg; }
static void *pool_worker(void *arg) { wait_forever(); return arg; }
static void *quick_finisher(void *arg) { return arg; }

static __attribute__((noinline)) pthread_t plugin_start_worker(void) {
  pthread_t t;
  pthread_create(&t, NULL, generic_worker, NULL);
  return t;
}

static void wait_blocked(int n) {
  for (;;) {
    pthread_mutex_lock(&lock);
    int now = blocked;
    pthread_mutex_unlock(&lock);
    if (now >= n)
      break;
    usleep(1000);
  }
  usleep(20000);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "plugin";
  pthread_t t;
  int expected = 0;
  if (strcmp(mode, "plugin") == 0 || strcmp(mode, "plugin_and_other") == 0) {
    plugin_start_worker();
    expected++;
    if (strcmp(mode, "plugin_and_other") == 0) {
      pthread_create(&t, NULL, other_worker, NULL);
      expected++;
    }
  } else if (strcmp(mode, "named") == 0) {
    for (int i = 2; i < argc; i++) {
      pthread_create(&t, NULL, named_worker, NULL);
      pthread_setname_np(t, argv[i]);
      expected++;
    }
  } else if (strcmp(mode, "pool") == 0) {
    int n = argc > 2 ? atoi(argv[2]) : 64;
    for (int i = 0; i < n; i++)
      pthread_create(&t, NULL, pool_worker, NULL);
    expected = n;
  } else if (strcmp(mode, "unjoined") == 0) {
    pthread_create(&t, NULL, quick_finisher, NULL);
    usleep(50000);
  } else {
    return 2;
  }
  wait_blocked(expected);
  printf("main done\n");
  fflush(stdout);
  return 0;
}
"""

_workdir = None


def workdir():
    global _workdir
    if _workdir is None:
        _workdir = tempfile.mkdtemp(prefix="lwsupp-")
        atexit.register(shutil.rmtree, _workdir, True)
    return _workdir


_victim = None


def victim():
    """The program, built once per process."""
    global _victim
    if _victim is None:
        src = os.path.join(workdir(), "supp_victim.c")
        out = os.path.join(workdir(), "supp_victim")
        with open(src, "w") as f:
            f.write(VICTIM_C)
        built = subprocess.run(["gcc", "-g", "-O1", "-fno-omit-frame-pointer", "-pthread", "-o", out, src],
                               capture_output=True, text=True, timeout=120)
        assert built.returncode == 0, built.stderr
        _victim = out
    return _victim


def supp_file(content, name="rules.supp"):
    """Write a suppressions file (str or bytes); returns its path."""
    path = os.path.join(tempfile.mkdtemp(dir=workdir()), name)
    with open(path, "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode())
    return path


def run_with(rules, *args, options=None, name="rules.supp"):
    """Run the victim with `rules` (a file's content, or None for none)."""
    options = dict(options or {})
    path = None
    if rules is not None:
        path = supp_file(rules, name)
        options["suppressions"] = path
    r = run([victim(), *args], options=options, timeout=60)
    assert "main done" in r.stdout, r  # the program ran to its end
    assert r.report is not None, r
    return r, path


def assert_suppressed(r, count=1):
    """Everything suppressed: the program's own status, no finding text,
    the JSON counts them."""
    assert r.returncode == 0, r
    assert r.report["trigger"] == "exit"
    assert r.report["findings"] == [], r.report["findings"]
    assert r.report["suppressed"] == count, r.report["suppressed"]
    for kind in ("thread_leak", "unjoined_thread"):
        assert f"leakwatch: {kind}:" not in r.stderr, r.stderr


def assert_not_suppressed(r):
    """The plugin leak is reported as if there were no rules."""
    assert r.returncode == 66, r
    (finding,) = r.findings()
    assert finding["kind"] == "thread_leak" and finding["threads"] == [1], finding
    assert finding["message"] == "T1 (generic_worker) still blocked in pthread_cond_wait at exit", finding
    assert r.report["suppressed"] == 0, r.report["suppressed"]
    assert "leakwatch: thread_leak: T1 (generic_worker)" in r.stderr, r.stderr


# ---------------------------------------------------------------------------
# what a rule matches
# ---------------------------------------------------------------------------

def test_control_no_rules():
    """Without rules the leak is reported; plugin_start_worker is in its
    creation stack and in no other stack (what the next case relies on)."""
    r, _ = run_with(None, "plugin")
    assert_not_suppressed(r)
    t1 = r.thread(1)
    assert_in_stack(t1["create_stack"], "plugin_start_worker")
    assert "plugin_start_worker" not in lwtest.functions(t1["wait"]["stack"])
    for held in t1["held"]:
        assert "plugin_start_worker" not in lwtest.functions(held["stack"])


def test_by_creation_stack_function():
    r, _ = run_with("thread_leak:plugin_start_worker\n", "plugin")
    assert_suppressed(r)


def test_by_function_glob():
    r, _ = run_with("thread_leak:plugin_start_*\n", "plugin")
    assert_suppressed(r)


def test_by_wait_stack_function():
    r, _ = run_with("thread_leak:wait_forever\n", "plugin")
    assert_suppressed(r)


def test_by_thread_name():
    r, _ = run_with("thread_leak:bg-flusher-*\n", "named", "bg-flusher-3")
    assert_suppressed(r)
    # A name that does not match leaves the leak.
    r, _ = run_with("thread_leak:bg-flusher-*\n", "named", "fg-flusher-3")
    assert r.returncode == 66 and r.report["suppressed"] == 0, r
    assert r.findings()[0]["message"] == "T1 'fg-flusher-3' (named_worker) still blocked in pthread_cond_wait at exit"


def test_by_module_glob():
    for rule in ("thread_leak:supp_vic*", "thread_leak:supp_victim", "thread_leak:*/supp_victim",
                 f"thread_leak:{victim()}"):
        r, _ = run_with(rule + "\n", "plugin")
        try:
            assert_suppressed(r)
        except AssertionError as e:
            raise AssertionError(f"rule {rule!r}: {e}") from None
    # Another module's name does not match.
    r, _ = run_with("thread_leak:not_this_module*\n", "plugin")
    assert_not_suppressed(r)


def test_any_kind():
    r, _ = run_with("*:plugin_start_worker\n", "plugin")
    assert_suppressed(r)


def test_rule_for_another_kind_does_not_suppress():
    rules = ("deadlock:plugin_start_worker\n"
             "unjoined_thread:*\n"
             "abandoned_lock:*\n"
             "long_wait:*\n")
    r, _ = run_with(rules, "plugin")
    assert_not_suppressed(r)


def test_unjoined_thread_kind():
    r, _ = run_with(None, "unjoined")
    assert r.returncode == 66 and r.findings()[0]["kind"] == "unjoined_thread", r
    r, _ = run_with("thread_leak:quick_finisher\n", "unjoined")
    assert r.returncode == 66 and r.report["suppressed"] == 0, r
    r, _ = run_with("unjoined_thread:quick_*\n", "unjoined")
    assert_suppressed(r)


def test_only_matching_finding_suppressed():
    """Two leaks, one rule: one reported (status 66), one counted."""
    r, _ = run_with("thread_leak:plugin_start_worker\n", "plugin_and_other")
    assert r.returncode == 66, r
    (finding,) = r.findings()
    assert finding["threads"] == [2], finding
    assert finding["message"] == "T2 (other_worker) still blocked in pthread_cond_wait at exit", finding
    assert r.report["suppressed"] == 1
    assert "(generic_worker)" not in r.stderr, r.stderr
    pid = r.report["pid"]
    assert f"=={pid}== leakwatch: SUMMARY (exit): 1 finding: 1 thread_leak; 1 suppressed\n" in r.stderr, r.stderr


def test_pool_of_64_one_rule():
    r, _ = run_with(None, "pool", "64")
    assert r.returncode == 66, r
    (finding,) = r.findings()
    assert finding["count"] == 64 and len(finding["threads"]) == 64, finding
    assert finding["message"].startswith("64 threads like this: "), finding["message"]
    r, _ = run_with("thread_leak:pool_worker\n", "pool", "64")
    assert_suppressed(r, count=64)


def test_comments_blank_lines_and_spaces():
    rules = ("# a comment\n"
             "\n"
             "   \t\n"
             "  thread_leak:plugin_start_worker   # why: the plugin host owns it\r\n")
    r, path = run_with(rules, "plugin")
    assert_suppressed(r)
    assert path not in r.stderr, r.stderr  # nothing to complain about


# ---------------------------------------------------------------------------
# bad files
# ---------------------------------------------------------------------------

def test_malformed_file():
    lines = [
        b"# leading comment",                          # 1 fine
        b"thread_leak_without_colon",                  # 2 no colon
        b"bogus_kind:plugin_start_worker",             # 3 unknown kind
        b"thread_leak:",                               # 4 empty pattern
        b"thread_leak:   ",                            # 5 empty pattern (spaces)
        b"thread_leak:" + b"x" * 5000,                 # 6 very long line
        b"\x00\x01\x02\xff\xfe garbage\x00",           # 7 binary with NUL bytes
        b"\xc3\x28\xa0\xa1\xff\x80\x81",               # 8 binary, no colon
        b"\xc3\x28:\xa0\xa1",                          # 9 binary kind
        b"Thread_Leak:plugin_start_worker",            # 10 kinds are case-sensitive
        b":plugin_start_worker",                       # 11 empty kind
        b"",                                           # 12 fine (blank)
        b"thread_leak:plugin_start_worker",            # 13 the good rule, no newline at the end
    ]
    bad = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    r, path = run_with(b"\n".join(lines), "plugin")
    # The good rule still applies.
    assert_suppressed(r)
    complaints = [line for line in r.stderr.splitlines() if path in line]
    for n in bad:
        mine = [line for line in complaints if f"{path}:{n}:" in line]
        assert len(mine) == 1, f"line {n}: {len(mine)} complaints in\n{r.stderr}"
        assert mine[0].startswith("leakwatch: "), mine[0]
    for n in (1, 12, 13):
        assert not any(f"{path}:{n}:" in line for line in complaints), (n, complaints)
    assert len(complaints) == len(bad), complaints


def test_large_file():
    """A long file (300 KB of comments, as generated files can be) still
    has its last rule applied, or says why not."""
    filler = "".join(f"# {i:06d} " + "x" * 90 + "\n" for i in range(3000))
    r, path = run_with(filler + "thread_leak:plugin_start_worker\n", "plugin")
    said = [line for line in r.stderr.splitlines() if path in line]
    assert r.report["suppressed"] == 1 or said, \
        f"the rule at the end of a {len(filler) // 1024} KiB file was dropped silently"
    assert_suppressed(r)


def test_malformed_file_fuzz():
    """Random bytes never crash the run; the program's own result stands."""
    import random
    rng = random.Random(20261127)
    for attempt in range(8):
        size = rng.choice([1, 64, 600, 4096, 70000])
        noise = bytes(rng.choice(b"\x00\n\r:#*?[]\\ \t\xff" + bytes(range(32, 127)))
                      for _ in range(size))
        r, path = run_with(noise, "plugin")
        assert r.returncode in (0, 66), (attempt, r)
        assert r.returncode != 0 or r.report["suppressed"] == 1
        if r.returncode == 66:
            assert r.findings()[0]["threads"] == [1], r.findings()


def test_missing_file():
    path = os.path.join(workdir(), "does-not-exist.supp")
    r = run([victim(), "plugin"], options={"suppressions": path}, timeout=60)
    lines = [line for line in r.stderr.splitlines() if path in line]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("leakwatch: "), lines[0]
    # The run goes on, without suppressions.
    assert "main done" in r.stdout
    assert_not_suppressed(r)


def test_directory_instead_of_file():
    r = run([victim(), "plugin"], options={"suppressions": workdir()}, timeout=60)
    assert "main done" in r.stdout
    assert r.returncode == 66, r
    # One message naming the directory (report frames may name it too: the
    # program lives there).
    messages = [line for line in r.stderr.splitlines() if line.startswith("leakwatch:") and workdir() in line]
    assert len(messages) == 1 and "suppressions" in messages[0], r.stderr


def test_verbosity_lists_unused_rules():
    rules = ("thread_leak:plugin_start_worker\n"   # 1 matches
             "# a comment\n"                        # 2
             "deadlock:nothing_matches_this\n"      # 3 unused
             "thread_leak:no_such_function\n")      # 4 unused
    r, path = run_with(rules, "plugin", options={"verbosity": 1})
    assert r.returncode == 0, r
    unused = [line for line in r.stderr.splitlines() if "matched nothing" in line]
    assert len(unused) == 2, r.stderr
    assert any(f"{path}:3:" in line and "deadlock:nothing_matches_this" in line for line in unused), unused
    assert any(f"{path}:4:" in line and "thread_leak:no_such_function" in line for line in unused), unused
    assert not any("plugin_start_worker" in line for line in unused), unused
    # Without verbosity they are not listed.
    r, _ = run_with(rules, "plugin")
    assert "matched nothing" not in r.stderr, r.stderr
    assert_suppressed(r)


# ---------------------------------------------------------------------------
# other reports than the exit report
# ---------------------------------------------------------------------------

def test_verify_report_suppressed():
    """leakwatch_verify_none() leaves suppressed threads out of its count."""
    path = supp_file("thread_leak:stuck_worker\n")
    r = run([program("api_verify"), "leak", "_exit"], options={"suppressions": path}, timeout=60)
    assert "verify 0" in r.stdout, r
    assert r.report["trigger"] == "verify", r.report
    assert r.report["findings"] == [] and r.report["suppressed"] == 1, r.report
    assert "leakwatch: thread_leak" not in r.stderr, r.stderr


def abba_dump(options, settle=1.5):
    """Run dump_abba (an ABBA deadlock that stays) under the shim, let it
    sit `settle` s (past deadlock_ms: any live report is out by then), dump
    it with SIGUSR2; returns (the dump's JSON, stderr)."""
    import json
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS")}
    env["LD_PRELOAD"] = str(lwtest.LIB)
    env["LEAKWATCH_OPTIONS"] = ":".join(f"{k}={v}" for k, v in options.items())
    proc = subprocess.Popen([program("dump_abba")], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dump = pathlib.Path(f"/tmp/leakwatch-{os.getuid()}/{proc.pid}.dump.json")
    report = None
    try:
        deadline = time.monotonic() + 30
        out = b""
        while b"ready\n" not in out and time.monotonic() < deadline:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
        assert b"ready\n" in out, out
        time.sleep(settle)
        if dump.exists():
            dump.unlink()
        proc.send_signal(signal.SIGUSR2)
        while not dump.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        report = json.loads(dump.read_text())
        lwtest.check_schema(report)
        assert report["trigger"] == "dump"
        assert proc.poll() is None
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=20)
        for ext in ("json", "txt"):
            try:
                os.unlink(f"/tmp/leakwatch-{os.getuid()}/{proc.pid}.dump.{ext}")
            except OSError:
                pass
    return report, err.decode(errors="replace")


def test_live_deadlock_and_dump_suppressed():
    """A deadlock rule keeps the live report quiet, and the dump counts it
    (lock-order detection off, to see the deadlock alone)."""
    report, err = abba_dump({"deadlock_ms": 200, "lock_order": 0})
    assert "leakwatch: deadlock:" in err, err  # control: reported live without the rule
    assert [f["kind"] for f in report["findings"]] == ["deadlock"], report["findings"]
    path = supp_file("deadlock:take_second\n")
    report, err = abba_dump({"deadlock_ms": 200, "lock_order": 0, "suppressions": path})
    assert "leakwatch: deadlock" not in err, err
    assert report["findings"] == [] and report["suppressed"] == 1, (report["findings"], report["suppressed"])


def test_lock_order_inversion_suppressed():
    """A lock_order_inversion rule naming a function of the acquisitions'
    stacks keeps the live report quiet (live deadlock detection off)."""
    report, err = abba_dump({"deadlock_ms": 0})
    assert "leakwatch: lock_order_inversion:" in err, err  # control
    path = supp_file("lock_order_inversion:take_second\n")
    report, err = abba_dump({"deadlock_ms": 0, "suppressions": path})
    assert "leakwatch: lock_order_inversion" not in err, err
    assert [f["kind"] for f in report["findings"]] == ["deadlock"], report["findings"]


# ---------------------------------------------------------------------------
# the shipped files
# ---------------------------------------------------------------------------

def shipped():
    files = sorted(SUPPRESSIONS.glob("*.supp"))
    names = {f.name for f in files}
    for expected in ("glib.supp", "libuv.supp", "grpc.supp"):
        assert expected in names, (expected, names)
    assert (SUPPRESSIONS / "README.md").is_file()
    return files


def rules_of(path):
    """[(line number, rule)] of a file, comments stripped."""
    rules = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        rule = line.split("#", 1)[0].strip()
        if rule:
            rules.append((n, rule))
    return rules


def test_shipped_files_parse_cleanly():
    for path in shipped():
        r = run([victim(), "plugin"], options={"suppressions": path, "verbosity": 1}, timeout=60)
        complaints = [line for line in r.stderr.splitlines()
                      if str(path) in line and "matched nothing" not in line]
        assert complaints == [], complaints
        # None of them hides an ordinary leak of the program's own.
        assert_not_suppressed(r)
        # Every rule is listed as unused: all parsed, none matched.
        unused = [line for line in r.stderr.splitlines() if "matched nothing" in line and str(path) in line]
        assert len(unused) == len(rules_of(path)), (path.name, unused, rules_of(path))


def test_shipped_rules_have_reasons():
    """Each rule has a comment saying why, right above it (or above the
    group of rules it belongs to)."""
    for path in shipped():
        lines = path.read_text().splitlines()
        rules = rules_of(path)
        assert rules, f"{path.name} has no rules"
        for n, rule in rules:
            kind, _, pattern = rule.partition(":")
            assert kind and pattern, (path.name, n, rule)
            k = n - 2  # the line above, 0-based
            while k >= 0 and lines[k].split("#", 1)[0].strip():
                k -= 1  # skip the other rules of the group
            assert k >= 0 and lines[k].lstrip().startswith("#") and len(lines[k].strip()) > 10, \
                f"{path.name}:{n}: {rule} has no comment above it"


def test_shipped_files_match_library_thread_names():
    """The thread names the libraries really use are suppressed by their
    file; a look-alike name of the program's own is not."""
    cases = {
        "glib.supp": (["gmain", "gdbus", "pool-spawner"], ["pool-worker", "gmainloop-mine"]),
        "libuv.supp": (["libuv-worker"], ["uv-worker"]),
        "grpc.supp": (["grpc_global_tim", "event_engine", "default-executo", "resolver-execut"],
                      ["grpc-client"]),
    }
    # One thread a run: threads of one creation and wait site fold into one
    # finding, which a rule suppresses whole.
    for name, (library, own) in cases.items():
        path = SUPPRESSIONS / name
        for thread_name in library + own:
            r = run([victim(), "named", thread_name], options={"suppressions": path}, timeout=60)
            assert "main done" in r.stdout, r
            if thread_name in library:
                assert r.returncode == 0 and r.report["suppressed"] == 1, (name, thread_name, r)
                assert r.report["findings"] == [], (name, thread_name, r.report["findings"])
            else:
                assert r.returncode == 66 and r.report["suppressed"] == 0, (name, thread_name, r)
                assert r.findings()[0]["threads"] == [1] and r.thread(1)["name"] == thread_name


def test_readme_documents_format():
    text = (SUPPRESSIONS / "README.md").read_text()
    for word in ("kind:pattern", "`#`", "glob", "creation stack", "thread name", "module",
                 "verbosity=1", "suppressed"):
        assert word in text, word
    for path in shipped():
        assert path.name in text, path.name
    assert re.search(r"suppressions=\S*glib\.supp", text)


def test_fifo_nobody_writes():
    """A FIFO nobody writes to: open() blocked, and the program hung at
    start-up, in the constructor, before main. Now it is refused at once in
    one line (not a regular file) and the run goes on without rules."""
    fifo = os.path.join(workdir(), "rules.fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    r = run([victim(), "plugin"], options={"suppressions": fifo}, timeout=20)
    assert "main done" in r.stdout, r
    messages = [line for line in r.stderr.splitlines() if line.startswith("leakwatch:") and fifo in line]
    assert len(messages) == 1 and "a FIFO" in messages[0], r.stderr
    assert_not_suppressed(r)


def test_huge_file_read_capped():
    """A 1 GiB file (sparse: its rule, then zeros) was read whole at start-up
    (8 s). Only the first MiB is read, one line says so, and the rules in it
    apply."""
    path = os.path.join(workdir(), "huge.supp")
    with open(path, "wb") as f:
        f.write(b"thread_leak:plugin_start_worker\n")
        f.truncate(1 << 30)
    small = supp_file("thread_leak:plugin_start_worker\n", "small.supp")
    started = time.monotonic()
    run([victim(), "plugin"], options={"suppressions": small}, timeout=60)
    baseline = time.monotonic() - started  # the same run with a small file: the machine's load
    started = time.monotonic()
    r = run([victim(), "plugin"], options={"suppressions": path}, timeout=60)
    elapsed = time.monotonic() - started
    os.unlink(path)
    assert_suppressed(r)
    said = [line for line in r.stderr.splitlines() if line.startswith("leakwatch:")]
    assert len(said) <= 2, said
    assert any("only its first 1024 KiB are read" in line for line in said), said
    assert elapsed < baseline + 3, f"{elapsed:.1f} s with the huge file, {baseline:.1f} s without"


def test_bad_rules_warnings_capped():
    """10,000 bad rules gave 10,000 lines of warnings. The first ten are
    shown, then one line with the count of the rest; the good rule still
    applies."""
    rules = "".join(f"bogus_kind_{i}:x\n" for i in range(10000)) + "thread_leak:plugin_start_worker\n"
    r, path = run_with(rules, "plugin")
    assert_suppressed(r)
    said = [line for line in r.stderr.splitlines() if line.startswith("leakwatch:")]
    assert len(said) == 11, (len(said), said[:3], said[-3:])
    assert all("unknown finding kind" in line for line in said[:10]), said[:10]
    assert said[10] == f"leakwatch: ... and 9990 more problems in {path} (only the first 10 are shown)", said[10]


def test_few_bad_rules_all_shown():
    """Negative: up to ten problems are each shown, and no count line."""
    rules = "".join(f"bogus_kind_{i}:x\n" for i in range(10)) + "thread_leak:plugin_start_worker\n"
    r, path = run_with(rules, "plugin")
    assert_suppressed(r)
    said = [line for line in r.stderr.splitlines() if line.startswith("leakwatch:")]
    assert len(said) == 10 and not any("more problems" in line for line in said), said
