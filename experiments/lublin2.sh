#!/usr/bin/env bash
# Issue 20's transfer check: batch policies trained on Lublin-1, evaluated without retraining on
# Lublin-2 (RLScheduler's lublin_256_new2, 1024-job windows, 128 visible, seed 1234, paired
# protocol), each as POLICY_DIR:OUT pairs. Defaults: the committed PPO policy and the SJF clones
# of experiments/imitation.sh batch-cloning.
#   experiments/lublin2.sh
#   experiments/lublin2.sh runs/mine:experiments/results/batch/mine/lublin2
#   EVAL_SET=observe_start=true experiments/lublin2.sh runs/seeds_batch_rollout_start_clone:experiments/results/batch/rollout_start_clone/lublin2
#   (and runs/seeds_batch_rollout_start_long_clone:experiments/results/batch/rollout_start_long_clone/lublin2)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
pairs=("$@")
[ ${#pairs[@]} -eq 0 ] && pairs=(
    experiments/policies/batch:experiments/results/batch/paired/lublin2
    runs/seeds_batch_cloning:experiments/results/batch/cloning/lublin2
)
for pair in "${pairs[@]}"; do
    policy=${pair%%:*} out=${pair#*:}
    mkdir -p "$out"
    target/release/planetgym eval --policy "$policy" --config experiments/configs/batch_lublin1_eval.toml \
        --set trace=builtin:lublin_256_new2 ${EVAL_SET:+--set "$EVAL_SET"} --seed 1234 --out "$out" \
        | tee "$out/table.txt"
done
