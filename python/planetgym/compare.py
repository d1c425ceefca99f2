"""Paper-style comparisons: paired differences on identical episodes, rliable's aggregates over
training runs, and their plots.

``compare`` runs (or takes) per-episode results and returns DataFrames computed by the Rust core,
the same numbers ``planetgym baselines`` and ``planetgym eval`` print:

- ``table``: per (policy, metric) the mean and t-interval, and the paired comparison with the
  reference (the best fair baseline unless named): mean difference and P(X > reference) with
  bootstrap 95 % intervals, wins/ties/losses, Holm-corrected p-value and verdict. A policy with
  several training runs is judged across them too: the bootstrap resamples its runs, and the
  verdict also needs Student's t over the runs' mean returns. No verdict is called while the
  difference's interval holds zero;
- ``aggregate``: per policy, rliable's IQM, mean and optimality gap of the normalised reward
  (0 = the worst fair baseline's mean, 1 = the oracle's, or the best fair baseline's where the
  scenario has no oracle) and the probability of improvement over the reference, with
  stratified bootstrap intervals over (training run, episode);
- ``profile``: performance profiles (fraction of (run, episode) scores above each threshold).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from planetgym import _core
from planetgym.training import ConfigLike, Policy, evaluate

_FIXED_COLUMNS = ("policy", "oracle", "run", "episode", "seed", "steps", "reward")


@dataclass
class Comparison:
    """The result of ``compare``; ``plot`` draws its figures."""

    reference: str
    #: One row per (policy, training run, episode).
    episodes: pd.DataFrame
    #: One row per (policy, metric): summary and paired comparison with the reference.
    table: pd.DataFrame
    #: One row per policy: rliable's aggregates of the normalised reward.
    aggregate: pd.DataFrame
    #: One row per (policy, threshold): the performance profile and its interval.
    profile: pd.DataFrame
    #: What normalised scores are relative to: {"zero": (policy, mean), "one": (policy, mean)},
    #: or {"why": reason} when they cannot be normalised (then aggregate and profile are empty).
    normalisation: dict

    def plot(self, directory: str | PathLike | None = None) -> dict[str, Any]:
        """Draws the performance profiles (with their 95 % bands) and the probabilities of
        improvement (matplotlib figures, returned by name); with ``directory``, also saves them
        there as PNG and SVG. Every policy has its own colour and line style, and the legend
        sits beside the axes with names in full."""
        import matplotlib

        if directory is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        if "why" in self.normalisation:
            raise ValueError(f"nothing to plot: {self.normalisation['why']}")
        colours = plt.get_cmap("tab10").colors
        styles = ["-", "--", ":", "-."]
        figures = {}
        fig, ax = plt.subplots(figsize=(9, 4.5))
        for k, (policy, rows) in enumerate(self.profile.groupby("policy", sort=False)):
            colour, style = colours[k % len(colours)], styles[k % len(styles)]
            ax.plot(rows["tau"], rows["fraction"], label=policy, color=colour, linestyle=style)
            ax.fill_between(rows["tau"], rows["low"], rows["high"], color=colour, alpha=0.2)
        ax.set_xlabel("normalised reward tau (0 = worst fair baseline, 1 = "
                      f"{self.normalisation['one'][0]})")
        ax.set_ylabel("fraction of (run, episode) scores > tau")
        ax.set_title("performance profiles (95% stratified bootstrap bands)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        figures["performance_profile"] = fig
        poi = self.aggregate.dropna(subset=["p_improvement"])
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(poi) + 1.5))
        y = range(len(poi))
        ax.errorbar(
            poi["p_improvement"], list(y),
            xerr=[poi["p_improvement"] - poi["p_improvement_low"],
                  poi["p_improvement_high"] - poi["p_improvement"]],
            fmt="o", capsize=3,
        )
        ax.axvline(0.5, color="grey", linestyle="--")
        ax.set_yticks(list(y), list(poi["policy"]))
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"P(X > {self.reference}) (95% CI)")
        ax.set_title("probability of improvement over the reference")
        figures["probability_of_improvement"] = fig
        for f in figures.values():
            f.tight_layout()
        if directory is not None:
            out = Path(directory)
            out.mkdir(parents=True, exist_ok=True)
            for name, f in figures.items():
                for suffix in ("png", "svg"):
                    f.savefig(out / f"{name}.{suffix}", dpi=120, bbox_inches="tight")
        return figures


def compare(
    policies: Iterable[str | Policy | PathLike] | str | Policy | PathLike | None = None,
    scenario: str | None = None,
    episodes: int | None = None,
    seed: int = 0,
    config: ConfigLike = None,
    reference: str | None = None,
    resamples: int = 10_000,
    results: pd.DataFrame | None = None,
    **overrides: Any,
) -> Comparison:
    """Compares policies on identical seeded episodes, as a paper would report them.

    ``policies``, ``scenario``, ``episodes``, ``seed``, ``config`` and ``overrides`` are those of
    ``planetgym.evaluate`` (a directory trained with several seeds counts as one method with
    one run per seed; ``episodes=None`` lets a pilot choose how many); or pass ``results``, a DataFrame that ``evaluate`` returned (then
    ``scenario`` names its scenario). ``reference`` is the policy everything is compared with
    (default: the best fair baseline); ``resamples`` the bootstrap's size.
    """
    if results is None:
        results = evaluate(policies, scenario=scenario, episodes=episodes, seed=seed,
                           config=config, reference=reference, **overrides)
    missing = [c for c in _FIXED_COLUMNS if c not in results.columns]
    if missing:
        raise ValueError(f"results lack the columns {missing}: pass what planetgym.evaluate returns")
    scenario = scenario or results.attrs.get("scenario")
    if scenario is None:
        raise ValueError("scenario is required with results that do not name it (results.attrs)")
    fair = results.attrs.get("fair_baselines") or [
        name for name, oracle in _core.baselines(scenario) if not oracle
    ]
    metrics = [c for c in results.columns if c not in _FIXED_COLUMNS]
    out = json.loads(_core.compare_columns(
        list(map(str, results["policy"])),
        [bool(v) for v in results["oracle"]],
        [int(v) for v in results["run"]],
        [int(v) for v in results["episode"]],
        [float(v) for v in results["reward"]],
        [(m, [float(v) for v in results[m]]) for m in metrics],
        fair,
        reference=reference,
        resamples=resamples,
        seed=seed,
        episode_seed=[int(v) for v in results["seed"]],
    ))
    table = pd.DataFrame(out["table"])
    agg = out["aggregate"]
    if "why" in agg:
        normalisation = {"why": agg["why"]}
    else:
        normalisation = {k: tuple(agg[k]) for k in ("zero", "one")}
    return Comparison(
        reference=str(table.loc[table["reference"].notna(), "reference"].iloc[0])
        if table["reference"].notna().any() else str(table["policy"].iloc[0]),
        episodes=results,
        table=table,
        aggregate=pd.DataFrame(agg.get("rows", [])),
        profile=pd.DataFrame(agg.get("profile", [])),
        normalisation=normalisation,
    )
