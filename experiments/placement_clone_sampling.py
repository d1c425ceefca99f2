"""Tests the tie-break explanation of experiments/placement_clone_agreement.py: the FGD clone
that observes each node's growth, acting greedily (ties to the lowest node index) and drawing
its actions from its own distribution (ties broken at random, as FGD breaks them), against FGD
on the same episodes (openb default inflated to 130 %, seed 1234, one training run).

    .venv/bin/python experiments/placement_clone_sampling.py RUN_DIR [EPISODES]
"""

import sys

import planetgym

run, episodes = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10
config = {"inflation_target": 1.3, "observe_growth": True}
sampling = planetgym.load_policy(run, mode="sample", seed=1)


def sampled(obs, mask):
    return sampling.act(obs, mask)


table = planetgym.evaluate({"greedy": planetgym.load_policy(run), "sampled": sampled, "fgd": "fgd"},
                           "placement", episodes=episodes, seed=1234, config=config, progress=False)
print(f"{run}, {episodes} episodes of seed 1234: mean unallocated GPUs")
print(table.groupby("policy")["unallocated_gpus"].mean().round(1).to_string())
