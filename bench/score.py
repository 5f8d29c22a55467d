#!/usr/bin/env python3
"""Score pair files against the exact-Jaccard truth and print one table.

    python3 bench/score.py TRUTH.json CORPUS_BYTES NAME=PAIRS.json:TIME.txt ...

PAIRS.json is peers.py output or a `wiretrace dedup --format json` report;
TIME.txt is the `/usr/bin/time -v` log of that run (peak RSS, and wall time
to 10 ms unless compare.sh added its own, to the microsecond),
or several logs separated by commas (runs of the same tool): the median
wall time and the largest peak RSS are reported, with the number of runs.
"""
import json, re, statistics, sys


def pairs_of(path):
    d = json.load(open(path))
    if d["pairs"] and isinstance(d["pairs"][0], dict):
        return {tuple(sorted((p["a"], p["b"]))) for p in d["pairs"]}
    return {tuple(p) for p in d["pairs"]}


def time_of(path):
    text = open(path).read()
    # compare.sh's own timing (microseconds) when the log has it; else
    # /usr/bin/time's (10 ms steps).
    precise = re.search(r"Wall seconds \(bench/compare.sh\): ([\d.]+)", text)
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", text)
    if precise:
        wall = float(precise.group(1))
    elif m:
        wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    else:
        wall = float("nan")
    r = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return wall, (int(r.group(1)) / 1024 if r else float("nan"))


def main():
    truth = pairs_of(sys.argv[1])
    size_mb = int(sys.argv[2]) / 1e6
    rows = []
    for arg in sys.argv[3:]:
        name, rest = arg.split("=", 1)
        pairs_path, time_path = rest.split(":", 1)
        found = pairs_of(pairs_path)
        timed = [time_of(p) for p in time_path.split(",")]
        wall = statistics.median(w for w, _ in timed)
        rss = max(r for _, r in timed)
        tp = len(found & truth)
        rows.append((name, wall, size_mb / wall if wall else 0, rss, tp / max(1, len(truth)), tp / max(1, len(found)), len(found)))
    ours = next((r for r in rows if r[0] == "wiretrace"), None)
    runs = max(len(a.split(":", 1)[1].split(",")) for a in sys.argv[3:]) if sys.argv[3:] else 0
    print(f"truth pairs: {len(truth)}   corpus: {size_mb:.1f} MB   runs per tool: {runs} (median wall)")
    print(f"{'tool':<12}{'wall s':>9}{'MB/s':>9}{'RSS MB':>9}{'recall':>9}{'precision':>10}{'pairs':>8}{'wiretrace ×':>13}")
    for name, wall, mbs, rss, rec, prec, n in rows:
        ratio = f"{wall / ours[1]:.1f}" if ours and ours[1] else "-"
        print(f"{name:<12}{wall:>9.3f}{mbs:>9.1f}{rss:>9.0f}{rec:>9.4f}{prec:>10.4f}{n:>8}{ratio:>13}")


if __name__ == "__main__":
    main()
