#!/usr/bin/env bash
# Runs every fuzz target in its own process under `ulimit -v` 8 GiB, so that an abort or a
# timeout of one target is recorded as such and the others still run:
#   fuzz/each_target.sh [SECONDS] [BINARY] [CORPUS]
# One line per target: the exit status (134 = aborted, 3 = an input ran past 30 s) and the
# driver's counts (executions, ok, error, panic, bug).
set -uo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-20}
BIN=${2:-target/release/planetgym-fuzz}
CORPUS=${3:-fuzz/corpus}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
for t in swf openb_nodes openb_pods series scenario_config overrides train_config shadow_record policy_file checkpoint onnx; do
  (ulimit -v 8388608; timeout $((SECS + 100)) "$BIN" run --seconds "$SECS" --targets "$t" --corpus "$CORPUS") > "$LOG" 2>&1
  rc=$?
  counts=$(grep -E "^$t " "$LOG")
  echo "rc=$rc ${counts:-$t: no summary; last line: $(grep -v '^ ' "$LOG" | tail -1 | cut -c1-120)}"
done
