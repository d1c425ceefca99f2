"""gymnasium spaces for planetgym scenarios, and the conversion of actions to the flat rows the
Rust side takes.

A traffic split (a simplex per region) is declared as ``Box(0, 1, (regions, sites))`` of
weights: each row is divided by its sum (an all-zero row splits evenly), so every sample of the
declared space is a legal action and exact splits pass through unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces


def observation_space(description: dict) -> spaces.Box:
    return spaces.Box(-np.inf, np.inf, shape=(description["obs_len"],), dtype=np.float32)


def action_space(description: dict) -> spaces.Space:
    s = description["space"]
    kind = s["kind"]
    if kind == "discrete":
        return spaces.Discrete(s["n"])
    if kind == "multi_discrete":
        return spaces.MultiDiscrete(np.asarray(s["nvec"], dtype=np.int64))
    if kind == "box":
        low = np.asarray(s["low"], dtype=np.float32)
        return spaces.Box(low, np.asarray(s["high"], dtype=np.float32), dtype=np.float32)
    if kind == "simplex":
        return spaces.Box(0.0, 1.0, shape=(s["rows"], s["cols"]), dtype=np.float32)
    raise ValueError(f"unknown action space kind {kind!r}")


def _action_shape(space: spaces.Space) -> tuple[int, ...]:
    return () if isinstance(space, spaces.Discrete) else tuple(space.shape)


def _is_discrete(space: spaces.Space) -> bool:
    return isinstance(space, (spaces.Discrete, spaces.MultiDiscrete))


def flat_actions(space: spaces.Space, actions: Any, batch: int | None = None) -> np.ndarray:
    """Actions as contiguous float64 rows (``[flat_len]``, or ``[batch, flat_len]``). Raises
    ValueError saying what was expected for a wrong shape or dtype; values (range, NaN, masks)
    are checked on the Rust side."""
    shape = _action_shape(space)
    expected = shape if batch is None else (batch, *shape)
    what = "an integer" if _is_discrete(space) else "a real-valued"
    try:
        a = np.asarray(actions)
    except (ValueError, TypeError) as e:
        raise ValueError(f"action is not an array of shape {expected}: {e}") from e
    if a.shape != expected:
        raise ValueError(f"action has shape {a.shape}, expected {expected} for {space}")
    allowed = "iu" if _is_discrete(space) else "fiu"
    if a.dtype.kind not in allowed:
        raise ValueError(f"action has dtype {a.dtype}, expected {what} array for {space}")
    flat = np.ascontiguousarray(a, dtype=np.float64)
    return flat.reshape(-1) if batch is None else flat.reshape(batch, -1)


def unflatten_actions(space: spaces.Space, flat: np.ndarray) -> np.ndarray:
    """Rows ``[B, flat_len]`` from Rust as actions of `space`, batched ``[B, ...]``."""
    shape = _action_shape(space)
    dtype = np.int64 if _is_discrete(space) else np.float32
    return flat.astype(dtype).reshape((flat.shape[0], *shape))
