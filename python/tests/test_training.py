import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import planetgym
from conftest import SMALL

REPO = Path(__file__).resolve().parents[2]

CONFIG = {
    "scenario": "batch",
    "seed": 0,
    "total_steps": 3 * 4 * 64,
    "num_envs": 4,
    "hidden": 16,
    "checkpoint_every": 1,
    "env": SMALL["batch"],
    "ppo": {"rollout_steps": 64, "epochs": 2, "minibatches": 2},
    "eval": {"episodes": 2, "seed": 1000},
}


def test_train_reports_every_update_and_evaluates(tmp_path):
    reports = []
    result = planetgym.train(CONFIG, run_dir=tmp_path / "run", callback=reports.append)
    assert [r["updates"] for r in reports] == [1, 2, 3]
    assert {"charts/episode_return", "charts/sps", "losses/policy", "metrics/avg_bounded_slowdown"} <= set(reports[0])
    assert not result.interrupted and result.updates == 3 and result.env_steps == 768
    for name in ("policy.json", "checkpoint.json", "metrics.csv", "eval.json", "curve.png"):
        assert (result.run_dir / name).exists(), name
    table = result.evaluation
    assert isinstance(table, pd.DataFrame)
    assert {"ppo", "ppo-sampled", "f1", "fcfs"} <= set(table["policy"])
    assert set(table["metric"]) >= {"reward", "avg_bounded_slowdown"}

    policy = result.policy()
    env = planetgym.PlanetgymEnv("batch", SMALL["batch"])
    obs, info = env.reset(seed=0)
    action = policy.act(obs, info["action_mask"])
    assert isinstance(action, int) and info["action_mask"][action]
    batch = policy.act_batch(np.stack([obs, obs]), np.stack([info["action_mask"]] * 2))
    assert batch.shape == (2,) and batch[0] == action
    with pytest.raises(ValueError, match=r"expected \(B, 644\)|expected \(B, \d+\)"):
        policy.act_batch(obs[None, :10])
    with pytest.raises(ValueError, match="masks hold|masks have shape"):
        policy.act_batch(obs[None, :], np.ones((1, 3), dtype=bool))


def test_a_stopped_run_resumes_to_the_end(tmp_path):
    run = tmp_path / "run"
    stopped = planetgym.train(CONFIG, run_dir=run, callback=lambda r: r["updates"] < 1)
    assert stopped.interrupted and stopped.updates == 1 and stopped.evaluation is None
    with pytest.raises(ValueError, match="already holds a run"):
        planetgym.train(CONFIG, run_dir=run)
    resumed = planetgym.train(run_dir=run, resume=True)
    assert not resumed.interrupted and resumed.updates == 3
    assert len((run / "metrics.csv").read_text().splitlines()) == 1 + 3
    # Each session (the start and the resume) is recorded with the code version and the call.
    sessions = [json.loads(line) for line in (run / "sessions.jsonl").read_text().splitlines()]
    assert [s["resumed"] for s in sessions] == [False, True]
    assert all("planetgym.train(" in s["command"][-1] for s in sessions)
    assert all(len(s["git_commit"]) == 40 and isinstance(s["git_dirty"], bool) for s in sessions)


def test_a_callback_exception_stops_with_a_checkpoint_and_is_raised(tmp_path):
    def fail(report):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        planetgym.train(CONFIG, run_dir=tmp_path / "run", callback=fail)
    assert (tmp_path / "run" / "checkpoint.json").exists()


def test_keyboard_interrupt_stops_cleanly_after_a_checkpoint(tmp_path):
    marker = tmp_path / "first-update"
    script = textwrap.dedent(
        f"""
        import time, planetgym
        config = {dict(CONFIG, total_steps=10_000)!r}
        def on_update(report):
            open({str(marker)!r}, "w").close()
            time.sleep(0.5)
        result = planetgym.train(config, run_dir={str(tmp_path / "run")!r}, callback=on_update)
        print("interrupted", result.interrupted, result.updates)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not marker.exists() and time.time() < deadline and child.poll() is None:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert out.startswith("interrupted True"), out
    assert (tmp_path / "run" / "checkpoint.json").exists()


def test_evaluate_gives_one_row_per_policy_and_episode(tmp_path):
    table = planetgym.evaluate(["sjf", "f1"], "batch", episodes=3, seed=2, config=SMALL["batch"])
    assert list(table["policy"]) == ["sjf"] * 3 + ["f1"] * 3
    assert {"episode", "seed", "steps", "reward", "oracle", "avg_bounded_slowdown"} <= set(table.columns)
    again = planetgym.evaluate(["f1"], "batch", episodes=3, seed=2, config=SMALL["batch"])
    np.testing.assert_array_equal(again["reward"], table["reward"][3:])
    assert "f1" in planetgym.baselines("batch")
    with pytest.raises(ValueError, match="no baseline `nope` for scenario batch; known: .*f1"):
        planetgym.evaluate(["nope"], "batch", episodes=1)
    with pytest.raises(ValueError, match="scenario is required"):
        planetgym.evaluate(["f1"])


def test_committed_policies_load_act_and_evaluate():
    policy = planetgym.load_policy(REPO / "experiments" / "policies" / "batch")
    assert policy.scenario == "batch"
    table = planetgym.evaluate([policy, "f1"], episodes=1, seed=0, window_jobs=64)
    assert set(table["policy"]) == {"ppo", "f1"}
    # The evaluator acts greedily; a sampling policy is refused rather than silently run greedy.
    sampling = planetgym.load_policy(REPO / "experiments" / "policies" / "batch", mode="sample")
    with pytest.raises(ValueError, match="mode='sample'.*greedily"):
        planetgym.evaluate([sampling, "f1"], episodes=1, seed=0, window_jobs=64)
    traffic = planetgym.load_policy(REPO / "experiments" / "policies" / "traffic")
    env = planetgym.PlanetgymEnv("traffic", observation="pairs")
    obs, _ = env.reset(seed=0)
    split = traffic.act(obs)
    assert split.shape == (54, 12) and np.allclose(split.sum(axis=1), 1.0, atol=1e-5)
    env.step(split)


def test_broken_policies_are_refused(tmp_path):
    with pytest.raises(OSError, match="no policy at"):
        planetgym.load_policy(tmp_path)
    (tmp_path / "policy.json").write_text("{ not json")
    with pytest.raises(ValueError, match="corrupt or not a planetgym policy"):
        planetgym.load_policy(tmp_path)
    with pytest.raises(ValueError, match="mode"):
        planetgym.load_policy(REPO / "experiments" / "policies" / "batch", mode="best")
