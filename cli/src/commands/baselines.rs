//! `planetgym baselines` and `planetgym eval`: every baseline (and a trained policy) on the same
//! seeded episodes, as one results table, plus what the scenario's registry entry adds.

use super::{Progress, config_text};
use anyhow::{Context, Result, bail};
use planetgym_agents::comparison::{self, CompareOptions};
use planetgym_agents::evaluate::EpisodeResult;
use planetgym_agents::nn::policy::PolicyFile;
use planetgym_agents::registry::{
    self, Built, CurveSpec, RegisteredScenario, ReportExtra, ScenarioVisitor, toml_string,
    with_scenario,
};
use planetgym_agents::stats::mean_ci95;
use planetgym_deploy::export;
use planetgym_env::{Scenario, bounds};
use planetgym_training::error::TrainingError;
use planetgym_training::session::{LEARNED, LEARNED_SAMPLED};
use rayon::prelude::*;

/// The row of an exported policy in `eval` tables.
const EXPORTED: &str = "onnx";
use planetgym_training::{plot, report, session};
use std::io::Write;
use std::path::PathBuf;

pub const BASELINES_EXAMPLES: &str = "Examples:\n  planetgym baselines --scenario traffic\n  planetgym baselines --scenario traffic --out results/traffic   # per-episode rows, table\n  planetgym baselines --scenario traffic --policies lp,greedy-spillover@0.6,greedy-spillover@0.9\n  planetgym baselines --scenario capacity --policies reactive@0.7,forecast+30%:holt-winters-additive(24)\n  planetgym baselines --scenario traffic --config my.toml --episodes 10 --seed 3 --json out.json\n  planetgym baselines --scenario traffic --set episode_intervals=60 --set world.kind=synthetic\n  planetgym baselines --scenario batch --set trace=log.swf --set window_jobs=1024 --set backfill=true\n\nThe config only lists fields that differ from `planetgym scenarios --show SCENARIO`; --set\noverrides one field (dotted path) of it. --trace, --jobs, --backfill, --lenient (batch) and\n--pods, --nodes (placement) are shorthands for --set trace=, window_jobs=, backfill=true,\nlenient=true, pods= and nodes=.";

pub const EVAL_EXAMPLES: &str = "Examples:\n  planetgym eval --policy experiments/policies/capacity --episodes 10 --seed 7\n  planetgym eval --policy exports/capacity --episodes 10 --seed 7   # an ONNX export\n  planetgym eval --policy runs/try1 --scenario traffic --episodes 5 --json out.json\n\nThe scenario config is the one the policy was trained on unless --config replaces it;\n--set overrides one field of it.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario name (see `planetgym scenarios`); for eval, defaults to the policy's.
    #[arg(long)]
    scenario: Option<String>,
    /// eval: the policy to evaluate: a run directory (or any directory with a policy.json;
    /// several training runs in run-K/ count as one method), or an export (policy.onnx +
    /// manifest.json, run by planetgym's ONNX interpreter, row `onnx`).
    #[arg(long, value_name = "DIR")]
    policy: Option<PathBuf>,
    /// eval: act as ensembles of N consecutive training runs of --policy (run-0 to run-N-1 is
    /// one policy, and so on), each averaging its members' action parameters; the ensembles
    /// are the method's runs. The runs must divide into groups of N.
    #[arg(long, value_name = "N")]
    ensemble: Option<usize>,
    /// eval: also run each training run of --policy (or each ensemble) as the prior of the
    /// decision-time search SEARCH, which simulates the policy's K most likely actions (batch:
    /// rollout-RULE@K[+Hh], row `ppo+rollout-RULE@K[+Hh]`; rollout-RULE@K alone is its ablation;
    /// union-rollout-RULE@K[+Hh], row `ppo+union-rollout-RULE@K[+Hh]`, simulates the base
    /// rule's K best and the policy's K most likely).
    #[arg(long, value_name = "SEARCH")]
    guide: Option<String>,
    /// TOML config with the fields to change from the scenario's default.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Set one config field (dotted path, repeatable), e.g. --set interval_s=300.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Number of evaluation episodes (the same episodes for every policy). Default: a pilot,
    /// then as many episodes as the paired comparisons need (at most the scenario's maximum).
    #[arg(long)]
    episodes: Option<usize>,
    /// The policy every other is compared with (default: the best fair baseline).
    #[arg(long, value_name = "POLICY")]
    reference: Option<String>,
    /// Bootstrap resamples of each paired comparison.
    #[arg(long, default_value_t = comparison::RESAMPLES)]
    resamples: usize,
    /// The baselines to run, comma-separated (default: all). Parameterised names are allowed
    /// where the scenario has them: greedy-spillover@U (traffic), reactive@U,
    /// forecast+H%:FORECASTER(N) and forecast-dp:FORECASTER(N) (capacity),
    /// rollout-RULE@K[+Hh] (batch), rollout-RULE@K+H[xS] (placement); an unknown name lists
    /// the known ones.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    policies: Option<Vec<String>>,
    /// Folder for every output file: episodes.csv (one row per policy, run and episode),
    /// table.csv and table.json, report/ (eval: rliable aggregates and plots) and the
    /// scenario's curves. Without it only the files named by the flags below are written.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Where to write one row per (policy, run, episode) (CSV, or JSON if it ends in .json;
    /// default OUT/episodes.csv with --out).
    #[arg(long, value_name = "FILE")]
    per_episode: Option<PathBuf>,
    /// eval: where to write rliable's aggregates of the trained runs and the baselines
    /// (aggregate.json, performance_profile.png/.svg, probability_of_improvement.png/.svg;
    /// default OUT/report with --out).
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// Evaluate on the scenario's out-of-sample split in $PLANETGYM_HOLDOUT (default
    /// ../shared/data/holdout): never trained or tuned on.
    #[arg(long)]
    holdout: bool,
    /// Seed of the evaluation episodes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the table as JSON rows {"policy","metric","mean","ci95","episodes", and the
    /// paired fields: "reference","difference"(_low/_high),"p_improvement"(_low/_high),
    /// "wins","ties","losses","p_value","p_holm","verdict"} (default OUT/table.json with --out).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the table as CSV, same columns as the JSON rows (default OUT/table.csv with --out).
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write every step of every episode as CSV (policy, episode, step, reward, metrics).
    #[arg(long, value_name = "FILE")]
    timeseries: Option<PathBuf>,
    /// Worker threads (0 = one per core). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Scenarios with metric curves (placement): where to write them (CSV; default
    /// OUT/curves.csv with --out).
    #[arg(long, value_name = "FILE")]
    curves: Option<PathBuf>,
    /// Scenarios with metric curves (placement): where to plot the first one (PNG, and an SVG
    /// beside it; default OUT/curves.png with --out).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// batch: shorthand for --set trace=FILE.
    #[arg(long, value_name = "FILE")]
    trace: Option<String>,
    /// batch: shorthand for --set window_jobs=N.
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// batch: shorthand for --set backfill=true.
    #[arg(long)]
    backfill: bool,
    /// batch: shorthand for --set lenient=true.
    #[arg(long)]
    lenient: bool,
    /// placement: shorthand for --set pods=FILE.
    #[arg(long, value_name = "FILE")]
    pods: Option<String>,
    /// placement: shorthand for --set nodes=FILE.
    #[arg(long, value_name = "FILE")]
    nodes: Option<String>,
}

impl Args {
    /// Where output `name` goes: the flag's own path, else `name` in `--out`, else nowhere.
    fn output(&self, flag: &Option<PathBuf>, name: &str) -> Option<PathBuf> {
        flag.clone()
            .or_else(|| self.out.as_ref().map(|dir| dir.join(name)))
    }

    /// The `--set` overrides, the shorthand flags first (refused for another scenario).
    fn overrides(&self, scenario: &str) -> Result<Vec<String>> {
        let shorthands: [(&str, &str, &str, Option<String>); 6] = [
            (
                "batch",
                "--trace",
                "trace",
                self.trace.as_ref().map(|v| toml_string(v)),
            ),
            (
                "batch",
                "--jobs",
                "window_jobs",
                self.jobs.map(|n| n.to_string()),
            ),
            (
                "batch",
                "--backfill",
                "backfill",
                self.backfill.then(|| "true".into()),
            ),
            (
                "batch",
                "--lenient",
                "lenient",
                self.lenient.then(|| "true".into()),
            ),
            (
                "placement",
                "--pods",
                "pods",
                self.pods.as_ref().map(|v| toml_string(v)),
            ),
            (
                "placement",
                "--nodes",
                "nodes",
                self.nodes.as_ref().map(|v| toml_string(v)),
            ),
        ];
        let mut sets = Vec::new();
        for (owner, _, key, value) in &shorthands {
            let Some(value) = value else { continue };
            if *owner != scenario {
                let flags: Vec<&str> = shorthands
                    .iter()
                    .filter(|s| s.0 == *owner)
                    .map(|s| s.1)
                    .collect();
                let (last, rest) = flags.split_last().unwrap_or((&"", &[]));
                bail!(
                    "{} and {last} apply to the {owner} scenario only",
                    rest.join(", ")
                );
            }
            sets.push(format!("{key}={value}"));
        }
        sets.extend(self.sets.iter().cloned());
        Ok(sets)
    }
}

pub fn run_baselines(args: Args) -> Result<()> {
    if args.policy.is_some() {
        bail!("--policy belongs to `planetgym eval`");
    }
    run(args)
}

pub fn run_eval(args: Args) -> Result<()> {
    if args.policy.is_none() {
        bail!("eval needs --policy DIR (a run directory or an exported policy)");
    }
    run(args)
}

fn run(args: Args) -> Result<()> {
    args.episodes
        .map_or(Ok(()), |n| bounds::episodes("--episodes", n))
        .and_then(|()| bounds::threads("--threads", args.threads))
        .map_err(anyhow::Error::msg)?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build_global()
        .context("could not start worker threads")?;
    let trained = Trained::load(args.policy.as_deref())?;
    let scenario = trained.scenario(args.scenario.as_deref())?;
    let (runs, export) = (&trained.runs, trained.export.as_deref());
    if let Some(other) = runs.iter().find(|r| r.scenario != scenario) {
        bail!(
            "the runs of {} were trained on different scenarios ({} and {})",
            args.policy
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display(),
            scenario,
            other.scenario
        );
    }
    let fallback = trained
        .trained_on
        .as_ref()
        .map(|(_, config)| (config.as_str(), "the policy's scenario config"));
    // The holdout split first, so that the user's own --set changes win.
    let mut sets = if args.holdout {
        holdout_sets(&scenario)?
    } else {
        Vec::new()
    };
    sets.extend(args.overrides(&scenario)?);
    let (text, origin) = config_text(args.config.as_deref(), fallback, &sets, Some(&scenario))?;
    with_scenario(
        &scenario,
        &text,
        &origin,
        Table {
            args: &args,
            runs,
            export,
        },
    )
}

/// A trained policy given by `--policy`: its training runs or its export, and the scenario and
/// scenario config it was trained on.
pub struct Trained {
    pub runs: Vec<PolicyFile>,
    pub export: Option<PathBuf>,
    /// (scenario, scenario config).
    pub trained_on: Option<(String, String)>,
}

impl Trained {
    /// The policy in `dir` (a run directory, a folder of runs or an export); nothing for None.
    pub fn load(dir: Option<&std::path::Path>) -> Result<Self> {
        let export = dir.filter(|dir| export::is_export(dir));
        let runs = match (dir, export) {
            (Some(dir), None) => session::load_runs(dir)?,
            _ => Vec::new(),
        };
        let trained_on = match (runs.first(), export) {
            (Some(p), _) => Some((p.scenario.clone(), p.scenario_config.clone())),
            (None, Some(dir)) => {
                let m = export::Artifact::load(dir)?.manifest;
                Some((m.scenario, m.scenario_config))
            }
            (None, None) => None,
        };
        Ok(Self {
            runs,
            export: export.map(std::path::Path::to_path_buf),
            trained_on,
        })
    }

    /// The scenario to run: `requested`, else the policy's; refused when they differ.
    pub fn scenario(&self, requested: Option<&str>) -> Result<String> {
        Ok(match (requested, &self.trained_on) {
            (Some(s), Some((p, _))) if s != p => {
                bail!("the policy was trained on `{p}`, not `{s}`")
            }
            (Some(s), _) => s.to_string(),
            (None, Some((p, _))) => p.clone(),
            (None, None) => bail!("--scenario is required; known: {}", registry::names()),
        })
    }
}

struct Table<'a> {
    args: &'a Args,
    /// The trained policy's runs (one per training seed); empty for `baselines`.
    runs: &'a [PolicyFile],
    /// The exported policy evaluated instead of runs.
    export: Option<&'a std::path::Path>,
}

/// The `--set` overrides of `scenario`'s holdout split.
fn holdout_sets(scenario: &str) -> Result<Vec<String>> {
    let dir = super::holdout_dir()?;
    struct Holdout<'a>(&'a std::path::Path);
    impl registry::ScenarioVisitor for Holdout<'_> {
        type Output = Result<Vec<String>, &'static str>;
        type Error = anyhow::Error;
        fn visit<S: RegisteredScenario>(self, _: Built<S>) -> Result<Self::Output> {
            Ok(S::holdout(self.0))
        }
    }
    with_scenario(scenario, "", "default", Holdout(&dir))?
        .map_err(|why| anyhow::anyhow!("--holdout: {scenario} has no holdout split: {why}"))
}

impl ScenarioVisitor for Table<'_> {
    type Output = ();
    type Error = anyhow::Error;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<()> {
        let record = matches!(S::REPORT, ReportExtra::Curves(_));
        let results = run_table(&built, self.runs, self.export, self.args, record)?;
        match S::REPORT {
            ReportExtra::None => Ok(()),
            ReportExtra::Curves(spec) => write_curves(&built.env, &results, &spec, self.args),
            ReportExtra::GapToOracle => print_gap_to_oracle(&results),
            ReportExtra::GapToBound { cost_metric } => {
                print_gap_to_bound(&built, &results, cost_metric)
            }
        }
    }
}

/// Evaluates the baselines and the trained runs, prints the table and the paired comparison,
/// and writes the requested files (per-episode rows always). Returns the episodes (with every
/// step when `record` or `--timeseries` asks for it).
fn run_table<S: RegisteredScenario>(
    built: &Built<S>,
    runs: &[PolicyFile],
    export: Option<&std::path::Path>,
    args: &Args,
    record: bool,
) -> Result<Vec<EpisodeResult>> {
    let env = &built.env;
    let baselines = match &args.policies {
        Some(names) => built
            .select_baselines(names)
            .map_err(|e| anyhow::anyhow!("--policies: {e}"))?,
        None => built.baselines(),
    };
    let fair = planetgym_agents::evaluate::fair_names(&baselines);
    let record = record || args.timeseries.is_some();
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--out: could not create {}", dir.display()))?;
    }
    let group = args.ensemble.unwrap_or(1);
    let mut learned = session::run_contenders(env, runs, group)?;
    if let Some(search) = &args.guide {
        if runs.is_empty() {
            bail!("--guide needs the learned policy to guide the search: pass --policy DIR");
        }
        learned.extend(session::guided_contenders(
            env,
            runs,
            group,
            LEARNED,
            |prior| {
                env.guided(&built.config, search, prior)
                    .map_err(|e| TrainingError::config("--guide", e))
            },
        )?);
    }
    if let Some(dir) = export {
        learned.push((0, export::exported_contender(dir, EXPORTED, env)?));
    }
    let contenders = baselines.len() + learned.len();
    let budget = S::EPISODES;
    let first = args.episodes.unwrap_or(budget.pilot);
    let bar = Progress::new(
        "evaluating (steps)",
        (contenders * first * built.steps_per_episode()) as u64,
        "{elapsed_precise} [{bar:40}] {percent:>3}% {per_sec} ETA {eta}",
    )?;
    let evaluate = |episodes: std::ops::Range<usize>| {
        session::evaluate_runs(
            env,
            &baselines,
            &learned,
            episodes,
            args.seed,
            record,
            &|| bar.inc(1),
        )
    };
    let mut results = evaluate(0..first)?;
    let mut pilot_note = String::new();
    if args.episodes.is_none() {
        let needed =
            comparison::episodes_after_pilot(&results, &fair, args.reference.as_deref(), budget)
                .map_err(anyhow::Error::msg)?;
        if needed > first {
            bar.set_length((contenders * needed * built.steps_per_episode()) as u64);
            results.extend(evaluate(first..needed)?);
        }
        pilot_note = format!(
            " (pilot of {first}, then as many as the paired comparisons need, at most {}; --episodes overrides)",
            budget.max
        );
    }
    bar.finish();
    if let Some(why) = comparison::indistinguishable(&results) {
        eprintln!("warning: {why}");
    }
    let episodes = results.iter().map(|r| r.episode + 1).max().unwrap_or(0);
    let options = CompareOptions {
        reference: args.reference.clone(),
        resamples: args.resamples,
        seed: args.seed,
    };
    let table = comparison::compare(&results, env.metric_names(), &fair, &options)
        .map_err(anyhow::Error::msg)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}\nepisodes {episodes}{pilot_note}, seed {}{}\n",
        built.heading(),
        args.seed,
        if runs.len() > 1 {
            format!(
                ", {} training runs of {LEARNED} and {LEARNED_SAMPLED} (one row each: the mean over \
                 runs; its paired interval and verdict also resample the runs, and need Student's t \
                 over their means)",
                runs.len()
            )
        } else {
            String::new()
        }
    )?;
    write!(out, "{}", report::render_table(&table.rows))?;
    writeln!(
        out,
        "units: reward [episode return, higher is better], {}",
        super::scenarios::metric_legend(S::METRICS)
    )?;
    write!(
        out,
        "{}",
        report::render_paired(&table, "reward", args.resamples)
    )?;
    let mut written = Vec::new();
    if let Some(path) = args.output(&args.json, "table.json") {
        report::write_json(&table, &path)?;
        written.push(path);
    }
    if let Some(path) = args.output(&args.csv, "table.csv") {
        report::write_csv(&table, &path)?;
        written.push(path);
    }
    if !runs.is_empty() {
        match comparison::aggregate(
            &results,
            &fair,
            args.reference.as_deref(),
            args.resamples,
            args.seed,
        ) {
            Ok(aggregate) => {
                write!(out, "{}", report::render_aggregate(&aggregate))?;
                if let Some(dir) = args.output(&args.report_dir, "report") {
                    let json = serde_json::to_string_pretty(&report::aggregate_json(&aggregate))?;
                    std::fs::create_dir_all(&dir)
                        .and_then(|()| std::fs::write(dir.join("aggregate.json"), json + "\n"))
                        .with_context(|| format!("could not write {}", dir.display()))?;
                    report::plot_aggregate(&aggregate, &dir)?;
                    written.push(dir);
                }
            }
            Err(why) => writeln!(out, "\nno normalised aggregates: {why}")?,
        }
    }
    if let Some(path) = args.output(&args.per_episode, "episodes.csv") {
        report::write_episodes(&results, env.metric_names(), &path)?;
        writeln!(out, "per-episode rows: {}", path.display())?;
        written.push(path);
    }
    if let Some(path) = &args.timeseries {
        report::write_timeseries(&results, env.metric_names(), path)?;
        written.push(path.clone());
    }
    if written.is_empty() {
        writeln!(
            out,
            "no files written: --out DIR keeps the per-episode rows, the table and the plots"
        )?;
    } else {
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        writeln!(out, "written: {}", names.join(", "))?;
    }
    Ok(results)
}

/// The scenario's metric curves over an episode (CSV) and a plot of the first one.
fn write_curves<S: Scenario>(
    env: &S,
    results: &[EpisodeResult],
    spec: &CurveSpec,
    args: &Args,
) -> Result<()> {
    let curves_path = args.output(&args.curves, "curves.csv");
    let plot_path = args.output(&args.plot, "curves.png");
    if curves_path.is_none() && plot_path.is_none() {
        return Ok(());
    }
    let curves = report::curves(
        results,
        env.metric_names(),
        spec.x_metric,
        spec.metrics,
        &spec.x_values(),
    )?;
    if let Some(path) = &curves_path {
        report::write_curves(&curves, spec.x_metric, spec.metrics, path)?;
        writeln!(std::io::stdout().lock(), "\ncurves: {}", path.display())?;
    }
    let Some(plot_path) = plot_path else {
        return Ok(());
    };
    let series: Vec<plot::Series> = curves
        .iter()
        .map(|(name, rows)| {
            plot::Series::line(
                name.clone(),
                rows.iter()
                    .map(|(x, v)| (100.0 * x, 100.0 * v[0]))
                    .collect(),
            )
        })
        .collect();
    plot::line_chart(&plot_path, spec.title, spec.x_label, spec.y_label, &series)?;
    writeln!(std::io::stdout().lock(), "plot: {}", plot_path.display())?;
    Ok(())
}

/// Each policy's cost above the first oracle's: of the mean costs, and per episode (the mean
/// over episodes of (cost - oracle's cost) / oracle's cost on the same episode, runs averaged
/// within an episode; episodes where the oracle has no positive cost are left out) with its
/// 95 % t interval.
fn print_gap_to_oracle(results: &[EpisodeResult]) -> Result<()> {
    let Some(oracle) = results.iter().find(|r| r.oracle).map(|r| r.policy.clone()) else {
        return Ok(());
    };
    let cost = |r: &EpisodeResult| -r.reward;
    let reference = |e: usize| mean_cost(results, &oracle, Some(e), &cost);
    print_gaps(results, &oracle, &reference, &cost)
}

/// Each policy's mean of `cost_metric` above the scenario's lower bound on each episode (from
/// the episode's first observation), as `print_gap_to_oracle` does for an oracle.
fn print_gap_to_bound<S: RegisteredScenario>(
    built: &Built<S>,
    results: &[EpisodeResult],
    cost_metric: &str,
) -> Result<()> {
    let names = built.env.metric_names();
    let Some(k) = names.iter().position(|n| *n == cost_metric) else {
        bail!("{} has no metric {cost_metric}", S::NAME);
    };
    let mut seeds: Vec<(usize, u64)> = results.iter().map(|r| (r.episode, r.seed)).collect();
    seeds.sort_unstable();
    seeds.dedup();
    // One LP per episode, in parallel (each solve is single-threaded).
    let bounds: Result<Vec<(usize, f64)>, String> = seeds
        .par_iter()
        .map(|&(episode, seed)| {
            let mut env = built.env.clone();
            let first = env.reset(seed);
            env.cost_bound(&built.config, &first)
                .map(|bound| (episode, bound))
                .map_err(|e| format!("episode {episode}: {e}"))
        })
        .collect();
    let bounds = match bounds {
        Ok(bounds) => bounds,
        Err(why) => {
            writeln!(std::io::stdout().lock(), "\nno lower bound: {why}")?;
            return Ok(());
        }
    };
    let reference = |e: usize| {
        bounds
            .iter()
            .find(|(episode, _)| *episode == e)
            .map(|(_, b)| *b)
    };
    let cost = |r: &EpisodeResult| r.metrics[k];
    let mean: f64 = bounds.iter().map(|(_, b)| b).sum::<f64>() / bounds.len().max(1) as f64;
    writeln!(
        std::io::stdout().lock(),
        "\nlower bound (LP relaxation), mean over {} episodes: {mean:.1}",
        bounds.len()
    )?;
    print_gaps(results, "the lower bound", &reference, &cost)
}

/// The mean `cost` of policy `p` (on one episode, or all); None without rows.
fn mean_cost(
    results: &[EpisodeResult],
    p: &str,
    episode: Option<usize>,
    cost: &dyn Fn(&EpisodeResult) -> f64,
) -> Option<f64> {
    let costs: Vec<f64> = results
        .iter()
        .filter(|r| r.policy == p && episode.is_none_or(|e| r.episode == e))
        .map(cost)
        .collect();
    (!costs.is_empty()).then(|| costs.iter().sum::<f64>() / costs.len() as f64)
}

/// Each policy's mean cost and its gap to `reference` (per episode; episodes without a positive
/// reference are left out): of the means, and the mean per-episode gap with its 95 % t interval.
fn print_gaps(
    results: &[EpisodeResult],
    reference_name: &str,
    reference: &dyn Fn(usize) -> Option<f64>,
    cost: &dyn Fn(&EpisodeResult) -> f64,
) -> Result<()> {
    let mut episodes: Vec<usize> = results.iter().map(|r| r.episode).collect();
    episodes.sort_unstable();
    episodes.dedup();
    let references: Vec<f64> = episodes.iter().filter_map(|&e| reference(e)).collect();
    let best = references.iter().sum::<f64>() / references.len().max(1) as f64;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\n{:<55} {:>12} {:>8} {:>28}",
        "policy",
        "episode cost",
        "gap",
        format!("gap to {reference_name} per episode [95% CI]")
    )?;
    let mut seen: Vec<&str> = Vec::new();
    for r in results {
        if seen.contains(&r.policy.as_str()) {
            continue;
        }
        seen.push(&r.policy);
        let gaps: Vec<f64> = episodes
            .iter()
            .filter_map(|&e| {
                let base = reference(e).filter(|c| *c > 0.0)?;
                Some(100.0 * (mean_cost(results, &r.policy, Some(e), cost)? - base) / base)
            })
            .collect();
        let (mean, half) = mean_ci95(&gaps);
        let policy_cost = mean_cost(results, &r.policy, None, cost).unwrap_or(f64::NAN);
        writeln!(
            out,
            "{:<55} {:>12.1} {:>7.1}% {:>28}",
            r.policy,
            policy_cost,
            100.0 * (policy_cost - best) / best,
            format!("{mean:.2}% [{:.2}, {:.2}]", mean - half, mean + half)
        )?;
    }
    Ok(())
}
