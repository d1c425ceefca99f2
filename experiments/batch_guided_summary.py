"""The guided search's standing on each split of one evaluation seed of
`experiments/batch_guided_search.sh` (issue 20, stop 50), as markdown: average bounded slowdown
of the guided search, the clone alone, the best heuristic and the searches without learning,
and the paired differences (runs resampled) against the best heuristic (the eval's own table,
Holm across its rows), against the ablation (Holm across the clone, the guided search and the
other searches) and against the best search without learning on those windows.

    .venv/bin/python experiments/batch_guided_summary.py experiments/results/batch/guided_search/seed2929 rollout-saf@4+3h
"""

import json
import sys
from pathlib import Path

import pandas as pd

import planetgym

SPLITS = {"lublin1": "Lublin-1 fresh", "holdout": "NASA holdout", "lublin2": "Lublin-2, no retraining"}


def verdict(row) -> str:
    return (f"{row['difference']:+.2f} [{row['difference_low']:+.2f}, {row['difference_high']:+.2f}], "
            f"{int(row['wins'])}/{int(row['ties'])}/{int(row['losses'])}, {row['verdict']}")


def judged(rows: pd.DataFrame, reference: str) -> pd.DataFrame:
    table = planetgym.compare(results=rows, scenario="batch", reference=reference).table
    return table[table["metric"] == "reward"].set_index("policy")


def split_row(folder: Path, label: str, ablation: str) -> str:
    heuristics = [r for r in json.loads((folder / "vs_heuristics" / "table.json").read_text())
                  if r["metric"] == "reward"]
    best = next(r for r in heuristics if r["policy"] == heuristics[-1]["reference"])
    guided = next(r for r in heuristics if r["policy"].startswith("ppo+"))
    learned = pd.read_csv(folder / "vs_heuristics" / "episodes.csv")
    learned = learned[learned["policy"].isin(["ppo", guided["policy"]])]
    searches = pd.read_csv(folder / "searches" / "episodes.csv")
    if set(zip(learned["episode"], learned["seed"])) != set(zip(searches["episode"], searches["seed"])):
        raise SystemExit(f"{folder}: the searches were not evaluated on the guided search's windows")
    rows = pd.concat([searches, learned], ignore_index=True)
    against_ablation = judged(rows, ablation)
    pure = searches.groupby("policy")["reward"].mean()
    strongest = pure.idxmax()
    against_strongest = judged(rows[rows["policy"].isin([strongest, guided["policy"]])], strongest)
    slowdown = -rows.groupby("policy")["reward"].mean()
    listed = ", ".join(f"{p} {slowdown[p]:.1f}" for p in pure.index)
    return (f"| {label} ({guided['episodes']}) | **{slowdown[guided['policy']]:.1f}** | {slowdown['ppo']:.1f} "
            f"| {best['policy']} {-best['mean']:.1f} | {listed} | {verdict(guided)} "
            f"| {verdict(against_ablation.loc[guided['policy']])} "
            f"| {strongest}: {verdict(against_strongest.loc[guided['policy']])} |")


def main() -> None:
    base, ablation = Path(sys.argv[1]), sys.argv[2]
    print("| split (windows) | guided | clone | best heuristic | searches without learning "
          f"| guided vs best heuristic | vs the ablation ({ablation}) | vs the best search without learning |")
    print("|---|---|---|---|---|---|---|---|")
    for split, label in SPLITS.items():
        if (base / split / "searches" / "episodes.csv").exists():
            print(split_row(base / split, label, ablation))


if __name__ == "__main__":
    main()
