#!/usr/bin/env bash
# Throughput and memory of `wiretrace scan` on a generated corpus and on a
# JSON Lines file, then the criterion stage benchmarks.
#
#   scripts/bench.sh DATA.jsonl [GENERATED_DOCS] [SEED]
#
# DATA.jsonl   real stories, one JSON object a line (id, text, ...), e.g.
#              the Reuters-21578 collection.
# GENERATED_DOCS  size of the generated corpus (default 20000).
# Env: CARGO_TARGET_DIR is honoured; SKIP_CRITERION=1 skips cargo bench;
#      KEEP=1 keeps the generated corpus (its folder is printed).
set -euo pipefail

data=${1:?usage: scripts/bench.sh DATA.jsonl [GENERATED_DOCS] [SEED]}
ndocs=${2:-20000}
seed=${3:-1}
[ -f "$data" ] || { echo "no such file: $data" >&2; exit 2; }
data=$(cd "$(dirname "$data")" && pwd)/$(basename "$data")

cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet
bin=$target/release/wiretrace
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (GNU time)" >&2; exit 2; }

tmp=$(mktemp -d)
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

echo "== generate $ndocs documents (seed $seed)"
/usr/bin/time -f "gen: %e s wall, %M KB peak RSS" "$bin" gen --docs "$ndocs" --out "$tmp/gen" --seed "$seed"

# run_scan LABEL BYTES PATH...: time a JSON scan, print wall, RSS, MB/s.
run_scan() {
    local label=$1 bytes=$2; shift 2
    local code=0
    WIRETRACE_TIMINGS=1 /usr/bin/time -v "$bin" scan --format json --out "$tmp/$label.json" "$@" \
        2> "$tmp/$label.err" || code=$?
    grep '^wiretrace: ' "$tmp/$label.err" | grep -v skipped || true
    local wall rss
    wall=$(grep 'Elapsed (wall clock)' "$tmp/$label.err" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$tmp/$label.err" | awk '{print $NF}')
    python3 - "$label" "$bytes" "$wall" "$rss" "$code" "$tmp/$label.json" <<'PY'
import json, sys
label, nbytes, wall, rss, code, report = sys.argv[1:]
parts = [float(x) for x in wall.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
r = json.load(open(report))
print(f"{label}: {int(nbytes)/1e6:.1f} MB, {len(r['documents'])} docs, exit {code}: "
      f"{secs:.2f} s wall, {int(rss)/1024:.0f} MB peak RSS, {int(nbytes)/1e6/secs:.2f} MB/s; "
      f"{len(r['passages'])} passages, {len(r['clusters'])} clusters")
PY
}

gen_bytes=$(find "$tmp/gen/corpus" -name '*.txt' -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "== scan generated corpus"
run_scan generated "$gen_bytes" "$tmp/gen/corpus"

# Recall/precision of that scan against truth.json.
python3 - "$tmp/gen/truth.json" "$tmp/generated.json" <<'PY'
import json, sys
truth, rep = (json.load(open(p)) for p in sys.argv[1:])
ids = [d["id"] for d in rep["documents"]]
by_pair = {}
for p in rep["passages"]:
    by_pair.setdefault((p["a"]["doc"], p["b"]["doc"]), []).append(p)
def hit(t):
    o, c = t["original"], t["copy"]
    (os_, oe), (cs, ce) = t["original_span"], t["copy_span"]
    for p in by_pair.get(tuple(sorted((o, c))), []):
        w = {p["a"]["doc"]: p["a"], p["b"]["doc"]: p["b"]}
        if w[o]["start"] < oe and os_ < w[o]["end"] and w[c]["start"] < ce and cs < w[c]["end"]:
            return True
    return False
found = sum(hit(t) for t in truth["passages"])
cl = {}
for k, c in enumerate(truth["clusters"]):
    for d in c["docs"]:
        cl[d] = k
pairs = set(by_pair)
false = [p for p in pairs if cl.get(p[0], -1) != cl.get(p[1], -2)]
n = len(truth["passages"])
print(f"generated: recall {found}/{n} = {found/max(n,1):.3f}; "
      f"{len(pairs)} reported doc pairs, {len(false)} outside truth clusters, "
      f"precision {1-len(false)/max(len(pairs),1):.3f}")
PY

data_bytes=$(python3 -c 'import json,sys; print(sum(len(json.loads(l)["text"].encode()) for l in open(sys.argv[1]) if l.strip()))' "$data")
echo "== scan $data"
run_scan data "$data_bytes" "$data"

if [ "${SKIP_CRITERION:-0}" != 1 ]; then
    echo "== criterion (cargo bench --bench core)"
    WIRETRACE_BENCH_DATA="$data" cargo bench --quiet --bench core -- \
        --warm-up-time 1 --measurement-time 3 2>&1 |
        grep -E '^[a-z_]+/|time:|thrpt:|signatures|passages' || true
fi
