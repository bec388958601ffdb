# Sourced by scripts/live-budget.sh and scripts/soak.sh: builds the
# release binary and starts `twitchscope app --demo --quit-after SECONDS`
# (under Xvfb when there is no display), its output in LOG. Sets
# `launcher` (the process started) and `pid` (the app's own process, found
# once its capture thread runs); exits if the app does not start.
#
#   start_live_app SECONDS LOG [APP ARGS...]
start_live_app() {
  local seconds=$1 log=$2
  shift 2
  cargo build --release --quiet
  local bin=${CARGO_TARGET_DIR:-target}/release/twitchscope
  local run=()
  if [ -z "${DISPLAY:-}" ]; then
    run=(xvfb-run -a -s "-screen 0 1400x900x24")
  fi
  "${run[@]}" "$bin" app --demo --quit-after "$seconds" "$@" >"$log" 2>&1 &
  launcher=$!
  pid=""
  for _ in $(seq 300); do
    for p in $(pgrep -x twitchscope || true); do
      if grep -qx capture /proc/"$p"/task/*/comm 2>/dev/null; then pid=$p; fi
    done
    [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] || { echo "the app did not start" >&2; exit 1; }
}
