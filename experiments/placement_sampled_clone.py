"""The FGD clone that observes each node's fragment growth (experiments/imitation.sh
placement-growth, three runs, committed in experiments/policies/placement_growth_clone),
drawing its actions from its distribution (the evaluator's `ppo-sampled` row, seeded per
episode, so reproducible) instead of taking the greedy node, against FGD and first fit under the paired protocol: inflation to 100 % arrived,
20 episodes of seed 4321 (seed 1234 showed the effect on 10 episodes of one run, see
experiments/placement_clone_sampling.py, so it is not reused here), the runs resampled.
Score: unallocated GPUs, negated (a positive difference is GPUs left unallocated fewer than the
reference, the mix's better heuristic of fgd and first-fit). Writes markdown rows per mix:

    .venv/bin/python experiments/placement_sampled_clone.py OUT.md MIX [MIX ...]

MIX: default, gpushare40, multigpu20, gpuspec10, cpu050 or holdout (gpushare100).
"""

import subprocess
import sys
from pathlib import Path

import pandas as pd

import planetgym

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "experiments" / "policies" / "placement_growth_clone"
DATA = REPO.parent / "shared" / "data" / "alibaba" / "gpu_v2023_openb"
CLONE = "fgd-clone (sampled)"


def flags(mix: str) -> list[str]:
    if mix == "default":
        return []
    if mix == "holdout":
        return ["--holdout"]
    return ["--pods", str(DATA / f"openb_pod_list_{mix}.csv")]


def rows(mix: str, out: Path) -> pd.DataFrame:
    """Each run evaluated alone by the CLI, whose single-run rows include `ppo-sampled` (actions
    drawn with a generator seeded per episode: reproducible); its runs' sampled rows joined as
    one method, the heuristics' rows taken from the first."""
    parts = []
    for k in range(3):
        where = out / f"{mix}_run{k}"
        subprocess.run(
            [str(REPO / "target" / "release" / "planetgym"), "eval", "--policy", str(POLICY / f"run-{k}"),
             "--config", str(REPO / "experiments" / "configs" / "placement_openb_at_100.toml"),
             "--set", "observe_growth=true", *flags(mix), "--policies", "fgd,first-fit",
             "--seed", "4321", "--episodes", "20", "--out", str(where)],
            check=True, stdout=subprocess.DEVNULL)
        episodes = pd.read_csv(where / "episodes.csv")
        sampled = episodes[episodes["policy"] == "ppo-sampled"].assign(policy=CLONE, run=k)
        parts.append(sampled if k else pd.concat([episodes[episodes["policy"].isin(["fgd", "first-fit"])], sampled]))
    return pd.concat(parts, ignore_index=True)


def row(mix: str, episodes: pd.DataFrame) -> str:
    means = episodes.groupby("policy")["unallocated_gpus"].mean()
    best = means[["fgd", "first-fit"]].idxmin()
    scored = episodes[["policy", "oracle", "run", "episode", "seed", "steps"]].assign(
        reward=-episodes["unallocated_gpus"])
    table = planetgym.compare(results=scored, scenario="placement", reference=best).table
    r = table[(table["metric"] == "reward") & (table["policy"] == CLONE)].iloc[0]
    per_run = ", ".join(f"{v:.1f}" for v in
                        episodes[episodes["policy"] == CLONE].groupby("run")["unallocated_gpus"].mean())
    return (f"| {mix} | {best} {means[best]:.1f} | fgd {means['fgd']:.1f} | {means[CLONE]:.1f} ({per_run}) "
            f"| {r['difference']:.1f} [{r['difference_low']:.1f}, {r['difference_high']:.1f}] "
            f"| {r['wins']:.0f}/{r['ties']:.0f}/{r['losses']:.0f} | {r['p_value']:.3f} | {r['verdict']} |")


out, mixes = Path(sys.argv[1]), sys.argv[2:]
lines = out.read_text().splitlines() if out.exists() else [
    "# Placement: the growth-observing FGD clone, sampled, against the better of fgd and first fit",
    "",
    "Made by `experiments/placement_sampled_clone.py` (seed 4321, 20 episodes, inflation to",
    "100 %, three training runs resampled). Unallocated GPUs; the difference is the reference's",
    "minus the clone's on the same episode (positive: the clone leaves fewer unallocated).",
    "",
    "| mix | reference | fgd | clone, sampled (per run) | fewer than the reference [95 % CI] | W/T/L | p | verdict |",
    "|---|---|---|---|---|---|---|---|",
]
for mix in mixes:
    episodes = rows(mix, out.parent / "sampled_runs")
    episodes.to_csv(out.parent / f"sampled_clone_{mix}.csv", index=False)
    lines.append(row(mix, episodes))
    out.write_text("\n".join(lines) + "\n")
    print(lines[-1], flush=True)
