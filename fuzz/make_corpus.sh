#!/usr/bin/env bash
# Rebuilds fuzz/corpus/ from the real traces in ../shared/data, the built-in data and the
# committed policies (run from the repository root after `cargo build --release`). The corpus
# is committed: small slices of each real input, enough for the mutations to reach every field.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/planetgym
DATA=../shared/data
OUT=fuzz/corpus
rm -rf "$OUT"
mkdir -p "$OUT"/{swf,openb_nodes,openb_pods,callgraph,series,scenario_config,overrides,train_config,shadow_record,policy_file,checkpoint,onnx}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

for log in lublin_256 lublin_256_new2 NASA-iPSC-1993-3.1-cln_part1; do
  head -c 6000 "$DATA/hpc_swf/$log.swf" | head -n 60 > "$OUT/swf/$log.swf"
done
zcat env/data/openb_node_list_all_node.csv.gz | head -n 30 > "$OUT/openb_nodes/all_node.csv"
head -n 30 "$DATA/alibaba/gpu_v2023_openb/openb_node_list_gpu_node.csv" > "$OUT/openb_nodes/gpu_node.csv"
for mix in default gpushare40 multigpu20 gpuspec10 cpu050; do
  head -n 30 "$DATA/alibaba/gpu_v2023_openb/openb_pod_list_$mix.csv" > "$OUT/openb_pods/$mix.csv"
done
head -n 40 "$DATA/alibaba/microservices_v2022/callgraph_rpc_casper_sample_first3min.csv" > "$OUT/callgraph/casper_sample.csv"
head -n 600 "$DATA/google/cluster2019_aggregated/instance_usage_avg_300s_day01-21.csv" > "$OUT/series/google2019.csv"
head -n 600 "$DATA/alibaba/v2018/cluster_avg_machine_usage_300s_day1-6.csv" > "$OUT/series/alibaba2018.csv"
head -n 400 "$DATA/alibaba/v2026_genai/qps.csv" > "$OUT/series/qps.csv"

for s in traffic batch placement capacity services; do
  { echo "$s"; $BIN scenarios --show "$s"; } > "$OUT/scenario_config/$s-default.toml"
done
printf 'traffic\nepisode_intervals = 3\n[world]\nkind = "synthetic"\n[world.synthetic]\nregions = 6\nsites = 3\n' > "$OUT/scenario_config/traffic-small.toml"
printf 'batch\nwindow_jobs = 48\nvisible_jobs = 16\nbackfill = true\n' > "$OUT/scenario_config/batch-small.toml"
printf 'placement\nmode = "replay"\nreplay_pods = 20\n' > "$OUT/scenario_config/placement-small.toml"
printf 'capacity\nepisode_periods = 6\n[forecast]\nforecaster = "seasonal_naive"\n' > "$OUT/scenario_config/capacity-small.toml"
printf 'services\nrequest_types = 10\nserving_hours = 2\n[world]\nkind = "synthetic"\nsynthetic_regions = 6\n[residency]\nrules = [{ jurisdiction = "EU", share = 0.5 }]\n' > "$OUT/scenario_config/services-small.toml"
printf 'traffic\nepisode_intervals=3\nworld.kind=synthetic\nworld.synthetic.regions=6\nworld.synthetic.sites=3\nfailures.link_degradations_per_day=2\n' > "$OUT/overrides/traffic.txt"
printf 'capacity\nepisode_periods=4\ncost.change_per_unit=0.5\nsite_phase_shift_h=8\n' > "$OUT/overrides/capacity.txt"
printf 'services\nrequest_types=10\nserving_hours=2\nmax_replicas=2\ndata.write_quorum=1\n' > "$OUT/overrides/services.txt"
printf 'batch\nwindow_jobs=32\nvisible_jobs=8\nload_scale=2\n' > "$OUT/overrides/batch.txt"

$BIN train --show-default > "$OUT/train_config/default.toml"
for c in experiments/configs/ppo_*.toml; do cp "$c" "$OUT/train_config/"; done

$BIN shadow-sample --scenario traffic --incumbent nearest --records 2 --output "$TMP/traffic.jsonl"
$BIN shadow-sample --scenario batch --incumbent fcfs --records 3 --output "$TMP/batch.jsonl"
$BIN shadow-sample --scenario placement --incumbent best-fit --records 1 --output "$TMP/placement.jsonl"
$BIN shadow-sample --scenario capacity --incumbent reactive@0.8 --records 3 --output "$TMP/capacity.jsonl"
for s in traffic batch placement capacity; do
  { echo "$s"; cat "$TMP/$s.jsonl"; } > "$OUT/shadow_record/$s.jsonl"
done

cp experiments/policies/placement/policy.json "$OUT/policy_file/placement.json"

printf 'scenario = "capacity"\ntotal_steps = 64\nnum_envs = 2\nhidden = 4\ncheckpoint_every = 1\n[env]\nepisode_periods = 6\nhistory_periods = 48\n[ppo]\nrollout_steps = 16\nepochs = 1\nminibatches = 1\n[eval]\nepisodes = 0\n' > "$TMP/train.toml"
$BIN train --config "$TMP/train.toml" --run-dir "$TMP/run" --stop-after 1 > /dev/null
cp "$TMP/run/checkpoint.json" "$OUT/checkpoint/capacity.json"

for s in batch placement; do
  $BIN export --run "experiments/policies/$s" --out "$TMP/export-$s" > /dev/null
  cp "$TMP/export-$s/policy.onnx" "$OUT/onnx/$s.onnx"
done
du -sh "$OUT"
