#!/usr/bin/env python3
"""Exact-Jaccard brute force over a JSON Lines corpus, and a comparison with
a wiretrace JSON report.

    python3 bench/brute_jaccard.py CORPUS.jsonl REPORT.json [--threshold 0.5]

Shingles are word 5-grams over lowercased alphanumeric tokens (close to, not
identical with, wiretrace's normalization). Every document pair sharing at
least one shingle is scored exactly (through an inverted index, so this is
exhaustive, not sampled). Prints how many pairs at or above the threshold
wiretrace reports a passage for, which it misses, and how many reported
pairs fall below the threshold (reuse of part of a story, or false pairs:
inspect them).
"""
import argparse, collections, itertools, json, re, sys

TOKEN = re.compile(r"[0-9a-z]+(?:['’.][0-9a-z]+)*")


def shingles(text, n=5):
    toks = [t.replace("'", "").replace("’", "").replace(".", "") for t in TOKEN.findall(text.lower())]
    if len(toks) < n:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("report")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--max-df", type=int, default=200, help="ignore shingles in more documents than this when listing pairs")
    ap.add_argument("--show", type=int, default=5, help="print this many examples of each kind")
    a = ap.parse_args()

    ids, sets = [], []
    for line in open(a.corpus, encoding="utf-8"):
        if not line.strip():
            continue
        r = json.loads(line)
        ids.append(str(r["id"]))
        sets.append(shingles(r["text"]))
    index = collections.defaultdict(list)
    for i, s in enumerate(sets):
        for sh in s:
            index[sh].append(i)
    shared = collections.Counter()
    for docs in index.values():
        if 1 < len(docs) <= a.max_df:
            for x, y in itertools.combinations(docs, 2):
                shared[(x, y)] += 1
    jac = {}
    for (x, y), c in shared.items():
        jac[(ids[x], ids[y]) if ids[x] < ids[y] else (ids[y], ids[x])] = c / (len(sets[x]) + len(sets[y]) - c)
    truth = {p for p, j in jac.items() if j >= a.threshold}

    rep = json.load(open(a.report, encoding="utf-8"))
    found = {(p["a"]["doc"], p["b"]["doc"]) for p in rep["passages"]}
    hit = truth & found
    missed = sorted(truth - found, key=lambda p: -jac[p])
    extra = sorted(found - truth, key=lambda p: jac.get(p, 0.0))
    print(f"documents: {len(ids)}")
    print(f"pairs with exact Jaccard >= {a.threshold}: {len(truth)}")
    print(f"  reported by wiretrace: {len(hit)}  missed: {len(missed)}  recall: {len(hit) / max(1, len(truth)):.4f}")
    print(f"pairs wiretrace reports: {len(found)} (of which below the threshold: {len(extra)})")
    buckets = collections.Counter()
    for p in extra:
        j = jac.get(p, 0.0)
        buckets["J < 0.05" if j < 0.05 else "0.05 <= J < 0.2" if j < 0.2 else "0.2 <= J < threshold"] += 1
    for k in ("J < 0.05", "0.05 <= J < 0.2", "0.2 <= J < threshold"):
        print(f"  {k}: {buckets[k]}")
    for p in missed[: a.show]:
        print(f"  missed {p[0]} {p[1]} J={jac[p]:.3f}")
    for p in extra[: a.show]:
        print(f"  low-J reported {p[0]} {p[1]} J={jac.get(p, 0.0):.3f}")


if __name__ == "__main__":
    sys.exit(main())
