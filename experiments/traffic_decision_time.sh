#!/usr/bin/env bash
# Issue 20, stop 49: time per traffic decision, one thread, 4 episodes (5760 decisions) of
# tuning seed 77: the LP, greedy spill-over, and one run of the 10M pooled PPO policy with and
# without the overflow guard. Each is timed as a whole run, simulator included, minus the same
# run with `nearest` alone (the simulator and a trivial policy); the PPO run evaluates its
# greedy and sampled rows, so its time is halved. Writes results/traffic/guard/decision_time.txt.
#   experiments/traffic_decision_time.sh     # about 2 min
set -euo pipefail
cd "$(dirname "$0")/.."
out=experiments/results/traffic/guard
policy=experiments/policies/traffic_pooled_10m/run-0
decisions=$((4 * 1440))
seconds() {
    local start end
    start=$(date +%s.%N)
    target/release/planetgym "$@" --episodes 4 --seed 77 --threads 1 >/dev/null 2>&1
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
base=$(seconds baselines --scenario traffic --set observation=pairs --policies nearest)
per_decision() { echo "($1 - $base) * 1000000 / $decisions / $2" | bc; }
{
    echo "simulator and nearest: $(echo "$base * 1000000 / $decisions" | bc) us/decision"
    for p in lp greedy-spillover@0.8; do
        t=$(seconds baselines --scenario traffic --set observation=pairs --policies "$p")
        echo "$p: $(per_decision "$t" 1) us/decision beyond it"
    done
    t=$(seconds eval --policy $policy --policies nearest)
    echo "ppo: $(per_decision "$t" 2) us/decision beyond it"
    t=$(seconds eval --policy $policy --policies nearest --set guard.max_utilisation=0.85)
    echo "ppo behind the guard (0.85): $(per_decision "$t" 2) us/decision beyond it"
} | tee $out/decision_time.txt
