"""Readable C++ reports (issue 20 part 4): a std::thread is named by its
callable, runs of standard-library frames fold into one line in the text
(the JSON keeps them), identical threads are grouped by source line, and
_start never gets a source line. tests/programs/cxx_threads.cpp starts
free_worker(int), a lambda in main, and pair_worker(int) twice from one
line; all four are parked and leaked."""
import os
import re
import shutil
import subprocess
import tempfile

from lwtest import SOURCE, functions, program, run

FOLD_RE = re.compile(r"^\s+#(\d+)-#(\d+) \u2026 (\d+) frames in std::$")


def marker_line(source, marker):
    with open(SOURCE / "tests" / "programs" / source) as f:
        for number, text in enumerate(f, 1):
            if "/* %s */" % marker in text:
                return number
    raise AssertionError(f"{marker} not in {source}")


def run_threads(**options):
    r = run([program("cxx_threads")], options=options)
    assert r.returncode == 66 and r.stdout == "main returns\n", r
    return r


def by_start(r):
    starts = {}
    for f in r.findings("thread_leak"):
        for i in f["threads"]:
            starts.setdefault(r.thread(i)["start"], []).append((f, r.thread(i)))
    return starts


def test_std_thread_named_by_function_and_lambda():
    r = run_threads()
    starts = by_start(r)
    assert set(starts) == {"free_worker(int)", "main::{lambda()#1}", "pair_worker(int)"}, sorted(starts)
    assert not any("libstdc++" in (t["start"] or "") for t in r.report["threads"])
    for start in starts:
        t = starts[start][0][1]
        assert "T%d (%s)" % (t["id"], start) in r.stderr, (start, r.stderr)
    assert "libstdc++.so" not in r.stderr.split("blocking stack")[0], r.stderr


def test_std_thread_suppressed_by_callable_name():
    # The pattern matches the start name only: the lambda's frame is
    # "main::{lambda()#1}::operator()() const" ('?' for '#', a comment).
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "lw-cxx-supp-%d" % os.getpid())
    with open(path, "w") as f:
        f.write("thread_leak:main::{lambda()?1}\n")
    try:
        r = run([program("cxx_threads")], options={"suppressions": path})
    finally:
        os.unlink(path)
    assert r.returncode == 66, r
    assert r.report["suppressed"] == 1, r.report["findings"]
    starts = {r.thread(i)["start"] for f in r.findings() for i in f["threads"]}
    assert starts == {"free_worker(int)", "pair_worker(int)"}, starts
    assert "lambda" not in r.stderr.split("SUMMARY")[0], r.stderr


def test_std_frames_folded_in_text_kept_in_json():
    r = run_threads()
    folds = [FOLD_RE.match(line) for line in r.stderr.splitlines()]
    folds = [m for m in folds if m]
    assert folds, r.stderr
    for m in folds:
        first, last, count = (int(g) for g in m.groups())
        assert count >= 2 and last - first + 1 == count, m.group(0)
    # No standard-library internals left in the text...
    for hidden in ("__invoke_impl", "_M_run", "_Invoker", "_M_start_thread"):
        assert hidden not in r.stderr, (hidden, r.stderr)
    # ...and the program's frames are all there.
    assert "in free_worker(int) " in r.stderr and "in park() " in r.stderr, r.stderr
    # The JSON keeps every frame.
    t = by_start(r)["free_worker(int)"][0][1]
    names = [n or "" for n in functions(t["wait"]["stack"])]
    assert any("__invoke_impl" in n for n in names), names
    assert any(n.startswith("std::thread::_State_impl<") and n.endswith("_M_run()") for n in names), names
    assert any("_M_start_thread" in (n or "") for n in functions(t["create_stack"])), t["create_stack"]
    # Folded frames keep their numbers: the block of free_worker's thread
    # counts its frames as the JSON does.
    block = r.stderr[r.stderr.index("T%d (free_worker(int)), tid" % t["id"]):]
    block = block[block.index("blocking stack:"):block.index("created by")]
    numbers = [int(n) for n in re.findall(r"^\s+#(\d+)", block, re.M)]
    last = [int(m.group(2)) for m in map(FOLD_RE.match, block.splitlines()) if m]
    assert max(numbers + last) == len(t["wait"]["stack"]) - 1, (block, len(t["wait"]["stack"]))


def test_threads_created_on_one_line_grouped():
    line = marker_line("cxx_threads.cpp", "PAIR_LINE")
    r = run_threads()
    # The two threads that run pair_worker (found by their stacks).
    pairs = [(f, r.thread(i)) for f in r.findings("thread_leak") for i in f["threads"]
             if "pair_worker(int)" in functions(r.thread(i)["wait"]["stack"])]
    assert len(pairs) == 2, [f["message"] for f in r.findings()]
    finding = pairs[0][0]
    assert finding is pairs[1][0] and finding["count"] == 2, [f["message"] for f in r.findings()]
    assert finding["threads"] == sorted(t["id"] for _, t in pairs), finding
    assert finding["message"].startswith("2 threads like this: "), finding["message"]
    assert len(r.findings("thread_leak")) == 3, [f["message"] for f in r.findings()]
    # Precondition: two call sites, one line.
    mains = [next(f for f in t["create_stack"] if f.get("function") == "main") for _, t in pairs]
    assert mains[0]["pc"] != mains[1]["pc"], mains
    assert mains[0]["line"] == mains[1]["line"] == line, mains


def test_start_has_no_source_line():
    r = run_threads()
    seen = 0
    for t in r.report["threads"]:
        for frame in t["create_stack"] + t.get("wait", {}).get("stack", []):
            if frame.get("function") == "_start":
                seen += 1
                assert "file" not in frame and "line" not in frame, frame
    assert seen >= 4, seen
    assert not re.search(r"in _start \S+:\d+", r.stderr), r.stderr


def test_cxx_without_std_frames_unchanged():
    r = run([program("sym_cxx_plain")])
    assert r.returncode == 66, r
    assert "frames in std::" not in r.stderr, r.stderr
    t = r.thread(1)
    assert t["start"] == "plain::run_waiter(void*)", t["start"]
    block = r.stderr[r.stderr.index("blocking stack:"):r.stderr.index("created by")]
    assert len(re.findall(r"^\s+#\d+ ", block, re.M)) == len(t["wait"]["stack"]), block


def test_plain_c_threads_keep_start_names():
    r = run([program("thread_unjoined"), "one"])
    assert r.thread(1)["start"] == "finish_quickly", r.thread(1)
    assert "T1 (finish_quickly)" in r.stderr and "frames in std::" not in r.stderr, r.stderr


# A program linked with --gc-sections: the dropped function's debug
# information is resolved to address 0 by GNU ld, so its line rows and DIE
# range claim [0, size), over crt1's _start and main (in .text.startup at
# -O2), which sit in the first kilobytes. main creates a thread at
# CREATE_LINE that blocks on a mutex main holds, and returns.
GC_SECTIONS_CXX = r"""
#include <deque>
#include <pthread.h>
#include <unistd.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static void *worker(void *) { pthread_mutex_lock(&m); return 0; }
long never_called(volatile long *v, std::deque<long> &d) {  // dropped by --gc-sections
  long s = 0;
#define S4 s += v[0] * 3 + v[1]; v[2] = s ^ v[3]; s -= v[4] << 2; v[5] = s + v[6]; d.push_back(s);
#define S16 S4 S4 S4 S4
#define S64 S16 S16 S16 S16
  S64 S64 S64 S64 S64
  return s;
}
int main() {
  pthread_mutex_lock(&m);
  pthread_t t;
  pthread_create(&t, 0, worker, 0); /* CREATE_LINE */
  usleep(50000);
  return 0;
}
"""


def test_dropped_code_lends_no_lines_to_start_or_main():
    compiler = shutil.which("g++")
    assert compiler, "g++ is needed to build the --gc-sections program"
    work = tempfile.mkdtemp(prefix="lw-gc-")
    source = os.path.join(work, "gc_sections.cpp")
    with open(source, "w") as f:
        f.write(GC_SECTIONS_CXX)
    exe = os.path.join(work, "gc_sections")
    built = subprocess.run([compiler, "-g", "-O2", "-ffunction-sections", "-Wl,--gc-sections",
                            "-pthread", "-o", exe, source], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    create_line = GC_SECTIONS_CXX.splitlines().index(
        next(l for l in GC_SECTIONS_CXX.splitlines() if "CREATE_LINE" in l)) + 1
    r = run([exe])
    assert r.returncode == 66, r
    stack = r.thread(1)["create_stack"]
    main = next(f for f in stack if f.get("function") == "main")
    assert main.get("line") == create_line and main["file"].endswith("gc_sections.cpp"), (main, create_line)
    start = next(f for f in stack if f.get("function") == "_start")
    assert "file" not in start and "line" not in start, start
    assert "in main %s:%d" % (source, create_line) in r.stderr, r.stderr
    assert not re.search(r"in _start \S+:\d+", r.stderr), r.stderr
    shutil.rmtree(work, ignore_errors=True)


def test_a_cancellation_unwinds_through_the_wrappers_in_cxx():
    # The shim is C without exceptions: its cleanup handlers are glibc's
    # setjmp form, and a forced unwind crosses its frames on their unwind
    # tables alone. In C++, threads cancelled inside a condition variable
    # wait, sem_wait and pthread_join must still see abi::__forced_unwind,
    # run their destructors and end PTHREAD_CANCELED, as without the shim.
    expected = "".join(f"{i}: destructor ran, forced unwind seen; canceled\n" for i in range(3))
    plain = run([program("cxx_cancel_unwinds")], preload=False)
    assert plain.stdout == expected + "done\n", plain
    r = run([program("cxx_cancel_unwinds")])
    assert r.returncode == 0 and r.stdout == plain.stdout, r
    assert r.report["findings"] == [], r.report["findings"]
