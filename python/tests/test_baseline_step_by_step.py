"""Built-in baselines called step by step from Python: the same decisions as the evaluator's."""

import numpy as np
import pytest

import planetgym
from conftest import SMALL


# Rollout search on placement draws futures as inflation does, so it runs on a small inflated
# cluster instead of the small replay.
INFLATED = {"synthetic_nodes": 60, "inflation_target": 0.8}


@pytest.mark.parametrize(
    "scenario,name",
    [("placement", "fgd"), ("placement", "rollout-fgd@4+8"), ("batch", "sjf"), ("batch", "rollout-saf@4+3h"), ("capacity", "reactive@0.7"),
     ("capacity", "forecast-dp:holt-winters-additive(24)"),
     ("traffic", "lp")],
)
def test_a_baseline_stepped_from_python_earns_the_evaluator_s_return(scenario, name):
    config = INFLATED if name.startswith("rollout-fgd") else SMALL[scenario]
    table = planetgym.evaluate([name], scenario, episodes=2, seed=3, config=config, progress=False)
    env = planetgym.PlanetgymEnv(scenario, config)
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
    search = planetgym.baseline("oracle-rollout-saf@4+3h", env)
    assert search.oracle and search.name == "oracle-rollout-saf@4+3h (sees the next 3 h)"
    assert info["action_mask"][search.act()]


def test_a_baseline_drives_every_copy_of_a_vector_env_as_it_drives_one_env():
    vec = planetgym.make_vec("batch", 3, config=SMALL["batch"])
    sjf = planetgym.baseline("sjf", vec)
    obs, infos = vec.reset(seed=7)
    seeds = vec.episode_seeds()
    returns, finished = np.zeros(3), [None] * 3
    while any(r is None for r in finished):
        actions = sjf.act_batch(obs, infos["action_mask"])
        assert actions.shape == (3,)
        obs, rewards, terminated, truncated, infos = vec.step(actions)
        returns += rewards
        for i in np.flatnonzero(terminated | truncated):
            if finished[i] is None:
                finished[i] = returns[i]
    # Each copy's first episode, replayed on a single env from its seed, with the same baseline.
    env = planetgym.PlanetgymEnv("batch", SMALL["batch"])
    one = planetgym.baseline("sjf", env)
    for seed, expected in zip(seeds, finished):
        obs, info = env.reset(seed=int(seed))
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(one.act(obs, info["action_mask"]))
            total += reward
            done = terminated or truncated
        assert total == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="use act_batch"):
        sjf.act()
    with pytest.raises(ValueError, match="not the current observations"):
        sjf.act_batch(obs + 1.0)
