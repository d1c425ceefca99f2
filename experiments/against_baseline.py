"""Committed learned-policy evaluations judged again against a baseline added since: the `ppo`
rows of each capacity `episodes.csv` named below and the rows of `results/capacity/
baselines_stop40/` (every default baseline, forecast-dp included, on the same seeded episodes:
seed 1234, 20 episodes, both splits), compared by the paired protocol with
`forecast-dp:holt-winters-additive(24)` as the reference. Episodes are matched by their seed;
a missing one is an error. Writes markdown (stdout, or the file named):

    .venv/bin/python experiments/against_baseline.py [experiments/results/capacity/against_forecast_dp.md]
"""

from pathlib import Path

import pandas as pd

import planetgym
from markdown_out import emit

RESULTS = Path(__file__).resolve().parent / "results" / "capacity"
BASELINES = RESULTS / "baselines_stop40"
REFERENCE = "forecast-dp:holt-winters-additive(24)"
EVALUATIONS = {
    "PPO alone, 3 seeds": "seeds",
    "PPO alone, 3 more seeds, after the throughput work": "seeds_after",
    "DAgger from oracle-mean-dp, then PPO": "mean_clone",
    "DAgger from oracle-mean-dp only": "mean_clone_only",
    "DAgger, then 3x the PPO": "mean_clone_long",
    "DAgger from the forecast DP, then PPO": "forecast_dp_clone",
}


def rows(split: str, evaluation: str) -> pd.DataFrame:
    baselines = pd.read_csv(BASELINES / split / "episodes.csv")
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
    for name, evaluation in EVALUATIONS.items():
        for split in ("fresh", "holdout"):
            frame = rows(split, evaluation)
            table = planetgym.compare(results=frame, scenario="capacity",
                                      reference=REFERENCE).table
            row = table[(table["policy"] == "ppo") & (table["metric"] == "reward")].iloc[0]
            runs = frame.loc[frame["policy"] == "ppo", "run"].nunique()
            lines.append(
                f"| {name} | {split} | {runs} | {row['difference']:+.1f} "
                f"[{row['difference_low']:+.1f}, {row['difference_high']:+.1f}] "
                f"| {row['p_value']:.3g} | {row['verdict']} |"
            )
    return lines


if __name__ == "__main__":
    emit(report())
