"""Each committed capacity evaluation's gap to the perfect-foresight DP (policy cost over the
oracle's on the same episode, minus 1, in %), with two 95 % intervals for a policy of several
training runs:

- over episodes only, on the per-episode gaps averaged over the runs: what the tables up to
  stop 39 reported (as t intervals), an interval about these networks;
- with the runs resampled too: the paired protocol's interval of the gap against the oracle's
  own (0 on every episode), the bootstrap over episodes and runs spanned with Student's t over
  the runs' means (`stats::paired`): an interval about the method that trained them.

It writes markdown (stdout, or the file named):

    .venv/bin/python experiments/capacity_gaps.py [experiments/results/capacity/gaps.md]
"""

from pathlib import Path

import pandas as pd

import planetgym
from markdown_out import emit

RESULTS = Path(__file__).resolve().parent / "results" / "capacity"
ORACLE = "oracle-dp (perfect foresight)"


def gaps(episodes: pd.DataFrame) -> pd.DataFrame:
    """The rows with `reward` replaced by the cost gap to the oracle on the same episode (%)."""
    oracle = episodes[episodes["policy"] == ORACLE].set_index("seed")["cost"]
    if oracle.index.duplicated().any():
        raise ValueError("the oracle has several rows for one episode seed")
    out = episodes.copy()
    out["reward"] = 100.0 * (out["cost"] / out["seed"].map(oracle) - 1.0)
    if out["reward"].isna().any():
        raise ValueError("an episode has no oracle row")
    # Every row an ordinary policy, so that the oracle can be the reference.
    out["oracle"] = False
    return out[["policy", "oracle", "run", "episode", "seed", "steps", "reward"]]


def intervals(rows: pd.DataFrame, runs_averaged: bool) -> pd.DataFrame:
    """The paired protocol's gap intervals against the oracle, per policy; over episodes only
    when each policy's runs are first averaged into one."""
    if runs_averaged:
        keys = ["policy", "oracle", "episode", "seed", "steps"]
        rows = rows.groupby(keys, as_index=False, sort=False)["reward"].mean().assign(run=0)
    table = planetgym.compare(results=rows, scenario="capacity", reference=ORACLE).table
    return table[table["metric"] == "reward"].set_index("policy")


def report() -> list[str]:
    lines = [
        "# Capacity: gap to the perfect-foresight DP, with and without the runs' spread",
        "",
        "Made by `experiments/capacity_gaps.py` from each evaluation's `episodes.csv`. Gap = cost",
        "/ oracle-dp's cost on the same episode - 1, in %, mean over runs and episodes. 95 %",
        "intervals: over episodes only (what earlier tables printed), and with the training runs",
        "resampled (the paired protocol against the oracle's gap of 0; bootstrap seed 0).",
        "The `holdout` rows of evaluations named `*_stop45` score days 22-30 in week-long",
        "episodes (the split since stop 45); the other `holdout` rows score days 29-30 only, one",
        "47-hour stretch that every episode repeated.",
        "",
        "| evaluation | policy | runs x episodes | gap | over episodes | runs resampled | per run |",
        "|---|---|---|---|---|---|---|",
    ]
    for episodes_csv in sorted(RESULTS.glob("*/*/episodes.csv")):
        rows = gaps(pd.read_csv(episodes_csv))
        episodes_only, runs_resampled = intervals(rows, True), intervals(rows, False)
        where = str(episodes_csv.parent.relative_to(RESULTS))
        for policy, mine in rows.groupby("policy", sort=False):
            runs = mine["run"].nunique()
            if runs < 2:
                continue
            cell = lambda t: (f"[{t.loc[policy, 'difference_low']:.2f}, "
                              f"{t.loc[policy, 'difference_high']:.2f}]")
            per_run = ", ".join(f"{v:.2f}" for v in mine.groupby("run")["reward"].mean())
            lines.append(
                f"| {where} | {policy} | {runs} x {mine['episode'].nunique()} "
                f"| {mine['reward'].mean():.2f} % | {cell(episodes_only)} "
                f"| {cell(runs_resampled)} | {per_run} |"
            )
    return lines


def main() -> None:
    emit(report())


if __name__ == "__main__":
    main()
