#!/usr/bin/env bash
# Traffic, issue 20 (stop 44): the column-pooling ablation. Three seeds (1-3) of
# experiments/configs/ppo_traffic.toml and of ppo_traffic_pooled.toml (the same with
# column_pooling = true), each trained for 600 updates (864k steps; about 5 and 6.5 min a run
# on one thread), evaluated with the paired protocol on 30 episodes of seed 1234 on fresh
# days, the holdout days and the outage drill against the LP and greedy spill-over, then
# compared with each other on the same episodes (experiments/before_after.py, runs resampled).
# Results in experiments/results/traffic/pooling/{plain,pooled}/{fresh,holdout,outage}/ and
# pooled_vs_plain_{fresh,holdout,outage}.txt. About 45 min on 2 cores.
#   experiments/traffic_pooling.sh [--no-train]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
out=experiments/results/traffic/pooling
declare -A configs=([plain]=ppo_traffic [pooled]=ppo_traffic_pooled)
if [ "${1:-}" != "--no-train" ]; then
    for variant in plain pooled; do
        rm -rf "runs/traffic_pooling_$variant"
        (for k in 0 1 2; do
            target/release/planetgym train --config "experiments/configs/${configs[$variant]}.toml" \
                --set seed=$((k + 1)) --set threads=1 --set eval.episodes=0 \
                --run-dir "runs/traffic_pooling_$variant/run-$k" --stop-after 600 > /dev/null
        done) &
    done
    wait
fi
evaluate() {
    experiments/traffic_eval_split.sh "runs/traffic_pooling_$1" "$2" 1234 "$out/$1" --threads 1 \
        --policies lp,greedy-spillover@0.8 > /dev/null
}
for split in fresh holdout outage; do
    evaluate plain $split &
    evaluate pooled $split
    wait
    .venv/bin/python experiments/before_after.py traffic "$out/plain/$split/episodes.csv" \
        "$out/pooled/$split/episodes.csv" | tee "$out/pooled_vs_plain_$split.txt"
done
