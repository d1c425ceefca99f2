"""Every committed results table with a learned policy of several training runs, judged again
from its per-episode rows (`episodes.csv`) with the current paired protocol, next to the verdict
recorded in its `table.json` when it was made.

Tables made before the protocol resampled training runs (stop 39) compared per-episode means
over runs only, so a verdict could rest on which seeds were drawn (see `stats::paired`).
The recorded tables stay as they were printed; this report says which of their reward verdicts
still hold. It writes markdown (stdout, or the file named):

    .venv/bin/python experiments/reverdict.py [experiments/results/run_level_verdicts.md]
"""

import json
from pathlib import Path

import pandas as pd

import planetgym
from markdown_out import emit

RESULTS = Path(__file__).resolve().parent / "results"


def cell(row) -> str:
    return (f"{row['difference']:+.4g} [{row['difference_low']:+.4g}, {row['difference_high']:+.4g}]"
            f" {row['verdict']}")


def rows():
    for table in sorted(RESULTS.glob("**/table.json")):
        episodes = table.parent / "episodes.csv"
        if not episodes.exists():
            continue
        results = pd.read_csv(episodes)
        runs = results.groupby("policy")["run"].nunique()
        learned = [p for p, n in runs.items() if n > 1]
        if not learned:
            continue
        recorded = pd.DataFrame(json.load(open(table)))
        reference = recorded["reference"].dropna().iloc[0]
        if reference not in set(results["policy"]):
            continue  # PPO rows kept alone, for a before/after comparison
        scenario = table.relative_to(RESULTS).parts[0]
        current = planetgym.compare(results=results, scenario=scenario, reference=reference).table
        for policy in learned:
            pick = lambda t: t[(t["policy"] == policy) & (t["metric"] == "reward")].iloc[0]
            old, new = pick(recorded), pick(current)
            yield (str(table.parent.relative_to(RESULTS)), policy, int(runs[policy]), reference,
                   cell(old), f"{cell(new)} (p {new['p_value']:.3g})",
                   "" if old["verdict"] == new["verdict"] else "changed")


def main() -> None:
    lines = [
        "# Reward verdicts of the committed multi-run tables, recorded and current",
        "",
        "Made by `experiments/reverdict.py`: each table's `episodes.csv` compared again with the",
        "reference its `table.json` names, by the current protocol (training runs resampled, and",
        "Student's t over the runs' means; bootstrap seed 0). Difference to the reference",
        "[95 % CI], verdict.",
        "",
        "| table | policy | runs | reference | recorded | current | |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows()]
    emit(lines)


if __name__ == "__main__":
    main()
