#!/usr/bin/env python3
"""What leakwatch adds to every process: start a tiny threaded program
(bench/spawn_tiny: one thread created and joined) N times per
configuration, interleaved in rounds, and print the mean wall time per
process and what each preload adds over none.

Configurations: none (no LD_PRELOAD), floor (a forwarding-only preload
library: what any interposer pays), leakwatch (the shim, default options),
and, with --json, leakwatch writing a JSON report (json_path set).

    python3 bench/run_spawn.py --lib build/libleakwatch.so \\
        --floor-lib build/bench/liblwforward.so --bin build/bench/spawn_tiny

Spawns use posix_spawn (os.posix_spawn), so Python's own fork cost is the
same on every side. Exit status 1 if any run failed.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time


def spawn_once(binary, env):
    started = time.perf_counter()
    pid = os.posix_spawn(binary, [binary], env)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - started
    return elapsed, os.waitstatus_to_exitcode(status)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lib", required=True)
    parser.add_argument("--floor-lib")
    parser.add_argument("--bin", required=True)
    parser.add_argument("-n", "--spawns", type=int, default=200, help="spawns per configuration (default 200)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds the spawns are split into")
    parser.add_argument("--json", action="store_true", help="also a side with json_path set")
    args = parser.parse_args()

    base_env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS")}
    configs = [("none", dict(base_env))]
    if args.floor_lib:
        configs.append(("floor", dict(base_env, LD_PRELOAD=os.path.abspath(args.floor_lib))))
    configs.append(("leakwatch", dict(base_env, LD_PRELOAD=os.path.abspath(args.lib))))
    tmp = tempfile.mkdtemp(prefix="lwspawn-")
    if args.json:
        configs.append(("leakwatch+json", dict(base_env, LD_PRELOAD=os.path.abspath(args.lib),
                                               LEAKWATCH_OPTIONS=f"json_path={tmp}/r-%p.json")))
    times = {name: [] for name, _ in configs}
    failed = 0
    per_round = max(1, args.spawns // args.rounds)
    for _ in range(args.rounds):
        for name, env in configs:
            for _ in range(per_round):
                elapsed, code = spawn_once(args.bin, env)
                failed += code != 0
                times[name].append(elapsed * 1000)
    for path in os.listdir(tmp):
        os.unlink(os.path.join(tmp, path))
    os.rmdir(tmp)

    base = statistics.mean(times["none"])
    base_median = statistics.median(times["none"])
    print(f"spawn_tiny: {per_round * args.rounds} spawns per configuration, {args.rounds} interleaved rounds, "
          f"load avg {os.getloadavg()[0]:.2f}")
    print(f"{'configuration':<16} {'mean ms':>9} {'median ms':>10} {'added (mean)':>13} {'added (median)':>15}")
    for name, _ in configs:
        mean = statistics.mean(times[name])
        median = statistics.median(times[name])
        print(f"{name:<16} {mean:9.3f} {median:10.3f} {mean - base:+12.3f} {median - base_median:+14.3f}")
    if failed:
        print(f"{failed} runs exited non-zero", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
