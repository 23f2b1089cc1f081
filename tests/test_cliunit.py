"""Unit cases for the command line's package (python/leakwatch), imported
directly: the tables generated from the C side, option parsing, the
renderers on saved reports, and how the launcher finds the package.

test_cli.py runs the command as a user would; these call its parts."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import lwtest

PACKAGE_DIR = lwtest.BUILD / "python"


def package():
    path = str(PACKAGE_DIR)
    if path not in sys.path:
        sys.path.insert(0, path)
    import leakwatch.cli
    import leakwatch.constants
    import leakwatch.options
    import leakwatch.render_dot
    import leakwatch.render_text
    import leakwatch.reportdata
    return leakwatch


def c_table(header, macro):
    """The X(...) rows of `macro` in src/`header`, as lists of raw fields."""
    text = (lwtest.SOURCE / "src" / header).read_text()
    start = text.index(f"#define {macro}(X)")
    body = []
    for line in text[start:].splitlines()[1:]:
        body.append(line.rstrip("\\").strip())
        if not line.rstrip().endswith("\\"):
            break
    rows = re.findall(r"X\((.*?)\)\s*(?=X\(|$)", " ".join(body))
    return [[field.strip() for field in row.split(",")] for row in rows]


def test_constants_are_the_c_tables():
    """_constants.py is generated from the headers: every finding kind,
    call and option, in the C order, with the shim's defaults."""
    lw = package()
    c = lw.constants
    kinds = [(row[0], row[1].strip('"')) for row in c_table("finding.h", "LW_FINDING_KINDS")]
    assert [(k.id, k.name) for k in c.FINDING_KINDS] == kinds, c.FINDING_KINDS
    assert c.KIND.DEADLOCK == "deadlock" and c.KIND.THREAD_LEAK == "thread_leak"
    calls = [(row[0], row[1], row[2], row[3]) for row in c_table("calls.h", "LW_CALLS")]
    assert [tuple(call) for call in c.CALLS] == calls, c.CALLS
    options = [row[1] for row in c_table("options.h", "LW_OPTIONS")]
    assert [o.name for o in c.OPTIONS] == options, c.OPTIONS
    assert c.OPTIONS_BY_NAME["exitcode"].default == 66
    assert c.OPTIONS_BY_NAME["dump_signal"].default == 12
    assert c.OPTIONS_BY_NAME["deadlock_action"].values == ("report", "abort", "exit")
    # The signals dump_signal takes, as the shim's own parser took them.
    assert dict(c.DUMP_SIGNALS) == {"HUP": 1, "QUIT": 3, "USR1": 10, "USR2": 12, "URG": 23,
                                    "WINCH": 28, "PWR": 30}, c.DUMP_SIGNALS
    version = re.search(r"project\(leakwatch VERSION ([0-9.]+)",
                        (lwtest.SOURCE / "CMakeLists.txt").read_text()).group(1)
    assert c.VERSION == version


def test_no_finding_kind_spelled_in_the_command():
    """The command takes every kind from the generated table: none of its
    sources (launcher and package) spells one as a string."""
    lw = package()
    sources = [lwtest.SOURCE / "scripts" / "leakwatch"]
    sources += sorted((lwtest.SOURCE / "python" / "leakwatch").glob("*.py"))
    assert len(sources) > 5, sources
    for path in sources:
        text = path.read_text()
        for kind in lw.constants.FINDING_KINDS:
            for quoted in (f'"{kind.name}"', f"'{kind.name}'"):
                assert quoted not in text, f"{path} spells {quoted}"
        for call in ("pthread_mutex_lock", "pthread_join"):
            assert f'"{call}"' not in text, f"{path} spells {call}: use CALLS"


def test_parse_signal_value():
    lw = package()
    parse = lw.options.parse_signal_value
    for value, number in (("USR1", 10), ("SIGUSR1", 10), ("10", 10), ("0", 0), ("SIGPWR", 30),
                          ("HUP", 1)):
        assert parse(value) == number, value
    for value in ("SIGKILL", "9", "usr1", "", "SIG", "12abc", "\u0661\u0662", "65", "-1"):
        assert parse(value) is None, value
    from_options = lw.options.dump_signal_from_options
    assert from_options("") == 12
    assert from_options("dump_signal=QUIT:verbosity=1") == 3
    assert from_options("dump_signal=QUIT:dump_signal=KILL") == 3  # a bad one keeps the last
    assert from_options(" dump_signal=0 ") == 0


def saved_report():
    frame = {"pc": "0x401136", "function": "worker", "offset": 22, "module": "/bin/app",
             "file": "/src/app.c", "line": 12}
    return {"schema": "leakwatch-report/1", "trigger": "exit", "pid": 77, "exe": "/bin/app",
            "time": "2026-12-05T12:00:00Z", "suppressed": 1,
            "threads": [
                {"id": 0, "tid": 77, "name": "app", "start": None, "parent": None, "main": True,
                 "detached": False, "state": "running", "held": [], "create_stack": []},
                {"id": 1, "tid": 78, "name": "w1", "start": "worker", "parent": 0,
                 "detached": False, "state": "blocked", "create_stack": [frame],
                 "wait": {"call": "pthread_join", "object": "0x10", "owner": 2,
                          "waited_ms": 1500, "stack": [frame]},
                 "held": [{"object": "0x20", "call": "pthread_mutex_lock", "stack": [frame]}]},
                {"id": 2, "tid": 79, "name": "w2", "start": "worker", "parent": 0,
                 "detached": False, "state": "blocked", "create_stack": [frame], "held": [],
                 "wait": {"call": "pthread_mutex_lock", "object": "0x20", "owner": 1,
                          "waited_ms": 10, "stack": [frame]}}],
            "findings": [{"kind": "thread_leak", "threads": [1], "count": 2,
                          "message": "T1 (worker) still blocked at exit"}]}


def test_render_text_by_import():
    lw = package()
    lines = lw.render_text.render_text(lw.reportdata.Report(saved_report()))
    assert lines == [
        "==77== leakwatch: thread_leak: T1 (worker) still blocked at exit",
        "  T1 'w1' (worker), tid 78: blocked in pthread_join on 0x10, waiting for T2 'w2' (worker) "
        "(itself blocked in pthread_mutex_lock on 0x20) for 1.5 s, holding 0x20",
        "  blocking stack:",
        "    #0  0x000000401136 in worker /src/app.c:12",
        "  holds 0x20, taken by pthread_mutex_lock:",
        "    #0  0x000000401136 in worker /src/app.c:12",
        "  created by T0 'app' (main thread) at:",
        "    #0  0x000000401136 in worker /src/app.c:12",
        "",
        "==77== leakwatch: SUMMARY (exit): 2 findings: 2 thread_leak; 1 suppressed"], lines


def test_render_dot_by_import():
    lw = package()
    data = saved_report()
    data["findings"].append({"kind": "deadlock", "threads": [1, 2], "message": "cycle"})
    lines = lw.render_dot.render_dot(lw.reportdata.Report(data))
    text = "\n".join(lines)
    assert lines[0] == "digraph leakwatch {" and lines[-1] == "}", lines
    # A join waits for the thread itself; a mutex is an object held by its owner.
    assert '  "T1" -> "T2" [label="waits for", color=red, penwidth=2];' in lines, text
    assert '  "obj:0x20" [shape=ellipse, label="mutex 0x20", color=red, penwidth=2];' in lines, text
    assert '  "obj:0x20" -> "T1" [label="held by", color=red, penwidth=2];' in lines, text
    assert lw.render_dot.object_kind("pthread_cond_wait") == "cond"
    assert lw.render_dot.object_kind("thrd_join") == "thread-join"
    assert lw.render_dot.object_kind("no_such_call") == "object"


def test_help_imports_only_argparse():
    """`leakwatch --help` loads no command's module, nor json, subprocess
    or ctypes: it stays quick."""
    proc = subprocess.run([sys.executable, "-X", "importtime", str(lwtest.BUILD / "leakwatch"),
                           "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "usage: leakwatch" in proc.stdout, proc
    lines = [line.split("|")[-1] for line in proc.stderr.splitlines()
             if line.startswith("import time:")]
    # What site imports (a .pth file of the machine's) is not ours: only
    # what comes after its line counts.
    after_site = [i for i, name in enumerate(lines) if name.strip() == "site" and
                  not name.startswith("  ")]
    imported = {name.strip() for name in lines[after_site[-1] + 1 if after_site else 0:]}
    assert "leakwatch.cli" in imported, imported
    for heavy in ("json", "subprocess", "ctypes", "leakwatch.run", "leakwatch.dump",
                  "leakwatch.report", "leakwatch.sarif", "leakwatch.render_text"):
        assert heavy not in imported, f"--help imports {heavy}"
    # Every option of the C table is named in the help.
    lw = package()
    flat = " ".join(proc.stdout.split())
    for option in lw.constants.OPTIONS:
        assert option.name in flat, option.name


def test_python_m_leakwatch():
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_DIR))
    proc = subprocess.run([sys.executable, "-m", "leakwatch", "--version"], capture_output=True,
                          text=True, env=env, timeout=60)
    lw = package()
    assert proc.returncode == 0 and proc.stdout == f"leakwatch {lw.constants.VERSION}\n", proc


def test_source_tree_without_a_build():
    """A checkout's scripts/leakwatch with no build: --help still works,
    a command that needs the generated tables says to build, in one line."""
    root = tempfile.mkdtemp(prefix="lwnobuild-")
    try:
        shutil.copytree(lwtest.SOURCE / "python" / "leakwatch", os.path.join(root, "python", "leakwatch"),
                        ignore=shutil.ignore_patterns("__pycache__", "_constants.py"))
        os.makedirs(os.path.join(root, "scripts"))
        launcher = os.path.join(root, "scripts", "leakwatch")
        shutil.copy(lwtest.SOURCE / "scripts" / "leakwatch", launcher)
        report = os.path.join(root, "r.json")
        with open(report, "w") as f:
            json.dump(saved_report(), f)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEAKWATCH_")}
        proc = subprocess.run([launcher, "--help"], capture_output=True, text=True, env=env)
        assert proc.returncode == 0 and "usage: leakwatch" in proc.stdout, proc
        for argv in (["report", report], ["report", "--format", "sarif", report], ["--version"]):
            proc = subprocess.run([launcher, *argv], capture_output=True, text=True, env=env)
            assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc
            assert proc.stderr.count("\n") == 1 and "scripts/build.sh" in proc.stderr, proc.stderr
        # With a build tree named, the checkout's sources use its tables.
        env["LEAKWATCH_BUILD"] = str(lwtest.BUILD)
        proc = subprocess.run([launcher, "report", report], capture_output=True, text=True, env=env)
        assert proc.returncode == 0 and "thread_leak: T1 (worker)" in proc.stdout, proc
        # No package at all: one line saying so.
        shutil.rmtree(os.path.join(root, "python"))
        proc = subprocess.run([launcher, "--help"], capture_output=True, text=True,
                              env={k: v for k, v in env.items() if k != "LEAKWATCH_BUILD"})
        assert proc.returncode == 125 and "cannot find its Python package" in proc.stderr, proc
        assert "Traceback" not in proc.stderr, proc
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_render_text_evidence():
    """A finding's evidence, as data: the edges of a lock-order inversion
    and a misuse's call and earlier event, laid out as the shim's text
    lays them out (write_events in src/report_text.c)."""
    lw = package()

    def frame(function, line):
        return {"pc": "0x401000", "function": function, "offset": 0, "module": "/bin/app",
                "file": "/src/lo.c", "line": line}

    def event(role, thread, obj, edge=None, function="f", line=1, call="pthread_mutex_lock"):
        e = {"role": role, "thread": thread, "call": call, "object": obj,
             "stack": [frame(function, line)]}
        if edge is not None:
            e["edge"] = edge
        return e

    data = saved_report()
    data["findings"] = [
        {"kind": "lock_order_inversion", "threads": [2, 1], "count": 1, "all_threads_shown": False,
         "message": "2 locks taken in conflicting orders",
         "evidence": [event("held", 2, "0xa", 1, "take_b_first", 38),
                      event("taken", 2, "0xb", 1, "then_a", 32),
                      event("held", 1, "0xb", 2, "take_a_first", 26),
                      event("taken", 1, "0xa", 2, "then_b", 20)]},
        {"kind": "misuse", "threads": [0, 1], "count": 1, "all_threads_shown": False,
         "message": "T0 unlocks 0xa, which T1 holds",
         "evidence": [event("call", 0, "0xa", None, "release", 12, "pthread_mutex_unlock"),
                      dict(event("earlier", 1, "0xa", None, "grab", 7),
                           label="where the holder took it")]}]
    lines = lw.render_text.render_text(lw.reportdata.Report(data))
    assert lines[:19] == [
        "==77== leakwatch: lock_order_inversion: 2 locks taken in conflicting orders",
        "  edge 1 of the cycle, in T2: holding 0xa, taken at:",
        "      #0  0x000000401000 in take_b_first /src/lo.c:38",
        "    took 0xb at:",
        "      #0  0x000000401000 in then_a /src/lo.c:32",
        "  edge 2 of the cycle, in T1: holding 0xb, taken at:",
        "      #0  0x000000401000 in take_a_first /src/lo.c:26",
        "    took 0xa at:",
        "      #0  0x000000401000 in then_b /src/lo.c:20",
        "  T2 'w2' (worker), tid 79: blocked in pthread_mutex_lock on 0x20, owned by T1 'w1' (worker) "
        "(itself blocked in pthread_join on 0x10) for 10 ms, holding nothing",
        "  blocking stack:",
        "    #0  0x000000401136 in worker /src/app.c:12",
        "  created by T0 'app' (main thread) at:",
        "    #0  0x000000401136 in worker /src/app.c:12",
        "",
        "==77== leakwatch: misuse: T0 unlocks 0xa, which T1 holds",
        "  the call:",
        "    #0  0x000000401000 in release /src/lo.c:12",
        "  where the holder took it:"], lines
    assert lines[19] == "    #0  0x000000401000 in grab /src/lo.c:7", lines


def test_render_text_wait_details():
    """What the shim's text says of a wait, from the JSON: the call it came
    through (a C++ or GLib wrapper) and an owner in another process."""
    lw = package()
    data = saved_report()
    data["findings"] = []
    data["trigger"] = "dump"
    data["uptime_ms"] = 2000
    data["threads"][2]["wait"] = {"call": "pthread_mutex_lock", "object": "0x30",
                                  "through": "std::mutex::lock", "waited_ms": 10,
                                  "owner_process": {"pid": 900, "tid": 901}, "stack": []}
    lines = lw.render_text.render_text(lw.reportdata.Report(data))
    assert "  T2 'w2' (worker), tid 79: blocked in pthread_mutex_lock (std::mutex::lock) on 0x30, "\
        "owned by another process (thread 901 of pid 900) for 10 ms, holding nothing" in lines, lines


def test_render_text_folds_std_frames_and_names_objects():
    """As the shim's text: runs of standard-library frames in one line,
    objects with their names, a condition variable's last signal with its
    stack, and a live report of one kind summarised under that kind."""
    lw = package()

    def frame(function, file=None, line=None, module="/bin/app"):
        f = {"pc": "0x401000", "function": function, "offset": 0, "module": module}
        if file:
            f["file"], f["line"] = file, line
        return f

    stack = [frame("pthread_cond_wait", module="/lib/x86_64-linux-gnu/libc.so.6"),
             frame("worker", "/src/pool.cpp", 20),
             frame("void std::__invoke_impl<void, void (*)()>(std::__invoke_other, void (*&&)())",
                   "/usr/include/c++/12/bits/invoke.h", 61),
             frame("_M_invoke<0>", "/usr/include/c++/12/bits/std_thread.h", 252),
             frame("(libstdc++)", module="/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"),
             frame("start_thread", "./nptl/pthread_create.c", 442,
                   module="/lib/x86_64-linux-gnu/libc.so.6")]
    data = saved_report()
    data["trigger"] = "deadlock"
    data["threads"][1]["wait"] = {
        "call": "pthread_cond_wait", "object": "0x30", "object_name": "queue_cv",
        "mutex": "0x40", "mutex_name": "queue_lock", "waited_ms": 10, "signalled_by": 0,
        "last_signal": {"thread": 0, "call": "pthread_cond_signal", "waiters": 3, "count": 1,
                        "stack": [frame("submit", "/src/pool.cpp", 88)]},
        "stack": stack}
    data["threads"][1]["held"][0]["object_name"] = "accounts+48"
    data["findings"] = [{"kind": "long_wait", "threads": [1], "count": 1, "message": "T1 waits"}]
    lines = lw.render_text.render_text(lw.reportdata.Report(data))
    assert lines[1] == ("  T1 'w1' (worker), tid 78: blocked in pthread_cond_wait on 0x30 (queue_cv) "
                        "(mutex 0x40 (queue_lock)) for 10 ms (last signalled by T0 'app' "
                        "(main thread)), holding 0x20 (accounts+48)"), lines
    assert lines[2:11] == [
        "  blocking stack:",
        "    #0  0x000000401000 in pthread_cond_wait+0x0 (/lib/x86_64-linux-gnu/libc.so.6)",
        "    #1  0x000000401000 in worker /src/pool.cpp:20",
        "    #2-#4 \u2026 3 frames in std::",
        "    #5  0x000000401000 in start_thread ./nptl/pthread_create.c:442",
        "  T0 'app' (main thread) last signalled it once, with pthread_cond_signal at "
        "/src/pool.cpp:88, while 3 threads waited:",
        "    #0  0x000000401000 in submit /src/pool.cpp:88",
        "  holds 0x20 (accounts+48), taken by pthread_mutex_lock:",
        "    #0  0x000000401136 in worker /src/app.c:12"], lines
    assert lines[-1] == "==77== leakwatch: SUMMARY (long_wait): 1 finding: 1 long_wait; 1 suppressed", lines
    # One standard-library frame alone is not folded.
    single = lw.render_text.frame_lines(stack[:3], "  ")
    assert len(single) == 3 and "std::__invoke_impl" in single[2], single
