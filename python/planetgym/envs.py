"""The scenarios as gymnasium environments: ``gymnasium.make("planetgym/Traffic-v0", ...)``."""

from __future__ import annotations

from typing import Any, Mapping

import gymnasium
import numpy as np

from planetgym import _core
from planetgym._config import ConfigLike, to_toml
from planetgym._spaces import action_space, flat_actions, observation_space

#: gymnasium id of each scenario, from the Rust registry (the one place scenarios are listed).
ENV_IDS = dict(_core.gym_ids())

#: Seeds drawn for unseeded resets are below this bound.
SEED_BOUND = 2**63


class PlanetgymEnv(gymnasium.Env):
    """One planetgym scenario as a ``gymnasium.Env``.

    Args:
        scenario: a registered scenario name (``planetgym.scenario_names()``).
        config: the scenario config, as a dict, a path to a TOML file, or None for the defaults
            (``planetgym.default_config(scenario)`` documents every field).
        render_mode: None, or ``"rgb_array"``: ``render()`` then returns the current state as
            an RGB image (``uint8``, height x width x 3): the batch schedule as a Gantt chart,
            the placement cluster as a node x GPU heat-map with GPUs allocated over the
            episode, the traffic split as a region x site heat-map beside a world map of the
            flows (sites that lost capacity crossed), capacity against demand with the orders.
        illegal_actions: ``"remap"`` (default) replaces an action the mask forbids by the first
            legal one at or after it and sets ``info["action_remapped"]``; ``"raise"`` refuses
            it with ValueError.
        **overrides: config fields merged over ``config`` (nested tables as dicts).

    Observations are the scenario's encoded features (``float32``, see ``feature_names``).
    ``reset(seed=s)`` runs the same episode as the Rust scenario reset with seed ``s``.
    ``info`` holds every scenario metric of the step and, for scenarios with masks,
    ``info["action_mask"]`` (also available from ``action_masks()``).
    """

    #: ``render_fps`` is what video recorders (gymnasium's ``RecordVideo``) play steps at.
    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        scenario: str,
        config: ConfigLike = None,
        render_mode: str | None = None,
        illegal_actions: str = "remap",
        **overrides: Any,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}: planetgym envs render \"rgb_array\" or nothing (None)")
        text, origin = to_toml(config, overrides, scenario)
        self._core = _core.Env(scenario, text, origin, illegal_actions)
        #: The observation of the current state (what ``reset``/``step`` last returned), kept
        #: so that attached baselines can check what they are asked to act on.
        self.last_observation: np.ndarray | None = None
        self.description: dict = self._core.describe()
        self.scenario = scenario
        self.render_mode = render_mode
        self.observation_space = observation_space(self.description)
        self.action_space = action_space(self.description)
        self.metric_names: tuple[str, ...] = tuple(self.description["metric_names"])

    @property
    def metric_info(self) -> dict[str, dict]:
        """Each metric of ``info`` by name: its ``unit``, which way is ``better`` (higher, lower
        or neither) and what an ``episode`` value in evaluation tables is."""
        return {m["name"]: m for m in self.description["metrics"]}

    @property
    def feature_names(self) -> list[str]:
        """Name of every value of the observation vector, in order."""
        return feature_names(self.description)

    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        obs = self._core.reset(episode_seed(seed, options, self.np_random))
        self.last_observation = obs.copy()
        return obs, self._mask_info({})

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        flat = flat_actions(self.action_space, action)
        obs, reward, terminated, truncated, metrics, remapped = self._core.step(flat)
        self.last_observation = obs.copy()
        info = dict(zip(self.metric_names, metrics))
        info["action_remapped"] = remapped
        return obs, float(reward), bool(terminated), bool(truncated), self._mask_info(info)

    def render(self) -> np.ndarray | None:
        """With ``render_mode="rgb_array"``: the current state as an RGB image (``uint8``,
        height x width x 3; the size depends on the scenario). None without a render mode."""
        if self.render_mode is None:
            return None
        return self._core.render()

    def action_masks(self) -> np.ndarray | None:
        """Legal actions of the current state (sb3-contrib MaskablePPO convention): a boolean
        array over the ``Discrete`` choices, or the ``MultiDiscrete`` options one dimension
        after the other; None for continuous spaces."""
        return self._core.action_mask()

    def entity_labels(self) -> list[str]:
        """Who each entity row of the current observation is: ``job 4711`` (batch, by its
        number in the log), the node's name (placement), ``region -> site k (its region)``
        (traffic with ``observation="pairs"``); ``""`` for an empty row, ``[]`` for flat
        layouts. Also in every ``info["entities"]``. Row ``i`` holds the features
        ``e{i}.*`` of ``feature_names``."""
        return self._core.entity_labels()

    def decode(self) -> dict:
        """The current observation by name. Flat layouts: ``{"features": {name: value}}``.
        Entity layouts: ``{"global": {name: value}, "entities": DataFrame}``, one row per
        entity row of the observation, indexed by who it is (``entity_labels()``), with a
        column per entity feature and ``present`` (0 for padding rows)."""
        if self.last_observation is None:
            raise RuntimeError("decode() called before reset: call reset first")
        return decode(self.description, self.last_observation, self.entity_labels())

    def _mask_info(self, info: dict) -> dict:
        mask = self._core.action_mask()
        if mask is not None:
            info["action_mask"] = mask
        if self.description["layout"]["kind"] == "entity":
            info["entities"] = self._core.entity_labels()
        return info


def episode_seed(seed: int | None, options: Mapping[str, Any] | None, np_random: np.random.Generator) -> int:
    """The Rust seed of the episode a gymnasium ``reset(seed=..., options=...)`` starts: the
    seed itself, or for ``seed=None`` the next draw of the env's (seeded) generator."""
    if options:
        raise ValueError(f"planetgym envs take no reset options, got {dict(options)}")
    if seed is None:
        return int(np_random.integers(0, SEED_BOUND))
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed={seed}: must be in [0, 2**64)")
    return int(seed)


def decode(description: dict, obs: np.ndarray, labels: list[str]) -> dict:
    """An encoded observation by name (see ``PlanetgymEnv.decode``)."""
    import pandas as pd

    layout = description["layout"]
    if layout["kind"] == "flat":
        return {"features": {name: float(v) for (name, _, _), v in zip(layout["features"], obs)}}
    g, e, f = len(layout["global"]), layout["entities"], len(layout["entity"])
    rows = pd.DataFrame(
        obs[g : g + e * f].reshape(e, f),
        index=pd.Index(labels, name="entity"),
        columns=[name for name, _, _ in layout["entity"]],
    )
    rows["present"] = obs[g + e * f : g + e * f + e]
    return {"global": {name: float(v) for (name, _, _), v in zip(layout["global"], obs)}, "entities": rows}


def feature_names(description: dict) -> list[str]:
    """Names of the observation vector's values for a scenario description (entity layouts:
    the global features, then ``e{i}.{feature}`` per entity, then ``e{i}.present``)."""
    layout = description["layout"]
    if layout["kind"] == "flat":
        return [name for name, _, _ in layout["features"]]
    names = [name for name, _, _ in layout["global"]]
    for i in range(layout["entities"]):
        names += [f"e{i}.{name}" for name, _, _ in layout["entity"]]
    names += [f"e{i}.present" for i in range(layout["entities"])]
    return names


def register_envs() -> None:
    """Registers every scenario's id with gymnasium (done on ``import planetgym``)."""
    for scenario, env_id in ENV_IDS.items():
        if env_id in gymnasium.registry:
            continue
        gymnasium.register(
            id=env_id,
            entry_point="planetgym.envs:PlanetgymEnv",
            vector_entry_point="planetgym.vector:PlanetgymVectorEnv",
            kwargs={"scenario": scenario},
        )
