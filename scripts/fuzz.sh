#!/usr/bin/env bash
# Run every cargo-fuzz target for SECONDS each (default 60), one after the
# other, with a corpus seeded from seeds/. Needs `cargo install cargo-fuzz`.
# Only a stable toolchain is assumed: RUSTC_BOOTSTRAP=1 lets cargo-fuzz use
# the nightly-only sanitizer flags on stable.
#
#   [FUZZ_MAX_LEN=4096] scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Crashes land in fuzz/artifacts/<target>/; minimize one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin <target> <artifact>
# and copy it to tests/regressions/<target>-<n> with a replay test.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(tokenize read_bytes jsonl_line manifest scan_bytes)
fi
export RUSTC_BOOTSTRAP=1
# Longest input tried; short inputs keep the instrumented build fast.
max_len=${FUZZ_MAX_LEN:-4096}

seed_corpus() {
    local target=$1 dir="$root/fuzz/corpus/$1"
    mkdir -p "$dir"
    case $target in
        jsonl_line)
            printf '%s' '{"id":"a1","text":"Reuters said on Tuesday.","outlet":"Reuters","published":"2011-10-25"}' >"$dir/seed-good"
            printf '%s' '{"id":7,"text":"x","published":"2011-13-45T10:00:00+05:00"}' >"$dir/seed-date"
            printf '%s' '{"id":"b","title":3}' >"$dir/seed-missing"
            printf '%s' '[1,2' >"$dir/seed-broken"
            ;;
        manifest)
            cp "$root/seeds/manifest.csv" "$dir/seed-manifest.csv"
            printf 'file,outlet,published,url,extra\r\na.txt,"Dawn, Karachi",2011-10-25T08:00Z,,x\r\nsub/b.txt,AP,not a date\r\nmissing.txt,,,\r\n' >"$dir/seed-rows"
            ;;
        *)
            for f in "$root"/seeds/*.txt; do
                cp "$f" "$dir/seed-$(basename "$f")"
            done
            ;;
    esac
}

# The minimized corpus from earlier runs (cargo fuzz cmin), kept in the repo.
if [ ! -d "$root/fuzz/corpus" ] && [ -f "$root/fuzz/corpus-min.tar.gz" ]; then
    tar xzf "$root/fuzz/corpus-min.tar.gz" -C "$root/fuzz"
fi

for t in "${targets[@]}"; do
    seed_corpus "$t"
    echo "== fuzzing $t for ${seconds}s"
    (cd fuzz && cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048)
done
