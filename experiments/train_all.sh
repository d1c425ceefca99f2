#!/usr/bin/env bash
# Trains the PPO agent of every scenario from its committed config, then copies the trained
# policies to experiments/policies/<scenario>/ and the evaluation tables, metrics and learning
# curves to experiments/results/<scenario>/.
#   experiments/train_all.sh                 # all four (about an hour on 2 cores)
#   experiments/train_all.sh capacity batch  # some
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(capacity traffic batch placement)
for s in "${scenarios[@]}"; do
    run="runs/ppo_$s"
    rm -rf "$run"
    target/release/planetgym train --config "experiments/configs/ppo_$s.toml" --run-dir "$run"
    mkdir -p "experiments/policies/$s" "experiments/results/$s"
    cp "$run/policy.json" "$run/config.toml" "experiments/policies/$s/"
    cp "$run/eval.json" "$run/eval.csv" "$run/metrics.csv" "$run/curve.png" "experiments/results/$s/"
done
