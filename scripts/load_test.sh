#!/usr/bin/env bash
# Load test of `wiretrace serve`, loopback only and bounded in time.
#
# Usage: scripts/load_test.sh [N_DOCS=1000] [CORPUS_DIR=seeds] [SECONDS=20] [CONNECTIONS=8]
#   Builds an index of N_DOCS articles generated from the .txt files of
#   CORPUS_DIR, starts `wiretrace serve` on 127.0.0.1 (a free port), runs wrk
#   (or oha) for SECONDS against POST /check with a ~5 KB article, prints
#   checks/s and latency percentiles, stops the server.
#   WIRETRACE=path/to/binary to use a given build (default: cargo build --release).
set -euo pipefail

N=${1:-1000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SRC=${2:-$HERE/seeds}
SECS=${3:-20}
CONNS=${4:-8}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wiretrace-load.XXXXXX")
SERVER=
cleanup() {
    if [[ -n "$SERVER" ]]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -z "${WIRETRACE:-}" ]]; then
    (cd "$HERE" && cargo build --release --quiet)
    WIRETRACE="${CARGO_TARGET_DIR:-$HERE/target}/release/wiretrace"
fi
if command -v wrk > /dev/null; then TOOL=wrk
elif command -v oha > /dev/null; then TOOL=oha
else echo "need wrk (apt-get install -y wrk) or oha (cargo install oha)" >&2; exit 2
fi

python3 "$HERE/scripts/gen_docs.py" "$N" "$WORK/corpus" "$SRC" 7
start=$(date +%s.%N)
"$WIRETRACE" index add --db "$WORK/db" "$WORK/corpus" > /dev/null
end=$(date +%s.%N)
echo "index add: $N documents in $(python3 -c "print(f'{$end - $start:.1f}')") s"
"$WIRETRACE" index stats --db "$WORK/db" | tr '\n' ' '; echo

# The probe: ~5 KB, the first 5 KB of the sources' text, so it shares
# passages with the generated articles that reuse that part.
python3 - "$SRC" "$WORK/body.json" <<'PY'
import json, os, sys
src = sys.argv[1]
text = ""
for name in sorted(os.listdir(src)):
    if name.endswith(".txt") and len(text) < 5120:
        text += open(os.path.join(src, name), encoding="utf-8", errors="replace").read() + "\n\n"
text = text.encode()[:5120].decode("utf-8", "ignore")
json.dump({"id": "probe", "text": text, "outlet": "Load Test"}, open(sys.argv[2], "w"))
PY

"$WIRETRACE" serve --db "$WORK/db" --listen 127.0.0.1:0 > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$WORK/serve.out" 2> /dev/null && break
    sleep 0.1
done
ADDR=$(sed -n 's/.*listening on http:\/\///p' "$WORK/serve.out")
case "$ADDR" in 127.0.0.1:*) ;; *) echo "server did not start: $(cat "$WORK/serve.err")" >&2; exit 1 ;; esac
URL="http://$ADDR/check"
code=$(curl -s -o "$WORK/one.json" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$WORK/body.json" "$URL" || true)
echo "one check: HTTP $code, $(python3 -c "import json;r=json.load(open('$WORK/one.json'));print(len(r['documents'])-1, 'matched documents,', len(r['passages']), 'passages')" 2>/dev/null || echo '?')"

if [[ $TOOL == wrk ]]; then
    cat > "$WORK/post.lua" <<'LUA'
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
LUA
    BODY_FILE="$WORK/body.json" timeout $((SECS + 30)) wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 10s --latency \
        -s "$WORK/post.lua" "$URL" > "$WORK/load.txt"
    cat "$WORK/load.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/load.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$WORK/load.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$WORK/load.txt")
    errors=$(awk '/Non-2xx/ {print $NF}' "$WORK/load.txt")
else
    timeout $((SECS + 30)) oha -z "${SECS}s" -c "$CONNS" --no-tui -m POST -H 'Content-Type: application/json' \
        -D "$WORK/body.json" "$URL" > "$WORK/load.txt"
    cat "$WORK/load.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/load.txt")
    p50=$(awk '/50.00%/ {print $3, $4}' "$WORK/load.txt")
    p99=$(awk '/99.00%/ {print $3, $4}' "$WORK/load.txt")
    errors=
fi
echo "RESULT: N=$N connections=$CONNS duration=${SECS}s checks/s=$rps p50=$p50 p99=$p99 non-2xx=${errors:-0}"
