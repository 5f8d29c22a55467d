#!/usr/bin/env bash
# Crash test of `wiretrace index add`: kill it with SIGKILL at random points,
# then check that the index opens, `index stats` works and every stored
# document is complete (its text equals its source file, its hash matches).
#
# Usage: scripts/crash_test.sh [N_DOCS=200] [ROUNDS=5] [CORPUS_DIR]
#   CORPUS_DIR: .txt files to index (default: N_DOCS generated from seeds/).
#   WIRETRACE=path/to/binary to use a given build (default: cargo build, debug).
#   BATCH=documents per commit of `index add --batch` (default 4: small, so
#   kills land both between and inside commits).
# Local processes only; everything lives in a temporary directory.
set -euo pipefail

N=${1:-200}
ROUNDS=${2:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wiretrace-crash.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [[ -z "${WIRETRACE:-}" ]]; then
    (cd "$HERE" && cargo build --quiet)
    WIRETRACE="${CARGO_TARGET_DIR:-$HERE/target}/debug/wiretrace"
fi
CORPUS=${3:-$WORK/corpus}
if [[ -z "${3:-}" ]]; then
    python3 "$HERE/scripts/gen_docs.py" "$N" "$CORPUS" "$HERE/seeds" "$RANDOM"
fi
DB=$WORK/db

verify() {
    "$WIRETRACE" index stats --db "$DB" > "$WORK/stats.txt"
    "$WIRETRACE" index export --db "$DB" > "$WORK/export.jsonl"
    python3 - "$WORK/export.jsonl" "$CORPUS" "$WORK/stats.txt" <<'PY'
import hashlib, json, os, sys
export, corpus, stats = sys.argv[1:4]
n = 0
for line in open(export, encoding="utf-8"):
    d = json.loads(line)
    with open(os.path.join(corpus, d["id"] + ".txt"), "rb") as f:
        src = f.read()
    got = d["text"].encode("utf-8")
    if got != src:
        sys.exit(f"FAIL: {d['id']}: stored text ({len(got)} bytes) differs from source ({len(src)} bytes)")
    if d["bytes"] != len(src):
        sys.exit(f"FAIL: {d['id']}: bytes field {d['bytes']} != {len(src)}")
    n += 1
docs = [l for l in open(stats) if l.startswith("documents:")]
if not docs or int(docs[0].split(":")[1]) != n:
    sys.exit(f"FAIL: index stats says {docs}, export has {n}")
print(n)
PY
}

prev=0
for round in $(seq 1 "$ROUNDS"); do
    "$WIRETRACE" index add --batch "${BATCH:-4}" --db "$DB" "$CORPUS" > /dev/null 2>&1 &
    pid=$!
    delay_ms=$(( 50 + RANDOM % 2500 ))
    sleep "$(printf '0.%03d' $((delay_ms % 1000)))"
    sleep $(( delay_ms / 1000 ))
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    n=$(verify)
    echo "round $round: SIGKILL after ${delay_ms} ms: index opens, $n documents stored, all complete"
    if (( n < prev )); then
        echo "FAIL: documents disappeared ($prev -> $n)" >&2
        exit 1
    fi
    prev=$n
done
"$WIRETRACE" index add --batch "${BATCH:-4}" --db "$DB" "$CORPUS" > /dev/null
n=$(verify)
want=$(find "$CORPUS" -maxdepth 1 -name '*.txt' | wc -l)
if (( n != want )); then
    echo "FAIL: after a full run $n documents stored, $want expected" >&2
    exit 1
fi
echo "OK: final run completed, $n documents stored and verified"
