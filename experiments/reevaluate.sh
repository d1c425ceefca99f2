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
cargo build --release -p planetgym-cli
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(batch capacity placement traffic)
for s in "${scenarios[@]}"; do
    extra=()
    [ "$s" = batch ] && extra=(--config experiments/configs/batch_lublin1_eval.toml)
    for split in fresh holdout; do
        out="experiments/results/$s/paired/$split"
        mkdir -p "$out"
        flags=("${extra[@]}")
        [ "$split" = holdout ] && flags+=(--holdout)
        target/release/planetgym eval --policy "experiments/policies/$s" "${flags[@]}" --seed 1234 \
            --json "$out/table.json" --per-episode "$out/episodes.csv" --report-dir "$out/report" \
            --curves "$out/curves.csv" --plot "$out/curves.png" \
            | tee "$out/table.txt"
    done
done
