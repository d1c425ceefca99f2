//! Results tables: printed, and written as JSON rows or CSV, in one format for every command.

use crate::error::{Result, TrainingError};
use crate::run_dir::write_atomic;
use planetgym_agents::evaluate::{EpisodeResult, SummaryRow};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One row of the JSON/CSV table (one per policy and metric).
#[derive(Debug, Serialize)]
struct JsonRow<'a> {
    policy: &'a str,
    metric: &'a str,
    mean: Option<f64>,
    ci95: Option<f64>,
    episodes: usize,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// The table as text: one line per policy, one column per metric, `mean ± ci95` cells.
pub fn render_table(rows: &[SummaryRow]) -> String {
    let mut policies: Vec<&str> = Vec::new();
    let mut metrics: Vec<&str> = Vec::new();
    for r in rows {
        if !policies.contains(&r.policy.as_str()) {
            policies.push(&r.policy);
        }
        if !metrics.contains(&r.metric.as_str()) {
            metrics.push(&r.metric);
        }
    }
    let cell = |p: &str, m: &str| {
        rows.iter()
            .find(|r| r.policy == p && r.metric == m)
            .map(|r| format!("{} ± {}", significant(r.mean), significant(r.ci95)))
            .unwrap_or_default()
    };
    let mut grid: Vec<Vec<String>> = vec![
        std::iter::once("policy".to_string())
            .chain(metrics.iter().map(|m| m.to_string()))
            .collect(),
    ];
    for p in &policies {
        grid.push(
            std::iter::once(p.to_string())
                .chain(metrics.iter().map(|m| cell(p, m)))
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..grid[0].len())
        .map(|c| {
            grid.iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, row) in grid.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (v, w))| {
                if c == 0 {
                    format!("{v:<w$}")
                } else {
                    format!("{v:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
        if i == 0 {
            let _ = writeln!(
                out,
                "{}",
                "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1))
            );
        }
    }
    let episodes = rows.first().map_or(0, |r| r.episodes);
    let _ = writeln!(
        out,
        "(mean ± 95% CI over {episodes} episodes; reward is the episode return)"
    );
    out
}

/// Four significant digits, without exponent for everyday magnitudes.
fn significant(v: f64) -> String {
    if !v.is_finite() {
        return "nan".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let digits = 3 - v.abs().log10().floor() as i32;
    if (-2..=8).contains(&digits) {
        format!("{:.*}", digits.max(0) as usize, v)
    } else {
        format!("{v:.3e}")
    }
}

pub fn write_json(rows: &[SummaryRow], path: &Path) -> Result<()> {
    let json: Vec<JsonRow> = rows
        .iter()
        .map(|r| JsonRow {
            policy: &r.policy,
            metric: &r.metric,
            mean: finite(r.mean),
            ci95: finite(r.ci95),
            episodes: r.episodes,
        })
        .collect();
    let text = serde_json::to_string_pretty(&json)
        .map_err(|e| TrainingError::report(path.display().to_string(), e))?
        + "\n";
    Ok(write_atomic(path, text.as_bytes())?)
}

pub fn write_csv(rows: &[SummaryRow], path: &Path) -> Result<()> {
    let header = ["policy", "metric", "mean", "ci95", "episodes"].map(String::from);
    let records = rows.iter().map(|r| {
        vec![
            r.policy.clone(),
            r.metric.clone(),
            r.mean.to_string(),
            r.ci95.to_string(),
            r.episodes.to_string(),
        ]
    });
    write_csv_records(path, &header, records)
}

/// Per-step metrics of every recorded episode: `policy,episode,step,reward,<metrics...>`.
pub fn write_timeseries(
    results: &[EpisodeResult],
    metric_names: &[&str],
    path: &Path,
) -> Result<()> {
    let header: Vec<String> = ["policy", "episode", "step", "reward"]
        .into_iter()
        .chain(metric_names.iter().copied())
        .map(String::from)
        .collect();
    let records = results.iter().flat_map(|r| {
        r.trajectory.iter().map(|s| {
            [
                r.policy.clone(),
                r.episode.to_string(),
                s.step.to_string(),
                s.reward.to_string(),
            ]
            .into_iter()
            .chain(s.metrics.iter().map(|v| v.to_string()))
            .collect()
        })
    });
    write_csv_records(path, &header, records)
}

/// Writes a CSV file (quoted where needed by the `csv` crate) atomically.
fn write_csv_records(
    path: &Path,
    header: &[String],
    records: impl Iterator<Item = Vec<String>>,
) -> Result<()> {
    let failed = |e: &dyn std::fmt::Display| TrainingError::report(path.display().to_string(), e);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(|e| failed(&e))?;
    for record in records {
        w.write_record(&record).map_err(|e| failed(&e))?;
    }
    let bytes = w.into_inner().map_err(|e| failed(&e))?;
    Ok(write_atomic(path, &bytes)?)
}

/// A policy's curve: (x, mean of each metric) rows.
pub type Curve = (String, Vec<(f64, Vec<f64>)>);

/// Mean over episodes of `metrics` as curves over `x_metric` sampled at `x_values`: each
/// episode contributes its state at its last step with `x <= x_value` (none before its first).
/// Returns, per policy, one row per x value that every episode reached (within 0.02, the
/// spacing of a single pod's arrival): (x, means).
pub fn curves(
    results: &[EpisodeResult],
    metric_names: &[&str],
    x_metric: &str,
    metrics: &[&str],
    x_values: &[f64],
) -> Result<Vec<Curve>> {
    let column = |name: &str| {
        metric_names
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| TrainingError::report("curves", format!("no metric `{name}`")))
    };
    let x_col = column(x_metric)?;
    let cols: Vec<usize> = metrics.iter().map(|m| column(m)).collect::<Result<_>>()?;
    let mut out: Vec<Curve> = Vec::new();
    let mut policies: Vec<&str> = Vec::new();
    for r in results {
        if !policies.contains(&r.policy.as_str()) {
            policies.push(&r.policy);
        }
    }
    for policy in policies {
        let episodes: Vec<&EpisodeResult> = results.iter().filter(|r| r.policy == policy).collect();
        let mut rows = Vec::new();
        for &x in x_values {
            let states: Vec<&Vec<f64>> = episodes
                .iter()
                .filter_map(|e| {
                    e.trajectory
                        .iter()
                        .take_while(|s| s.metrics[x_col] <= x + 1e-12)
                        .last()
                        .map(|s| &s.metrics)
                })
                .collect();
            if states.len() < episodes.len()
                || episodes.iter().any(|e| {
                    e.trajectory
                        .last()
                        .is_none_or(|s| s.metrics[x_col] + 0.02 < x)
                })
            {
                continue;
            }
            let means = cols
                .iter()
                .map(|&c| states.iter().map(|s| s[c]).sum::<f64>() / states.len() as f64)
                .collect();
            rows.push((x, means));
        }
        out.push((policy.to_string(), rows));
    }
    Ok(out)
}

/// Writes curves as CSV: `policy,<x_name>,<metrics...>`.
pub fn write_curves(curves: &[Curve], x_name: &str, metrics: &[&str], path: &Path) -> Result<()> {
    let header: Vec<String> = ["policy", x_name]
        .into_iter()
        .chain(metrics.iter().copied())
        .map(String::from)
        .collect();
    let records = curves.iter().flat_map(|(policy, rows)| {
        rows.iter().map(move |(x, values)| {
            [policy.clone(), x.to_string()]
                .into_iter()
                .chain(values.iter().map(|v| v.to_string()))
                .collect()
        })
    });
    write_csv_records(path, &header, records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<SummaryRow> {
        let row = |policy: &str, metric: &str, mean: f64| SummaryRow {
            policy: policy.into(),
            metric: metric.into(),
            mean,
            ci95: 0.5,
            episodes: 3,
        };
        vec![
            row("a", "reward", -120.26),
            row("a", "latency", 42.0),
            row("b, c", "reward", f64::NAN),
        ]
    }

    #[test]
    fn table_has_a_line_per_policy() {
        let text = render_table(&rows());
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("policy")
                && lines[0].contains("reward")
                && lines[0].contains("latency")
        );
        assert!(
            lines[2].starts_with("a ") && lines[2].contains("-120.3 ± 0.5000"),
            "{text}"
        );
        assert!(lines[3].contains("nan"), "{text}");
    }

    #[test]
    fn json_and_csv_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (j, c) = (dir.path().join("t.json"), dir.path().join("t.csv"));
        write_json(&rows(), &j).unwrap();
        write_csv(&rows(), &c).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
        assert_eq!(json[0]["policy"], "a");
        assert_eq!(json[0]["metric"], "reward");
        assert_eq!(json[0]["episodes"], 3);
        assert!(json[2]["mean"].is_null());
        let csv = std::fs::read_to_string(&c).unwrap();
        assert!(
            csv.starts_with("policy,metric,mean,ci95,episodes\na,reward,-120.26,0.5,3\n"),
            "{csv}"
        );
        assert!(csv.contains("\"b, c\",reward,NaN"), "{csv}");
    }
}
