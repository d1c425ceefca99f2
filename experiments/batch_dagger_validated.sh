#!/usr/bin/env bash
# Issue 20, batch without backfilling (stop 47): the DAgger clone of rollout-saf@16+3h with
# validation early stopping. In batch_checkpoint_selection.sh four of six runs kept the policy
# of update 200, halfway through the clone's 440 DAgger updates (the PPO that follows never beat
# it on the validation windows), and those four were the steadiest runs on every split.
# Planned after that result, before this ran: the imitation phase alone (the first 440 updates of
# configs/bc_batch_rollout_start_1024_ppo_per_job.toml, its learning-rate schedule unchanged),
# evaluated every 40 updates on the same 50 Lublin-1 windows of tuning seed 77, each run keeping
# its best checkpoint (best/). Six new runs (training seeds 16-21), judged on evaluation seed 2718
# (never used before) on Lublin-1, the NASA holdout and Lublin-2, paired protocol, runs resampled.
#   experiments/batch_dagger_validated.sh     # about 25 min on two cores, then 8 min of evaluation
# The confirmation, planned after that result and before it ran: six more runs (seeds 22-27) on
# evaluation seed 1618 (never used before):
#   FIRST_SEED=22 SEED=1618 RUNS=runs/dagger_validated_confirm \
#   POLICY=experiments/policies/batch_dagger_validated_confirm \
#   OUT=experiments/results/batch/dagger_validated/confirm_seed1618 experiments/batch_dagger_validated.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
runs=${RUNS:-runs/dagger_validated}
policy=${POLICY:-experiments/policies/batch_dagger_validated}
out=${OUT:-experiments/results/batch/dagger_validated/seed2718}
first_seed=${FIRST_SEED:-16}
seed=${SEED:-2718}
config=experiments/configs/bc_batch_rollout_start_1024_ppo_per_job.toml
# Seeds 16-21 by default, as two sessions of three, one per core.
experiments/six_runs_two_cores.sh "$config" "$runs" "$first_seed" --set eval.every=40 \
    --set eval.during_episodes=50 --set eval.seed=77 --set eval.episodes=0 --stop-after 440
mkdir -p "$policy"
cp -r "$runs/best/." "$policy/"
POLICY="$policy" SEED="$seed" OUT="$out" experiments/batch_clone_six_runs.sh
