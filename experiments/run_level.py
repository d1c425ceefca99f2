"""Run-level view of a before/after comparison (the companion of before_after.py, which pairs
per-episode means over runs and so treats the runs as fixed): each training run's mean reward
over the evaluation episodes, Welch's t on the run means, and a bootstrap CI of the difference
in means with the runs resampled within each build.

    .venv/bin/python experiments/run_level.py BEFORE.csv[,...] AFTER.csv[,...]
"""

import sys

import numpy as np

from before_after import read


def runs(paths: str) -> np.ndarray:
    """Each PPO run's mean reward, the files' runs numbered on as before_after.py reads them."""
    frame = read(paths)
    return frame[frame["policy"] == "ppo"].groupby("run")["reward"].mean().to_numpy()


b, a = runs(sys.argv[1]), runs(sys.argv[2])
d = a.mean() - b.mean()
se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
rng = np.random.default_rng(0)
boot = [rng.choice(a, len(a)).mean() - rng.choice(b, len(b)).mean() for _ in range(20000)]
lo, hi = np.percentile(boot, [2.5, 97.5])
print(f"runs before {len(b)} after {len(a)}; before {b.mean():.3f} (sd {b.std(ddof=1):.3f}) after {a.mean():.3f} (sd {a.std(ddof=1):.3f})")
print(f"after - before {d:+.3f}, Welch t {d / se:+.2f}, run bootstrap 95% CI [{lo:+.3f}, {hi:+.3f}]")
print("before runs", np.round(b, 2))
print("after runs", np.round(a, 2))
