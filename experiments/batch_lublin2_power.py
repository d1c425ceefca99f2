"""Power of a paired, runs-resampled test of a learned batch policy against a heuristic.

Reads earlier evaluations (episodes.csv of `planetgym eval`), splits the variance of the
per-window difference (heuristic minus policy, bounded slowdown: positive = policy better) into
the spread of the training runs' means and the spread over windows of the run-averaged
difference, and prints the normal-approximation power of a two-sided test at level ALPHA for
given numbers of runs and windows and given true leads. Used to size stop 51's pre-registered
Lublin-2 test; the run spread includes some window noise, so the power is a little pessimistic.

    .venv/bin/python experiments/batch_lublin2_power.py EPISODES.csv [EPISODES.csv ...]
"""

import csv
import math
import statistics
import sys
from collections import defaultdict

POLICY, HEURISTIC, METRIC = "ppo", "saf", "avg_bounded_slowdown"
# Holm over the trained rows: the learned row's p-value is at worst doubled (ppo, ppo-sampled).
ALPHA = 0.025
RUNS = (12, 24)
WINDOWS = (1000, 2000, 4000)
LEADS = (10.0, 15.0, 20.0)


def components(path):
    """Mean lead, variance of the runs' means, variance over windows of the run-averaged lead."""
    heuristic, policy = {}, defaultdict(dict)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            episode, value = int(row["episode"]), float(row[METRIC])
            if row["policy"] == HEURISTIC:
                heuristic[episode] = value
            elif row["policy"] == POLICY:
                policy[int(row["run"])][episode] = value
    if not heuristic or not policy:
        sys.exit(f"{path}: no rows of {HEURISTIC!r} or {POLICY!r}")
    episodes = sorted(heuristic)
    leads = {run: [heuristic[e] - by_episode[e] for e in episodes] for run, by_episode in policy.items()}
    run_means = [statistics.fmean(values) for values in leads.values()]
    averaged = [statistics.fmean(values[i] for values in leads.values()) for i in range(len(episodes))]
    return statistics.fmean(run_means), statistics.variance(run_means), statistics.variance(averaged)


def power(lead, standard_error):
    z = statistics.NormalDist()
    critical = z.inv_cdf(1 - ALPHA / 2)
    return z.cdf(lead / standard_error - critical)


def main(paths):
    rows = [components(path) for path in paths]
    var_runs = statistics.fmean(row[1] for row in rows)
    var_windows = statistics.fmean(row[2] for row in rows)
    for path, (lead, vr, vw) in zip(paths, rows):
        print(f"{path}: lead {lead:+.2f}, run sd {math.sqrt(vr):.1f}, window sd {math.sqrt(vw):.1f}")
    print(f"pooled: run sd {math.sqrt(var_runs):.1f}, window sd {math.sqrt(var_windows):.1f}; two-sided level {ALPHA}")
    print("runs windows  s.e.  " + "  ".join(f"power@{lead:+.0f}" for lead in LEADS))
    for runs in RUNS:
        for windows in WINDOWS:
            se = math.sqrt(var_runs / runs + var_windows / windows)
            cells = "  ".join(f"{power(lead, se):9.2f}" for lead in LEADS)
            print(f"{runs:4d} {windows:7d} {se:5.1f}  {cells}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
