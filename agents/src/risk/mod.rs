//! Risk prediction on real labels: datasets built from traces with features known at the
//! time of each prediction ([`tasks`]), a strictly temporal split with purging
//! ([`dataset`]), baselines (the threshold rule and logistic regression, [`logistic`]) and
//! their scores with bootstrap intervals and paired differences ([`metrics`]).
//!
//! Any predictor is scored the same way: it gives a probability for every row of the dataset,
//! and [`report`] scores it on the test part and the held-out rows.

pub mod censoring;
pub mod dataset;
pub mod fleet_failure;
pub mod history;
pub mod logistic;
pub mod metrics;
pub mod pod_failure;
pub mod tasks;
pub mod telemetry;

use dataset::{Dataset, TemporalSplit};
use logistic::{Logistic, threshold_rule};
use metrics::{
    Bin, Scores, difference, earliest_warnings, recall_by_lead, reliability, score,
    threshold_at_false_alarm_rate,
};
use serde::Serialize;

/// A predictor's probability of failure for every row of a dataset, and what it is.
#[derive(Debug, Clone)]
pub struct Predictions {
    pub predictor: String,
    pub about: String,
    pub probabilities: Vec<f64>,
}

impl Predictions {
    pub fn of(name: &str, data: &Dataset, model: &Logistic) -> Self {
        Self {
            predictor: name.to_string(),
            about: model.describe(&data.features),
            probabilities: (0..data.rows())
                .map(|i| model.probability(data.row(i)))
                .collect(),
        }
    }
}

/// The two baselines fitted on the training part (logistic regression's penalty tuned on
/// validation): `threshold` and `logistic`.
pub fn baselines(data: &Dataset, split: &TemporalSplit) -> Result<Vec<(String, Logistic)>, String> {
    let all: Vec<usize> = (0..data.features.len()).collect();
    Ok(vec![
        ("threshold".to_string(), threshold_rule(data, &split.train)?),
        (
            "logistic".to_string(),
            Logistic::tuned(data, &split.train, &split.validation, &all)?,
        ),
    ])
}

/// One predictor's scores on one part.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    pub part: String,
    pub predictor: String,
    pub rows: usize,
    pub failures: usize,
    pub scores: Scores,
    pub reliability: Vec<Bin>,
}

/// Recall by lead time of one predictor on the test part: alarms at the threshold that gives a
/// 1 % false-alarm rate on the validation part.
#[derive(Debug, Clone, Serialize)]
pub struct LeadTimes {
    pub predictor: String,
    pub threshold: f64,
    pub onsets: usize,
    /// (minutes before the onset, share of onsets with an alarm at least that early, with its
    /// 95 % bootstrap interval over onsets).
    pub recall: Vec<(f64, crate::stats::bootstrap::Interval)>,
}

/// A predictor against the reference on the same rows: `predictor - reference`.
#[derive(Debug, Clone, Serialize)]
pub struct Paired {
    pub part: String,
    pub predictor: String,
    pub reference: String,
    pub difference: Scores,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub task: String,
    pub features: Vec<String>,
    /// Rows and failures, held-out rows left out.
    pub rows: usize,
    pub failures: usize,
    pub train_rows: usize,
    pub validation_rows: usize,
    pub cuts: [f64; 2],
    pub purged: usize,
    /// What the dataset's builder left out, and why.
    pub notes: Vec<String>,
    /// (predictor, what it is).
    pub predictors: Vec<(String, String)>,
    pub scored: Vec<Scored>,
    pub paired: Vec<Paired>,
    /// For onset tasks: recall by lead time, per predictor.
    pub lead_times: Vec<LeadTimes>,
}

/// Scores every predictor on the test part and on the held-out rows (when there are both
/// classes among them), each against `predictions[0]` as the reference, with `reps` bootstrap
/// resamples from `seed`.
pub fn report(
    data: &Dataset,
    split: &TemporalSplit,
    predictions: &[Predictions],
    reps: usize,
    seed: u64,
) -> Report {
    let mut out = Report {
        task: data.task.clone(),
        features: data.features.clone(),
        rows: (0..data.rows()).filter(|&i| !data.holdout[i]).count(),
        failures: (0..data.rows())
            .filter(|&i| !data.holdout[i] && data.y[i])
            .count(),
        train_rows: split.train.len(),
        validation_rows: split.validation.len(),
        cuts: split.cuts,
        purged: split.purged,
        notes: data.notes.clone(),
        predictors: predictions
            .iter()
            .map(|p| (p.predictor.clone(), p.about.clone()))
            .collect(),
        scored: Vec::new(),
        paired: Vec::new(),
        lead_times: Vec::new(),
    };
    // Every lead some onset's rows have, in order.
    let mut leads: Vec<f64> = data
        .onsets
        .iter()
        .flatten()
        .map(|&(lead, _)| lead)
        .collect();
    leads.sort_by(f64::total_cmp);
    leads.dedup();
    if !leads.is_empty() {
        for p in predictions {
            let threshold =
                threshold_at_false_alarm_rate(&split.validation, &data.y, &p.probabilities, 0.01);
            let warnings =
                earliest_warnings(&data.onsets, &split.test, &p.probabilities, threshold);
            out.lead_times.push(LeadTimes {
                predictor: p.predictor.clone(),
                threshold,
                onsets: warnings.len(),
                recall: recall_by_lead(&warnings, &leads, reps, seed),
            });
        }
    }
    for (part, rows) in [("test", &split.test), ("holdout", &split.holdout)] {
        let labels: Vec<bool> = rows.iter().map(|&i| data.y[i]).collect();
        let failures = labels.iter().filter(|&&y| y).count();
        if failures == 0 || failures == labels.len() {
            continue;
        }
        let pick =
            |p: &Predictions| -> Vec<f64> { rows.iter().map(|&i| p.probabilities[i]).collect() };
        for p in predictions {
            let probabilities = pick(p);
            out.scored.push(Scored {
                part: part.to_string(),
                predictor: p.predictor.clone(),
                rows: rows.len(),
                failures,
                scores: score(&probabilities, &labels, reps, seed),
                reliability: reliability(&probabilities, &labels),
            });
        }
        if let Some((reference, others)) = predictions.split_first() {
            let base = pick(reference);
            for p in others {
                out.paired.push(Paired {
                    part: part.to_string(),
                    predictor: p.predictor.clone(),
                    reference: reference.predictor.clone(),
                    difference: difference(&pick(p), &base, &labels, reps, seed),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use planetgym_env::traces::v2017;

    #[test]
    fn logistic_regression_beats_chance_on_the_shipped_batch_tasks() {
        let tasks = v2017::builtin().unwrap();
        let data = tasks::batch_task_failure(&tasks, &[]).unwrap();
        let split = dataset::temporal_split(&data, [0.6, 0.2]).unwrap();
        let fitted = baselines(&data, &split).unwrap();
        let predictions: Vec<Predictions> = fitted
            .iter()
            .map(|(name, m)| Predictions::of(name, &data, m))
            .collect();
        let r = report(&data, &split, &predictions, 200, 1);
        assert_eq!(r.scored.len(), 2);
        assert_eq!(r.paired.len(), 1);
        for s in &r.scored {
            assert!(
                s.scores.auroc.low > 0.5,
                "{}: {:?}",
                s.predictor,
                s.scores.auroc
            );
        }
    }
}
