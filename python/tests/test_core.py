import tomllib

import pytest

import planetgym


def test_version_matches_the_rust_crate():
    assert planetgym.__version__ == "0.1.0"


def test_traffic_default_config_is_documented_toml():
    assert "traffic" in planetgym.scenario_names()
    text = planetgym.default_config("traffic")
    config = tomllib.loads(text)
    assert config["interval_s"] == 60
    assert len(config["sites"]["list"]) == 12
    assert "# Mean global request rate" in text


def test_batch_default_config_is_documented_toml():
    config = tomllib.loads(planetgym.default_config("batch"))
    assert config["trace"] == "builtin:lublin_256"
    assert config["visible_jobs"] == 128


def test_unknown_scenario_is_a_value_error():
    with pytest.raises(ValueError, match='unknown scenario "nope"; known: traffic, batch, placement, capacity'):
        planetgym.default_config("nope")


def test_bad_configs_raise_value_error_naming_the_field():
    resolved = planetgym.resolve_config("traffic", {"demand": {"noise_sigma": 0.1}})
    assert tomllib.loads(resolved)["demand"]["noise_sigma"] == 0.1
    with pytest.raises(ValueError, match=r"demand.noise_sigma = -1: must be in \[0, 2\]"):
        planetgym.resolve_config("traffic", demand={"noise_sigma": -1.0})
    with pytest.raises(ValueError, match="unknown field `demand.sigma`"):
        planetgym.resolve_config("traffic", {"demand": {"sigma": 1.0}})
    with pytest.raises(ValueError, match="not a TOML value"):
        planetgym.resolve_config("traffic", {"demand": {"noise_sigma": object()}})
    with pytest.raises(ValueError, match="None value"):
        planetgym.resolve_config("traffic", {"demand": {"noise_sigma": None}})


def test_the_command_line_is_installed_with_the_package():
    # The console script next to the interpreter, and `python -m planetgym`: the same CLI.
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "planetgym"
    assert script.exists(), f"no console script at {script}"
    out = subprocess.run([str(script), "scenarios"], check=True, capture_output=True, text=True)
    assert "traffic" in out.stdout and "interval_p95_latency_ms [ms, lower is better]" in out.stdout
    version = subprocess.run([sys.executable, "-m", "planetgym", "--version"], check=True,
                             capture_output=True, text=True)
    assert version.stdout.startswith("planetgym ")
    bad = subprocess.run([str(script), "baselines", "--scenario", "nope"], capture_output=True, text=True)
    assert bad.returncode == 1 and "unknown scenario `nope`" in bad.stderr
