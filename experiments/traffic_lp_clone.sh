#!/usr/bin/env bash
# Traffic, issue 20: three seeds of experiments/configs/bc_traffic.toml (DAgger from the
# per-interval LP for 100 updates, then PPO for 100), evaluated with the paired protocol on 30
# fresh episodes (seed 1234), on the holdout days and on the outage drill, against every
# baseline. The policy at the end of imitation (update 100) is kept and evaluated too, as the
# ablation without PPO. Results in experiments/results/traffic/{lp_clone,lp_clone_only}/
# {fresh,holdout,outage}/. About 35 min on 2 cores (the three runs train side by side, one
# thread each; the LP labels every imitation step).
#   experiments/traffic_lp_clone.sh [--no-train]
set -euo pipefail
cd "$(dirname "$0")/.."
run=runs/bc_traffic
clone=runs/bc_traffic_clone_only
train() {
    local k=$1 flags=(--config experiments/configs/bc_traffic.toml --set seed=$1 --set threads=1
                      --set eval.episodes=0 --run-dir "$run/run-$1")
    target/release/planetgym train "${flags[@]}" --stop-after 100 > /dev/null
    mkdir -p "$clone/run-$k"
    cp "$run/run-$k/policy.json" "$clone/run-$k/"
    target/release/planetgym train --resume "$run/run-$k" > /dev/null
}
if [ "${1:-}" != "--no-train" ]; then
    rm -rf "$run" "$clone"
    for k in 0 1 2; do train $k & done
    wait
fi
for policy in lp_clone lp_clone_only; do
    dir=$run
    [ "$policy" = lp_clone_only ] && dir=$clone
    for split in fresh holdout outage; do
        experiments/traffic_eval_split.sh "$dir" "$split" 1234 "experiments/results/traffic/$policy"
    done
done
