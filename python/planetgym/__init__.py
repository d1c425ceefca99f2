"""planetgym: reinforcement learning for planet-scale infrastructure scheduling.

The simulator, baselines and trainer are written in Rust; this package is their Python face.
"""

from planetgym._core import __version__, default_config, scenario_names, validate_traffic_config

__all__ = ["__version__", "default_config", "scenario_names", "validate_traffic_config"]
