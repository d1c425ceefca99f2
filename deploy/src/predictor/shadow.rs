//! Shadow mode for an exported predictor: logged feature rows in, one decision record per row
//! out (its probability, whether it would have raised an alarm, the outcome when the log has
//! it, and the latency). It never acts.
//!
//! ```text
//! {"timestamp": 1767225600 | "2026-01-01T00:00:00Z",
//!  "id": "optional, copied to the output",
//!  "features": {"<name>": value, ...}       every feature the manifest names, finite numbers
//!  "outcome": {"failed": true | false}?}    what happened within the task's horizon
//! ```
//!
//! The stream is processed in constant memory, like the policy's shadow mode: chunks of lines
//! scored in parallel and written in input order, a bad line reported with its number and
//! skipped. Scores on the logged outcomes come from fixed histograms of the probabilities'
//! logits.

use super::Predictor;
use crate::error::{DeployError, Result};
use crate::shadow::strict_json::StrictValue;
use crate::shadow::{BadLines, Latencies, LineError, read_chunks, write_json_line};
use serde::Serialize;
use serde::de::DeserializeSeed;
use serde_json::Value;
use std::io::{BufRead, Write};
use std::time::Instant;

/// Bins of the outcome histograms, evenly spread over the logit of the probability in
/// [-LOGIT_RANGE, LOGIT_RANGE] (0.0032 wide): rare-event probabilities far below 1e-4 still
/// fall in different bins. Rows in one bin count as ties, so the AUROC is exact up to the
/// pairs of a failure and a non-failure less than 0.0032 apart in logit.
const BINS: usize = 10_000;
const LOGIT_RANGE: f64 = 16.0;

/// The histogram bin of probability `p`.
fn bin(p: f32) -> usize {
    let p = f64::from(p);
    let logit = (p / (1.0 - p)).ln();
    let x = (logit.clamp(-LOGIT_RANGE, LOGIT_RANGE) + LOGIT_RANGE) / (2.0 * LOGIT_RANGE);
    ((x * BINS as f64) as usize).min(BINS - 1)
}

/// What the predictor did on the rows whose outcome the log has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeScores {
    pub rows: u64,
    pub failures: u64,
    pub auroc: f64,
    /// Shares at the alarm threshold: failures alarmed, alarms that were failures, and rows
    /// without a failure alarmed.
    pub recall: f64,
    pub precision: f64,
    pub false_alarm_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionReport {
    pub predictor: String,
    pub task: String,
    pub lines: u64,
    pub predictions: u64,
    pub skipped: u64,
    pub errors: Vec<LineError>,
    pub alarm_threshold: f64,
    pub alarms: u64,
    /// None when no record has an outcome.
    pub outcomes: Option<OutcomeScores>,
    pub latency_p50_us: f64,
    pub latency_p99_us: f64,
    pub latency_max_us: f64,
    pub records_per_s: f64,
}

impl PredictionReport {
    pub fn text(&self) -> String {
        let mut s = format!(
            "shadow: predictor {} ({}) on {} lines: {} predictions, {} skipped, {} alarms (threshold {:.4})\n",
            self.predictor,
            self.task,
            self.lines,
            self.predictions,
            self.skipped,
            self.alarms,
            self.alarm_threshold
        );
        match &self.outcomes {
            Some(o) => {
                s += &format!(
                    "on {} rows with outcomes ({} failed): AUROC {:.4}; at the threshold recall {:.3}, precision {:.3}, false alarms {:.4}\n",
                    o.rows, o.failures, o.auroc, o.recall, o.precision, o.false_alarm_rate
                )
            }
            None => s += "no record has an outcome: nothing to score\n",
        }
        s += &format!(
            "latency: p50 {:.1} us, p99 {:.1} us, max {:.1} us; throughput {:.0} records/s",
            self.latency_p50_us, self.latency_p99_us, self.latency_max_us, self.records_per_s
        );
        s
    }
}

/// One logged row, checked.
struct Row {
    timestamp: Value,
    id: Option<Value>,
    features: Vec<f32>,
    failed: Option<bool>,
}

fn parse(line: &str, names: &[String]) -> Result<Row> {
    let bad = |m: String| DeployError::Record(m);
    let mut de = serde_json::Deserializer::from_str(line);
    let value = StrictValue
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| bad(format!("not one JSON object: {e}")))?;
    let Value::Object(mut record) = value else {
        return Err(bad("a record is a JSON object".into()));
    };
    let timestamp = record
        .remove("timestamp")
        .filter(|t| t.is_number() || t.is_string())
        .ok_or_else(|| bad("`timestamp` (a number or a string) is missing".into()))?;
    let id = record.remove("id");
    let Some(Value::Object(mut given)) = record.remove("features") else {
        return Err(bad(
            "`features` (an object of feature values by name) is missing".into(),
        ));
    };
    let features = names
        .iter()
        .map(|name| match given.remove(name) {
            Some(Value::Number(n)) => n
                .as_f64()
                .map(|v| v as f32)
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    bad(format!(
                        "features.{name}: {n} is not a finite 32-bit number"
                    ))
                }),
            Some(other) => Err(bad(format!("features.{name}: {other} is not a number"))),
            None => Err(bad(format!("features.{name} is missing"))),
        })
        .collect::<Result<Vec<f32>>>()?;
    if let Some(extra) = given.keys().next() {
        return Err(bad(format!(
            "features.{extra}: not a feature of this predictor (it reads {})",
            names.join(", ")
        )));
    }
    let failed = match record.remove("outcome") {
        None => None,
        Some(Value::Object(o)) if o.len() == 1 => match o.get("failed") {
            Some(Value::Bool(b)) => Some(*b),
            _ => return Err(bad("outcome: expected {\"failed\": true|false}".into())),
        },
        Some(_) => return Err(bad("outcome: expected {\"failed\": true|false}".into())),
    };
    if let Some(extra) = record.keys().next() {
        return Err(bad(format!(
            "`{extra}`: unknown field (a record has timestamp, id, features, outcome)"
        )));
    }
    Ok(Row {
        timestamp,
        id,
        features,
        failed,
    })
}

#[derive(Serialize)]
struct PredictionLine<'a> {
    line: u64,
    timestamp: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    probability: f32,
    alarm: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed: Option<bool>,
    latency_us: f64,
}

/// Per probability bin, rows that failed and rows that did not.
struct Histograms {
    failed: Vec<u64>,
    fine: Vec<u64>,
    alarmed: [u64; 2],
}

impl Histograms {
    fn push(&mut self, p: f32, failed: bool, alarm: bool) {
        let bin = bin(p);
        let (counts, k) = if failed {
            (&mut self.failed, 1)
        } else {
            (&mut self.fine, 0)
        };
        counts[bin] += 1;
        self.alarmed[k] += u64::from(alarm);
    }

    fn scores(&self) -> Option<OutcomeScores> {
        let f: u64 = self.failed.iter().sum();
        let o: u64 = self.fine.iter().sum();
        if f + o == 0 {
            return None;
        }
        // Mann-Whitney: each failure against the fine rows in lower bins, half those in its own.
        let mut below = 0u64;
        let mut wins = 0.0;
        for (nf, no) in self.failed.iter().zip(&self.fine) {
            wins += *nf as f64 * (below as f64 + 0.5 * *no as f64);
            below += no;
        }
        let share = |a: f64, b: u64| if b > 0 { a / b as f64 } else { f64::NAN };
        let alarms = self.alarmed[0] + self.alarmed[1];
        Some(OutcomeScores {
            rows: f + o,
            failures: f,
            auroc: share(wins, f * o),
            recall: share(self.alarmed[1] as f64, f),
            precision: share(self.alarmed[1] as f64, alarms),
            false_alarm_rate: share(self.alarmed[0] as f64, o),
        })
    }
}

/// Replays `input` through `predictor`, writing one line per valid record to `output` (in
/// input order) and each bad line's error to `errors`.
pub fn run(
    predictor: &Predictor,
    name: &str,
    input: impl BufRead,
    mut output: impl Write,
    mut errors: impl Write,
) -> Result<PredictionReport> {
    let m = &predictor.manifest;
    let start = Instant::now();
    let mut latencies = Latencies::new();
    let mut histograms = Histograms {
        failed: vec![0; BINS],
        fine: vec![0; BINS],
        alarmed: [0; 2],
    };
    let (mut predictions, mut alarms) = (0u64, 0u64);
    let mut bad = BadLines::default();
    let lines = read_chunks(input, |chunk| {
        use rayon::prelude::*;
        let scored: Vec<Result<(Row, f32, u64)>> = chunk
            .par_iter()
            .map(|(_, line)| {
                let line = line.as_ref().map_err(|e| DeployError::Record(e.clone()))?;
                let row = parse(line, &m.features)?;
                let t0 = Instant::now();
                let p = predictor.probabilities(&row.features)?;
                let latency = t0.elapsed().as_nanos() as u64;
                let p = p.first().copied().unwrap_or(f32::NAN);
                Ok((row, p, latency))
            })
            .collect();
        for ((line, _), s) in chunk.iter().zip(scored) {
            match s {
                Ok((row, p, latency)) => {
                    let alarm = f64::from(p) >= m.alarm_threshold;
                    write_json_line(
                        &mut output,
                        &PredictionLine {
                            line: *line,
                            timestamp: &row.timestamp,
                            id: row.id.as_ref(),
                            probability: p,
                            alarm,
                            failed: row.failed,
                            latency_us: latency as f64 / 1e3,
                        },
                        "the output",
                    )?;
                    latencies.push(latency);
                    predictions += 1;
                    alarms += u64::from(alarm);
                    if let Some(failed) = row.failed {
                        histograms.push(p, failed, alarm);
                    }
                }
                Err(e) => bad.skip(*line, &e, &mut errors)?,
            }
        }
        Ok(())
    });
    output
        .flush()
        .map_err(DeployError::io("cannot write the output"))?;
    let lines = lines?;
    Ok(PredictionReport {
        predictor: name.to_string(),
        task: m.task.clone(),
        lines,
        predictions,
        skipped: bad.count,
        errors: bad.shown,
        alarm_threshold: m.alarm_threshold,
        alarms,
        outcomes: histograms.scores(),
        latency_p50_us: latencies.quantile_us(0.5),
        latency_p99_us: latencies.quantile_us(0.99),
        latency_max_us: latencies.max_us(),
        records_per_s: predictions as f64 / start.elapsed().as_secs_f64().max(1e-9),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn records_are_read_strictly() {
        let names = vec!["a".to_string(), "b".to_string()];
        let ok = parse(
            r#"{"timestamp": 5, "features": {"b": 2, "a": 1.5}, "outcome": {"failed": true}}"#,
            &names,
        )
        .unwrap();
        assert_eq!((ok.features, ok.failed), (vec![1.5, 2.0], Some(true)));
        for (line, says) in [
            (
                r#"{"timestamp": 5, "features": {"a": 1}}"#,
                "features.b is missing",
            ),
            (
                r#"{"timestamp": 5, "features": {"a": 1, "b": 2, "c": 3}}"#,
                "features.c",
            ),
            (
                r#"{"timestamp": 5, "features": {"a": "x", "b": 2}}"#,
                "not a number",
            ),
            (
                r#"{"timestamp": 5, "features": {"a": 1e300, "b": 2}}"#,
                "finite 32-bit",
            ),
            (r#"{"features": {"a": 1, "b": 2}}"#, "timestamp"),
            (
                r#"{"timestamp": 5, "features": {"a": 1, "a": 1, "b": 2}}"#,
                "JSON",
            ),
            (
                r#"{"timestamp": 5, "features": {"a": 1, "b": 2}, "outcome": {"failed": 1}}"#,
                "outcome",
            ),
            (
                r#"{"timestamp": 5, "features": {"a": 1, "b": 2}, "extra": 1}"#,
                "`extra`",
            ),
            (r#"[1, 2]"#, "object"),
        ] {
            let err = parse(line, &names).err().unwrap().to_string();
            assert!(err.contains(says), "{line}: {err}");
        }
    }

    /// The histogram AUROC matches the exact one (ties count half) to the bin width.
    #[test]
    fn histogram_auroc_is_the_exact_one() {
        let mut h = Histograms {
            failed: vec![0; BINS],
            fine: vec![0; BINS],
            alarmed: [0; 2],
        };
        let mut rng = planetgym_env::rng::Rng::new(3);
        let (mut scores, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..5000 {
            let y = rng.uniform() < 0.2;
            let p = (rng.uniform() * 0.7 + if y { 0.3 } else { 0.0 }) as f32;
            h.push(p, y, p >= 0.5);
            scores.push(f64::from(p));
            labels.push(y);
        }
        let exact = planetgym_agents::risk::metrics::auroc(&scores, &labels);
        let s = h.scores().unwrap();
        assert!((s.auroc - exact).abs() < 1e-3, "{} vs {exact}", s.auroc);
        assert!(s.recall > 0.5 && s.false_alarm_rate < 0.5 && s.rows == 5000);
        // Rare events: every probability below 1e-4 still ranks.
        let mut rare = Histograms {
            failed: vec![0; BINS],
            fine: vec![0; BINS],
            alarmed: [0; 2],
        };
        for k in 1..=100 {
            rare.push(1e-7 * k as f32, false, false);
            rare.push(1e-5 + 1e-7 * k as f32, true, false);
        }
        assert_eq!(rare.scores().unwrap().auroc, 1.0);
        assert_eq!(bin(0.0), 0);
        assert_eq!(bin(1.0), BINS - 1);
    }
}
