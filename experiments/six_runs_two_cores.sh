#!/usr/bin/env bash
# Trains six runs of CONFIG (training seeds FIRST_SEED to FIRST_SEED+5) as two `train` sessions
# of three runs, one per core and one thread each, in RUNS/half-0 and RUNS/half-1 (logs in
# RUNS-half-N.log), with any further `train` arguments; fails if either session fails. Then
# gathers run K (seed FIRST_SEED+K) as RUNS/final/run-K (its last policy) and, where the runs
# kept one (eval.every), RUNS/best/run-K (its best policy and best.json), the layout `eval
# --policy` reads as six runs of one method.
#   experiments/six_runs_two_cores.sh CONFIG RUNS FIRST_SEED [TRAIN ARGUMENTS...]
set -euo pipefail
cd "$(dirname "$0")/.."
config=$1 runs=$2 first_seed=$3
shift 3
mkdir -p "$runs"
pids=()
for half in 0 1; do
    target/release/planetgym train --config "$config" --set threads=1 --set seed=$((first_seed + 3 * half)) \
        --seeds 3 --run-dir "$runs/half-$half" "$@" > "$runs-half-$half.log" 2>&1 &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid"
done
for k in 0 1 2 3 4 5; do
    from="$runs/half-$((k / 3))/run-$((k % 3))"
    mkdir -p "$runs/final/run-$k"
    cp "$from/policy.json" "$runs/final/run-$k/"
    if [ -d "$from/best" ]; then
        mkdir -p "$runs/best/run-$k"
        cp "$from/best/policy.json" "$from/best/best.json" "$runs/best/run-$k/"
    fi
done
