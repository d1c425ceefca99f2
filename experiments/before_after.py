"""Paired comparison of the same method trained by two builds, on identical evaluation episodes:
the ``ppo`` rows of two ``episodes.csv`` files written by ``experiments/eval_splits.sh`` (same
scenario, seed and split), renamed ``ppo-before`` and ``ppo-after`` and compared with
planetgym's paired protocol (reference ``ppo-before``; per-episode means over training runs).

    .venv/bin/python experiments/before_after.py SCENARIO BEFORE.csv AFTER.csv [OUT.json]
"""

import json
import sys

import pandas as pd

import planetgym


def main() -> None:
    scenario, before_csv, after_csv = sys.argv[1:4]
    before, after = pd.read_csv(before_csv), pd.read_csv(after_csv)
    for frame, name in ((before, before_csv), (after, after_csv)):
        if not (frame["policy"] == "ppo").any():
            raise SystemExit(f"{name}: no ppo rows")
    seeds = lambda f: sorted(set(f.loc[f["policy"] == "ppo", "seed"]))
    if seeds(before) != seeds(after):
        raise SystemExit("the two files were not evaluated on the same episodes")
    rows = pd.concat(
        [
            before.assign(policy=before["policy"].replace({"ppo": "ppo-before"})),
            after[after["policy"] == "ppo"].assign(policy="ppo-after"),
        ],
        ignore_index=True,
    )
    table = planetgym.compare(results=rows, scenario=scenario, reference="ppo-before").table
    reward = table[(table["metric"] == "reward") & (table["policy"].isin(["ppo-before", "ppo-after"]))]
    columns = ["policy", "mean", "ci95", "episodes", "difference", "difference_low",
               "difference_high", "wins", "ties", "losses", "p_value", "verdict"]
    print(reward[[c for c in columns if c in reward.columns]].to_string(index=False))
    if len(sys.argv) > 4:
        with open(sys.argv[4], "w") as out:
            json.dump(reward.to_dict(orient="records"), out, indent=1, default=str)


if __name__ == "__main__":
    main()
