//! The statistics behind results tables, for `planetgym.compare` and for checking them against
//! other implementations (the tests compare them with the `rliable` package).

use crate::errors::value_error;
use planetgym_agents::comparison::{self, CompareOptions};
use planetgym_agents::evaluate::EpisodeResult;
use planetgym_agents::stats::aggregate::{self, ScoreMatrix};
use planetgym_agents::stats::bootstrap::Interval;
use planetgym_training::report;
use planetgym_training::session::MAX_SEEDS;
use pyo3::prelude::*;

fn matrix(rows: Vec<Vec<f64>>, what: &str) -> PyResult<ScoreMatrix> {
    ScoreMatrix::from_rows(&rows).map_err(|e| value_error(format!("{what}: {e}")))
}

fn check_reps(reps: usize) -> PyResult<()> {
    comparison::check_resamples("reps", reps).map_err(value_error)
}

fn triple(i: Interval) -> (f64, f64, f64) {
    (i.point, i.low, i.high)
}

/// rliable's aggregate `statistic` ("iqm", "mean", "optimality_gap" with `gamma`, or
/// "fraction_above" with `tau`) of a (runs x tasks) score matrix, with its 95 % stratified
/// bootstrap interval: (point, low, high).
#[pyfunction]
#[pyo3(signature = (scores, statistic, reps = 10_000, seed = 0, task_bootstrap = true, gamma = 1.0, tau = 0.0))]
#[allow(clippy::too_many_arguments)]
pub fn aggregate_interval(
    py: Python<'_>,
    scores: Vec<Vec<f64>>,
    statistic: &str,
    reps: usize,
    seed: u64,
    task_bootstrap: bool,
    gamma: f64,
    tau: f64,
) -> PyResult<(f64, f64, f64)> {
    check_reps(reps)?;
    let m = matrix(scores, "scores")?;
    let f: Box<dyn Fn(&ScoreMatrix) -> f64 + Sync + Send> = match statistic {
        "iqm" => Box::new(aggregate::iqm),
        "mean" => Box::new(aggregate::mean),
        "optimality_gap" => Box::new(move |m| aggregate::optimality_gap(m, gamma)),
        "fraction_above" => Box::new(move |m| aggregate::fraction_above(m, tau)),
        other => {
            return Err(value_error(format!(
                "statistic = {other:?}: use \"iqm\", \"mean\", \"optimality_gap\" or \"fraction_above\""
            )));
        }
    };
    Ok(py.detach(|| triple(aggregate::interval(&m, f, reps, seed, task_bootstrap))))
}

/// rliable's probability of improvement of `x` over `y` ((runs x tasks) each, same tasks) with
/// its 95 % interval (runs resampled independently; tasks too with `task_bootstrap`).
#[pyfunction]
#[pyo3(signature = (x, y, reps = 10_000, seed = 0, task_bootstrap = true))]
pub fn improvement_interval(
    py: Python<'_>,
    x: Vec<Vec<f64>>,
    y: Vec<Vec<f64>>,
    reps: usize,
    seed: u64,
    task_bootstrap: bool,
) -> PyResult<(f64, f64, f64)> {
    check_reps(reps)?;
    let (x, y) = (matrix(x, "x")?, matrix(y, "y")?);
    if x.tasks() != y.tasks() {
        return Err(value_error(format!(
            "x has {} tasks and y {}: both need the same tasks",
            x.tasks(),
            y.tasks()
        )));
    }
    Ok(py.detach(|| {
        triple(aggregate::improvement_interval(
            &x,
            &y,
            reps,
            seed,
            task_bootstrap,
        ))
    }))
}

/// Columns of per-episode results (as `planetgym.evaluate` returns them; `episode_seed` is its
/// `seed` column, checked to be one seed per episode) compared as the CLI tables do: JSON `{"table": rows of the summary and the paired comparison with the
/// reference, "aggregate": rliable's aggregates and performance profiles, or {"why": ...}
/// where scores cannot be normalised}`.
#[pyfunction]
#[pyo3(signature = (policy, oracle, run, episode, reward, metrics, fair_baselines, reference = None, resamples = 10_000, seed = 0, episode_seed = None))]
#[allow(clippy::too_many_arguments)]
pub fn compare_columns(
    py: Python<'_>,
    policy: Vec<String>,
    oracle: Vec<bool>,
    run: Vec<usize>,
    episode: Vec<usize>,
    reward: Vec<f64>,
    metrics: Vec<(String, Vec<f64>)>,
    fair_baselines: Vec<String>,
    reference: Option<String>,
    resamples: usize,
    seed: u64,
    episode_seed: Option<Vec<u64>>,
) -> PyResult<String> {
    let n = policy.len();
    // Without seeds, rows are trusted to pair by episode index.
    let episode_seed = episode_seed.unwrap_or_else(|| vec![0; n]);
    let lengths = [
        oracle.len(),
        run.len(),
        episode.len(),
        reward.len(),
        episode_seed.len(),
    ]
    .into_iter()
    .chain(metrics.iter().map(|(_, v)| v.len()));
    if let Some(bad) = lengths.into_iter().find(|&l| l != n) {
        return Err(value_error(format!(
            "every column needs {n} values (one per row), one has {bad}"
        )));
    }
    if let Some(e) = episode
        .iter()
        .find(|&&e| e >= planetgym_env::bounds::MAX_EPISODES)
    {
        return Err(value_error(format!(
            "episode {e}: at most {} episodes",
            planetgym_env::bounds::MAX_EPISODES
        )));
    }
    if let Some(r) = run.iter().find(|&&r| r >= MAX_SEEDS) {
        return Err(value_error(format!(
            "run {r}: at most {MAX_SEEDS} training runs per policy"
        )));
    }
    let results: Vec<EpisodeResult> = (0..n)
        .map(|i| EpisodeResult {
            policy: policy[i].clone(),
            oracle: oracle[i],
            episode: episode[i],
            run: run[i],
            seed: episode_seed[i],
            steps: 0,
            reward: reward[i],
            metrics: metrics.iter().map(|(_, v)| v[i]).collect(),
            trajectory: Vec::new(),
        })
        .collect();
    let names: Vec<&str> = metrics.iter().map(|(m, _)| m.as_str()).collect();
    let options = CompareOptions {
        reference,
        resamples,
        seed,
    };
    py.detach(|| {
        let table = comparison::compare(&results, &names, &fair_baselines, &options)
            .map_err(value_error)?;
        // Scores cannot be normalised without two distinct anchors: say why instead.
        let aggregate = match comparison::aggregate(
            &results,
            &fair_baselines,
            Some(&table.reference),
            resamples,
            seed,
        ) {
            Ok(a) => report::aggregate_json(&a),
            Err(why) => serde_json::json!({"why": why}),
        };
        let rows: serde_json::Value =
            serde_json::from_str(&report::to_json(&table).map_err(|e| value_error(e.to_string()))?)
                .map_err(value_error)?;
        let out = serde_json::json!({"table": rows, "aggregate": aggregate});
        Ok(out.to_string())
    })
}
