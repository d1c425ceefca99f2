//! Risk prediction from Python: the same evaluation as `planetgym risk`, as JSON that
//! `planetgym.risk` turns into a pandas table.

use crate::errors::{any_error, value_error};
use planetgym_agents::risk::censoring;
use planetgym_agents::risk::tasks::{TASKS, task};
use planetgym_deploy::predictor::{self, Predictor};
use planetgym_training::risk::{Options, evaluate};
use pyo3::prelude::*;
use std::path::PathBuf;

/// (name, held-out file under the shared data's holdout/ (None for a simulated task), what it
/// predicts) of every task.
#[pyfunction]
pub fn risk_tasks() -> Vec<(&'static str, Option<&'static str>, &'static str)> {
    TASKS.iter().map(|t| (t.name, t.holdout, t.about)).collect()
}

/// The report of `name` as JSON: its dataset from `data` (the shipped trace when None) with
/// `holdout`'s rows, every predictor fitted on the temporal split and scored with bootstrap
/// intervals. Runs without the GIL; ValueError says what was wrong.
#[pyfunction]
#[pyo3(signature = (name, data = None, holdout = None, mlp_seeds = 3, resamples = 1000, seed = 0))]
pub fn risk_report(
    py: Python<'_>,
    name: &str,
    data: Option<PathBuf>,
    holdout: Option<PathBuf>,
    mlp_seeds: usize,
    resamples: usize,
    seed: u64,
) -> PyResult<String> {
    let t = task(name).map_err(value_error)?;
    let options = Options {
        mlp_seeds,
        resamples,
        seed,
    };
    let report = py
        .detach(|| evaluate(t, data.as_deref(), holdout.as_deref(), &options))
        .map_err(value_error)?;
    serde_json::to_string(&report).map_err(value_error)
}

/// The censored-label experiment of `planetgym risk --censoring`, as JSON. Runs without the
/// GIL; ValueError says which option is out of range.
#[pyfunction]
#[pyo3(signature = (weeks = 20, episodes = 60, rounds = 3, resamples = 1000, seed = 0))]
pub fn risk_censoring(
    py: Python<'_>,
    weeks: usize,
    episodes: usize,
    rounds: usize,
    resamples: usize,
    seed: u64,
) -> PyResult<String> {
    let options = censoring::Options {
        weeks,
        episodes,
        rounds,
        resamples,
        seed,
        ..censoring::Options::default()
    };
    let report = py
        .detach(|| censoring::run(&options))
        .map_err(value_error)?;
    serde_json::to_string(&report).map_err(value_error)
}

/// Exports task `name`'s logistic predictor to `out` (predictor.onnx, manifest.json,
/// test_records.jsonl); returns the manifest as JSON.
#[pyfunction]
#[pyo3(signature = (name, out, data = None))]
pub fn export_predictor(
    py: Python<'_>,
    name: &str,
    out: PathBuf,
    data: Option<PathBuf>,
) -> PyResult<String> {
    let t = task(name).map_err(value_error)?;
    let manifest = py
        .detach(|| predictor::export(t, data.as_deref(), &out))
        .map_err(any_error)?;
    serde_json::to_string(&manifest).map_err(value_error)
}

/// Replays the records in `input` through the predictor exported in `dir`, writing one
/// decision record per valid line to `output` and each bad line's error to `errors`; returns
/// the report as JSON.
#[pyfunction]
pub fn shadow_predictor(
    py: Python<'_>,
    dir: PathBuf,
    input: PathBuf,
    output: PathBuf,
    errors: PathBuf,
) -> PyResult<String> {
    let report = py
        .detach(|| -> anyhow::Result<_> {
            let p = Predictor::load(&dir)?;
            let open = |path: &PathBuf| {
                std::fs::File::open(path)
                    .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))
            };
            let create = |path: &PathBuf| {
                std::fs::File::create(path)
                    .map(std::io::BufWriter::new)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))
            };
            Ok(predictor::shadow::run(
                &p,
                &dir.display().to_string(),
                std::io::BufReader::new(open(&input)?),
                create(&output)?,
                create(&errors)?,
            )?)
        })
        .map_err(any_error)?;
    serde_json::to_string(&report).map_err(value_error)
}
