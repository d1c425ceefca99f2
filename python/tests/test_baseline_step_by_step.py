"""Built-in baselines called step by step from Python: the same decisions as the evaluator's."""

import numpy as np
import pytest

import planetgym
from conftest import SMALL


@pytest.mark.parametrize(
    "scenario,name",
    [("placement", "fgd"), ("batch", "sjf"), ("capacity", "reactive@0.7"), ("traffic", "lp")],
)
def test_a_baseline_stepped_from_python_earns_the_evaluator_s_return(scenario, name):
    table = planetgym.evaluate([name], scenario, episodes=2, seed=3, config=SMALL[scenario], progress=False)
    env = planetgym.PlanetgymEnv(scenario, SMALL[scenario])
    policy = planetgym.baseline(name, env)
    assert policy.name == name and not policy.oracle
    for seed, expected in zip(table["seed"], table["reward"]):
        obs, info = env.reset(seed=int(seed))
        total, done = 0.0, False
        while not done:
            action = policy.act(obs, info.get("action_mask"))
            obs, reward, terminated, truncated, info = env.step(action)
            total += reward
            done = terminated or truncated
        assert total == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_a_baseline_refuses_what_is_not_its_env_s_state():
    env = planetgym.PlanetgymEnv("batch", SMALL["batch"])
    sjf = planetgym.baseline("sjf", env)
    with pytest.raises(RuntimeError, match="before reset"):
        sjf.act()
    obs, info = env.reset(seed=0)
    assert isinstance(sjf.act(), int) and info["action_mask"][sjf.act()]
    with pytest.raises(ValueError, match="not the current observation"):
        sjf.act(obs + 1.0, info["action_mask"])
    with pytest.raises(ValueError, match="not the env's current action mask"):
        sjf.act(obs, ~info["action_mask"])
    with pytest.raises(ValueError, match="no baseline `nope`"):
        planetgym.baseline("nope", env)
    with pytest.raises(ValueError, match="PlanetgymEnv"):
        planetgym.baseline("sjf", object())
    oracle = planetgym.baseline("oracle-dp (perfect foresight)", planetgym.PlanetgymEnv("capacity", SMALL["capacity"]))
    assert oracle.oracle
