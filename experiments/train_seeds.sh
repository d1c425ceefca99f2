#!/usr/bin/env bash
# Trains SEEDS independent runs of each scenario's committed PPO config (seeds 0..SEEDS-1, run K
# in runs/seeds_<scenario>/run-K) and evaluates them together with the paired protocol on fresh
# seeds and on the holdout split: rliable aggregates over (run, episode), the paired table on the
# per-episode mean over runs. Results in experiments/results/<scenario>/seeds/{fresh,holdout}/.
#   SEEDS=3 experiments/train_seeds.sh batch capacity
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
seeds=${SEEDS:-3}
for s in "$@"; do
    run="runs/seeds_$s"
    rm -rf "$run"
    start=$(date +%s)
    target/release/planetgym train --config "experiments/configs/ppo_$s.toml" --run-dir "$run" --seeds "$seeds"
    echo "trained $seeds runs of $s in $(( $(date +%s) - start )) s"
    experiments/eval_splits.sh "$s" "$run" "experiments/results/$s/seeds"
    cp "$run/eval.json" "experiments/results/$s/seeds/training_eval.json"
done
