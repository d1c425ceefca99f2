#!/usr/bin/env bash
# Issue 20's decision-time search on placement: rollout-fgd@16+32 (FGD's 16 best node classes,
# each simulated with 32 more pods drawn from the pod list, FGD placing them), chosen on tuning
# seed 77 (20 episodes, openb default), against every heuristic under the paired protocol on
# seed 1234 (never used for tuning), 20 episodes per mix, inflation stopped at 100 % arrived GPU
# requests. The reference of each table is its best fair heuristic. Needs no training.
#   default     openb default (the tuning mix)                 -> results/placement/rollout/default
#   gpushare40, multigpu20, gpuspec10, cpu050  the trace's other mixes, nothing retuned
#   holdout     gpushare100 (--holdout), never seen in tuning   -> results/placement/rollout/holdout
#   open-end    ablation: openb default inflated to 130 % (the scenario's default), so the
#               search's drawn futures are not cut where the table is read; fgd and the search
#               only, compared at 100 % arrived from curves.csv -> results/placement/rollout/open_end
#   decision-time  fgd's and the search's decision time alone on one thread, 4 episodes of seed
#               77 (results/placement/rollout/decision_time.txt)
#   experiments/placement_rollout.sh              # everything (about 40 min)
#   experiments/placement_rollout.sh cpu050       # one
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
mixes=("$@")
[ ${#mixes[@]} -eq 0 ] && mixes=(default gpushare40 multigpu20 gpuspec10 cpu050 holdout open-end decision-time)
heuristics=random,first-fit,best-fit,worst-fit,dot-product,gpu-packing,gpu-clustering,fgd
search=rollout-fgd@16+32
base=experiments/results/placement/rollout
data=${PLANETGYM_DATA:-../shared/data}/alibaba/gpu_v2023_openb
flags_of() {
    case $1 in
        default) echo "" ;;
        gpushare40 | multigpu20 | gpuspec10 | cpu050) echo "--pods $data/openb_pod_list_$1.csv" ;;
        holdout) echo "--holdout" ;;
        open-end) echo "--set inflation_target=1.3" ;;
        *) echo "unknown mix $1 (default, gpushare40, multigpu20, gpuspec10, cpu050, holdout or open-end)" >&2; exit 2 ;;
    esac
}
for mix in "${mixes[@]}"; do
    [ "$mix" = decision-time ] && continue
    flags=$(flags_of "$mix")
    out="$base/${mix/-/_}"
    policies="$heuristics,$search"
    [ "$mix" = open-end ] && policies="fgd,$search"
    mkdir -p "$out"
    # shellcheck disable=SC2086 # the flags are words
    target/release/planetgym baselines --scenario placement --config experiments/configs/placement_openb_at_100.toml \
        $flags --policies "$policies" --episodes 20 --seed 1234 --out "$out" | tee "$out/table.txt"
done
[[ " ${mixes[*]} " == *" decision-time "* ]] || exit 0
for policy in fgd "$search"; do
    start=$(date +%s.%N)
    steps=$(target/release/planetgym baselines --scenario placement --config experiments/configs/placement_openb_at_100.toml \
        --policies "$policy" --episodes 4 --seed 77 --threads 1 --out /tmp/placement_decision_time \
        >/dev/null 2>&1 && python3 -c "import csv; print(sum(int(r['steps']) for r in csv.DictReader(open('/tmp/placement_decision_time/episodes.csv'))))")
    end=$(date +%s.%N)
    echo "default $policy $(echo "($end - $start) * 1000000 / $steps" | bc) us/decision ($steps decisions)"
done | tee "$base/decision_time.txt"
