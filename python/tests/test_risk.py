"""Failure predictors from Python: the same report as `planetgym risk`, as a pandas table."""

import os
from pathlib import Path

import pytest

import planetgym

HOLDOUT = Path(__file__).resolve().parents[3] / "shared" / "data" / "holdout"


def test_risk_scores_every_predictor_with_intervals():
    table = planetgym.risk("batch-task-failure", mlp_seeds=1, resamples=100)
    scored = table[table.reference == ""]
    assert set(scored.predictor) == {"threshold", "logistic", "gbt", "mlp"}
    assert set(scored.metric) == {"auroc", "auprc", "recall_at_1pct_far", "ece"}
    auroc = scored[(scored.metric == "auroc") & (scored.predictor == "logistic")].iloc[0]
    assert auroc.low <= auroc.point <= auroc.high and auroc.point > 0.6
    paired = table[table.reference == "threshold"]
    assert set(paired.predictor) == {"logistic", "gbt", "mlp"}
    report = table.attrs["reports"][0]
    assert report["purged"] > 0 and len(report["scored"][0]["reliability"]) == 10
    # Same seed, same table.
    again = planetgym.risk("batch-task-failure", mlp_seeds=1, resamples=100)
    assert again.equals(table)


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="no risk task `nope`"):
        planetgym.risk("nope")
    with pytest.raises(ValueError, match="resamples"):
        planetgym.risk("lora-request-failure", resamples=5)
    with pytest.raises(ValueError, match="no holdout folder"):
        planetgym.risk("lora-request-failure", holdout="/nonexistent")
    with pytest.raises(ValueError, match="no such file|could not|No such"):
        planetgym.risk("lora-request-failure", data="/nonexistent.csv")


@pytest.mark.skipif(not HOLDOUT.is_dir(), reason="the shared data's holdout folder is not here")
def test_the_holdout_is_scored_when_asked():
    table = planetgym.risk("lora-request-failure", holdout=HOLDOUT, mlp_seeds=0, resamples=100)
    assert set(table.part) == {"test", "holdout"}


def test_censoring_shows_mitigated_failures_missing_from_observed_labels():
    table = planetgym.risk_censoring(weeks=4, episodes=4, rounds=1, resamples=50)
    by = table.set_index("predictor")
    truth = by.loc["counterfactual labels (simulator)"]
    naive = by.loc["naive: observed labels"]
    # The same logged rows; mitigated failures are negatives in what was observed.
    assert naive.rows == truth.rows and naive.positives < truth.positives
    assert by.loc["observed, control hosts only"].rows < truth.rows
    assert truth.total_vs_counterfactual == 0.0
    assert all(0.5 < a <= 1.0 for a in table.auroc)
    (round_1,) = table.attrs["rounds"]
    assert round_1["censored_positives"] > 0
    with pytest.raises(ValueError, match="weeks"):
        planetgym.risk_censoring(weeks=1)


def test_an_exported_predictor_runs_in_onnxruntime_and_shadow_mode(tmp_path):
    import json

    import numpy as np
    import onnxruntime as ort

    manifest = planetgym.export_predictor("batch-task-failure", tmp_path / "p")
    assert manifest["kind"] == "risk-predictor" and manifest["max_difference"] <= 1e-5
    records = tmp_path / "p" / "test_records.jsonl"
    report = planetgym.shadow_predictor(tmp_path / "p", records, tmp_path / "out.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert report["predictions"] == len(lines) > 1000 and report["skipped"] == 0
    assert 0.6 < report["outcomes"]["auroc"] <= 1.0
    # onnxruntime gives the probabilities shadow mode wrote.
    rows = [json.loads(line) for line in records.read_text().splitlines()]
    x = np.array([[r["features"][f] for f in manifest["features"]] for r in rows], dtype=np.float32)
    session = ort.InferenceSession(str(tmp_path / "p" / "predictor.onnx"))
    (p,) = session.run(None, {"features": x})
    assert p.shape == (len(rows), 1)
    np.testing.assert_allclose(p[:, 0], [line["probability"] for line in lines], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no risk task"):
        planetgym.export_predictor("nope", tmp_path / "q")
