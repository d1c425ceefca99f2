"""Python-side env steps per second: one single env, ``planetgym.make_vec`` with 64 copies, and
gymnasium's ``SyncVectorEnv`` of 64 single envs, measured in one run (ratios are what to read:
the machine is noisy).

    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench/python_sps.py [--seconds 5]
"""

import argparse
import time

import gymnasium
import numpy as np

import planetgym

CONFIGS = {
    "traffic": {},
    "batch": {},
}


def actions_for(space, masks, rng):
    if masks is None:
        return space.sample()
    # A uniformly random legal choice per copy.
    scores = rng.random(masks.shape) * masks
    return scores.argmax(axis=-1)


def measure(make_step, seconds):
    step, n = make_step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        steps += n
    return steps / (time.perf_counter() - start)


def single(scenario, config):
    env = gymnasium.make(planetgym.ENV_IDS[scenario], **config)
    env.action_space.seed(0)
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=0)
    state = {"info": info}

    def step():
        mask = state["info"].get("action_mask")
        action = env.action_space.sample() if mask is None else int(actions_for(None, mask[None], rng)[0])
        _, _, terminated, truncated, state["info"] = env.step(action)
        if terminated or truncated:
            _, state["info"] = env.reset()

    return step, 1


def vector(env):
    env.action_space.seed(0)
    rng = np.random.default_rng(0)
    _, infos = env.reset(seed=0)
    state = {"infos": infos}

    def step():
        masks = state["infos"].get("action_mask")
        *_, state["infos"] = env.step(actions_for(env.action_space, masks, rng))

    return step, env.num_envs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"{'scenario':<10}{'single env':>14}{'make_vec(64)':>16}{'SyncVectorEnv(64)':>20}{'vec/sync':>10}")
    for scenario, config in CONFIGS.items():
        one = measure(lambda: single(scenario, config), args.seconds)
        rust = measure(lambda: vector(planetgym.make_vec(scenario, 64, **config)), args.seconds)
        sync_env = gymnasium.vector.SyncVectorEnv(
            [lambda: gymnasium.make(planetgym.ENV_IDS[scenario], **config)] * 64
        )
        sync = measure(lambda: vector(sync_env), args.seconds)
        print(f"{scenario:<10}{one:>14,.0f}{rust:>16,.0f}{sync:>20,.0f}{rust / sync:>9.1f}x")


if __name__ == "__main__":
    main()
