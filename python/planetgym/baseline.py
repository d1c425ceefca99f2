"""Built-in baselines step by step: a heuristic, an optimiser or a labelled oracle attached to a
``PlanetgymEnv`` (or every copy of a ``PlanetgymVectorEnv``), deciding in its current state, so
that it can be mixed with a learned policy, imitated (behaviour cloning, DAgger) or used as a
rollout policy."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from planetgym._spaces import unflatten_actions
from planetgym.envs import PlanetgymEnv
from planetgym.vector import PlanetgymVectorEnv


class Baseline:
    """Baseline ``name`` (see ``planetgym.baselines``; parameterised names such as
    ``"reactive@0.7"`` too) acting in ``env``'s current state.

    A baseline reads the scenario's full typed state (FGD scores every node of the cluster, the
    LP reads the whole demand matrix), not the encoded observation a network sees, so it is
    attached to the env whose state it decides on. ``act(obs, mask)`` takes the observation and
    mask anyway, so that a baseline fits wherever an ``(obs, mask) -> action`` policy does: they
    must be the env's current ones (checked). Random baselines are seeded by each reset's seed.
    """

    def __init__(self, name: str, env: Any) -> None:
        env = getattr(env, "unwrapped", env)
        if not isinstance(env, (PlanetgymEnv, PlanetgymVectorEnv)):
            raise ValueError(
                "a baseline acts in a PlanetgymEnv or PlanetgymVectorEnv (or a wrapper of one), "
                f"not {type(env).__name__}"
            )
        self._env = env
        self._id, self.name, self.oracle = env._core.add_baseline(name)

    def __repr__(self) -> str:
        return f"Baseline({self.name!r}, scenario={self._env.scenario!r})"

    def act(self, obs: Any = None, mask: Any = None) -> Any:
        """The baseline's action in the env's current state (an int for ``Discrete`` spaces).
        ``obs`` and ``mask``, when given, must be the env's current observation and mask."""
        env = self._env
        if isinstance(env, PlanetgymVectorEnv):
            raise ValueError(f"{self.name} is attached to a vector env: use act_batch")
        self._check(obs, lambda: env.last_observation, np.float32,
                    "obs is not the current observation of the env it is attached to")
        self._check(mask, env.action_masks, bool, "mask is not the env's current action mask")
        action = unflatten_actions(self._env.action_space, self._env._core.baseline_act(self._id))[0]
        return int(action) if action.ndim == 0 else action

    __call__ = act

    def _check(self, given: Any, current: Callable[[], Any], dtype: Any, problem: str) -> None:
        """Refuses ``given`` (when given) unless it equals ``current()``, the env's own."""
        if given is None:
            return
        own = current()
        if own is None or not np.array_equal(np.asarray(given, dtype=dtype), own):
            raise ValueError(f"{self.name}: {problem}")

    def act_batch(self, obs: Any = None, masks: Any = None) -> np.ndarray:
        """The baseline's actions ``[num_envs, ...]`` for every copy of the vector env it is
        attached to (a copy whose episode just ended, whose next action is ignored, gets
        zeros). ``obs`` and ``masks``, when given, must be the env's current ones."""
        env = self._env
        if not isinstance(env, PlanetgymVectorEnv):
            raise ValueError(f"{self.name} is attached to a single env: use act")
        self._check(obs, lambda: env.last_observations, np.float32,
                    "obs are not the current observations of its env")
        self._check(masks, env.action_masks, bool, "masks are not the env's current action masks")
        return unflatten_actions(env.single_action_space, env._core.baseline_act(self._id))


def baseline(name: str, env: Any) -> Baseline:
    """Baseline ``name`` attached to ``env`` (a ``PlanetgymEnv`` or ``PlanetgymVectorEnv``, or
    a wrapper of one): ``act`` for a single env, ``act_batch`` for a vector env."""
    return Baseline(name, env)
