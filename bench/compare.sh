#!/usr/bin/env bash
# Side-by-side near-duplicate benchmark: wiretrace dedup vs datasketch, rensa
# and gaoya on the same JSON Lines corpus, same K and threshold.
#
#   bench/compare.sh CORPUS.jsonl [THRESHOLD] [NUM_PERM]
#   bench/compare.sh gen:N [THRESHOLD] [NUM_PERM]
#
# `gen:N` makes the corpus first: `wiretrace gen --docs N --seed 1`, turned
# into JSON Lines by bench/gen_to_jsonl.py (in a temporary folder).
#
# Makes a Python virtualenv (.bench-venv, or $VENV) with the three peers from
# PyPI, builds wiretrace in release mode, runs every tool under
# /usr/bin/time -v, computes the exact-Jaccard truth, and prints one table:
# wall time, MB/s, peak RSS, recall and precision against exact Jaccard, and
# each tool's wall time as a multiple of wiretrace's from the same run.
set -euo pipefail
corpus=${1:?usage: bench/compare.sh CORPUS.jsonl [THRESHOLD] [NUM_PERM]}
t=${2:-0.5}
k=${3:-128}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
venv=${VENV:-$root/.bench-venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q datasketch rensa gaoya
fi
(cd "$root" && cargo build --release -q)
if [[ $corpus == gen:* ]]; then
  "$root/target/release/wiretrace" gen --docs "${corpus#gen:}" --out "$work/gen" --seed 1 > /dev/null
  python3 "$here/gen_to_jsonl.py" "$work/gen" "$work/gen.jsonl"
  rm -rf "$work/gen"
  corpus=$work/gen.jsonl
fi
echo "cores: $(nproc)   corpus: $corpus   threshold: $t   K: $k"

"$venv/bin/python" "$here/peers.py" exact "$corpus" "$work/truth.json" --threshold "$t" --num-perm "$k"
args=()
/usr/bin/time -v "$root/target/release/wiretrace" dedup "$corpus" --threshold "$t" --num-perm "$k" \
  --format json --out "$work/wiretrace.json" 2> "$work/wiretrace.time"
args+=("wiretrace=$work/wiretrace.json:$work/wiretrace.time")
for peer in gaoya rensa datasketch; do
  if /usr/bin/time -v "$venv/bin/python" "$here/peers.py" "$peer" "$corpus" "$work/$peer.json" \
      --threshold "$t" --num-perm "$k" 2> "$work/$peer.time"; then
    args+=("$peer=$work/$peer.json:$work/$peer.time")
  else
    echo "$peer failed:"; tail -5 "$work/$peer.time"
  fi
done
python3 "$here/score.py" "$work/truth.json" "$(stat -c %s "$corpus")" "${args[@]}"
