"""The parsers that read what users type, fuzzed with libFuzzer (clang's
-fsanitize=fuzzer, with AddressSanitizer and UBSan) for a bounded number of
runs from the corpus kept in tests/fuzz/corpus. A crash, a leak, or any
sanitizer report fails the test."""
import os
import re
import shutil
import subprocess
import tempfile

from lwtest import SOURCE

SRC = SOURCE / "src"
UTHASH = "/usr/include"
SOURCES = {
    "options": ["options.c", "common.c", "userfile.c", "mem.c"],
    "suppressions": ["suppress.c", "options.c", "common.c", "userfile.c", "mem.c", "buf.c", "analysis.c", "report.c", "finding.c", "calls.c",
                     "report_text.c", "symbols.c", "debuginfo.c", "loader.c"],
}
LIBS = {"options": [], "suppressions": ["-ldw", "-lelf", "-ldl"]}
RUNS = int(os.environ.get("LEAKWATCH_FUZZ_RUNS", "200000"))


def fuzz(target):
    work = tempfile.mkdtemp(prefix=f"lwfuzz-{target}-")
    binary = os.path.join(work, target)
    sources = [str(SOURCE / "tests" / "fuzz" / f"fuzz_{target}.c")] + [str(SRC / s) for s in SOURCES[target]]
    build = subprocess.run(["clang", "-g", "-O1", "-std=gnu11", "-fsanitize=fuzzer,address,undefined",
                            "-fno-sanitize-recover=undefined", f"-I{SRC}", f"-I{UTHASH}", "-o", binary]
                           + sources + LIBS[target], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    corpus = os.path.join(work, "corpus")
    shutil.copytree(SOURCE / "tests" / "fuzz" / "corpus" / target, corpus)
    proc = subprocess.run([binary, corpus, f"-runs={RUNS}", "-max_total_time=120", "-max_len=4096",
                           "-print_final_stats=1"], capture_output=True, text=True, timeout=300)
    out = proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "ERROR:" not in out and "runtime error" not in out, out[-4000:]
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    print(f"fuzz {target}: {runs.group(1) if runs else '?'} runs, 0 crashes")
    shutil.rmtree(work)


def test_options_parser():
    fuzz("options")


def test_suppressions_parser():
    fuzz("suppressions")
