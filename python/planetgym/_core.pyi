__version__: str

def scenario_names() -> list[str]:
    """Names of the scenarios this build provides."""

def default_config(scenario: str) -> str:
    """The documented default config (TOML text) of ``scenario``; ValueError if unknown."""

def validate_traffic_config(toml: str) -> None:
    """Raise ValueError naming the field and the rule if the traffic config is invalid."""
