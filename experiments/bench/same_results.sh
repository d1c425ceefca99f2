#!/usr/bin/env bash
# Runs the same evaluations, shadow replay and a short training run with a `planetgym` binary and
# writes what they produce under OUT, so that two builds (e.g. before and after a refactoring)
# can be compared file by file: `diff -r OUT_A OUT_B` must print nothing but timing lines.
#   experiments/bench/same_results.sh BINARY OUT
set -euo pipefail
bin=$(realpath "$1"); out=$2
cd "$(dirname "$0")/../.."
mkdir -p "$out"
for s in capacity batch placement traffic; do
    "$bin" eval --policy "experiments/policies/$s" --episodes 5 --seed 1000 \
        --json "$out/eval_$s.json" --curves "$out/curves_$s.csv" --plot "$out/plot_$s.png" > "$out/eval_$s.txt"
done
"$bin" export --run experiments/policies/traffic --out "$out/export_traffic" > /dev/null
python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["scenario_config"])' \
    "$out/export_traffic/manifest.json" > "$out/traffic_scenario.toml"
"$bin" shadow-sample --scenario traffic --config "$out/traffic_scenario.toml" \
    --incumbent greedy-spillover@0.8 --records 300 2> /dev/null \
    | "$bin" shadow --policy "$out/export_traffic" 2> "$out/shadow_report.txt" \
    | sed -E 's/"latency_us":[0-9.e+-]+//' > "$out/shadow_traffic.jsonl"
cat > "$out/train.toml" <<TOML
scenario = "capacity"
total_steps = 4096
num_envs = 4
[ppo]
rollout_steps = 64
[eval]
episodes = 2
TOML
"$bin" train --config "$out/train.toml" --run-dir "$out/run" > /dev/null
# Wall-clock columns differ from run to run; everything else must not.
cut -d, -f1-5,7-15,19- "$out/run/metrics.csv" > "$out/run_metrics_without_times.csv"
sed -i -E '/latency|records\/s/d' "$out/shadow_report.txt"
rm -rf "$out/run/tb" "$out/run/metrics.csv" "$out/run/curve.png" "$out/run/checkpoint.json" "$out/export_traffic/manifest.json"
