#!/usr/bin/env bash
# Issue 20, traffic (stop 48): pooled PPO (configs/ppo_traffic_pooled.toml) with a 10M-step
# budget, three runs. Planned after the one-seed pilot in experiments/README.md ("does a longer
# budget close the gap?") reached 4.2 % below the LP on its tuning episodes at 3M steps, and
# before these ran: training seeds 5-7 (never used for traffic), each evaluated every 700
# updates on 5 episodes of tuning seed 77 and keeping its best (nothing else is chosen on them);
# then judged on 30 episodes of evaluation seed 4711 (never used) on fresh days, the holdout
# days and the outage drill, paired with the per-interval LP and greedy spill-over, runs
# resampled. The goal: within 3 % of the LP and better than greedy on at least 90 % of episodes.
# Then, to pair them with stop 44's pooled runs at 3M steps, the same on seed 1234 (the episodes
# those were judged on), compared by experiments/before_after.py (against_3m_seed1234/).
#   experiments/traffic_long_budget.sh [--no-train]    # 50 min of training on two cores, 5 of evaluation
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
runs=runs/traffic_pooled_10m
out=experiments/results/traffic/pooled_10m
policy=experiments/policies/traffic_pooled_10m
if [ "${1:-}" != "--no-train" ]; then
    pids=()
    for k in 0 1 2; do
        target/release/planetgym train --config experiments/configs/ppo_traffic_pooled.toml \
            --set total_steps=10000000 --set seed=$((k + 5)) --set threads=1 --set eval.episodes=0 \
            --set eval.every=700 --set eval.during_episodes=5 --set eval.seed=77 \
            --run-dir "$runs/run-$k" > "$runs-$k.log" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid"
    done
    for k in 0 1 2; do
        mkdir -p "$policy/run-$k"
        cp "$runs/run-$k/best/policy.json" "$runs/run-$k/best/best.json" "$policy/run-$k/"
    done
fi
baselines=(--policies lp,greedy-spillover@0.8)
for split in fresh holdout outage; do
    experiments/traffic_eval_split.sh "$policy" "$split" 4711 "$out" "${baselines[@]}" > /dev/null
    experiments/traffic_eval_split.sh "$policy" "$split" 1234 "$out/against_3m_seed1234" \
        "${baselines[@]}" > /dev/null
    .venv/bin/python experiments/before_after.py traffic \
        "experiments/results/traffic/pooling/pooled_3m/$split/episodes.csv" \
        "$out/against_3m_seed1234/$split/episodes.csv" > "$out/against_3m_seed1234/$split/pooled_3m_vs_10m.txt"
done
