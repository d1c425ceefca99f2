#!/usr/bin/env bash
# Issue 20, stop 49: the three pooled PPO policies trained for 10M steps
# (policies/traffic_pooled_10m, no retraining) run behind the overflow guard (the scenario's
# `guard.max_utilisation`, a load balancer's per-site rate limit with overflow to the next
# nearest site, on the demand the policy observed), against the LP, greedy spill-over and
# nearest behind the same guard, and against themselves without it. The mark, 0.85, was chosen
# on tuning seed 31337 (fresh days only) among 0.8, 0.85, 0.9 and 0.95, before this ran on
# SEED (default 5511, never used before). Per split (fresh, holdout, outage drill), 30
# episodes; writes OUT=results/traffic/guard/seedSEED/{guarded,unguarded}/SPLIT/, the paired
# guard-on-against-off table per split and the per-episode gaps (gap_by_episode.md).
# About 6 min.
#   experiments/traffic_guard.sh [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-5511}
policy=experiments/policies/traffic_pooled_10m
out=experiments/results/traffic/guard/seed$seed
for split in fresh holdout outage; do
    experiments/traffic_eval_split.sh $policy $split "$seed" $out/guarded \
        --set guard.max_utilisation=0.85 --policies lp,greedy-spillover@0.8,nearest
    experiments/traffic_eval_split.sh $policy $split "$seed" $out/unguarded \
        --policies lp,greedy-spillover@0.8
    .venv/bin/python experiments/before_after.py traffic \
        $out/unguarded/$split/episodes.csv $out/guarded/$split/episodes.csv \
        | tee $out/guard_on_against_off_$split.txt
done
.venv/bin/python experiments/traffic_gap_by_episode.py $out/guarded/*/episodes.csv \
    > $out/gap_by_episode.md
