#!/usr/bin/env bash
# Re-evaluates the committed policies with the paired protocol (issue 16): fresh evaluation
# seeds (1234, never a training seed: evaluation seeds have their top bit set), as many episodes
# as the pilot says (or the scenario's maximum), and again on each scenario's holdout split.
# Writes experiments/results/<scenario>/paired/{fresh,holdout}/: table.txt (what was printed),
# table.json, episodes.csv and report/ (rliable aggregates, performance profile, P(X>ref) plots).
#   experiments/reevaluate.sh                   # all four (traffic takes the longest)
#   experiments/reevaluate.sh batch capacity    # some
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(batch capacity placement traffic)
for s in "${scenarios[@]}"; do
    experiments/eval_splits.sh "$s" "experiments/policies/$s" "experiments/results/$s/paired"
done
