"""Symbols in stacks (SPEC sections 2 and 4): every FRAME has pc, function,
offset and module, plus file and line where debug info gives them, and
"inlined": true on a frame that was inlined into the next one.

The programs mark the lines that matter with a comment (/* WAIT_LINE */);
the cases read the line numbers from the source, so the programs can be
edited without touching the numbers here. Some programs are (re)built at
test time, with gcc/g++ into a temporary directory: an -O2 build, a build
without debug info, a stripped copy, and shared libraries for dlopen.

Every report of every case is also checked for what must hold anywhere: no
frame in the shim itself, no mangled C++ name, "inlined" only ever true."""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

from lwtest import SHIM, SOURCE, functions, program, run

PROGRAM_SOURCES = SOURCE / "tests" / "programs"
INCLUDE = SOURCE / "include"
RUN_TIMEOUT = 30
BUILD_TIMEOUT = 120


# --- helpers -----------------------------------------------------------------

def marker_lines(source):
    """{MARKER: line} for every line that ends with a /* MARKER */ comment."""
    found = {}
    path = PROGRAM_SOURCES / source
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        m = re.search(r"/\* ([A-Z][A-Z0-9_]*_LINE) \*/\s*$", text)
        if m:
            assert m.group(1) not in found, f"{m.group(1)} marks two lines of {source}"
            found[m.group(1)] = number
    return found


def build(compiler, sources, output, flags, shared=False):
    """Compile `sources` into `output`, for the cases that need a build
    CMake does not make."""
    argv = [compiler, *flags, "-I", str(INCLUDE)]
    if shared:
        argv += ["-fPIC", "-shared"]
    argv += ["-o", str(output), *[str(s) for s in sources], "-pthread"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stderr}"
    return str(output)


class temp_dir:
    """A directory for what a case builds, removed when the case is over."""

    def __enter__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="lwsym-")
        return pathlib.Path(self._dir.name)

    def __exit__(self, *exc):
        self._dir.cleanup()


def all_stacks(report):
    """(where, frames) for every stack in a report."""
    for t in report["threads"]:
        yield f"T{t['id']} create_stack", t["create_stack"]
        if "wait" in t:
            yield f"T{t['id']} wait.stack", t["wait"]["stack"]
        if "stack" in t:
            yield f"T{t['id']} stack", t["stack"]
        for i, h in enumerate(t["held"]):
            yield f"T{t['id']} held[{i}].stack", h["stack"]


def check_everywhere(result):
    """What must hold in every stack of every report a case produced."""
    assert result.json_files, f"no JSON report written: {result}"
    for report in result.json_files.values():
        for where, frames in all_stacks(report):
            for frame in frames:
                assert SHIM not in str(frame.get("module") or ""), \
                    f"shim frame in {where}: {frame}"
                name = frame.get("function") or ""
                assert not name.startswith("_Z"), f"mangled name in {where}: {frame}"
                assert frame.get("inlined", True) is True, f"inlined must be true or absent: {frame}"
                assert ("file" in frame) == ("line" in frame), frame
            # An inlined frame is followed by its caller, at the same pc:
            # the chain of one pc always ends in the real function.
            for i, frame in enumerate(frames):
                if frame.get("inlined"):
                    assert i + 1 < len(frames) and frames[i + 1]["pc"] == frame["pc"], \
                        f"{where}: inlined frame {i} is not followed by its caller: {frames}"
    for line in result.stderr.splitlines():
        if re.match(r"\s+#\d+ ", line):
            assert SHIM not in line, f"shim frame in the text report: {line}"


def run_checked(argv, status=66, **kwargs):
    kwargs.setdefault("timeout", RUN_TIMEOUT)
    r = run(argv, **kwargs)
    assert r.returncode == status, r
    check_everywhere(r)
    return r


def thread_by_start(r, start):
    matches = [t for t in r.report["threads"] if t.get("start") == start]
    assert len(matches) == 1, (start, [t.get("start") for t in r.report["threads"]])
    return matches[0]


def leaked_ids(report):
    return sorted(i for f in report["findings"] if f["kind"] == "thread_leak" for i in f["threads"])


def is_function(frame, name):
    """C names compare exactly; a C++ name is "name" or "name(...)"."""
    function = frame.get("function") or ""
    return function == name or function.startswith(name + "(")


def assert_frame(frame, function, file, line, inlined=False):
    """`frame` is `function` at `file`:`line` (file compared by basename)."""
    assert frame.get("function") == function, (function, frame)
    assert os.path.basename(frame.get("file") or "") == file, (file, line, frame)
    assert frame.get("line") == line, (file, line, frame)
    assert bool(frame.get("inlined", False)) == inlined, frame


def same_file(a, b):
    return bool(a) and bool(b) and os.path.realpath(a) == os.path.realpath(b)


def own_frames(frames, exe):
    """The frames in module `exe`."""
    return [f for f in frames if same_file(f.get("module"), exe)]


def first_outer(frames, exe):
    """The first frame in `exe` that is not an inlined one: the program's own
    function, below any inlined library templates."""
    for f in frames:
        if same_file(f.get("module"), exe) and not f.get("inlined"):
            return f
    raise AssertionError(f"no frame of {exe} in {functions(frames)}")


def sym_lines_run(exe):
    r = run_checked([exe])
    assert r.stdout == "main returns\n", r
    assert leaked_ids(r.report) == [1, 2, 3], r.report["findings"]
    return r


# --- exact file:line -----------------------------------------------------------

def test_cond_wait_and_create_lines():
    lines = marker_lines("sym_lines.c")
    r = sym_lines_run(program("sym_lines"))
    t = thread_by_start(r, "cond_worker")
    assert t["wait"]["call"] == "pthread_cond_wait", t["wait"]
    assert_frame(t["wait"]["stack"][0], "cond_worker", "sym_lines.c", lines["WAIT_LINE"])
    assert same_file(t["wait"]["stack"][0]["module"], program("sym_lines")), t["wait"]["stack"][0]
    assert_frame(t["create_stack"][0], "main", "sym_lines.c", lines["CREATE_COND_LINE"])
    assert t["held"] == [], t["held"]


def test_held_mutex_line():
    lines = marker_lines("sym_lines.c")
    r = sym_lines_run(program("sym_lines"))
    t = thread_by_start(r, "lock_holder")
    assert t["wait"]["call"] == "sem_wait", t["wait"]
    assert_frame(t["wait"]["stack"][0], "lock_holder", "sym_lines.c", lines["PARK_LINE"])
    assert len(t["held"]) == 1, t["held"]
    held = t["held"][0]
    assert held["call"] == "pthread_mutex_lock", held
    assert_frame(held["stack"][0], "lock_holder", "sym_lines.c", lines["LOCK_LINE"])
    # Below the call site: lock_holder's callers, as in the blocking stack.
    assert functions(held["stack"][1:]) == functions(t["wait"]["stack"][1:]), \
        (functions(held["stack"]), functions(t["wait"]["stack"]))
    assert_frame(t["create_stack"][0], "main", "sym_lines.c", lines["CREATE_HOLDER_LINE"])


def test_every_frame_of_a_call_chain():
    lines = marker_lines("sym_lines.c")
    r = sym_lines_run(program("sym_lines"))
    t = thread_by_start(r, "chain_start")
    stack = t["wait"]["stack"]
    assert_frame(stack[0], "chain_inner", "sym_lines.c", lines["CHAIN_WAIT_LINE"])
    assert_frame(stack[1], "chain_middle", "sym_lines.c", lines["CHAIN_MIDDLE_LINE"])
    assert_frame(stack[2], "chain_outer", "sym_lines.c", lines["CHAIN_OUTER_LINE"])
    assert_frame(stack[3], "chain_start", "sym_lines.c", lines["CHAIN_START_LINE"])
    assert stack[4]["function"] == "start_thread", functions(stack)
    # offset is from the function's start: pc - offset is the same function
    # start for no two different functions.
    starts = {int(f["pc"], 16) - f["offset"] for f in stack[:4]}
    assert len(starts) == 4, stack[:4]
    assert_frame(t["create_stack"][0], "main", "sym_lines.c", lines["CREATE_CHAIN_LINE"])


# --- C++ -------------------------------------------------------------------------

def test_cxx_method_and_lambda_demangled():
    lines = marker_lines("sym_cxx.cpp")
    exe = program("sym_cxx")
    r = run_checked([exe])
    assert r.stdout == "main returns\n", r
    assert leaked_ids(r.report) == [1, 2, 3], r.report["findings"]

    method = first_outer(r.thread(1)["wait"]["stack"], exe)
    assert_frame(method, "ns::Worker::run()", "sym_cxx.cpp", lines["METHOD_WAIT_LINE"])

    lam = first_outer(r.thread(2)["wait"]["stack"], exe)
    assert_frame(lam, "ns::start_lambda()::{lambda()#1}::operator()() const", "sym_cxx.cpp",
                 lines["LAMBDA_WAIT_LINE"])
    # The lambda was created by start_lambda(), called from main.
    creators = [f["function"] for f in own_frames(r.thread(2)["create_stack"], exe)
                if not f.get("inlined")]
    assert creators[:2] == ["ns::start_lambda()", "main"], functions(r.thread(2)["create_stack"])

    # libstdc++'s thread machinery, demangled too.
    for t in (r.thread(1), r.thread(2)):
        names = functions(t["wait"]["stack"])
        assert any(n and n.startswith("std::thread::_State_impl<") and n.endswith("::_M_run()")
                   for n in names), names


def test_cxx_inlined_std_templates():
    """std::mutex::lock and std::thread's constructor are inline templates:
    they show as inlined frames above the program's own function, which has
    the program's own file:line."""
    lines = marker_lines("sym_cxx.cpp")
    exe = program("sym_cxx")
    r = run_checked([exe])
    assert leaked_ids(r.report) == [1, 2, 3], r.report["findings"]

    t3 = r.thread(3)
    assert t3["wait"]["call"] == "pthread_mutex_lock", t3["wait"]
    stack = t3["wait"]["stack"]
    hold = [i for i, f in enumerate(stack) if f.get("function") == "ns::Box<int>::hold()"]
    assert hold, functions(stack)
    assert_frame(stack[hold[0]], "ns::Box<int>::hold()", "sym_cxx.cpp", lines["TEMPLATE_LOCK_LINE"])
    above = stack[:hold[0]]
    assert above and all(f.get("inlined") for f in above), \
        f"std::mutex::lock is inlined into hold(): expected inlined frames above it, got {above}"
    assert any(is_function(f, "std::mutex::lock") for f in above), functions(above)

    # main holds busy, locked at BUSY_LOCK_LINE through the same templates.
    held = r.thread(0)["held"]
    assert len(held) == 1, held
    assert_frame(first_outer(held[0]["stack"], exe), "main", "sym_cxx.cpp", lines["BUSY_LOCK_LINE"])

    # T1 holds side_, locked through std::mutex::lock (inlined) in run():
    # the held stack is the call site, then run()'s callers, found in T1's
    # present stack (which the inlined frames at the call site must not
    # hide).
    held = r.thread(1)["held"]
    assert len(held) == 1, held
    stack = held[0]["stack"]
    assert_frame(first_outer(stack, exe), "ns::Worker::run()", "sym_cxx.cpp", lines["SIDE_LOCK_LINE"])
    assert all(f.get("inlined") for f in stack[:stack.index(first_outer(stack, exe))]), stack
    below = functions(stack[stack.index(first_outer(stack, exe)) + 1:])
    assert any(n and n.startswith("std::thread::_State_impl<") for n in below), \
        f"held stack stops at the call site (run()'s callers not found): {functions(stack)}"

    # T1 was created by std::thread's constructor, inlined into main.
    assert_frame(first_outer(r.thread(1)["create_stack"], exe), "main", "sym_cxx.cpp",
                 lines["METHOD_CREATE_LINE"])


def test_cxx_demangled_without_libstdcxx():
    """A C++ program that needs only libc: its names are demangled all the same."""
    lines = marker_lines("sym_cxx_plain.cpp")
    exe = program("sym_cxx_plain")
    needed = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True, timeout=30).stdout
    assert "libstdc++" not in needed, "precondition: sym_cxx_plain must not need libstdc++"
    r = run_checked([exe])
    assert leaked_ids(r.report) == [1], r.report["findings"]
    t = r.thread(1)
    assert t["start"] == "plain::run_waiter(void*)", t["start"]
    stack = t["wait"]["stack"]
    assert_frame(stack[0], "plain::Waiter::wait_here(int)", "sym_cxx_plain.cpp", lines["PLAIN_WAIT_LINE"])
    assert_frame(stack[1], "plain::run_waiter(void*)", "sym_cxx_plain.cpp", lines["PLAIN_CALL_LINE"])


def check_inline(exe):
    lines = marker_lines("sym_inline.cpp")
    r = run_checked([exe])
    assert r.stdout == "main returns\n", r
    assert leaked_ids(r.report) == [1], r.report["findings"]
    stack = r.thread(1)["wait"]["stack"]
    assert len(stack) >= 3, stack
    inner, caller, worker = stack[0], stack[1], stack[2]
    # The inlined function: its own frame, at the blocking call.
    assert is_function(inner, "wait_until_go"), \
        f"frame 0 should be the inlined wait_until_go, not its caller: {functions(stack)}; frame 0 = {inner}"
    assert inner.get("inlined") is True, inner
    assert os.path.basename(inner.get("file") or "") == "sym_inline.cpp", inner
    assert inner.get("line") == lines["INLINE_WAIT_LINE"], (lines["INLINE_WAIT_LINE"], inner)
    assert same_file(inner["module"], exe), inner
    # Then the function it was inlined into, at the call site, same pc.
    assert_frame(caller, "waiting_caller(int volatile*)", "sym_inline.cpp", lines["INLINE_CALL_LINE"])
    assert caller["pc"] == inner["pc"], (inner, caller)
    assert same_file(caller["module"], exe), caller
    # Then an ordinary frame.
    assert_frame(worker, "worker(void*)", "sym_inline.cpp", lines["WORKER_CALL_LINE"])


def test_inlined_frame_o2():
    with temp_dir() as tmp:
        exe = build("g++", [PROGRAM_SOURCES / "sym_inline.cpp"], tmp / "sym_inline_o2",
                    ["-O2", "-g", "-fno-omit-frame-pointer"])
        check_inline(exe)


def test_inlined_frame_o1():
    check_inline(program("sym_inline"))


# --- missing symbols ---------------------------------------------------------

def addr2line(exe, address):
    """(function, file basename, line) of a file address, from binutils."""
    done = subprocess.run(["addr2line", "-f", "-e", exe, hex(address)], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    function, location = done.stdout.splitlines()[:2]
    file, _, line = location.rpartition(":")
    return function, os.path.basename(file), int(line.split()[0]) if line[:1].isdigit() else 0


def test_stripped_binary():
    original = program("sym_lines")
    with temp_dir() as tmp:
        exe = str(tmp / "sym_lines_stripped")
        shutil.copy(original, exe)
        done = subprocess.run(["strip", "--strip-all", exe], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        elf = subprocess.run(["readelf", "-h", "-S", exe], capture_output=True, text=True, timeout=30).stdout
        assert ".symtab" not in elf and ".debug_info" not in elf, "precondition: strip left symbols"
        assert "DYN" in elf, "precondition: a PIE (file addresses = module offsets)"

        r = run_checked([exe])
        # The report is whole: the same threads, waits and held locks as unstripped.
        assert r.stdout == "main returns\n", r
        assert leaked_ids(r.report) == [1, 2, 3], r.report["findings"]
        assert [r.thread(i)["wait"]["call"] for i in (1, 2, 3)] == \
            ["pthread_cond_wait", "sem_wait", "sem_wait"]
        assert [len(r.thread(i)["held"]) for i in (1, 2, 3)] == [0, 1, 0]
        assert "thread_leak" in r.stderr

        mine = 0
        for where, frames in all_stacks(r.report):
            assert frames or where == "T0 create_stack", f"empty {where}"
            for f in own_frames(frames, exe):
                mine += 1
                assert "file" not in f and "line" not in f, f
                if f["function"] is None:
                    assert isinstance(f["offset"], int) and f["offset"] > 0, f
        assert mine >= 6, "no frames of the stripped program"

        # The fallback is module+offset, and the offset is the file address:
        # the unstripped binary resolves it to the right function and line.
        lines = marker_lines("sym_lines.c")
        top = r.thread(1)["wait"]["stack"][0]
        assert same_file(top["module"], exe) and top["function"] is None, top
        assert addr2line(original, top["offset"] - 1) == ("cond_worker", "sym_lines.c", lines["WAIT_LINE"]), top
        create = r.thread(1)["create_stack"][0]
        assert same_file(create["module"], exe) and create["function"] is None, create
        assert addr2line(original, create["offset"] - 1) == ("main", "sym_lines.c", lines["CREATE_COND_LINE"]), create
        # Frames in libc keep their names.
        assert r.thread(1)["wait"]["stack"][1]["function"] == "start_thread", r.thread(1)["wait"]["stack"]
        # A start routine without a name is shown as module+offset.
        for i in (1, 2, 3):
            assert re.fullmatch(r"sym_lines_stripped\+0x[0-9a-f]+", r.thread(i)["start"] or ""), \
                r.thread(i)["start"]


def test_no_debug_info():
    """Built with -g0, not stripped: names from the symbol table, and no
    file or line keys at all for the program's frames."""
    with temp_dir() as tmp:
        exe = build("gcc", [PROGRAM_SOURCES / "sym_lines.c"], tmp / "sym_lines_g0",
                    ["-g0", "-O1", "-fno-omit-frame-pointer"])
        elf = subprocess.run(["readelf", "-S", exe], capture_output=True, text=True, timeout=30).stdout
        assert ".debug_info" not in elf and ".symtab" in elf, "precondition"
        r = sym_lines_run(exe)
        for where, frames in all_stacks(r.report):
            for f in own_frames(frames, exe):
                assert "file" not in f and "line" not in f, (where, f)
                assert f["function"], (where, f)
        t1 = thread_by_start(r, "cond_worker")
        assert t1["wait"]["stack"][0]["function"] == "cond_worker", functions(t1["wait"]["stack"])
        assert t1["create_stack"][0]["function"] == "main", functions(t1["create_stack"])
        t2 = thread_by_start(r, "lock_holder")
        assert t2["held"][0]["stack"][0]["function"] == "lock_holder", t2["held"]
        t3 = thread_by_start(r, "chain_start")
        assert functions(t3["wait"]["stack"])[:5] == \
            ["chain_inner", "chain_middle", "chain_outer", "chain_start", "start_thread"], \
            functions(t3["wait"]["stack"])


# --- dlopen ------------------------------------------------------------------------

def build_lib(tmp, tag):
    return build("gcc", [PROGRAM_SOURCES / "libsym" / "sym_lib.c"], tmp / f"libsym_{tag}.so",
                 ["-g", "-O1", "-fno-omit-frame-pointer", f"-DSYM_TAG={tag}"], shared=True)


def check_library_frame(r, thread_id, lib):
    lines = marker_lines("sym_dlopen.c")
    lib_lines = marker_lines("libsym/sym_lib.c")
    exe = program("sym_dlopen")
    t = r.thread(thread_id)
    assert t["wait"]["call"] == "pthread_cond_wait", t["wait"]
    stack = t["wait"]["stack"]
    assert_frame(stack[0], "alpha_block", "sym_lib.c", lib_lines["LIB_WAIT_LINE"])
    assert same_file(stack[0]["module"], lib), stack[0]
    assert_frame(stack[1], "call_block", "sym_dlopen.c", lines["LIB_CALL_LINE"])
    assert same_file(stack[1]["module"], exe), stack[1]
    assert_frame(t["create_stack"][0], "main", "sym_dlopen.c", lines["CREATE_LINE"])
    assert t["start"] == "call_block", t["start"]


def test_dlopen_library_frame():
    with temp_dir() as tmp:
        lib = build_lib(tmp, "alpha")
        r = run_checked([program("sym_dlopen"), "plain", lib])
        assert r.stdout == "main returns\n", r
        assert leaked_ids(r.report) == [1], r.report["findings"]
        check_library_frame(r, 1, lib)


def test_dlopen_after_symbols_were_loaded():
    """The shim read the process's modules (a live report) before the
    library was loaded: it must still find the library at exit."""
    with temp_dir() as tmp:
        lib = build_lib(tmp, "alpha")
        r = run_checked([program("sym_dlopen"), "warm", lib])
        assert r.stdout == "main returns\n", r
        assert leaked_ids(r.report) == [1, 2], r.report["findings"]
        check_library_frame(r, 2, lib)


def test_dlopen_after_dlclose():
    """A library whose frames were symbolized is dlclosed, and another with
    the same layout is loaded (at the same address, when the loader reuses
    it): frames in the new one name the new library, not the old one."""
    with temp_dir() as tmp:
        alpha = build_lib(tmp, "alpha")
        bravo = build_lib(tmp, "bravo")
        r = run_checked([program("sym_dlopen"), "reload", alpha, bravo])
        assert r.stdout.endswith("main returns\n"), r
        # T1 (the bravo worker) was joined; T2 is the alpha worker.
        assert leaked_ids(r.report) == [2], r.report["findings"]
        same_base = "same_base 1" in r.stdout
        try:
            check_library_frame(r, 2, alpha)
        except AssertionError as e:
            where = "at the address where" if same_base else "elsewhere than"
            raise AssertionError(f"alpha was loaded {where} bravo had been: {e}") from None


# --- fork ----------------------------------------------------------------------------

def check_fork(mode):
    lines = marker_lines("sym_fork.c")
    r = run_checked([program("sym_fork"), mode], status=0)
    assert "child status 66" in r.stdout, r
    assert r.report is not None and r.report["findings"] == [], r.report and r.report["findings"]
    children = [rep for pid, rep in r.json_files.items() if pid != r.report["pid"]]
    assert len(children) == 1, list(r.json_files)
    child = children[0]
    assert leaked_ids(child) == [1], child["findings"]
    t = [t for t in child["threads"] if t["id"] == 1][0]
    assert t["start"] == "child_worker", t["start"]
    assert_frame(t["wait"]["stack"][0], "child_worker", "sym_fork.c", lines["CHILD_WAIT_LINE"])
    assert_frame(t["create_stack"][0], "main", "sym_fork.c", lines["CHILD_CREATE_LINE"])
    assert t["wait"]["stack"][1]["function"] == "start_thread", functions(t["wait"]["stack"])


def test_fork_child_symbols():
    check_fork("cold")


def test_fork_child_symbols_after_parent_symbolized():
    check_fork("warm")
