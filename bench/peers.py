#!/usr/bin/env python3
"""Run one near-duplicate peer on a JSON Lines corpus and write its pairs.

    python3 bench/peers.py {datasketch,rensa,gaoya,exact} CORPUS.jsonl OUT.json \
        [--threshold 0.5] [--num-perm 128]

Every peer gets the same input (the `text` of each record), word 5-gram
shingles over lowercased alphanumeric tokens (joined across `'`, `.` and
digit-group commas, British spellings folded as wiretrace does), K
permutations and the
threshold. datasketch and rensa are given the shingles from Python (that is
how they are used); gaoya tokenizes in Rust with its own word analyzer
(lowercase, 5-grams), its fastest path. `exact` computes exact Jaccard for
every pair sharing a shingle (the truth). OUT.json holds {"pairs": [[a, b], ...],
"seconds": wall time inside the process}.
"""
import argparse, collections, functools, itertools, json, math, re, sys, time

# A word is pieces of letters and digits joined by an apostrophe, by a dot
# after a piece of at most three characters (`u.s.`, not `maria.k48`), or by
# a comma between digits (`2,700`).
TOKEN = re.compile(r"[0-9a-z]+(?:(?:['’]|(?<![0-9a-z]{4})\.|(?<=[0-9]),(?=[0-9]))[0-9a-z]+)*")

# wiretrace's spelling folds (src/text.rs), so that every tool and the truth
# see the same tokens: British spellings onto American ones (whole words of
# four letters or more, suffix rules on words of five or more).
WHOLE = {"defence": "defense", "offence": "offense", "licence": "license",
         "pretence": "pretense", "programme": "program", "programmes": "programs",
         "judgement": "judgment", "ageing": "aging", "manoeuvre": "maneuver",
         "aluminium": "aluminum", "kerb": "curb", "tyres": "tires"}
SUFFIXES = [("isations", "izations"), ("isation", "ization"), ("ising", "izing"),
            ("ised", "ized"), ("ises", "izes"), ("iser", "izer"), ("ise", "ize"),
            ("yses", "yzes"), ("ysed", "yzed"), ("yse", "yze"), ("ours", "ors"),
            ("oured", "ored"), ("ouring", "oring"), ("ourite", "orite"),
            ("ourable", "orable"), ("our", "or"), ("tres", "ters"), ("tre", "ter"),
            ("elled", "eled"), ("elling", "eling"), ("eller", "eler")]


@functools.lru_cache(maxsize=1 << 20)
def fold(w):
    if w in WHOLE:
        return WHOLE[w]
    if len(w) < 5:
        return w
    if w.startswith("sceptic"):
        w = "sk" + w[2:]
    for a, b in SUFFIXES:
        if len(w) > len(a) + 1 and w.endswith(a):
            return w[: -len(a)] + b
    return w


def shingles(text, n=5):
    toks = [fold(re.sub(r"['’.,]", "", t)) for t in TOKEN.findall(text.lower())]
    if len(toks) < n:
        return [" ".join(toks)] if toks else []
    return list({" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)})


def read(path):
    ids, texts = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                ids.append(str(r["id"]))
                texts.append(r["text"])
    return ids, texts


def query_pairs(lsh, sigs):
    """Every document pair an LSH index returns, as the peer's users get them."""
    pairs = set()
    for i, m in enumerate(sigs):
        for j in lsh.query(m):
            if j != i:
                pairs.add((min(i, j), max(i, j)))
    return pairs


def run_datasketch(ids, texts, t, k):
    from datasketch import MinHash, MinHashLSH
    lsh = MinHashLSH(threshold=t, num_perm=k)
    sigs = []
    for i, text in enumerate(texts):
        m = MinHash(num_perm=k)
        m.update_batch([s.encode() for s in shingles(text)])
        sigs.append(m)
        lsh.insert(i, m)
    return query_pairs(lsh, sigs)


def run_rensa(ids, texts, t, k):
    from rensa import RMinHash, RMinHashLSH
    lsh = RMinHashLSH(threshold=t, num_perm=k, num_bands=16)
    sigs = []
    for i, text in enumerate(texts):
        m = RMinHash(num_perm=k, seed=42)
        m.update(shingles(text))
        sigs.append(m)
        lsh.insert(i, m)
    return query_pairs(lsh, sigs)


def run_gaoya(ids, texts, t, k):
    from gaoya.minhash import MinHashStringIndex
    bands = 16
    index = MinHashStringIndex(hash_size=32, jaccard_threshold=t, num_bands=bands, band_size=k // bands,
                               analyzer="word", lowercase=True, ngram_range=(5, 5))
    index.par_bulk_insert_docs(list(range(len(texts))), texts)
    pairs = set()
    for i, found in enumerate(index.par_bulk_query(texts)):
        for j in found:
            if j != i:
                pairs.add((min(i, j), max(i, j)))
    return pairs


def run_exact(ids, texts, t, k):
    """Exact Jaccard by prefix filtering (Bayardo et al., AllPairs): with
    shingles ordered rarest first, two sets of Jaccard >= t always share a
    shingle among the first |s| - ceil(t |s|) + 1 of either, so only those
    are indexed; every candidate is scored on the full sets. Complete and
    exact, without quadratic candidate lists on common phrases."""
    sets = [set(shingles(x)) for x in texts]
    df = collections.Counter()
    for s in sets:
        df.update(s)
    index = collections.defaultdict(list)
    out = set()
    for i in sorted(range(len(sets)), key=lambda i: (len(sets[i]), i)):
        a = sets[i]
        if not a:
            continue
        ordered = sorted(a, key=lambda h: (df[h], h))
        prefix = ordered[: len(ordered) - math.ceil(t * len(ordered)) + 1]
        candidates = set()
        for h in prefix:
            candidates.update(index[h])
        for j in candidates:
            b = sets[j]
            if len(b) < t * len(a):
                continue
            c = len(a & b)
            if c / (len(a) + len(b) - c) >= t:
                out.add((min(i, j), max(i, j)))
        for h in prefix:
            index[h].append(i)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("peer", choices=["datasketch", "rensa", "gaoya", "exact"])
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--num-perm", type=int, default=128)
    a = ap.parse_args()
    start = time.time()
    ids, texts = read(a.corpus)
    pairs = globals()["run_" + a.peer](ids, texts, a.threshold, a.num_perm)
    seconds = time.time() - start
    named = sorted(tuple(sorted((ids[x], ids[y]))) for x, y in pairs)
    json.dump({"peer": a.peer, "seconds": seconds, "pairs": named}, open(a.out, "w"))


if __name__ == "__main__":
    sys.exit(main())
