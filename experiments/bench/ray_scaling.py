"""What Ray costs and gives on this machine: start-up, the overhead per sweep trial and per
rollout batch, and the scaling of sweep throughput, of rollout steps/s and of planetgym PPO's
training steps/s with rollout workers, from 1 to 2 workers.

Each measurement alternates its two arms (with / without Ray, or 1 / 2 workers) over
``--repeats`` rounds, so that both see the same machine load; ratios come from one round.

    .venv/bin/python experiments/bench/ray_scaling.py [--repeats 2] \
        [--out experiments/results/ray/scaling.json]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import ray  # noqa: E402

import planetgym  # noqa: E402
from planetgym import _core, cluster  # noqa: E402
from planetgym._config import to_toml  # noqa: E402

BATCH_ENV = {"window_jobs": 64, "visible_jobs": 16}


def trial_config(updates: int) -> dict:
    """A batch PPO run of `updates` updates of 4 x 64 steps."""
    return {"scenario": "batch", "seed": 0, "total_steps": updates * 256, "num_envs": 4,
            "hidden": 16, "threads": 1, "env": BATCH_ENV,
            "ppo": {"rollout_steps": 64, "epochs": 2, "minibatches": 2}, "eval": {"episodes": 0}}


def start(cpus: int) -> float:
    t = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    return time.perf_counter() - t


def startup() -> dict:
    """Seconds to start a one-node Ray, and a two-node cluster (head + a second raylet)."""
    from ray.cluster_utils import Cluster

    one = start(2)
    ray.shutdown()
    t = time.perf_counter()
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    nodes.add_node(num_cpus=1)
    ray.init(address=nodes.address, log_to_driver=False)
    two = time.perf_counter() - t
    t = time.perf_counter()
    ray.shutdown()
    nodes.shutdown()
    return {"one_node_s": one, "two_nodes_s": two, "two_nodes_shutdown_s": time.perf_counter() - t}


def sweep_wall(trials: int, updates: int, cpus: int, work: Path) -> float:
    """Wall time of a sweep of `trials` trials (distinct seeds) on a Ray of `cpus` CPUs."""
    start(cpus)
    t = time.perf_counter()
    cluster.sweep(trial_config(updates), {}, seeds=trials, out=work, episodes=0)
    wall = time.perf_counter() - t
    ray.shutdown()
    return wall


def local_wall(trials: int, updates: int, work: Path) -> float:
    """The same trials trained one after another in this process, without Ray."""
    t = time.perf_counter()
    for k in range(trials):
        text, origin = to_toml({**trial_config(updates), "seed": k})
        _core.train(text, work / f"run-{k}", origin, False, None, seeds=1)
    return time.perf_counter() - t


class Roller:
    """Steps a Rust VecEnv with random legal actions and returns each batch, as a rollout
    worker would (without the network): in this process, or as a Ray actor (`RolloutActor`)."""

    def __init__(self, copies: int, seed: int) -> None:
        self.env = planetgym.make_vec("batch", copies, config=BATCH_ENV, threads=1)
        self.rng = np.random.default_rng(seed)
        self.obs, self.infos = self.env.reset(seed=seed)

    def batch(self, steps: int) -> dict:
        """`steps` steps of every copy: observations, actions, rewards and dones, as arrays."""
        obs, actions, rewards, dones = [], [], [], []
        for _ in range(steps):
            action = np.array([self.rng.choice(np.flatnonzero(m)) for m in self.infos["action_mask"]])
            obs.append(self.obs)
            actions.append(action)
            self.obs, r, term, trunc, self.infos = self.env.step(action)
            rewards.append(r)
            dones.append(term | trunc)
        return {"obs": np.stack(obs), "actions": np.stack(actions), "rewards": np.stack(rewards),
                "dones": np.stack(dones)}


RolloutActor = ray.remote(num_cpus=1)(Roller)


def rollouts(batches: int, steps: int, copies: int, workers: int | None) -> tuple[float, int]:
    """(wall s, bytes per batch) of `batches` batches per worker: in this process (None), or
    from `workers` Ray actors in parallel."""
    if workers is None:
        local = Roller(copies, 0)
        t = time.perf_counter()
        for _ in range(batches):
            out = local.batch(steps)
        return time.perf_counter() - t, len(pickle.dumps(out))
    actors = [RolloutActor.remote(copies, k) for k in range(workers)]
    ray.get([a.batch.remote(1) for a in actors])  # started and warm
    t = time.perf_counter()
    for _ in range(batches):
        ray.get([a.batch.remote(steps) for a in actors])
    wall = time.perf_counter() - t
    for a in actors:
        ray.kill(a)
    return wall, 0


def env_bound_config(threads: int) -> dict:
    """PPO on `services` (default scenario): stepping its copies is about 95 % of training time in
    one process, so it is where rollout workers on more machines pay."""
    return {"scenario": "services", "seed": 0, "total_steps": 6 * 1024, "num_envs": 8,
            "hidden": 16, "threads": threads,
            "ppo": {"rollout_steps": 128, "epochs": 1, "minibatches": 1}, "eval": {"episodes": 0}}


def ppo_with_workers(config: dict, workers: int, work: Path) -> dict:
    """planetgym PPO on `config` (`workers` 0 trains in this process): steps/s over the whole run
    (worker start-up included), and per update after the first, the wall time and the seconds of
    env stepping and inference (the slowest worker's), of the update, and of the rest (sending
    the policy, gathering the batches)."""
    import pandas as pd

    stamps: list[float] = []
    t = time.perf_counter()
    result = planetgym.train(config, run_dir=work, rollout_workers=workers,
                             callback=lambda report: stamps.append(time.perf_counter()))
    wall = time.perf_counter() - t
    metrics = pd.read_csv(work / "metrics.csv").iloc[1:]  # the first update warms up
    per_update = statistics.median(np.diff(stamps))
    split = {k: float(metrics[f"time/{k}_s"].mean()) for k in ("env", "inference", "update")}
    return {"workers": workers, "steps_per_s": result.env_steps / wall, "update_wall_s": per_update,
            **{f"{k}_s": v for k, v in split.items()},
            "other_s": per_update - sum(split.values())}


def ppo_message_bytes(config: dict) -> tuple[int, int]:
    """(policy bytes, one worker's batch bytes) of a 2-worker run of `config`."""
    from planetgym._config import to_toml

    text, origin = to_toml(config)
    with tempfile.TemporaryDirectory() as tmp:
        planetgym.train({**config, "total_steps": 1024}, run_dir=Path(tmp) / "run")
        policy = (Path(tmp) / "run" / "policy.json").read_bytes()
    return len(policy), len(_core.RolloutWorker(text, 0, 2, origin).collect(policy, 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--updates", type=int, default=150)
    parser.add_argument("--out", type=Path, default=ROOT / "experiments/results/ray/scaling.json")
    args = parser.parse_args()
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    result: dict = {"machine": {"cpus": os.cpu_count()}, "ray": ray.__version__,
                    "trials": args.trials, "updates_per_trial": args.updates, "rounds": []}
    result["startup"] = startup()
    result["ppo_policy_bytes"], result["ppo_batch_bytes_per_worker"] = ppo_message_bytes(env_bound_config(1))
    print("start-up", result["startup"], flush=True)
    steps, copies, batches = 256, 8, 10
    for r in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            row = {
                # Per-trial overhead: tiny trials (1 update) one at a time, with and without Ray.
                "tiny_local_s": local_wall(args.trials, 1, work / "tl"),
                "tiny_ray_1cpu_s": sweep_wall(args.trials, 1, 1, work / "tr"),
                # Sweep throughput: 1 then 2 CPUs.
                "sweep_1cpu_s": sweep_wall(args.trials, args.updates, 1, work / "s1"),
                "sweep_2cpu_s": sweep_wall(args.trials, args.updates, 2, work / "s2"),
            }
            local_s, batch_bytes = rollouts(batches, steps, copies, None)
            start(2)
            one_s, _ = rollouts(batches, steps, copies, 1)
            two_s, _ = rollouts(batches, steps, copies, 2)
            ray.shutdown()
            row.update({"rollout_local_s": local_s, "rollout_1actor_s": one_s,
                        "rollout_2actors_s": two_s, "batch_bytes": batch_bytes})
        row["per_trial_overhead_s"] = (row["tiny_ray_1cpu_s"] - row["tiny_local_s"]) / args.trials
        row["sweep_speedup_2_vs_1"] = row["sweep_1cpu_s"] / row["sweep_2cpu_s"]
        row["per_batch_overhead_ms"] = 1000 * (one_s - local_s) / batches
        row["rollout_steps_per_s_local"] = batches * steps * copies / local_s
        row["rollout_steps_per_s_1actor"] = batches * steps * copies / one_s
        row["rollout_steps_per_s_2actors"] = 2 * batches * steps * copies / two_s
        row["rollout_speedup_2_vs_1"] = row["rollout_steps_per_s_2actors"] / row["rollout_steps_per_s_1actor"]
        start(2)
        with tempfile.TemporaryDirectory() as tmp:
            # (label, workers, env threads): one process on 1 and on 2 threads, 1 and 2 workers.
            for label, workers, threads in (("local1t", 0, 1), ("local2t", 0, 0), ("1w", 1, 1), ("2w", 2, 1)):
                stats = ppo_with_workers(env_bound_config(threads), workers, Path(tmp) / label)
                row.update({f"ppo_{k}_{label}": v for k, v in stats.items() if k != "workers"})
        ray.shutdown()
        row["ppo_speedup_2w_vs_1w"] = row["ppo_steps_per_s_2w"] / row["ppo_steps_per_s_1w"]
        row["ppo_1w_vs_local1t"] = row["ppo_steps_per_s_1w"] / row["ppo_steps_per_s_local1t"]
        row["ppo_2w_vs_local2t"] = row["ppo_steps_per_s_2w"] / row["ppo_steps_per_s_local2t"]
        result["rounds"].append(row)
        print(json.dumps(row, indent=1), flush=True)
    keys = [k for k in result["rounds"][0]]
    result["median"] = {k: statistics.median(r[k] for r in result["rounds"]) for k in keys}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["median"], indent=1))


if __name__ == "__main__":
    main()
