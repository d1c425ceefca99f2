//! Runs contenders on identical seeded episodes and summarises every metric.

use crate::stats::mean_ci95;
use crate::{Contender, PolicyError};
use planetgym_env::{EnvError, MetricAggregation, Scenario};
use rayon::prelude::*;
use std::ops::Range;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EvalError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The evaluation asked for is beyond a bound (episodes): the message names it.
    #[error("{0}")]
    Size(String),
    #[error("{policy}, episode {episode}")]
    Env {
        policy: String,
        episode: usize,
        source: EnvError,
    },
}

/// Builds a fresh contender for each (contender, episode) job, so jobs can run in parallel.
pub type ContenderFactory<S> = Box<dyn Fn() -> Contender<S> + Send + Sync>;

/// Names of the contenders that see only what a deployed policy sees (not oracles): the
/// candidates for a comparison's reference.
pub fn fair_names<S: Scenario>(contenders: &[ContenderFactory<S>]) -> Vec<String> {
    contenders
        .iter()
        .map(|make| make())
        .filter(|c| !c.is_oracle())
        .map(|c| c.name())
        .collect()
}

/// One step of a recorded episode.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub step: usize,
    pub reward: f64,
    /// Values of the scenario's metrics, in `metric_names()` order.
    pub metrics: Vec<f64>,
}

/// Result of one contender on one episode.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeResult {
    pub policy: String,
    pub oracle: bool,
    pub episode: usize,
    /// Training run (seed index) of a policy trained with several seeds; 0 otherwise.
    pub run: usize,
    pub seed: u64,
    pub steps: usize,
    /// Sum of rewards.
    pub reward: f64,
    /// Each metric over the episode, in `metric_names()` order: the mean over steps, or the last
    /// step's value for scenarios whose metrics are `MetricAggregation::Final`.
    pub metrics: Vec<f64>,
    /// Every step, when recording was asked for.
    pub trajectory: Vec<StepRecord>,
}

/// Runs one episode of `contender` on `scenario` from `seed`. `on_step` is called after every
/// step (e.g. to advance a progress bar).
pub fn run_episode<S: Scenario>(
    scenario: &mut S,
    contender: &mut Contender<S>,
    episode: usize,
    seed: u64,
    record: bool,
    on_step: &(dyn Fn() + Sync),
) -> Result<EpisodeResult, EvalError> {
    let policy = contender.name();
    let mut obs = scenario.reset(seed);
    contender.reset(seed);
    let metrics_len = scenario.metric_names().len();
    let (mut sums, mut reward, mut steps, mut trajectory) =
        (vec![0.0; metrics_len], 0.0, 0, Vec::new());
    let last = loop {
        let action = contender.act(scenario, &obs)?;
        // An observation may share state with the scenario (an Arc'd cluster): let go of it
        // first so that stepping does not copy that state.
        drop(obs);
        let t = scenario.step(&action).map_err(|source| EvalError::Env {
            policy: policy.clone(),
            episode,
            source,
        })?;
        sums.iter_mut()
            .zip(&t.info.values)
            .for_each(|(s, v)| *s += v);
        reward += t.reward;
        steps += 1;
        if record {
            trajectory.push(StepRecord {
                step: steps - 1,
                reward: t.reward,
                metrics: t.info.values.clone(),
            });
        }
        on_step();
        if t.terminated || t.truncated {
            break t.info.values;
        }
        obs = t.obs;
    };
    Ok(EpisodeResult {
        oracle: contender.is_oracle(),
        policy,
        episode,
        run: 0,
        seed,
        steps,
        reward,
        metrics: match scenario.metric_aggregation() {
            MetricAggregation::PerStepMean => sums.iter().map(|s| s / steps as f64).collect(),
            MetricAggregation::Final => last,
        },
        trajectory,
    })
}

/// Runs every contender on episodes `0..episodes` (seeds from `seed`), in parallel over
/// (contender, episode) jobs; results come back in (contender, episode) order whatever the
/// thread count. Every step is recorded when `record` is set.
pub fn evaluate<S: Scenario + Clone>(
    scenario: &S,
    contenders: &[ContenderFactory<S>],
    episodes: usize,
    seed: u64,
    record: bool,
    on_step: &(dyn Fn() + Sync),
) -> Result<Vec<EpisodeResult>, EvalError> {
    evaluate_episodes(scenario, contenders, 0..episodes, seed, record, on_step)
}

/// Like [`evaluate`] for the episodes in `episodes` only (e.g. to extend a pilot run).
pub fn evaluate_episodes<S: Scenario + Clone>(
    scenario: &S,
    contenders: &[ContenderFactory<S>],
    episodes: Range<usize>,
    seed: u64,
    record: bool,
    on_step: &(dyn Fn() + Sync),
) -> Result<Vec<EpisodeResult>, EvalError> {
    planetgym_env::bounds::episodes("episodes", episodes.end).map_err(EvalError::Size)?;
    let jobs: Vec<(usize, usize)> = (0..contenders.len())
        .flat_map(|c| episodes.clone().map(move |e| (c, e)))
        .collect();
    jobs.par_iter()
        .map(|&(c, e)| {
            let mut env = scenario.clone();
            let mut contender = contenders[c]();
            run_episode(
                &mut env,
                &mut contender,
                e,
                scenario.evaluation_seed(seed, e),
                record,
                on_step,
            )
        })
        .collect()
}

/// One line of a results table: a metric of a policy over its episodes.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub policy: String,
    pub metric: String,
    pub mean: f64,
    pub ci95: f64,
    pub episodes: usize,
}

/// Mean and 95 % CI of `reward` (episode return) and of each metric, per policy, in the order
/// the policies first appear in `results`. A policy trained with several seeds contributes one
/// value per episode, the mean over its runs: its interval is over episodes, as the paired
/// comparison's, not over runs x episodes as if they were independent.
pub fn summarise(results: &[EpisodeResult], metric_names: &[&str]) -> Vec<SummaryRow> {
    let mut policies: Vec<&str> = Vec::new();
    for r in results {
        if !policies.contains(&r.policy.as_str()) {
            policies.push(&r.policy);
        }
    }
    let mut rows = Vec::new();
    for policy in policies {
        let mine: Vec<&EpisodeResult> = results.iter().filter(|r| r.policy == policy).collect();
        let mut push = |metric: &str, values: Vec<f64>| {
            let (mean, ci95) = mean_ci95(&values);
            rows.push(SummaryRow {
                policy: policy.to_string(),
                metric: metric.to_string(),
                mean,
                ci95,
                episodes: values.len(),
            });
        };
        let values = |value: &dyn Fn(&EpisodeResult) -> f64| {
            per_episode(mine.iter().copied(), value)
                .into_iter()
                .map(|(_, v)| v)
                .collect()
        };
        push("reward", values(&|r| r.reward));
        for (i, name) in metric_names.iter().enumerate() {
            push(name, values(&|r| r.metrics[i]));
        }
    }
    rows
}

/// (episode, `value` averaged over training runs) for each episode of `results` (one policy),
/// in episode order.
pub(crate) fn per_episode<'a>(
    results: impl IntoIterator<Item = &'a EpisodeResult>,
    value: impl Fn(&EpisodeResult) -> f64,
) -> Vec<(usize, f64)> {
    let mut sums: std::collections::BTreeMap<usize, (f64, usize)> = Default::default();
    for r in results {
        let entry = sums.entry(r.episode).or_default();
        entry.0 += value(r);
        entry.1 += 1;
    }
    sums.into_iter()
        .map(|(e, (s, n))| (e, s / n as f64))
        .collect()
}
