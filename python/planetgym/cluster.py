"""Beyond one machine, on Ray: hyper-parameter sweeps of the Rust trainer, evaluations spread
over a cluster's workers, and rollout workers for planetgym's PPO
(``planetgym.train(..., rollout_workers=N)``).

Ray is an optional dependency: ``pip install 'planetgym[ray]'`` (it pins the Ray release and
the gymnasium version RLlib supports). Start a cluster with ``ray start --head`` on one machine
and ``ray start --address HEAD:6379`` on each other one, then pass ``address="auto"`` (on a
cluster machine) or the head's address. ``address=None`` starts a private Ray instance on this
machine, so the same code runs on a laptop. Every node needs this package installed, and the
data files a config names at the same paths.

Sweeps use plain Ray tasks, not Ray Tune: a trial is one call of the Rust trainer, whose run
directory is already resumable from its checkpoint and logs TensorBoard events, so Tune's
trial checkpointing and storage would duplicate it; and early stopping (ASHA) would leave
points with unequal training budgets, which the paired evaluation at the end cannot compare
fairly.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import tomllib
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from planetgym import _core
from planetgym._config import ConfigLike, _merge, count, to_toml

PathLike = str | os.PathLike

#: Bounds on what a user sets: a sweep's trials, the CPUs a task asks for, and the bytes of
#: trained policies shipped to evaluation workers.
MAX_TRIALS = 10_000
MAX_CPUS_PER_TASK = 1024
MAX_SHIPPED_BYTES = 512 * 1024 * 1024
#: The file a finished trial writes into its run directory (a rerun of the sweep skips it).
TRIAL_FILE = "trial.json"


def ray_module() -> Any:
    """The ``ray`` package, or an ImportError saying how to install it."""
    try:
        import ray
    except ImportError as e:
        raise ImportError(
            "this needs Ray: pip install 'planetgym[ray]' (scripts/setup.sh installs it)"
        ) from e
    return ray


def connect(address: str | None = None) -> Any:
    """Connects this process to Ray once: to the cluster at ``address`` ("auto" finds the one
    this machine belongs to), or to a private local instance when None. A process already
    connected (``ray.init`` called by the user) stays on its cluster."""
    ray = ray_module()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    return ray


def _task(function: Any, cpus: int) -> Any:
    """``function`` as a Ray task that asks for ``cpus`` CPUs and runs Rust on that many threads
    (results do not depend on the thread count)."""
    cpus = count("cpus", cpus)
    if not 1 <= cpus <= MAX_CPUS_PER_TASK:
        raise ValueError(f"cpus per task = {cpus}: must be in 1..={MAX_CPUS_PER_TASK}")
    return ray_module().remote(
        num_cpus=cpus, runtime_env={"env_vars": {"RAYON_NUM_THREADS": str(cpus)}}
    )(function)


# ---- spreading an evaluation ---------------------------------------------------------------


def _pack(directory: Path, names: list[str]) -> bytes:
    """The files ``names`` (relative to ``directory``) as a tar archive, so that a trained policy
    reaches workers on machines that do not share this one's disk."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in names:
            tar.add(directory / name, arcname=name)
    return buffer.getvalue()


def _policy_files(directory: Path) -> list[str]:
    """What loading a trained policy directory reads: its ``policy.json``, or each training
    run's (``run-K/policy.json``) for a directory trained with several seeds."""
    if (directory / "policy.json").exists():
        return ["policy.json"]
    runs = []
    while (directory / f"run-{len(runs)}" / "policy.json").exists():
        runs.append(f"run-{len(runs)}/policy.json")
    if not runs:
        raise ValueError(f"{directory} holds no policy.json (nor run-0/policy.json)")
    return runs


def _export_files(directory: Path) -> list[str]:
    """An export's files: its manifest and everything beside it."""
    return sorted(p.name for p in directory.iterdir() if p.is_file())


def _unpack(archive: bytes, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        tar.extractall(directory, filter="data")
    return directory


def _evaluate_share(
    scenario: str,
    text: str,
    origin: str,
    baselines: list[str] | None,
    policies: list[tuple[str, bytes]],
    exports: list[tuple[str, bytes]],
    callables: list[tuple[str, Any]],
    guide: str | None,
    first: int,
    episodes: int,
    seed: int,
    reference: str | None,
) -> dict:
    """One worker's share of an evaluation: episodes ``first..first + episodes``."""
    with tempfile.TemporaryDirectory(prefix="planetgym-eval-") as tmp:
        root = Path(tmp)
        return _core.evaluate(
            scenario,
            text,
            origin,
            baselines=baselines,
            policies=[(n, _unpack(a, root / f"policy-{i}")) for i, (n, a) in enumerate(policies)],
            exports=[(n, _unpack(a, root / f"export-{i}")) for i, (n, a) in enumerate(exports)],
            callables=callables,
            guide=guide,
            episodes=episodes,
            first_episode=first,
            seed=seed,
            reference=reference,
        )


def shares(episodes: int, workers: int) -> list[tuple[int, int]]:
    """(first episode, episodes) of each worker: contiguous, as equal as whole episodes allow."""
    workers = max(1, min(workers, episodes))
    base, extra = divmod(episodes, workers)
    out, first = [], 0
    for w in range(workers):
        n = base + (w < extra)
        out.append((first, n))
        first += n
    return out


def evaluate_spread(
    cluster: str | bool,
    workers: int | None,
    scenario: str,
    text: str,
    origin: str,
    baselines: list[str] | None,
    policies: list[tuple[str, Path]],
    exports: list[tuple[str, Path]],
    callables: list[tuple[str, Any]],
    guide: str | None,
    episodes: int | None,
    seed: int,
    reference: str | None,
) -> dict:
    """``_core.evaluate``'s result, computed by Ray tasks that each run a contiguous share of
    the episodes. Every episode's seed depends on its index alone and rows are put back in the
    local order, so the result equals a local run's."""
    if episodes is None:
        raise ValueError(
            "a spread evaluation needs episodes: the pilot that sizes it (episodes=None) runs "
            "locally; run it first, then spread the number it chose"
        )
    ray = connect(None if cluster is True else str(cluster))
    if workers is None:
        workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
    workers = count("workers", workers)
    if workers < 1:
        raise ValueError(f"workers = {workers}: must be at least 1")
    shipped_policies = [(n, _pack(p, _policy_files(p))) for n, p in policies]
    shipped_exports = [(n, _pack(p, _export_files(p))) for n, p in exports]
    size = sum(len(a) for _, a in shipped_policies + shipped_exports)
    if size > MAX_SHIPPED_BYTES:
        raise ValueError(
            f"the policies to ship weigh {size / 2**20:.0f} MiB, above the "
            f"{MAX_SHIPPED_BYTES / 2**20:.0f} MiB a spread evaluation sends to each worker"
        )
    task = _task(_evaluate_share, 1)
    common = (ray.put(shipped_policies), ray.put(shipped_exports), ray.put(callables))
    futures = [
        task.remote(scenario, text, origin, baselines, *common, guide, first, n, seed, reference)
        for first, n in shares(episodes, workers)
    ]
    parts = ray.get(futures)
    return _merge_shares(parts)


def _merge_shares(parts: list[dict]) -> dict:
    """The shares' rows in the local order: (policy, training run) blocks as the first share
    lists them, episodes ascending within each block."""
    frames = [pd.DataFrame(p["columns"]) for p in parts]
    blocks = list(dict.fromkeys(zip(frames[0]["policy"], frames[0]["run"])))
    order = {block: i for i, block in enumerate(blocks)}
    merged = pd.concat(frames, ignore_index=True)
    merged["_block"] = [order[(p, r)] for p, r in zip(merged["policy"], merged["run"])]
    merged = merged.sort_values(["_block", "episode"], kind="stable").drop(columns="_block")
    warnings = [p["warning"] for p in parts]
    return {
        "columns": {c: merged[c].tolist() for c in merged.columns},
        "metrics": parts[0]["metrics"],
        "fair_baselines": parts[0]["fair_baselines"],
        # Every policy scored the same on every episode only if it did so in every share.
        "warning": warnings[0] if all(w is not None for w in warnings) else None,
    }


# ---- rollout workers for planetgym's PPO ----------------------------------------------------


class _RolloutActor:
    """A Ray actor holding rollout worker ``index`` of a distributed training run."""

    def __init__(self, config: str, index: int, workers: int, origin: str) -> None:
        self.worker = _core.RolloutWorker(config, index, workers, origin)

    def ready(self) -> None:
        """Returns once the worker is built (raising what building it raised)."""

    def collect(self, policy: bytes, update: int) -> bytes:
        return self.worker.collect(policy, update)


def rollout_workers(config: str, origin: str, workers: int,
                    address: str | None) -> tuple[Any, Any]:
    """``workers`` Ray actors, each stepping its share of the run's copies, as the learner's
    rollout function ``(policy, update) -> [batch per worker]``, and a function that stops
    them."""
    workers = count("rollout_workers", workers)
    ray = connect(address)
    actor = _task(_RolloutActor, 1)
    actors = [actor.remote(config, k, workers, origin) for k in range(workers)]

    def stop() -> None:
        for a in actors:
            ray.kill(a)

    try:
        ray.get([a.ready.remote() for a in actors])
    except ray.exceptions.RayActorError as e:
        stop()
        # Ray's message ends with the worker's own exception ("ValueError: ...").
        raise ValueError(f"a rollout worker could not start: {str(e).strip().splitlines()[-1]}") from None

    def collect(policy: bytes, update: int) -> list[bytes]:
        shared = ray.put(policy)
        return ray.get([a.collect.remote(shared, update) for a in actors])

    return collect, stop


# ---- sweeps -------------------------------------------------------------------------------


@dataclass
class SweepResult:
    """What ``sweep`` wrote and measured."""

    out: Path
    #: One row per (point, seed): the point's label and values, the run directory, whether
    #: this call trained, resumed or found it finished, updates, env steps, wall time and SPS.
    trials: pd.DataFrame
    #: The final evaluation of every point (one method with a run per seed) against the
    #: scenario's baselines on identical fresh episodes: per-episode rows, the paired table,
    #: and rliable's aggregates (IQM, probability of improvement) with their intervals.
    comparison: Any


def _nested(key: str, value: Any) -> dict:
    """``"ppo.learning_rate", 1e-3`` as ``{"ppo": {"learning_rate": 1e-3}}``."""
    out: Any = value
    for part in reversed(key.split(".")):
        out = {part: out}
    return out


def _label(params: dict[str, Any]) -> str:
    """A point's directory name, e.g. ``learning_rate=0.001,hidden=64``."""
    parts = []
    for key, value in params.items():
        text = json.dumps(value) if not isinstance(value, str) else value
        parts.append(f"{key.split('.')[-1]}={text}")
    return re.sub(r"[^A-Za-z0-9._=,+-]", "_", ",".join(parts)) or "default"


def points(grid: Mapping[str, list]) -> list[tuple[str, dict[str, Any]]]:
    """Every combination of the grid's values, as (label, {dotted key: value}), in the grid's
    order (the last key varies fastest)."""
    if not isinstance(grid, Mapping):
        raise ValueError(f"grid must be a dict of config field -> list of values, not {type(grid).__name__}")
    for key, values in grid.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"grid key {key!r}: must be a config field such as 'ppo.learning_rate'")
        if key.split(".")[0] in ("env", "scenario"):
            raise ValueError(
                f"grid key {key!r}: a sweep compares training settings on one scenario config; "
                "sweep scenarios or their fields with separate sweeps"
            )
        if key == "seed":
            raise ValueError("grid key 'seed': seeds come from the seeds argument")
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"grid[{key!r}] must be a non-empty list of values")
    combos = list(product(*grid.values())) if grid else [()]
    out = [(_label(p := dict(zip(grid.keys(), combo))), p) for combo in combos]
    labels = [label for label, _ in out]
    if len(set(labels)) != len(labels):
        raise ValueError("two grid points have the same label: give each key distinct values")
    return out


def _run_files(directory: Path) -> bytes:
    """A finished run directory as a tar archive, for the driver's disk (a trial may run on a
    machine that does not share it). The checkpoint stays where the run trained."""
    names = [str(p.relative_to(directory)) for p in sorted(directory.rglob("*"))
             if p.is_file() and p.name != "checkpoint.json"]
    return _pack(directory, names)


def _train_trial(text: str, origin: str, run_dir: str, command: list[str]) -> dict:
    """One trial: trains (or resumes) the run in ``run_dir``, records that it finished, and
    returns its record with the run's files."""
    directory = Path(run_dir)
    done = directory / TRIAL_FILE
    if done.exists():
        return {**json.loads(done.read_text()), "status": "finished before",
                "files": _run_files(directory)}
    resume = (directory / "checkpoint.json").exists()
    if not resume and directory.exists():
        # Stopped before its first checkpoint: nothing to keep.
        shutil.rmtree(directory)
    start = time.time()
    out = _core.train(text, directory, origin, resume, None, seeds=1, command=command)
    if out["interrupted"]:
        raise RuntimeError(f"trial {run_dir} was interrupted; rerun the sweep to resume it")
    record = {
        "updates": out["updates"],
        "env_steps": out["env_steps"],
        "wall_s": time.time() - start,
        "sps": (out["last"] or {}).get("charts/sps"),
    }
    done.write_text(json.dumps(record))
    return {**record, "status": "resumed" if resume else "trained", "files": _run_files(directory)}


def sweep(
    config: ConfigLike,
    grid: Mapping[str, list] | None = None,
    seeds: int = 1,
    address: str | None = None,
    out: PathLike | None = None,
    cpus_per_trial: int = 1,
    episodes: int = 30,
    eval_seed: int | None = None,
    reference: str | None = None,
    **overrides: Any,
) -> SweepResult:
    """Trains every (grid point x seed) as a Ray task calling the Rust trainer, then evaluates
    every point against the scenario's baselines on identical fresh episodes, spread over the
    cluster.

    Args:
        config: the training config (dict, or path to a TOML file) shared by every trial.
        grid: config fields (dotted: ``"ppo.learning_rate"``, ``"hidden"``) to the values to
            try; every combination is a point. Scenario fields (``env``) cannot vary.
        seeds: training runs per point, seeds ``seed .. seed + seeds - 1`` (the config's
            ``seed``): trial K of a point is exactly ``planetgym train`` with seed ``seed + K``.
        address: the Ray cluster (see the module's docstring); None starts a local one.
        out: the sweep's directory (default ``runs/sweep-<config stem or scenario>``): point P's
            run K is ``out/P/run-K``, a run directory with its TensorBoard events in ``tb/``
            (``tensorboard --logdir out``). Trials on machines that do not share this disk
            send their run directories back (all but the checkpoint). Calling ``sweep`` again
            with the same arguments skips finished trials and resumes interrupted ones from
            their checkpoints (which stay where the trial trained: resuming needs a shared disk
            or the same machine).
        cpus_per_trial: the CPUs each trial asks Ray for and trains on (``threads``).
        episodes: evaluation episodes (0 skips the evaluation).
        eval_seed: the evaluation's first seed (default: the config's ``eval.seed``, which
            training never uses).
        reference: the policy the comparison is against (default: the best fair baseline).
        **overrides: config fields merged over ``config`` for every trial.

    Writes ``trials.csv``, and with an evaluation ``episodes.csv``, ``table.csv`` and
    ``aggregate.csv``, into ``out``.
    """
    from planetgym.compare import compare
    from planetgym.training import baselines, evaluate

    seeds, episodes = count("seeds", seeds), count("episodes", episodes)
    if not 1 <= seeds <= 100:
        raise ValueError(f"seeds = {seeds}: must be in 1..=100")
    if episodes < 0:
        raise ValueError(f"episodes = {episodes}: must be at least 0")
    grid_points = points(grid or {})
    if len(grid_points) * seeds > MAX_TRIALS:
        raise ValueError(f"{len(grid_points)} points x {seeds} seeds is above {MAX_TRIALS} trials")
    text, origin = to_toml(config, overrides)
    base = tomllib.loads(text)
    scenario = base.get("scenario", "traffic")
    if out is None:
        stem = Path(config).stem if isinstance(config, (str, os.PathLike)) else scenario
        out = Path("runs") / f"sweep-{stem}"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    ray = connect(address)
    task = _task(_train_trial, cpus_per_trial)
    trials, futures = [], []
    for label, params in grid_points:
        for k in range(seeds):
            fields = base
            for key, value in params.items():
                fields = _merge(fields, _nested(key, value))
            # The evaluation happens once, after every trial, on identical episodes.
            fields = _merge(fields, {"seed": base.get("seed", 0) + k, "threads": cpus_per_trial,
                                     "eval": {"episodes": 0}})
            trial_text, _ = to_toml(fields)
            run_dir = out / label / f"run-{k}"
            command = [sys.executable, f"planetgym.sweep point {label} seed {k} of {out}"]
            trials.append({"point": label, **params, "seed_index": k, "run_dir": str(run_dir)})
            futures.append(task.remote(trial_text, origin, str(run_dir), command))
    records = ray.get(futures)
    for trial, record in zip(trials, records):
        files = record.pop("files")
        run_dir = Path(trial["run_dir"])
        if not (run_dir / TRIAL_FILE).exists():  # trained on a machine without this disk
            _unpack(files, run_dir)
    table = pd.DataFrame([{**t, **r} for t, r in zip(trials, records)])
    table.to_csv(out / "trials.csv", index=False)

    comparison = None
    if episodes > 0:
        # Every trial ran the same scenario config (the grid cannot change it).
        scenario_config = tomllib.loads((out / grid_points[0][0] / "run-0" / "scenario.toml").read_text())
        contenders: dict[str, Any] = {name: name for name in baselines(scenario, scenario_config)}
        contenders.update({label: str(out / label) for label, _ in grid_points})
        if eval_seed is None:
            eval_seed = base.get("eval", {}).get("seed", 1000)
        results = evaluate(contenders, scenario=scenario, episodes=episodes, seed=eval_seed,
                           config=scenario_config, reference=reference, progress=False,
                           cluster=True)
        comparison = compare(results=results, scenario=scenario, reference=reference)
        results.to_csv(out / "episodes.csv", index=False)
        comparison.table.to_csv(out / "table.csv", index=False)
        comparison.aggregate.to_csv(out / "aggregate.csv", index=False)
    return SweepResult(out=out, trials=table, comparison=comparison)


def _grid_value(text: str) -> Any:
    """A grid value from the command line: a TOML value (``3e-4``, ``true``, ``"sjf"``), else
    the text itself as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def sweep_command(argv: list[str]) -> int:
    """``planetgym sweep``: ``sweep`` from the command line."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="planetgym sweep",
        description="Train every (grid point x seed) of a config as Ray tasks, then evaluate "
        "every point against the baselines on identical fresh episodes.",
        epilog="example: planetgym sweep experiments/configs/ppo_capacity.toml "
        "--grid ppo.learning_rate=1e-4,3e-4 --grid hidden=64,128 --seeds 3 --address auto",
    )
    parser.add_argument("config", help="training config (TOML)")
    parser.add_argument("--grid", action="append", default=[], metavar="FIELD=V1,V2,...",
                        help="a config field and the values to try (repeat for more fields)")
    parser.add_argument("--seeds", type=int, default=1, help="training runs per point")
    parser.add_argument("--address", default=None,
                        help="Ray cluster address ('auto' on a cluster machine); default: a local Ray")
    parser.add_argument("--out", default=None, help="sweep directory (default runs/sweep-<config stem>)")
    parser.add_argument("--cpus-per-trial", type=int, default=1)
    parser.add_argument("--episodes", type=int, default=30, help="evaluation episodes (0: none)")
    parser.add_argument("--eval-seed", type=int, default=None)
    parser.add_argument("--reference", default=None, help="policy to compare against")
    args = parser.parse_args(argv)
    grid: dict[str, list] = {}
    for item in args.grid:
        field, sep, values = item.partition("=")
        if not sep or not values:
            parser.error(f"--grid {item!r}: expected FIELD=V1,V2,...")
        grid[field] = [_grid_value(v) for v in values.split(",")]
    try:
        result = sweep(args.config, grid, seeds=args.seeds, address=args.address, out=args.out,
                       cpus_per_trial=args.cpus_per_trial, episodes=args.episodes,
                       eval_seed=args.eval_seed, reference=args.reference)
    except (ValueError, OSError, ImportError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(result.trials.to_string(index=False))
    if result.comparison is not None:
        columns = [c for c in ("policy", "runs", "iqm", "iqm_low", "iqm_high", "p_improvement",
                               "p_improvement_low", "p_improvement_high")
                   if c in result.comparison.aggregate.columns]
        print(result.comparison.aggregate[columns].to_string(index=False))
    print(f"files in {result.out} (tensorboard --logdir {result.out})")
    return 0
