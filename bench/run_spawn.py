#!/usr/bin/env python3
"""What leakwatch adds to every process: start a tiny threaded program
(bench/spawn_tiny: one thread created and joined) N times per
configuration, interleaved in rounds, and print the wall time per process
and what each preload adds over none.

Configurations: none (no LD_PRELOAD), floor (a forwarding-only preload
library: what any interposer pays), leakwatch (the shim, default options),
with --json leakwatch writing a JSON report (json_path set), with
--compare NAME=LIB another build of the shim (an older one, say) in the
same rounds, and with --variant NAME=OPTIONS the shim with other options.

    python3 bench/run_spawn.py --lib build/libleakwatch.so \\
        --floor-lib build/bench/liblwforward.so --bin build/bench/spawn_tiny

`--args 'fork 20'` passes arguments to the program: spawn_tiny's fork mode
forks 20 children that each exit (each pays a shim's exit, not its start).

`--phases` runs `spawn_tiny phases` and splits each side's time where it
goes: the start (exec, the loader, every constructor, the shim's too),
pthread_create, pthread_join, and the exit (from the join to the parent's
waitpid), as medians and as added over none.

Spawns use posix_spawn (os.posix_spawn), so Python's own fork cost is the
same on every side. The added time is the difference of medians; its 95%
interval comes from drawing both sides' runs again with replacement (2,000
times, a fixed seed). Exit status 1 if any run failed.
"""
import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time

from benchstats import added_interval


def spawn_once(argv, env):
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - started
    return elapsed, os.waitstatus_to_exitcode(status)


def spawn_phases(argv, env):
    """One spawn of `spawn_tiny phases`: its total time (s), exit status,
    and the (start, create, join, exit) times in ms."""
    read_end, write_end = os.pipe()
    started = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    try:
        pid = os.posix_spawn(argv[0], argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, write_end, 1)])
    finally:
        os.close(write_end)
    _, status = os.waitpid(pid, 0)
    ended = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    with os.fdopen(read_end, "rb") as pipe:
        words = pipe.read().split()
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or len(words) != 4:
        return (ended - started) / 1e9, code or 1, None
    constructed, main_began, created, joined = map(int, words)
    phases = (constructed - started, created - main_began, joined - created, ended - joined)
    return (ended - started) / 1e9, 0, tuple(p / 1e6 for p in phases)


PHASE_NAMES = ("start", "create", "join", "exit")


def print_phases(configs, phases):
    """Per-phase medians (ms) of every side, and what each adds over none."""
    print()
    print(f"{'phase medians, ms':<20} " + " ".join(f"{name:>10}" for name in PHASE_NAMES)
          + "   added over none: " + " ".join(f"{name:>7}" for name in PHASE_NAMES))
    base = [statistics.median(p[i] for p in phases["none"]) for i in range(len(PHASE_NAMES))]
    for name, _, _ in configs:
        medians = [statistics.median(p[i] for p in phases[name]) for i in range(len(PHASE_NAMES))]
        print(f"{name:<20} " + " ".join(f"{m:10.3f}" for m in medians) + "                    "
              + " ".join(f"{m - b:+7.3f}" for m, b in zip(medians, base)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lib", required=True)
    parser.add_argument("--floor-lib")
    parser.add_argument("--bin", required=True)
    parser.add_argument("--args", default="", help="arguments for the program (shell words)")
    parser.add_argument("-n", "--spawns", type=int, default=200, help="spawns per configuration (default 200)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds the spawns are split into")
    parser.add_argument("--json", action="store_true", help="also a side with json_path set")
    parser.add_argument("--phases", action="store_true",
                        help="run `spawn_tiny phases` and split the time into start, create, join "
                             "and exit")
    parser.add_argument("--options", default="", help="LEAKWATCH_OPTIONS for the shim sides")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=LIB",
                        help="another build of the shim as one more side (repeatable)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=OPTIONS",
                        help="the shim with these LEAKWATCH_OPTIONS as one more side (repeatable)")
    parser.add_argument("--plain", action="append", default=[], metavar="NAME=ARGS",
                        help="the program with these arguments and no preload as one more side "
                             "(repeatable); `spawn_tiny idle` starts one more thread that only "
                             "sleeps, as the shim's helper thread does, `idle-pinned` starts it "
                             "on main's CPU, `idle-pinned-after` that just after the working "
                             "thread, as the helper starts; ARGS may begin with LD_PRELOAD=LIB "
                             "to preload another library")
    args = parser.parse_args()

    argv = [os.path.abspath(args.bin)] + shlex.split(args.args)
    if args.phases:
        if args.args or args.plain:
            parser.error("--phases runs `spawn_tiny phases`: no --args, no --plain")
        argv.append("phases")
    base_env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS")}
    tmp = tempfile.mkdtemp(prefix="lwspawn-")

    def shim_env(lib, json, extra=""):
        options = [o for o in [args.options, extra, f"json_path={tmp}/r-%p.json" if json else ""] if o]
        env = dict(base_env, LD_PRELOAD=os.path.abspath(lib))
        if options:
            env["LEAKWATCH_OPTIONS"] = ":".join(options)
        return env

    configs = [("none", dict(base_env), argv)]
    if args.floor_lib:
        configs.append(("floor", dict(base_env, LD_PRELOAD=os.path.abspath(args.floor_lib)), argv))
    shims = [("leakwatch", args.lib)]
    for item in args.compare:
        name, _, lib = item.partition("=")
        if not lib:
            parser.error(f"--compare wants NAME=LIB, not {item!r}")
        shims.append((name, lib))
    for name, lib in shims:
        configs.append((name, shim_env(lib, False), argv))
        if args.json:
            configs.append((name + "+json", shim_env(lib, True), argv))
    for item in args.variant:
        name, _, options = item.partition("=")
        configs.append((name, shim_env(args.lib, False, options), argv))
    for item in args.plain:
        name, _, words = item.partition("=")
        words = shlex.split(words)
        env = dict(base_env)
        if words and words[0].startswith("LD_PRELOAD="):  # another library, not the shim
            env["LD_PRELOAD"] = os.path.abspath(words.pop(0).partition("=")[2])
        configs.append((name, env, [os.path.abspath(args.bin)] + words))
    times = {name: [] for name, _, _ in configs}
    phases = {name: [] for name, _, _ in configs}
    failed = 0
    per_round = max(1, args.spawns // args.rounds)
    for _ in range(args.rounds):
        for name, env, side_argv in configs:
            for _ in range(per_round):
                if args.phases:
                    elapsed, code, split = spawn_phases(side_argv, env)
                    if split:
                        phases[name].append(split)
                else:
                    elapsed, code = spawn_once(side_argv, env)
                failed += code != 0
                times[name].append(elapsed * 1000)
            for path in os.listdir(tmp):
                os.unlink(os.path.join(tmp, path))
    os.rmdir(tmp)

    base = times["none"]
    base_median = statistics.median(base)
    print(f"{os.path.basename(argv[0])} {args.args}: {per_round * args.rounds} spawns per configuration, "
          f"{args.rounds} interleaved rounds, load avg {os.getloadavg()[0]:.2f}")
    print(f"{'configuration':<20} {'median ms':>10} {'mean ms':>9} {'added (median)':>15} {'95% interval':>18}")
    for name, _, _ in configs:
        median = statistics.median(times[name])
        low, high = added_interval(base, times[name]) if name != "none" else (0.0, 0.0)
        print(f"{name:<20} {median:10.3f} {statistics.mean(times[name]):9.3f} {median - base_median:+14.3f} "
              f"  {low:+7.3f} .. {high:+7.3f}")
    if args.phases and not failed:
        print_phases(configs, phases)
    if failed:
        print(f"{failed} runs exited non-zero", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
