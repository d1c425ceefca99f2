#!/usr/bin/env bash
# Issue 20, batch: a clone with several training runs (by default stop 42's clone of the search
# rollout-saf@16+3h trained on 1024-job windows, configs/bc_batch_rollout_start_1024.toml),
# evaluated on Lublin-1 (fresh windows), the NASA holdout and Lublin-2 (no retraining), paired
# protocol, runs resampled.
#   experiments/batch_clone_six_runs.sh          # about 7 min
# Defaults: the six runs committed in experiments/policies/batch_rollout_start_1024_clone (run-K
# trained with seed K: `planetgym train --config experiments/configs/bc_batch_rollout_start_1024.toml
# --seeds 6`, about 19 min), evaluation seed 8642, results in
# experiments/results/batch/rollout_start_1024_clone/six_runs_seed8642. The confirmation with six
# new runs (seeds 6-11, trained with `--set seed=6 --seeds 6`) is
#   POLICY=experiments/policies/batch_rollout_start_1024_clone_confirm SEED=9753 \
#   OUT=experiments/results/batch/rollout_start_1024_clone/confirm_seed9753 experiments/batch_clone_six_runs.sh
# BACKFILL=1 evaluates with EASY backfilling on every log (stop 43: the SAF clone trained with it,
# configs/bc_batch_saf_backfill.toml):
#   POLICY=experiments/policies/batch_saf_backfill_clone SEED=2468 BACKFILL=1 \
#   OUT=experiments/results/batch/saf_backfill_clone/seed2468 experiments/batch_clone_six_runs.sh
# EVAL_SET=KEY=VALUE adds one more setting to the evaluation's scenario (stop 46: the clone that
# also observes logs, configs/bc_batch_rollout_start_1024_log.toml, needs EVAL_SET=observe_log=true).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
policy=${POLICY:-experiments/policies/batch_rollout_start_1024_clone}
seed=${SEED:-8642}
out=${OUT:-experiments/results/batch/rollout_start_1024_clone/six_runs_seed8642}
eval_config=(--config experiments/configs/batch_lublin1_eval.toml --set observe_start=true --seed "$seed"
             ${BACKFILL:+--backfill} ${EVAL_SET:+--set "$EVAL_SET"})
for split in lublin1 holdout lublin2; do
    mkdir -p "$out/$split"
    case $split in
        lublin1) flags=() ;;
        holdout) flags=(--holdout) ;;
        lublin2) flags=(--set trace=builtin:lublin_256_new2) ;;
    esac
    target/release/planetgym eval --policy "$policy" "${eval_config[@]}" "${flags[@]}" --out "$out/$split" \
        | tee "$out/$split/table.txt"
done
