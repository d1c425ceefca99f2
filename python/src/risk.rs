//! Risk prediction from Python: the same evaluation as `planetgym risk`, as JSON that
//! `planetgym.risk` turns into a pandas table.

use crate::errors::value_error;
use planetgym_agents::risk::censoring;
use planetgym_agents::risk::tasks::{TASKS, task};
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
