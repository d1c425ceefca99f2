#!/usr/bin/env bash
# Traffic, issue 20 (stop 43): why the LP's clone fails, piloted on tuning seed 77. Trains the
# imitation phase (100 updates of DAgger from the LP, seed 0) of each VARIANT: narrow
# (bc_traffic.toml: 32 units, observes the applied split's shares), wide
# (bc_traffic_wide.toml: 128 units), noshare (bc_traffic_noshare.toml: observe_share = false),
# own (bc_traffic_own_states.toml: the expert never acts, the clone's own states from the
# start), half (bc_traffic_half_expert.toml: the expert acts on half the steps at first),
# pooled and pooled_noshare (bc_traffic_pooled{,_noshare}.toml: narrow and noshare with
# column_pooling, stop 44);
# evaluates each against every baseline on 10 episodes of seed 77; then measures, on LP-driven
# states, how far each clone's split is from the LP's and how much it rests on the observed
# shares (traffic_clone_diagnostics.py). Results in
# experiments/results/traffic/clone_pilot/VARIANT/ (table.txt, diagnostics.txt and the eval
# files). About 35 min for the first three on 2 cores (the runs train side by side, one thread
# each), 10 min for the next two, 25 min for the pooled pair.
#   experiments/traffic_clone_pilot.sh [VARIANT ...]    # default: all seven
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
out=experiments/results/traffic/clone_pilot
declare -A configs=([narrow]=bc_traffic [wide]=bc_traffic_wide [noshare]=bc_traffic_noshare
                     [own]=bc_traffic_own_states [half]=bc_traffic_half_expert
                     [pooled]=bc_traffic_pooled [pooled_noshare]=bc_traffic_pooled_noshare)
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(narrow wide noshare own half pooled pooled_noshare)
for name in "${variants[@]}"; do
    [ -n "${configs[$name]:-}" ] || { echo "unknown variant $name (narrow, wide, noshare, own, half, pooled or pooled_noshare)" >&2; exit 2; }
done
for name in "${variants[@]}"; do
    config=experiments/configs/${configs[$name]}.toml
    rm -rf "runs/clone_pilot_$name"
    target/release/planetgym train --config "$config" --set seed=0 --set threads=1 --set eval.episodes=0 \
        --run-dir "runs/clone_pilot_$name" --stop-after 100 > /dev/null &
done
wait
for name in "${variants[@]}"; do
    mkdir -p "$out/$name"
    target/release/planetgym eval --policy "runs/clone_pilot_$name" --episodes 10 --seed 77 --out "$out/$name" \
        | tee "$out/$name/table.txt"
    .venv/bin/python experiments/traffic_clone_diagnostics.py "runs/clone_pilot_$name" \
        | tee "$out/$name/diagnostics.txt"
done
