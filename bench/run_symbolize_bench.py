#!/usr/bin/env python3
"""run_symbolize_bench.py - how long leakwatch's exit report takes for 1,000
leaked threads with stacks of up to 32 frames (bench/symbolize_bench.c).

It builds nothing: it runs <build>/bench/symbolize_bench, in rounds,
interleaved, in three configurations:

  base       no shim: the time the kernel takes to end 1,000 threads;
  shim       LD_PRELOAD=libleakwatch.so, stack_depth=32, text report to a
             file (log_path);
  shim+json  the same, and the JSON report too (json_path).

The program prints CLOCK_MONOTONIC just before main returns; the driver
reads CLOCK_MONOTONIC (system-wide) as soon as the process has ended. The
difference is the "report time": everything between main returning and the
process being gone. For the shim that is its exit grace (waiting for
threads that may still finish: exit_grace_ms, cut short once all threads sit
in untimed waits), the snapshot, unwinding, symbolization, analysis and
writing the report. It prints the median per configuration and shim - base.

A benchmark, not a test: exit status 0 when every run worked (whatever the
times), 1 when a run failed or its report was incomplete, 2 for bad
arguments. Python 3 standard library only.
"""

import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
TARGET_MS = 1000.0
LINE_RE = re.compile(r"threads=(\d+) main_returns_ns=(\d+)")


class RunError(Exception):
    pass


def one_run(binary, threads, lib, options, with_json, workdir, timeout):
    """One run; returns the report time in ms."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("LEAKWATCH_OPTIONS", None)
    text_path = json_path = None
    if lib:
        fd, text_path = tempfile.mkstemp(prefix="report-", suffix=".txt", dir=workdir)
        os.close(fd)
        opts = ["stack_depth=32", f"log_path={text_path}"]
        if with_json:
            json_path = os.path.join(workdir, f"report-{time.monotonic_ns()}.json")
            opts.append(f"json_path={json_path}")
        if options:
            opts.append(options)
        env["LD_PRELOAD"] = lib
        env["LEAKWATCH_OPTIONS"] = ":".join(opts)
    proc = subprocess.Popen([binary, str(threads)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RunError(f"no exit within {timeout} s")
    end_ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    match = LINE_RE.search(stdout)
    if not match:
        raise RunError(f"no main_returns_ns line (status {proc.returncode}); stderr: {stderr[-500:]}")
    expected = 66 if lib else 0
    if proc.returncode != expected:
        raise RunError(f"exit status {proc.returncode}, expected {expected}; stderr: {stderr[-500:]}")
    if lib:
        check_reports(text_path, json_path, threads)
        for path in (text_path, json_path):
            if path and os.path.exists(path):
                os.unlink(path)
    return (end_ns - int(match.group(2))) / 1e6


def check_reports(text_path, json_path, threads):
    """The report must be whole: every thread reported, deep stacks kept."""
    text = pathlib.Path(text_path).read_text()
    if f"{threads} thread_leak" not in text:
        raise RunError(f"the text report does not count {threads} thread_leaks")
    if json_path:
        with open(json_path) as f:
            report = json.load(f)
        leaked = sum(f.get("count", 1) for f in report["findings"] if f["kind"] == "thread_leak")
        depths = [len(t["wait"]["stack"]) for t in report["threads"] if "wait" in t]
        if leaked != threads or len(depths) != threads or max(depths) != 32:
            raise RunError(f"incomplete JSON report: {leaked} leaks, {len(depths)} stacks, "
                           f"deepest {max(depths, default=0)}")
        unnamed = sum(1 for t in report["threads"] if "wait" in t
                      for fr in t["wait"]["stack"] if not fr.get("function"))
        if unnamed:
            raise RunError(f"{unnamed} frames without a function name")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    build = HERE.parent / "build"
    parser.add_argument("--lib", default=str(build / "libleakwatch.so"))
    parser.add_argument("--bin", default=str(build / "bench" / "symbolize_bench"))
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--options", default="", help="extra LEAKWATCH_OPTIONS, k=v:k=v")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("-v", action="store_true", help="print every run")
    args = parser.parse_args(argv)
    for path in (args.lib, args.bin):
        if not os.path.exists(path):
            print(f"{path} not found (build first: cmake --build build)", file=sys.stderr)
            return 2
    if args.rounds < 1 or args.threads < 1:
        print("--rounds and --threads must be positive", file=sys.stderr)
        return 2

    configs = [("base", None, False), ("shim", args.lib, False), ("shim+json", args.lib, True)]
    times = {name: [] for name, _, _ in configs}
    failed = False
    with tempfile.TemporaryDirectory(prefix="lwsymbench-") as workdir:
        for round_no in range(args.rounds):
            for name, lib, with_json in configs:
                try:
                    ms = one_run(args.bin, args.threads, lib, args.options, with_json, workdir,
                                 args.timeout)
                except RunError as e:
                    print(f"round {round_no + 1} {name}: FAILED: {e}", file=sys.stderr)
                    failed = True
                    continue
                times[name].append(ms)
                if args.v:
                    print(f"round {round_no + 1} {name:10s} {ms:8.1f} ms")

    print(f"exit report time, {args.threads} leaked threads, stack_depth=32, "
          f"{args.rounds} rounds (median, min-max):")
    base = statistics.median(times["base"]) if times["base"] else None
    for name, _, _ in configs:
        if not times[name]:
            print(f"  {name:10s}  no result")
            continue
        med = statistics.median(times[name])
        line = f"  {name:10s} {med:8.1f} ms  ({min(times[name]):.1f}-{max(times[name]):.1f})"
        if name != "base" and base is not None:
            verdict = "under" if med - base < TARGET_MS else "OVER"
            line += f"  shim - base {med - base:8.1f} ms  ({verdict} the {TARGET_MS:.0f} ms target)"
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
