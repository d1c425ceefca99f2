#!/usr/bin/env bash
# Issue 20, batch without backfilling (stop 47): does keeping each run's best checkpoint on
# held-out Lublin-1 windows steady the per-job-reward PPO that follows the rollout clone?
# Stop 46's six runs of configs/bc_batch_rollout_start_1024_ppo_per_job.toml (seeds 10-15)
# spread from 236.8 to 286.0 on Lublin-1 and from 605 to 704 on Lublin-2, so their mean on
# Lublin-2 (+10.33 to SAF) did not stand. Planned before it ran: the same six runs (same
# config and seeds, so the same training), each also evaluated every 200 updates on 50 Lublin-1
# windows of tuning seed 77 (greedy; eval.every keeps the best in run-K/best/), then
#   best  = each run's kept checkpoint,
#   final = each run's last policy (stop 46's policies),
# both judged on evaluation seed 3141 (never used before) on Lublin-1, the NASA holdout and
# Lublin-2, paired protocol, runs resampled (batch_clone_six_runs.sh), and paired with each
# other (before_after.py). Nothing is chosen on Lublin-2 or the holdout.
#   experiments/batch_checkpoint_selection.sh     # about 40 min on two cores, then 15 min of evaluation
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
runs=${RUNS:-runs/rollout_clone_ppo_per_job_best}
out=${OUT:-experiments/results/batch/rollout_start_1024_ppo_per_job/selection_seed3141}
config=experiments/configs/bc_batch_rollout_start_1024_ppo_per_job.toml
# Seeds 10-15 as two sessions of three, one per core; best/ and final/ hold the six runs of each.
experiments/six_runs_two_cores.sh "$config" "$runs" 10 --set eval.every=200 --set eval.during_episodes=50 \
    --set eval.seed=77 --set eval.episodes=0
for kind in best final; do
    POLICY="$runs/$kind" SEED=3141 OUT="$out/$kind" experiments/batch_clone_six_runs.sh
done
for split in lublin1 holdout lublin2; do
    .venv/bin/python experiments/before_after.py batch "$out/final/$split/episodes.csv" \
        "$out/best/$split/episodes.csv" "$out/best_vs_final_$split.json" > "$out/best_vs_final_$split.txt"
done
