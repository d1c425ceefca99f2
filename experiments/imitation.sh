#!/usr/bin/env bash
# Issue 20's imitation ablation on batch scheduling (Lublin-1, no backfilling): three training
# seeds each of SJF cloning alone (bc_batch.toml) and of SJF cloning then PPO
# (ppo_batch_imitation.toml), each evaluated with the paired protocol on fresh seeds and on the
# NASA holdout (experiments/results/batch/{cloning,imitation}/{fresh,holdout}/), to set beside
# PPO alone (experiments/results/batch/seeds/, experiments/train_seeds.sh batch).
#   experiments/imitation.sh            # both (about 4 min of training, then the evaluations)
#   experiments/imitation.sh cloning    # one
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p planetgym-cli
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(cloning imitation)
for v in "${variants[@]}"; do
    case $v in
        cloning) config=experiments/configs/bc_batch.toml ;;
        imitation) config=experiments/configs/ppo_batch_imitation.toml ;;
        *) echo "unknown variant $v (cloning or imitation)" >&2; exit 2 ;;
    esac
    run="runs/seeds_batch_$v"
    rm -rf "$run"
    start=$(date +%s)
    target/release/planetgym train --config "$config" --run-dir "$run" --seeds 3
    echo "trained 3 runs of $v in $(( $(date +%s) - start )) s"
    experiments/eval_splits.sh batch "$run" "experiments/results/batch/$v"
    cp "$run/eval.json" "experiments/results/batch/$v/training_eval.json"
done
