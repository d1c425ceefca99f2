"""Configs as users give them (dict, TOML path, keyword overrides) turned into TOML text."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from planetgym import _core

ConfigLike = Mapping[str, Any] | str | os.PathLike | None


def count(name: str, value: Any) -> int:
    """``value`` as an int, refusing bools and floats (``n=True`` is a mistake, not 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(value).__name__} ({value!r})")
    return int(value)


def _merge(base: dict, overrides: Mapping[str, Any]) -> dict:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python numbers and lists, so that JSON can carry them."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise ValueError(f"config value {value!r} of type {type(value).__name__} is not a TOML value")


def to_toml(
    config: ConfigLike = None,
    overrides: Mapping[str, Any] | None = None,
    scenario: str | None = None,
) -> tuple[str, str]:
    """(TOML text, origin named in errors) for a config given as a dict, a path to a TOML file or
    None (the defaults), with `overrides` merged over it table by table. A file's relative data
    paths (traces, node and pod lists, series) are read from its folder: ``scenario`` names the
    scenario of a scenario config; None reads the file as a training config."""
    overrides = dict(overrides or {})
    if config is None or isinstance(config, Mapping):
        origin = "config"
        table = _merge(dict(config or {}), overrides)
        if not table:
            return "", origin
    elif isinstance(config, (str, os.PathLike)):
        path = Path(config)
        origin = str(path)
        try:
            text = path.read_text()
        except OSError as e:
            raise OSError(f"cannot read config {path}: {e.strerror or e}") from e
        text = _core.rebase_config_paths(text, str(path.resolve().parent), scenario)
        if not overrides:
            return text, origin
        try:
            table = _merge(tomllib.loads(text), overrides)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{path}: {e}") from e
    else:
        raise ValueError(
            f"config must be a dict, a path to a TOML file or None, not {type(config).__name__}"
        )
    _check_finite(table)
    return _core.toml_from_json(json.dumps(table, default=_plain)), origin


def _check_finite(value: Any, path: str = "") -> None:
    """Refuses NaN and infinities, naming the field: TOML configs hold none (and JSON, which
    carries the config to Rust, cannot)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_finite(item, f"{path}[{i}]")
    elif isinstance(value, (float, np.floating)) and not np.isfinite(value):
        raise ValueError(f"{path} = {value}: must be a finite number (a config holds no NaN or infinity)")
