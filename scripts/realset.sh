#!/usr/bin/env bash
# Builds the real-face evaluation set: the phantom's spasm warps drawn onto
# the real clips of ../shared/realfaces (`twitchscope synth --base`), every
# scenario on every usable clip at amplitudes from obvious (1.0) to subtle
# (0.35), plus every clip untouched (re-encoded the same way) as a negative.
# Writes NAME.mp4 and NAME.truth.json per video into OUT_DIR.
#
#   scripts/realset.sh OUT_DIR
#
# Environment:
#   REALFACES_DIR  the clips (default: ../shared/realfaces from the project root)
#   TWITCHSCOPE    the binary to use (default: cargo build --release here)
#   JOBS           videos rendered at once (default 1; the face mesh runs on
#                  one core, x264 on the others)
#   SEED_BASE      added to every seed (default 0): another draw of the same
#                  set, e.g. a held-out one for validation
#   AMPLITUDES     the warp amplitudes to cycle through (default "1.0 0.6 0.35")
#   SCENARIOS      the spasm scenarios (default: all seven below)
#   DRAG           a closing lid also pulls the skin around the eye down with
#                  it, by this many lid travels (`synth --drag`; default 0,
#                  the lid alone); the dev set's real-face spasms look like 1.7
#
# Clips shorter than LOOP_BELOW_S are played ping-pong to LOOP_TO_S (their
# positives and a looped negative); a clip shorter than the analyser's 3 s
# minimum has only the looped negative. A scenario that does not fit a clip
# (e.g. 3 s of myokymia on a face seen for 2.4 s) is skipped and listed.
#
# The clips and the videos are not the project's to redistribute: nothing
# here is committed.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: scripts/realset.sh OUT_DIR}"
faces="${REALFACES_DIR:-$root/../shared/realfaces}"
jobs="${JOBS:-1}"
LOOP_BELOW_S=6
LOOP_TO_S=12
MIN_ANALYSIS_S=3
read -r -a scenarios <<< "${SCENARIOS:-left_clonic_eye right_clonic_eye left_tonic_synkinesis \
right_tonic_synkinesis left_myokymia right_myokymia bilateral}"
drag="${DRAG:-0}"
read -r -a amplitudes <<< "${AMPLITUDES:-1.0 0.6 0.35}"
seed_base="${SEED_BASE:-0}"

[ -d "$faces" ] || { echo "realset: no clips at $faces (set REALFACES_DIR)" >&2; exit 1; }
command -v ffprobe >/dev/null || { echo "realset: ffprobe not found (install ffmpeg)" >&2; exit 1; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
logs="$out/.logs"
mkdir -p "$logs"

# The binary: built once and copied, so another build in a shared target
# directory cannot swap it mid-run.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -n "${TWITCHSCOPE:-}" ]; then
    bin="$TWITCHSCOPE"
else
    exe="$(cd "$root" && cargo build --release --quiet --message-format=json-render-diagnostics |
        python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "twitchscope":
        print(m["executable"])' | tail -1)"
    [ -x "$exe" ] || { echo "realset: cargo build gave no twitchscope binary" >&2; exit 1; }
    cp "$exe" "$tmp/twitchscope"
    bin="$tmp/twitchscope"
fi
"$bin" synth --help | grep -q -- '--base' ||
    { echo "realset: $bin has no 'synth --base'" >&2; exit 1; }

# Short name of a clip: liveportrait_driving_d9 -> d9, foreman_cif_openh264 -> foreman.
short() {
    case "$1" in
        liveportrait_driving_*) echo "${1#liveportrait_driving_}" ;;
        *) echo "${1%%_*}" ;;
    esac
}

# The jobs: name, clip, scenario, seed, amplitude, loop seconds (or -).
names=() clips=() scens=() seeds=() amps=() loops=()
add() { names+=("$1") clips+=("$2") scens+=("$3") seeds+=("$4") amps+=("$5") loops+=("$6"); }
ci=0
shopt -s nullglob
for clip in "$faces"/*.mp4; do
    stem="$(basename "$clip" .mp4)"
    s="$(short "$stem")"
    dur="$(ffprobe -v error -select_streams v:0 -show_entries stream=duration \
        -of default=nw=1:nk=1 "$clip" | head -1)"
    loop=-
    if awk -v d="${dur:-0}" -v l="$LOOP_BELOW_S" 'BEGIN { exit !(d < l) }'; then
        loop=$LOOP_TO_S
    fi
    si=0
    for sc in "${scenarios[@]}"; do
        # Each scenario meets every amplitude across the clips; seeds differ
        # everywhere.
        amp="${amplitudes[$(((ci + si) % ${#amplitudes[@]}))]}"
        seed=$((seed_base + ci * ${#scenarios[@]} + si + 1))
        add "rs_${s}_${sc}_a${amp/./}_s${seed}" "$clip" "$sc" "$seed" "$amp" "$loop"
        si=$((si + 1))
    done
    if awk -v d="${dur:-0}" -v l="$MIN_ANALYSIS_S" 'BEGIN { exit !(d >= l) }'; then
        add "rs_${s}_none" "$clip" rest_blinks 1 1.0 -
    fi
    if [ "$loop" != - ]; then
        add "rs_${s}_none_loop${loop}" "$clip" rest_blinks 1 1.0 "$loop"
    fi
    ci=$((ci + 1))
done
[ "${#names[@]}" -gt 0 ] || { echo "realset: no .mp4 clips in $faces" >&2; exit 1; }

render_one() {
    local i=$1
    local name="${names[$i]}"
    local args=(synth --base "${clips[$i]}" --scenario "${scens[$i]}" --seed "${seeds[$i]}"
        --amplitude "${amps[$i]}" --out "$out/$name.mp4")
    [ "${loops[$i]}" = - ] || args+=(--loop-to "${loops[$i]}")
    [ "${scens[$i]}" = rest_blinks ] || args+=(--drag "$drag")
    if "$bin" "${args[@]}" >"$logs/$name.log" 2>&1; then
        echo "ok    $name"
    elif grep -q "long enough" "$logs/$name.log"; then
        rm -f "$out/$name.mp4" "$out/$name.truth.json"
        echo "skip  $name: $(tail -1 "$logs/$name.log" | sed 's/.*: no stretch/no stretch/')"
    else
        rm -f "$out/$name.mp4" "$out/$name.truth.json"
        echo "FAIL  $name: $(tail -1 "$logs/$name.log")"
    fi
}

echo "realset: ${#names[@]} videos from $faces into $out ($jobs at a time)"
start=$SECONDS
{
    for i in "${!names[@]}"; do
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
        render_one "$i" &
    done
    wait
} | tee "$logs/summary.txt"
made=$(grep -c '^ok' "$logs/summary.txt" || true)
skipped=$(grep -c '^skip' "$logs/summary.txt" || true)
failed=$(grep -c '^FAIL' "$logs/summary.txt" || true)
echo "realset: $made videos in $((SECONDS - start)) s ($skipped skipped, $failed failed) in $out"
[ "$failed" -eq 0 ]
