"""planetgym environments in RLlib (Ray's RL library, new API stack), and RLlib policies in
planetgym's evaluator.

Each RLlib EnvRunner steps one Rust ``VecEnv`` through the registered vector entry point
(``gym_env_vectorize_mode="vector_entry_point"``): one batched call per step for all its copies.
Masked scenarios with a ``Discrete`` action space (batch, placement, services, risk) give RLlib
the mask inside the observation (``{"observations", "action_mask"}``) and train with RLlib's
action-masking PPO module; continuous ones (traffic) need no mask. ``capacity``'s masked
``MultiDiscrete`` action has no RLlib module here and is refused.

    config = planetgym.rllib.ppo_config("traffic", env_runners=2, envs_per_runner=8)
    algo = config.build_algo()
    algo.train()
    planetgym.evaluate({"rllib": planetgym.rllib.greedy_policy(algo), ...}, scenario="traffic")
"""

from __future__ import annotations

import hashlib
import tomllib
from typing import Any, Callable

import gymnasium
import numpy as np
from gymnasium.vector import VectorWrapper
from gymnasium.vector.utils import batch_space

from planetgym._config import ConfigLike, count, to_toml
from planetgym._spaces import action_space
from planetgym import _core
from planetgym.vector import PlanetgymVectorEnv


class RllibSpaces(VectorWrapper):
    """What RLlib's PPO modules take: a multi-dimensional ``Box`` action (traffic's
    regions x sites split) flattened to one dimension, and for masked scenarios the legal-action
    mask moved from ``infos`` into the observation, as RLlib's action-masking module reads it:
    ``{"observations": obs, "action_mask": float 0/1}``."""

    def __init__(self, env: PlanetgymVectorEnv) -> None:
        super().__init__(env)
        self.masked = bool(env.description.get("mask_len"))
        self.shape = env.single_action_space.shape
        if isinstance(env.single_action_space, gymnasium.spaces.Box):
            space = env.single_action_space
            self.single_action_space = gymnasium.spaces.Box(
                space.low.reshape(-1), space.high.reshape(-1), dtype=space.dtype)
            self.action_space = batch_space(self.single_action_space, env.num_envs)
        if self.masked:
            self.single_observation_space = gymnasium.spaces.Dict({
                "observations": env.single_observation_space,
                "action_mask": gymnasium.spaces.Box(0.0, 1.0, (env.single_action_space.n,), np.float32),
            })
            self.observation_space = batch_space(self.single_observation_space, env.num_envs)

    def _observe(self, obs: np.ndarray, infos: dict) -> Any:
        if not self.masked:
            return obs
        return {"observations": obs, "action_mask": infos["action_mask"].astype(np.float32)}

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        obs, infos = self.env.reset(**kwargs)
        return self._observe(obs, infos), infos

    def step(self, actions: Any) -> tuple:
        actions = np.asarray(actions)
        if isinstance(self.env.single_action_space, gymnasium.spaces.Box):
            actions = actions.reshape(self.num_envs, *self.shape)
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        return self._observe(obs, infos), rewards, terminated, truncated, infos


class VecEnvCreator:
    """RLlib's env creator: a Rust ``VecEnv`` of ``env_config["num_envs"]`` copies of the
    scenario (a picklable object, so that every EnvRunner builds its own)."""

    def __init__(self, scenario: str, config: dict) -> None:
        self.scenario = scenario
        self.config = config
        description = _core.Env(scenario, *to_toml(config, None, scenario)).describe()
        self.masked = bool(description.get("mask_len"))
        space = action_space(description)
        #: The action's shape in planetgym (RLlib's is flat).
        self.action_shape = list(space.shape)
        if self.masked and not isinstance(space, gymnasium.spaces.Discrete):
            raise ValueError(
                f"{scenario}'s masked {type(space).__name__} action space has no RLlib module in "
                "planetgym (RLlib's action-masking PPO module takes Discrete spaces)"
            )

    def __call__(self, env_config: dict) -> RllibSpaces:
        return RllibSpaces(PlanetgymVectorEnv(self.scenario, env_config.get("num_envs", 1),
                                              config=self.config, threads=1))


def ppo_config(
    scenario: str,
    config: ConfigLike = None,
    env_runners: int = 2,
    envs_per_runner: int = 8,
    seed: int = 0,
    **overrides: Any,
) -> Any:
    """An RLlib ``PPOConfig`` (new API stack) on ``scenario`` with its scenario ``config``
    (dict or TOML path; ``overrides`` merged over it): ``env_runners`` EnvRunner actors of one
    CPU, each stepping a ``VecEnv`` of ``envs_per_runner`` copies. Set the PPO settings on the
    returned config (``.training(...)``) before ``build_algo()``."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    env_runners, envs_per_runner = count("env_runners", env_runners), count("envs_per_runner", envs_per_runner)
    if not 0 <= env_runners <= 1024 or not 1 <= envs_per_runner <= 65_536:
        raise ValueError(
            f"env_runners = {env_runners} (0..=1024), envs_per_runner = {envs_per_runner} (1..=65536)"
        )
    from ray.tune.registry import register_env

    text, _ = to_toml(config, overrides, scenario)
    creator = VecEnvCreator(scenario, tomllib.loads(text) if text else {})
    # RLlib takes a registered name (the registry reaches every EnvRunner), one per config.
    name = f"planetgym-{scenario}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    register_env(name, creator)
    out = (
        PPOConfig()
        .environment(env=name, env_config={"action_shape": creator.action_shape})
        .env_runners(
            num_env_runners=env_runners,
            num_envs_per_env_runner=envs_per_runner,
            num_cpus_per_env_runner=1,
            gym_env_vectorize_mode="vector_entry_point",
        )
        .debugging(seed=count("seed", seed))
    )
    if creator.masked:
        from ray.rllib.examples.rl_modules.classes.action_masking_rlm import (
            ActionMaskingTorchRLModule,
        )

        out = out.rl_module(rl_module_spec=RLModuleSpec(module_class=ActionMaskingTorchRLModule))
    return out


def greedy_policy(algorithm: Any) -> Callable[[np.ndarray, np.ndarray | None], Any]:
    """An RLlib algorithm's greedy action as a callable ``(obs, mask) -> action``
    for ``planetgym.evaluate``: the mode of its action distribution (the mean for continuous
    actions), legal actions only where the scenario masks them."""
    import torch
    from ray.rllib.core.columns import Columns
    from ray.rllib.utils.spaces.space_utils import unsquash_action

    module = algorithm.get_module() if hasattr(algorithm, "get_module") else algorithm
    distribution = module.get_inference_action_dist_cls()
    # RLlib's EnvRunners map continuous actions from [-1, 1] to the space's bounds (and clip)
    # unless the config says otherwise; the same here.
    config = getattr(algorithm, "config", None)
    unsquash = (getattr(config, "normalize_actions", True)
                and isinstance(module.action_space, gymnasium.spaces.Box))
    shape = (getattr(config, "env_config", None) or {}).get("action_shape")

    def act(obs: np.ndarray, mask: np.ndarray | None) -> Any:
        rows = torch.as_tensor(np.asarray(obs, dtype=np.float32)[None, :])
        if mask is not None:
            rows = {"observations": rows,
                    "action_mask": torch.as_tensor(np.asarray(mask, dtype=np.float32)[None, :])}
        with torch.no_grad():
            out = module.forward_inference({Columns.OBS: rows})
        action = distribution.from_logits(out[Columns.ACTION_DIST_INPUTS]).to_deterministic().sample()
        action = action[0].numpy()
        if unsquash:
            action = unsquash_action(action, module.action_space)
        return action.reshape(shape) if shape is not None else action

    return act
