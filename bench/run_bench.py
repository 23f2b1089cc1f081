#!/usr/bin/env python3
"""run_bench.py - measure leakwatch's overhead against the same workload without it.

For each workload of lwbench (and lwbench_cxx) it runs the binary in rounds,
interleaved: base (plain), shim (LD_PRELOAD=<lib>), base, shim, ... so that
drift on a shared machine hits both sides alike. It then compares the median
ns_per_op of each side and prints one table: base, shim, ratio, target ratio,
PASS/OVER. With --floor-lib, a forwarding-only preload library runs as a
third side in the same rounds, and its ratio (the floor any interposer
pays, and a measure of the noise) is printed beside the shim's. With
--callgrind it also counts instructions per operation for the
single-threaded micro workloads, which does not depend on machine load.

It is a benchmark, not a test: being over target is reported, not failed.
Exit status: 0 when every run produced a number, 1 when a run crashed, timed
out or printed no result, 2 for bad arguments. Python 3 standard library only.
"""

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time


class Workload:
    """One lwbench workload: which binary, how many iterations, what target."""

    def __init__(self, name, binary, iters, target, scaled=True, min_iters=10):
        self.name = name
        self.binary = binary  # "c" (lwbench) or "cxx" (lwbench_cxx)
        self.iters = iters  # at --scale 1: about 0.3 s per run on a 2-core VM
        self.target = target  # max acceptable median shim/base ratio, or None
        self.scaled = scaled  # False: the count is part of what is measured
        self.min_iters = min_iters

    def iterations(self, scale):
        if not self.scaled:
            return self.iters
        return max(self.min_iters, int(round(self.iters * scale)))


# The whole suite at --scale 1 and 7 rounds takes about 1-2 minutes on 2 cores.
WORKLOADS = [
    Workload("create_join", "c", 20000, 1.25),
    Workload("mutex_uncontended", "c", 40000000, 1.35),
    Workload("mutex_uncontended_mt", "c", 20000000, 1.35),
    Workload("mutex_contended", "c", 8000000, 1.15),
    Workload("cond_pingpong", "c", 150000, 1.15),
    Workload("rwlock_read", "c", 15000000, 1.3),
    Workload("sem_post_wait", "c", 15000000, 1.2),
    Workload("cond_signal_nowaiter", "c", 40000000, 1.3),
    Workload("nested4", "c", 10000000, 1.5),
    Workload("nested4_8threads", "c", 4000000, 1.5, min_iters=80),
    # 100,000 distinct mutexes whatever the scale: the RSS numbers are the point.
    Workload("many_mutexes", "c", 100000, None, scaled=False),
    # 100,000 new lock-order edge pairs whatever the scale: how the graph
    # grows is the point (a ratio that grows with the count is quadratic).
    Workload("nested_pairs", "c", 100000, None, scaled=False),
    Workload("stdmutex", "cxx", 40000000, 1.4),
    # syscall() is wrapped for futex waits: any other number must cost nothing measurable.
    Workload("syscall_getpid", "cxx", 20000000, 1.05),
    Workload("semaphore_pingpong", "cxx", 1000000, 1.15),
]

# One thread at a time, so callgrind's count is exact and repeatable.
CALLGRIND_WORKLOADS = ["mutex_uncontended", "mutex_uncontended_mt", "rwlock_read", "sem_post_wait", "cond_signal_nowaiter",
                       "nested4", "stdmutex",
                       "syscall_getpid"]

RESULT_RE = re.compile(r"^workload=\S+ .*$", re.MULTILINE)
COLLECTED_RE = re.compile(r"^==\d+== Collected : ([\d,]+)", re.MULTILINE)


class RunError(Exception):
    pass


def parse_result(stdout):
    """The key=value fields of the one `workload=...` line in stdout."""
    match = RESULT_RE.search(stdout)
    if match is None:
        raise RunError("no 'workload=' line in the output")
    fields = dict(tok.split("=", 1) for tok in match.group(0).split() if "=" in tok)
    try:
        fields["ns_per_op"] = float(fields["ns_per_op"])
    except (KeyError, ValueError):
        raise RunError("no numeric ns_per_op in: " + match.group(0))
    return fields


def tail(text, lines=8):
    return "\n".join(text.strip().splitlines()[-lines:])


def run(cmd, env, timeout):
    """Runs cmd; returns (stdout, stderr). Raises RunError unless it exits 0."""
    try:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunError("timed out after %ss: %s" % (timeout, " ".join(cmd)))
    except OSError as err:
        raise RunError("cannot run %s: %s" % (cmd[0], err))
    # ld.so only warns when a preload fails, and the run would be a base run.
    if "cannot be preloaded" in proc.stderr:
        raise RunError("the shim was not preloaded:\n" + tail(proc.stderr))
    if proc.returncode != 0:
        raise RunError("exit status %d from %s\n%s" % (proc.returncode, " ".join(cmd),
                                                       tail(proc.stderr)))
    return proc.stdout, proc.stderr


def make_envs(lib, options, floor_lib=None):
    """The environment of each side, in the order rounds run them: base,
    floor (with --floor-lib), shim. They differ only in LD_PRELOAD and the
    shim's LEAKWATCH_OPTIONS."""
    base = dict(os.environ)
    base.pop("LD_PRELOAD", None)
    base.pop("LEAKWATCH_OPTIONS", None)
    envs = {"base": base}
    if floor_lib:
        envs["floor"] = dict(base, LD_PRELOAD=os.path.abspath(floor_lib))
    envs["shim"] = dict(base, LD_PRELOAD=os.path.abspath(lib), LEAKWATCH_OPTIONS=options)
    return envs


def spread(values):
    """(max - min) / median, in percent: how noisy the rounds were."""
    med = statistics.median(values)
    return 100.0 * (max(values) - min(values)) / med if med else 0.0


def ratio_interval(shim_values, base_values, resamples=2000, seed=1):
    """A 95% bootstrap interval of median(shim) / median(base): rounds are
    drawn again with replacement, each side on its own. It says how far the
    ratio could move with the same machine noise: a target inside it is not
    settled by this run. Seeded, so one set of rounds always gives one
    interval."""
    draw = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        shim = statistics.median(draw.choices(shim_values, k=len(shim_values)))
        base = statistics.median(draw.choices(base_values, k=len(base_values)))
        ratios.append(shim / base if base > 0 else float("inf"))
    ratios.sort()
    return ratios[int(0.025 * resamples)], ratios[int(0.975 * resamples) - 1]


def fmt_ns(value):
    return "%.1f" % value if value >= 100 else "%.2f" % value


def bench_workload(work, binary, args, envs):
    """Runs the interleaved rounds of one workload; returns a result dict."""
    iters = work.iterations(args.scale)
    cmd = [binary, work.name, str(iters)]
    sides = {side: [] for side in envs}
    for rnd in range(args.rounds):
        for side in envs:
            stdout, _ = run(cmd, envs[side], args.timeout)
            fields = parse_result(stdout)
            sides[side].append(fields)
            if args.verbose:
                extra = " ".join("%s=%s" % kv for kv in fields.items()
                                 if kv[0] not in ("workload", "iters", "ns_per_op"))
                print("  %-18s round %d %s %12s ns/op %s" % (work.name, rnd + 1, side,
                                                            fmt_ns(fields["ns_per_op"]), extra),
                      file=sys.stderr)
    result = {"work": work, "iters": iters}
    ns_per_op = {}
    for side, runs in sides.items():
        values = ns_per_op[side] = [r["ns_per_op"] for r in runs]
        result[side] = statistics.median(values)
        result[side + "_spread"] = spread(values)
        result[side + "_runs"] = runs
    for side in ("floor", "shim"):
        if side in result:
            result[side + "_ratio"] = (result[side] / result["base"] if result["base"] > 0
                                       else float("inf"))
    result["ratio"] = result["shim_ratio"]
    result["ratio_interval"] = ratio_interval(ns_per_op["shim"], ns_per_op["base"])
    return result


def print_table(results, errors):
    header = "%-18s %10s %12s %12s %7s %13s %7s %7s %7s  %s" % (
        "workload", "iters", "base ns/op", "shim ns/op", "ratio", "95% interval", "target",
        "result", "floor", "spread base/shim")
    print(header)
    print("-" * len(header))
    for res in results:
        work = res["work"]
        if work.target is None:
            target, verdict = "-", "-"
        else:
            target = "%.2f" % work.target
            verdict = "PASS" if res["ratio"] <= work.target else "OVER"
        floor = "%.3f" % res["floor_ratio"] if "floor_ratio" in res else "-"
        low, high = res["ratio_interval"]
        print("%-18s %10d %12s %12s %7.3f %13s %7s %7s %7s  %4.0f%% / %.0f%%" % (
            work.name, res["iters"], fmt_ns(res["base"]), fmt_ns(res["shim"]), res["ratio"],
            "%.2f-%.2f" % (low, high), target, verdict, floor, res["base_spread"],
            res["shim_spread"]))
    for name, message in errors:
        print("%-18s %10s %12s %12s %7s %13s %7s %7s %7s  %s" % (
            name, "-", "-", "-", "-", "-", "-", "ERROR", "-", message.splitlines()[0]))


def median_field(runs, key):
    values = [int(r[key]) for r in runs if key in r and int(r[key]) >= 0]
    return statistics.median(values) if values else None


def print_memory(results):
    """RSS of many_mutexes: what 100,000 live mutexes cost, and what destroy returned."""
    for res in results:
        if res["work"].name != "many_mutexes":
            continue
        print()
        print("many_mutexes memory (KiB of RSS, median of rounds; %d mutexes):" % res["iters"])
        print("  %-5s %10s %10s %10s %12s %12s" % ("side", "before", "peak", "after",
                                                  "peak-before", "after-before"))
        deltas = {}
        for side in ("base", "shim"):
            runs = res[side + "_runs"]
            before = median_field(runs, "rss_before_kib")
            peak = median_field(runs, "rss_peak_kib")
            after = median_field(runs, "rss_after_kib")
            if None in (before, peak, after):
                print("  %-5s (no RSS in the output)" % side)
                continue
            deltas[side] = (peak - before, after - before)
            print("  %-5s %10d %10d %10d %+12d %+12d" % (side, before, peak, after,
                                                         peak - before, after - before))
        if len(deltas) == 2:
            print("  shim extra: %+d KiB while the mutexes live, %+d KiB after destroy" % (
                deltas["shim"][0] - deltas["base"][0], deltas["shim"][1] - deltas["base"][1]))
            print("  (RSS is coarse: freed heap is not always returned to the kernel)")


def callgrind_ir(valgrind, binary, name, iters, env, timeout):
    """Total instructions (Ir) callgrind counted for one run."""
    cmd = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", binary, name,
           str(iters)]
    _, stderr = run(cmd, env, timeout)
    match = COLLECTED_RE.search(stderr)
    if match is None:
        raise RunError("no 'Collected :' line from callgrind:\n" + tail(stderr))
    return int(match.group(1).replace(",", ""))


def run_callgrind(selected, binaries, args, envs):
    """Instructions per op, base and shim: (Ir(2N) - Ir(N)) / N cancels startup costs."""
    valgrind = shutil.which("valgrind")
    print()
    if valgrind is None:
        print("callgrind: valgrind not found on PATH, skipped")
        return 0
    n = args.callgrind_iters
    names = [w.name for w in selected if w.name in CALLGRIND_WORKLOADS]
    if not names:
        print("callgrind: none of the selected workloads is a callgrind workload (%s)" %
              ", ".join(CALLGRIND_WORKLOADS))
        return 0
    print("callgrind: instructions per op = (Ir(%d) - Ir(%d)) / %d" % (2 * n, n, n))
    header = "%-18s %15s %15s %15s %15s" % ("workload", "base instr/op", "shim instr/op",
                                            "extra instr/op", "floor extra")
    print(header)
    print("-" * len(header))
    failed = 0
    for name in names:
        binary = binaries[next(w.binary for w in WORKLOADS if w.name == name)]
        print("callgrind %s ..." % name, file=sys.stderr)
        try:
            per_op = {}
            for side in envs:
                ir1 = callgrind_ir(valgrind, binary, name, n, envs[side], args.timeout)
                ir2 = callgrind_ir(valgrind, binary, name, 2 * n, envs[side], args.timeout)
                per_op[side] = (ir2 - ir1) / float(n)
            floor = ("%+.1f" % (per_op["floor"] - per_op["base"])) if "floor" in per_op else "-"
            print("%-18s %15.1f %15.1f %+15.1f %15s" % (name, per_op["base"], per_op["shim"],
                                                        per_op["shim"] - per_op["base"], floor))
        except RunError as err:
            failed += 1
            print("%-18s %15s %15s %15s %15s  %s" % (name, "-", "-", "ERROR", "-",
                                                     str(err).splitlines()[0]))
            print(str(err), file=sys.stderr)
    return failed


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Measure leakwatch's overhead: each workload with and without the shim.")
    parser.add_argument("--lib", required=True, help="the shim, e.g. build/libleakwatch.so")
    parser.add_argument("--floor-lib",
                        help="a forwarding-only preload library, e.g. build/bench/liblwforward.so: "
                        "run as a third side, its ratio is the floor of interposition")
    parser.add_argument("--bin", required=True, help="the C benchmark, e.g. build/bench/lwbench")
    parser.add_argument("--cxx-bin", help="the C++ benchmark, e.g. build/bench/lwbench_cxx "
                        "(without it, stdmutex is skipped)")
    parser.add_argument("--rounds", type=int, default=7, help="runs per side (default 7)")
    parser.add_argument("--only", help="comma-separated workloads to run (default: all)")
    parser.add_argument("--options", default="exitcode=0",
                        help="LEAKWATCH_OPTIONS for the shim runs (default 'exitcode=0')")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply iteration counts (default 1.0; many_mutexes stays fixed)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds before one run counts as hung (default 300)")
    parser.add_argument("--callgrind", action="store_true",
                        help="also count instructions per op under callgrind for %s" %
                        ", ".join(CALLGRIND_WORKLOADS))
    parser.add_argument("--callgrind-iters", type=int, default=100000,
                        help="N for the callgrind runs at N and 2N (default 100000)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every round")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not args.scale > 0:
        parser.error("--scale must be positive")
    if args.callgrind_iters < 1:
        parser.error("--callgrind-iters must be at least 1")
    for opt, path in (("--lib", args.lib), ("--floor-lib", args.floor_lib), ("--bin", args.bin),
                      ("--cxx-bin", args.cxx_bin)):
        if path is not None and not os.path.isfile(path):
            parser.error("%s: no such file: %s" % (opt, path))
    known = [w.name for w in WORKLOADS]
    if args.only:
        wanted = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in known]
        if unknown:
            parser.error("unknown workload(s) %s; known: %s" % (", ".join(unknown),
                                                                ", ".join(known)))
        args.only = wanted
    return args


def main(argv):
    args = parse_args(argv)
    binaries = {"c": os.path.abspath(args.bin),
                "cxx": os.path.abspath(args.cxx_bin) if args.cxx_bin else None}
    selected = [w for w in WORKLOADS if args.only is None or w.name in args.only]
    skipped = [w.name for w in selected if binaries[w.binary] is None]
    selected = [w for w in selected if binaries[w.binary] is not None]
    envs = make_envs(args.lib, args.options, args.floor_lib)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("leakwatch overhead benchmark, %s" % time.strftime("%Y-%m-%d %H:%M:%S"))
    print("lib: %s   options: %s" % (os.path.abspath(args.lib), args.options))
    print("rounds: %d interleaved per side   scale: %g   cpus: %s   load avg: %.2f" % (
        args.rounds, args.scale, os.cpu_count(), load))
    if skipped:
        print("skipped (no --cxx-bin): %s" % ", ".join(skipped))
    print()
    sys.stdout.flush()  # the header before the progress lines on stderr

    started = time.time()
    results, errors = [], []
    for work in selected:
        print("running %s (%d iterations x %d rounds x %d) ..." % (
            work.name, work.iterations(args.scale), args.rounds, len(envs)), file=sys.stderr)
        try:
            results.append(bench_workload(work, binaries[work.binary], args, envs))
        except RunError as err:
            errors.append((work.name, str(err)))
            print("%s: %s" % (work.name, err), file=sys.stderr)

    print_table(results, errors)
    print_memory(results)
    failed = len(errors)
    if args.callgrind:
        failed += run_callgrind(selected, binaries, args, envs)
    print()
    print("ratio = median shim / median base; 95%% interval: bootstrap over the rounds; "
          "PASS when ratio <= target; floor = median forwarding-only / median base. "
          "Took %.0f s." % (time.time() - started))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
