#!/usr/bin/env bash
# Issue 20, batch with EASY backfilling (stop 46): the tuning that chose
# configs/bc_batch_saf_backfill_ppo_per_job_long.toml. PPO after 200 updates of SAF imitation,
# trained with backfilling; variants of configs/bc_batch_saf_backfill_ppo_per_job.toml (each
# job's bounded slowdown given as it starts), three runs each (seeds 0-2, one thread each),
# judged on tuning seed 77 only (30 Lublin-1 windows of 1024 jobs, backfilling on) against SAF:
#   experiments/batch_backfill_tuning.sh            # every variant, about 60 min on 2 cores
#   experiments/batch_backfill_tuning.sh log_10m    # one
# Results: experiments/results/batch/saf_backfill_ppo_per_job/tuning_seed77/<variant>/
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
config=experiments/configs/bc_batch_saf_backfill_ppo_per_job.toml
out=experiments/results/batch/saf_backfill_ppo_per_job/tuning_seed77
declare -A settings=(
    [end]="env.reward_per_job=false"
    [base]=""
    [gamma99]="ppo.gamma=0.99 ppo.gae_lambda=0.95"
    [envs16]="num_envs=16"
    [log]="env.observe_log=true"
    [log_vis256]="env.observe_log=true env.visible_jobs=256"
    [log_10m]="env.observe_log=true total_steps=10000000"
)
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(end base gamma99 envs16 log log_vis256 log_10m)
for v in "${variants[@]}"; do
    train=(--set total_steps=3000000)
    for s in ${settings[$v]}; do train+=(--set "$s"); done
    # The evaluation scenario needs the observation the policy was trained on.
    look=()
    for s in ${settings[$v]}; do
        case $s in env.observe_log=*|env.visible_jobs=*) look+=(--set "${s#env.}") ;; esac
    done
    target/release/planetgym train --config "$config" "${train[@]}" --set threads=1 \
        --set eval.episodes=0 --seeds 3 --run-dir "runs/batch_backfill_tuning_$v"
    mkdir -p "$out/$v"
    target/release/planetgym eval --policy "runs/batch_backfill_tuning_$v" \
        --config experiments/configs/batch_lublin1_eval.toml --set observe_start=true "${look[@]}" \
        --backfill --seed 77 --episodes 30 --policies saf --out "$out/$v" | tee "$out/$v/table.txt"
done
