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
#
# RUNS=N (default 1) runs every tool N times, in N rounds of all the tools
# (so a busy minute on the machine falls on every tool alike), and reports
# each tool's median wall time and its largest peak RSS. Every run starts
# after GAP seconds of idle machine (default 2), as a user's single run
# would: on this VM, memory touched right after another process freed it
# faults in faster than after a pause, which favours whichever tool runs
# right after another.
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
runs=${RUNS:-1}
gap=${GAP:-2}
tools=(wiretrace gaoya rensa datasketch)
declare -A times failed
for round in $(seq "$runs"); do
  for tool in "${tools[@]}"; do
    if [ -n "${failed[$tool]:-}" ]; then continue; fi
    log=$work/$tool.time.$round
    sleep "$gap"
    # /usr/bin/time gives the peak RSS, but wall time only to 10 ms (a
    # fraction of wiretrace's run on Reuters): the wall time is taken here
    # too, to the microsecond, around the same command.
    start=$EPOCHREALTIME
    if [ "$tool" = wiretrace ]; then
      /usr/bin/time -v "$root/target/release/wiretrace" dedup "$corpus" --threshold "$t" \
        --num-perm "$k" --format json --out "$work/$tool.json" 2> "$log"
    elif ! /usr/bin/time -v "$venv/bin/python" "$here/peers.py" "$tool" "$corpus" "$work/$tool.json" \
        --threshold "$t" --num-perm "$k" 2> "$log"; then
      echo "$tool failed:"; tail -5 "$log"
      failed[$tool]=1
      continue
    fi
    end=$EPOCHREALTIME
    awk -v a="$start" -v b="$end" 'BEGIN { printf "Wall seconds (bench/compare.sh): %.6f\n", b - a }' >> "$log"
    times[$tool]=${times[$tool]:+${times[$tool]},}$log
  done
done
args=()
for tool in "${tools[@]}"; do
  if [ -z "${failed[$tool]:-}" ]; then args+=("$tool=$work/$tool.json:${times[$tool]}"); fi
done
python3 "$here/score.py" "$work/truth.json" "$(stat -c %s "$corpus")" "${args[@]}"
