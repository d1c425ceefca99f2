#!/usr/bin/env bash
# Issue 20, batch Lublin-2 without retraining (stop 50): rollout search guided by the learned
# clone (`eval --guide`): the clone's K most likely visible jobs are the search's candidates,
# each simulated with the base rule; `rollout-RULE@K`, the same search over the rule's own K
# best jobs, is the ablation (what the learned ranking adds). No training: the twelve clones of
# experiments/policies/batch_dagger_validated_twelve (stop 49), each run guiding its own search.
#   TUNE=1 experiments/batch_guided_search.sh   # the choice: Lublin-1, tuning seed 77, 50 windows (about 10 min)
# TUNE_GUIDES replaces the tuned searches (stop 51: the union searches, whose ablation row is
# the search without the union- prefix), OUT the folder.
#   GUIDE=rollout-saf@4+3h SEED=2929 experiments/batch_guided_search.sh   # the chosen search on a fresh seed, three splits (about 75 min)
# SPLITS (default "lublin1 holdout lublin2") and WINDOWS (default: as many as the comparisons
# need) narrow it, e.g. the confirmation: SPLITS=lublin2 WINDOWS=1000 SEED=3737.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
policy=${POLICY:-experiments/policies/batch_dagger_validated_twelve}
eval_config=(--config experiments/configs/batch_lublin1_eval.toml --set observe_start=true)
heuristics=fcfs,sjf,saf,wfp3,unicep,f1
if [[ ${TUNE:-0} == 1 ]]; then
    out=${OUT:-experiments/results/batch/guided_search/tuning_seed77}
    for guide in ${TUNE_GUIDES:-rollout-sjf@2 rollout-sjf@4 rollout-sjf@8 rollout-sjf@16 rollout-saf@4+3h rollout-saf@16+3h}; do
        mkdir -p "$out/$guide"
        target/release/planetgym eval --policy "$policy" "${eval_config[@]}" --seed 77 --episodes 50 \
            --policies "$heuristics,${guide#union-}" --guide "$guide" --out "$out/$guide" > "$out/$guide/table.txt"
    done
    exit 0
fi
guide=${GUIDE:?GUIDE=[union-]rollout-RULE@K[+Hh], the search chosen on the tuning seed}
ablation=${ABLATION:-${guide#union-}}
searches=${SEARCHES:-rollout-sjf@16,rollout-saf@16+3h}
seed=${SEED:?SEED=an evaluation seed never used before}
out=${OUT:-experiments/results/batch/guided_search/seed$seed}
# Per split: the guided search against the heuristics (reference: the best of them, as many
# windows as the paired comparisons need), then the searches without learning on the same
# windows (reference in batch_guided_summary.py: the ablation, the same search over the base
# rule's own K best). A split whose tables exist is kept.
for split in ${SPLITS:-lublin1 holdout lublin2}; do
    case $split in
        lublin1) flags=() ;;
        holdout) flags=(--holdout) ;;
        lublin2) flags=(--set trace=builtin:lublin_256_new2) ;;
    esac
    run() {
        [[ -f $out/$split/$1/table.txt ]] && return
        mkdir -p "$out/$split/$1"
        target/release/planetgym "$2" "${eval_config[@]}" "${flags[@]}" --seed "$seed" \
            --out "$out/$split/$1" "${@:3}" | tee "$out/$split/$1/table.txt"
    }
    run vs_heuristics eval --policy "$policy" --guide "$guide" --policies "$heuristics" ${WINDOWS:+--episodes "$WINDOWS"}
    windows=$(grep -m1 -o '^episodes [0-9]*' "$out/$split/vs_heuristics/table.txt" | cut -d' ' -f2)
    run searches baselines --scenario batch --policies "$ablation,$searches" --episodes "$windows"
done
.venv/bin/python experiments/batch_guided_summary.py "$out" "$ablation" | tee "$out/summary.md"
