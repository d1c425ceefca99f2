"""Failure prediction on real labels (``planetgym risk`` from Python).

``risk("batch-task-failure")`` builds the task's dataset from the shipped trace (features use
only what was known when each prediction is made), splits it in time (60 % train, 20 %
validation, 20 % test; rows whose label arrives after the next part starts are purged), fits
the threshold rule, logistic regression, gradient-boosted trees and a burn MLP, and scores them with bootstrap
intervals. One row per (task, part, predictor, metric); paired differences against the
threshold rule have ``reference = "threshold"``. ``table.attrs["reports"]`` holds the whole
reports (reliability bins, predictors, notes).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from planetgym import _core
from planetgym._core import risk_censoring, risk_report, risk_tasks

TASKS = [name for name, _, _ in risk_tasks()]

_METRICS = {"auroc": "auroc", "auprc": "auprc", "recall_at_1pct": "recall_at_1pct_far", "ece": "ece"}


def _holdout_dir(holdout) -> Path | None:
    if holdout is False or holdout is None:
        return None
    if holdout is True:
        folder = Path(os.environ.get("PLANETGYM_HOLDOUT", "../shared/data/holdout"))
    else:
        folder = Path(holdout)
    if not folder.is_dir():
        raise ValueError(
            f"holdout: no holdout folder at {folder} (pass the shared data's holdout/ folder or set PLANETGYM_HOLDOUT)"
        )
    return folder


def _rows(report: dict) -> list[dict]:
    rows = []
    for kind, reference_of in (("scored", lambda s: ""), ("paired", lambda p: p["reference"])):
        for entry in report[kind]:
            scores = entry["scores"] if kind == "scored" else entry["difference"]
            for key, metric in _METRICS.items():
                rows.append(
                    {
                        "task": report["task"],
                        "part": entry["part"],
                        "predictor": entry["predictor"],
                        "reference": reference_of(entry),
                        "metric": metric,
                        "point": scores[key]["point"],
                        "low": scores[key]["low"],
                        "high": scores[key]["high"],
                    }
                )
    return rows


def risk(
    task: str = "all",
    *,
    data: str | os.PathLike | None = None,
    holdout: bool | str | os.PathLike = False,
    mlp_seeds: int = 3,
    resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Scores of every predictor on ``task`` (or every task) on its test part, and on the held-out
    continuation when ``holdout`` is True (the default holdout folder) or a folder."""
    names = TASKS if task == "all" else [task]
    if task == "all" and data is not None:
        raise ValueError("data names one trace: give task too")
    folder = _holdout_dir(holdout)
    held = {name: path for name, path, _ in risk_tasks()}
    reports = []
    for name in names:
        held_out = None if folder is None or held.get(name) is None else str(folder / held[name])
        text = risk_report(
            name,
            data=None if data is None else str(data),
            holdout=held_out,
            mlp_seeds=mlp_seeds,
            resamples=resamples,
            seed=seed,
        )
        reports.append(json.loads(text))
    table = pd.DataFrame([row for r in reports for row in _rows(r)])
    table.attrs["reports"] = reports
    return table


def censoring(
    *, weeks: int = 20, episodes: int = 60, rounds: int = 3, resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """The censored-label experiment on the ``risk`` scenario's fleet (``planetgym risk
    --censoring``): one row per predictor (what its labels were), with its AUROC and ECE against
    the true labels of unmitigated test weeks and the costs of deploying it as
    ``threshold@0.4:migrate`` (the threshold tuned for the default predictor) on ``episodes``
    evaluation weeks, paired with the counterfactual
    predictor's (``total_vs_counterfactual``, negative = cheaper). ``table.attrs["rounds"]``
    holds the rounds of naive retraining, ``table.attrs["report"]`` the whole report."""
    report = json.loads(
        risk_censoring(weeks=weeks, episodes=episodes, rounds=rounds, resamples=resamples, seed=seed)
    )
    rows = []
    for v in report["variants"]:
        d = v["deployed"]
        rows.append(
            {
                "predictor": v["predictor"],
                "rows": v["rows"],
                "positives": v["positives"],
                "auroc": v["scores"]["auroc"]["point"],
                "auroc_low": v["scores"]["auroc"]["low"],
                "auroc_high": v["scores"]["auroc"]["high"],
                "ece": v["scores"]["ece"]["point"],
                "risk_before_failures": v["risk_before_failures"],
                "total_cost": d["total_cost"][0],
                "interruption_vm_min": d["interruption_vm_min"][0],
                "mitigation_cost": d["mitigation_cost"][0],
                "total_vs_counterfactual": d["vs_reference"]["point"],
                "total_vs_counterfactual_low": d["vs_reference"]["low"],
                "total_vs_counterfactual_high": d["vs_reference"]["high"],
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["rounds"] = report["rounds"]
    table.attrs["report"] = report
    return table


def export_predictor(
    task: str, out_dir: str | os.PathLike, *, data: str | os.PathLike | None = None
) -> dict:
    """Exports ``task``'s logistic predictor (fitted on its training part, alarm threshold at a
    1 % false-alarm rate on validation) to ``out_dir``: ``predictor.onnx`` (features
    ``[batch, F]`` -> ``probability`` ``[batch, 1]``, runs in onnxruntime), ``manifest.json``
    and ``test_records.jsonl``. Returns the manifest."""
    return json.loads(
        _core.export_predictor(task, str(out_dir), data=None if data is None else str(data))
    )


def shadow_predictor(
    predictor_dir: str | os.PathLike,
    records: str | os.PathLike,
    output: str | os.PathLike,
    errors: str | os.PathLike | None = None,
) -> dict:
    """Replays logged feature rows (JSON Lines: timestamp, id, features by name, optional
    outcome ``{"failed": bool}``) through an exported predictor, writing one decision record per
    row to ``output`` (probability, alarm, outcome, latency) and bad lines to ``errors``
    (default: ``output`` + ``.errors``). Returns the report (alarms; AUROC, recall and precision
    on the logged outcomes; latency)."""
    errors = f"{output}.errors" if errors is None else errors
    return json.loads(
        _core.shadow_predictor(str(predictor_dir), str(records), str(output), str(errors))
    )
