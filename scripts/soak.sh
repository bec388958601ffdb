#!/usr/bin/env bash
# Soak: the app runs live on the embedded sample (looped at its own pace,
# 30 fps) for MINUTES minutes under Xvfb, recording the whole time (into a
# temporary data folder); its resident memory is read from /proc every
# INTERVAL seconds and printed as a table, then the app's own frame counters
# (captured, analysed, dropped) and what the saved session holds. Memory
# should level off after start-up; a steady climb is a leak or an unbounded
# buffer.
#
#   scripts/soak.sh [MINUTES] [INTERVAL]      (defaults 30 and 60)
#
# Needs xvfb-run (apt-get install xvfb) unless DISPLAY is already set.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
interval=${2:-60}
log=$(mktemp)
data=$(mktemp -d)
launcher=""
trap 'kill $launcher 2>/dev/null || true; rm -rf "$log" "$data"' EXIT
export TWITCHSCOPE_DATA_DIR="$data"
# shellcheck source=scripts/live-app.sh
. scripts/live-app.sh
start_live_app $((minutes * 60)) "$log" --record
printf '%8s %10s %10s\n' "minute" "RSS MB" "threads"
start=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
  rss_kb=$(awk '/^VmRSS/ { print $2 }' /proc/"$pid"/status 2>/dev/null) || break
  threads=$(ls /proc/"$pid"/task 2>/dev/null | wc -l)
  awk -v s=$((SECONDS - start)) -v kb="$rss_kb" -v n="$threads" \
    'BEGIN { printf "%8.1f %10.1f %10d\n", s / 60, kb / 1024, n }'
  sleep "$interval"
done
wait "$launcher" || true
grep -E "frames captured" "$log" || { echo "the app did not report its counters:" >&2; cat "$log" >&2; exit 1; }
session=$(ls -d "$data"/*/ 2>/dev/null | head -1)
[ -n "$session" ] && [ -f "$session/summary.json" ] || { echo "no closed session was saved in $data" >&2; exit 1; }
echo "session saved: $(($(wc -l < "$session/samples.csv") - 1)) samples, $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("%.0f s, analysis %s" % (s["duration_s"], "yes" if s["analysis"] else "no"))' "$session/summary.json")"
