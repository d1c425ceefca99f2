"""Scheduling decisions per second: RLScheduler's SchedGym (``HPCSimPickJobs.HPCEnv``, its own
unmodified code) against planetgym's ``batch`` scenario in RLScheduler's conventions, from
Python, with the same policy (shortest requested time among the visible jobs, read from each
env's own observation) on Lublin-1 windows of 1024 jobs with 128 visible. SchedGym runs its
evaluation windows (``reset_for_test(1024)`` after ``seed(1)``: the windows of the paper's Table
V); planetgym as one gymnasium env and as ``make_vec(64)`` on one thread and on one per core
(the default, which steps on the caller's thread while a call's work is too small to hand over). Runs alternate, each for
``--seconds``; ratios are per round (the machine is noisy), then their median.

SchedGym needs a checkout of github.com/DIR-LAB/deep-batch-scheduler (tested at cd433e3); its
TensorFlow import is stubbed (only the training code uses it), ``gym`` is stood in for by
gymnasium's spaces and gym 0.12.5's seeding, as RLScheduler pins.

    git clone https://github.com/DIR-LAB/deep-batch-scheduler /tmp/schedgym
    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench/schedgym_vs_planetgym.py --schedgym /tmp/schedgym
"""

import argparse
import contextlib
import hashlib
import io
import os
import statistics
import struct
import sys
import time
import types

import gymnasium
import numpy as np

import planetgym

CONFIG = {
    "trace": "builtin:lublin_256",
    "compat": "rlscheduler",
    "window_jobs": 1024,
    "visible_jobs": 128,
}


def gym_0_12_5_np_random(seed):
    """gym 0.12.5's ``seeding.np_random`` for an int seed: RandomState seeded by sha512(str)."""
    digest = hashlib.sha512(str(seed % 2**64).encode("utf8")).digest()[:8] + b"\0" * 4
    bigint = sum(v << (32 * i) for i, v in enumerate(struct.unpack("3I", digest)))
    ints = []
    while bigint > 0:
        bigint, mod = divmod(bigint, 2**32)
        ints.append(mod)
    rng = np.random.RandomState()
    rng.seed(ints or [0])
    return rng, seed


def import_schedgym(path):
    gym = types.ModuleType("gym")
    gym.Env = object
    gym.spaces = gymnasium.spaces
    gym.utils = types.ModuleType("gym.utils")
    gym.utils.seeding = types.SimpleNamespace(np_random=gym_0_12_5_np_random)
    sys.modules.update(
        {
            "gym": gym,
            "gym.spaces": gymnasium.spaces,
            "gym.utils": gym.utils,
            "gym.utils.seeding": gym.utils.seeding,
            "tensorflow": types.ModuleType("tensorflow"),
        }
    )
    sys.path.insert(0, path)
    import HPCSimPickJobs

    env = HPCSimPickJobs.HPCEnv(shuffle=False, backfil=False, skip=False, batch_job_slice=0)
    with contextlib.redirect_stdout(io.StringIO()):
        env.my_init(workload_file=os.path.join(path, "data", "lublin_256.swf"))
    env.seed(1)
    return env, HPCSimPickJobs.JOB_FEATURES


def schedgym(env, job_features, seconds):
    decisions, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.reset_for_test(1024, 0)
        obs = env.build_observation()
        done = False
        while not done and time.perf_counter() - start < seconds:
            rows = obs.reshape(-1, job_features)
            valid = np.array([p[0] is not None for p in env.pairs])
            action = int(np.where(valid, rows[:, 1], np.inf).argmin())
            obs, _, done, _ = env.step_for_test(action)
            decisions += 1
    return decisions / (time.perf_counter() - start)


def requested_times(obs, k):
    """Per visible job, its requested time (entity feature 1); +inf where no job is."""
    rows = obs[..., 4 : 4 + 4 * k].reshape(*obs.shape[:-1], k, 4)
    present = obs[..., 4 + 4 * k :] > 0
    return np.where(present, rows[..., 1], np.inf)


def planetgym_single(seconds):
    env = gymnasium.make(planetgym.ENV_IDS["batch"], **CONFIG)
    obs, _ = env.reset(seed=1)
    decisions, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        obs, _, terminated, truncated, _ = env.step(int(requested_times(obs, 128).argmin()))
        decisions += 1
        if terminated or truncated:
            obs, _ = env.reset()
    return decisions / (time.perf_counter() - start)


def planetgym_vec(seconds, threads, copies=64):
    env = planetgym.make_vec("batch", copies, threads=threads, **CONFIG)
    obs, _ = env.reset(seed=1)
    decisions, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        obs, *_ = env.step(requested_times(obs, 128).argmin(axis=-1))
        decisions += copies
    return decisions / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedgym", required=True, help="checkout of DIR-LAB/deep-batch-scheduler")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env, job_features = import_schedgym(os.path.abspath(args.schedgym))
    columns = ("single env", "make_vec(64), 1 thread", "make_vec(64), 1 per core")
    print(f"{'round':<6}{'SchedGym':>10}" + "".join(f"{c:>26}" for c in columns))
    ratios = []
    for r in range(args.rounds):
        base = schedgym(env, job_features, args.seconds)
        ours = (
            planetgym_single(args.seconds),
            planetgym_vec(args.seconds, threads=1),
            planetgym_vec(args.seconds, threads=0),
        )
        ratios.append([v / base for v in ours])
        print(f"{r:<6}{base:>10,.0f}" + "".join(f"{f'{v:,.0f} ({v / base:.1f}x)':>26}" for v in ours))
    medians = [statistics.median(r[k] for r in ratios) for k in range(len(columns))]
    print("median ratio to SchedGym: " + ", ".join(f"{c} {m:.1f}x" for c, m in zip(columns, medians)))


if __name__ == "__main__":
    main()
