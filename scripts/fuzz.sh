#!/usr/bin/env bash
# Fuzzes the readers of the files a user hands the program (a session
# folder: meta.json, samples.csv, steps.jsonl, summary.json) with cargo-fuzz
# (libFuzzer, address sanitizer) for SECONDS per target, starting from the
# seed corpus in fuzz/corpus/. New inputs go to a scratch folder, not the
# repository; a crash leaves its input in fuzz/artifacts/TARGET/ and fails
# the script.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (default 300 s, every target)
#
# Needs the nightly toolchain (`rustup toolchain install nightly`) and
# installs cargo-fuzz when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(session_files samples_csv)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  echo "== $t: ${seconds} s"
  status=0
  cargo +nightly fuzz run "$t" "$scratch/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$scratch/$t.log" 2>&1 || status=$?
  grep -E "stat::number_of_executed_units|stat::new_units_added|ERROR|SUMMARY|panicked" \
    "$scratch/$t.log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$scratch/$t.log" >&2
    echo "$t: failed (exit $status); a crash input is in fuzz/artifacts/$t" >&2
    exit 1
  fi
done
