"""The placement search's standing on every openb mix, in unallocated GPUs at 100 % arrived
(the FGD paper's comparison): the paired protocol on each mix's `episodes.csv` from
experiments/placement_rollout.sh, with the negated unallocated GPUs as the score, so a positive
difference is GPUs the search leaves unallocated fewer than the mix's best heuristic.

    .venv/bin/python experiments/placement_rollout_summary.py [experiments/results/placement/rollout/summary.md]
"""

from pathlib import Path

import pandas as pd

import planetgym
from markdown_out import emit

RESULTS = Path(__file__).resolve().parent / "results" / "placement" / "rollout"
SEARCH = "rollout-fgd@16+32"
MIXES = ["default", "gpushare40", "multigpu20", "gpuspec10", "cpu050", "holdout"]


def report() -> list[str]:
    lines = [
        "# Placement: rollout search against the best heuristic of each mix",
        "",
        "Made by `experiments/placement_rollout_summary.py` from `experiments/placement_rollout.sh`'s",
        "runs (seed 1234, 20 episodes per mix, inflation to 100 % arrived). Unallocated GPUs, mean",
        "over episodes; the difference is the best heuristic's minus the search's on the same",
        "episode (positive: the search leaves fewer unallocated), with the paired protocol's 95 %",
        "bootstrap interval, wins/ties/losses and Holm-corrected p across the mix's policies.",
        "",
        f"| mix | best heuristic | its unallocated GPUs | fgd | {SEARCH} | fewer than the best heuristic [95 % CI] | W/T/L | p (Holm) | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mix in MIXES:
        episodes = pd.read_csv(RESULTS / mix / "episodes.csv")
        means = episodes.groupby("policy")["unallocated_gpus"].mean()
        best = means.drop(SEARCH).idxmin()
        rows = episodes[["policy", "oracle", "run", "episode", "seed", "steps"]].assign(
            reward=-episodes["unallocated_gpus"])
        table = planetgym.compare(results=rows, scenario="placement", reference=best).table
        row = table[(table["metric"] == "reward") & (table["policy"] == SEARCH)].iloc[0]
        where = "holdout (gpushare100)" if mix == "holdout" else mix
        lines.append(
            f"| {where} | {best} | {means[best]:.1f} | {means['fgd']:.1f} | {means[SEARCH]:.1f} "
            f"| {row['difference']:.1f} [{row['difference_low']:.1f}, {row['difference_high']:.1f}] "
            f"| {row['wins']:.0f}/{row['ties']:.0f}/{row['losses']:.0f} | {row['p_holm']:.4f} | {row['verdict']} |"
        )
    lines += open_end()
    return lines


def open_end() -> list[str]:
    """The ablation: episodes inflated to 130 %, read at 100 % arrived from the mean curves."""
    curves = pd.read_csv(RESULTS / "open_end" / "curves.csv")
    at_100 = curves.loc[(curves["arrived_gpu_ratio"] - 1.0).abs() < 1e-9]
    table = pd.read_csv(RESULTS / "open_end" / "episodes.csv")
    gpus = table["unallocated_gpus"].iloc[0] / table["unallocated_gpu_fraction"].iloc[0]
    unallocated = at_100.set_index("policy")["unallocated_gpu_fraction"] * gpus
    return [
        "",
        "Ablation, the end unknown to the search (`open_end`: the same 20 episodes of openb default",
        "inflated to 130 %, so no drawn future is cut at 100 %; mean curves read at 100 % arrived,",
        "no paired interval):",
        f"fgd {unallocated['fgd']:.1f} and {SEARCH} {unallocated[SEARCH]:.1f} unallocated GPUs.",
    ]


emit(report())
