"""The compiled half of planetgym (Rust, pyo3). Most users want the Python classes built on it:
``planetgym.PlanetgymEnv``, ``planetgym.make_vec``, ``planetgym.sb3``, ``planetgym.train``."""

from collections.abc import Callable
from os import PathLike
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

def scenario_names() -> list[str]:
    """Names of the scenarios this build provides."""

def gym_ids() -> list[tuple[str, str]]:
    """(scenario name, gymnasium id) of every registered scenario."""

def default_config(scenario: str) -> str:
    """The documented default config (TOML text) of ``scenario``; ValueError if unknown."""

def resolve_config(scenario: str, config: str, origin: str = "config") -> str:
    """The complete config (defaults merged with ``config``) as TOML; ValueError names the
    wrong field and what is allowed."""

def toml_from_json(json: str) -> str:
    """TOML text for a JSON object (how dict configs reach the Rust loaders)."""

def train(
    config: str,
    run_dir: str | PathLike[str],
    origin: str = "config",
    resume: bool = False,
    callback: Callable[[dict[str, Any]], bool | None] | None = None,
    seeds: int = 1,
    command: list[str] = ...,
    rollouts: Callable[[bytes, int], list[bytes]] | None = None,
) -> dict[str, Any]:
    """Runs the PPO trainer (GIL released), ``seeds`` independent runs (run K in
    ``run_dir/run-K`` when more than one). ``callback(report)`` after every update; False, an
    exception or KeyboardInterrupt stop the run after that update, with a checkpoint. Returns
    run_dir, runs, updates, env_steps, interrupted, keyboard_interrupt, last (report) and
    evaluation (the JSON rows of the table with its paired columns, or None). With
    ``rollouts(policy JSON, update) -> [batch of each RolloutWorker]`` the rollouts come from
    remote workers (one seed, not resumable)."""

class RolloutWorker:
    """Rollout worker ``index`` of ``workers`` of a distributed run of the training ``config``
    (TOML): steps ``num_envs / workers`` copies."""

    def __init__(self, config: str, index: int, workers: int, origin: str = "config") -> None: ...
    def collect(self, policy: bytes, update: int) -> bytes:
        """One rollout under the learner's ``policy`` (JSON) for update ``update``: the batch
        the learner reads (CBOR)."""

def baselines(scenario: str, config: str = "", origin: str = "config") -> list[tuple[str, bool]]:
    """(name, is_oracle) of each baseline of ``scenario``."""

def evaluate(
    scenario: str,
    config: str = "",
    origin: str = "config",
    baselines: list[str] | None = None,
    policies: list[tuple[str, str | PathLike[str]]] = ...,
    exports: list[tuple[str, str | PathLike[str]]] = ...,
    callables: list[tuple[str, Callable[[Any, Any], Any]]] = ...,
    guide: str | None = None,
    episodes: int | None = None,
    first_episode: int = 0,
    seed: int = 0,
    reference: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """{"columns": policy, oracle, run, episode, seed, steps, reward and one per metric (one row
    per (policy, training run, episode), identical episodes for every policy), "metrics": each
    metric's name, unit, better and episode meaning, "fair_baselines", "warning" (every policy
    scored the same on every episode) or None}. Callables take (obs float32 [obs_len], mask bool
    [mask_len] or None) and return a flat float64 action row; ``progress(done, total)`` counts
    steps. ``first_episode`` (with ``episodes``) runs episodes ``first_episode ..
    first_episode + episodes``. ``guide`` adds a row ``NAME+SEARCH`` per trained policy: its
    runs ranking the candidates of that decision-time search."""

def rebase_config_paths(text: str, base: str | PathLike[str], scenario: str | None = None) -> str:
    """A config file's text with its relative data paths pointing into its folder ``base``
    (``scenario`` None: a training config)."""

def cli(argv: list[str]) -> int:
    """The ``planetgym`` command line on ``argv`` (program name first); the exit status."""

def aggregate_interval(
    scores: list[list[float]],
    statistic: str,
    reps: int = 10_000,
    seed: int = 0,
    task_bootstrap: bool = True,
    gamma: float = 1.0,
    tau: float = 0.0,
) -> tuple[float, float, float]:
    """rliable's "iqm", "mean", "optimality_gap" or "fraction_above" of a (runs x tasks) matrix
    with its 95 % stratified bootstrap interval: (point, low, high)."""

def improvement_interval(
    x: list[list[float]],
    y: list[list[float]],
    reps: int = 10_000,
    seed: int = 0,
    task_bootstrap: bool = True,
) -> tuple[float, float, float]:
    """rliable's probability of improvement of x over y with its 95 % interval."""

def compare_columns(
    policy: list[str],
    oracle: list[bool],
    run: list[int],
    episode: list[int],
    reward: list[float],
    metrics: list[tuple[str, list[float]]],
    fair_baselines: list[str],
    reference: str | None = None,
    resamples: int = 10_000,
    seed: int = 0,
    episode_seed: list[int] | None = None,
) -> str:
    """JSON {"table": paired table rows, "aggregate": rliable aggregates and profiles, or
    {"why": ...}}; ``episode_seed`` (one per row) is checked to be one seed per episode."""

class Env:
    """One scenario instance (what ``planetgym.PlanetgymEnv`` wraps)."""

    def __init__(
        self, scenario: str, config: str = "", origin: str = "config", illegal_actions: str = "remap"
    ) -> None: ...
    def describe(self) -> dict[str, Any]:
        """scenario, resolved_config, metric_names, obs_len, mask_len, feature_spec_hash,
        space (kind and sizes) and layout (feature names, units, scales)."""
    def reset(self, seed: int) -> npt.NDArray[np.float32]: ...
    def step(
        self, action: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float32], float, bool, bool, list[float], bool]:
        """One flat float64 action row -> (obs, reward, terminated, truncated, metrics,
        remapped)."""
    def action_mask(self) -> npt.NDArray[np.bool_] | None: ...
    def entity_labels(self) -> list[str]:
        """Who each entity row of the current observation is ("" for an empty row)."""
    def render(self) -> npt.NDArray[np.uint8]:
        """The current state drawn as an RGB image, shape (height, width, 3)."""
    def add_baseline(self, name: str) -> tuple[int, str, bool]:
        """Attaches baseline ``name``: (id, row name, is_oracle)."""
    def baseline_act(self, id: int) -> npt.NDArray[np.float64]:
        """Baseline ``id``'s action in the current state, as flat rows ``[1, flat_len]``."""

class VecEnv:
    """N copies stepped together on Rust threads (``planetgym.make_vec`` and the SB3 adapter)."""

    num_envs: int
    def __init__(
        self,
        scenario: str,
        num_envs: int,
        config: str = "",
        origin: str = "config",
        seed: int = 0,
        threads: int = 0,
        autoreset: str = "next_step",
        illegal_actions: str = "remap",
    ) -> None: ...
    def describe(self) -> dict[str, Any]: ...
    def reset(self, seed: int) -> npt.NDArray[np.float32]: ...
    def step(
        self, actions: npt.NDArray[np.float64]
    ) -> tuple[
        npt.NDArray[np.float32],
        npt.NDArray[np.float64],
        npt.NDArray[np.bool_],
        npt.NDArray[np.bool_],
        npt.NDArray[np.float64],
        npt.NDArray[np.bool_],
        tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]] | None,
    ]:
        """Actions ``[N, flat_len]`` -> (obs, rewards, terminated, truncated, metrics
        ``[N, M]`` (NaN: none reported), remapped, finals (same-step mode: final observations
        and metrics of the episodes that just ended, else None))."""
    def episode_seeds(self) -> list[int]:
        """The reset seed of the episode each copy is in."""
    def entity_labels(self, i: int) -> list[str]:
        """Who each entity row of copy ``i``'s observation is ("" for an empty row)."""
    def add_baseline(self, name: str) -> tuple[int, str, bool]:
        """Attaches baseline ``name`` to every copy: (id, row name, is_oracle)."""
    def baseline_act(self, id: int) -> npt.NDArray[np.float64]:
        """Baseline ``id``'s actions for every copy, as flat rows ``[N, flat_len]``."""
    def action_masks(self) -> npt.NDArray[np.bool_] | None: ...

class Policy:
    """A trained policy read from a directory holding ``policy.json``."""

    name: str
    path: str
    def __init__(
        self, path: str | PathLike[str], name: str = "ppo", mode: str = "greedy", seed: int = 0
    ) -> None: ...
    def describe(self) -> dict[str, Any]: ...
    def act_batch(
        self, obs: npt.NDArray[np.float32], masks: npt.NDArray[np.bool_] | None = None
    ) -> npt.NDArray[np.float64]:
        """Flat action rows ``[B, flat_len]`` for observations ``[B, obs_len]``."""
    def forward(
        self, obs: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Raw network outputs for observations ``[B, obs_len]``: action parameters
        ``[B, outputs]`` and values ``[B]``."""

def export(run_dir: str | PathLike[str], out_dir: str | PathLike[str]) -> str:
    """Exports a policy directory to ``policy.onnx`` + ``manifest.json``; returns the manifest
    (JSON text)."""

def record_schema(target: str, config: str = "") -> str:
    """JSON Schema (text) of a shadow-mode decision record, for a scenario or an export."""

def sample_records(
    scenario: str, incumbent: str, records: int, config: str = "", seed: int = 0
) -> str:
    """Decision records (JSON Lines text) from the simulator with ``incumbent`` deciding."""

class Record:
    """A decision record validated against an export's FeatureSpec and action space."""

    incumbent: str | None
    def inputs(self) -> dict[str, npt.NDArray[np.float32]]: ...

class ShadowArtifact:
    """An exported policy loaded after checking its checksum, FeatureSpec hash and tensors."""

    def __init__(self, path: str | PathLike[str]) -> None: ...
    def manifest_json(self) -> str: ...
    def onnx_bytes(self) -> bytes: ...
    def parse(self, record: str) -> Record: ...
    def outputs(self, record: Record) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...
    def decide(self, record: Record, params: npt.NDArray[np.float32] | None = None) -> str: ...

def risk_tasks() -> list[tuple[str, str | None, str]]: ...
def risk_report(
    name: str,
    data: str | PathLike[str] | None = None,
    holdout: str | PathLike[str] | None = None,
    mlp_seeds: int = 3,
    resamples: int = 1000,
    seed: int = 0,
) -> str: ...
