//! Results tables: printed, and written as JSON rows or CSV, in one format for every command.

use crate::error::{Result, TrainingError};
use crate::run_dir::write_atomic;
use planetgym_agents::comparison::{Aggregate, Comparison};
use planetgym_agents::evaluate::{EpisodeResult, SummaryRow};
use planetgym_agents::stats::bootstrap::Interval;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One row of the JSON/CSV table (one per policy and metric): the summary, then the paired
/// comparison with the reference (empty for the reference itself).
#[derive(Debug, Serialize)]
struct JsonRow<'a> {
    policy: &'a str,
    metric: &'a str,
    mean: Option<f64>,
    ci95: Option<f64>,
    episodes: usize,
    reference: Option<&'a str>,
    difference: Option<f64>,
    difference_low: Option<f64>,
    difference_high: Option<f64>,
    p_improvement: Option<f64>,
    p_improvement_low: Option<f64>,
    p_improvement_high: Option<f64>,
    wins: Option<usize>,
    ties: Option<usize>,
    losses: Option<usize>,
    p_value: Option<f64>,
    p_holm: Option<f64>,
    verdict: Option<&'static str>,
}

const COLUMNS: [&str; 18] = [
    "policy",
    "metric",
    "mean",
    "ci95",
    "episodes",
    "reference",
    "difference",
    "difference_low",
    "difference_high",
    "p_improvement",
    "p_improvement_low",
    "p_improvement_high",
    "wins",
    "ties",
    "losses",
    "p_value",
    "p_holm",
    "verdict",
];

fn json_rows(table: &Comparison) -> Vec<JsonRow<'_>> {
    table
        .rows
        .iter()
        .zip(&table.paired)
        .map(|(r, cell)| {
            let p = cell.as_ref().map(|c| &c.paired);
            JsonRow {
                policy: &r.policy,
                metric: &r.metric,
                mean: finite(r.mean),
                ci95: finite(r.ci95),
                episodes: r.episodes,
                reference: cell.as_ref().map(|c| c.reference.as_str()),
                difference: p.and_then(|p| finite(p.difference.point)),
                difference_low: p.and_then(|p| finite(p.difference.low)),
                difference_high: p.and_then(|p| finite(p.difference.high)),
                p_improvement: p.map(|p| p.improvement.point),
                p_improvement_low: p.map(|p| p.improvement.low),
                p_improvement_high: p.map(|p| p.improvement.high),
                wins: p.map(|p| p.wins),
                ties: p.map(|p| p.ties),
                losses: p.map(|p| p.losses),
                p_value: p.map(|p| p.p_value),
                p_holm: p.map(|p| p.p_holm),
                verdict: cell.as_ref().map(|c| c.verdict(&r.metric)),
            }
        })
        .collect()
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
    let mut out = render_grid(&grid);
    let episodes = rows.first().map_or(0, |r| r.episodes);
    let _ = writeln!(
        out,
        "(mean ± 95% CI over {episodes} episodes; reward is the episode return)"
    );
    out
}

/// The paired comparison of every policy with the reference on `metric`: mean difference and
/// P(X > reference) with their bootstrap intervals, wins/ties/losses, the Holm-corrected
/// p-value and the verdict.
pub fn render_paired(table: &Comparison, metric: &str, resamples: usize) -> String {
    let mut grid: Vec<Vec<String>> = vec![
        [
            "policy",
            "difference [95% CI]",
            "P(X>ref) [95% CI]",
            "W/T/L",
            "p (Holm)",
            "verdict",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for (r, cell) in table.rows.iter().zip(&table.paired) {
        let Some(c) = cell.as_ref().filter(|_| r.metric == metric) else {
            continue;
        };
        let p = &c.paired;
        grid.push(vec![
            r.policy.clone(),
            format!(
                "{} [{}, {}]",
                significant(p.difference.point),
                significant(p.difference.low),
                significant(p.difference.high)
            ),
            format!(
                "{:.3} [{:.3}, {:.3}]",
                p.improvement.point, p.improvement.low, p.improvement.high
            ),
            format!("{}/{}/{}", p.wins, p.ties, p.losses),
            if c.bound {
                "-".into()
            } else {
                format!("{:.4}", p.p_holm)
            },
            c.verdict(metric).into(),
        ]);
    }
    let mut out = format!(
        "\n{metric}, paired against {} on the same episodes:\n",
        table.reference
    );
    out += &render_grid(&grid);
    let _ = writeln!(
        out,
        "(difference = policy - reference per episode; bootstrap percentile CIs over {resamples} \
         resamples; verdict at 5% after Holm's correction across the policies, and only where the CI \
         excludes 0; oracles are bounds)"
    );
    out
}

/// Rows of cells as aligned text: the first column left-aligned, a rule under the header.
fn render_grid(grid: &[Vec<String>]) -> String {
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
    out
}

/// rliable's aggregates as text: one line per policy.
pub fn render_aggregate(a: &Aggregate) -> String {
    let cell = |i: &Interval| {
        format!(
            "{} [{}, {}]",
            significant(i.point),
            significant(i.low),
            significant(i.high)
        )
    };
    let mut grid: Vec<Vec<String>> = vec![
        [
            "policy",
            "runs x episodes",
            "IQM [95% CI]",
            "mean [95% CI]",
            "optimality gap [95% CI]",
            "P(X>ref) [95% CI]",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in &a.rows {
        grid.push(vec![
            r.policy.clone(),
            format!("{} x {}", r.runs, r.episodes),
            cell(&r.iqm),
            cell(&r.mean),
            r.optimality_gap.as_ref().map_or_else(|| "-".into(), cell),
            r.improvement.as_ref().map_or_else(|| "-".into(), cell),
        ]);
    }
    let mut out = format!(
        "\nnormalised reward (0 = {} at {}, 1 = {} at {}), aggregated as rliable does:\n",
        a.zero.0,
        significant(a.zero.1),
        a.one.0,
        significant(a.one.1)
    );
    out += &render_grid(&grid);
    let _ = writeln!(
        out,
        "(IQM = 25% trimmed mean over (run, episode); stratified bootstrap CIs resampling episodes \
         and runs within them; optimality gap = mean shortfall below 1 where 1 is an oracle; \
         P(X>ref) against {})",
        a.reference
    );
    out
}

fn interval_json(i: &Interval) -> serde_json::Value {
    serde_json::json!({"point": finite(i.point), "low": finite(i.low), "high": finite(i.high)})
}

/// The aggregates as JSON: `reference`, `zero` and `one` ([policy, mean reward]), `rows` (one
/// per policy, flat columns) and `profile` (one row per policy and threshold).
pub fn aggregate_json(a: &Aggregate) -> serde_json::Value {
    let flat = |prefix: &str, i: Option<&Interval>| {
        let v = |x: f64| finite(x);
        vec![
            (prefix.to_string(), i.and_then(|i| v(i.point))),
            (format!("{prefix}_low"), i.and_then(|i| v(i.low))),
            (format!("{prefix}_high"), i.and_then(|i| v(i.high))),
        ]
    };
    let rows: Vec<serde_json::Value> = a
        .rows
        .iter()
        .map(|r| {
            let mut row = serde_json::json!({
                "policy": r.policy, "runs": r.runs, "episodes": r.episodes,
            });
            for (key, value) in flat("iqm", Some(&r.iqm))
                .into_iter()
                .chain(flat("mean", Some(&r.mean)))
                .chain(flat("optimality_gap", r.optimality_gap.as_ref()))
                .chain(flat("p_improvement", r.improvement.as_ref()))
            {
                row[key] = serde_json::json!(value);
            }
            row
        })
        .collect();
    let profile: Vec<serde_json::Value> = a
        .profiles
        .iter()
        .flat_map(|(policy, points)| {
            points.iter().map(move |(tau, i)| {
                let mut row = interval_json(i);
                row["policy"] = serde_json::json!(policy);
                row["tau"] = serde_json::json!(tau);
                row["fraction"] = row["point"].take();
                row
            })
        })
        .collect();
    serde_json::json!({
        "reference": a.reference,
        "zero": [a.zero.0, a.zero.1],
        "one": [a.one.0, a.one.1],
        "rows": rows,
        "profile": profile,
    })
}

/// `performance_profile.png` and `probability_of_improvement.png` (and their SVGs) in `dir`:
/// the profiles with their stratified bootstrap bands, and each policy's P(X > reference)
/// interval as a horizontal segment at its own height.
pub fn plot_aggregate(a: &Aggregate, dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| TrainingError::report(dir.display().to_string(), e))?;
    let profile = dir.join("performance_profile.png");
    let series: Vec<crate::plot::Series> = a
        .profiles
        .iter()
        .map(|(policy, points)| {
            crate::plot::Series::line(
                policy.clone(),
                points.iter().map(|(t, i)| (*t, i.point)).collect(),
            )
            .with_band(points.iter().map(|(t, i)| (*t, i.low, i.high)).collect())
        })
        .collect();
    crate::plot::line_chart(
        &profile,
        "performance profiles",
        &format!("normalised reward tau (0 = {}, 1 = {})", a.zero.0, a.one.0),
        "fraction of (run, episode) scores > tau",
        &series,
    )?;
    let improvement = dir.join("probability_of_improvement.png");
    let series: Vec<crate::plot::Series> = a
        .rows
        .iter()
        .filter_map(|r| r.improvement.map(|i| (r, i)))
        .enumerate()
        .map(|(k, (r, i))| {
            crate::plot::Series::line(
                r.policy.clone(),
                vec![(i.low, k as f64 + 1.0), (i.high, k as f64 + 1.0)],
            )
        })
        .collect();
    crate::plot::line_chart(
        &improvement,
        &format!("P(X > {}), 95% CI per policy", a.reference),
        "probability of improvement",
        "policy (see legend)",
        &series,
    )?;
    Ok(vec![profile, improvement])
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

/// The table as JSON rows (the format of `write_json`).
pub fn to_json(table: &Comparison) -> Result<String> {
    serde_json::to_string_pretty(&json_rows(table)).map_err(|e| TrainingError::report("table", e))
}

pub fn write_json(table: &Comparison, path: &Path) -> Result<()> {
    let text = to_json(table)? + "\n";
    Ok(write_atomic(path, text.as_bytes())?)
}

/// The JSON rows' columns as CSV (empty cells where the JSON has null).
pub fn write_csv(table: &Comparison, path: &Path) -> Result<()> {
    let header = COLUMNS.map(String::from);
    let records = json_rows(table).into_iter().map(|r| {
        let num = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
        let int = |v: Option<usize>| v.map_or_else(String::new, |v| v.to_string());
        vec![
            r.policy.to_string(),
            r.metric.to_string(),
            r.mean.map_or_else(|| "NaN".into(), |v| v.to_string()),
            r.ci95.map_or_else(|| "NaN".into(), |v| v.to_string()),
            r.episodes.to_string(),
            r.reference.unwrap_or_default().to_string(),
            num(r.difference),
            num(r.difference_low),
            num(r.difference_high),
            num(r.p_improvement),
            num(r.p_improvement_low),
            num(r.p_improvement_high),
            int(r.wins),
            int(r.ties),
            int(r.losses),
            num(r.p_value),
            num(r.p_holm),
            r.verdict.unwrap_or_default().to_string(),
        ]
    });
    write_csv_records(path, &header, records)
}

/// One row per (policy, training run, episode): `policy,oracle,run,episode,seed,steps,reward,
/// <metrics...>`, as CSV, or as JSON rows when `path` ends in `.json`. Any statistic can be
/// computed from it later.
pub fn write_episodes(results: &[EpisodeResult], metric_names: &[&str], path: &Path) -> Result<()> {
    let header: Vec<String> = [
        "policy", "oracle", "run", "episode", "seed", "steps", "reward",
    ]
    .into_iter()
    .chain(metric_names.iter().copied())
    .map(String::from)
    .collect();
    if path.extension().is_some_and(|e| e == "json") {
        let rows: Vec<serde_json::Value> = results
            .iter()
            .map(|r| {
                let mut row = serde_json::json!({
                    "policy": r.policy, "oracle": r.oracle, "run": r.run, "episode": r.episode,
                    "seed": r.seed, "steps": r.steps, "reward": finite(r.reward),
                });
                for (name, v) in metric_names.iter().zip(&r.metrics) {
                    row[*name] = serde_json::json!(finite(*v));
                }
                row
            })
            .collect();
        let text = serde_json::to_string(&rows)
            .map_err(|e| TrainingError::report(path.display().to_string(), e))?
            + "\n";
        return Ok(write_atomic(path, text.as_bytes())?);
    }
    let records = results.iter().map(|r| {
        [
            r.policy.clone(),
            r.oracle.to_string(),
            r.run.to_string(),
            r.episode.to_string(),
            r.seed.to_string(),
            r.steps.to_string(),
            r.reward.to_string(),
        ]
        .into_iter()
        .chain(r.metrics.iter().map(|v| v.to_string()))
        .collect()
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

    fn episode(policy: &str, episode: usize, reward: f64) -> EpisodeResult {
        EpisodeResult {
            policy: policy.into(),
            oracle: policy == "oracle",
            episode,
            run: 0,
            seed: episode as u64,
            steps: 1,
            reward,
            metrics: vec![-reward],
            trajectory: Vec::new(),
        }
    }

    fn comparison() -> (Vec<EpisodeResult>, Comparison) {
        let mut results = Vec::new();
        for e in 0..20 {
            let base = (e % 7) as f64;
            results.push(episode("a", e, base));
            results.push(episode("b, c", e, base - 1.0 - 0.01 * e as f64));
            results.push(episode("oracle", e, base + 2.0));
        }
        let fair = ["a".to_string(), "b, c".to_string()];
        let table = planetgym_agents::comparison::compare(
            &results,
            &["latency"],
            &fair,
            &Default::default(),
        )
        .unwrap();
        (results, table)
    }

    #[test]
    fn json_and_csv_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (j, c) = (dir.path().join("t.json"), dir.path().join("t.csv"));
        let (_, table) = comparison();
        write_json(&table, &j).unwrap();
        write_csv(&table, &c).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&j).unwrap()).unwrap();
        assert_eq!(json[0]["policy"], "a");
        assert_eq!(json[0]["metric"], "reward");
        assert_eq!(json[0]["episodes"], 20);
        // The reference has no paired fields; the others are compared with it.
        assert!(json[0]["reference"].is_null() && json[0]["verdict"].is_null());
        assert_eq!(json[2]["policy"], "b, c");
        assert_eq!(json[2]["reference"], "a");
        assert_eq!(json[2]["losses"], 20);
        assert_eq!(json[2]["verdict"], "worse");
        assert_eq!(json[3]["verdict"], "higher", "latency is not the reward");
        assert_eq!(json[4]["verdict"], "bound");
        let csv = std::fs::read_to_string(&c).unwrap();
        assert!(
            csv.starts_with(&(COLUMNS.join(",") + "\na,reward,")),
            "{csv}"
        );
        assert!(csv.contains("\"b, c\",reward,"), "{csv}");
        assert!(csv.contains(",a,") && csv.contains(",worse\n"), "{csv}");
    }

    #[test]
    fn paired_table_and_episode_rows() {
        let (results, table) = comparison();
        let text = render_paired(&table, "reward", 10_000);
        assert!(text.contains("paired against a"), "{text}");
        let line = text.lines().find(|l| l.starts_with("b, c")).unwrap();
        assert!(line.contains("0/0/20") && line.ends_with("worse"), "{text}");
        let oracle = text.lines().find(|l| l.starts_with("oracle")).unwrap();
        assert!(oracle.ends_with("bound"), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let (csv, json) = (dir.path().join("e.csv"), dir.path().join("e.json"));
        write_episodes(&results, &["latency"], &csv).unwrap();
        write_episodes(&results, &["latency"], &json).unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(text.lines().count(), 61);
        assert!(text.starts_with(
            "policy,oracle,run,episode,seed,steps,reward,latency\na,false,0,0,0,1,0,"
        ));
        let rows: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(rows[2]["policy"], "oracle");
        assert_eq!(rows[2]["oracle"], true);
        assert_eq!(rows[2]["latency"], -2.0);
    }
}
