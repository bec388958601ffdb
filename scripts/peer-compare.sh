#!/usr/bin/env bash
# Compares `twitchscope analyze` with the peer a user would otherwise pick,
# MediaPipe FaceMesh (mediapipe==0.10.21, legacy solutions.face_mesh, CPU,
# every frame, refine_landmarks on; scripts/peer_facemesh.py), on the same
# video in one invocation. The runs alternate (ours, peer, ours, ...) so
# that both see the same machine state. Prints the median wall time, CPU
# time (user + system, child processes included) and peak memory of each,
# and their ratios.
#
#   scripts/peer-compare.sh VIDEO [RUNS]      (RUNS pairs, default 3)
#
# The peer is installed on first use into its own virtual environment,
# ${PEER_VENV:-target/peer-venv}; it is not a dependency of the project or of
# its tests. Needs python3-venv and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
video=${1:?usage: scripts/peer-compare.sh VIDEO [RUNS]}
runs=${2:-3}
[ -f "$video" ] || { echo "no such video: $video" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time is needed: apt-get install time" >&2; exit 1; }

venv=${PEER_VENV:-target/peer-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import mediapipe" 2>/dev/null; then
  echo "installing the peer (mediapipe==0.10.21) into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "mediapipe==0.10.21"
fi

cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/twitchscope
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

measure() { # NAME RUN COMMAND...
  local name=$1 run=$2
  shift 2
  /usr/bin/time -f "%e %U %S %M" -o "$log/$name.$run.time" "$@" >"$log/$name.$run.out" 2>&1 ||
    { echo "$name failed:" >&2; cat "$log/$name.$run.out" >&2; exit 1; }
}

for run in $(seq "$runs"); do
  measure twitchscope "$run" "$bin" analyze "$video" --json "$log/analysis.json"
  measure mediapipe "$run" "$venv/bin/python" scripts/peer_facemesh.py "$video"
done
tail -n 1 "$log"/mediapipe.1.out

duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$video")
python3 - "$log" "$runs" "$duration" "$video" <<'PY'
import statistics, sys
log, runs, duration, video = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
def stats(name):
    rows = [open(f"{log}/{name}.{r}.time").read().split() for r in range(1, runs + 1)]
    wall = statistics.median(float(r[0]) for r in rows)
    cpu = statistics.median(float(r[1]) + float(r[2]) for r in rows)
    mem = statistics.median(int(r[3]) for r in rows) / 1024
    return wall, cpu, mem
ours, peer = stats("twitchscope"), stats("mediapipe")
print(f"{video}: {duration:.1f} s of video, median of {runs} alternating runs")
print(f"{'':28s} {'wall s':>8s} {'x real time':>12s} {'CPU s':>8s} {'peak MB':>8s}")
for name, (wall, cpu, mem) in (("twitchscope analyze", ours), ("MediaPipe FaceMesh peer", peer)):
    print(f"{name:28s} {wall:8.2f} {duration / wall:12.1f} {cpu:8.2f} {mem:8.0f}")
print(f"{'peer / twitchscope':28s} {peer[0] / ours[0]:8.2f} {'':12s} {peer[1] / ours[1]:8.2f} {peer[2] / ours[2]:8.2f}")
PY
