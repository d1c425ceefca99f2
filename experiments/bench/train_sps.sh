#!/usr/bin/env bash
# End-to-end training throughput: environment steps per second of wall time (rollouts +
# updates) for PPO on traffic (entity scorer over 648 region-site pairs, Simplex head) and batch
# (entity scorer over 128 queued jobs, masked Discrete head), with the split of wall time
# between env stepping, inference (normalisation, forward pass, sampling) and updates, taken
# from each run's metrics.csv. The same configs as experiments/configs/ppo_*.toml, shortened.
#   experiments/bench/train_sps.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p planetgym-cli
out=$(mktemp -d)
for s in traffic batch; do
    sed -e 's/^total_steps = .*/total_steps = 23040/' -e 's/^episodes = .*/episodes = 0/' \
        "experiments/configs/ppo_$s.toml" > "$out/$s.toml"
    target/release/planetgym train --config "$out/$s.toml" --run-dir "$out/$s" > /dev/null
    python3 - "$s" "$out/$s/metrics.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[2])))
batch = int(rows[0]["env_steps"])
rows = rows[1:]  # the first update warms up
env, inf, upd = (sum(float(r[k]) for r in rows) for k in ("time/env_s", "time/inference_s", "time/update_s"))
steps = batch * len(rows)
total = env + inf + upd
print(f"{sys.argv[1]:8s} {steps / total:8.0f} steps/s  env {100 * env / total:4.1f} %  inference {100 * inf / total:4.1f} %  update {100 * upd / total:4.1f} %")
PY
done
rm -rf "$out"
