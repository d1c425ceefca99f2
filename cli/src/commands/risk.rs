//! `planetgym risk`: failure predictors trained and scored on real labels, on a strictly
//! temporal split, with bootstrap intervals and paired differences against the threshold rule.

use anyhow::{Context, Result};
use planetgym_agents::risk::metrics::Scores;
use planetgym_agents::risk::tasks::{TASKS, Task, task};
use planetgym_agents::risk::{Report, censoring};
use planetgym_training::plot::{Series, line_chart};
use planetgym_training::risk::{Options, evaluate};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "Examples:\n  planetgym risk --task batch-task-failure\n  planetgym risk --task all --holdout --out results/risk\n  planetgym risk --task fleet-failure --export exports/fleet-failure\n  planetgym risk --censoring --out results/risk\n  planetgym risk --task lora-request-failure --data ../shared/data/alibaba/v2026_genai/lora_request_trace_2024-11-15_to_11-30.csv\n\nTasks: batch-task-failure (Alibaba v2017 batch tasks), lora-request-failure (Alibaba v2026 LoRA requests),
pod-failure (openb GPU pods, replayed through the placement simulator with FGD),
slo-breach-15m, -30m, -60m (traffic sites' telemetry with failure precursors, simulated; recall by lead time).\nRows in time order: the first 60 % train, the next 20 % tune, the last 20 % test; rows whose\nlabel is known only after the next part starts are purged. --holdout also scores the shared\ndata's held-out file (never trained or tuned on): the trace's continuation, or for pod-failure\nanother workload mix, replayed from an empty cluster.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The task, or `all`.
    #[arg(long, default_value = "all")]
    task: String,
    /// The task's trace (default: the shipped copy).
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Also score the task's held-out file in $PLANETGYM_HOLDOUT (default
    /// ../shared/data/holdout): the trace's continuation, or for pod-failure another mix.
    #[arg(long)]
    holdout: bool,
    /// Training seeds of the MLP (its probability is their mean); 0 leaves it out.
    #[arg(long, default_value_t = 3)]
    mlp_seeds: usize,
    /// Bootstrap resamples per interval.
    #[arg(long, default_value_t = 1000)]
    resamples: usize,
    /// Seed of the resamples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Runs the censored-label experiment on the `risk` scenario's fleet instead of the tasks:
    /// predictors retrained on what a mitigating fleet observed, against the truth, and three
    /// corrections (results in DIR/censoring/ with --out).
    #[arg(long)]
    censoring: bool,
    /// Censoring: weeks each predictor trains on.
    #[arg(long, default_value_t = 20)]
    weeks: usize,
    /// Censoring: evaluation episodes (weeks) each deployed predictor runs.
    #[arg(long, default_value_t = 60)]
    episodes: usize,
    /// Censoring: rounds of naive retraining.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Export the task's logistic predictor for shadow mode to DIR instead of the report:
    /// predictor.onnx, manifest.json and test_records.jsonl (needs one --task).
    #[arg(long, value_name = "DIR", conflicts_with = "censoring")]
    export: Option<PathBuf>,
    /// Folder for TASK/report.json, TASK/scores.csv, TASK/reliability_PART.png and, for onset
    /// tasks, TASK/lead_time.png (each PNG with an SVG beside it).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<()> {
    if args.censoring {
        return censoring(args);
    }
    if let Some(dir) = &args.export {
        if args.task == "all" {
            anyhow::bail!("--export writes one predictor: give --task too");
        }
        let t = task(&args.task).map_err(anyhow::Error::msg)?;
        let m = planetgym_deploy::predictor::export(t, args.data.as_deref(), dir)?;
        println!(
            "exported {} ({}) to {}: test AUROC {}, alarm at p >= {:.4} (1 % false alarms on validation); try: planetgym shadow --predictor {} --input {}",
            m.task,
            m.description,
            dir.display(),
            interval(&m.test.auroc),
            m.alarm_threshold,
            dir.display(),
            dir.join(planetgym_deploy::predictor::SAMPLE_FILE).display()
        );
        return Ok(());
    }
    let chosen: Vec<&Task> = if args.task == "all" {
        if args.data.is_some() {
            anyhow::bail!("--data names one trace: give --task too");
        }
        TASKS.iter().collect()
    } else {
        vec![task(&args.task).map_err(anyhow::Error::msg)?]
    };
    let holdout = if args.holdout {
        Some(super::holdout_dir()?)
    } else {
        None
    };
    let mut out = std::io::stdout().lock();
    for t in chosen {
        let held = holdout
            .as_ref()
            .zip(t.holdout)
            .map(|(dir, file)| dir.join(file));
        let options = Options {
            mlp_seeds: args.mlp_seeds,
            resamples: args.resamples,
            seed: args.seed,
        };
        let r = evaluate(t, args.data.as_deref(), held.as_deref(), &options)
            .map_err(anyhow::Error::msg)?;
        print(&mut out, t, &r)?;
        if let Some(dir) = &args.out {
            write(&dir.join(t.name), &r)?;
        }
    }
    Ok(())
}

fn censoring(args: &Args) -> Result<()> {
    let options = censoring::Options {
        weeks: args.weeks,
        episodes: args.episodes,
        rounds: args.rounds,
        resamples: args.resamples,
        seed: args.seed,
        ..censoring::Options::default()
    };
    let report = censoring::run(&options).map_err(anyhow::Error::msg)?;
    print_censoring(&mut std::io::stdout().lock(), &report)?;
    if let Some(dir) = &args.out {
        let dir = dir.join("censoring");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let json = dir.join("report.json");
        std::fs::write(&json, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", json.display()))?;
        let mut text = Vec::new();
        print_censoring(&mut text, &report)?;
        let table = dir.join("table.txt");
        std::fs::write(&table, text)
            .with_context(|| format!("cannot write {}", table.display()))?;
    }
    Ok(())
}

fn mean_ci((mean, ci): (f64, f64)) -> String {
    format!("{mean:.0} ± {ci:.0}")
}

/// The heading of [`deployed`]'s columns.
fn deployed_heading() -> String {
    format!(
        "{:<14} {:<12} {:<12} {:<10} {:<10} {:<22} w/l",
        "total", "interrupt", "mitigation", "failures", "mitigated", "total - cf"
    )
}

fn deployed(d: &censoring::Deployed) -> String {
    format!(
        "{:<14} {:<12} {:<12} {:<10} {:<10} {:<22} {:>2}/{:<2}",
        mean_ci(d.total_cost),
        mean_ci(d.interruption_vm_min),
        mean_ci(d.mitigation_cost),
        format!("{:.1}", d.failures.0),
        format!("{:.1}", d.mitigations.0),
        format!(
            "{:+.0} [{:+.0}, {:+.0}]",
            d.vs_reference.point, d.vs_reference.low, d.vs_reference.high
        ),
        d.wins,
        d.losses
    )
}

fn print_censoring(out: &mut impl Write, r: &censoring::Report) -> Result<()> {
    writeln!(out, "{}", r.heading)?;
    writeln!(
        out,
        "Scores on the unmitigated test weeks (true labels); deployed costs per week in VM-minutes (mean ± 95 % CI), paired difference of the total cost from the counterfactual predictor's, cheaper/dearer weeks."
    )?;
    writeln!(
        out,
        "{:<40} {:>6} {:>5}  {:<22} {:<22} {:<22} {:>6}  {}",
        "predictor trained on",
        "rows",
        "pos",
        "AUROC",
        "AUROC - cf",
        "ECE",
        "risk+",
        deployed_heading()
    )?;
    for v in &r.variants {
        writeln!(
            out,
            "{:<40} {:>6} {:>5}  {:<22} {:<22} {:<22} {:>6.3}  {}",
            v.predictor,
            v.rows,
            v.positives,
            interval(&v.scores.auroc),
            interval(&v.vs_counterfactual.auroc),
            interval(&v.scores.ece),
            v.risk_before_failures,
            deployed(&v.deployed)
        )?;
    }
    writeln!(
        out,
        "\nNaive retraining, round by round (each round deploys the last predictor, logs what is observed, retrains on it):"
    )?;
    writeln!(
        out,
        "{:<6} {:<22} {:>6} {:>9} {:>9}  {}",
        "round",
        "AUROC",
        "risk+",
        "observed",
        "censored",
        deployed_heading()
    )?;
    for k in &r.rounds {
        writeln!(
            out,
            "{:<6} {:<22} {:>6.3} {:>9} {:>9}  {}",
            k.round,
            interval(&k.auroc),
            k.risk_before_failures,
            k.observed_positives,
            k.censored_positives,
            deployed(&k.deployed)
        )?;
    }
    Ok(())
}

fn interval(i: &planetgym_agents::stats::bootstrap::Interval) -> String {
    format!("{:.3} [{:.3}, {:.3}]", i.point, i.low, i.high)
}

fn columns(s: &Scores) -> [String; 4] {
    [&s.auroc, &s.auprc, &s.recall_at_1pct, &s.ece].map(interval)
}

fn print(out: &mut impl Write, t: &Task, r: &Report) -> Result<()> {
    writeln!(out, "{}: {}", t.name, t.about)?;
    writeln!(
        out,
        "  {} rows, {} failed: train {}, validation {}, purged {} (label known only after the next part starts); test from t = {}",
        r.rows, r.failures, r.train_rows, r.validation_rows, r.purged, r.cuts[1]
    )?;
    for note in &r.notes {
        writeln!(out, "  {note}")?;
    }
    for (name, about) in &r.predictors {
        writeln!(out, "  {name}: {about}")?;
    }
    writeln!(
        out,
        "  {:<8} {:<10} {:>6} {:>5}  {:<22} {:<22} {:<22} {:<22}",
        "part", "predictor", "rows", "fail", "AUROC", "AUPRC", "recall@1%FAR", "ECE"
    )?;
    for s in &r.scored {
        let [a, b, c, d] = columns(&s.scores);
        writeln!(
            out,
            "  {:<8} {:<10} {:>6} {:>5}  {a:<22} {b:<22} {c:<22} {d:<22}",
            s.part, s.predictor, s.rows, s.failures
        )?;
    }
    for l in &r.lead_times {
        let points: Vec<String> = l
            .recall
            .iter()
            .map(|(lead, recall)| format!("{lead:.0} min {:.2}", recall.point))
            .collect();
        writeln!(
            out,
            "  {:<8} {:<10} recall of {} onsets by lead (alarm at 1 % false alarms on validation): {}",
            "test",
            l.predictor,
            l.onsets,
            points.join(", ")
        )?;
    }
    for p in &r.paired {
        let [a, b, c, d] = columns(&p.difference);
        writeln!(
            out,
            "  {:<8} {:<10} {:>12}  {a:<22} {b:<22} {c:<22} {d:<22}",
            p.part,
            p.predictor,
            format!("- {}", p.reference)
        )?;
    }
    writeln!(out)?;
    Ok(())
}

fn write(dir: &Path, r: &Report) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = dir.join("report.json");
    std::fs::write(&json, serde_json::to_string_pretty(r)?)
        .with_context(|| format!("cannot write {}", json.display()))?;
    let csv = dir.join("scores.csv");
    let mut rows = String::from("part,predictor,reference,metric,point,low,high\n");
    let mut add = |part: &str, predictor: &str, reference: &str, s: &Scores| {
        for (name, i) in [
            ("auroc", s.auroc),
            ("auprc", s.auprc),
            ("recall_at_1pct_far", s.recall_at_1pct),
            ("ece", s.ece),
        ] {
            rows.push_str(&format!(
                "{part},{predictor},{reference},{name},{},{},{}\n",
                i.point, i.low, i.high
            ));
        }
    };
    for s in &r.scored {
        add(&s.part, &s.predictor, "", &s.scores);
    }
    for p in &r.paired {
        add(&p.part, &p.predictor, &p.reference, &p.difference);
    }
    std::fs::write(&csv, rows).with_context(|| format!("cannot write {}", csv.display()))?;
    if !r.lead_times.is_empty() {
        let series: Vec<Series> = r
            .lead_times
            .iter()
            .map(|l| {
                let points = l.recall.iter().map(|(lead, r)| (*lead, r.point)).collect();
                let band = l
                    .recall
                    .iter()
                    .map(|(lead, r)| (*lead, r.low, r.high))
                    .collect();
                Series::line(&l.predictor, points).with_band(band)
            })
            .collect();
        line_chart(
            &dir.join("lead_time.png"),
            &format!("{}: recall by lead time (test)", r.task),
            "minutes before the onset",
            "share of onsets with an alarm",
            &series,
        )?;
    }
    for part in ["test", "holdout"] {
        let mut series = vec![Series::line(
            "perfectly calibrated",
            vec![(0.0, 0.0), (1.0, 1.0)],
        )];
        for s in r.scored.iter().filter(|s| s.part == part) {
            let points = s
                .reliability
                .iter()
                .filter(|b| b.rows > 0)
                .map(|b| (b.predicted, b.observed))
                .collect();
            series.push(Series::line(&s.predictor, points));
        }
        if series.len() > 1 {
            line_chart(
                &dir.join(format!("reliability_{part}.png")),
                &format!("{}: reliability ({part})", r.task),
                "predicted probability of failure",
                "observed failure rate",
                &series,
            )?;
        }
    }
    Ok(())
}
