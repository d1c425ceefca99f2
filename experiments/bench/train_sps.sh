#!/usr/bin/env bash
# End-to-end PPO training throughput on the four scenarios with the committed configs
# (experiments/configs/ppo_*.toml, shortened to STEPS): environment steps per second of wall
# time, the split between env stepping, inference (normalisation, forward pass, sampling) and
# updates from each run's metrics.csv (the first update is warm-up and left out), steps per
# CPU-second, and the update's distance from the machine's arithmetic limit: FLOPs per gradient
# step (forward x 3, counted from the network's layers) over the time of one gradient step,
# against GFLOPS, the attainable rate measured by `cargo bench -p planetgym-training --bench
# matmul` (all_threads) in the same session.
#   experiments/bench/train_sps.sh [BINARY [STEPS [GFLOPS]]]
# Pass an older build as BINARY and alternate the runs to compare before and after.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/release/planetgym} steps=${2:-20000} gflops=${3:-97}
[ "$bin" = target/release/planetgym ] && cargo build --release --workspace --bins
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for s in traffic batch placement capacity; do
    sed -e "s/^total_steps = .*/total_steps = $steps/" -e 's/^episodes = .*/episodes = 0/' \
        "experiments/configs/ppo_$s.toml" > "$out/$s.toml"
    /usr/bin/time -f "%U %S %e" -o "$out/$s.time" "$bin" train --config "$out/$s.toml" \
        --run-dir "$out/$s" > /dev/null
    .venv/bin/python - "$s" "$out/$s" "$out/$s.time" "$gflops" <<'PY'
import ast, csv, sys, tomllib
import planetgym
s, run, timing, gflops = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
config = tomllib.loads(open(f"{run}/config.toml").read())
ppo, hidden = config["ppo"], config["hidden"]
env = planetgym.make_vec(s, 1, config=config.get("env", {}), threads=1)
d = env.description
layout = d["layout"] if isinstance(d["layout"], dict) else ast.literal_eval(d["layout"])
rows = -(-config["num_envs"] * ppo["rollout_steps"] // ppo["minibatches"])
if layout["kind"] == "entity":
    g, e = len(layout["global"]), int(layout["entities"])
    f = (d["obs_len"] - g - e) // e
    per_row = 2 * (g * hidden + e * (f * hidden + hidden * hidden + hidden) + 2 * hidden)
else:
    space = d["space"]
    outputs = sum(space["nvec"]) if space["kind"] == "multi_discrete" else space.get("n", 1)
    per_row = 2 * (d["obs_len"] * hidden + hidden * hidden + hidden * outputs + hidden)
flops = 3 * per_row * rows
metrics = list(csv.DictReader(open(f"{run}/metrics.csv")))
batch, all_steps = int(metrics[0]["env_steps"]), int(metrics[-1]["env_steps"])
metrics = metrics[1:]
env_s, inf_s, upd_s = (sum(float(r[k]) for r in metrics) for k in ("time/env_s", "time/inference_s", "time/update_s"))
grad_steps = sum(float(r["losses/epochs"]) for r in metrics) * ppo["minibatches"]
total = env_s + inf_s + upd_s
user, sys_s, wall = map(float, open(timing).read().split())
step_ms = 1000 * upd_s / grad_steps
limit_ms = 1000 * flops / (gflops * 1e9)
print(f"{s:9s} {batch * len(metrics) / total:7.0f} steps/s  env {100 * env_s / total:4.1f} %"
      f"  inference {100 * inf_s / total:4.1f} %  update {100 * upd_s / total:4.1f} %"
      f"  {all_steps / (user + sys_s):6.0f} steps/CPU-s"
      f"  gradient step {step_ms:6.1f} ms = {flops / 1e9:.2f} GFLOP at {flops / 1e9 / (step_ms / 1000):5.1f} GFLOP/s"
      f" ({step_ms / limit_ms:4.1f}x the {gflops:.0f} GFLOP/s limit)")
PY
done
