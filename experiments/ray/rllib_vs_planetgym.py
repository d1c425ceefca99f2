"""RLlib's PPO (new API stack, EnvRunners stepping the Rust VecEnv) against planetgym's own PPO at
an equal budget of environment steps, on the same scenario, judged by planetgym's evaluator
against the baselines on identical fresh episodes.

Both take the PPO settings of experiments/configs/ppo_batch.toml (8 copies x 256 steps per
update, 4 epochs of 4 minibatches, the same learning rate, gamma, lambda, clip and entropy
weight). The networks differ, as each framework builds them: planetgym's entity scorer (one set
of weights per job slot, hidden 32) against RLlib's default action-masking PPO module (an MLP
over the flat observation, fcnet_hiddens [32, 32]).

    .venv/bin/python experiments/ray/rllib_vs_planetgym.py [--steps 100000] [--seeds 3] \
        [--episodes 100] [--out experiments/results/ray/rllib_vs_planetgym]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import planetgym  # noqa: E402
from planetgym import rllib  # noqa: E402

CONFIG = ROOT / "experiments" / "configs" / "ppo_batch.toml"


def train_planetgym(steps: int, seeds: int, out: Path) -> dict:
    start = time.time()
    result = planetgym.train(CONFIG, run_dir=out / "planetgym", seeds=seeds, total_steps=steps,
                             eval={"episodes": 0})
    wall = time.time() - start
    return {"framework": "planetgym", "env_steps": result.env_steps * seeds, "wall_s": wall,
            "steps_per_s": result.env_steps * seeds / wall}


def train_rllib(steps: int, seeds: int) -> tuple[dict, list]:
    import ray

    config = tomllib.loads(CONFIG.read_text())
    ppo = config["ppo"]
    per_update = config["num_envs"] * ppo["rollout_steps"]
    policies, sampled, wall = [], 0, 0.0
    for seed in range(seeds):
        algo_config = rllib.ppo_config(
            "batch", config["env"], env_runners=2, envs_per_runner=config["num_envs"] // 2, seed=seed,
        ).training(
            train_batch_size_per_learner=per_update,
            minibatch_size=per_update // ppo["minibatches"],
            num_epochs=ppo["epochs"],
            lr=ppo["learning_rate"],
            gamma=ppo["gamma"],
            lambda_=ppo["gae_lambda"],
            entropy_coeff=ppo["entropy_coef"],
            clip_param=0.2,
            grad_clip=0.5,
        ).rl_module(model_config={"fcnet_hiddens": [32, 32]})
        algo = algo_config.build_algo()
        start = time.time()
        done = 0
        while done < steps:
            report = algo.train()
            done = int(report["env_runners"]["num_env_steps_sampled_lifetime"])
        wall += time.time() - start
        sampled += done
        policies.append(rllib.greedy_policy(algo))
        # The algorithm's actors are freed; its module stays with the policy.
        algo.stop()
    ray.shutdown()
    return {"framework": "rllib", "env_steps": sampled, "wall_s": wall,
            "steps_per_s": sampled / wall}, policies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--eval-seed", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=ROOT / "experiments/results/ray/rllib_vs_planetgym")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    import ray

    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)
    rllib_speed, policies = train_rllib(args.steps, args.seeds)
    ours = train_planetgym(args.steps, args.seeds, args.out)
    speed = pd.DataFrame([ours, rllib_speed])
    speed.to_csv(args.out / "speed.csv", index=False)
    print(speed.to_string(index=False))

    env = tomllib.loads(CONFIG.read_text())["env"]
    contenders = {name: name for name in planetgym.baselines("batch", env)}
    contenders["planetgym-ppo"] = str(args.out / "planetgym")
    contenders.update({f"rllib-ppo-{k}": p for k, p in enumerate(policies)})
    results = planetgym.evaluate(contenders, scenario="batch", episodes=args.episodes,
                                 seed=args.eval_seed, config=env, progress=False)
    # RLlib's seeds are one method with a run per seed, as planetgym's are.
    is_rllib = results["policy"].str.startswith("rllib-ppo-")
    results.loc[is_rllib, "run"] = results.loc[is_rllib, "policy"].str.rsplit("-", n=1).str[-1].astype(int)
    results.loc[is_rllib, "policy"] = "rllib-ppo"
    results.to_csv(args.out / "episodes.csv", index=False)
    comparison = planetgym.compare(results=results, scenario="batch")
    comparison.table.to_csv(args.out / "table.csv", index=False)
    comparison.aggregate.to_csv(args.out / "aggregate.csv", index=False)
    table = comparison.table[comparison.table["metric"] == "avg_bounded_slowdown"]
    print(table.to_string(index=False))
    (args.out / "run.json").write_text(json.dumps(vars(args), default=str, indent=1))


if __name__ == "__main__":
    main()
