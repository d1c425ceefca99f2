"""Lublin-1 against Lublin-2 (issue 20, stop 50): offered load, run times, widths and arrival
rate of the two built-in logs, to say how the second differs from the one policies train on.
    .venv/bin/python experiments/batch_log_stats.py
"""
import gzip
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "env" / "data"
PROCESSORS = 256  # both logs' MaxProcs


def jobs(name):
    """(submit, run, processors) of every job of an SWF log."""
    for line in gzip.open(DATA / f"{name}.swf.gz", "rt"):
        if line.startswith(";") or not line.strip():
            continue
        f = line.split()
        procs = float(f[4]) if float(f[4]) > 0 else float(f[7])
        yield float(f[1]), float(f[3]), procs


def quantile(values, q):
    return values[int(q * (len(values) - 1))]


for name in ["lublin_256", "lublin_256_new2"]:
    rows = list(jobs(name))
    span = rows[-1][0] - rows[0][0]
    runs = sorted(r for _, r, _ in rows)
    widths = sorted(p for _, _, p in rows)
    load = sum(r * p for _, r, p in rows) / (PROCESSORS * span)
    print(
        f"{name}: {len(rows)} jobs, load {load:.3f}, mean gap between submissions {span / len(rows):.0f} s, "
        f"run median {quantile(runs, 0.5):.0f} s (p90 {quantile(runs, 0.9):.0f} s, "
        f"{sum(r < 10 for r in runs) / len(runs):.0%} under 10 s), "
        f"processors median {quantile(widths, 0.5):.0f} (p90 {quantile(widths, 0.9):.0f})"
    )
