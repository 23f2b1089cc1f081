#!/usr/bin/env python3
"""redis-server's CPU time under a preload: start redis-server (no
persistence) with no preload, the forwarding floor, and the shim, in
interleaved rounds; drive each with redis-benchmark; and print the
server's user+system CPU time spent during the benchmark (/proc/PID/stat)
and over its whole life (wait4: start-up, benchmark, exit with the shim's
report), per side: median and a 95% interval of the difference of medians.

    python3 bench/run_redis_cpu.py --lib build/libleakwatch.so \\
        --floor-lib build/bench/liblwforward.so

--variant NAME=OPTIONS adds the shim with other LEAKWATCH_OPTIONS;
--compare NAME=LIB another build of the shim. --server-args passes more
arguments to redis-server (`--io-threads 3`, say).
"""
import argparse
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchstats import added_interval

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def one_run(env, requests, clients, server_args, workdir):
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", workdir, "--daemonize", "no", "--logfile", os.path.join(workdir, "redis.log")]
    argv += shlex.split(server_args)
    server = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
    plain = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS")}
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(cli + ["ping"], env=plain, capture_output=True).stdout != b"PONG\n":
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        before = cpu_seconds(server.pid)
        bench = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-n", str(requests),
                                "-c", str(clients), "-t", "set,get"], env=plain, capture_output=True)
        if bench.returncode != 0:
            raise RuntimeError(f"redis-benchmark failed: {bench.stderr!r}")
        used = cpu_seconds(server.pid) - before
        subprocess.run(cli + ["shutdown", "nosave"], env=plain, capture_output=True)
        _, status, usage = os.wait4(server.pid, 0)  # the whole life: start, benchmark, exit (report)
        server.returncode = os.waitstatus_to_exitcode(status)
        return used, usage.ru_utime + usage.ru_stime
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lib", required=True)
    parser.add_argument("--floor-lib")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("-n", "--requests", type=int, default=20000)
    parser.add_argument("-c", "--clients", type=int, default=50)
    parser.add_argument("--server-args", default="")
    parser.add_argument("--options", default="exitcode=0", help="LEAKWATCH_OPTIONS of the shim sides")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=OPTIONS")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=LIB")
    args = parser.parse_args()

    base_env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LEAKWATCH_OPTIONS")}
    sides = [("none", base_env)]
    if args.floor_lib:
        sides.append(("floor", dict(base_env, LD_PRELOAD=os.path.abspath(args.floor_lib))))
    sides.append(("leakwatch", dict(base_env, LD_PRELOAD=os.path.abspath(args.lib), LEAKWATCH_OPTIONS=args.options)))
    for item in args.compare:
        name, _, lib = item.partition("=")
        sides.append((name, dict(base_env, LD_PRELOAD=os.path.abspath(lib), LEAKWATCH_OPTIONS=args.options)))
    for item in args.variant:
        name, _, options = item.partition("=")
        sides.append((name, dict(base_env, LD_PRELOAD=os.path.abspath(args.lib),
                                 LEAKWATCH_OPTIONS=":".join(o for o in (args.options, options) if o))))
    used = {name: [] for name, _ in sides}
    whole = {name: [] for name, _ in sides}
    with tempfile.TemporaryDirectory(prefix="lwredis-") as workdir:
        for _ in range(args.rounds):
            for name, env in sides:
                during, total = one_run(env, args.requests, args.clients, args.server_args, workdir)
                used[name].append(during)
                whole[name].append(total)
    print(f"redis-server {args.server_args}: {args.requests} requests (set,get; {args.clients} clients), "
          f"{args.rounds} interleaved rounds, load avg {os.getloadavg()[0]:.2f}")
    for title, table in (("during the benchmark (/proc/PID/stat)", used),
                         ("whole process: start, benchmark, exit and its report (wait4)", whole)):
        base = table["none"]
        print(f"\nCPU user+system, {title}")
        print(f"{'side':<16} {'CPU s (median)':>15} {'added':>8} {'95% interval':>20} {'ratio':>6}")
        for name, _ in sides:
            median = statistics.median(table[name])
            low, high = added_interval(base, table[name]) if name != "none" else (0.0, 0.0)
            print(f"{name:<16} {median:15.3f} {median - statistics.median(base):+8.3f} "
                  f"  {low:+7.3f} .. {high:+7.3f} {median / statistics.median(base):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
