#!/usr/bin/env python3
"""Write src/start_path.txt: the shim's functions that a short process runs.

The link places them first in the text, together (src/CMakeLists.txt, the
generated start_path.ld), so that a process that starts threads, takes
locks, waits and exits touches one or two 64 KiB windows of the shim's text
rather than all of them (the kernel maps a file's pages around a fault in
such windows; each window is one page fault, 15-18 us on a VM;
bench/README.md, seventh round).

The list is what callgrind sees the shim run in the short programs below
(tests/programs); run this again after changing what a process does at
start, at thread creation and end, in its waits or at exit:

    python3 scripts/start_path.py --build build

tests/test_cost.py checks that a short process stays within two windows.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

# A short process, the ways a test suite's processes are short: threads
# created and joined, every kind of lock and wait used correctly, C++.
PROGRAMS = [
    ["cost_clean_exit"],
    ["clean_joined_pool"],
    ["clean_thread_ends"],
    ["clean_sync_cxx"],
] + [["clean_sync", mode] for mode in ("mutex", "rwlock", "cond", "sem", "barrier", "c11")]

HEADER = """\
# The shim's code a short process runs, placed first in its text, side by
# side, in this order (src/CMakeLists.txt). Written by scripts/start_path.py
# from callgrind runs of short programs. A line is one of the shim's
# functions (its clones, name.part.0, go with it), or an object linked in
# statically (archive:object, or object), placed whole.
"""

# The statically linked code the shim runs, by the object it comes from
# (such a function has no source file in callgrind's output).
UNWINDER_OBJECTS = ["libgcc_eh.a:unwind-dw2.o", "libgcc_eh.a:unwind-dw2-fde-dip.o"]
STATIC_OBJECTS = {"pthread_atfork": "libc_nonshared.a:pthread_atfork.oS",
                  "atexit": "libc_nonshared.a:atexit.oS",
                  # GCC's start files: run from .init_array and .fini_array
                  "frame_dummy": "crtbeginS.o", "register_tm_clones": "crtbeginS.o",
                  "deregister_tm_clones": "crtbeginS.o", "__do_global_dtors_aux": "crtbeginS.o"}


def functions_run(build, lib, argv):
    with tempfile.TemporaryDirectory(prefix="lw-start-path-") as tmp:
        out = os.path.join(tmp, "callgrind.out")
        env = dict(os.environ, LD_PRELOAD=lib, LEAKWATCH_OPTIONS="")
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                        os.path.join(build, "tests", "programs", argv[0])] + argv[1:],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        annotated = subprocess.run(["callgrind_annotate", "--threshold=100", out], check=True,
                                   capture_output=True, text=True).stdout
    names, foreign = set(), set()
    for line in annotated.splitlines():
        # "  1,234 (0.5%)  /src/x.c:name [/path/libleakwatch.so.0.1.0]"; a
        # function of static libgcc's has "???" for its file.
        match = re.search(r" (\S+):(0x[0-9a-f]+|[A-Za-z_][A-Za-z0-9_.]*) \[(\S+)\]$", line)
        if match and "libleakwatch" in os.path.basename(match.group(3)):
            name = match.group(2).split(".")[0]
            (foreign if match.group(1) == "???" else names).add(name)
    for name in sorted(foreign):
        if name.startswith("0x"):  # callgrind names no local symbols of start files
            name = symbol_at(lib, int(name, 16))
        if name in STATIC_OBJECTS:
            names.add(STATIC_OBJECTS[name])
        elif name not in unwinder_functions():
            print("start_path.py: where is %s from? (STATIC_OBJECTS)" % name, file=sys.stderr)
    return names


def symbol_at(lib, address):
    """The function of `lib` at `address` (an offset in the file), from nm."""
    listing = subprocess.run(["nm", "-n", os.path.realpath(lib)], check=True, capture_output=True,
                             text=True).stdout
    found = "0x%x" % address
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in "tT" and int(fields[0], 16) <= address:
            found = fields[2]
    return found


def unwinder_functions():
    """The functions of UNWINDER_OBJECTS, from libgcc_eh.a's symbol table."""
    if not hasattr(unwinder_functions, "names"):
        archive = subprocess.run(["gcc", "-print-file-name=libgcc_eh.a"], check=True,
                                 capture_output=True, text=True).stdout.strip()
        listing = subprocess.run(["nm", archive], check=True, capture_output=True, text=True).stdout
        unwinder_functions.names = {line.split()[-1].split(".")[0] for line in listing.splitlines()
                                    if re.match(r"^[0-9a-f]+ [tT] ", line)}
    return unwinder_functions.names


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="the build directory")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "..", "src",
                                                         "start_path.txt"))
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    lib = os.path.join(build, "libleakwatch.so")
    # First what the shortest process runs (a thread created and joined),
    # with the unwinder its creation stack needs; then what locks and waits
    # add.
    # (The helper thread runs in the shortest process, or does not, as it
    # happens: a few runs.)
    first = set()
    for _ in range(3):
        first |= functions_run(build, lib, PROGRAMS[0])
    rest = set()
    for argv in PROGRAMS[1:]:
        rest |= functions_run(build, lib, argv)
    lines = sorted(first) + UNWINDER_OBJECTS + sorted(rest - first)
    with open(args.output, "w") as out:
        out.write(HEADER)
        for line in lines:
            out.write(line + "\n")
    print("%d lines in %s" % (len(lines), os.path.relpath(args.output)), file=sys.stderr)


if __name__ == "__main__":
    main()
