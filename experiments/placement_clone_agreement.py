"""How closely a placement clone that observes each node's fragment growth (`observe_growth`)
follows FGD's own score: along one episode placed by FGD (openb default, inflated to 130 %,
seed 1234), how often the clone's greedy node is one of least growth, its mean excess growth
over the least, and where its growth ranks among the distinct growths of the feasible nodes.

    .venv/bin/python experiments/placement_clone_agreement.py RUN_DIR [RUN_DIR ...]
"""

import sys

import numpy as np

import planetgym

GLOBAL, FEATURES, GROWTH = 6, 10, 9


def agreement(run: str) -> str:
    env = planetgym.PlanetgymEnv("placement", {"inflation_target": 1.3, "observe_growth": True})
    nodes = env.action_space.n
    fgd, clone = planetgym.baseline("fgd", env), planetgym.load_policy(run)
    obs, info = env.reset(seed=1234)
    excess, ranks, done = [], [], False
    while not done:
        mask = info["action_mask"]
        growth = obs[GLOBAL:GLOBAL + nodes * FEATURES].reshape(nodes, FEATURES)[:, GROWTH] * 8000.0
        chosen = growth[clone.act(obs, mask)]
        excess.append(chosen - growth[mask].min())
        ranks.append(int((np.unique(np.round(growth[mask], 3)) < chosen - 1e-3).sum()))
        obs, _, terminated, truncated, info = env.step(fgd.act(obs, mask))
        done = terminated or truncated
    excess, ranks = np.array(excess), np.array(ranks)
    return (f"{run}: {len(excess)} decisions; a node of least growth in {np.mean(excess < 1e-3):.1%}; "
            f"mean excess growth {excess.mean():.1f} milli-GPU; growth rank median {np.median(ranks):.0f}, "
            f"90th percentile {np.percentile(ranks, 90):.0f}")


for run in sys.argv[1:]:
    print(agreement(run))
