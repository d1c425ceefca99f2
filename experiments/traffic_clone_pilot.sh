#!/usr/bin/env bash
# Traffic, issue 20 (stop 43): why the LP's clone fails, piloted on tuning seed 77. Trains the
# imitation phase (100 updates of DAgger from the LP, seed 0) of three configs: bc_traffic.toml
# (32 units, observes the applied split's shares), bc_traffic_wide.toml (128 units) and
# bc_traffic_noshare.toml (32 units, observe_share = false); evaluates each against every
# baseline on 10 episodes of seed 77; then measures, on LP-driven states, how far each clone's
# split is from the LP's and how much it rests on the observed shares
# (traffic_clone_diagnostics.py). Results in experiments/results/traffic/clone_pilot/. About 35
# min on 2 cores (the runs train side by side, one thread each).
#   experiments/traffic_clone_pilot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p planetgym-cli
out=experiments/results/traffic/clone_pilot
variants=(narrow:bc_traffic wide:bc_traffic_wide noshare:bc_traffic_noshare)
for v in "${variants[@]}"; do
    name=${v%%:*} config=experiments/configs/${v#*:}.toml
    rm -rf "runs/clone_pilot_$name"
    target/release/planetgym train --config "$config" --set seed=0 --set threads=1 --set eval.episodes=0 \
        --run-dir "runs/clone_pilot_$name" --stop-after 100 > /dev/null &
done
wait
for v in "${variants[@]}"; do
    name=${v%%:*}
    mkdir -p "$out/$name"
    target/release/planetgym eval --policy "runs/clone_pilot_$name" --episodes 10 --seed 77 --out "$out/$name" \
        | tee "$out/$name/table.txt"
done
.venv/bin/python experiments/traffic_clone_diagnostics.py runs/clone_pilot_{narrow,wide,noshare} \
    | tee "$out/diagnostics.txt"
