#!/usr/bin/env bash
# Evaluates the traffic policy directory POLICY with the paired protocol on one split, SPLIT:
# fresh (the default scenario), holdout (--holdout: demand from days 22-30) or outage (the
# scripted outage drill, configs/traffic_outage_drill.toml, with the pairs observation), on 30
# episodes of SEED, writing OUT/SPLIT/: table.txt (what was printed, also on stdout),
# table.json, episodes.csv and report/. Further arguments go to `planetgym eval` (e.g.
# --policies lp,greedy-spillover@0.8 or --threads 1).
#   experiments/traffic_eval_split.sh POLICY SPLIT SEED OUT [EVAL ARGUMENTS...]
set -euo pipefail
cd "$(dirname "$0")/.."
policy=$1 split=$2 seed=$3 out=$4/$2
shift 4
case $split in
    fresh) flags=() ;;
    holdout) flags=(--holdout) ;;
    outage) flags=(--config experiments/configs/traffic_outage_drill.toml --set observation=pairs) ;;
    *) echo "split must be fresh, holdout or outage, not $split" >&2; exit 2 ;;
esac
mkdir -p "$out"
target/release/planetgym eval --policy "$policy" "${flags[@]}" --episodes 30 --seed "$seed" "$@" \
    --out "$out" | tee "$out/table.txt"
