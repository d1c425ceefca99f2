#!/usr/bin/env bash
# Issue 20, stop 49 pilot: does fine-tuning behind the overflow guard help? Each of the three
# 10M-step pooled policies (policies/traffic_pooled_10m/run-K) is trained on for 300 updates
# (432k steps) with the guard on (mark 0.85), from its own weights (`init_policy`), at a third
# of the learning rate, training seed 40+K; three runs, one thread each, two at a time. Then
# evaluated behind the guard on tuning seed 31337 (30 fresh days), and paired with the
# policies it started from on the same episodes. About 25 min.
#   experiments/traffic_guard_finetune.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=runs/traffic_guard_finetune
out=experiments/results/traffic/guard/finetune_pilot
mkdir -p "$runs" "$out"
train() {
    target/release/planetgym train --config experiments/configs/ppo_traffic_pooled.toml \
        --set init_policy=experiments/policies/traffic_pooled_10m/run-"$1" \
        --set env.guard.max_utilisation=0.85 --set total_steps=432000 --set ppo.learning_rate=3e-4 \
        --set seed=$((40 + $1)) --set threads=1 --set eval.episodes=0 --run-dir "$runs/run-$1" \
        > "$runs/run-$1.log" 2>&1
}
train 0 & train 1 & wait
train 2
guarded=(--episodes 30 --seed 31337 --set guard.max_utilisation=0.85 --policies lp,greedy-spillover@0.8)
target/release/planetgym eval --policy experiments/policies/traffic_pooled_10m "${guarded[@]}" \
    --out "$out/before" > "$out/before.txt"
target/release/planetgym eval --policy "$runs" "${guarded[@]}" --out "$out/after" > "$out/after.txt"
.venv/bin/python experiments/before_after.py traffic "$out/before/episodes.csv" "$out/after/episodes.csv" \
    | tee "$out/before_after.txt"
.venv/bin/python experiments/traffic_gap_by_episode.py "$out"/{before,after}/episodes.csv > "$out/gap_by_episode.md"
