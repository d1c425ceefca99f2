"""The FGD clone that observes each node's fragment growth (experiments/imitation.sh
placement-growth, three runs, committed in experiments/policies/placement_growth_clone), drawing its actions from its distribution instead of taking the
greedy node, against FGD and first fit under the paired protocol: inflation to 100 % arrived,
20 episodes of seed 4321 (seed 1234 showed the effect on 10 episodes of one run, see
experiments/placement_clone_sampling.py, so it is not reused here), the runs resampled.
Score: unallocated GPUs, negated (a positive difference is GPUs left unallocated fewer than the
reference, the mix's better heuristic of fgd and first-fit). Writes markdown rows per mix:

    .venv/bin/python experiments/placement_sampled_clone.py OUT.md MIX [MIX ...]

MIX: default, gpushare40, multigpu20, gpuspec10, cpu050 or holdout (gpushare100).
"""

import sys
from pathlib import Path

import pandas as pd

import planetgym

REPO = Path(__file__).resolve().parent.parent
RUNS = [REPO / "experiments" / "policies" / "placement_growth_clone" / f"run-{k}" for k in range(3)]
DATA = REPO.parent / "shared" / "data"
CLONE = "fgd-clone (sampled)"


def pods(mix: str) -> str:
    if mix == "default":
        return "builtin:openb_default"
    if mix == "holdout":
        return str(DATA / "holdout" / "alibaba" / "gpu_v2023_openb" / "openb_pod_list_gpushare100.csv")
    return str(DATA / "alibaba" / "gpu_v2023_openb" / f"openb_pod_list_{mix}.csv")


def rows(mix: str) -> pd.DataFrame:
    config = {"inflation_target": 1.0, "observe_growth": True, "pods": pods(mix)}
    run = dict(scenario="placement", episodes=20, seed=4321, config=config, progress=False)
    parts = [planetgym.evaluate(["fgd", "first-fit"], **run)]
    for k, path in enumerate(RUNS):
        policy = planetgym.load_policy(path, mode="sample", seed=k)
        part = planetgym.evaluate({CLONE: lambda obs, mask, p=policy: p.act(obs, mask)}, **run)
        parts.append(part.assign(run=k))
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
    episodes = rows(mix)
    episodes.to_csv(out.parent / f"sampled_clone_{mix}.csv", index=False)
    lines.append(row(mix, episodes))
    out.write_text("\n".join(lines) + "\n")
    print(lines[-1], flush=True)
