"""Committed verdicts whose own interval holds zero.

Every `table.json` under experiments/results records, per (policy, metric), the paired
difference's 95 % interval and the verdict of its day. Since stop 51 a verdict is called only
where that interval excludes zero (`agents/src/stats/paired.rs`); this lists the recorded verdicts
the rule withdraws, and counts all recorded verdicts:

    .venv/bin/python experiments/verdicts_against_intervals.py
"""

import json
from pathlib import Path

CALLED = {"better", "worse", "higher", "lower"}


def main() -> None:
    root = Path(__file__).resolve().parent / "results"
    called, withdrawn = 0, []
    for table in sorted(root.rglob("table.json")):
        for row in json.loads(table.read_text()):
            if row.get("verdict") not in CALLED:
                continue
            called += 1
            if row["difference_low"] <= 0.0 <= row["difference_high"]:
                withdrawn.append((table.relative_to(root.parent), row))
    print(f"{called} verdicts recorded, {len(withdrawn)} with an interval that holds zero")
    for table, row in withdrawn:
        print(f"- {table}: {row['policy']} {row['metric']} {row['difference']:+.4g} "
              f"[{row['difference_low']:+.4g}, {row['difference_high']:+.4g}], Holm p {row['p_holm']:.3f}, "
              f"was {row['verdict']}")


if __name__ == "__main__":
    main()
