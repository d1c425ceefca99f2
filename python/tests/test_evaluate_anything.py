"""``planetgym.evaluate`` runs any policy on the same episodes as the built-in ones: Python
callables, Stable-Baselines3 models, parameterised baseline names."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sb3_contrib import MaskablePPO

import planetgym
from conftest import SMALL
from planetgym.sb3 import make_vec_env

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[2]


def first_legal(obs, mask):
    return int(np.flatnonzero(mask)[0])


def test_a_callable_wrapping_a_policy_gives_the_policy_s_own_rows():
    # The committed batch policy, natively and as a plain function of (obs, mask): the same
    # evaluator, the same episodes, so the same per-episode rows.
    policy = planetgym.load_policy(REPO / "experiments" / "policies" / "batch")
    table = planetgym.evaluate(
        {"native": policy, "wrapped": lambda obs, mask: policy.act(obs, mask), "first": first_legal},
        episodes=3, seed=4, window_jobs=64, progress=False,
    )
    assert list(dict.fromkeys(table["policy"])) == ["native", "wrapped", "first"]
    native, wrapped = (table[table["policy"] == p].reset_index(drop=True) for p in ("native", "wrapped"))
    pd.testing.assert_frame_equal(native.drop(columns="policy"), wrapped.drop(columns="policy"))
    first = table[table["policy"] == "first"]
    assert list(first["seed"]) == list(native["seed"])  # identical episodes
    # A baseline next to them runs the same seeds.
    sjf = planetgym.evaluate(["sjf", first_legal], "batch", episodes=3, seed=4, window_jobs=64)
    assert list(sjf[sjf["policy"] == "first_legal"]["seed"]) == list(native["seed"])
    np.testing.assert_array_equal(sjf[sjf["policy"] == "first_legal"]["reward"], first["reward"])


def test_a_trained_policy_guides_a_rollout_search_next_to_its_ablation():
    batch = REPO / "experiments" / "policies" / "batch"
    table = planetgym.evaluate([batch, "rollout-sjf@2"], episodes=2, seed=4, window_jobs=64,
                               progress=False, guide="rollout-sjf@2")
    assert list(dict.fromkeys(table["policy"])) == ["rollout-sjf@2", "batch", "batch+rollout-sjf@2"]
    # With one candidate the search runs the network's own choice: the policy's rows exactly.
    one = planetgym.evaluate({"clone": batch, "sjf": "sjf"}, episodes=2, seed=4, window_jobs=64,
                             progress=False, guide="rollout-sjf@1")
    clone, guided = (one[one["policy"] == p].reset_index(drop=True) for p in ("clone", "clone+rollout-sjf@1"))
    pd.testing.assert_frame_equal(clone.drop(columns="policy"), guided.drop(columns="policy"))
    # The union search: SJF's best job and the network's, SJF's kept on ties.
    union = planetgym.evaluate({"clone": batch, "sjf": "sjf"}, episodes=2, seed=4, window_jobs=64,
                               progress=False, guide="union-rollout-sjf@1")
    assert list(dict.fromkeys(union["policy"])) == ["sjf", "clone", "clone+union-rollout-sjf@1"]


@pytest.mark.parametrize("policies, guide, words", [
    (["batch"], "rollout-sjf@99", ["guide=", "[1, 64]"]),
    (["batch"], "greedy", ["guide=", "rollout-RULE@K"]),
    (["batch"], "", ["guide = ''"]),
    (["capacity"], "rollout-sjf@2", ["guide=", "no search guided"]),
    ([], "rollout-sjf@2", ["needs a trained policy"]),
])
def test_a_guide_that_cannot_run_is_refused_with_its_name(policies, guide, words):
    dirs = [REPO / "experiments" / "policies" / p for p in policies]
    config = {"window_jobs": 64} if policies == ["batch"] else {}
    with pytest.raises(ValueError) as error:
        planetgym.evaluate(dirs + ["sjf"] * (not dirs), scenario=None if dirs else "batch", episodes=1,
                           progress=False, guide=guide, **config)
    for word in words:
        assert word in str(error.value), str(error.value)


def test_a_stable_baselines3_model_is_evaluated_greedily_with_its_masks():
    env = make_vec_env("batch", 2, config=SMALL["batch"], seed=0)
    model = MaskablePPO("MlpPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    table = planetgym.evaluate({"maskable": model}, "batch", episodes=2, seed=1, config=SMALL["batch"])
    by_hand = planetgym.evaluate(
        {"by_hand": lambda o, m: model.predict(o, action_masks=m, deterministic=True)[0]},
        "batch", episodes=2, seed=1, config=SMALL["batch"],
    )
    np.testing.assert_array_equal(table["reward"], by_hand["reward"])
    assert list(table["policy"]) == ["maskable"] * 2
    unnamed = planetgym.evaluate(model, "batch", episodes=1, seed=1, config=SMALL["batch"])
    assert list(unnamed["policy"]) == ["maskableppo-0"]


def test_parameterised_baselines_run_by_name():
    table = planetgym.evaluate(
        ["reactive@0.8", "reactive@0.6", "forecast+30%:holt-winters-additive(24)"],
        "capacity", episodes=2, seed=0, config=SMALL["capacity"],
    )
    assert list(dict.fromkeys(table["policy"])) == [
        "reactive@0.8", "reactive@0.6", "forecast+30%:holt-winters-additive(24)"]
    assert table.attrs["fair_baselines"] == list(dict.fromkeys(table["policy"]))
    with pytest.raises(ValueError, match=r"reactive@1.7.*\(0, 1\]"):
        planetgym.evaluate(["reactive@1.7"], "capacity", episodes=1, config=SMALL["capacity"])
    with pytest.raises(ValueError, match="greedy-spillover@U"):
        planetgym.evaluate(["spill"], "traffic", episodes=1, config=SMALL["traffic"])
    # A comparison of the chosen rows takes its reference among them.
    comparison = planetgym.compare(results=table, scenario="capacity", resamples=200)
    assert comparison.reference in set(table["policy"])


def test_callable_failures_are_raised_with_the_policy_named():
    class Boom(RuntimeError):
        pass

    def explodes(obs, mask):
        raise Boom("no luck")

    with pytest.raises(Boom, match="no luck"):
        planetgym.evaluate([explodes], "batch", episodes=1, config=SMALL["batch"])
    with pytest.raises(ValueError, match=r"bad_shape.*shape"):
        planetgym.evaluate({"bad_shape": lambda o, m: [1, 2]}, "batch", episodes=1, config=SMALL["batch"])
    with pytest.raises(ValueError, match="bad_action"):
        planetgym.evaluate({"bad_action": lambda o, m: 10_000}, "batch", episodes=1, config=SMALL["batch"])
    with pytest.raises(ValueError, match="not a policy"):
        planetgym.evaluate([3.5], "batch", episodes=1)
    with pytest.raises(ValueError, match="named first_legal more than once|two policies are named first_legal"):
        planetgym.evaluate([first_legal, first_legal], "batch", episodes=1)


def test_a_configuration_that_makes_every_policy_equal_is_flagged():
    # The NASA log's submit times are start times: at its own load nothing ever queues.
    with pytest.warns(UserWarning, match="cannot be told apart"):
        planetgym.evaluate(["fcfs", "sjf"], "batch", episodes=2, trace="builtin:nasa_ipsc",
                           window_jobs=64, progress=False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        planetgym.evaluate(["fcfs", "sjf"], "batch", episodes=2, config=SMALL["batch"], progress=False)


def test_metrics_say_their_unit_direction_and_episode_meaning():
    env = planetgym.PlanetgymEnv("traffic", SMALL["traffic"])
    info = env.metric_info
    assert list(info) == list(env.metric_names)
    p95 = info["interval_p95_latency_ms"]
    assert p95["unit"] == "ms" and p95["better"] == "lower"
    assert "mean over the episode's steps" in p95["episode"] and "not the 95th percentile" in p95["episode"]
    assert info["demand_rps"]["better"] == "neither"
    table = planetgym.evaluate(["sjf"], "batch", episodes=1, config=SMALL["batch"], progress=False)
    slowdown = table.attrs["metrics"]["avg_bounded_slowdown"]
    assert slowdown["better"] == "lower" and slowdown["episode"].startswith("at the episode's end")


def test_an_onnx_export_is_evaluated_like_the_policy_it_came_from(tmp_path):
    policy = REPO / "experiments" / "policies" / "batch"
    planetgym.export(policy, tmp_path / "onnx")
    # One policy three ways: the same returns, which the evaluator flags as indistinguishable.
    with pytest.warns(UserWarning, match="cannot be told apart"):
        table = planetgym.evaluate(
            {"burn": str(policy), "onnx": str(tmp_path / "onnx"),
             "shadow": planetgym.ShadowPolicy(tmp_path / "onnx", runtime="planetgym")},
            episodes=3, seed=5, window_jobs=64, progress=False,
        )
    rewards = {p: list(rows["reward"]) for p, rows in table.groupby("policy", sort=False)}
    assert list(rewards) == ["burn", "onnx", "shadow"]
    np.testing.assert_allclose(rewards["onnx"], rewards["burn"], rtol=1e-9)
    assert rewards["shadow"] == rewards["onnx"]
    with pytest.raises(ValueError, match="cannot run on 'capacity'"):
        planetgym.evaluate([str(tmp_path / "onnx")], "capacity", episodes=1, config=SMALL["capacity"])
