"""planetgym on a real multi-node Ray cluster: two Ray nodes on this machine (a head and a second
node with its own CPU, as ``ray start --address`` would add), torn down after the module."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import planetgym
from conftest import SMALL
from planetgym import cluster

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

CONFIG = {
    "scenario": "batch",
    "seed": 3,
    "total_steps": 2 * 2 * 32,
    "num_envs": 2,
    "hidden": 8,
    "checkpoint_every": 1,
    "env": SMALL["batch"],
    "ppo": {"rollout_steps": 32, "epochs": 1, "minibatches": 2},
    "eval": {"episodes": 0, "seed": 1000},
}
GRID = {"ppo.learning_rate": [1e-3, 3e-4]}


@pytest.fixture(scope="module")
def two_nodes():
    # Nothing leaves the machine: no usage report to Ray's servers from a test run.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    nodes = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": 80 * 2**20, "include_dashboard": False},
    )
    nodes.add_node(num_cpus=1, object_store_memory=80 * 2**20)
    ray.init(address=nodes.address, log_to_driver=False)
    try:
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        yield nodes.address
    finally:
        ray.shutdown()
        nodes.shutdown()


def test_a_sweep_trains_every_point_and_seed_resumably_and_compares_them(two_nodes, tmp_path):
    out = tmp_path / "sweep"
    # Point 1's second run starts here and stops after its first update (a crashed worker):
    # the sweep resumes it from its checkpoint.
    stopped = planetgym.train({**CONFIG, "seed": 4, "threads": 1, "ppo": {**CONFIG["ppo"], "learning_rate": 3e-4}},
                              run_dir=out / "learning_rate=0.0003" / "run-1",
                              callback=lambda r: False)
    assert stopped.interrupted and stopped.updates == 1

    result = cluster.sweep(CONFIG, GRID, seeds=2, address=two_nodes, out=out, episodes=4)
    trials = result.trials
    assert list(trials["point"]) == ["learning_rate=0.001"] * 2 + ["learning_rate=0.0003"] * 2
    assert list(trials["seed_index"]) == [0, 1, 0, 1]
    assert list(trials["status"]) == ["trained", "trained", "trained", "resumed"]
    assert (trials["updates"] == 2).all() and (trials["env_steps"] == 128).all()
    for run_dir in trials["run_dir"]:
        assert (Path(run_dir) / "policy.json").exists()
        assert any((Path(run_dir) / "tb").iterdir()), f"{run_dir} has no TensorBoard events"
    assert (out / "trials.csv").exists() and (out / "table.csv").exists()

    # Trial K of a point is `train` with seed + K, wherever it ran (and resumed or not).
    local = planetgym.train({**CONFIG, "seed": 4, "threads": 1, "ppo": {**CONFIG["ppo"], "learning_rate": 3e-4}},
                            run_dir=tmp_path / "local")
    swept = json.loads((out / "learning_rate=0.0003" / "run-1" / "policy.json").read_text())
    assert swept == json.loads((local.run_dir / "policy.json").read_text())

    aggregate = result.comparison.aggregate.set_index("policy")
    assert aggregate.loc["learning_rate=0.001", "runs"] == 2
    assert {"iqm", "p_improvement"} <= set(aggregate.columns)
    episodes = result.comparison.episodes
    assert set(episodes["episode"]) == {0, 1, 2, 3} and "sjf" in set(episodes["policy"])

    again = cluster.sweep(CONFIG, GRID, seeds=2, address=two_nodes, out=out, episodes=0)
    assert list(again.trials["status"]) == ["finished before"] * 4 and again.comparison is None


def test_a_trial_sends_its_run_directory_to_a_driver_without_its_disk(tmp_path):
    from planetgym._config import to_toml

    text, origin = to_toml({**CONFIG, "threads": 1})
    record = cluster._train_trial(text, origin, str(tmp_path / "worker-disk" / "run-0"), ["test"])
    assert record["status"] == "trained"
    driver = tmp_path / "driver-disk" / "run-0"
    cluster._unpack(record["files"], driver)
    assert (driver / "policy.json").read_bytes() == (tmp_path / "worker-disk" / "run-0" / "policy.json").read_bytes()
    assert (driver / cluster.TRIAL_FILE).exists() and any((driver / "tb").iterdir())
    assert not (driver / "checkpoint.json").exists()
    assert planetgym.load_policy(driver).scenario == "batch"


def test_a_spread_evaluation_equals_the_local_one(two_nodes, tmp_path):
    trained = planetgym.train({**CONFIG, "threads": 1}, run_dir=tmp_path / "run", seeds=2)

    def first_legal(obs, mask):
        return int(np.argmax(mask))

    policies = {"sjf": "sjf", "f1": "f1", "ppo": str(trained.run_dir), "first-legal": first_legal}
    # The trained runs also guide a rollout search, which the workers rebuild from the name.
    local = planetgym.evaluate(policies, scenario="batch", episodes=5, seed=77, progress=False,
                               guide="rollout-sjf@2")
    spread = planetgym.evaluate(policies, scenario="batch", episodes=5, seed=77, cluster=True, workers=3,
                                guide="rollout-sjf@2")
    pd.testing.assert_frame_equal(local, spread)
    assert set(spread["run"][spread["policy"] == "ppo"]) == {0, 1}
    assert set(spread["run"][spread["policy"] == "ppo+rollout-sjf@2"]) == {0, 1}


def test_rllib_ppo_trains_through_the_vector_entry_point_and_is_evaluated_by_planetgym(two_nodes):
    from planetgym import rllib

    config = rllib.ppo_config("batch", SMALL["batch"], env_runners=2, envs_per_runner=2, seed=0).training(
        train_batch_size_per_learner=128, minibatch_size=64, num_epochs=1)
    algo = config.build_algo()
    try:
        report = algo.train()
        assert report["env_runners"]["num_env_steps_sampled_lifetime"] >= 128
        # Every EnvRunner steps one Rust VecEnv of envs_per_runner copies.
        kinds = algo.env_runner_group.foreach_env_runner(
            lambda runner: type(runner.env.unwrapped).__name__, local_env_runner=False)
        assert kinds == ["PlanetgymVectorEnv"] * 2
        # The greedy policy acts with the weights the learner trained.
        learned = algo.learner_group.get_state()["learner"]["rl_module"]["default_policy"]
        acting = algo.get_module().state_dict()
        assert all(np.allclose(acting[k].numpy(), np.asarray(learned[k])) for k in acting)
        results = planetgym.evaluate({"rllib": rllib.greedy_policy(algo), "sjf": "sjf"},
                                     scenario="batch", episodes=3, seed=5, config=SMALL["batch"],
                                     progress=False)
    finally:
        algo.stop()
    seeds = results.pivot(index="episode", columns="policy", values="seed")
    assert (seeds["rllib"] == seeds["sjf"]).all() and len(seeds) == 3
    assert results["reward"].notna().all()


def test_planetgym_ppo_trains_on_rollouts_from_ray_actors_deterministically(two_nodes, tmp_path):
    config = {**CONFIG, "num_envs": 4, "total_steps": 2 * 4 * 32}
    runs = [planetgym.train(config, run_dir=tmp_path / f"run-{k}", rollout_workers=2, address=two_nodes)
            for k in range(2)]
    assert [(r.updates, r.env_steps, r.interrupted) for r in runs] == [(2, 256, False)] * 2
    policies = [json.loads((r.run_dir / "policy.json").read_text()) for r in runs]
    assert policies[0] == policies[1], "a fixed worker count must repeat exactly"
    assert len(pd.read_csv(runs[0].run_dir / "metrics.csv")) == 2
    # The learner still evaluates and loads like any run.
    frame = planetgym.evaluate([runs[0].run_dir, "sjf"], episodes=2, progress=False)
    assert set(frame["policy"]) == {"run-0", "sjf"}

    with pytest.raises(ValueError, match="could not start.*cannot share num_envs = 4"):
        planetgym.train(config, run_dir=tmp_path / "three", rollout_workers=3, address=two_nodes)
    with pytest.raises(ValueError, match="must be 0"):
        planetgym.train(config, run_dir=tmp_path / "negative", rollout_workers=-1)
    with pytest.raises(ValueError, match="only for rollout workers"):
        planetgym.train(config, run_dir=tmp_path / "no-workers", address=two_nodes)
    with pytest.raises(ValueError, match="trains one seed"):
        planetgym.train(config, run_dir=tmp_path / "seeds", rollout_workers=2, seeds=2, address=two_nodes)
    with pytest.raises(ValueError, match="cannot be resumed"):
        planetgym.train(run_dir=runs[0].run_dir, resume=True, rollout_workers=2, address=two_nodes)


def test_bad_sweeps_and_spread_evaluations_are_refused(two_nodes, tmp_path):
    with pytest.raises(ValueError, match="one scenario config"):
        cluster.sweep(CONFIG, {"env.window_jobs": [32, 48]}, out=tmp_path / "s")
    with pytest.raises(ValueError, match="non-empty list"):
        cluster.sweep(CONFIG, {"hidden": []}, out=tmp_path / "s")
    with pytest.raises(ValueError, match="seeds argument"):
        cluster.sweep(CONFIG, {"seed": [1, 2]}, out=tmp_path / "s")
    with pytest.raises(ValueError, match="cpus per task"):
        cluster.sweep(CONFIG, GRID, cpus_per_trial=0, out=tmp_path / "s")
    with pytest.raises(ValueError, match="needs episodes"):
        planetgym.evaluate(["sjf"], scenario="batch", config=SMALL["batch"], cluster=True)
    with pytest.raises(ValueError, match="no RLlib module"):
        from planetgym import rllib

        rllib.ppo_config("capacity", SMALL["capacity"])


def test_shares_cover_every_episode_once():
    for episodes in (1, 2, 7, 100):
        for workers in (1, 3, 8, 200):
            parts = cluster.shares(episodes, workers)
            covered = [e for first, n in parts for e in range(first, first + n)]
            assert covered == list(range(episodes)) and all(n >= 1 for _, n in parts)


def test_the_sweep_command_line_parses_grids_and_runs(two_nodes, tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(
        'scenario = "batch"\ntotal_steps = 128\nnum_envs = 2\nhidden = 8\n'
        "[env]\nwindow_jobs = 32\nvisible_jobs = 8\n[ppo]\nrollout_steps = 64\nminibatches = 1\n"
    )
    assert [cluster._grid_value(v) for v in ("3e-4", "64", "true", '"sjf"', "sjf")] == [3e-4, 64, True, "sjf", "sjf"]
    out = tmp_path / "sweep"
    code = cluster.sweep_command([str(config), "--grid", "ppo.learning_rate=1e-3,3e-4", "--seeds", "1",
                                  "--episodes", "0", "--address", two_nodes, "--out", str(out)])
    assert code == 0
    assert len(pd.read_csv(out / "trials.csv")) == 2
    assert "learning_rate=0.001" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cluster.sweep_command([str(config), "--grid", "hidden"])
    assert cluster.sweep_command([str(config), "--grid", "env.window_jobs=32", "--out", str(out)]) == 2
    assert "one scenario config" in capsys.readouterr().err
