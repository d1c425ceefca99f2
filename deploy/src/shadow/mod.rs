//! Shadow mode: an exported policy reads logged production decisions, one JSON line at a time,
//! and writes what it would have done next to what the incumbent did. It never acts.
//!
//! The stream is processed in constant memory (chunks of `CHUNK` lines scored in parallel,
//! written in input order; latencies in a fixed histogram); a bad line is reported with its number and skipped. The report gives agreement,
//! the counterfactual one-step reward of both decisions where the scenario's model can compute
//! it from the record, and the policy's decision latency.

pub mod counterfactual;
mod observation;
pub mod record;
pub mod sample;
pub(crate) mod strict_json;

use crate::error::{DeployError, Result, chain, ensure};
use crate::export::Artifact;
use counterfactual::Counterfactual;
use planetgym_agents::nn::head::ActionHead;
use planetgym_agents::registry::{Built, RegisteredScenario, ScenarioVisitor, with_scenario};
use planetgym_env::input::{BoundedReader, LINE_ENV, LimitExceeded, Limits};
use planetgym_env::{Action, Space};
use rayon::prelude::*;
use record::{ActionJson, Decision, RecordReader};
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
    type Error = DeployError;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<serde_json::Value> {
        let env = &built.env;
        let outcome = Counterfactual::for_scenario(&built).schema();
        Ok(record::schema(
            env.feature_spec(),
            env.action_space(),
            outcome,
        ))
    }
}

/// The record schema for `target`: the directory of an export, or a scenario name built from
/// `config` (TOML with the fields that change; `origin` names it in errors).
pub fn schema_for(target: &str, config: &str, origin: &str) -> Result<serde_json::Value> {
    let dir = std::path::Path::new(target);
    if dir.join(crate::export::MANIFEST_FILE).exists() {
        let m = Artifact::load(dir)?.manifest;
        let outcome = Counterfactual::for_manifest(&m)?.schema();
        return Ok(record::schema(&m.feature_spec, &m.action_space, outcome));
    }
    with_scenario(target, config, origin, SchemaOf)
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
        Ok(PolicyDecision {
            action: self.decode(d, &params)?,
            value: values.first().copied().unwrap_or(f32::NAN),
        })
    }

    /// The (greedy) action that action parameters `params` (one row of the graph's first
    /// output, computed here or by another runtime) give for record `d`.
    pub fn decode(&self, d: &Decision, params: &[f32]) -> Result<Action> {
        let head = ActionHead::for_space(&d.space);
        ensure!(
            Record,
            params.len() == head.outputs(),
            "{} action parameters, the decision needs {}",
            params.len(),
            head.outputs()
        );
        let (_, action) = head
            .act(params, &self.manifest.log_std, d.mask.as_deref(), None)
            .map_err(|e| DeployError::Record(e.to_string()))?;
        Ok(action)
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
pub(crate) struct Latencies {
    counts: Vec<u64>,
    total: u64,
    max_ns: u64,
}

const GROWTH: f64 = 1.02;

impl Latencies {
    pub(crate) fn new() -> Self {
        // 1 ns .. about 100 s.
        Self {
            counts: vec![0; 1300],
            total: 0,
            max_ns: 0,
        }
    }

    pub(crate) fn push(&mut self, ns: u64) {
        let k = ((ns.max(1) as f64).ln() / GROWTH.ln()) as usize;
        let last = self.counts.len() - 1;
        self.counts[k.min(last)] += 1;
        self.total += 1;
        self.max_ns = self.max_ns.max(ns);
    }

    pub(crate) fn max_us(&self) -> f64 {
        self.max_ns as f64 / 1e3
    }

    /// The `q` quantile in microseconds (the upper edge of its bucket, at most the maximum).
    pub(crate) fn quantile_us(&self, q: f64) -> f64 {
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

/// A record with both decisions scored.
struct Scored {
    record: Decision,
    incumbent: Action,
    decision: PolicyDecision,
    rewards: (Option<f64>, Option<f64>),
    latency_ns: u64,
}

fn score(
    artifact: &Artifact,
    reader: &RecordReader,
    model: &Counterfactual,
    line: &str,
) -> Result<Scored> {
    let record = reader.parse(line)?;
    let incumbent = record
        .incumbent
        .clone()
        .ok_or_else(|| DeployError::Record("`incumbent` is missing".into()))?;
    let t0 = Instant::now();
    let decision = artifact.decide(&record)?;
    let latency_ns = t0.elapsed().as_nanos() as u64;
    let reward = |a: &Action| model.reward(record.outcome.as_ref(), a);
    let rewards = (reward(&incumbent)?, reward(&decision.action)?);
    Ok(Scored {
        record,
        incumbent,
        decision,
        rewards,
        latency_ns,
    })
}

/// Running totals of a replay.
struct Tally {
    tolerance: f64,
    decisions: u64,
    agreed: u64,
    distance_sum: f64,
    rewards: u64,
    incumbent_sum: f64,
    policy_sum: f64,
    policy_better: u64,
    bad: BadLines,
    latencies: Latencies,
}

impl Tally {
    /// Writes the output line of a scored record and counts it.
    fn decided(&mut self, line: u64, s: &Scored, output: &mut impl Write) -> Result<()> {
        let dist = distance(&s.incumbent, &s.decision.action, &s.record.space);
        let agree = dist <= self.tolerance;
        let (ri, rp) = s.rewards;
        write_json_line(
            output,
            &ShadowLine {
                line,
                timestamp: &s.record.timestamp,
                id: s.record.id.as_ref(),
                incumbent: ActionJson::of(&s.incumbent, &s.record.space),
                policy: ActionJson::of(&s.decision.action, &s.record.space),
                agree,
                distance: dist,
                value: s.decision.value,
                reward_incumbent: ri,
                reward_policy: rp,
                latency_us: s.latency_ns as f64 / 1e3,
            },
            "the output",
        )?;
        self.latencies.push(s.latency_ns);
        self.decisions += 1;
        self.agreed += u64::from(agree);
        self.distance_sum += dist;
        if let (Some(ri), Some(rp)) = (ri, rp) {
            self.rewards += 1;
            self.incumbent_sum += ri;
            self.policy_sum += rp;
            self.policy_better += u64::from(rp > ri);
        }
        Ok(())
    }
}

/// The bad lines of a replay: all counted, each written to the error stream, the first
/// `ERRORS_SHOWN` kept for the report.
#[derive(Debug, Default)]
pub(crate) struct BadLines {
    pub(crate) count: u64,
    pub(crate) shown: Vec<LineError>,
}

impl BadLines {
    /// Reports bad line `line` and counts it.
    pub(crate) fn skip(
        &mut self,
        line: u64,
        e: &DeployError,
        errors: &mut impl Write,
    ) -> Result<()> {
        self.count += 1;
        let message = chain(e);
        writeln!(errors, "line {line}: {message}")
            .map_err(DeployError::io("cannot write the errors"))?;
        if self.shown.len() < ERRORS_SHOWN {
            self.shown.push(LineError { line, message });
        }
        Ok(())
    }
}

/// Writes `value` as one JSON line to `out` (`what` names it in errors).
pub(crate) fn write_json_line(
    out: &mut impl Write,
    value: &impl Serialize,
    what: &str,
) -> Result<()> {
    serde_json::to_writer(&mut *out, value)
        .map_err(DeployError::json(format!("cannot write {what}")))?;
    out.write_all(b"\n")
        .map_err(DeployError::io(format!("cannot write {what}")))
}

/// Lines scored in parallel at a time: enough to keep the cores busy, few enough to keep the
/// memory flat whatever the length of the stream.
const CHUNK: usize = 256;

/// A line of the input: its number and its text, or why it cannot be read (too long, not
/// UTF-8). Blank lines are left out.
pub(crate) type NumberedLine = (u64, std::result::Result<String, String>);

/// Reads `input` in chunks of up to `CHUNK` lines (each at most the line limit long) and hands
/// each chunk to `each`; returns the number of lines read. An input that cannot be read
/// further ends the reading with an error, but only after every line read before it has been
/// handed over.
pub(crate) fn read_chunks(
    input: impl BufRead,
    mut each: impl FnMut(&[NumberedLine]) -> Result<()>,
) -> Result<u64> {
    let mut input = BoundedReader::new(input, Limits::from_env()?);
    let mut read = 0u64;
    let mut buffer = Vec::new();
    let mut chunk: Vec<NumberedLine> = Vec::with_capacity(CHUNK);
    let mut fatal = None;
    while fatal.is_none() {
        chunk.clear();
        while chunk.len() < CHUNK {
            buffer.clear();
            let n = match input.read_until(b'\n', &mut buffer) {
                Ok(n) => n,
                Err(e) => match LimitExceeded::of(&e) {
                    Some(LimitExceeded::Line { max, .. }) => {
                        read += 1;
                        let message = format!(
                            "longer than {max} bytes (the line limit; set {LINE_ENV} to raise it); skipped without reading it into memory"
                        );
                        chunk.push((read, Err(message)));
                        continue;
                    }
                    _ => {
                        fatal = Some(DeployError::io(format!(
                            "cannot read line {} of the input",
                            read + 1
                        ))(e));
                        break;
                    }
                },
            };
            if n == 0 {
                break;
            }
            read += 1;
            if buffer.trim_ascii().is_empty() {
                continue;
            }
            let line = String::from_utf8(buffer.clone())
                .map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()));
            chunk.push((read, line));
        }
        if chunk.is_empty() {
            break;
        }
        each(&chunk)?;
    }
    match fatal {
        Some(e) => Err(e),
        None => Ok(read),
    }
}

/// Replays `input` through the exported policy, writing one line per valid record to `output`
/// (in input order) and each bad line's error to `errors`.
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
    let reader = RecordReader::new(&m.feature_spec, &m.action_space);
    let start = Instant::now();
    let mut tally = Tally {
        tolerance,
        decisions: 0,
        agreed: 0,
        distance_sum: 0.0,
        rewards: 0,
        incumbent_sum: 0.0,
        policy_sum: 0.0,
        policy_better: 0,
        bad: BadLines::default(),
        latencies: Latencies::new(),
    };
    let read = read_chunks(input, |chunk| {
        let scored: Vec<Result<Scored>> = chunk
            .par_iter()
            .map(|(_, line)| match line {
                Ok(line) => score(artifact, &reader, &model, line),
                Err(e) => Err(DeployError::Record(e.clone())),
            })
            .collect();
        for ((line, _), s) in chunk.iter().zip(scored) {
            match s {
                Ok(s) => tally.decided(*line, &s, &mut output)?,
                Err(e) => tally.bad.skip(*line, &e, &mut errors)?,
            }
        }
        Ok(())
    });
    output
        .flush()
        .map_err(DeployError::io("cannot write the output"))?;
    let read = read?;
    let per = |x: f64, n: u64| if n > 0 { x / n as f64 } else { 0.0 };
    let t = &tally;
    Ok(Report {
        policy: name.to_string(),
        scenario: m.scenario.clone(),
        lines: read,
        decisions: t.decisions,
        skipped: t.bad.count,
        errors: t.bad.shown.clone(),
        agreement_rate: per(t.agreed as f64, t.decisions),
        mean_distance: per(t.distance_sum, t.decisions),
        tolerance,
        counterfactual_reward: (t.rewards > 0).then(|| RewardSummary {
            records: t.rewards,
            incumbent_mean: per(t.incumbent_sum, t.rewards),
            policy_mean: per(t.policy_sum, t.rewards),
            policy_better_fraction: per(t.policy_better as f64, t.rewards),
        }),
        reward_note: model.note(),
        latency_p50_us: t.latencies.quantile_us(0.5),
        latency_p99_us: t.latencies.quantile_us(0.99),
        latency_max_us: t.latencies.max_us(),
        records_per_s: t.decisions as f64 / start.elapsed().as_secs_f64().max(1e-9),
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
