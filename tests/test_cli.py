"""Cases for the command line, scripts/leakwatch: run, dump and report.

Each case builds the small C programs it needs with gcc into a temporary
directory (sources below), runs the command as a user would, and checks exit
statuses, messages and output. LEAKWATCH_BUILD is the build directory (with
libleakwatch.so and, when CMake copies it there, the `leakwatch` command);
LEAKWATCH_SOURCE is the source tree.

The dump cases use either the real shim or a stand-in library named
libleakwatch.so (FAKE_SHIM_C) that answers the dump protocol exactly as the
shim must: that pins down the client's side of the protocol on its own.
"""
import atexit
import importlib.machinery
import importlib.util
import io
import json
import os
import pathlib
import random
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("LEAKWATCH_SOURCE", os.path.dirname(HERE))
BUILD = os.environ.get("LEAKWATCH_BUILD", os.path.join(SOURCE, "build"))
LIBRARY = os.path.join(BUILD, "libleakwatch.so")
SCHEMA = "leakwatch-report/1"

# ---------------------------------------------------------------------------
# Programs
# ---------------------------------------------------------------------------

# Leaks one thread blocked in pthread_cond_wait (named "cli-waiter", holding
# a mutex) and leaves one finished thread unjoined; exits with argv[1].
LEAK_C = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static void *waiter(void *arg) {
  pthread_mutex_lock(&held);
  pthread_mutex_lock(&lock);
  for (;;)
    pthread_cond_wait(&never, &lock);
  return arg;
}
static void *quick(void *arg) { return arg; }
int main(int argc, char **argv) {
  pthread_t a, b;
  pthread_create(&a, NULL, waiter, NULL);
  pthread_setname_np(a, "cli-waiter");
  pthread_create(&b, NULL, quick, NULL);
  usleep(100000);
  return argc > 1 ? atoi(argv[1]) : 0;
}
"""

# Creates and joins a thread; exits with argv[1].
CLEAN_C = r"""
#include <pthread.h>
#include <stdlib.h>
static void *work(void *arg) { return arg; }
int main(int argc, char **argv) {
  pthread_t t;
  pthread_create(&t, NULL, work, NULL);
  pthread_join(t, NULL);
  return argc > 1 ? atoi(argv[1]) : 0;
}
"""

STATIC_C = r"""
#include <stdio.h>
int main(void) { puts("static program ran"); return 0; }
"""

# Prints the variables `run` sets, one per line.
PRINTENV_C = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  const char *preload = getenv("LD_PRELOAD"), *options = getenv("LEAKWATCH_OPTIONS");
  printf("LD_PRELOAD=%s\nLEAKWATCH_OPTIONS=%s\n", preload ? preload : "", options ? options : "");
  return 0;
}
"""

# A library that says it was loaded.
MARKER_SO_C = r"""
#include <unistd.h>
__attribute__((constructor)) static void marker(void) {
  static const char text[] = "cli marker loaded\n";
  if (write(2, text, sizeof text - 1) < 0) {}
}
"""

# The main thread holds a mutex; T1 blocks on it. Prints "ready", then waits
# (outside any call leakwatch sees) until it is killed.
BLOCKED_C = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *blocked(void *arg) {
  pthread_mutex_lock(&lock);
  pthread_mutex_unlock(&lock);
  return arg;
}
int main(void) {
  pthread_t t;
  pthread_mutex_lock(&lock);
  pthread_create(&t, NULL, blocked, NULL);
  usleep(200000);
  printf("ready\n");
  fflush(stdout);
  for (;;)
    pause();
}
"""

# A stand-in for the shim's side of the dump protocol, named libleakwatch.so
# so that the client takes it for the shim: a helper thread named
# "leakwatch" that blocks every signal but SIGRTMAX-3; on SIGRTMAX-3 queued
# with the value 'LWDM' to that thread, write
# /tmp/leakwatch-UID/PID.dump.{txt,json} by rename. FAKE_SILENT: never
# answer. FAKE_NO_HANDLER: install nothing, start no thread.
FAKE_SHIM_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int dumps;
static volatile pid_t helper_tid;

static void put(const char *dir, const char *ext, const char *text) {
  char temp[256], path[256];
  snprintf(temp, sizeof temp, "%s/%d.dump.%s.tmp", dir, (int)getpid(), ext);
  snprintf(path, sizeof path, "%s/%d.dump.%s", dir, (int)getpid(), ext);
  int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    return;
  if (write(fd, text, strlen(text)) < 0) {}
  close(fd);
  rename(temp, path);
}

static void complain(const char *text) {
  if (write(2, text, strlen(text)) < 0) {}
}

static void on_signal(int sig, siginfo_t *info, void *context) {
  (void)sig;
  (void)context;
  if (info->si_code != SI_QUEUE || info->si_value.sival_int != 0x4C57444D) {
    complain("fake shim: a signal that is not a dump request\n");
    return;
  }
  if (gettid() != helper_tid) {
    complain("fake shim: a dump request on a program thread\n");
    return;
  }
  if (getenv("FAKE_SILENT"))
    return;
  char dir[64], text[512];
  snprintf(dir, sizeof dir, "/tmp/leakwatch-%d", (int)getuid());
  mkdir(dir, 0700);
  dumps++;
  snprintf(text, sizeof text, "fake dump %d of pid %d\n", dumps, (int)getpid());
  put(dir, "txt", text);
  snprintf(text, sizeof text,
           "{\"schema\": \"leakwatch-report/1\", \"trigger\": \"dump\", \"pid\": %d, "
           "\"dumps\": %d, \"threads\": [], \"findings\": []}\n", (int)getpid(), dumps);
  put(dir, "json", text);
}

static void *helper(void *arg) {
  helper_tid = gettid();
  prctl(PR_SET_NAME, "leakwatch", 0, 0, 0);
  sigset_t request;
  sigemptyset(&request);
  sigaddset(&request, SIGRTMAX - 3);
  pthread_sigmask(SIG_UNBLOCK, &request, NULL);
  for (;;)
    pause();
  return arg;
}

__attribute__((constructor)) static void fake_init(void) {
  if (getenv("FAKE_NO_HANDLER"))
    return;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGRTMAX - 3, &action, NULL);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  pthread_create(&thread, NULL, helper, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}
"""

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

_workdir = None


def workdir():
    """A private temporary directory, removed at exit."""
    global _workdir
    if _workdir is None:
        _workdir = tempfile.mkdtemp(prefix="lwcli-")
        atexit.register(shutil.rmtree, _workdir, True)
    return _workdir


def compile_c(name, source, *flags, shared=False):
    """Build `source` into the work directory; returns the output's path."""
    src = os.path.join(workdir(), name + ".c")
    out = os.path.join(workdir(), name)
    with open(src, "w") as f:
        f.write(source)
    command = ["gcc", "-g", "-O0", "-pthread", "-o", out, src, *flags]
    if shared:
        command[1:1] = ["-shared", "-fPIC"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"gcc failed for {name}:\n{result.stderr}"
    return out


def script_path():
    """The command under test: the build tree's copy once CMake puts it
    there, else the source tree's."""
    built = os.path.join(BUILD, "leakwatch")
    if os.path.isfile(built):
        return built
    return os.path.join(SOURCE, "scripts", "leakwatch")


def base_env(**extra):
    """The environment for the command: no leakwatch or preload settings
    leaking in from ours. The source tree's script finds the library of the
    build directory under test through LEAKWATCH_LIB."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS", "LEAKWATCH_LIB")}
    if script_path() != os.path.join(BUILD, "leakwatch"):
        env["LEAKWATCH_LIB"] = LIBRARY
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def leakwatch(*args, env=None, timeout=60, command=None):
    """Run the command; returns the CompletedProcess (text)."""
    return subprocess.run([command or script_path(), *args], capture_output=True, text=True,
                          env=env if env is not None else base_env(), timeout=timeout,
                          stdin=subprocess.DEVNULL)


def assert_clean_error(result, status, *phrases):
    """Exit `status`, one `leakwatch: ...` line on stderr naming `phrases`,
    no traceback."""
    assert result.returncode == status, \
        f"exit {result.returncode}, expected {status}; stderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("leakwatch: ")]
    assert len(lines) == 1, f"expected one 'leakwatch: ...' line:\n{result.stderr}"
    for phrase in phrases:
        assert phrase in lines[0], f"{phrase!r} not in {lines[0]!r}"


def shim_env(**options):
    """An environment that preloads the real shim directly."""
    env = base_env()
    env["LD_PRELOAD"] = LIBRARY
    if options:
        env["LEAKWATCH_OPTIONS"] = ":".join(f"{k}={v}" for k, v in options.items())
    return env


def start_ready(argv, env):
    """Start a program that prints "ready" once set up; returns the Popen."""
    process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            chunk = os.read(process.stdout.fileno(), 1)
            if not chunk:
                break
            line += chunk
    if line.strip() != b"ready":
        stop(process)
        raise AssertionError(f"{argv[0]} did not get ready (said {line!r}); stderr:\n"
                             f"{process.stderr.read().decode(errors='replace')}")
    return process


def remove_dumps(pid):
    """Tidy the dump files a process of ours left behind."""
    for ext in ("txt", "json"):
        try:
            os.unlink(f"/tmp/leakwatch-{os.getuid()}/{pid}.dump.{ext}")
        except OSError:
            pass


def stop(process):
    """Kill a process this module started, and reap it; returns its stderr."""
    if process.poll() is None:
        process.kill()
    try:
        _, err = process.communicate(timeout=10)
    except (ValueError, subprocess.TimeoutExpired):
        err = b""
    remove_dumps(process.pid)
    return (err or b"").decode(errors="replace")


def assert_alive(process, what):
    time.sleep(0.2)  # a signal, had one been sent, would have acted by now
    assert process.poll() is None, f"{what}: the process died (status {process.returncode})"


def fake_shim():
    directory = os.path.join(workdir(), "fake")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "libleakwatch.so")
    if not os.path.exists(path):
        built = compile_c("fake_shim", FAKE_SHIM_C, shared=True)
        os.rename(built, path)
    return path


def fake_env(**extra):
    env = base_env()
    env["LD_PRELOAD"] = fake_shim()
    env.update(extra)
    return env


def leak_report():
    """Run the leaking program under the shim directly; returns (JSON path,
    the shim's own text report)."""
    program = compile_c("leak", LEAK_C)
    json_path = os.path.join(workdir(), "leak.json")
    log_path = os.path.join(workdir(), "leak.log")
    result = subprocess.run([program], env=shim_env(json_path=json_path, log_path=log_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 66, f"the shim exited {result.returncode}: {result.stderr}"
    with open(log_path) as f:
        text = f.read()
    return json_path, text


def synthetic_report():
    """A report with every field the renderers handle: a two-thread
    deadlock, a join on one of them, a running thread with a stack,
    inlined frames, details, and names that need escaping in DOT."""
    def frame(pc, function, line=None, inlined=False, module="/opt/app/bin/app"):
        f = {"pc": hex(pc), "function": function, "offset": 16, "module": module}
        if line is not None:
            f["file"] = "src/app.c"
            f["line"] = line
        if inlined:
            f["inlined"] = True
        return f

    create = [frame(0x555500001000, "main", 10), frame(0x7f0000002000, "__libc_start_main",
                                                      module="/usr/lib/libc.so.6")]
    return {
        "schema": SCHEMA, "trigger": "exit", "pid": 4242, "exe": "/opt/app/bin/app",
        "time": "2026-11-27T17:00:00Z", "uptime_ms": 2500,
        "threads": [
            {"id": 0, "tid": 4242, "name": None, "start": None, "parent": None, "detached": False,
             "state": "running", "create_stack": [],
             "stack": [frame(0x555500001100, "main", 30), {"pc": "0x7f0000003000", "function": None,
                                                          "offset": 4096, "module": "/usr/lib/libc.so.6"}],
             "held": []},
            {"id": 1, "tid": 4243, "name": 'say "hi" \\ {x}\nnext', "start": "transfer",
             "parent": 0, "detached": False, "state": "blocked", "create_stack": create,
             "wait": {"call": "pthread_mutex_lock", "object": "0x5555000a0000", "owner": 2,
                      "waited_ms": 1503, "timed": False,
                      "stack": [frame(0x555500001200, "lock_account", 55, inlined=True),
                                frame(0x555500001200, "transfer", 60)]},
             "held": [{"object": "0x5555000b0000", "call": "pthread_mutex_lock",
                       "stack": [frame(0x555500001300, "transfer", 58)]}]},
            {"id": 2, "tid": 4244, "name": "teller", "start": "transfer", "parent": 0,
             "detached": True, "state": "blocked", "create_stack": create,
             "wait": {"call": "pthread_mutex_lock", "object": "0x5555000b0000", "owner": 1,
                      "waited_ms": 12, "timed": False,
                      "stack": [frame(0x555500001400, "transfer", 60)]},
             "held": [{"object": "0x5555000a0000", "call": "pthread_mutex_lock",
                       "stack": [frame(0x555500001500, "transfer", 58)]}]},
            {"id": 3, "tid": 4245, "name": None, "start": "auditor", "parent": 1, "detached": False,
             "state": "blocked", "create_stack": create,
             "wait": {"call": "pthread_join", "object": "0x7f00000c0000", "owner": 1,
                      "waited_ms": 900, "timed": False, "stack": []},
             "held": []},
            {"id": 4, "tid": 4246, "name": None, "start": "sleeper", "parent": 0, "detached": False,
             "state": "running", "create_stack": create,
             "wait": {"call": "pthread_cond_timedwait", "object": "0x5555000d0000",
                      "mutex": "0x5555000e0000", "signalled_by": 5, "waited_ms": 40, "timed": True,
                      "stack": []},
             "held": []},
            {"id": 5, "tid": 4247, "name": None, "start": "done", "parent": 0, "detached": False,
             "state": "exited", "ended_ms_ago": 2100, "create_stack": create, "held": []},
        ],
        "findings": [
            {"kind": "deadlock", "threads": [1, 2], "count": 1,
             "message": "T1 and T2 wait for each other",
             "details": "  T1 waits for 0x5555000a0000, held by T2\n  T2 waits for 0x5555000b0000, held by T1\n"},
            {"kind": "thread_leak", "threads": [3], "count": 1, "message": "T3 (auditor) still blocked in pthread_join at exit"},
            {"kind": "unjoined_thread", "threads": [5], "count": 2, "message": "2 threads like this: T5 (done) finished"},
        ],
        "suppressed": 1,
    }


def assert_same_lines(shim_text, drawn, report):
    """`leakwatch report`'s text is the shim's, line for line."""
    mine, theirs = drawn.splitlines(), shim_text.splitlines()
    exited = [t for t in report["threads"] if t.get("state") == "exited"]
    if exited and "ended_ms_ago" not in exited[0]:
        # The JSON does not say when a thread ended; the text alone does.
        theirs = [re.sub(r"finished [0-9.]+ m?s ago,", "finished,", line) for line in theirs]
    for number, (a, b) in enumerate(zip(theirs, mine), 1):
        assert a == b, f"line {number} differs:\n shim: {a}\n mine: {b}"
    assert len(mine) == len(theirs), f"{len(theirs)} lines from the shim, {len(mine)} from report"


def write_json(name, data):
    path = os.path.join(workdir(), name)
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def load_module():
    """The command as a module, to call main() in this process."""
    loader = importlib.machinery.SourceFileLoader("leakwatch_cli", script_path())
    spec = importlib.util.spec_from_loader("leakwatch_cli", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def call_main(module, argv):
    """module.main(argv) with stdout/stderr captured: (status, out, err).
    An exception other than SystemExit escapes, as it would as a traceback."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        try:
            status = module.main(argv)
        except SystemExit as e:
            status = e.code
    finally:
        sys.stdout, sys.stderr = saved
    out.flush()
    err.flush()
    return status, out.buffer.getvalue().decode("utf-8", "replace"), \
        err.buffer.getvalue().decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# Cases: the command itself
# ---------------------------------------------------------------------------

def test_help_and_version():
    result = leakwatch("--version")
    assert result.returncode == 0 and result.stdout.strip() == "leakwatch 0.1.0", result
    result = leakwatch("--help")
    assert result.returncode == 0, result.stderr
    for word in ("run", "dump", "report", "LEAKWATCH_OPTIONS"):
        assert word in result.stdout, f"{word} not in --help:\n{result.stdout}"
    for command in ("run", "dump", "report"):
        result = leakwatch(command, "--help")
        assert result.returncode == 0 and "usage: leakwatch " + command in result.stdout, result
    result = leakwatch("frobnicate")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result


def test_man_page():
    page = os.path.join(SOURCE, "docs", "leakwatch.1")
    assert os.path.isfile(page), page
    if not shutil.which("groff"):
        print("groff is not installed; only checked that the page exists")
        return
    result = subprocess.run(["groff", "-t", "-man", "-Tutf8", "-ww", "-z", page],
                            capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr, result.stderr
    result = subprocess.run(["groff", "-t", "-man", "-Tutf8", page], capture_output=True)
    text = re.sub(r".\x08", "", result.stdout.decode("utf-8", "replace"))
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS",
                    "FILES", "ENVIRONMENT", "EXAMPLES", "SEE ALSO"):
        assert re.search(rf"^{section}$", text, re.M), f"no {section} section"
    for key in ("exitcode", "log_path", "json_path", "deadlock_ms", "deadlock_action", "hang_ms",
                "lock_order", "exit_grace_ms", "suppressions", "stack_depth", "dump_signal",
                "verbosity"):
        assert key in text, f"option {key} is not documented"


# ---------------------------------------------------------------------------
# Cases: run
# ---------------------------------------------------------------------------

def test_run_leak_status():
    program = compile_c("leak", LEAK_C)
    result = leakwatch("run", program, "0")
    assert result.returncode == 66, f"exit {result.returncode}:\n{result.stderr}"
    assert "leakwatch: thread_leak: T1 'cli-waiter' (waiter)" in result.stderr, result.stderr
    assert "leakwatch: unjoined_thread: T2 (quick)" in result.stderr, result.stderr
    # A program that fails on its own keeps its status; the report is there.
    result = leakwatch("run", program, "5")
    assert result.returncode == 5, f"exit {result.returncode}:\n{result.stderr}"
    assert "leakwatch: thread_leak: T1 'cli-waiter' (waiter)" in result.stderr, result.stderr


def test_run_clean_status():
    program = compile_c("clean", CLEAN_C)
    for status in ("0", "3"):
        result = leakwatch("run", "--", program, status)
        assert result.returncode == int(status), f"exit {result.returncode}:\n{result.stderr}"
        assert "leakwatch:" not in result.stderr, result.stderr
    script = os.path.join(workdir(), "script.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexit 9\n")
    os.chmod(script, 0o755)
    result = leakwatch("run", script)
    assert result.returncode == 9, f"a #! script: exit {result.returncode}:\n{result.stderr}"


def test_run_exitcode_option():
    program = compile_c("leak", LEAK_C)
    result = leakwatch("run", "--option", "exitcode=0", program, "5")
    assert result.returncode == 5, f"exit {result.returncode}:\n{result.stderr}"
    assert "thread_leak" in result.stderr, result.stderr
    result = leakwatch("run", "--option", "exitcode=42", program, "0")
    assert result.returncode == 42, f"exit {result.returncode}:\n{result.stderr}"


def test_run_json():
    program = compile_c("leak", LEAK_C)
    json_path = os.path.join(workdir(), "run.json")
    result = leakwatch("run", "--json", json_path, program)
    assert result.returncode == 66, result.stderr
    with open(json_path) as f:
        report = json.load(f)
    assert report["schema"] == SCHEMA and report["trigger"] == "exit", report
    kinds = sorted(f["kind"] for f in report["findings"])
    assert kinds == ["thread_leak", "unjoined_thread"], kinds
    waiter = [t for t in report["threads"] if t.get("name") == "cli-waiter"]
    assert len(waiter) == 1 and waiter[0]["wait"]["call"] == "pthread_cond_wait", report
    assert waiter[0]["held"], "the waiter holds a mutex"


def test_run_keeps_ld_preload():
    printenv = compile_c("printenv", PRINTENV_C)
    marker = compile_c("libclimarker.so", MARKER_SO_C, shared=True)
    json_path = os.path.join(workdir(), "env.json")
    env = base_env(LD_PRELOAD=marker, LEAKWATCH_OPTIONS="verbosity=0")
    result = leakwatch("run", "--json", json_path, "--option", "exitcode=0", "--option",
                       "hang_ms=0", printenv, env=env)
    assert result.returncode == 0, result.stderr
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    preload = re.split(r"[ :]+", values["LD_PRELOAD"])
    assert len(preload) == 2 and os.path.basename(preload[0]) == "libleakwatch.so" \
        and preload[1] == marker, values["LD_PRELOAD"]
    assert values["LEAKWATCH_OPTIONS"] == \
        f"verbosity=0:json_path={json_path}:exitcode=0:hang_ms=0", values["LEAKWATCH_OPTIONS"]
    assert "cli marker loaded" in result.stderr, "the existing preload was not loaded"
    assert os.path.isfile(json_path), "the shim did not run"


def test_run_finds_library():
    printenv = compile_c("printenv", PRINTENV_C)
    script = os.path.join(SOURCE, "scripts", "leakwatch")
    layouts = {"next": ("tree", "leakwatch", "libleakwatch.so"),
               "lib": ("prefix", "bin/leakwatch", "lib/libleakwatch.so"),
               "multiarch": ("prefix2", "bin/leakwatch", "lib/x86_64-linux-gnu/libleakwatch.so"),
               "checkout": ("checkout", "scripts/leakwatch", "build/libleakwatch.so")}
    for name, (root, command, library) in layouts.items():
        base = os.path.join(workdir(), "layout-" + root)
        for path, source in ((command, script), (library, os.path.realpath(LIBRARY))):
            os.makedirs(os.path.dirname(os.path.join(base, path)), exist_ok=True)
            shutil.copy(source, os.path.join(base, path))
        result = leakwatch("run", printenv, command=os.path.join(base, command),
                           env=base_env(LEAKWATCH_LIB=None))
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert f"LD_PRELOAD={os.path.join(base, library)}\n" in result.stdout, \
            f"{name}: {result.stdout}"
    lonely = os.path.join(workdir(), "lonely", "bin")
    os.makedirs(lonely, exist_ok=True)
    shutil.copy(script, lonely)
    result = leakwatch("run", printenv, command=os.path.join(lonely, "leakwatch"),
                       env=base_env(LEAKWATCH_LIB=None))
    assert_clean_error(result, 125, "cannot find libleakwatch.so")
    result = leakwatch("run", printenv, env=base_env(LEAKWATCH_LIB="/nonexistent/libleakwatch.so"))
    assert_clean_error(result, 125, "LEAKWATCH_LIB")


def test_run_refuses_static():
    program = compile_c("static", STATIC_C, "-static")
    result = leakwatch("run", program)
    assert_clean_error(result, 125, "statically linked")
    assert "static program ran" not in result.stdout, "it ran the program anyway"


def test_run_refuses_setuid():
    program = compile_c("clean", CLEAN_C)
    for name, mode, word in (("setuid-copy", 0o4755, "setuid"), ("setgid-copy", 0o2755, "setgid")):
        copy = os.path.join(workdir(), name)
        shutil.copy(program, copy)
        os.chmod(copy, mode)
        assert os.stat(copy).st_mode & (stat.S_ISUID | stat.S_ISGID), "chmod did not take"
        result = leakwatch("run", copy, "7")
        assert_clean_error(result, 125, word)


def test_run_command_not_found():
    result = leakwatch("run", "leakwatch-no-such-command-here")
    assert_clean_error(result, 127, "leakwatch-no-such-command-here", "not found")
    result = leakwatch("run", os.path.join(workdir(), "no-such-file"))
    assert_clean_error(result, 127, "no-such-file")
    plain = os.path.join(workdir(), "not-executable")
    with open(plain, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(plain, 0o644)
    if os.geteuid() != 0:  # root may execute anything with an x bit; this has none
        result = leakwatch("run", plain)
        assert_clean_error(result, 126, "permission denied")
    result = leakwatch("run")
    assert_clean_error(result, 125, "no command")


def test_run_forwards_signals():
    sleeper = shutil.which("sleep")
    assert sleeper, "no sleep(1)"
    for sig in (signal.SIGTERM, signal.SIGINT):
        process = subprocess.Popen(
            [script_path(), "run", sleeper, "60"], env=base_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            children = f"/proc/{process.pid}/task/{process.pid}/children"
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with open(children) as f:
                    if f.read().split():
                        break
                time.sleep(0.05)
            else:
                raise AssertionError("leakwatch run did not start its child")
            time.sleep(0.2)  # let the child exec and the shim start
            process.send_signal(sig)
            process.wait(timeout=20)
            assert process.returncode == 128 + sig, \
                f"{sig.name}: exit {process.returncode}; {process.stderr.read().decode()}"
        finally:
            stop(process)


# ---------------------------------------------------------------------------
# Cases: report
# ---------------------------------------------------------------------------

def test_report_text_matches_shim():
    json_path, shim_text = leak_report()
    result = leakwatch("report", json_path)
    assert result.returncode == 0, result.stderr
    with open(json_path) as f:
        report = json.load(f)
    pid = report["pid"]
    assert f"=={pid}== leakwatch: thread_leak: T1 'cli-waiter' (waiter) still blocked in " \
        "pthread_cond_wait at exit" in result.stdout, result.stdout
    assert re.search(r"^    #0  0x[0-9a-f]{12,} in waiter .*:\d+$", result.stdout, re.M), result.stdout
    assert f"=={pid}== leakwatch: SUMMARY (exit): 2 findings: 1 thread_leak, 1 unjoined_thread" \
        in result.stdout, result.stdout
    assert_same_lines(shim_text, result.stdout, report)


def test_report_text_synthetic():
    path = write_json("synthetic.json", synthetic_report())
    result = leakwatch("report", "--format", "text", path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    expected = [
        "==4242== leakwatch: deadlock: T1 and T2 wait for each other",
        "  T1 waits for 0x5555000a0000, held by T2",
        "  T1 'say \"hi\" \\ {x}\\x0anext' (transfer), tid 4243: blocked in pthread_mutex_lock on "
        "0x5555000a0000, owned by T2 'teller' (transfer) (itself blocked in pthread_mutex_lock on "
        "0x5555000b0000) for 1.5 s, holding 0x5555000b0000",
        "  T2 'teller' (transfer), tid 4244, detached: blocked in pthread_mutex_lock on 0x5555000b0000",
        "    #0  0x555500001200 in lock_account src/app.c:55 (inlined)",
        "  holds 0x5555000b0000, taken by pthread_mutex_lock:",
        "  created by T0 (main thread) at:",
        "    #1  0x7f0000002000 in __libc_start_main+0x10 (/usr/lib/libc.so.6)",
        "  T3 (auditor), tid 4245: blocked in pthread_join on 0x7f00000c0000, waiting for "
        "T1 'say \"hi\" \\ {x}\\x0anext' (transfer) (itself blocked in pthread_mutex_lock on "
        "0x5555000a0000) for 900 ms, holding nothing",
        "    (no stack)",
        "  T5 (done), tid 4247: finished 2.1 s ago, never joined",
        "==4242== leakwatch: SUMMARY (exit): 4 findings: 1 deadlock, 1 thread_leak, "
        "2 unjoined_thread; 1 suppressed",
    ]
    for line in expected:
        assert line in out, f"missing {line!r} in:\n{out}"
    # A deadlock shows every thread it names; a leak only its own.
    deadlock, leak = out.split("==4242== leakwatch: thread_leak:")
    assert "  T1 'say" in deadlock and "  T2 'teller'" in deadlock, deadlock
    leak = leak.split("==4242== leakwatch: unjoined_thread:")[0]
    assert leak.count(", tid ") == 1, leak
    # A dump lists every thread first, with a header.
    data = synthetic_report()
    data["trigger"] = "dump"
    data["findings"] = []
    data["suppressed"] = 0
    result = leakwatch("report", write_json("dump.json", data))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("==4242== leakwatch: dump of /opt/app/bin/app (pid 4242), "
                                    "5 threads, up 2.5 s\n\n  T0 (main thread)"), result.stdout
    for line in ("  T0 (main thread), tid 4242: running (or in a call leakwatch does not see), holding nothing",
                 "  current stack:",
                 "    #1  0x7f0000003000 in (/usr/lib/libc.so.6+0x1000)",
                 "  T4 (sleeper), tid 4246: waiting (timed) in pthread_cond_timedwait on 0x5555000d0000 "
                 "(mutex 0x5555000e0000) for 40 ms (last signalled by T5 (done), which has exited), holding nothing",
                 "==4242== leakwatch: SUMMARY (dump): 0 findings"):
        assert line in result.stdout, f"missing {line!r} in:\n{result.stdout}"


def test_report_json_roundtrip():
    json_path, _ = leak_report()
    with open(json_path) as f:
        original = json.load(f)
    for path, data in ((json_path, original),
                       (write_json("synthetic.json", synthetic_report()), synthetic_report())):
        result = leakwatch("report", "--format", "json", path)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == data, "the JSON changed on the way through"
        assert result.stdout.startswith("{\n  \""), "not indented by 2"


def test_report_dot():
    assert shutil.which("dot"), "graphviz (dot) is not installed"
    json_path, _ = leak_report()
    for path in (json_path, write_json("synthetic.json", synthetic_report())):
        result = leakwatch("report", "--format", "dot", path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("digraph "), result.stdout
        svg = subprocess.run(["dot", "-Tsvg"], input=result.stdout, capture_output=True, text=True)
        assert svg.returncode == 0 and "<svg" in svg.stdout and not svg.stderr, \
            f"dot rejected it: {svg.stderr}\n{result.stdout}"
    dot = result.stdout  # the synthetic one: a deadlock between T1 and T2
    def edge(a, b):
        lines = [l for l in dot.splitlines() if l.strip().startswith(f'"{a}" -> "{b}"')]
        assert len(lines) == 1, f"no single edge {a} -> {b} in:\n{dot}"
        return lines[0]
    for a, b, label in (("T1", "obj:0x5555000a0000", "waits for"), ("obj:0x5555000a0000", "T2", "held by"),
                        ("T2", "obj:0x5555000b0000", "waits for"), ("obj:0x5555000b0000", "T1", "held by")):
        line = edge(a, b)
        assert f'label="{label}"' in line and "color=red" in line, line
    line = edge("T3", "T1")  # a join points at the joined thread
    assert 'label="waits for"' in line and "color=red" not in line, line
    for node in ("T1", "T2"):
        assert re.search(rf'^  "{node}" \[shape=box,.*color=red', dot, re.M), f"{node} is not red"
    assert re.search(r'^  "T3" \[shape=box', dot, re.M) and \
        not re.search(r'^  "T3" .*color=red', dot, re.M), "T3 is not part of the deadlock"
    assert 'label="mutex 0x5555000a0000"' in dot and 'label="cond 0x5555000d0000"' in dot, dot


def test_report_invalid_files():
    valid = synthetic_report()
    cases = [
        ("empty", b"", "not JSON"),
        ("binary", bytes(range(256)) * 4, "not JSON"),
        ("truncated", json.dumps(valid).encode()[:200], "not JSON (line 1, column"),
        ("syntax", b'{\n  "schema": "leakwatch-report/1",\n  "threads": [,]\n}', "not JSON (line 3, column"),
        ("nan", b'{"schema": "leakwatch-report/1", "threads": [], "findings": [], "pid": NaN}', "not JSON"),
        ("deep", b"[" * 100000 + b"]" * 100000, "not JSON"),
        ("huge-number", b'{"pid": ' + b"9" * 5000 + b"}", "not JSON"),
        ("list", b"[1, 2, 3]", "not a leakwatch report"),
        ("foreign", b'{"name": "package.json", "version": "1.0"}', "not a leakwatch report (no 'schema')"),
        ("schema", b'{"schema": "x", "threads": [], "findings": []}', "schema is 'x'"),
        ("schema-type", b'{"schema": 1, "threads": [], "findings": []}', "not a leakwatch report"),
        ("no-threads", b'{"schema": "leakwatch-report/1", "findings": []}', "missing 'threads'"),
        ("no-findings", b'{"schema": "leakwatch-report/1", "threads": []}', "missing 'findings'"),
        ("threads-type", b'{"schema": "leakwatch-report/1", "threads": {}, "findings": []}', "'threads'"),
    ]
    for name, content, phrase in cases:
        path = os.path.join(workdir(), f"invalid-{name}.json")
        with open(path, "wb") as f:
            f.write(content)
        result = leakwatch("report", path)
        assert_clean_error(result, 2, path, phrase)
        assert result.stdout == "", f"{name}: printed {result.stdout[:200]!r}"
    result = leakwatch("report", os.path.join(workdir(), "no-such-report.json"))
    assert_clean_error(result, 2, "no-such-report.json", "cannot read")
    result = leakwatch("report", workdir())
    assert_clean_error(result, 2, "cannot read")
    result = leakwatch("report", "--format", "svg", write_json("ok.json", valid))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr


WEIRD_VALUES = [None, True, False, 0, -1, 2 ** 64, 10 ** 300, -(10 ** 300), 1e308, -1e308, 0.5,
                "", "x" * 5000, "\ud800", "0xzz", "\x00\x1b[31m", [], {}, [None, 1, "a"],
                {"id": []}, [[[[]]]]]


def mutate(rng, text):
    """One random damage to a report's JSON text; returns (description, bytes)."""
    raw = text.encode()
    choice = rng.randrange(6)
    if choice == 0:
        data = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return "byte flips", bytes(data)
    if choice == 1:
        return "truncation", raw[:rng.randrange(len(raw))]
    if choice == 2:
        at = rng.randrange(len(raw))
        return "insertion", raw[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + raw[at:]
    data = json.loads(text)
    # Pick a random container and damage one of its members.
    containers = []
    def walk(node):
        if isinstance(node, (dict, list)):
            containers.append(node)
            for child in (node.values() if isinstance(node, dict) else node):
                walk(child)
    walk(data)
    what = "no-op"
    for _ in range(rng.randint(1, 4)):
        node = rng.choice(containers)
        if not node:
            continue
        key = rng.choice(list(node.keys())) if isinstance(node, dict) else rng.randrange(len(node))
        if choice == 3:
            node[key] = rng.choice(WEIRD_VALUES)
            what = "type swap"
        elif choice == 4 and isinstance(node, dict):
            del node[key]
            what = "deleted key"
        else:
            value = node[key]
            node[key] = (dict(enumerate(value)) if isinstance(value, list) else
                         list(value.values()) if isinstance(value, dict) else [value])
            what = "container swap"
    return what, json.dumps(data).encode()


def test_report_fuzz():
    """200 damaged reports: each exits 0 or 2, never with a traceback. All
    run in this process (fast); every 20th also as a real command."""
    seed = int(os.environ.get("LEAKWATCH_FUZZ_SEED", "20261127"))
    rng = random.Random(seed)
    module = load_module()
    base = json.dumps(synthetic_report(), indent=2)
    path = os.path.join(workdir(), "mutant.json")
    formats = ("text", "json", "dot")
    for i in range(200):
        what, content = mutate(rng, base)
        with open(path, "wb") as f:
            f.write(content)
        form = formats[i % 3]
        try:
            status, out, err = call_main(module, ["report", "--format", form, path])
        except Exception:
            keep = os.path.join(workdir(), f"failed-{i}.json")
            shutil.copy(path, keep)
            raise AssertionError(f"mutation {i} ({what}, seed {seed}, --format {form}) raised:\n"
                                 f"{traceback.format_exc()}\ninput: {content[:500]!r}")
        assert status in (0, 2), f"mutation {i} ({what}): exit {status}: {err}"
        if status == 2:
            assert err.startswith("leakwatch: ") and err.count("\n") == 1, \
                f"mutation {i} ({what}): {err!r}"
        if status == 0 and form == "dot" and i % 15 == 2:
            svg = subprocess.run(["dot", "-Tsvg"], input=out, capture_output=True, text=True)
            assert svg.returncode == 0, f"mutation {i}: dot rejected:\n{svg.stderr}\n{out}"
        if i % 20 == 0:
            result = leakwatch("report", "--format", form, path)
            assert result.returncode in (0, 2) and "Traceback" not in result.stderr, \
                f"mutation {i} ({what}) as a command: exit {result.returncode}\n{result.stderr}"


# ---------------------------------------------------------------------------
# Cases: dump
# ---------------------------------------------------------------------------

def test_dump_no_such_process():
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) + 1  # beyond the largest pid the kernel hands out
    result = leakwatch("dump", str(pid))
    assert_clean_error(result, 3, str(pid))
    result = leakwatch("dump", "not-a-pid")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr


def test_dump_not_under_leakwatch():
    program = compile_c("blocked", BLOCKED_C)
    env = base_env(LEAKWATCH_OPTIONS="dump_signal=SIGUSR2")  # options alone are not the shim
    process = start_ready([program], env)
    try:
        # Never signalled: attached from outside instead (issue 18, test_attach.py).
        result = leakwatch("dump", str(process.pid))
        assert result.returncode == 0 and "attached from outside" in result.stdout, result.stderr
        assert_alive(process, "dump signalled a process without the shim")
    finally:
        stop(process)


def test_dump_signal_off():
    program = compile_c("blocked", BLOCKED_C)
    process = start_ready([program], shim_env(dump_signal=0))
    try:
        result = leakwatch("dump", str(process.pid))
        assert_clean_error(result, 7, "dump_signal=0")
        assert_alive(process, "dump signalled a process with dumps off")
    finally:
        stop(process)


def test_dump_no_handler():
    program = compile_c("blocked", BLOCKED_C)
    process = start_ready([program], fake_env(FAKE_NO_HANDLER="1"))
    try:
        result = leakwatch("dump", str(process.pid))
        assert_clean_error(result, 5, "no leakwatch handler for SIGRTMAX-3")
        assert_alive(process, "dump signalled a process without a handler")
    finally:
        stop(process)


def test_dump_protocol():
    """The client against the stand-in shim: SIGRTMAX-3 queued with 'LWDM'
    to the helper thread alone (not dump_signal to the process, which any
    program thread may take), whatever dump_signal is, the text and JSON
    files, twice."""
    program = compile_c("blocked", BLOCKED_C)
    for options in ("", "dump_signal=URG:verbosity=0",
                    "dump_signal=bogus: dump_signal = 10 :dump_signal=SIGWINCH"):
        env = fake_env(LEAKWATCH_OPTIONS=options)
        process = start_ready([program], env)
        try:
            for n in (1, 2):
                result = leakwatch("dump", str(process.pid))
                assert result.returncode == 0, f"{options!r}: exit {result.returncode}: {result.stderr}"
                assert result.stdout == f"fake dump {n} of pid {process.pid}\n", result.stdout
            result = leakwatch("dump", "--json", str(process.pid))
            assert result.returncode == 0, result.stderr
            report = json.loads(result.stdout)
            assert report["trigger"] == "dump" and report["dumps"] == 3, report
            assert_alive(process, "dump")
        finally:
            err = stop(process)
        assert "not a dump request" not in err, "the signal was not queued with 'LWDM'"
        assert "on a program thread" not in err, "the request went to the process, not the helper"


def test_dump_through_run():
    """`leakwatch dump` of a `leakwatch run` process dumps the program it runs."""
    program = compile_c("blocked", BLOCKED_C)
    env = base_env(LEAKWATCH_LIB=fake_shim())
    process = start_ready([script_path(), "run", program], env)
    child = None
    try:
        with open(f"/proc/{process.pid}/task/{process.pid}/children") as f:
            child = int(f.read().split()[0])
        result = leakwatch("dump", str(process.pid))
        assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
        assert result.stdout == f"fake dump 1 of pid {child}\n", result.stdout
        assert f"dumping the program it runs, pid {child}" in result.stderr, result.stderr
        assert_alive(process, "dump through run")
    finally:
        if child:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
            remove_dumps(child)
        stop(process)


def test_dump_timeout():
    program = compile_c("blocked", BLOCKED_C)
    process = start_ready([program], fake_env(FAKE_SILENT="1"))
    try:
        started = time.monotonic()
        result = leakwatch("dump", "--timeout", "0.5", str(process.pid))
        assert_clean_error(result, 6, "no answer")
        assert time.monotonic() - started < 10, "the timeout was not kept"
        assert_alive(process, "dump")
    finally:
        stop(process)


def test_dump_live():
    """The real shim answers a dump: T1 blocked in pthread_mutex_lock on the
    mutex T0 holds; the process carries on; a second dump works too."""
    program = compile_c("blocked", BLOCKED_C)
    process = start_ready([program], shim_env())
    try:
        for attempt in (1, 2):
            result = leakwatch("dump", str(process.pid), timeout=30)
            assert result.returncode == 0, f"dump {attempt}: exit {result.returncode}: {result.stderr}"
            out = result.stdout
            assert f"leakwatch: dump of {program} (pid {process.pid})" in out, out
            # The object may carry its name: "on 0x55d0c0a04040 (lock)".
            assert re.search(r"^  T1 \(blocked\), tid \d+: blocked in pthread_mutex_lock on "
                             r"0x[0-9a-f]+( \([^)]*\))?, owned by T0 \(main thread\)", out, re.M), out
            assert "  T0 (main thread)" in out, out
            assert_alive(process, f"dump {attempt}")
        result = leakwatch("dump", "--json", str(process.pid), timeout=30)
        assert result.returncode == 0, result.stderr
        # The text of the same dump, drawn by the shim, and by `report`.
        with open(f"/tmp/leakwatch-{os.getuid()}/{process.pid}.dump.txt") as f:
            shim_text = f.read()
        json_path = write_json("live-dump.json", json.loads(result.stdout))
        drawn = leakwatch("report", json_path)
        assert drawn.returncode == 0, drawn.stderr
        assert_same_lines(shim_text, drawn.stdout, json.loads(result.stdout))
        report = json.loads(result.stdout)
        assert report["schema"] == SCHEMA and report["trigger"] == "dump", report
        assert report["pid"] == process.pid, report
        waits = [t["wait"]["call"] for t in report["threads"] if "wait" in t]
        assert "pthread_mutex_lock" in waits, report
        assert_alive(process, "dump --json")
    finally:
        stop(process)


# ---------------------------------------------------------------------------
# Cases: options, dump directory and report text that the shim and the
# command must agree on (files helper)
# ---------------------------------------------------------------------------

def shim_complaints(options, argv=("/bin/true",), timeout=30):
    """Run argv under the real shim with LEAKWATCH_OPTIONS=options; returns
    (status, the shim's own "leakwatch: " lines)."""
    env = base_env(LD_PRELOAD=LIBRARY, LEAKWATCH_OPTIONS=options)
    result = subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    return result.returncode, [l for l in result.stderr.splitlines() if l.startswith("leakwatch: ")]


def test_dump_signal_same_set_by_number_and_name():
    """dump_signal by number took what the names refuse: 11 (a crashing
    program then spins in the handler for ever), 17 (every child's exit
    interrupts the program's sleeps), 2. One table: a number is taken only
    if its name is, by the shim and by the command alike."""
    module = load_module()
    refused = ["11", "SIGSEGV", "17", "CHLD", "2", "SIGINT", "15", "9", "19", "14", "6", "40",
               "34", "60", "64", "SIGRTMIN", "65", "-1", "12x"]
    taken = {"0": 0, "10": 10, "12": 12, "3": 3, "1": 1, "28": 28, "30": 30, "23": 23,
             "SIGUSR1": 10, "USR2": 12, "SIGURG": 23, "PWR": 30}
    for value in refused:
        status, lines = shim_complaints(f"dump_signal={value}")
        assert status == 0, (value, status)
        assert len(lines) == 1 and f"bad value '{value}' for dump_signal" in lines[0], (value, lines)
        assert module.parse_signal_value(value) is None, value
    for value, number in taken.items():
        status, lines = shim_complaints(f"dump_signal={value}")
        assert status == 0 and lines == [], (value, lines)
        assert module.parse_signal_value(value) == number, value
    # The crash that used to spin for ever ends as a crash.
    env = base_env(LD_PRELOAD=LIBRARY, LEAKWATCH_OPTIONS="dump_signal=11")
    crash = subprocess.run([os.path.join(BUILD, "tests", "programs", "files_ready"), "crash"], env=env,
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert crash.returncode == -signal.SIGSEGV, crash


def test_option_warnings_capped():
    """30,000 unknown options printed 30,000 lines. The first ten are shown,
    then the count of the rest. Negative: three problems, three lines."""
    status, lines = shim_complaints(":".join(["x=1"] * 30000))
    assert status == 0
    assert len(lines) == 11, (len(lines), lines[:2], lines[-2:])
    assert all("unknown option 'x'" in line for line in lines[:10]), lines[:10]
    assert lines[10] == "leakwatch: ... and 29990 more problems in LEAKWATCH_OPTIONS " \
                        "(only the first 10 are shown)", lines[10]
    status, lines = shim_complaints("x=1:y=2:exitcode=999")
    assert len(lines) == 3 and not any("more problems" in line for line in lines), lines


DUMP_DIRECTORY_CASES = [
    # (case, how to make /tmp/leakwatch-UID, the reason both must give or None)
    ("private", "dir 0700", None),
    ("readable", "dir 0755", "open to other users (mode 755)"),
    ("world-writable", "dir 0777", "open to other users (mode 777)"),
    ("group-readable", "dir 0740", "open to other users (mode 740)"),
    ("symlink", "symlink", "a symbolic link"),
    ("another owner", "dir 0700 other", "owned by uid {other}, not {uid}"),
    ("regular file", "file", "not a directory"),
]


def make_dump_directory(path, how, uid, other):
    if how == "symlink":
        target = tempfile.mkdtemp(prefix="lwdumptarget-")
        os.chown(target, uid, uid)
        os.chmod(target, 0o700)
        os.symlink(target, path)
        return target
    if how == "file":
        pathlib.Path(path).write_text("not a directory\n")
        os.chown(path, uid, uid)
        return None
    _, mode, *owner = how.split()
    os.mkdir(path)
    os.chmod(path, int(mode, 8))
    os.chown(path, other if owner else uid, uid)
    return None


def remove_dump_directory(path, extra):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path, True)
    if extra:
        shutil.rmtree(extra, True)


def test_dump_directory_same_rule_in_shim_and_command():
    """/tmp/leakwatch-UID with mode 0755: the command took it (it looked at
    the write bits only), the shim refused it, and `leakwatch dump` waited
    its whole timeout to say "no answer". One rule, one message: each case
    runs through the shim (a real dump request) and the command, and both
    give the same verdict in the same words. The process runs as a uid of
    its own, so the machine's own dump directory is never touched."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("SKIP dump directory table: needs root and setpriv")
        return
    module = load_module()
    uid = 50000 + os.getpid() % 10000
    other = uid + 1
    directory = f"/tmp/leakwatch-{uid}"
    target = os.path.join(BUILD, "tests", "programs", "files_ready")
    remove_dump_directory(directory, None)
    for case, how, reason in DUMP_DIRECTORY_CASES:
        extra = make_dump_directory(directory, how, uid, other)
        process = None
        try:
            env = base_env(LD_PRELOAD=LIBRARY, LEAKWATCH_OPTIONS="dump_signal=SIGUSR2")
            process = start_ready(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", target], env)
            # The shim's verdict: a real dump request, then its stderr.
            module.send_dump_request(process.pid, module.helper_thread(process.pid))
            dump = os.path.join(directory, f"{process.pid}.dump.txt")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not os.path.exists(dump):
                ready, _, _ = select.select([process.stderr], [], [], 0.1)
                if ready:
                    break
            time.sleep(0.2)
            process.kill()
            _, err = process.communicate(timeout=10)
            shim_lines = [l for l in err.decode(errors="replace").splitlines() if l.startswith("leakwatch: ")]
            # The command's verdict, on a second process in the same state.
            process = start_ready(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", target], env)
            result = leakwatch("dump", "--timeout", "5", str(process.pid), timeout=30)
            cli_lines = [l for l in result.stderr.splitlines() if l.startswith("leakwatch: ")]
            if reason is None:
                assert shim_lines == [] and os.path.exists(dump), (case, shim_lines)
                assert result.returncode == 0 and "leakwatch: dump of" in result.stdout, (case, result.stderr)
            else:
                expected = f"leakwatch: unsafe dump directory {directory}: " + \
                    reason.format(uid=uid, other=other)
                assert shim_lines == [expected], (case, "shim", shim_lines, expected)
                assert cli_lines == [expected] and result.returncode == 4, \
                    (case, "command", result.returncode, cli_lines, expected)
        finally:
            if process is not None:
                stop(process)
            remove_dump_directory(directory, extra)


def test_report_escapes_control_characters():
    """Strings from a hostile JSON file were written raw by `leakwatch
    report`: a thread name "\\x1b[2J\\n==1== fake" cleared the terminal and
    added a line that looked like the report's. Text and DOT show every
    control character as \\xNN; the JSON escapes them too (C1 and DEL
    included). Nothing else changes: the synthetic report without them
    renders as before (test_report_text_synthetic)."""
    data = synthetic_report()
    data["exe"] = "/opt/app\r\x1b[Kbin"
    data["threads"][1]["name"] = "\x1b[2J\n==1== fake"
    data["threads"][1]["start"] = "transfer\x9b31m"
    data["threads"][1]["wait"]["call"] = "pthread_mutex_lock\x07"
    data["threads"][1]["wait"]["stack"][0]["function"] = "lock_account\x1b]0;owned\x07"
    data["threads"][1]["wait"]["stack"][0]["file"] = "src/app.c\x7f"
    data["findings"][0]["message"] = "T1 and T2\n==1== leakwatch: SUMMARY (exit): 0 findings"
    data["findings"][0]["details"] = "  line one\x1b[1A\n  line two\x85\n"
    data["findings"][0]["kind"] = "deadlock\x1b[0m"
    path = write_json("hostile.json", data)
    controls = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
    for fmt in ("text", "dot", "json"):
        result = leakwatch("report", "--format", fmt, path)
        assert result.returncode == 0, (fmt, result.stderr)
        found = controls.findall(result.stdout)
        assert not found, (fmt, found, result.stdout[:3000])
        assert not any(line.startswith("==1== ") for line in result.stdout.splitlines()), fmt
        assert sum(line.startswith("==4242== leakwatch: SUMMARY") for line in result.stdout.splitlines()) \
            == (1 if fmt == "text" else 0), (fmt, result.stdout)
        if fmt == "json":
            assert json.loads(result.stdout) == data
    text = leakwatch("report", path).stdout
    assert "T1 '\\x1b[2J\\x0a==1== fake' (transfer\\x9b31m)" in text, text
    assert "  line two\\x85" in text.splitlines(), text


def test_run_json_dev_stdout():
    """`leakwatch run --json /dev/stdout` replaced the /dev/stdout link with
    a regular file (as root), and then said no JSON had been written. The
    JSON goes to the program's stdout, the link stays, and no note. Run in a
    mount namespace with a scratch /dev, so old code damages only a copy."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or not unshare:
        print("SKIP run --json /dev/stdout: needs root and unshare")
        return
    target = os.path.join(BUILD, "tests", "programs", "fault_report_io")
    script = ("mount -t tmpfs -o size=1m tmpfs /dev && mknod -m 666 /dev/null c 1 3 && "
              "ln -s /proc/self/fd/1 /dev/stdout && ln -s /proc/self/fd/2 /dev/stderr && "
              f"{script_path()} run --json /dev/stdout {target} leak; status=$?; "
              "if [ -L /dev/stdout ]; then echo still-a-link >&2; fi; exit $status")
    result = subprocess.run([unshare, "--mount", "sh", "-c", script], capture_output=True, text=True,
                            env=base_env(), timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 66, result
    assert "still-a-link" in result.stderr, result.stderr
    assert "note:" not in result.stderr and "cannot write" not in result.stderr, result.stderr
    assert result.stdout.count("main returns 0\n") == 1, result.stdout[-300:]
    report = json.loads(result.stdout.replace("main returns 0\n", ""))
    assert [f["kind"] for f in report["findings"]] == ["thread_leak"], report["findings"]
