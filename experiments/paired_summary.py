"""Prints the markdown rows of experiments/README.md's paired-protocol table from the results that
experiments/reevaluate.sh and experiments/train_seeds.sh wrote (table.json and table.txt)."""

import json
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def fmt(v: float) -> str:
    return f"{v:.4g}"


for scenario in ("batch", "capacity", "placement", "traffic"):
    for kind, label in (("paired", "committed policy"), ("seeds", "3 seeds, mean over runs")):
        for split in ("fresh", "holdout"):
            table = RESULTS / scenario / kind / split / "table.json"
            if not table.exists():
                continue
            rows = json.loads(table.read_text())
            heading = (table.parent / "table.txt").read_text()
            episodes = re.search(r"^episodes (\d+)", heading, re.M).group(1)
            ppo = next(r for r in rows if r["policy"] == "ppo" and r["metric"] == "reward")
            print(
                f"| {scenario} ({label}) | {split} | {episodes} | {ppo['reference']} | "
                f"{fmt(ppo['difference'])} [{fmt(ppo['difference_low'])}, {fmt(ppo['difference_high'])}] | "
                f"{ppo['p_improvement']:.3f} | {ppo['verdict']} |"
            )
