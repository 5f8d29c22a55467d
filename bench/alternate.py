#!/usr/bin/env python3
"""Alternated timing of several builds of wiretrace on the same command.

    bench/alternate.py ROUNDS "ARGS" BINARY...

Runs every BINARY with ARGS (split as a shell would) in ROUNDS rounds, one
binary after the other in each round, 0.15 s apart, output discarded, and
prints per binary the median and least wall time (from this process), the
median CPU time (user + system, from wait4) and the median peak RSS. On a
machine whose speed drifts over minutes, alternating is what makes the
builds comparable: a slow minute falls on all of them alike.
"""
import os
import shlex
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, args, binaries = int(sys.argv[1]), shlex.split(sys.argv[2]), sys.argv[3:]
    runs = {b: [] for b in binaries}
    for _ in range(rounds):
        for b in binaries:
            start = time.perf_counter()
            child = subprocess.Popen(
                [b] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            _, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - start
            if status != 0:
                sys.exit(f"{b} exited with status {status >> 8}")
            runs[b].append((wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss))
            time.sleep(0.15)
    for b, r in runs.items():
        wall = [x[0] * 1000 for x in r]
        cpu = [x[1] * 1000 for x in r]
        rss = [x[2] / 1024 for x in r]
        print(
            f"{b}: n={len(r)} wall median {statistics.median(wall):.1f} ms, "
            f"least {min(wall):.1f} ms; CPU median {statistics.median(cpu):.1f} ms; "
            f"peak RSS median {statistics.median(rss):.0f} MB"
        )


if __name__ == "__main__":
    main()
