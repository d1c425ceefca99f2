"""planetgym.compare and the statistics behind every results table, cross-checked against the
``rliable`` package on the same score matrices."""

import numpy as np
import pandas as pd
import pytest
from rliable import library as rly
from rliable import metrics

import planetgym
from planetgym import _core
from conftest import SMALL
from test_training import CONFIG

# rliable's bootstrap runs in Python (arch): enough resamples for a Monte-Carlo error of about
# 1 % of an interval's width, few enough for CI.
REPS = 5_000


def matrices(seed, runs, tasks):
    rng = np.random.default_rng(seed)
    # Skewed scores with ties, as normalised returns are.
    return np.round(rng.gamma(2.0, 0.4, size=(runs, tasks)), 2)


def close_interval(ours, theirs, point_tol=1e-9, step=0.0, spread=0.06):
    """Point estimates equal; interval endpoints within Monte-Carlo error of two independent
    bootstraps (a few percent of the interval's width, plus one step for statistics that only
    take values on a lattice, such as fractions of scores)."""
    point, low, high = ours
    their_point, (their_low, their_high) = theirs
    assert abs(point - their_point) <= point_tol * max(1.0, abs(point)), (point, their_point)
    width = their_high - their_low
    tol = spread * width + step + 1e-9
    assert abs(low - their_low) <= tol and abs(high - their_high) <= tol, (ours, theirs)


@pytest.mark.parametrize("shape", [(5, 30), (3, 60)])
def test_aggregates_and_intervals_match_rliable(shape):
    x = matrices(1, *shape)
    functions = {
        "iqm": metrics.aggregate_iqm,
        "mean": metrics.aggregate_mean,
        "optimality_gap": lambda s: metrics.aggregate_optimality_gap(s, 1.0),
    }
    for name, f in functions.items():
        for task_bootstrap in (False, True):
            np.random.seed(7)
            points, intervals = rly.get_interval_estimates(
                {"x": x}, lambda s: np.array([f(s)]), reps=REPS, task_bootstrap=task_bootstrap
            )
            ours = _core.aggregate_interval(x.tolist(), name, reps=REPS, seed=3, task_bootstrap=task_bootstrap)
            close_interval(ours, (points["x"][0], intervals["x"][:, 0]))


@pytest.mark.parametrize("shapes", [((5, 10), (5, 10)), ((3, 10), (1, 10))])
def test_probability_of_improvement_matches_rliable(shapes):
    # rliable calls scipy's Mann-Whitney test per task and resample: fewer of both here.
    x, y = matrices(2, *shapes[0]), matrices(3, *shapes[1]) - 0.1
    reps = 3_000
    np.random.seed(11)
    points, intervals = rly.get_interval_estimates(
        {"xy": [x, y]}, lambda a, b: np.array([metrics.probability_of_improvement(a, b)]), reps=reps
    )
    ours = _core.improvement_interval(x.tolist(), y.tolist(), reps=reps, seed=5, task_bootstrap=False)
    step = 1.0 / (shapes[0][0] * shapes[1][0] * shapes[0][1])
    close_interval(ours, (points["xy"][0], intervals["xy"][:, 0]), step=step, spread=0.08)


def test_performance_profile_matches_rliable():
    x = matrices(4, 5, 40)
    taus = np.linspace(0.0, 2.0, 5)
    np.random.seed(2)
    profiles, cis = rly.create_performance_profile({"x": x}, taus, reps=REPS)
    for k, tau in enumerate(taus):
        ours = _core.aggregate_interval(x.tolist(), "fraction_above", reps=REPS, seed=1, task_bootstrap=False, tau=tau)
        close_interval(ours, (profiles["x"][k], cis["x"][:, k]), step=1.0 / x.size)


def test_bad_matrices_are_refused():
    with pytest.raises(ValueError, match="run 1 has 1 scores"):
        _core.aggregate_interval([[1.0, 2.0], [1.0]], "iqm")
    with pytest.raises(ValueError, match="statistic"):
        _core.aggregate_interval([[1.0]], "median")
    with pytest.raises(ValueError, match="reps = 0"):
        _core.aggregate_interval([[1.0]], "iqm", reps=0)
    with pytest.raises(ValueError, match="same tasks"):
        _core.improvement_interval([[1.0, 2.0]], [[1.0]])
    columns = dict(policy=["a"], oracle=[False], run=[0], episode=[0], reward=[1.0], metrics=[],
                   fair_baselines=["a"])
    with pytest.raises(ValueError, match="at most 100 training runs"):
        _core.compare_columns(**dict(columns, run=[10**12]))
    with pytest.raises(ValueError, match="at most 100000 episodes"):
        _core.compare_columns(**dict(columns, episode=[10**9]))
    with pytest.raises(ValueError, match="every column needs 1 values"):
        _core.compare_columns(**dict(columns, reward=[1.0, 2.0]))


def test_compare_gives_the_paired_table_the_aggregates_and_plots(tmp_path):
    result = planetgym.compare(["sjf", "f1", "fcfs", "random"], "batch", episodes=30, seed=4,
                               config=SMALL["batch"], resamples=2000)
    assert result.reference in {"sjf", "f1"}
    table = result.table
    reward = table[table["metric"] == "reward"].set_index("policy")
    assert pd.isna(reward.loc[result.reference, "verdict"])
    assert reward.loc["fcfs", "verdict"] == "worse" and reward.loc["fcfs", "difference_high"] < 0
    assert reward.loc["random", "wins"] + reward.loc["random", "ties"] + reward.loc["random", "losses"] == 30
    # The mean difference is the difference of the means (same episodes).
    means = result.episodes.groupby("policy")["reward"].mean()
    assert reward.loc["fcfs", "difference"] == pytest.approx(means["fcfs"] - means[result.reference])
    agg = result.aggregate.set_index("policy")
    assert result.normalisation["zero"][0] in {"fcfs", "random"}
    assert agg.loc[result.normalisation["zero"][0], "mean"] == pytest.approx(0.0, abs=1e-9)
    assert agg["optimality_gap"].isna().all(), "batch has no oracle"
    assert (agg["iqm_low"] <= agg["iqm"]).all() and (agg["iqm"] <= agg["iqm_high"]).all()
    assert set(result.profile["policy"]) == {"sjf", "f1", "fcfs", "random"}
    figures = result.plot(tmp_path)
    assert set(figures) == {"performance_profile", "probability_of_improvement"}
    assert (tmp_path / "performance_profile.png").stat().st_size > 1000
    assert (tmp_path / "probability_of_improvement.svg").read_text().startswith("<?xml")
    # Every policy has its own colour and style, and the legend names them in full.
    lines = figures["performance_profile"].axes[0].get_lines()
    assert len({(str(l.get_color()), l.get_linestyle()) for l in lines}) == len(lines) == 4
    legend = figures["performance_profile"].axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == list(dict.fromkeys(result.profile["policy"]))
    # The same numbers from results computed earlier, and a named reference.
    again = planetgym.compare(results=result.episodes, reference="fcfs", resamples=2000, seed=4)
    assert again.reference == "fcfs"
    with pytest.raises(ValueError, match="not in the table"):
        planetgym.compare(results=result.episodes, reference="nope")
    # Results of different evaluations are not pairs; names must tell policies apart.
    other = planetgym.evaluate(["sjf"], "batch", episodes=30, seed=5, config=SMALL["batch"])
    mixed = pd.concat([result.episodes[result.episodes["policy"] != "sjf"], other])
    with pytest.raises(ValueError, match="was run from seeds"):
        planetgym.compare(results=mixed, scenario="batch")
    twice = pd.concat([result.episodes, result.episodes[result.episodes["policy"] == "f1"]])
    with pytest.raises(ValueError, match="f1 has two results"):
        planetgym.compare(results=twice, scenario="batch")


def test_train_with_several_seeds_aggregates_the_runs(tmp_path):
    config = dict(CONFIG, total_steps=2 * 4 * 64, eval={"episodes": 3, "seed": 1000})
    result = planetgym.train(config, run_dir=tmp_path / "multi", seeds=2)
    assert result.runs == [tmp_path / "multi" / "run-0", tmp_path / "multi" / "run-1"]
    table = result.evaluation
    assert {"ppo", "ppo-sampled"} <= set(table["policy"])
    episodes = pd.read_csv(tmp_path / "multi" / "episodes.csv")
    for mode in ("ppo", "ppo-sampled"):
        assert sorted(set(episodes.loc[episodes["policy"] == mode, "run"])) == [0, 1]
    # The two runs differ (different seeds), and evaluate reads the directory as one method.
    policies = [open(r / "policy.json").read() for r in result.runs]
    assert policies[0] != policies[1]
    rows = planetgym.evaluate([str(tmp_path / "multi"), "sjf", "fcfs"], episodes=2, seed=0)
    with pytest.raises(ValueError, match="two policies are named multi"):
        planetgym.evaluate([str(tmp_path / "multi"), result.policy(name="multi")], episodes=1)
    assert sorted(set(rows.loc[rows["policy"] == "multi", "run"])) == [0, 1]
    alone = planetgym.compare(results=rows[rows["policy"] != "fcfs"], resamples=1000)
    assert "two fair baselines" in alone.normalisation["why"] and alone.aggregate.empty
    assert alone.reference == "sjf" and not alone.table.empty
    comparison = planetgym.compare(results=rows, resamples=1000)
    multi = comparison.aggregate.set_index("policy").loc["multi"]
    assert (multi["runs"], multi["episodes"]) == (2, 2)


def test_episodes_come_from_a_pilot_when_not_given():
    rows = planetgym.evaluate(["sjf", "f1", "fcfs"], "batch", config=SMALL["batch"], seed=3)
    episodes = rows["episode"].nunique()
    # Batch's pilot is 50 episodes, its maximum 1000 (planetgym baselines uses the same rule).
    assert 50 <= episodes <= 1000
    assert len(rows) == 3 * episodes
    again = planetgym.evaluate(["sjf", "f1", "fcfs"], "batch", config=SMALL["batch"], seed=3)
    pd.testing.assert_frame_equal(rows, again)


def test_the_pilot_is_sized_against_a_named_reference():
    rows = planetgym.evaluate(["sjf", "fcfs"], "batch", config=SMALL["batch"], seed=3, reference="fcfs")
    assert rows["episode"].nunique() >= 50
    with pytest.raises(ValueError, match="reference: reference `nope` is not in the table"):
        planetgym.evaluate(["sjf", "fcfs"], "batch", config=SMALL["batch"], seed=3, reference="nope")
