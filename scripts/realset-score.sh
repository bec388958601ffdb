#!/usr/bin/env bash
# Analyses every video of a set (e.g. the one scripts/realset.sh builds) with
# `twitchscope analyze`, scores the results with the development set's scorer
# and prints a table per scenario, amplitude and base clip.
#
#   scripts/realset-score.sh SET_DIR [OUT_DIR]
#
# OUT_DIR (default SET_DIR/analysis) receives NAME.json per video.
# Environment:
#   TWITCHSCOPE  the binary to use (default: cargo build --release here)
#   SCORE_PY     the scorer (default: ../shared/bench/score.py from the project root)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
set_dir="${1:?usage: scripts/realset-score.sh SET_DIR [OUT_DIR]}"
out="${2:-$set_dir/analysis}"
score_py="${SCORE_PY:-$root/../shared/bench/score.py}"
[ -d "$set_dir" ] || { echo "realset-score: no set at $set_dir" >&2; exit 1; }
[ -f "$score_py" ] || { echo "realset-score: no scorer at $score_py (set SCORE_PY)" >&2; exit 1; }
mkdir -p "$out"

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
    [ -x "$exe" ] || { echo "realset-score: cargo build gave no twitchscope binary" >&2; exit 1; }
    cp "$exe" "$tmp/twitchscope"
    bin="$tmp/twitchscope"
fi

shopt -s nullglob
truths=("$set_dir"/*.truth.json)
[ "${#truths[@]}" -gt 0 ] || { echo "realset-score: no *.truth.json in $set_dir" >&2; exit 1; }
echo "realset-score: analysing ${#truths[@]} videos into $out"
start=$SECONDS
failed=0
for truth in "${truths[@]}"; do
    name="$(basename "$truth" .truth.json)"
    video="$set_dir/$name.mp4"
    t0=$SECONDS
    if "$bin" analyze "$video" --json "$out/$name.json" >"$out/$name.log" 2>&1; then
        printf '  %-52s %3d s\n' "$name" $((SECONDS - t0))
    else
        failed=$((failed + 1))
        rm -f "$out/$name.json"
        printf '  %-52s FAILED: %s\n' "$name" "$(tail -1 "$out/$name.log")"
    fi
done
echo "realset-score: analysed in $((SECONDS - start)) s ($failed failed)"
echo
python3 "$score_py" "$set_dir" "$out"
echo
python3 "$root/scripts/realset_table.py" "$set_dir" "$out"
