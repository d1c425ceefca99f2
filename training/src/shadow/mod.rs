//! Shadow mode: an exported policy reads logged production decisions, one JSON line at a time,
//! and writes what it would have done next to what the incumbent did. It never acts.
//!
//! The stream is processed in constant memory (one line in flight, latencies in a fixed
//! histogram); a bad line is reported with its number and skipped. The report gives agreement,
//! the counterfactual one-step reward of both decisions where the scenario's model can compute
//! it from the record, and the policy's decision latency.

pub mod counterfactual;
pub mod record;
pub mod sample;

use crate::export::Artifact;
use crate::registry::{Built, ScenarioVisitor};
use anyhow::{Context, Result};
use counterfactual::Counterfactual;
use planetgym_agents::evaluate::ContenderFactory;
use planetgym_env::Scenario;
use planetgym_env::{Action, Space};
use record::{ActionJson, Decision};
use serde::Serialize;
use std::io::{BufRead, Write};
use std::time::Instant;

/// Continuous decisions agree when no value differs by more than this (simplex weights, or
/// Box values in their units), unless the caller sets another tolerance.
pub const DEFAULT_TOLERANCE: f64 = 0.05;
/// Bad lines printed in full; the rest are counted.
const ERRORS_SHOWN: usize = 20;

/// The record schema for a scenario built by name.
#[derive(Debug)]
struct SchemaOf;

impl ScenarioVisitor for SchemaOf {
    type Output = serde_json::Value;

    fn visit<S: Scenario + Clone + 'static>(
        self,
        built: Built<S>,
        _baselines: Vec<ContenderFactory<S>>,
    ) -> Result<serde_json::Value> {
        let (spec, space) = (built.env.feature_spec(), built.env.action_space());
        let outcome = counterfactual::outcome_schema(built.env.name(), space);
        Ok(record::schema(spec, space, outcome))
    }
}

/// The record schema for `target`: the directory of an export, or a scenario name built from
/// `config` (TOML with the fields that change; `origin` names it in errors).
pub fn schema_for(target: &str, config: &str, origin: &str) -> Result<serde_json::Value> {
    let dir = std::path::Path::new(target);
    if dir.join(crate::export::MANIFEST_FILE).exists() {
        let m = Artifact::load(dir)?.manifest;
        let outcome = counterfactual::outcome_schema(&m.scenario, &m.action_space);
        return Ok(record::schema(&m.feature_spec, &m.action_space, outcome));
    }
    crate::registry::with_scenario(target, config, origin, SchemaOf)
}

/// The policy's decision for one record.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDecision {
    pub action: Action,
    pub value: f32,
}

impl Artifact {
    /// The policy's (greedy) decision for a validated record.
    pub fn decide(&self, d: &Decision) -> Result<PolicyDecision> {
        let (params, values) = self.run(&d.inputs)?;
        let head = planetgym_agents::nn::head::ActionHead::for_space(&d.space);
        let (_, action) = head
            .act(&params, &self.manifest.log_std, d.mask.as_deref(), None)
            .map_err(anyhow::Error::msg)?;
        Ok(PolicyDecision {
            action,
            value: values.first().copied().unwrap_or(f32::NAN),
        })
    }
}

/// How far apart two decisions are: the share of differing choices for discrete spaces, the
/// largest difference of a value (row-normalised for simplex splits) for continuous ones.
pub fn distance(a: &Action, b: &Action, space: &Space) -> f64 {
    let normalised = |v: &[f32]| -> Vec<f64> {
        match space {
            Space::Simplex { cols, .. } => v
                .chunks((*cols).max(1))
                .flat_map(|row| {
                    let sum: f64 = row.iter().map(|&x| f64::from(x)).sum();
                    row.iter()
                        .map(move |&x| if sum > 0.0 { f64::from(x) / sum } else { 0.0 })
                })
                .collect(),
            _ => v.iter().map(|&x| f64::from(x)).collect(),
        }
    };
    match (a, b) {
        (Action::Discrete(x), Action::Discrete(y)) => f64::from(u8::from(x != y)),
        (Action::MultiDiscrete(x), Action::MultiDiscrete(y)) => {
            let differ = x.iter().zip(y).filter(|(p, q)| p != q).count();
            differ as f64 / x.len().max(1) as f64
        }
        (Action::Continuous(x), Action::Continuous(y)) => normalised(x)
            .iter()
            .zip(normalised(y))
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max),
        _ => 1.0,
    }
}

/// Latencies in logarithmic buckets 2% wide: percentiles in constant memory.
#[derive(Debug, Clone)]
struct Latencies {
    counts: Vec<u64>,
    total: u64,
    max_ns: u64,
}

const GROWTH: f64 = 1.02;

impl Latencies {
    fn new() -> Self {
        // 1 ns .. about 100 s.
        Self {
            counts: vec![0; 1300],
            total: 0,
            max_ns: 0,
        }
    }

    fn push(&mut self, ns: u64) {
        let k = ((ns.max(1) as f64).ln() / GROWTH.ln()) as usize;
        let last = self.counts.len() - 1;
        self.counts[k.min(last)] += 1;
        self.total += 1;
        self.max_ns = self.max_ns.max(ns);
    }

    /// The `q` quantile in microseconds (the upper edge of its bucket, at most the maximum).
    fn quantile_us(&self, q: f64) -> f64 {
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (k, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return GROWTH.powi(k as i32 + 1).min(self.max_ns as f64) / 1e3;
            }
        }
        self.max_ns as f64 / 1e3
    }
}

/// Counterfactual one-step rewards of both decisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RewardSummary {
    /// Records whose outcome let the model score both decisions.
    pub records: u64,
    pub incumbent_mean: f64,
    pub policy_mean: f64,
    /// Share of those records where the policy's reward is higher.
    pub policy_better_fraction: f64,
}

/// A bad line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub policy: String,
    pub scenario: String,
    pub lines: u64,
    pub decisions: u64,
    pub skipped: u64,
    /// The first bad lines (all are counted in `skipped`).
    pub errors: Vec<LineError>,
    pub agreement_rate: f64,
    pub mean_distance: f64,
    pub tolerance: f64,
    /// None when the scenario's model cannot score decisions from records; `reward_note` says why.
    pub counterfactual_reward: Option<RewardSummary>,
    pub reward_note: String,
    pub latency_p50_us: f64,
    pub latency_p99_us: f64,
    pub latency_max_us: f64,
    pub records_per_s: f64,
}

impl Report {
    /// The report as a few readable lines.
    pub fn text(&self) -> String {
        let mut s = format!(
            "shadow: {} ({}) on {} lines: {} decisions, {} skipped\n",
            self.policy, self.scenario, self.lines, self.decisions, self.skipped
        );
        s += &format!(
            "agreement with the incumbent: {:.2}% (continuous tolerance {}), mean distance {:.4}\n",
            100.0 * self.agreement_rate,
            self.tolerance,
            self.mean_distance
        );
        match &self.counterfactual_reward {
            Some(r) => {
                s += &format!(
                    "counterfactual one-step reward over {} records: incumbent {:.4}, policy {:.4} (policy better on {:.1}%)\n",
                    r.records,
                    r.incumbent_mean,
                    r.policy_mean,
                    100.0 * r.policy_better_fraction
                )
            }
            None => {
                s += &format!(
                    "counterfactual reward: not available: {}\n",
                    self.reward_note
                )
            }
        }
        s += &format!(
            "decision latency: p50 {:.1} us, p99 {:.1} us, max {:.1} us; throughput {:.0} records/s",
            self.latency_p50_us, self.latency_p99_us, self.latency_max_us, self.records_per_s
        );
        s
    }
}

/// One output line: the policy's decision next to the incumbent's.
#[derive(Debug, Serialize)]
struct ShadowLine<'a> {
    line: u64,
    timestamp: &'a serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a serde_json::Value>,
    incumbent: ActionJson,
    policy: ActionJson,
    agree: bool,
    distance: f64,
    value: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    reward_incumbent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reward_policy: Option<f64>,
    latency_us: f64,
}

/// Replays `input` through the exported policy, writing one line per valid record to `output`
/// and each bad line's error to `errors`.
pub fn run(
    artifact: &Artifact,
    name: &str,
    input: impl BufRead,
    mut output: impl Write,
    mut errors: impl Write,
    tolerance: f64,
) -> Result<Report> {
    let m = &artifact.manifest;
    let model = Counterfactual::for_manifest(m)?;
    let start = Instant::now();
    let mut latencies = Latencies::new();
    let (mut lines, mut decisions, mut agreed, mut distance_sum) = (0u64, 0u64, 0u64, 0.0);
    let (mut rewards, mut incumbent_sum, mut policy_sum, mut better) = (0u64, 0.0, 0.0, 0u64);
    let mut shown = Vec::new();
    let mut skipped = 0u64;
    for line in input.lines() {
        let line = line.context("cannot read the input")?;
        lines += 1;
        if line.trim().is_empty() {
            continue;
        }
        let scored = (|| -> Result<_> {
            let record = record::parse(&line, &m.feature_spec, &m.action_space)
                .map_err(anyhow::Error::msg)?;
            let incumbent = record.incumbent.clone().context("`incumbent` is missing")?;
            let t0 = Instant::now();
            let decision = artifact.decide(&record)?;
            let ns = t0.elapsed().as_nanos() as u64;
            let reward = |a: &Action| model.reward(record.outcome.as_ref(), a);
            let rewards = (reward(&incumbent)?, reward(&decision.action)?);
            Ok((record, incumbent, decision, rewards, ns))
        })();
        let (record, incumbent, decision, (ri, rp), ns) = match scored {
            Ok(scored) => scored,
            Err(e) => {
                skipped += 1;
                let message = format!("{e:#}");
                writeln!(errors, "line {lines}: {message}")?;
                if shown.len() < ERRORS_SHOWN {
                    shown.push(LineError {
                        line: lines,
                        message,
                    });
                }
                continue;
            }
        };
        let dist = distance(&incumbent, &decision.action, &record.space);
        let agree = dist <= tolerance;
        serde_json::to_writer(
            &mut output,
            &ShadowLine {
                line: lines,
                timestamp: &record.timestamp,
                id: record.id.as_ref(),
                incumbent: ActionJson::of(&incumbent, &record.space),
                policy: ActionJson::of(&decision.action, &record.space),
                agree,
                distance: dist,
                value: decision.value,
                reward_incumbent: ri,
                reward_policy: rp,
                latency_us: ns as f64 / 1e3,
            },
        )
        .context("cannot write the output")?;
        output.write_all(b"\n").context("cannot write the output")?;
        latencies.push(ns);
        decisions += 1;
        agreed += u64::from(agree);
        distance_sum += dist;
        if let (Some(ri), Some(rp)) = (ri, rp) {
            rewards += 1;
            incumbent_sum += ri;
            policy_sum += rp;
            better += u64::from(rp > ri);
        }
    }
    output.flush().context("cannot write the output")?;
    let per = |x: f64, n: u64| if n > 0 { x / n as f64 } else { 0.0 };
    Ok(Report {
        policy: name.to_string(),
        scenario: m.scenario.clone(),
        lines,
        decisions,
        skipped,
        errors: shown,
        agreement_rate: per(agreed as f64, decisions),
        mean_distance: per(distance_sum, decisions),
        tolerance,
        counterfactual_reward: (rewards > 0).then(|| RewardSummary {
            records: rewards,
            incumbent_mean: per(incumbent_sum, rewards),
            policy_mean: per(policy_sum, rewards),
            policy_better_fraction: per(better as f64, rewards),
        }),
        reward_note: model.note(),
        latency_p50_us: latencies.quantile_us(0.5),
        latency_p99_us: latencies.quantile_us(0.99),
        latency_max_us: latencies.max_ns as f64 / 1e3,
        records_per_s: decisions as f64 / start.elapsed().as_secs_f64().max(1e-9),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_quantiles_are_within_a_bucket() {
        let mut l = Latencies::new();
        for us in 1..=1000u64 {
            l.push(us * 1000);
        }
        let p50 = l.quantile_us(0.5);
        let p99 = l.quantile_us(0.99);
        assert!((500.0..=510.0).contains(&p50), "{p50}");
        assert!((990.0..=1000.0).contains(&p99), "{p99}");
        assert_eq!(l.quantile_us(1.0), 1000.0);
    }

    #[test]
    fn distances() {
        let s = Space::Simplex { rows: 1, cols: 2 };
        let a = Action::Continuous(vec![0.5, 0.5]);
        let b = Action::Continuous(vec![2.0, 6.0]);
        assert!((distance(&a, &b, &s) - 0.25).abs() < 1e-9);
        let d = Space::MultiDiscrete { nvec: vec![3, 3] };
        let x = Action::MultiDiscrete(vec![1, 2]);
        assert_eq!(distance(&x, &Action::MultiDiscrete(vec![1, 0]), &d), 0.5);
        assert_eq!(
            distance(&Action::Discrete(1), &Action::Discrete(1), &d),
            0.0
        );
    }
}
