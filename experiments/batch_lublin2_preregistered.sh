#!/usr/bin/env bash
# Issue 20, batch on Lublin-2 with the Lublin-1 policy (stop 51): the test planned and sized
# before it ran (experiments/README.md, "A pre-registered test of the clone alone on Lublin-2").
# Stop 47's recipe (the DAgger clone of rollout-saf@16+3h, validation early stopping, update cap
# 440) with 24 runs: the twelve of batch_dagger_validated_twelve (training seeds 34-45) and
# twelve new ones (seeds 46-57). Judged on evaluation seed 4848 (never used before): Lublin-2,
# 4000 windows, and Lublin-1, 1000 windows, paired, runs resampled, Holm. The goal counts as
# met only if the clone is better than the best heuristic on both.
#   experiments/batch_lublin2_preregistered.sh     # about 21 min of training on two cores, then about 45 min of evaluation
# The power calculation behind 24 runs and 4000 windows:
#   .venv/bin/python experiments/batch_lublin2_power.py \
#       experiments/results/batch/dagger_validated_twelve/seed9494_lublin2/episodes.csv \
#       experiments/results/batch/guided_search/seed{2929,3737}/lublin2/vs_heuristics/episodes.csv
set -euo pipefail
cd "$(dirname "$0")/.."
policy=experiments/policies/batch_dagger_validated_24
out=experiments/results/batch/dagger_validated_24/seed4848
if [ ! -d "$policy/run-23" ]; then
    mkdir -p "$policy"
    cp -r experiments/policies/batch_dagger_validated_twelve/run-* "$policy/"
    SETS=2 FIRST_SEED=46 FIRST_RUN=12 NO_EVAL=1 RUNS=runs/dagger_validated_24 POLICY="$policy" \
        experiments/batch_dagger_validated.sh
fi
eval_config=(--config experiments/configs/batch_lublin1_eval.toml --set observe_start=true --seed 4848)
for split in lublin2 lublin1; do
    case $split in
        lublin2) flags=(--set trace=builtin:lublin_256_new2 --episodes 4000) ;;
        lublin1) flags=(--episodes 1000) ;;
    esac
    mkdir -p "$out/$split"
    target/release/planetgym eval --policy "$policy" "${eval_config[@]}" "${flags[@]}" --out "$out/$split" \
        | tee "$out/$split/table.txt"
    # The per-episode rows (24 runs x 2 rows + 7 heuristics per window) are kept compressed.
    gzip -9 -f "$out/$split/episodes.csv"
done
