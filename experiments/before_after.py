"""Paired comparison of the same method trained by two builds, on identical evaluation episodes:
the ``ppo`` rows of two ``episodes.csv`` files written by ``experiments/eval_splits.sh`` (same
scenario, seed and split), renamed ``ppo-before`` and ``ppo-after`` and compared with
planetgym's paired protocol (reference ``ppo-before``; per-episode means over training runs).
Either side may list several files, comma-separated (more seeds evaluated on the same
episodes): their runs are numbered on from the previous file's. Where the two sides' pilots
chose different episode counts, the comparison keeps the episodes both evaluated.

    .venv/bin/python experiments/before_after.py SCENARIO BEFORE.csv[,...] AFTER.csv[,...] [OUT.json]
"""

import json
import sys

import pandas as pd

import planetgym


def read(paths: str) -> pd.DataFrame:
    """The rows of every file; PPO's runs renumbered to follow the previous file's, baselines
    kept from the first file only."""
    frames, runs = [], 0
    for i, path in enumerate(paths.split(",")):
        frame = pd.read_csv(path)
        ppo = frame["policy"] == "ppo"
        if not ppo.any():
            raise SystemExit(f"{path}: no ppo rows")
        frame.loc[ppo, "run"] += runs
        runs = int(frame.loc[ppo, "run"].max()) + 1
        frames.append(frame if i == 0 else frame[ppo])
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    scenario, before_csv, after_csv = sys.argv[1:4]
    before, after = read(before_csv), read(after_csv)
    # Evaluations whose pilots chose different episode counts share their first episodes
    # (episode k has the same seed in both): compare on those.
    pairs = lambda f: set(zip(f["episode"], f["seed"]))
    common = pairs(before[before["policy"] == "ppo"]) & pairs(after[after["policy"] == "ppo"])
    if not common:
        raise SystemExit("the two files were not evaluated on the same episodes")
    keep = lambda f: f[[p in common for p in zip(f["episode"], f["seed"])]]
    if len(common) < max(len(pairs(before)), len(pairs(after))):
        print(f"comparing on the {len(common)} episodes both evaluated")
    before, after = keep(before), keep(after)
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
