"""End-to-end PPO training throughput: planetgym's trainer (`planetgym train`) against
Stable-Baselines3 PPO (sb3-contrib MaskablePPO where the scenario has action masks) on the same
Rust environment, with the same network, action distribution, observation and reward
normalisation and PPO settings, taken from experiments/configs/ppo_<scenario>.toml.

Runs alternate (planetgym, SB3, planetgym, SB3, ...) and each runs in its own process, so that
its CPU time (user + sys) is the change in RUSAGE_CHILDREN and the ratio of a repeat compares two
runs made under the same load. Steps/s and the env / inference / update split cover every
update after the first (warm-up), from planetgym's metrics.csv timers and from timers around
SB3's collect_rollouts, its env's step_wait and train.

    .venv/bin/python experiments/bench/sb3_vs_planetgym.py [--scenarios traffic,batch] \
        [--steps 20000] [--repeats 2] [--out sb3_vs_planetgym.csv]

Needs target/release/planetgym (cargo build --release --workspace --bins) and the venv's sb3
extra. planetgym steps its copies on `threads` threads (0 = every core) and so does the Rust env
under SB3; torch runs on one thread (two collapse on a 2-core machine, see STACK.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "release" / "planetgym"
SCENARIOS = ("traffic", "batch", "placement", "capacity")
FRAMEWORKS = ("planetgym", "sb3")
FIELDS = [
    "scenario", "repeat", "framework", "steps", "timed_steps", "warmup_skipped", "timed_s",
    "steps_per_s", "env_pct", "inference_pct", "update_pct", "epochs_per_update", "wall_s",
    "cpu_s", "steps_per_cpu_s", "cpu_per_wall",
]


def merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        nested = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge(out[key], value) if nested else value
    return out


def warn_if_stale() -> None:
    """Both trainers must step the same simulator: warns when the CLI or the Python extension is
    older than the shared crates' sources."""
    from planetgym import _core

    crates = ("env", "agents", "training")
    sources = [ROOT / "Cargo.lock", *(p for crate in crates for p in (ROOT / crate).rglob("*.rs"))]
    newest = max(sources, key=lambda p: p.stat().st_mtime)
    for artifact, rebuild in (
        (BINARY, "cargo build --release --workspace --bins"),
        (Path(_core.__file__), ".venv/bin/maturin develop --release -m python/Cargo.toml"),
    ):
        if artifact.stat().st_mtime < newest.stat().st_mtime:
            print(
                f"warning: {artifact} is older than {newest.relative_to(ROOT)}; rebuild it ({rebuild})",
                file=sys.stderr,
            )


def bench_config(scenario: str, steps: int, work: Path) -> Path:
    """The committed config with every default filled in (SB3 needs them all) and shortened to
    `steps` (whole updates, so both trainers stop at the same step), written to `work`."""
    from planetgym._config import to_toml

    shown = subprocess.run(
        [BINARY, "train", "--show-default"], check=True, capture_output=True, text=True
    )
    config = merge(
        tomllib.loads(shown.stdout),
        tomllib.loads((ROOT / "experiments" / "configs" / f"ppo_{scenario}.toml").read_text()),
    )
    batch = config["num_envs"] * config["ppo"]["rollout_steps"]
    updates = math.ceil(steps / batch)
    config["total_steps"] = updates * batch
    # Only the final checkpoint (every run writes it) and no evaluation against the baselines.
    config["checkpoint_every"] = updates
    config["eval"]["episodes"] = 0
    # SB3 cannot compute per-row counterfactual rewards (extra simulator work in every step):
    # both trainers use one advantage per step, so they do the same work.
    config["ppo"]["counterfactual_rows"] = False
    path = work / f"{scenario}.toml"
    path.write_text(to_toml(config)[0])
    return path


def run_child(command: list, env: dict | None = None) -> tuple[str, float, float]:
    """stdout, wall seconds and CPU seconds (user + sys, all threads) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc.stdout, wall, cpu


def planetgym_run(config: Path, run_dir: Path) -> tuple[list[dict], int, float, float]:
    _, wall, cpu = run_child([BINARY, "train", "--config", config, "--run-dir", run_dir])
    with open(run_dir / "metrics.csv") as f:
        metrics = list(csv.DictReader(f))
    rows, steps = [], 0
    for m in metrics:
        rows.append({
            "steps": int(m["env_steps"]) - steps,
            "env_s": float(m["time/env_s"]),
            "inference_s": float(m["time/inference_s"]),
            "update_s": float(m["time/update_s"]),
            "epochs": float(m["losses/epochs"]),
        })
        steps = int(m["env_steps"])
    return rows, steps, wall, cpu


def sb3_run(config: Path) -> tuple[list[dict], int, float, float]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    worker = [sys.executable, Path(__file__).resolve(), "--sb3-worker", config]
    out, wall, cpu = run_child(worker, env=env)
    report = json.loads(out)
    return report["rows"], report["steps"], wall, cpu


def summarise(rows: list[dict], steps: int, wall: float, cpu: float) -> dict:
    """Throughput over the updates after the first when there are several, else over all."""
    skip = len(rows) > 1
    timed = rows[1:] if skip else rows
    env, inference, update = (sum(r[k] for r in timed) for k in ("env_s", "inference_s", "update_s"))
    total = env + inference + update
    timed_steps = sum(r["steps"] for r in timed)
    return {
        "steps": steps,
        "timed_steps": timed_steps,
        "warmup_skipped": skip,
        "timed_s": round(total, 3),
        "steps_per_s": round(timed_steps / total, 1),
        "env_pct": round(100 * env / total, 1),
        "inference_pct": round(100 * inference / total, 1),
        "update_pct": round(100 * update / total, 1),
        "epochs_per_update": round(statistics.mean(r["epochs"] for r in timed), 2),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "steps_per_cpu_s": round(steps / cpu, 1),
        "cpu_per_wall": round(cpu / wall, 2),
    }


# ---- the SB3 side (runs in the worker process) -------------------------------------------


def sb3_worker(config_path: Path) -> None:
    import torch
    from gymnasium import spaces
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
    from stable_baselines3 import PPO
    from stable_baselines3.common.policies import ActorCriticPolicy
    from stable_baselines3.common.running_mean_std import RunningMeanStd
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
    from stable_baselines3.common.vec_env import VecEnvWrapper, VecNormalize
    from torch import nn
    from torch.nn.functional import relu

    from planetgym.sb3 import PlanetgymSB3VecEnv

    torch.set_num_threads(1)

    # Gain of planetgym's action-parameter layers (a fresh policy close to uniform).
    action_gain = 0.01

    def planetgym_init(layer: nn.Linear, gain: float) -> nn.Linear:
        """planetgym's initialisation (agents/src/nn/models.rs): weights uniform in
        +-gain/sqrt(inputs), zero biases."""
        bound = gain / math.sqrt(layer.in_features)
        nn.init.uniform_(layer.weight, -bound, bound)
        nn.init.zeros_(layer.bias)
        return layer

    def linear(inputs: int, outputs: int, gain: float = 1.0) -> nn.Linear:
        return planetgym_init(nn.Linear(inputs, outputs), gain)

    class MlpTrunk(BaseFeaturesExtractor):
        """MlpActorCritic's trunk (hidden1 -> ReLU -> hidden2 -> ReLU), shared by the policy
        and value layers (SB3's action_net and value_net on empty pi/vf nets)."""

        def __init__(self, observation_space: spaces.Box, hidden: int) -> None:
            super().__init__(observation_space, features_dim=hidden)
            inputs = observation_space.shape[0]
            self.net = nn.Sequential(
                linear(inputs, hidden), nn.ReLU(), linear(hidden, hidden), nn.ReLU()
            )

        def forward(self, obs: torch.Tensor) -> torch.Tensor:
            return self.net(obs)

    class EntityScorer(nn.Module):
        """planetgym's EntityScorer (models.rs) in the place of SB3's mlp_extractor: context =
        ReLU(context(global)); rows = ReLU(entity2(ReLU(entity1(entity) + context))); the
        scores (score(rows), absent entities at -1e9) are the action parameters, so action_net
        is the identity; the value layer (SB3's value_net) reads the mean of the present rows
        followed by the context."""

        def __init__(self, parts: tuple[int, int, int], hidden: int) -> None:
            super().__init__()
            self.parts = parts
            globals_, entities, features = parts
            self.context = linear(globals_, hidden)
            self.entity1 = linear(features, hidden)
            self.entity2 = linear(hidden, hidden)
            self.score = linear(hidden, 1, action_gain)
            self.latent_dim_pi = entities
            self.latent_dim_vf = 2 * hidden

        def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            g, e, f = self.parts
            present = obs[:, g + e * f :] > 0.5
            context = relu(self.context(obs[:, :g]))
            entities = obs[:, g : g + e * f].reshape(-1, e, f)
            rows = relu(self.entity1(entities) + context.unsqueeze(1))
            rows = relu(self.entity2(rows))
            scores = self.score(rows).squeeze(-1).masked_fill(~present, -1.0e9)
            weights = present.unsqueeze(-1).float()
            pooled = (rows * weights).sum(1) / weights.sum(1).clamp_min(1.0)
            return scores, torch.cat([pooled, context], 1)

        def forward_actor(self, obs: torch.Tensor) -> torch.Tensor:
            return self(obs)[0]

        def forward_critic(self, obs: torch.Tensor) -> torch.Tensor:
            return self(obs)[1]

    class PlanetgymNetworks:
        """Mixin for SB3's actor-critic policies: planetgym's network for the layout
        (EntityScorer for entity observations, else MlpTrunk given as features extractor) and
        its initialisation; with `shared_log_std`, one log std for every dimension of the
        Gaussian (the Simplex head's, head.rs; SB3 would learn one per logit)."""

        def __init__(
            self,
            *args,
            entity_parts: tuple[int, int, int] | None,
            hidden: int,
            shared_log_std: bool,
            **kwargs,
        ) -> None:
            self.entity_parts, self.hidden, self.shared_log_std = entity_parts, hidden, shared_log_std
            super().__init__(*args, ortho_init=False, **kwargs)

        def _build_mlp_extractor(self) -> None:
            if self.entity_parts is None:
                super()._build_mlp_extractor()
            else:
                self.mlp_extractor = EntityScorer(self.entity_parts, self.hidden)

        def _build(self, lr_schedule) -> None:
            super()._build(lr_schedule)
            if self.entity_parts is None:
                planetgym_init(self.action_net, action_gain)
            else:
                self.action_net = nn.Identity()
            planetgym_init(self.value_net, 1.0)
            if self.shared_log_std:
                self.log_std = nn.Parameter(torch.full((1,), float(self.log_std_init)))
            # Again, over the parameters as they now are.
            self.optimizer = self.optimizer_class(
                self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
            )

    class Policy(PlanetgymNetworks, ActorCriticPolicy):
        pass

    class MaskablePolicy(PlanetgymNetworks, MaskableActorCriticPolicy):
        pass

    class TimedVecEnv(PlanetgymSB3VecEnv):
        """The Rust VecEnv behind SB3 (same-step autoreset, as the trainer's), timing its steps."""

        env_s = 0.0

        def step_wait(self):
            start = time.perf_counter()
            out = super().step_wait()
            self.env_s += time.perf_counter() - start
            return out

    class RowSoftmax(VecEnvWrapper):
        """The Simplex head's environment action: the row-wise softmax of the sampled Gaussian
        logits (head.rs), which SB3 would otherwise clip into the declared Box(0, 1) weights."""

        def __init__(self, venv) -> None:
            # Finite (SB3 requires it) but out of reach, so that SB3's clip leaves the logits.
            top = np.finfo(np.float32).max
            space = spaces.Box(-top, top, venv.action_space.shape, np.float32)
            super().__init__(venv, action_space=space)

        def step_async(self, actions: np.ndarray) -> None:
            z = np.exp(actions - actions.max(axis=-1, keepdims=True))
            self.venv.step_async(z / z.sum(axis=-1, keepdims=True))

        def step_wait(self):
            return self.venv.step_wait()

        def reset(self):
            return self.venv.reset()

    class EntityStats(RunningMeanStd):
        """planetgym's statistics for entity observations (agents/src/nn/normalise.rs): one per
        global feature and one per entity feature shared by every entity, from present rows
        only. `mean` and `var` are spread over the global and entity slots, for
        VecNormalize's formula."""

        def __init__(self, parts: tuple[int, int, int]) -> None:
            g, e, f = parts
            super().__init__(shape=(g + e * f,))
            self.parts = parts
            self.globals, self.rows = RunningMeanStd(shape=(g,)), RunningMeanStd(shape=(f,))

        def update(self, obs: np.ndarray) -> None:
            g, e, f = self.parts
            self.globals.update(obs[:, :g])
            present = obs[:, g + e * f :] > 0.5
            if present.any():
                self.rows.update(obs[:, g : g + e * f].reshape(-1, e, f)[present])
            self.mean = np.concatenate([self.globals.mean, np.tile(self.rows.mean, e)])
            self.var = np.concatenate([self.globals.var, np.tile(self.rows.var, e)])

    class EntityNormalize(VecNormalize):
        """VecNormalize with EntityStats; the presence mask passes unchanged."""

        def __init__(self, venv, parts: tuple[int, int, int], **kwargs) -> None:
            super().__init__(venv, **kwargs)
            if self.norm_obs:
                self.obs_rms = EntityStats(parts)

        def _normalize_obs(self, obs: np.ndarray, obs_rms: RunningMeanStd) -> np.ndarray:
            end = obs_rms.mean.shape[0]
            out = obs.copy()
            out[..., :end] = super()._normalize_obs(obs[..., :end], obs_rms)
            return out

    class Timed:
        """Mixin for PPO and MaskablePPO: per iteration, the seconds of collect_rollouts (of
        them, the env's step_wait; the rest is inference, normalisation and the rollout
        buffer's bookkeeping and GAE, which planetgym times as update) and of train."""

        rows: list

        def collect_rollouts(self, *args, **kwargs) -> bool:
            env_before, start = self.timed_env.env_s, time.perf_counter()
            more = super().collect_rollouts(*args, **kwargs)
            rollout_s = time.perf_counter() - start
            env_s = self.timed_env.env_s - env_before
            self.rows.append(
                {"steps": self.n_steps * self.n_envs, "env_s": env_s, "inference_s": rollout_s - env_s}
            )
            return more

        def train(self) -> None:
            updates, start = self._n_updates, time.perf_counter()
            super().train()
            self.rows[-1].update(
                update_s=time.perf_counter() - start, epochs=self._n_updates - updates
            )

    class TimedPPO(Timed, PPO):
        pass

    class TimedMaskablePPO(Timed, MaskablePPO):
        pass

    config = tomllib.loads(config_path.read_text())
    p = config["ppo"]
    venv = TimedVecEnv(
        config["scenario"],
        config["num_envs"],
        config=config["env"],
        seed=config["seed"],
        threads=config["threads"],
    )
    description = venv.description
    layout = description["layout"]
    parts = None
    if layout["kind"] == "entity":
        parts = (len(layout["global"]), layout["entities"], len(layout["entity"]))
    masked = description["mask_len"] > 0
    simplex = description["space"]["kind"] == "simplex"
    env = RowSoftmax(venv) if simplex else venv
    # Observations as planetgym normalises them, rewards scaled by the std of the discounted
    # return; both clipped to +-10 (normalise.rs).
    norm = dict(
        norm_obs=p["normalise_obs"],
        norm_reward=p["normalise_reward"],
        gamma=p["gamma"],
        clip_obs=10.0,
        clip_reward=10.0,
    )
    env = VecNormalize(env, **norm) if parts is None else EntityNormalize(env, parts, **norm)

    policy_kwargs: dict = {"entity_parts": parts, "hidden": config["hidden"], "shared_log_std": simplex}
    if parts is None:
        policy_kwargs |= {
            "features_extractor_class": MlpTrunk,
            "features_extractor_kwargs": {"hidden": config["hidden"]},
            "net_arch": {"pi": [], "vf": []},
        }
    if not masked:
        policy_kwargs["log_std_init"] = p["initial_log_std"]
    rollout = config["num_envs"] * p["rollout_steps"]
    updates = config["total_steps"] // rollout
    lr = p["learning_rate"]
    model = (TimedMaskablePPO if masked else TimedPPO)(
        MaskablePolicy if masked else Policy,
        env,
        # planetgym anneals with the updates done before this one (1 - k/U); SB3's progress
        # already counts the rollout just collected.
        learning_rate=(lambda progress: lr * (progress + 1 / updates)) if p["anneal_lr"] else lr,
        n_steps=p["rollout_steps"],
        # planetgym's minibatches are chunks of ceil(rollout / minibatches).
        batch_size=math.ceil(rollout / p["minibatches"]),
        n_epochs=p["epochs"],
        gamma=p["gamma"],
        gae_lambda=p["gae_lambda"],
        clip_range=p["clip"],
        # SB3 takes the clipped value error alone, planetgym the larger of clipped and unclipped.
        clip_range_vf=p["clip_value"] or None,
        normalize_advantage=p["normalise_advantages"],
        ent_coef=p["entropy_coef"],
        # planetgym's value loss is half the mean squared error, SB3's the whole.
        vf_coef=p["value_coef"] / 2,
        max_grad_norm=p["max_grad_norm"] if p["max_grad_norm"] > 0 else math.inf,
        # SB3 stops at 1.5 x target_kl (before that minibatch's step; planetgym after it).
        target_kl=p["target_kl"] / 1.5 if p["target_kl"] > 0 else None,
        policy_kwargs=policy_kwargs,
        seed=config["seed"],
        device="cpu",
        verbose=0,
    )
    model.rows, model.timed_env = [], venv
    model.learn(total_timesteps=config["total_steps"])
    json.dump({"rows": model.rows, "steps": model.num_timesteps}, sys.stdout)


# ---- the driver ---------------------------------------------------------------------------


def table(results: list[dict], scenarios: list[str]) -> str:
    def median(rs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rs)

    def split(rs: list[dict]) -> str:
        return " / ".join(f"{median(rs, k):.0f}" for k in ("env_pct", "inference_pct", "update_pct"))

    lines = [
        "| scenario | planetgym steps/s | SB3 steps/s | ratio per repeat | ratio (median) "
        "| steps/CPU-s planetgym | steps/CPU-s SB3 | cores busy planetgym / SB3 "
        "| planetgym env/inf/upd % | SB3 env/inf/upd % | epochs/update planetgym / SB3 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scenarios:
        pg = [r for r in results if r["scenario"] == s and r["framework"] == "planetgym"]
        sb = [r for r in results if r["scenario"] == s and r["framework"] == "sb3"]
        ratios = [a["steps_per_s"] / b["steps_per_s"] for a, b in zip(pg, sb)]
        lines.append(
            f"| {s} | {median(pg, 'steps_per_s'):.0f} | {median(sb, 'steps_per_s'):.0f} "
            f"| {', '.join(f'{x:.2f}' for x in ratios)} | {statistics.median(ratios):.2f} "
            f"| {median(pg, 'steps_per_cpu_s'):.0f} | {median(sb, 'steps_per_cpu_s'):.0f} "
            f"| {median(pg, 'cpu_per_wall'):.2f} / {median(sb, 'cpu_per_wall'):.2f} "
            f"| {split(pg)} | {split(sb)} "
            f"| {median(pg, 'epochs_per_update'):.2f} / {median(sb, 'epochs_per_update'):.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument(
        "--steps", type=int, default=20_000, help="env steps per run (rounded up to whole updates)"
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, help="CSV of every run")
    parser.add_argument("--sb3-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sb3_worker:
        sb3_worker(args.sb3_worker)
        return
    scenarios = args.scenarios.split(",")
    if unknown := set(scenarios) - set(SCENARIOS):
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    if args.steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats must be at least 1")
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: cargo build --release --workspace --bins")
    warn_if_stale()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for s in scenarios:
            config = bench_config(s, args.steps, work)
            for repeat in range(args.repeats):
                for framework in FRAMEWORKS:
                    if framework == "planetgym":
                        measured = planetgym_run(config, work / f"{s}-{repeat}")
                    else:
                        measured = sb3_run(config)
                    row = {"scenario": s, "repeat": repeat, "framework": framework}
                    row |= summarise(*measured)
                    results.append(row)
                    print(
                        f"{s:9s} {repeat} {framework:9s} {row['steps_per_s']:8.0f} steps/s "
                        f"{row['steps_per_cpu_s']:8.0f} steps/CPU-s",
                        file=sys.stderr,
                    )
    if args.out:
        with open(args.out, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(results)
    single = sorted({r["scenario"] for r in results if not r["warmup_skipped"]})
    print(
        f"PPO training throughput, {args.steps} env steps per run (whole updates), {args.repeats} "
        "alternated repeats; configs experiments/configs/ppo_<scenario>.toml without counterfactual "
        "rows. steps/s and the splits (medians over repeats) cover every update after the first "
        "(warm-up)"
        + (f", except for {', '.join(single)} (one update per run: warm-up included)" if single else "")
        + "; steps/CPU-s (user + sys) and cores busy (CPU-s / wall-s) cover the whole process, "
        "start-up included (torch's import for SB3).\n"
    )
    print(table(results, scenarios))


if __name__ == "__main__":
    main()
