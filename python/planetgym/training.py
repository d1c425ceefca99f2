"""Training, trained policies and evaluation tables from Python, run by the Rust trainer and
evaluator."""

from __future__ import annotations

import json
import os
import sys
import time
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from planetgym import _core
from planetgym._config import ConfigLike, count, to_toml
from planetgym._spaces import action_space, flat_actions, unflatten_actions
from planetgym.envs import feature_names
from planetgym.shadow import ShadowPolicy

PathLike = str | os.PathLike


@dataclass
class TrainResult:
    """How a training run ended."""

    run_dir: Path
    #: Each training run's directory (``run_dir`` itself for one seed).
    runs: list[Path]
    updates: int
    env_steps: int
    #: Stopped before ``total_steps`` (callback returned False, or KeyboardInterrupt); the run
    #: directory holds a checkpoint: continue with ``train(run_dir=..., resume=True)``.
    interrupted: bool
    #: The last update's report (losses, returns, every scenario metric, SPS, learning rate);
    #: a value that update did not have (the return when no episode ended) is None.
    last: dict | None
    #: The final evaluation against the baselines: per (policy, metric) the mean and ci95 over
    #: ``episodes``, and the paired comparison with the reference (difference, p_improvement
    #: and their intervals, wins/ties/losses, p_value, p_holm, verdict), or None when
    #: interrupted or ``eval.episodes = 0``.
    evaluation: pd.DataFrame | None

    def policy(self, **kwargs: Any) -> "Policy":
        """The trained policy (``load_policy(self.run_dir, ...)``)."""
        return load_policy(self.run_dir, **kwargs)


def _progress(report: dict) -> None:
    ret = report["charts/episode_return"]
    sys.stderr.write(
        f"\rupdate {report['updates']}/{report['total_updates']}  "
        f"{report['env_steps']} steps  {report['charts/sps']:.0f} steps/s  "
        f"return {'-' if ret is None else format(ret, '.4g')}   "
    )
    sys.stderr.flush()


def train(
    config: ConfigLike = None,
    run_dir: PathLike | None = None,
    resume: bool = False,
    callback: Callable[[dict], bool | None] | None = None,
    progress: bool = False,
    seeds: int = 1,
    rollout_workers: int = 0,
    address: str | None = None,
    **overrides: Any,
) -> TrainResult:
    """Trains a PPO policy with the Rust trainer (the GIL is released while it runs).

    Args:
        config: the training config (dict, or path to a TOML file such as
            ``experiments/configs/ppo_batch.toml``); fields as ``planetgym train --config``.
            With ``resume=True`` it may be None (the run directory's saved config is used).
        run_dir: where the run writes its files (default ``runs/<config stem>`` for a file,
            ``runs/<scenario>-<time>`` for a dict).
        resume: continue the run in ``run_dir`` from its checkpoint.
        callback: called with a report dict after every update; returning False stops the
            run after that update, with a checkpoint. An exception it raises stops the run the
            same way and is then re-raised.
        progress: print a progress line after every update.
        seeds: independent training runs (seeds ``seed``, ``seed + 1``, ...; run K in
            ``run_dir/run-K`` when more than one), evaluated together: ``load_policy`` and
            ``evaluate`` read such a directory as one method with one run per seed.
        rollout_workers: with N > 0, the rollouts come from N Ray actors (``pip install
            'planetgym[ray]'``) on the cluster at ``address`` (None: a local Ray), each stepping
            ``num_envs / N`` copies under the learner's current policy; the learner updates on
            their batches as on its own. Deterministic for a fixed N, but not equal to the run
            in one process (other episodes); one seed, and not resumable (the workers' episodes
            are not checkpointed). See ``planetgym.cluster``.
        **overrides: config fields merged over ``config``.

    A KeyboardInterrupt (Ctrl-C, or a notebook's interrupt) stops the run after the current
    update with a checkpoint; the result says ``interrupted``.
    """
    if resume and config is None:
        if run_dir is None:
            raise ValueError("resume=True needs run_dir")
        config = Path(run_dir) / "config.toml"
    text, origin = to_toml(config, overrides)
    if run_dir is None:
        if isinstance(config, (str, os.PathLike)):
            run_dir = Path("runs") / Path(config).stem
        else:
            scenario = tomllib.loads(text).get("scenario", "run")
            run_dir = Path("runs") / f"{scenario}-{time.strftime('%Y%m%d-%H%M%S')}"

    def on_update(report: dict) -> bool | None:
        if progress:
            _progress(report)
        return callback(report) if callback is not None else None

    seeds = count("seeds", seeds)
    # What started the run, recorded in its sessions.jsonl: the Python process and the call.
    command = [sys.executable, *sys.argv, f"planetgym.train(config={config!r}, resume={resume}, "
               f"seeds={seeds}, **{overrides!r})"]
    rollouts, stop_workers = None, None
    rollout_workers = count("rollout_workers", rollout_workers)
    if rollout_workers < 0 or (address is not None and rollout_workers == 0):
        raise ValueError(
            f"rollout_workers = {rollout_workers}: must be 0 (train in this process) or more, "
            "and address is only for rollout workers"
        )
    if rollout_workers > 0:
        from planetgym.cluster import rollout_workers as start_workers

        rollouts, stop_workers = start_workers(text, origin, rollout_workers, address)
    try:
        out = _core.train(text, Path(run_dir), origin, resume, on_update, seeds=seeds,
                          command=command, rollouts=rollouts)
    finally:
        if stop_workers is not None:
            stop_workers()
    if progress:
        sys.stderr.write("\n")
    if out["keyboard_interrupt"]:
        sys.stderr.write(
            f"training interrupted after update {out['updates']}, checkpoint saved; continue with "
            f"planetgym.train(run_dir={str(out['run_dir'])!r}, resume=True)\n"
        )
    evaluation = out["evaluation"]
    if evaluation is not None:
        evaluation = pd.DataFrame(json.loads(evaluation))
    return TrainResult(
        run_dir=Path(run_dir),
        runs=[Path(r) for r in out["runs"]],
        updates=out["updates"],
        env_steps=out["env_steps"],
        interrupted=out["interrupted"],
        last=out["last"],
        evaluation=evaluation,
    )


class Policy:
    """A trained policy, loaded from a run directory (or any directory with ``policy.json``).

    ``act`` and ``act_batch`` take encoded observations, as the planetgym envs return them,
    and give actions of the env's action space. Pass the env's ``info["action_mask"]`` for
    masked scenarios, so the policy chooses among legal actions only.
    """

    def __init__(self, path: PathLike, name: str = "ppo", mode: str = "greedy", seed: int = 0) -> None:
        self._core = _core.Policy(Path(path), name, mode, seed)
        self.path = Path(path)
        self.name = name
        self.mode = mode
        self.description: dict = self._core.describe()
        self.scenario: str = self.description["scenario"]
        self.action_space = action_space(self.description)
        self.obs_len: int = self.description["obs_len"]

    def __repr__(self) -> str:
        return f"Policy({str(self.path)!r}, name={self.name!r}, scenario={self.scenario!r})"

    @property
    def feature_names(self) -> list[str]:
        return feature_names(self.description)

    def _rows(self, obs: Any) -> np.ndarray:
        try:
            rows = np.ascontiguousarray(obs, dtype=np.float32)
        except (ValueError, TypeError) as e:
            raise ValueError(f"observations are not a float array: {e}") from e
        if rows.ndim != 2 or rows.shape[1] != self.obs_len:
            raise ValueError(f"observations have shape {rows.shape}, expected (B, {self.obs_len})")
        return rows

    def forward(self, obs: Any) -> tuple[np.ndarray, np.ndarray]:
        """The network's raw outputs for observations ``[B, obs_len]``: action parameters
        ``[B, outputs]`` (logits or means) and values ``[B]``, normalised inputs included: what
        an exported ``policy.onnx`` reproduces."""
        return self._core.forward(self._rows(obs))

    def act_batch(self, obs: Any, masks: Any = None) -> np.ndarray:
        """Actions ``[B, ...]`` for observations ``[B, obs_len]`` (masks ``[B, mask_len]``)."""
        rows = self._rows(obs)
        if masks is not None:
            masks = np.ascontiguousarray(masks, dtype=bool)
            if masks.ndim != 2:
                raise ValueError(f"masks have shape {masks.shape}, expected (B, mask_len)")
        return unflatten_actions(self.action_space, self._core.act_batch(rows, masks))

    def act(self, obs: Any, mask: Any = None) -> Any:
        """The action for one observation ``[obs_len]`` (an int for ``Discrete`` spaces)."""
        rows = np.asarray(obs, dtype=np.float32)
        if rows.shape != (self.obs_len,):
            raise ValueError(f"observation has shape {rows.shape}, expected ({self.obs_len},)")
        masks = None if mask is None else np.asarray(mask, dtype=bool)[None, :]
        action = self.act_batch(rows[None, :], masks)[0]
        return int(action) if action.ndim == 0 else action


def load_policy(path: PathLike, name: str = "ppo", mode: str = "greedy", seed: int = 0) -> Policy:
    """The policy saved in ``path`` (a training run directory or a committed policy such as
    ``experiments/policies/batch``). ``mode="sample"`` draws actions (seeded by ``seed``)."""
    return Policy(path, name=name, mode=mode, seed=seed)


def baselines(scenario: str, config: ConfigLike = None, **overrides: Any) -> list[str]:
    """Names of ``scenario``'s baselines (oracles, which see hidden information and give
    bounds rather than fair comparisons, have names that say so)."""
    text, origin = to_toml(config, overrides, scenario)
    return [name for name, _ in _core.baselines(scenario, text, origin)]


PolicyLike = Any
"""What ``evaluate`` runs: a baseline name (parameters allowed, e.g. ``"reactive@0.7"``), a
``Policy``, a directory of a trained policy, a Stable-Baselines3 / sb3-contrib model, or any
callable ``(obs, mask) -> action``."""


def _callable_name(p: Any, k: int) -> str:
    """A row name for an unnamed model or function: its ``__name__``, else its type and place."""
    if hasattr(p, "predict"):  # a Stable-Baselines3 model
        return f"{type(p).__name__.lower()}-{k}"
    name = getattr(p, "__name__", "")
    return name if isinstance(name, str) and name.isidentifier() else f"callable-{k}"


def _sb3_callable(model: Any) -> Callable[[np.ndarray, np.ndarray | None], Any]:
    """A Stable-Baselines3 model's greedy action (MaskablePPO gets the mask)."""
    import inspect

    masked = "action_masks" in inspect.signature(model.predict).parameters

    def act(obs: np.ndarray, mask: np.ndarray | None) -> Any:
        if masked and mask is not None:
            return model.predict(obs, deterministic=True, action_masks=mask)[0]
        return model.predict(obs, deterministic=True)[0]

    return act


def _flattened(space: Any, function: Callable[..., Any], name: str) -> Callable[..., np.ndarray]:
    """``function``'s actions as the flat float64 rows the Rust evaluator takes."""

    def act(obs: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        try:
            return flat_actions(space, function(obs, mask))
        except ValueError as e:
            raise ValueError(f"policy {name}: {e}") from e

    return act


def _progress_bar(label: str) -> Callable[[int, int], None]:
    """tqdm in a notebook or terminal, a plain line every 10 s in logs."""
    from tqdm.auto import tqdm

    bar = tqdm(total=0, desc=label, unit="step", mininterval=0.5 if sys.stderr.isatty() else 10.0,
               file=sys.stderr, leave=False)

    def update(done: int, total: int) -> None:
        if total != bar.total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)

    update.close = bar.close  # type: ignore[attr-defined]
    return update


def _evaluate_here(scenario: str, text: str, origin: str, progress: bool, **job: Any) -> dict:
    """``_core.evaluate`` of ``job`` in this process, with a progress bar."""
    bar = _progress_bar(f"evaluate {scenario}") if progress else None
    try:
        return _core.evaluate(scenario, text, origin, progress=bar, **job)
    finally:
        if bar is not None:
            bar.close()  # type: ignore[attr-defined]


def evaluate(
    policies: Iterable[PolicyLike] | dict[str, PolicyLike] | PolicyLike | None = None,
    scenario: str | None = None,
    episodes: int | None = None,
    seed: int = 0,
    config: ConfigLike = None,
    reference: str | None = None,
    progress: bool = True,
    cluster: str | bool | None = None,
    workers: int | None = None,
    guide: str | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Runs policies on identical seeded episodes and returns one row per (policy, episode)
    with the episode return and every scenario metric.

    ``policies`` holds baseline names (see ``baselines``; parameterised ones such as
    ``"greedy-spillover@0.6"``, ``"reactive@0.7"`` or
    ``"forecast+30%:holt-winters-additive(24)"`` too), ``Policy`` objects, directories of trained
    policies, ONNX exports (a directory with ``manifest.json``, or a ``ShadowPolicy``; run by
    planetgym's ONNX interpreter on the checked graph), Stable-Baselines3 / sb3-contrib models (greedy actions; MaskablePPO gets the
    mask) and any callable ``(obs, mask) -> action`` (``obs`` as the gymnasium env gives it,
    ``mask`` the legal actions or None); one of them alone is read as a list of one, and a dict
    names each policy by its key. None runs every baseline. A list may not be empty or name a
    policy twice. Every policy runs through the same Rust evaluator on the same episodes;
    callables are called one at a time but episodes interleave, so they should keep no
    per-episode state. ``scenario``
    defaults to the trained policies' scenario, and ``config`` to the config they were
    trained on. ``episodes=None`` runs the scenario's pilot and extends it until the paired
    comparisons with ``reference`` (default: the best fair baseline) are precise enough (as
    ``planetgym baselines`` does without ``--episodes``). ``progress`` shows a progress bar
    (tqdm; plain lines every 10 s when stderr is not a terminal). ``attrs`` of the result:
    ``scenario``, ``fair_baselines`` (the reference candidates) and ``metrics`` (per metric:
    ``unit``, ``better`` = higher/lower/neither, and what an ``episode`` value is).

    ``cluster`` spreads the episodes over Ray workers (``workers`` of them, default one per
    CPU of the cluster; ``pip install 'planetgym[ray]'``): a Ray address (``"auto"``, or the
    head's ``"host:6379"``), or True for the cluster this process is connected to (else a
    private local one). Trained policies are shipped to the workers, callables pickled. The
    rows are exactly those of a local run. It needs ``episodes``.

    ``guide`` names a decision-time search (batch: ``"rollout-RULE@K[+Hh]"``) that each trained
    policy also guides, as ``planetgym eval --guide`` does: every training run of policy NAME
    ranks the search's candidates (its K most likely actions), and the rows are named
    ``NAME+SEARCH`` (SEARCH as the table spells it: ``@04`` reads ``@4``). The same search
    without learning is the baseline ``"rollout-RULE@K[+Hh]"``, its ablation;
    ``"union-rollout-RULE@K[+Hh]"`` searches the base rule's K best jobs and the policy's K most
    likely.
    """
    seed = count("seed", seed)
    if episodes is not None:
        episodes = count("episodes", episodes)
    if isinstance(policies, (str, os.PathLike, Policy)) or (
        policies is not None and not isinstance(policies, (dict, list, tuple)) and
        (callable(policies) or hasattr(policies, "predict"))
    ):
        policies = [policies]
    named: list[tuple[str | None, Any]] | None = None
    if isinstance(policies, dict):
        named = [(str(k), v) for k, v in policies.items()]
    elif policies is not None:
        named = [(None, p) for p in policies]
    names: list[str] | None = None
    trained: list[Policy] = []
    # (row name, directory, manifest)
    exports: list[tuple[str, Path, dict]] = []
    functions: list[tuple[str, Any]] = []
    if named is not None:
        if not named:
            raise ValueError("policies is empty: list at least one, or pass None for every baseline")
        labels = [p.name if isinstance(p, Policy) else repr(p) for _, p in named
                  if isinstance(p, (str, os.PathLike, Policy))]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"policies lists {', '.join(twice)} more than once: each policy runs once per episode")
        names = []
        for k, (label, p) in enumerate(named):
            if isinstance(p, Policy):
                if p.mode != "greedy":
                    # The evaluator runs trained policies greedily, from their directory.
                    raise ValueError(
                        f"policy {p.name!r} was loaded with mode={p.mode!r}; evaluate runs trained policies "
                        "greedily: load it with mode='greedy', or pass a callable (obs, mask) -> p.act(obs, mask)")
                trained.append(p if label is None else load_policy(p.path, name=label))
            elif isinstance(p, str) and not os.path.isdir(p):
                if label is not None and label != p:
                    raise ValueError(f"baseline {p!r} keeps its own name, not {label!r}")
                names.append(p)
            elif isinstance(p, (str, os.PathLike)) and (Path(p) / "manifest.json").exists():
                manifest = json.loads((Path(p) / "manifest.json").read_text())
                exports.append((label or Path(p).name, Path(p), manifest))
            elif isinstance(p, (str, os.PathLike)):
                trained.append(load_policy(p, name=label or Path(p).name))
            elif isinstance(p, ShadowPolicy):
                exports.append((label or p.path.name, p.path, p.manifest))
            elif hasattr(p, "predict"):
                functions.append((label or _callable_name(p, k), _sb3_callable(p)))
            elif callable(p):
                functions.append((label or _callable_name(p, k), p))
            else:
                raise ValueError(
                    f"not a policy: {p!r} (a baseline name, a Policy, a directory, an export, a "
                    "Stable-Baselines3 model or a callable (obs, mask) -> action)"
                )
    if guide is not None:
        if not isinstance(guide, str) or not guide:
            raise ValueError(f"guide = {guide!r}: must name a search, e.g. 'rollout-saf@4+3h'")
        if not trained:
            raise ValueError(
                f"guide = {guide!r} needs a trained policy (a directory or a Policy) to guide the search")
    guided = [f"{p.name}+{guide}" for p in trained] if guide is not None else []
    taken = (names or []) + [p.name for p in trained] + guided + [e[0] for e in exports] + [
        n for n, _ in functions]
    clash = sorted({n for n in taken if taken.count(n) > 1})
    if clash:
        raise ValueError(
            f"two policies are named {', '.join(clash)}: rows are told apart by name (pass a "
            "dict {name: policy}, or load a directory with load_policy(path, name=...))"
        )
    scenarios = {p.scenario for p in trained} | {m.get("scenario") for _, _, m in exports}
    if scenario is None:
        if len(scenarios) != 1:
            raise ValueError("scenario is required unless trained policies of one scenario are given")
        scenario = scenarios.pop()
    elif scenarios - {scenario}:
        raise ValueError(f"policies trained on {sorted(scenarios)} cannot run on {scenario!r}")
    if config is None and not overrides and trained:
        text, origin = trained[0].description["resolved_config"], "the policy's scenario config"
    elif config is None and not overrides and exports:
        text, origin = exports[0][2]["scenario_config"], "the export's scenario config"
    else:
        text, origin = to_toml(config, overrides, scenario)
    callables = []
    if functions:
        space = action_space(_core.Env(scenario, text, origin).describe())
        callables = [(name, _flattened(space, f, name)) for name, f in functions]
    job = dict(baselines=names, policies=[(p.name, p.path) for p in trained],
               exports=[(name, path) for name, path, _ in exports], callables=callables,
               guide=guide, episodes=episodes, seed=seed, reference=reference)
    if cluster is not None and cluster is not False:
        from planetgym.cluster import evaluate_spread

        out = evaluate_spread(cluster, workers, scenario, text, origin, **job)
    else:
        out = _evaluate_here(scenario, text, origin, progress, **job)
    if out["warning"] is not None:
        warnings.warn(out["warning"], UserWarning, stacklevel=2)
    frame = pd.DataFrame(out["columns"])
    frame.attrs["scenario"] = scenario
    frame.attrs["fair_baselines"] = out["fair_baselines"]
    #: Each metric's unit, which way is better and what an episode's value is.
    frame.attrs["metrics"] = {m["name"]: m for m in out["metrics"]}
    return frame


__all__ = ["TrainResult", "Policy", "train", "load_policy", "baselines", "evaluate"]
