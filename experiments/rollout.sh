#!/usr/bin/env bash
# Issue 20's decision-time search on batch: rollout-sjf@16 (lookahead over the known queue) and
# rollout-saf@16+3h (the last 3 h of submissions replayed as arrivals), both chosen on tuning
# seed 77 (50 episodes), against every heuristic under the paired protocol on seed 1234 (never
# used for tuning); the reference is the best fair policy of each split. Needs no training.
# Two bounds run beside them: the same search seeing the true run times and the true arrivals of
# the next 3 h and 24 h (oracle-rollout-saf@16+3h, +24h).
#   lublin1       Lublin-1, 1024-job windows, no backfilling  -> results/batch/rollout/lublin1
#   lublin1-easy  the same with EASY backfilling             -> results/batch/rollout/lublin1_easy
#   lublin2       Lublin-2 (lublin_256_new2), no backfilling  -> results/batch/rollout/lublin2
#   nasa          the NASA holdout split (--holdout)          -> results/batch/rollout/nasa
# Then each fair policy's decision time alone on one thread, 20 episodes of each split
# (results/batch/rollout/decision_time.txt).
#   experiments/rollout.sh            # all four splits (about 45 min)
#   experiments/rollout.sh lublin2    # one
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
splits=("$@")
[ ${#splits[@]} -eq 0 ] && splits=(lublin1 lublin1-easy lublin2 nasa)
heuristics=fcfs,sjf,saf,wfp3,unicep,f1
search=rollout-sjf@16,rollout-saf@16+3h
bounds=oracle-rollout-saf@16+3h,oracle-rollout-saf@16+24h
base=experiments/results/batch/rollout
flags_of() {
    case $1 in
        lublin1) echo "" ;;
        lublin1-easy) echo "--backfill" ;;
        lublin2) echo "--set trace=builtin:lublin_256_new2" ;;
        nasa) echo "--holdout" ;;
        *) echo "unknown split $1 (lublin1, lublin1-easy, lublin2 or nasa)" >&2; exit 2 ;;
    esac
}
for split in "${splits[@]}"; do
    flags=$(flags_of "$split")
    out="$base/${split/-/_}"
    mkdir -p "$out"
    # shellcheck disable=SC2086 # the flags are words
    target/release/planetgym baselines --scenario batch --config experiments/configs/batch_lublin1_eval.toml \
        $flags --policies "$heuristics,$search,$bounds" --seed 1234 --out "$out" | tee "$out/table.txt"
done
for split in "${splits[@]}"; do
    flags=$(flags_of "$split")
    for policy in sjf saf ${search//,/ }; do
        start=$(date +%s.%N)
        # shellcheck disable=SC2086
        target/release/planetgym baselines --scenario batch --config experiments/configs/batch_lublin1_eval.toml \
            $flags --policies "$policy" --episodes 20 --seed 77 --threads 1 >/dev/null 2>&1
        end=$(date +%s.%N)
        echo "$split $policy $(echo "($end - $start) * 1000000 / (20 * 1024)" | bc) us/decision"
    done
done | tee "$base/decision_time.txt"
