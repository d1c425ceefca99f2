"""Hostile input from Python: sizes beyond their bounds, bools and floats for counts, the
episode protocol before reset, ambiguous policy lists, non-finite observations and oversized
policies. Each raises a clear Python exception; none crashes the interpreter."""

import json
import shutil
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import planetgym
from planetgym.sb3 import PlanetgymSB3VecEnv
from planetgym.shadow import sample_records

from conftest import SMALL

POLICIES = Path(__file__).resolve().parents[2] / "experiments" / "policies"


@pytest.mark.parametrize(
    "num_envs, threads, error, match",
    [
        (2**62, 0, ValueError, r"num_envs \(vector env copies\) = 4611686018427387904: at most 65536"),
        (2**40, 0, ValueError, r"at most 65536"),
        (2**70, 0, OverflowError, "int too big"),
        (2, 10**6, ValueError, r"threads = 1000000: at most"),
        (True, 0, TypeError, r"num_envs must be an int, not bool"),
        (2.0, 0, TypeError, r"num_envs must be an int, not float"),
        (2, True, TypeError, r"threads must be an int, not bool"),
    ],
)
def test_vector_env_sizes_are_bounded(num_envs, threads, error, match):
    with pytest.raises(error, match=match):
        planetgym.make_vec("batch", num_envs, threads=threads, config=SMALL["batch"])


def test_sb3_vector_env_counts_are_checked_too():
    with pytest.raises(TypeError, match="n_envs must be an int"):
        PlanetgymSB3VecEnv("batch", True, config=SMALL["batch"])
    with pytest.raises(ValueError, match="at most 65536"):
        PlanetgymSB3VecEnv("batch", 2**62, config=SMALL["batch"])


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"interval_s": 2.0**70}, r"interval_s = 1.1805916207174113e21: must be in \(0, 86400\]"),
        ({"failures": {"link_degradations_per_day": 16384}}, r"link_degradations_per_day = 16384"),
        ({"reward": {"cost_weight": float("nan")}}, r"reward.cost_weight = nan: must be a finite number"),
        ({"reward": {"cost_weight": 1e308}}, r"reward.cost_weight = 1e308: must be in \[0, 1000000\]"),
    ],
)
def test_traffic_config_bounds_raise_value_error(overrides, match):
    with pytest.raises(ValueError, match=match):
        gymnasium.make("planetgym/Traffic-v0", **overrides)


def test_stepping_or_masking_before_reset_raises_in_every_scenario(scenario):
    vec = planetgym.make_vec(scenario, 2, config=SMALL[scenario])
    single = planetgym.PlanetgymEnv(scenario, SMALL[scenario])
    for call in (lambda: vec.step(vec.action_space.sample()), vec.action_masks, single.action_masks):
        with pytest.raises(RuntimeError, match="before reset: call reset first"):
            call()
    with pytest.raises(RuntimeError, match="before reset"):
        single.step(single.action_space.sample())
    vec.reset(seed=0)
    single.reset(seed=0)
    masks = vec.action_masks()
    assert (masks is None) == (single.action_masks() is None)


def test_evaluate_reads_one_policy_and_refuses_empty_or_repeated_lists():
    one = planetgym.evaluate("f1", "batch", episodes=1, config=SMALL["batch"])
    assert set(one["policy"]) == {"f1"}
    with pytest.raises(ValueError, match="policies is empty"):
        planetgym.evaluate([], "batch", episodes=1, config=SMALL["batch"])
    with pytest.raises(ValueError, match="policies lists 'f1' more than once"):
        planetgym.evaluate(["f1", "sjf", "f1"], "batch", episodes=1, config=SMALL["batch"])
    with pytest.raises(TypeError, match="episodes must be an int, not bool"):
        planetgym.evaluate(["f1"], "batch", episodes=True, config=SMALL["batch"])
    with pytest.raises(ValueError, match="episodes = 1000000: at most 100000"):
        planetgym.evaluate(["f1"], "batch", episodes=10**6, config=SMALL["batch"])


def test_policies_refuse_non_finite_observations():
    policy = planetgym.load_policy(POLICIES / "capacity")
    obs = np.zeros(policy.obs_len, dtype=np.float32)
    policy.act(obs)
    for bad in (np.nan, np.inf):
        obs[3] = bad
        with pytest.raises(ValueError, match=r"observation 0, encoded feature 3: (NaN|inf) is not a finite number"):
            policy.act(obs)
    with pytest.raises(ValueError, match="not a finite number"):
        policy.act(np.full(policy.obs_len, np.nan, dtype=np.float32))


def test_a_policy_claiming_a_huge_network_raises_before_building_it(tmp_path):
    shutil.copytree(POLICIES / "capacity", tmp_path / "p")
    path = tmp_path / "p" / "policy.json"
    file = json.loads(path.read_text())
    file["hidden"] = 1_000_000_000
    path.write_text(json.dumps(file))
    with pytest.raises(ValueError, match="hidden = 1000000000: at most 4096"):
        planetgym.load_policy(tmp_path / "p")


def test_sampled_records_held_in_memory_are_bounded():
    with pytest.raises(ValueError, match="records = 10000000: at most 1000000"):
        sample_records("capacity", "reactive@0.8", 10**7)
    with pytest.raises(TypeError, match="records must be an int"):
        sample_records("capacity", "reactive@0.8", 2.5)
