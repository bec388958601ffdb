#!/usr/bin/env bash
# Runs `twitchscope analyze` on the development set in ../shared/bench,
# prints the wall time of each run as a multiple of real time, and scores
# the JSON with the set's own scorer.
#   benches/devset.sh [BENCH_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${1:-../shared/bench}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/twitchscope
for video in "$bench"/*.mp4; do
  name=$(basename "$video" .mp4)
  duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$video")
  start=$(date +%s.%N)
  "$bin" analyze "$video" --json "$out/$name.json" >/dev/null
  end=$(date +%s.%N)
  python3 - "$name" "$duration" "$start" "$end" <<'PY'
import sys
name, dur, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"{name:28s} {dur:5.1f} s video in {t1 - t0:5.2f} s = {dur / (t1 - t0):4.1f}x real time")
PY
done
python3 "$bench/score.py" "$bench" "$out"
