"""Committed learned-policy evaluations judged again against a baseline added since: the `ppo`
rows of each capacity `episodes.csv` named below and the rows of a baselines evaluation (every
default baseline, forecast-dp included, on the same seeded episodes: seed 1234, 20 episodes),
compared by the paired protocol with `forecast-dp:holt-winters-additive(24)` as the reference.
Up to stop 44 the holdout split was one 47-hour stretch (days 29-30, `results/capacity/
baselines_stop40/`); since stop 45 it scores days 22-30 with week-long episodes
(`baselines_stop45/`). Episodes are matched by their seed; a missing one is an error. Writes
markdown (stdout, or the file named):

    .venv/bin/python experiments/against_baseline.py [experiments/results/capacity/against_forecast_dp.md]
"""

from pathlib import Path

import pandas as pd

import planetgym
from markdown_out import emit

RESULTS = Path(__file__).resolve().parent / "results" / "capacity"
REFERENCE = "forecast-dp:holt-winters-additive(24)"
# Split label -> (baselines evaluation, split directory).
FRESH = {"fresh": ("baselines_stop40", "fresh")}
DAYS_29_30 = {"holdout, days 29-30 (to stop 44)": ("baselines_stop40", "holdout")}
DAYS_22_30 = {"holdout, days 22-30": ("baselines_stop45", "holdout")}
EVALUATIONS = [
    ("PPO alone, 3 seeds", "seeds", FRESH | DAYS_29_30),
    ("PPO alone, 3 more seeds, after the throughput work", "seeds_after", FRESH | DAYS_29_30),
    ("DAgger from oracle-mean-dp, then PPO", "mean_clone", FRESH | DAYS_29_30),
    ("DAgger from oracle-mean-dp only", "mean_clone_only", FRESH | DAYS_29_30),
    ("DAgger, then 3x the PPO", "mean_clone_long", FRESH | DAYS_29_30),
    ("DAgger from the forecast DP, then PPO", "forecast_dp_clone", FRESH | DAYS_29_30),
    ("DAgger from oracle-mean-dp, then PPO, 6 seeds (stop 42)", "mean_clone_six_runs",
     DAYS_29_30),
    ("the same 6 runs (retrained, identical)", "mean_clone_six_runs_stop45", DAYS_22_30),
    ("PPO alone, 3 seeds, stop 45's build", "seeds_stop45", FRESH | DAYS_22_30),
    ("the same 3 forecast-DP clone runs (retrained, identical)", "forecast_dp_clone_stop45",
     DAYS_22_30),
    ("DAgger from oracle-mean-dp only, 3 seeds, stop 45's build", "mean_clone_only_stop45",
     FRESH | DAYS_22_30),
    ("the same 3 runs of DAgger, then 3x the PPO (retrained, identical)",
     "mean_clone_long_stop45", DAYS_22_30),
    ("the 6 runs of the 32-unit mean-oracle clone (stop 42; retrained, identical)",
     "mean_small_clone_six_runs_stop45", DAYS_22_30),
    ("the committed PPO policy", "committed_stop45", DAYS_22_30),
]


def rows(baselines_dir: str, split: str, evaluation: str) -> pd.DataFrame:
    baselines = pd.read_csv(RESULTS / baselines_dir / split / "episodes.csv")
    learned = pd.read_csv(RESULTS / evaluation / split / "episodes.csv")
    learned = learned[learned["policy"] == "ppo"]
    missing = set(learned["seed"]) ^ set(baselines["seed"])
    if missing:
        raise SystemExit(f"{evaluation}/{split}: episodes not in both: {sorted(missing)[:5]}")
    # The learned rows take the baselines' episode numbers, so that both pair by index too.
    index = baselines.drop_duplicates("seed").set_index("seed")["episode"]
    learned = learned.assign(episode=learned["seed"].map(index))
    return pd.concat([baselines, learned[baselines.columns]], ignore_index=True)


def report() -> list[str]:
    lines = [
        "# Capacity: the committed learned policies against the forecast DP",
        "",
        "Made by `experiments/against_baseline.py`. Reward difference to",
        f"`{REFERENCE}` per episode [95 % CI], training runs resampled, p-value and verdict",
        "(paired protocol, bootstrap seed 0); the baseline's and the policy's gap to perfect",
        "foresight for scale.",
        "",
        "| policy | split | runs | difference | p | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for name, evaluation, splits in EVALUATIONS:
        for label, (baselines_dir, split) in splits.items():
            frame = rows(baselines_dir, split, evaluation)
            table = planetgym.compare(results=frame, scenario="capacity",
                                      reference=REFERENCE).table
            row = table[(table["policy"] == "ppo") & (table["metric"] == "reward")].iloc[0]
            runs = frame.loc[frame["policy"] == "ppo", "run"].nunique()
            lines.append(
                f"| {name} | {label} | {runs} | {row['difference']:+.1f} "
                f"[{row['difference_low']:+.1f}, {row['difference_high']:+.1f}] "
                f"| {row['p_value']:.3g} | {row['verdict']} |"
            )
    return lines


if __name__ == "__main__":
    emit(report())
