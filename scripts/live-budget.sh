#!/usr/bin/env bash
# The live budget: CPU used by the app's capture and analysis threads while
# it plays the embedded sample at its own pace (30 fps), apart from the
# window's own drawing (done in software on machines without a GPU).
# Runs `twitchscope app --demo` under Xvfb, skips WARMUP seconds, then
# reads every thread's CPU time from /proc over SECONDS seconds.
#
#   scripts/live-budget.sh [SECONDS] [WARMUP]      (defaults 60 and 5)
#
# Needs xvfb-run (apt-get install xvfb) unless DISPLAY is already set.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
warmup=${2:-5}
launcher=""
# shellcheck source=scripts/live-app.sh
. scripts/live-app.sh
trap 'kill $launcher 2>/dev/null || true' EXIT
start_live_app $((seconds + warmup + 5)) /dev/null

snapshot() { # thread name, then its user+system clock ticks
  for task in /proc/"$pid"/task/*; do
    name=$(cat "$task/comm" 2>/dev/null) || continue
    ticks=$(awk '{ print $14 + $15 }' "$task/stat" 2>/dev/null) || continue
    printf '%s\t%s\n' "$name" "$ticks"
  done
  # The video decoder runs as child processes (ffmpeg, again each time the
  # sample loops); it is part of capture. Finished children count through
  # the app's cutime + cstime, running ones through their own times.
  ticks=$(awk '{ print $16 + $17 }' /proc/"$pid"/stat)
  for child in $(pgrep -P "$pid" || true); do
    ticks=$((ticks + $(awk '{ print $14 + $15 }' /proc/"$child"/stat 2>/dev/null || echo 0)))
  done
  printf 'decoder (ffmpeg)\t%s\n' "$ticks"
}
sleep "$warmup"
snapshot >"/tmp/live-budget.$$.a"
sleep "$seconds"
snapshot >"/tmp/live-budget.$$.b"
wait $launcher || true
python3 - "/tmp/live-budget.$$.a" "/tmp/live-budget.$$.b" "$seconds" "$(getconf CLK_TCK)" <<'PY'
import collections, sys
a, b, seconds, hz = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
def load(path):
    out = collections.Counter()
    for line in open(path):
        name, ticks = line.rstrip("\n").split("\t")
        out[name] += int(ticks)
    return out
before, after = load(a), load(b)
# The engine's threads (named in crates/app/src/pipeline.rs, crates/engine/src/analysis.rs and
# crates/engine/src/eyes.rs); everything else is the window, its drawing and the runtime.
engine = {"capture", "analysis", "live analysis", "face", "eye-left", "eye-right", "decoder (ffmpeg)"}
rows = sorted(((after[n] - before.get(n, 0)) / hz / seconds * 100, n) for n in after)
print(f"over {seconds:.0f} s of the sample playing at its own pace, % of one core:")
for pct, name in reversed(rows):
    if pct >= 0.05:
        print(f"  {name:16s} {pct:6.1f}  {'engine' if name in engine else 'window'}")
eng = sum(p for p, n in rows if n in engine)
print(f"capture + analysis (engine threads): {eng:.1f}%   window and drawing: {sum(p for p, _ in rows) - eng:.1f}%")
PY
rm -f "/tmp/live-budget.$$.a" "/tmp/live-budget.$$.b"
