#!/usr/bin/env bash
# Issue 20, stop 50: time per batch decision, one thread, 10 episodes (10240 decisions) of
# tuning seed 77 on Lublin-1 and Lublin-2: the clone alone (run 0 of the twelve), the search
# without learning and the clone guiding it. Each is timed as a whole run minus the same run
# without it (the simulator and SJF); the clone's run evaluates its greedy and sampled rows, so
# its time is halved. Writes results/batch/guided_search/decision_time.txt.
#   experiments/batch_guided_decision_time.sh     # about 3 min
# Stop 51, the union search (its search row is the ablation, the same search without union-):
#   GUIDE=union-rollout-saf@4+3h OUT_FILE=experiments/results/batch/guided_search/decision_time_union.txt \
#   experiments/batch_guided_decision_time.sh
set -euo pipefail
cd "$(dirname "$0")/.."
guide=${GUIDE:-rollout-saf@4+3h}
policy=experiments/policies/batch_dagger_validated_twelve/run-0
out_file=${OUT_FILE:-experiments/results/batch/guided_search/decision_time.txt}
decisions=$((10 * 1024))
seconds() {
    local start end
    start=$(date +%s.%N)
    target/release/planetgym "$@" --config experiments/configs/batch_lublin1_eval.toml --set observe_start=true \
        --episodes 10 --seed 77 --threads 1 >/dev/null 2>&1
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
# bc divides to whole numbers: the halving comes after the scaling to microseconds.
us() { echo "($1) * 1000000 / $decisions / ${2:-1}" | bc; }
for split in lublin1 lublin2; do
    case $split in
        lublin1) flags=() ;;
        lublin2) flags=(--set trace=builtin:lublin_256_new2) ;;
    esac
    base=$(seconds baselines --scenario batch "${flags[@]}" --policies sjf)
    search=$(seconds baselines --scenario batch "${flags[@]}" --policies "sjf,${guide#union-}")
    clone=$(seconds eval --policy $policy "${flags[@]}" --policies sjf)
    guided=$(seconds eval --policy $policy "${flags[@]}" --policies sjf --guide "$guide")
    echo "$split simulator and sjf: $(us "$base") us/decision"
    echo "$split ${guide#union-}: $(us "$search - $base") us/decision beyond it"
    echo "$split ppo: $(us "$clone - $base" 2) us/decision beyond it"
    echo "$split ppo+$guide: $(us "$guided - $clone") us/decision beyond it"
done | tee "$out_file"
