"""planetgym: reinforcement learning for planet-scale infrastructure scheduling.

The simulator, baselines and trainer are written in Rust; this package is their Python face:
gymnasium environments (``gymnasium.make("planetgym/Traffic-v0")``), a batched vector env
(``make_vec``), a Stable-Baselines3 adapter (``planetgym.sb3``), and training, trained policies
and evaluation tables, exported policies for production shadow mode (``export``,
``ShadowPolicy``), and failure predictors scored on real labels (``risk``).
"""

from planetgym._config import to_toml as _to_toml
from planetgym._core import __version__, default_config, scenario_names
from planetgym._core import resolve_config as _resolve
from planetgym.baseline import Baseline, baseline
from planetgym.compare import Comparison, compare
from planetgym.envs import ENV_IDS, PlanetgymEnv, register_envs
from planetgym.risk import censoring as risk_censoring
from planetgym.risk import export_predictor, risk, shadow_predictor
from planetgym.shadow import ShadowPolicy, export
from planetgym.training import Policy, TrainResult, baselines, evaluate, load_policy, train
from planetgym.vector import PlanetgymVectorEnv, make_vec


def resolve_config(scenario: str, config=None, **overrides) -> str:
    """The complete config of ``scenario`` (defaults merged with ``config`` and ``overrides``)
    as TOML, after checking it: ValueError names the wrong field and what is allowed."""
    text, origin = _to_toml(config, overrides, scenario)
    return _resolve(scenario, text, origin)

register_envs()

__all__ = [
    "__version__",
    "Baseline",
    "baseline",
    "ENV_IDS",
    "PlanetgymEnv",
    "PlanetgymVectorEnv",
    "Policy",
    "ShadowPolicy",
    "TrainResult",
    "Comparison",
    "baselines",
    "compare",
    "default_config",
    "evaluate",
    "export",
    "load_policy",
    "make_vec",
    "resolve_config",
    "risk",
    "risk_censoring",
    "export_predictor",
    "shadow_predictor",
    "scenario_names",
    "train",
]
