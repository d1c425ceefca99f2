#!/usr/bin/env bash
# Evaluates the policy directory POLICY of SCENARIO with the paired protocol on fresh seeds
# (1234, never a training seed) and on the scenario's holdout split, writing
# OUT/{fresh,holdout}/: table.txt (what was printed), table.json, episodes.csv, curves (placement)
# and report/ (rliable aggregates and plots). Used by reevaluate.sh and train_seeds.sh.
#   [EVAL_SET=KEY=VALUE] [PLANETGYM=BINARY] experiments/eval_splits.sh SCENARIO POLICY OUT
# PLANETGYM names another build (e.g. an older commit's, for a before/after comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
s=$1 policy=$2 base=$3
extra=()
[ "$s" = batch ] && extra=(--config experiments/configs/batch_lublin1_eval.toml)
# EVAL_SET=KEY=VALUE: one more --set on top of that config (e.g. observe_start=true for a policy
# trained observing it).
[ -n "${EVAL_SET:-}" ] && extra+=(--set "$EVAL_SET")
for split in fresh holdout; do
    out="$base/$split"
    mkdir -p "$out"
    flags=("${extra[@]}")
    [ "$split" = holdout ] && flags+=(--holdout)
    "${PLANETGYM:-target/release/planetgym}" eval --policy "$policy" "${flags[@]}" --seed 1234 --out "$out" \
        | tee "$out/table.txt"
done
