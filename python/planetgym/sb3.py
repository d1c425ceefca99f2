"""Stable-Baselines3 adapter: the Rust ``VecEnv`` as an SB3 ``VecEnv`` (same-step autoreset,
``terminal_observation`` in infos), since SB3 has no adapter for gymnasium vector envs.

Needs the ``sb3`` extra: ``pip install planetgym[sb3]``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from planetgym import _core
from planetgym._config import ConfigLike, count, to_toml
from planetgym._spaces import action_space, flat_actions, observation_space
from planetgym.envs import SEED_BOUND
from planetgym.vector import _scenario_name


class PlanetgymSB3VecEnv(VecEnv):
    """``n_envs`` copies of a scenario stepped together in Rust, for SB3 and sb3-contrib.

    A copy whose episode ends is reset in the same step: its info holds
    ``terminal_observation``, the final step's metrics and ``TimeLimit.truncated``.
    ``action_masks()`` (and ``env_method("action_masks")``) give MaskablePPO its masks.
    The first ``reset()`` uses ``seed`` (or the one given to ``seed()``); each later reset
    continues from a generator seeded by it.
    """

    def __init__(
        self,
        scenario: str,
        n_envs: int,
        config: ConfigLike = None,
        seed: int = 0,
        threads: int = 0,
        illegal_actions: str = "remap",
        **overrides: Any,
    ) -> None:
        n_envs, seed, threads = count("n_envs", n_envs), count("seed", seed), count("threads", threads)
        text, origin = to_toml(config, overrides, _scenario_name(scenario))
        self._core = _core.VecEnv(
            _scenario_name(scenario),
            n_envs,
            text,
            origin,
            seed=seed,
            threads=threads,
            autoreset="same_step",
            illegal_actions=illegal_actions,
        )
        self.description: dict = self._core.describe()
        self.metric_names: tuple[str, ...] = tuple(self.description["metric_names"])
        self.render_mode = None
        self._rng = np.random.default_rng(seed)
        self._next_seed: int | None = seed
        self._actions: np.ndarray | None = None
        super().__init__(n_envs, observation_space(self.description), action_space(self.description))

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self._next_seed = seed
        return [self._next_seed] * self.num_envs

    def reset(self) -> VecEnvObs:
        seed = self._next_seed
        if seed is None:
            seed = int(self._rng.integers(0, SEED_BOUND))
        self._next_seed = None
        obs = self._core.reset(seed)
        masks = self._core.action_masks()
        self.reset_infos = [
            {} if masks is None else {"action_mask": masks[i]} for i in range(self.num_envs)
        ]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = flat_actions(self.action_space, actions, batch=self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait called without step_async")
        flat, self._actions = self._actions, None
        obs, rewards, terminated, truncated, metrics, remapped, finals = self._core.step(flat)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = []
        for i in range(self.num_envs):
            info: dict[str, Any] = {"action_remapped": bool(remapped[i])}
            if dones[i] and finals is not None:
                final_obs, final_metrics = finals
                info.update(zip(self.metric_names, final_metrics[i].tolist()))
                info["terminal_observation"] = final_obs[i]
                info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            else:
                info.update(zip(self.metric_names, metrics[i].tolist()))
            infos.append(info)
        return obs, rewards.astype(np.float32), dones, infos

    def action_masks(self) -> np.ndarray:
        """Legal actions ``[n_envs, mask_len]`` for MaskablePPO."""
        masks = self._core.action_masks()
        if masks is None:
            raise AttributeError(f"{self.description['scenario']} has no action masks")
        return masks

    def close(self) -> None:
        pass

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        if attr_name == "action_masks" and self._core.action_masks() is None:
            raise AttributeError(f"{self.description['scenario']} has no action masks")
        if attr_name in ("render_mode", "metric_names", "description", "action_masks"):
            return [getattr(self, attr_name) for _ in self._get_indices(indices)]
        raise AttributeError(f"planetgym copies have no attribute {attr_name!r}")

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(f"planetgym copies have no settable attribute {attr_name!r}")

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        if method_name != "action_masks":
            raise AttributeError(f"planetgym copies have no method {method_name!r}")
        masks = self.action_masks()
        return [masks[i] for i in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]


def make_vec_env(scenario: str, n_envs: int = 1, seed: int = 0, **kwargs: Any) -> PlanetgymSB3VecEnv:
    """``n_envs`` copies of ``scenario`` (a name or gymnasium id) as an SB3 ``VecEnv``; keyword
    arguments as ``PlanetgymSB3VecEnv``."""
    return PlanetgymSB3VecEnv(scenario, n_envs, seed=seed, **kwargs)
