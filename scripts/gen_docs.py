#!/usr/bin/env python3
"""Write N synthetic articles (2-6 KB of text spliced from the seeds) as
NNNNNN.txt into OUT_DIR. Usage: gen_docs.py N OUT_DIR [SOURCE_DIR] [SEED]"""
import os
import random
import sys

n = int(sys.argv[1])
out = sys.argv[2]
src = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "..", "seeds")
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
words = []
for name in sorted(os.listdir(src)):
    if name.endswith(".txt"):
        with open(os.path.join(src, name), encoding="utf-8", errors="replace") as f:
            words.extend(f.read().split())
if not words:
    sys.exit(f"no .txt files in {src}")
os.makedirs(out, exist_ok=True)
for i in range(n):
    parts = [f"Story number {i}."]
    size = len(parts[0])
    target = rng.randint(2000, 6000)
    while size < target:
        start = rng.randrange(len(words))
        chunk = " ".join(words[start:start + rng.randint(20, 100)])
        parts.append(chunk)
        size += len(chunk) + 2
    with open(os.path.join(out, f"{i:06d}.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(parts) + "\n")
