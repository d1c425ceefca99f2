//! The censored-label experiment on the `risk` fleet. A predictor drives a mitigation policy;
//! every failure the policy prevents is logged as "no failure", so a predictor retrained on
//! what the fleet observed learns that the riskiest telemetry is safe. This measures how much
//! worse it gets, against the truth that only the simulator knows, and three corrections:
//! dropping the rows of mitigated hosts, training on a control group of hosts that are never
//! mitigated, and counterfactual labels from the simulator.
//!
//! Every predictor is a logistic regression on the 8 telemetry features (penalty tuned on the
//! last fifth of its training weeks). It is scored on unmitigated test weeks (observed = true
//! labels), and deployed: the fleet runs `threshold@P:migrate` on its risk score over the same
//! evaluation episodes for every predictor, so costs are compared episode by episode.

use super::dataset::Dataset;
use super::fleet_failure::{Week, dataset, simulate};
use super::logistic::Logistic;
use super::metrics::{Scores, difference, score};
use crate::classic::risk::{LeaveAlone, ThresholdRule};
use crate::evaluate::{ContenderFactory, evaluate};
use crate::stats::bootstrap::Interval;
use crate::stats::mean_ci95;
use crate::stats::paired::compare;
use crate::{Contender, Policy};
use planetgym_env::risk::{LabelledRow, Mitigation};
use planetgym_env::{RiskConfig, RiskScenario, ScenarioConfig};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Weeks each predictor trains on (the last fifth tunes its penalty).
    pub weeks: usize,
    /// Unmitigated weeks that score every predictor.
    pub test_weeks: usize,
    /// Evaluation episodes each deployed predictor runs (the same for all).
    pub episodes: usize,
    /// Rounds of naive retraining (deploy, log, retrain on what was observed).
    pub rounds: usize,
    /// The risk at which the deployed policy migrates a host (default: the threshold tuned for
    /// the default predictor by the `risk` scenario's baselines).
    pub threshold: f64,
    /// Share of hosts never mitigated (the control group).
    pub control_share: f64,
    pub resamples: usize,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            weeks: 20,
            test_weeks: 10,
            episodes: 60,
            rounds: 3,
            threshold: 0.4,
            control_share: 0.1,
            resamples: 1000,
            seed: 0,
        }
    }
}

impl Options {
    /// Checks every count and range (each drives time or memory).
    pub fn validate(&self) -> Result<(), String> {
        use planetgym_env::bounds::{count, within};
        count("weeks", self.weeks as u64, 2, 1000, "simulated weeks")?;
        count(
            "test_weeks",
            self.test_weeks as u64,
            1,
            1000,
            "simulated weeks",
        )?;
        planetgym_env::bounds::episodes("episodes", self.episodes)?;
        count("episodes", self.episodes as u64, 2, u64::MAX, "")?;
        count(
            "rounds",
            self.rounds as u64,
            1,
            20,
            "each round simulates `weeks` weeks",
        )?;
        within("threshold", self.threshold, 0.0, 1.0)?;
        within("control_share", self.control_share, 0.0, 1.0)?;
        count(
            "resamples",
            self.resamples as u64,
            1,
            100_000,
            "bootstrap resamples",
        )?;
        Ok(())
    }
}

/// A deployed predictor's episodes: mean [95 % CI] of each cost, and the paired difference of
/// the total cost from the reference predictor's (negative = cheaper).
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    pub total_cost: (f64, f64),
    pub interruption_vm_min: (f64, f64),
    pub mitigation_cost: (f64, f64),
    pub failures: (f64, f64),
    pub mitigations: (f64, f64),
    pub vs_reference: Interval,
    pub wins: usize,
    pub losses: usize,
}

/// One predictor: what it was trained on, its scores against the truth, and its deployment.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    pub predictor: String,
    pub rows: usize,
    pub positives: usize,
    pub scores: Scores,
    /// AUROC and the rest minus the counterfactual predictor's, on the same resamples.
    pub vs_counterfactual: Scores,
    /// Mean predicted risk on the test rows whose host does fail within the horizon.
    pub risk_before_failures: f64,
    pub deployed: Deployed,
    pub weights: Vec<f64>,
    pub bias: f64,
}

/// One round of naive retraining.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub round: usize,
    pub auroc: Interval,
    pub risk_before_failures: f64,
    /// Of the weeks it was trained on: failures seen, and true positives logged as negatives.
    pub observed_positives: usize,
    pub censored_positives: usize,
    pub deployed: Deployed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub heading: String,
    pub variants: Vec<Variant>,
    pub rounds: Vec<Round>,
}

/// Names of the variants, in report order: the first is the reference of deployments.
const COUNTERFACTUAL: &str = "counterfactual labels (simulator)";

/// The default config with a control group.
fn base_config(control_share: f64) -> Result<RiskConfig, String> {
    RiskConfig::from_toml(&format!("control_share = {control_share}"), "censoring")
        .map_err(|e| e.to_string())
}

/// `config` with `model`'s coefficients as its risk score (standardisation folded in).
fn with_predictor(config: &RiskConfig, model: &Logistic) -> Result<RiskScenario, String> {
    let mut config = config.clone();
    let (weights, bias) = model.raw_coefficients(config.predictor.weights.len());
    config.predictor.weights = weights;
    config.predictor.bias = bias;
    config.validate()?;
    RiskScenario::new(config).map_err(|e| e.to_string())
}

/// Fits on `data`: the first four fifths of its time train, the rest picks the penalty (rows
/// whose label is known only after the cut are left out of training).
pub fn fit(data: &Dataset) -> Result<Logistic, String> {
    let end = data.at.iter().copied().fold(0.0, f64::max);
    let start = data.at.iter().copied().fold(f64::INFINITY, f64::min);
    let cut = start + 0.8 * (end - start);
    let train: Vec<usize> = (0..data.rows()).filter(|&i| data.known[i] <= cut).collect();
    let validation: Vec<usize> = (0..data.rows()).filter(|&i| data.at[i] > cut).collect();
    let all: Vec<usize> = (0..data.features.len()).collect();
    Logistic::tuned(data, &train, &validation, &all)
}

fn labelled(
    weeks: &[Week],
    config: &RiskConfig,
    label: impl Fn(&LabelledRow) -> Option<bool>,
) -> Result<Dataset, String> {
    dataset(
        "fleet-failure",
        weeks,
        config.episode_hours,
        config.horizon_hours,
        label,
    )
}

fn migrate_at(threshold: f64, cooldown_hours: usize) -> ThresholdRule {
    ThresholdRule {
        threshold,
        mitigation: Mitigation::Migrate,
        cooldown_hours,
    }
}

/// Total cost per evaluation episode, and the other costs, of `model` deployed.
fn deploy(config: &RiskConfig, model: &Logistic, o: &Options) -> Result<Vec<Vec<f64>>, String> {
    let env = with_predictor(config, model)?;
    let policy = migrate_at(o.threshold, config.horizon_hours);
    let contenders: Vec<ContenderFactory<RiskScenario>> =
        vec![Box::new(move || Contender::Fair(Box::new(policy)))];
    let results = evaluate(&env, &contenders, o.episodes, o.seed, false, &|| {})
        .map_err(|e| e.to_string())?;
    Ok(results.into_iter().map(|r| r.metrics).collect())
}

fn summary(episodes: &[Vec<f64>], reference: &[Vec<f64>], o: &Options) -> Result<Deployed, String> {
    let column = |rows: &[Vec<f64>], k: usize| rows.iter().map(|m| m[k]).collect::<Vec<f64>>();
    let paired = compare(
        &[column(episodes, 0)],
        &[column(reference, 0)],
        o.resamples,
        o.seed,
    )?;
    Ok(Deployed {
        total_cost: mean_ci95(&column(episodes, 0)),
        interruption_vm_min: mean_ci95(&column(episodes, 1)),
        mitigation_cost: mean_ci95(&column(episodes, 2)),
        failures: mean_ci95(&column(episodes, 3)),
        mitigations: mean_ci95(&column(episodes, 6)),
        vs_reference: paired.difference,
        wins: paired.losses,
        losses: paired.wins,
    })
}

/// Mean probability on the rows labelled true.
fn risk_on_positives(probabilities: &[f64], labels: &[bool]) -> f64 {
    let (sum, n) = probabilities
        .iter()
        .zip(labels)
        .filter(|(_, y)| **y)
        .fold((0.0, 0usize), |(s, n), (p, _)| (s + p, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// Runs the experiment.
pub fn run(o: &Options) -> Result<Report, String> {
    o.validate()?;
    let config = base_config(o.control_share)?;
    let plain = RiskScenario::new(config.clone()).map_err(|e| e.to_string())?;
    let unmitigated = |weeks, tag| simulate(&plain, &mut LeaveAlone, weeks, tag);
    // The first predictor learns from a fleet nobody mitigated: its labels are the truth.
    let first_data = labelled(&unmitigated(o.weeks, 0xA)?, &config, |r| Some(r.truth))?;
    let first = fit(&first_data)?;
    let test = labelled(&unmitigated(o.test_weeks, 0xC)?, &config, |r| Some(r.truth))?;
    let predict = |m: &Logistic| -> Vec<f64> {
        (0..test.rows())
            .map(|i| m.probability(test.row(i)))
            .collect()
    };
    // The fleet under the first predictor: what an operator would log.
    let deployed_env = with_predictor(&config, &first)?;
    let mut rule: Box<dyn Policy<RiskScenario>> =
        Box::new(migrate_at(o.threshold, config.horizon_hours));
    let logged = simulate(&deployed_env, rule.as_mut(), o.weeks, 0xB)?;
    type Label = fn(&LabelledRow) -> Option<bool>;
    let kinds: [(&str, Label); 4] = [
        (COUNTERFACTUAL, |r| Some(r.truth)),
        ("naive: observed labels", |r| Some(r.observed)),
        ("observed, mitigated rows dropped", |r| {
            (!r.mitigated).then_some(r.observed)
        }),
        ("observed, control hosts only", |r| {
            r.control.then_some(r.observed)
        }),
    ];
    let positives = |data: &Dataset| data.y.iter().filter(|&&y| y).count();
    let mut models = Vec::with_capacity(kinds.len() + 1);
    for (name, label) in kinds {
        let data = labelled(&logged, &config, label)?;
        models.push((name, fit(&data)?, data.rows(), positives(&data)));
    }
    // Last, the first predictor itself, trained on its own unmitigated weeks.
    models.push((
        "unmitigated fleet (before deployment)",
        first.clone(),
        first_data.rows(),
        positives(&first_data),
    ));
    // Each predictor's test probabilities and deployed episodes; the counterfactual one (the
    // first) is the reference.
    let outcomes = models
        .iter()
        .map(|(_, model, ..)| Ok((predict(model), deploy(&config, model, o)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let (reference_p, reference_deployed) = &outcomes[0];
    let mut variants = Vec::with_capacity(models.len());
    for ((name, model, rows, positives), (p, episodes)) in models.iter().zip(&outcomes) {
        let (weights, bias) = model.raw_coefficients(config.predictor.weights.len());
        variants.push(Variant {
            predictor: name.to_string(),
            rows: *rows,
            positives: *positives,
            scores: score(p, &test.y, o.resamples, o.seed),
            vs_counterfactual: difference(p, reference_p, &test.y, o.resamples, o.seed),
            risk_before_failures: risk_on_positives(p, &test.y),
            deployed: summary(episodes, reference_deployed, o)?,
            weights,
            bias,
        });
    }
    // The feedback loop: deploy, log what is observed, retrain on it, deploy that.
    let mut rounds = Vec::with_capacity(o.rounds);
    let mut model = first;
    for round in 1..=o.rounds {
        let env = with_predictor(&config, &model)?;
        let logged = simulate(&env, rule.as_mut(), o.weeks, 0xB0 + round as u64)?;
        let observed = labelled(&logged, &config, |r| Some(r.observed))?;
        let censored = logged
            .iter()
            .flat_map(|w| &w.rows)
            .filter(|r| r.truth && !r.observed)
            .count();
        model = fit(&observed)?;
        let p = predict(&model);
        rounds.push(Round {
            round,
            auroc: score(&p, &test.y, o.resamples, o.seed).auroc,
            risk_before_failures: risk_on_positives(&p, &test.y),
            observed_positives: positives(&observed),
            censored_positives: censored,
            deployed: summary(&deploy(&config, &model, o)?, reference_deployed, o)?,
        });
    }
    Ok(Report {
        heading: format!(
            "risk fleet (default, control group {} %): predictors trained on {} logged weeks, scored on {} unmitigated weeks, deployed as threshold@{}:migrate on {} evaluation episodes",
            100.0 * o.control_share,
            o.weeks,
            o.test_weeks,
            o.threshold,
            o.episodes
        ),
        variants,
        rounds,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Folding the standardisation into raw coefficients changes no probability.
    #[test]
    fn raw_coefficients_give_the_same_probabilities() {
        let config = base_config(0.0).unwrap();
        let env = RiskScenario::new(config.clone()).unwrap();
        let weeks = simulate(&env, &mut LeaveAlone, 4, 1).unwrap();
        let data = labelled(&weeks, &config, |r| Some(r.truth)).unwrap();
        let model = fit(&data).unwrap();
        let (w, b) = model.raw_coefficients(8);
        for i in (0..data.rows()).step_by(97) {
            let x = data.row(i);
            let z = b + w.iter().zip(x).map(|(w, x)| w * x).sum::<f64>();
            let direct = planetgym_env::risk::sigmoid(z);
            assert!((direct - model.probability(x)).abs() < 1e-9);
        }
    }

    /// The default config's risk score is the first predictor of this experiment (20
    /// unmitigated training weeks), rounded to 4 decimals.
    #[test]
    fn the_default_predictor_is_the_unmitigated_fit() {
        let config = base_config(0.0).unwrap();
        let env = RiskScenario::new(config.clone()).unwrap();
        let weeks = simulate(&env, &mut LeaveAlone, Options::default().weeks, 0xA).unwrap();
        let model = fit(&labelled(&weeks, &config, |r| Some(r.truth)).unwrap()).unwrap();
        let (w, b) = model.raw_coefficients(8);
        let p = &config.predictor;
        for (fitted, default) in w.iter().chain([&b]).zip(p.weights.iter().chain([&p.bias])) {
            assert!(
                (fitted - default).abs() < 1e-4,
                "fitted {w:?} {b}, default {p:?}"
            );
        }
    }
}
