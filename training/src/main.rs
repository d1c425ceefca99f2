//! The `planetgym` command line.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use planetgym_agents::classic::{
    batch as batch_baselines, capacity as capacity_baselines, placement as placement_baselines,
    traffic as traffic_baselines,
};
use planetgym_agents::evaluate::{ContenderFactory, evaluate, summarise};
use planetgym_env::ScenarioConfig;
use planetgym_env::{
    BatchConfig, BatchScenario, CapacityConfig, CapacityScenario, PlacementConfig,
    PlacementScenario, Scenario, TrafficConfig, TrafficScenario,
};
use planetgym_training::{plot, registry, report};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "planetgym",
    version,
    about = "Reinforcement-learning gym for planet-scale infrastructure scheduling"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the scenarios and their config fields, or print one scenario's documented default config.
    #[command(
        after_help = "Examples:\n  planetgym scenarios\n  planetgym scenarios --show traffic > my.toml"
    )]
    Scenarios {
        /// Print the default config (TOML, every field commented) of this scenario.
        #[arg(long, value_name = "SCENARIO")]
        show: Option<String>,
    },
    /// Run every classic baseline on the same seeded episodes and print a results table.
    #[command(
        after_help = "Examples:\n  planetgym baselines --scenario traffic\n  planetgym baselines --scenario traffic --config my.toml --episodes 10 --seed 3 --json out.json\n  planetgym baselines --scenario batch --trace log.swf --jobs 1024 --episodes 10 --seed 0 --backfill\n\nThe config only lists fields that differ from `planetgym scenarios --show SCENARIO`;\n--trace, --jobs, --backfill and --lenient override the batch config."
    )]
    Baselines(Box<BaselinesArgs>),
    /// Rolling-origin forecast accuracy (MAPE, sMAPE, MASE) of every forecaster on a series.
    #[command(
        after_help = "Examples:\n  planetgym forecast --series builtin:azure_vm_v2 --horizon 24\n  planetgym forecast --series google2019:../shared/data/google/cluster2019_aggregated/instance_usage_avg_300s_day01-21.csv --horizon 6 --plot g.png\n\nSeries: builtin:azure_vm_v2, google2019:PATH, alibaba2018:PATH, planetlab:PATH:ROW, qps:PATH.\nGaps are not filled: the series is cut to its longest gap-free stretch, and the cut is reported."
    )]
    Forecast {
        /// The demand series (see below).
        #[arg(long)]
        series: String,
        /// Periods ahead to forecast.
        #[arg(long, default_value_t = 24)]
        horizon: usize,
        /// Period length in seconds (a multiple of 300).
        #[arg(long, default_value_t = 3600.0)]
        period_s: f64,
        /// Season length in periods.
        #[arg(long, default_value_t = 24)]
        season: usize,
        /// Moving-average window in periods.
        #[arg(long, default_value_t = 6)]
        window: usize,
        /// Evaluate from this fraction of the series on (earlier values are the first history).
        #[arg(long, default_value_t = 0.5)]
        start_fraction: f64,
        /// Where to write the plot of the horizon-step forecasts against the actual series (PNG).
        #[arg(long, value_name = "FILE", default_value = "forecast.png")]
        plot: PathBuf,
    },
}

#[derive(Debug, Args)]
struct BaselinesArgs {
    /// Scenario name (see `planetgym scenarios`).
    #[arg(long)]
    scenario: String,
    /// TOML config with the fields to change from the scenario's default.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Number of evaluation episodes (the same episodes for every policy).
    #[arg(long, default_value_t = 5)]
    episodes: usize,
    /// Seed of the evaluation episodes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write the table as JSON rows {"policy","metric","mean","ci95","episodes"}.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write the table as CSV (same columns as the JSON rows).
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write every step of every episode as CSV (policy, episode, step, reward, metrics).
    #[arg(long, value_name = "FILE")]
    timeseries: Option<PathBuf>,
    /// Worker threads (0 = one per core). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// batch: job log (SWF, plain or gzip) or a builtin name (see the default config).
    #[arg(long, value_name = "FILE")]
    trace: Option<String>,
    /// batch: jobs per episode window.
    #[arg(long)]
    jobs: Option<usize>,
    /// batch: schedule with EASY backfilling.
    #[arg(long)]
    backfill: bool,
    /// batch: skip (and count) malformed log lines instead of stopping.
    #[arg(long)]
    lenient: bool,
    /// placement: pod list (openb CSV schema), instead of the config's.
    #[arg(long, value_name = "FILE")]
    pods: Option<String>,
    /// placement: node list (openb CSV schema), instead of the config's.
    #[arg(long, value_name = "FILE")]
    nodes: Option<String>,
    /// placement: where to write the metric curves over arrived workload (CSV).
    #[arg(long, value_name = "FILE", default_value = "placement_curves.csv")]
    curves: PathBuf,
    /// placement: where to write the plot of GPU allocation ratio over arrived workload (PNG).
    #[arg(long, value_name = "FILE", default_value = "placement_allocation.png")]
    plot: PathBuf,
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Scenarios { show: Some(name) } => {
            let entry = registry::find(&name).with_context(|| {
                format!("unknown scenario `{name}`; known: {}", registry::names())
            })?;
            print!("{}", entry.default_config);
        }
        Command::Scenarios { show: None } => {
            for s in registry::SCENARIOS {
                println!("{:<10} {}", s.name, s.description);
                println!(
                    "{:<10} config fields: {}",
                    "",
                    registry::config_fields(s.default_config).join(", ")
                );
            }
            println!(
                "\n`planetgym scenarios --show NAME` prints a default config with every field documented."
            );
        }
        Command::Baselines(args) => baselines(*args)?,
        Command::Forecast {
            series,
            horizon,
            period_s,
            season,
            window,
            start_fraction,
            plot,
        } => forecast(
            &series,
            horizon,
            period_s,
            season,
            window,
            start_fraction,
            &plot,
        )?,
    }
    Ok(())
}

fn baselines(args: BaselinesArgs) -> Result<()> {
    if args.episodes == 0 {
        bail!("--episodes must be at least 1");
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build_global()
        .context("could not start worker threads")?;
    match args.scenario.as_str() {
        "traffic" => {
            reject_foreign_flags(&args, "traffic")?;
            let config = match &args.config {
                Some(path) => TrafficConfig::from_file(path)?,
                None => TrafficConfig::default(),
            };
            let env = TrafficScenario::new(config.clone())?;
            let pairs = env.geography().regions.len() * env.sites().len();
            let heading = format!(
                "scenario traffic: {} regions, {} sites, {} intervals of {} s",
                env.geography().regions.len(),
                env.sites().len(),
                config.episode_intervals,
                config.interval_s
            );
            run_baselines(
                &env,
                &traffic_baselines::baselines(&config, pairs),
                config.episode_intervals,
                &heading,
                &args,
                false,
            )
            .map(drop)
        }
        "batch" => {
            reject_foreign_flags(&args, "batch")?;
            let mut config = match &args.config {
                Some(path) => BatchConfig::from_file(path)?,
                None => BatchConfig::default(),
            };
            if let Some(trace) = &args.trace {
                config.trace = trace.clone();
            }
            if let Some(jobs) = args.jobs {
                config.window_jobs = jobs;
            }
            config.backfill |= args.backfill;
            config.lenient |= args.lenient;
            let env = BatchScenario::new(config.clone())?;
            let log = env.log();
            let mut heading = format!(
                "scenario batch: {} ({} jobs, {} processors), windows of {} jobs, backfilling {}",
                log.source,
                log.jobs.len(),
                log.machine_procs,
                config.window_jobs,
                if config.backfill { "EASY" } else { "off" }
            );
            for (count, what) in [
                (log.skipped_lines.len(), "malformed lines skipped"),
                (
                    log.unusable_jobs,
                    "jobs without run time or processors skipped",
                ),
                (log.too_wide_jobs, "jobs wider than the machine dropped"),
            ] {
                if count > 0 {
                    heading += &format!("\n  {count} {what}");
                }
            }
            run_baselines(
                &env,
                &batch_baselines::baselines(),
                config.window_jobs,
                &heading,
                &args,
                false,
            )
            .map(drop)
        }
        "placement" => {
            reject_foreign_flags(&args, "placement")?;
            let mut config = match &args.config {
                Some(path) => PlacementConfig::from_file(path)?,
                None => PlacementConfig::default(),
            };
            if let Some(pods) = &args.pods {
                config.pods = pods.clone();
            }
            if let Some(nodes) = &args.nodes {
                config.nodes = nodes.clone();
            }
            let env = PlacementScenario::new(config.clone())?;
            let heading = format!(
                "scenario placement: {} nodes, {} GPUs, {} trace pods ({}), {:?} arrivals, GPU selection {:?}",
                env.nodes(),
                env.total_gpus(),
                env.trace_pods().len(),
                config.pods,
                config.mode,
                config.gpu_selection
            );
            // Decisions per episode: about the pods that fill the cluster once.
            let steps = (env.total_gpus() * config.inflation_target / 0.8) as usize;
            let results = run_baselines(
                &env,
                &placement_baselines::baselines(),
                steps,
                &heading,
                &args,
                true,
            )?;
            let metrics = [
                "gpu_allocation_ratio",
                "fragmentation_rate",
                "unallocated_gpu_fraction",
                "failed_pods",
            ];
            let x_values: Vec<f64> = (0..=200).map(|i| f64::from(i) / 100.0).collect();
            let curves = report::curves(
                &results,
                env.metric_names(),
                "arrived_gpu_ratio",
                &metrics,
                &x_values,
            )?;
            report::write_curves(&curves, "arrived_gpu_ratio", &metrics, &args.curves)?;
            let series: Vec<plot::Series> = curves
                .iter()
                .map(|(name, rows)| plot::Series {
                    name: name.clone(),
                    points: rows
                        .iter()
                        .map(|(x, v)| (100.0 * x, 100.0 * v[0]))
                        .collect(),
                })
                .collect();
            plot::line_chart(
                &args.plot,
                "GPU allocation vs arrived workload",
                "arrived GPU requests (% of cluster GPUs)",
                "allocated GPUs (%)",
                &series,
            )?;
            println!(
                "\ncurves: {}\nplot: {}",
                args.curves.display(),
                args.plot.display()
            );
            Ok(())
        }
        "capacity" => {
            reject_foreign_flags(&args, "capacity")?;
            let config = match &args.config {
                Some(path) => CapacityConfig::from_file(path)?,
                None => CapacityConfig::default(),
            };
            let env = CapacityScenario::new(config.clone())?;
            let mut heading = format!(
                "scenario capacity: {} sites, {} periods of {} s, lead time {}, series {}",
                config.sites,
                config.episode_periods,
                config.period_s,
                config.lead_time_periods,
                config.series.join(", ")
            );
            for gap in env.gaps() {
                heading += &format!("\n  gaps: {gap}");
            }
            let results = run_baselines(
                &env,
                &capacity_baselines::baselines(&config),
                config.episode_periods,
                &heading,
                &args,
                false,
            )?;
            print_gap_to_oracle(&results);
            Ok(())
        }
        other => bail!("unknown scenario `{other}`; known: {}", registry::names()),
    }
}

/// Each policy's mean cost and its gap to the oracle's (same episodes).
fn print_gap_to_oracle(results: &[planetgym_agents::evaluate::EpisodeResult]) {
    let Some(oracle) = results.iter().find(|r| r.oracle).map(|r| r.policy.clone()) else {
        return;
    };
    let mean_cost = |p: &str| {
        let costs: Vec<f64> = results
            .iter()
            .filter(|r| r.policy == p)
            .map(|r| -r.reward)
            .collect();
        costs.iter().sum::<f64>() / costs.len().max(1) as f64
    };
    let best = mean_cost(&oracle);
    println!("\n{:<50} {:>12} {:>10}", "policy", "episode cost", "gap");
    let mut seen: Vec<&str> = Vec::new();
    for r in results {
        if !seen.contains(&r.policy.as_str()) {
            seen.push(&r.policy);
            let cost = mean_cost(&r.policy);
            println!(
                "{:<50} {:>12.1} {:>9.1}%",
                r.policy,
                cost,
                100.0 * (cost - best) / best
            );
        }
    }
}

/// Rolling-origin accuracy table of every forecaster, and the plot.
fn forecast(
    spec: &str,
    horizon: usize,
    period_s: f64,
    season: usize,
    window: usize,
    start_fraction: f64,
    plot_path: &std::path::Path,
) -> Result<()> {
    use planetgym_env::capacity::{ForecasterKind, series};
    use planetgym_env::forecast::rolling_origin;
    if horizon == 0 || season == 0 || window == 0 || !(0.05..=0.95).contains(&start_fraction) {
        bail!(
            "--horizon, --season and --window must be at least 1, --start-fraction in [0.05, 0.95]"
        );
    }
    let loaded = series::load(spec)?;
    let values = loaded.resample(period_s)?;
    let warmup = ((values.len() as f64 * start_fraction) as usize).max(2 * season + 1);
    if warmup + horizon > values.len() {
        bail!(
            "{spec}: {} periods of {period_s} s are too few for a history of {warmup} and a horizon of {horizon}",
            values.len()
        );
    }
    println!(
        "series {spec}: {} periods of {period_s} s{}",
        values.len(),
        if loaded.gaps.is_empty() {
            String::new()
        } else {
            format!(" ({})", loaded.gaps)
        }
    );
    println!("rolling origin every period from {warmup}, horizon {horizon}\n");
    println!(
        "{:<34} {:>9} {:>9} {:>9}",
        "forecaster", "MAPE %", "sMAPE %", "MASE"
    );
    let mut lines = vec![plot::Series {
        name: "actual".into(),
        points: values
            .iter()
            .enumerate()
            .skip(warmup)
            .map(|(t, &v)| (t as f64, v))
            .collect(),
    }];
    for kind in ForecasterKind::ALL {
        let forecaster = kind.build(season, window);
        let (accuracy, points) =
            rolling_origin(&values, forecaster.as_ref(), warmup, horizon, 1, season)
                .with_context(|| format!("no forecast origin for {}", forecaster.name()))?;
        println!(
            "{:<34} {:>9.2} {:>9.2} {:>9.3}",
            forecaster.name(),
            accuracy.mape,
            accuracy.smape,
            accuracy.mase
        );
        lines.push(plot::Series {
            name: forecaster.name(),
            points: points.iter().map(|&(t, v)| (t as f64, v)).collect(),
        });
    }
    let title = format!("{horizon}-period-ahead forecasts vs actual");
    plot::line_chart(plot_path, &title, "period", "demand", &lines)?;
    println!("\nplot: {}", plot_path.display());
    Ok(())
}

/// Flags that belong to another scenario are errors, not silently ignored.
fn reject_foreign_flags(args: &BaselinesArgs, scenario: &str) -> Result<()> {
    let batch = args.trace.is_some() || args.jobs.is_some() || args.backfill || args.lenient;
    let placement = args.pods.is_some() || args.nodes.is_some();
    if batch && scenario != "batch" {
        bail!("--trace, --jobs, --backfill and --lenient apply to the batch scenario only");
    }
    if placement && scenario != "placement" {
        bail!("--pods and --nodes apply to the placement scenario only");
    }
    Ok(())
}

/// Evaluates `contenders` on `env`, prints the table and writes the requested files. Returns
/// the episodes (with every step when `record` or `--timeseries` asks for it).
fn run_baselines<S: Scenario + Clone>(
    env: &S,
    contenders: &[ContenderFactory<S>],
    steps_per_episode: usize,
    heading: &str,
    args: &BaselinesArgs,
    record: bool,
) -> Result<Vec<planetgym_agents::evaluate::EpisodeResult>> {
    let bar = progress_bar((contenders.len() * args.episodes * steps_per_episode) as u64);
    let results = evaluate(
        env,
        contenders,
        args.episodes,
        args.seed,
        record || args.timeseries.is_some(),
        &|| bar.inc(1),
    )?;
    bar.finish_and_clear();
    let rows = summarise(&results, env.metric_names());
    println!(
        "{heading}\nepisodes {}, seed {}\n",
        args.episodes, args.seed
    );
    print!("{}", report::render_table(&rows));
    if let Some(path) = &args.json {
        report::write_json(&rows, path)?;
    }
    if let Some(path) = &args.csv {
        report::write_csv(&rows, path)?;
    }
    if let Some(path) = &args.timeseries {
        report::write_timeseries(&results, env.metric_names(), path)?;
    }
    Ok(results)
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {percent:>3}% {per_sec} ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
