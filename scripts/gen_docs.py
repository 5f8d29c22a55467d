#!/usr/bin/env python3
"""Write N synthetic articles (2-6 KB, words of the sources; one in five
reuses a verbatim passage of them) as
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
vocab = sorted(set(words))
for i in range(n):
    # Mostly fresh text (words drawn at random: no shared 5-grams), and in
    # about one article in five a passage of 40-120 words reused verbatim
    # from the sources, as a reprinted wire story would be.
    parts = [f"Story number {i}."]
    size = len(parts[0])
    target = rng.randint(2000, 6000)
    reuse_at = rng.randint(1, 4) if rng.random() < 0.2 else -1
    while size < target:
        if len(parts) == reuse_at:
            start = rng.randrange(len(words))
            chunk = " ".join(words[start:start + rng.randint(40, 120)])
        else:
            chunk = " ".join(rng.choice(vocab) for _ in range(rng.randint(20, 60))) + "."
        parts.append(chunk)
        size += len(chunk) + 2
    with open(os.path.join(out, f"{i:06d}.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(parts) + "\n")
