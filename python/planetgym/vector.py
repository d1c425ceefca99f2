"""A ``gymnasium.vector.VectorEnv`` backed by the Rust ``VecEnv``: one batched call per step,
the GIL released while the copies step on Rust threads."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from planetgym import _core
from planetgym._config import ConfigLike, count, to_toml
from planetgym._spaces import action_space, flat_actions, observation_space
from planetgym.envs import ENV_IDS, decode, episode_seed


class PlanetgymVectorEnv(VectorEnv):
    """``num_envs`` copies of a scenario, stepped together in Rust.

    Autoreset is next-step (``metadata["autoreset_mode"]``): the step that ends a copy's episode
    returns its final observation; the copy's next step resets it, ignores its action and
    returns reward 0. ``reset(seed=s)`` starts copy ``i``'s ``k``-th episode from a seed derived
    from ``(s, i, k)``, so results do not depend on ``threads``. Every returned array is new.

    ``infos`` holds each scenario metric (with gymnasium's ``_name`` presence masks: a copy
    that was just reset reports none), ``action_remapped`` and, for masked scenarios,
    ``action_mask`` ``[num_envs, mask_len]``. A copy whose episode has just ended (so its next
    action is ignored) gets an all-true mask row, never an all-false one, so masked samplers
    can always draw. Other arguments as ``PlanetgymEnv``.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        scenario: str,
        num_envs: int,
        config: ConfigLike = None,
        threads: int = 0,
        illegal_actions: str = "remap",
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r}: planetgym envs do not render; use None")
        num_envs, threads = count("num_envs", num_envs), count("threads", threads)
        text, origin = to_toml(config, overrides, _scenario_name(scenario))
        self._core = _core.VecEnv(
            scenario,
            num_envs,
            text,
            origin,
            seed=0,
            threads=threads,
            autoreset="next_step",
            illegal_actions=illegal_actions,
        )
        self.description: dict = self._core.describe()
        self.scenario = scenario
        self.num_envs = num_envs
        self.render_mode = None
        self.single_observation_space = observation_space(self.description)
        self.single_action_space = action_space(self.description)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.metric_names: tuple[str, ...] = tuple(self.description["metric_names"])
        #: The observations of the current states (what ``reset``/``step`` last returned), kept
        #: so that attached baselines can check what they are asked to act on.
        self.last_observations: np.ndarray | None = None

    def episode_seeds(self) -> list[int]:
        """The reset seed of the episode each copy is in: ``PlanetgymEnv.reset(seed=s)`` plays
        the same episode."""
        return self._core.episode_seeds()

    def entity_labels(self, i: int) -> list[str]:
        """Who each entity row of copy ``i``'s current observation is (see
        ``PlanetgymEnv.entity_labels``)."""
        return self._core.entity_labels(i)

    def decode(self, i: int) -> dict:
        """Copy ``i``'s current observation by name (see ``PlanetgymEnv.decode``)."""
        if self.last_observations is None:
            raise RuntimeError("decode() called before reset: call reset first")
        return decode(self.description, self.last_observations[i], self.entity_labels(i))

    def reset(
        self,
        *,
        seed: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict]:
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError(
                f"seed must be one int (copy i's episodes are derived from it) or None, not {seed!r}"
            )
        super().reset(seed=seed)
        obs = self._core.reset(episode_seed(seed, options, self.np_random))
        self.last_observations = obs.copy()
        return obs, self._mask_info({})

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        flat = flat_actions(self.single_action_space, actions, batch=self.num_envs)
        obs, rewards, terminated, truncated, metrics, remapped, _ = self._core.step(flat)
        self.last_observations = obs.copy()
        infos: dict[str, Any] = {}
        for j, name in enumerate(self.metric_names):
            present = ~np.isnan(metrics[:, j])
            if present.any():
                infos[name] = metrics[:, j].copy()
                infos[f"_{name}"] = present
        infos["action_remapped"] = remapped
        infos["_action_remapped"] = np.ones(self.num_envs, dtype=bool)
        return obs, rewards, terminated, truncated, self._mask_info(infos)

    def action_masks(self) -> np.ndarray | None:
        """Legal actions of every copy ``[num_envs, mask_len]`` (None for continuous spaces)."""
        return self._core.action_masks()

    def _mask_info(self, infos: dict) -> dict:
        masks = self._core.action_masks()
        if masks is not None:
            infos["action_mask"] = masks
            infos["_action_mask"] = np.ones(self.num_envs, dtype=bool)
        return infos


def make_vec(scenario: str, num_envs: int, **kwargs: Any) -> PlanetgymVectorEnv:
    """``num_envs`` copies of ``scenario`` as a gymnasium vector env (see
    ``PlanetgymVectorEnv``; ``scenario`` may also be a gymnasium id such as
    ``"planetgym/Traffic-v0"``)."""
    return PlanetgymVectorEnv(_scenario_name(scenario), num_envs, **kwargs)


def _scenario_name(name: str) -> str:
    for scenario, env_id in ENV_IDS.items():
        if name == env_id:
            return scenario
    return name
