"""The FGD clone that observes each node's fragment growth (experiments/imitation.sh
placement-growth), drawing its actions from its distribution (the evaluator's `ppo-sampled`
rows, seeded per episode, so reproducible) instead of taking the greedy node, against FGD and
first fit under the paired protocol: inflation to 100 % arrived, 20 episodes, the training runs
resampled. Score: unallocated GPUs, negated (a positive difference is GPUs left unallocated
fewer than the reference, the mix's better heuristic of fgd and first-fit). Writes a markdown
table, one row per mix, and Holm's correction over the openb mixes (the holdout is reported
apart: it is not one of the goal's mixes):

    .venv/bin/python experiments/placement_sampled_clone.py POLICY_DIR SEED OUT.md MIX [MIX ...]

POLICY_DIR: a run directory or a directory of runs (run-0, run-1, ...). MIX: default,
gpushare40, multigpu20, gpuspec10, cpu050 or holdout (gpushare100).

The committed runs are in experiments/policies/placement_growth_clone: run-0 to run-2 from
`experiments/imitation.sh placement-growth` (stop 41), run-3 to run-5 from `planetgym train
--config experiments/configs/bc_placement_growth.toml --seeds 6` (stop 42; its first three runs
are byte-identical to stop 41's). The tables in experiments/results/placement/growth_clone/:
sampled.md (stop 41: the first three runs alone, seed 4321, `default gpushare40 multigpu20
gpuspec10 cpu050 holdout`) and sampled_six_runs_seed8642.md (stop 42: all six, seed 8642, the
same mixes; about 14 min).
"""

import subprocess
import sys
from pathlib import Path

import pandas as pd

import planetgym

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "alibaba" / "gpu_v2023_openb"
CLONE = "fgd-clone (sampled)"
HEURISTICS = ["fgd", "first-fit"]


def flags(mix: str) -> list[str]:
    if mix == "default":
        return []
    if mix == "holdout":
        return ["--holdout"]
    return ["--pods", str(DATA / f"openb_pod_list_{mix}.csv")]


def rows(policy: Path, seed: int, mix: str, where: Path) -> pd.DataFrame:
    """The heuristics' rows and every run's `ppo-sampled` rows, renamed as one method, from one
    CLI evaluation (the greedy `ppo` rows it also writes are left out)."""
    subprocess.run(
        [str(REPO / "target" / "release" / "planetgym"), "eval", "--policy", str(policy),
         "--config", str(REPO / "experiments" / "configs" / "placement_openb_at_100.toml"),
         "--set", "observe_growth=true", *flags(mix), "--policies", ",".join(HEURISTICS),
         "--seed", str(seed), "--episodes", "20", "--out", str(where)],
        check=True, stdout=subprocess.DEVNULL)
    episodes = pd.read_csv(where / "episodes.csv")
    episodes = episodes[episodes["policy"].isin(HEURISTICS + ["ppo-sampled"])]
    return episodes.replace({"policy": {"ppo-sampled": CLONE}})


def comparison(episodes: pd.DataFrame) -> tuple[str, pd.Series]:
    means = episodes.groupby("policy")["unallocated_gpus"].mean()
    best = means[HEURISTICS].idxmin()
    scored = episodes[["policy", "oracle", "run", "episode", "seed", "steps"]].assign(
        reward=-episodes["unallocated_gpus"])
    table = planetgym.compare(results=scored, scenario="placement", reference=best).table
    return best, table[(table["metric"] == "reward") & (table["policy"] == CLONE)].iloc[0]


def row(mix: str, episodes: pd.DataFrame, best: str, r: pd.Series) -> str:
    means = episodes.groupby("policy")["unallocated_gpus"].mean()
    per_run = ", ".join(f"{v:.1f}" for v in
                        episodes[episodes["policy"] == CLONE].groupby("run")["unallocated_gpus"].mean())
    return (f"| {mix} | {best} {means[best]:.1f} | {means['fgd']:.1f} | {means[CLONE]:.1f} ({per_run}) "
            f"| {r['difference']:.1f} [{r['difference_low']:.1f}, {r['difference_high']:.1f}] "
            f"| {r['wins']:.0f}/{r['ties']:.0f}/{r['losses']:.0f} | {r['p_value']:.4f} | {r['verdict']} |")


def holm(p: dict[str, float]) -> dict[str, float]:
    """Holm's step-down adjusted p-values (monotone, capped at 1)."""
    adjusted, running = {}, 0.0
    for i, (name, value) in enumerate(sorted(p.items(), key=lambda kv: kv[1])):
        running = max(running, min(1.0, (len(p) - i) * value))
        adjusted[name] = running
    return adjusted


policy, seed, out, mixes = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]
lines = [
    "# Placement: the growth-observing FGD clone, sampled, against the better of fgd and first fit",
    "",
    f"Made by `experiments/placement_sampled_clone.py {policy.relative_to(REPO) if policy.is_absolute() else policy} "
    f"{seed} ...` (20 episodes, inflation to 100 %, the training runs resampled). Unallocated GPUs; the "
    "difference is the reference's minus the clone's on the same episode (positive: the clone leaves fewer "
    "unallocated).",
    "",
    "| mix | reference | fgd | clone, sampled (per run) | fewer than the reference [95 % CI] | W/T/L | p | verdict |",
    "|---|---|---|---|---|---|---|---|",
]
p_values = {}
for mix in mixes:
    episodes = rows(policy, seed, mix, out.parent / f"sampled_seed{seed}_{mix}")
    best, r = comparison(episodes)
    lines.append(row(mix, episodes, best, r))
    if mix != "holdout":
        p_values[mix] = r["p_value"] if r["difference"] > 0 else 1.0
    out.write_text("\n".join(lines) + "\n")
    print(lines[-1], flush=True)
if len(p_values) > 1:
    adjusted = holm(p_values)
    lines += ["", "Holm's correction over the openb mixes (one-sided in effect: a mix where the clone is behind "
              "counts as p = 1): " + ", ".join(f"{m} {a:.4f}" for m, a in adjusted.items()) + "."]
    out.write_text("\n".join(lines) + "\n")
    print(lines[-1])
