#!/usr/bin/env bash
# Issue 20's imitation ablations: three training seeds of each variant, each evaluated with the
# paired protocol on fresh seeds and on the holdout split, to set beside PPO alone
# (experiments/results/<scenario>/seeds/ or paired/):
#   batch-cloning     SJF cloning alone (bc_batch.toml)            -> results/batch/cloning/
#   batch-imitation   SJF cloning, then PPO (ppo_batch_imitation.toml) -> results/batch/imitation/
#   batch-gentle      SJF cloning for 100 updates, then PPO held near the clone
#                     (ppo_batch_gentle.toml)                      -> results/batch/gentle/
#   batch-rollout     cloning of the rollout search rollout-saf@16+3h (bc_batch_rollout.toml,
#                     expert iteration)                            -> results/batch/rollout_clone/
#   batch-rollout-start the same, observing each job's earliest start
#                     (bc_batch_rollout_start.toml)                -> results/batch/rollout_start_clone/
#   batch-rollout-long  the same with three times the data (bc_batch_rollout_start_long.toml)
#                                                                  -> results/batch/rollout_start_long_clone/
#   batch-rollout-1024  the long variant trained on 1024-job windows, the length it is judged on
#                     (bc_batch_rollout_start_1024.toml)           -> results/batch/rollout_start_1024_clone/
#   placement-cloning FGD cloning alone (bc_placement.toml)        -> results/placement/cloning/
#   placement-wide    the same, 32 hidden units, 4 epochs (bc_placement_wide.toml)
#                                                                  -> results/placement/wide/
#   placement-rollout cloning the search rollout-fgd@16+4, growth observed
#                     (bc_placement_rollout.toml)                  -> results/placement/rollout_clone/
#   placement-growth  FGD cloning with growth observed (bc_placement_growth.toml)
#                                                                  -> results/placement/growth_clone/
#   capacity-mean     DAgger from the mean-demand DP oracle for 200 updates, then PPO
#                     (bc_capacity_mean.toml)                      -> results/capacity/mean_clone/
#   capacity-mean-only the same oracle cloned for the whole run (bc_capacity_mean_only.toml)
#                                                                  -> results/capacity/mean_clone_only/
#   capacity-mean-long capacity-mean with 3x the PPO after imitation (bc_capacity_mean_long.toml)
#                                                                  -> results/capacity/mean_clone_long/
#   capacity-forecast-dp DAgger from the forecast DP (causal), then PPO (bc_capacity_forecast_dp.toml)
#                                                                  -> results/capacity/forecast_dp_clone/
#   experiments/imitation.sh                    # the two batch variants (about 8 min)
#   experiments/imitation.sh placement-cloning  # one
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(batch-cloning batch-imitation)
for v in "${variants[@]}"; do
    # The results folder is the variant's name after the scenario, unless its arm says otherwise;
    # EVAL_SET is what the evaluation must set for the config the variant trained on.
    scenario=${v%%-*} kind=${v#*-} eval_set=
    case $v in
        batch-cloning) config=experiments/configs/bc_batch.toml ;;
        batch-imitation) config=experiments/configs/ppo_batch_imitation.toml ;;
        batch-gentle) config=experiments/configs/ppo_batch_gentle.toml ;;
        batch-rollout) config=experiments/configs/bc_batch_rollout.toml kind=rollout_clone ;;
        batch-rollout-start)
            config=experiments/configs/bc_batch_rollout_start.toml kind=rollout_start_clone
            eval_set=observe_start=true ;;
        batch-rollout-long)
            config=experiments/configs/bc_batch_rollout_start_long.toml kind=rollout_start_long_clone
            eval_set=observe_start=true ;;
        batch-rollout-1024)
            config=experiments/configs/bc_batch_rollout_start_1024.toml kind=rollout_start_1024_clone
            eval_set=observe_start=true ;;
        capacity-mean) config=experiments/configs/bc_capacity_mean.toml kind=mean_clone ;;
        capacity-mean-only)
            config=experiments/configs/bc_capacity_mean_only.toml kind=mean_clone_only ;;
        capacity-mean-long)
            config=experiments/configs/bc_capacity_mean_long.toml kind=mean_clone_long ;;
        capacity-forecast-dp)
            config=experiments/configs/bc_capacity_forecast_dp.toml kind=forecast_dp_clone ;;
        placement-cloning) config=experiments/configs/bc_placement.toml ;;
        placement-wide) config=experiments/configs/bc_placement_wide.toml ;;
        placement-rollout)
            config=experiments/configs/bc_placement_rollout.toml kind=rollout_clone
            eval_set=observe_growth=true ;;
        placement-growth)
            config=experiments/configs/bc_placement_growth.toml kind=growth_clone
            eval_set=observe_growth=true ;;
        *) echo "unknown variant $v (batch-cloning, batch-imitation, batch-gentle, batch-rollout, batch-rollout-start, batch-rollout-long, batch-rollout-1024, capacity-mean, capacity-mean-only, capacity-mean-long, capacity-forecast-dp, placement-cloning, placement-wide, placement-rollout or placement-growth)" >&2; exit 2 ;;
    esac
    run="runs/seeds_${scenario}_$kind"
    rm -rf "$run"
    start=$(date +%s)
    target/release/planetgym train --config "$config" --run-dir "$run" --seeds 3
    echo "trained 3 runs of $v in $(( $(date +%s) - start )) s"
    EVAL_SET=$eval_set experiments/eval_splits.sh "$scenario" "$run" "experiments/results/$scenario/$kind"
    cp "$run/eval.json" "experiments/results/$scenario/$kind/training_eval.json"
done
