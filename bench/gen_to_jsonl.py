#!/usr/bin/env python3
"""Turn a `wiretrace gen` output folder into one JSON Lines file.

    python3 bench/gen_to_jsonl.py GEN_DIR OUT.jsonl

Each line: id (the file name without .txt), text, and the outlet and
published date from GEN_DIR/corpus/manifest.csv. Lines are in file-name
order, so the same folder always gives the same file.
"""
import csv
import json
import os
import sys


def main():
    gen_dir, out = sys.argv[1], sys.argv[2]
    corpus = os.path.join(gen_dir, "corpus")
    meta = {}
    with open(os.path.join(corpus, "manifest.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            meta[row["file"]] = row
    names = sorted(n for n in os.listdir(corpus) if n.endswith(".txt"))
    with open(out, "w", encoding="utf-8") as w:
        for name in names:
            with open(os.path.join(corpus, name), encoding="utf-8") as f:
                text = f.read()
            row = meta.get(name, {})
            rec = {"id": name[:-4], "text": text}
            for key in ("outlet", "published"):
                if row.get(key):
                    rec[key] = row[key]
            w.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
