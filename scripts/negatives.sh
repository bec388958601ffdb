#!/usr/bin/env bash
# Builds more negatives (people without spasms) from the real clips of
# ../shared/realfaces: each clip mirrored (as many webcam apps deliver it),
# slowed to 0.8x and sped up to 1.25x (other rates of talking and blinking;
# ffmpeg repeats or drops frames to keep 30 fps, as a phone's frame-rate
# conversion does), at half the size (a face further from the camera),
# heavily compressed (a video call's bit rate) and dim with sensor noise (a
# room in the evening). Each video gets a truth file with no events, so
# scripts/realset-score.sh (or ../shared/bench/score.py) reports the false
# spasms per minute. The detector was developed on the clips themselves; their
# variants show how close to its thresholds ordinary faces come.
#
#   scripts/negatives.sh OUT_DIR
#
# Environment:
#   REALFACES_DIR  the clips (default: ../shared/realfaces from the project root)
#
# Nothing here is committed: the clips are not the project's to redistribute.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: scripts/negatives.sh OUT_DIR}"
faces="${REALFACES_DIR:-$root/../shared/realfaces}"
[ -d "$faces" ] || { echo "negatives: no clips at $faces (set REALFACES_DIR)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "negatives: ffmpeg not found" >&2; exit 1; }
mkdir -p "$out"

variants=(flip slow fast small crushed dim)
filter() {
    case "$1" in
        flip) echo "hflip" ;;
        slow) echo "setpts=1.25*PTS" ;;
        fast) echo "setpts=0.8*PTS" ;;
        small) echo "scale=trunc(iw/4)*2:trunc(ih/4)*2" ;;
        crushed) echo "null" ;;
        dim) echo "eq=brightness=-0.25:contrast=0.6,noise=alls=14:allf=t" ;;
    esac
}

shopt -s nullglob
made=0
for clip in "$faces"/*.mp4; do
    stem="$(basename "$clip" .mp4)"
    for v in "${variants[@]}"; do
        name="neg_${stem}_$v"
        # Re-timing converts to 30 fps; the others keep the clip's own rate.
        rate=()
        case "$v" in slow | fast) rate=(-r 30) ;; esac
        quality=(-crf 18)
        [ "$v" = crushed ] && quality=(-crf 38)
        ffmpeg -v error -y -i "$clip" -vf "$(filter "$v")" "${rate[@]}" -an \
            -c:v libx264 "${quality[@]}" -pix_fmt yuv420p "$out/$name.mp4"
        seconds="$(ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 \
            "$out/$name.mp4")"
        cat > "$out/$name.truth.json" <<EOF
{
 "name": "$name",
 "fps": $(ffprobe -v error -select_streams v:0 -show_entries stream=avg_frame_rate \
        -of default=nw=1:nk=1 "$out/$name.mp4" | awk -F/ '{ printf "%.3f", $1 / ($2 ? $2 : 1) }'),
 "seconds": $seconds,
 "expected_laterality": "none",
 "events": [],
 "blinks": null,
 "mirrored": $([ "$v" = flip ] && echo true || echo false),
 "source": "$stem",
 "variant": "$v",
 "notes": "$stem, $v; no spasm"
}
EOF
        made=$((made + 1))
    done
done
[ "$made" -gt 0 ] || { echo "negatives: no .mp4 clips in $faces" >&2; exit 1; }
echo "negatives: $made videos in $out"
