"""Why the LP's clone fails on traffic (issue 20, stop 43). For each run directory given, on
the states the per-interval LP drives (one episode of tuning seed 77, 300 intervals):

- outside: the mean share of a region's requests the clone's greedy split sends to sites the
  LP's split leaves empty (below 0.001), and the mean largest share per region, clone and LP;
- copycat: the mean L1 distance per region from the clone's split to the LP's, with the
  observation as it is and with every pair's observed share (the split applied during the
  observed interval) replaced by an even split (only for policies that observe it), beside the
  L1 distance between the LP's consecutive splits.

    .venv/bin/python experiments/traffic_clone_diagnostics.py RUN_DIR [RUN_DIR ...]
"""

import sys

import numpy as np

import planetgym

SEED, INTERVALS = 77, 300


def diagnose(run: str) -> str:
    policy = planetgym.load_policy(run)
    share = [i for i, n in enumerate(policy.feature_names) if n.endswith(".share")]
    env = planetgym.PlanetgymEnv("traffic", config=f"{run}/scenario.toml")
    lp = planetgym.baseline("lp", env)
    obs, _ = env.reset(seed=SEED)
    outside, top, lp_top, l1, l1_even, lp_step = [], [], [], [], [], []
    previous = None
    for _ in range(INTERVALS):
        expert = np.asarray(lp.act())
        clone = np.asarray(policy.act(obs))
        outside.append((clone * (expert < 1e-3)).sum(1).mean())
        top.append(clone.max(1).mean())
        lp_top.append(expert.max(1).mean())
        l1.append(np.abs(clone - expert).sum(1).mean())
        if share:
            even = obs.copy()
            even[share] = 1.0 / expert.shape[1]
            l1_even.append(np.abs(np.asarray(policy.act(even)) - expert).sum(1).mean())
        if previous is not None:
            lp_step.append(np.abs(previous - expert).sum(1).mean())
        previous = expert
        obs, *_ = env.step(expert.astype(np.float32))
    even_text = f", {np.mean(l1_even):.3f} with an even share observed" if share else ""
    return (
        f"{run}: outside the LP's support {np.mean(outside):.3f}; largest share per region "
        f"{np.mean(top):.3f} (LP {np.mean(lp_top):.3f}); L1 to the LP's split {np.mean(l1):.3f}"
        f"{even_text}; the LP's consecutive splits {np.mean(lp_step):.3f}"
    )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for run in sys.argv[1:]:
        print(diagnose(run), flush=True)
