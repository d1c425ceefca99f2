//! The `planetgym` command line.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use planetgym_agents::classic::{
    batch as batch_baselines, capacity as capacity_baselines, placement as placement_baselines,
    traffic as traffic_baselines,
};
use planetgym_agents::evaluate::{ContenderFactory, evaluate, summarise};
use planetgym_agents::nn::policy::PolicyFile;
use planetgym_env::ScenarioConfig;
use planetgym_env::{
    BatchConfig, BatchScenario, CapacityConfig, CapacityScenario, PlacementConfig,
    PlacementScenario, Scenario, TrafficConfig, TrafficScenario,
};
use planetgym_training::export::{self, Artifact};
use planetgym_training::ppo::{self, TrainConfig};
use planetgym_training::session::{self, LEARNED, LEARNED_SAMPLED};
use planetgym_training::{plot, registry, report, shadow};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// mimalloc instead of the system allocator: training allocates and frees large tensors every
/// minibatch, and glibc returned them to the kernel each time (half the update time was spent
/// in the kernel); see the note of the training benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Set by Ctrl-C: training stops after the current update, with a checkpoint.
static STOP: AtomicBool = AtomicBool::new(false);

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
    /// Train a PPO agent from a config; ends with an evaluation table against the baselines.
    #[command(
        after_help = "Examples:\n  planetgym train --config experiments/configs/ppo_capacity.toml\n  planetgym train --config my.toml --run-dir runs/try1\n  planetgym train --resume runs/try1\n\nThe run directory holds config.toml (resolved), metrics.csv, tb/ (TensorBoard events),\ncheckpoint.json, policy.json (latest weights), eval.json/eval.csv and curve.png.\nCtrl-C stops after the current update with a checkpoint; --resume continues as if never stopped."
    )]
    Train(TrainArgs),
    /// Evaluate a trained policy against the baselines on fresh seeded episodes (same table as `baselines`).
    #[command(
        after_help = "Examples:\n  planetgym eval --policy experiments/policies/capacity --episodes 10 --seed 7\n  planetgym eval --policy runs/try1 --scenario traffic --episodes 5 --json out.json\n\nThe scenario config is the one the policy was trained on unless --config replaces it."
    )]
    Eval(Box<BaselinesArgs>),
    /// Export a trained policy for production: policy.onnx (normalisation included) + manifest.json.
    #[command(
        after_help = "Examples:\n  planetgym export --run runs/try1 --out exports/try1\n  planetgym export --run experiments/policies/placement --out exports/placement\n\nThe graph takes features in the units of manifest.json's feature_spec and returns the action\nparameters and the value; the export checks it against the burn policy before writing it."
    )]
    Export {
        /// Run directory, or any directory holding a policy.json.
        #[arg(long, value_name = "DIR")]
        run: PathBuf,
        /// Where to write policy.onnx and manifest.json (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Shadow mode: replay logged decisions (JSON Lines) through an exported policy, next to the incumbent's.
    #[command(
        after_help = "Examples:\n  planetgym shadow --schema traffic > record.schema.json\n  planetgym shadow --policy exports/traffic --input decisions.jsonl --output shadow.jsonl\n  planetgym shadow-sample --scenario traffic --incumbent greedy-spillover@0.8 --records 1000 | planetgym shadow --policy exports/traffic > shadow.jsonl\n\nInput and output default to stdin and stdout; the report goes to stderr (and --report as JSON).\nA bad line is reported with its number and skipped."
    )]
    Shadow(ShadowArgs),
    /// Write simulated decision logs (JSON Lines) with a baseline as the incumbent, for shadow mode.
    #[command(
        after_help = "Examples:\n  planetgym shadow-sample --scenario placement --incumbent best-fit --records 500 --output decisions.jsonl\n  planetgym shadow-sample --scenario traffic --config my.toml --incumbent nearest --records 100"
    )]
    ShadowSample {
        #[arg(long)]
        scenario: String,
        /// TOML config with the fields to change from the scenario's default.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Who takes the logged decisions: a baseline (see `planetgym baselines`) or a policy directory.
        #[arg(long)]
        incumbent: String,
        #[arg(long, default_value_t = 1000)]
        records: u64,
        /// Seed of the first episode (later episodes: seed + 1, ...).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file (default: stdout).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
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
struct TrainArgs {
    /// Training config (TOML; see experiments/configs/ppo_*.toml).
    #[arg(long, value_name = "FILE", required_unless_present = "resume")]
    config: Option<PathBuf>,
    /// Run directory (default: runs/<config file name>).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    run_dir: Option<PathBuf>,
    /// Continue the run in DIR from its last checkpoint.
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    resume: Option<PathBuf>,
    /// Stop cleanly (checkpoint saved) once this many updates are done, as Ctrl-C would.
    #[arg(long, value_name = "UPDATES")]
    stop_after: Option<u64>,
}

#[derive(Debug, Args)]
struct ShadowArgs {
    /// Print the JSON Schema of a decision record for SCENARIO (or for the export in DIR) and exit.
    #[arg(long, value_name = "SCENARIO|DIR", conflicts_with = "policy")]
    schema: Option<String>,
    /// With --schema SCENARIO: the scenario config (fields that change from the default).
    #[arg(long, value_name = "FILE", requires = "schema")]
    config: Option<PathBuf>,
    /// Directory of an exported policy (`planetgym export`).
    #[arg(long, value_name = "DIR", required_unless_present = "schema")]
    policy: Option<PathBuf>,
    /// Decision log, JSON Lines (default: stdin).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Where to write the policy's decisions, JSON Lines (default: stdout).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the report as JSON.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Continuous decisions agree when no value differs by more than this.
    #[arg(long, default_value_t = shadow::DEFAULT_TOLERANCE, value_parser = tolerance)]
    tolerance: f64,
}

#[derive(Debug, Args)]
struct BaselinesArgs {
    /// Scenario name (see `planetgym scenarios`); for eval, defaults to the policy's.
    #[arg(long)]
    scenario: Option<String>,
    /// eval: directory holding the policy.json to evaluate (a run directory or an exported policy).
    #[arg(long, value_name = "DIR")]
    policy: Option<PathBuf>,
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
        Command::Baselines(args) => {
            if args.policy.is_some() {
                bail!("--policy belongs to `planetgym eval`");
            }
            baselines(*args)?
        }
        Command::Eval(args) => {
            if args.policy.is_none() {
                bail!("eval needs --policy DIR (a run directory or an exported policy)");
            }
            baselines(*args)?
        }
        Command::Train(args) => train(args)?,
        Command::Export { run, out } => {
            let m = export::export(&run, &out)?;
            println!(
                "exported {} policy ({} steps) to {}: {} ({} bytes, sha256 {}), {}\nchecked against burn on {} observations: largest difference {:.2e} (relative to max(1, |output|))",
                m.scenario,
                m.training.trained_steps,
                out.display(),
                export::ONNX_FILE,
                m.onnx.bytes,
                m.onnx.sha256,
                export::MANIFEST_FILE,
                m.verification.observations,
                m.verification.max_difference
            );
        }
        Command::Shadow(args) => shadow_command(args)?,
        Command::ShadowSample {
            scenario,
            config,
            incumbent,
            records,
            seed,
            output,
        } => {
            let (text, origin) = read_config(config.as_deref())?;
            let out: Box<dyn Write> = match &output {
                Some(path) => Box::new(BufWriter::new(
                    File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                )),
                None => Box::new(BufWriter::new(std::io::stdout().lock())),
            };
            let sampler = shadow::sample::Sampler {
                incumbent,
                records,
                seed,
                out,
            };
            let written = registry::with_scenario(&scenario, &text, &origin, sampler)?;
            eprintln!("wrote {written} decision records");
        }
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
    let policy = match &args.policy {
        Some(dir) => Some(ppo::load_policy(dir)?),
        None => None,
    };
    let scenario = match (&args.scenario, &policy) {
        (Some(s), Some(p)) if *s != p.scenario => {
            bail!("the policy was trained on `{}`, not `{s}`", p.scenario)
        }
        (Some(s), _) => s.clone(),
        (None, Some(p)) => p.scenario.clone(),
        (None, None) => bail!("--scenario is required; known: {}", registry::names()),
    };
    let policy = policy.as_ref();
    match scenario.as_str() {
        "traffic" => {
            reject_foreign_flags(&args, "traffic")?;
            let config: TrafficConfig = scenario_config(&args, policy)?;
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
                &with_policy(&env, traffic_baselines::baselines(&config, pairs), policy)?,
                config.episode_intervals,
                &heading,
                &args,
                false,
            )
            .map(drop)
        }
        "batch" => {
            reject_foreign_flags(&args, "batch")?;
            let mut config: BatchConfig = scenario_config(&args, policy)?;
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
                &with_policy(&env, batch_baselines::baselines(), policy)?,
                config.window_jobs,
                &heading,
                &args,
                false,
            )
            .map(drop)
        }
        "placement" => {
            reject_foreign_flags(&args, "placement")?;
            let mut config: PlacementConfig = scenario_config(&args, policy)?;
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
                &with_policy(&env, placement_baselines::baselines(), policy)?,
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
            let config: CapacityConfig = scenario_config(&args, policy)?;
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
                &with_policy(&env, capacity_baselines::baselines(&config), policy)?,
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

fn tolerance(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        _ => Err(format!("`{text}` is not a finite number >= 0")),
    }
}

/// A scenario config file's text and its name for messages (empty: the default config).
fn read_config(path: Option<&std::path::Path>) -> Result<(String, String)> {
    match path {
        Some(p) => Ok((
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
            p.display().to_string(),
        )),
        None => Ok((String::new(), "the default config".into())),
    }
}

fn shadow_command(args: ShadowArgs) -> Result<()> {
    if let Some(target) = &args.schema {
        let (text, origin) = read_config(args.config.as_deref())?;
        let schema = shadow::schema_for(target, &text, &origin)?;
        println!("{}", serde_json::to_string_pretty(&schema)?);
        return Ok(());
    }
    let Some(dir) = &args.policy else {
        bail!("shadow needs --policy DIR (or --schema SCENARIO)");
    };
    let artifact = Artifact::load(dir)?;
    let input: Box<dyn BufRead> = match &args.input {
        Some(path) => Box::new(BufReader::new(
            File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let output: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let report = shadow::run(
        &artifact,
        &dir.display().to_string(),
        input,
        output,
        std::io::stderr().lock(),
        args.tolerance,
    )?;
    eprintln!("{}", report.text());
    if let Some(path) = &args.report {
        let json = serde_json::to_vec_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn train(args: TrainArgs) -> Result<()> {
    let (config, origin, run_dir) = match (&args.resume, &args.config) {
        (Some(dir), _) => {
            let path = dir.join(ppo::trainer::CONFIG_FILE);
            (
                TrainConfig::from_file(&path)?,
                path.display().to_string(),
                dir.clone(),
            )
        }
        (None, Some(path)) => {
            let stem = path
                .file_stem()
                .map_or_else(|| "run".into(), |s| s.to_string_lossy().to_string());
            let dir = args
                .run_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("runs").join(stem));
            (
                TrainConfig::from_file(path)?,
                path.display().to_string(),
                dir,
            )
        }
        (None, None) => bail!("train needs --config FILE or --resume DIR"),
    };
    ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C handler")?;
    let request = session::Request {
        config,
        origin,
        run_dir: run_dir.clone(),
        resume: args.resume.is_some(),
        stop: &STOP,
        stop_after: args.stop_after,
    };
    println!(
        "training {} for {} steps ({} copies); run directory {}",
        request.config.scenario,
        request.config.total_steps,
        request.config.num_envs,
        run_dir.display()
    );
    let bar = ProgressBar::new(request.config.total_steps);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {percent:>3}% ETA {eta} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    let result = session::run(&request, &mut |r| {
        bar.set_length(r.total_steps);
        bar.set_position(r.env_steps);
        bar.set_message(format!(
            "{:.0} steps/s  return {:.4}  update {}/{}",
            r.sps, r.episode_return, r.updates, r.total_updates
        ));
    })?;
    bar.finish();
    let o = &result.outcome;
    if o.interrupted {
        println!(
            "stopped after update {} ({} steps), checkpoint saved; continue with: planetgym train --resume {}",
            o.updates,
            o.env_steps,
            run_dir.display()
        );
    }
    if let Some(rows) = &result.evaluation {
        println!(
            "\nevaluation: {} episodes from seed {} (`{LEARNED}`: greedy actions of {}; `{LEARNED_SAMPLED}`: sampled)\n",
            request.config.eval.episodes,
            request.config.eval.seed,
            run_dir.display()
        );
        print!("{}", report::render_table(rows));
        println!(
            "\nwritten: {0}/eval.json, {0}/eval.csv, {0}/curve.png, {0}/metrics.csv, {0}/tb/",
            run_dir.display()
        );
    }
    Ok(())
}

/// The scenario config: --config if given, else the one the policy was trained on, else the
/// built-in default.
fn scenario_config<C: ScenarioConfig>(
    args: &BaselinesArgs,
    policy: Option<&PolicyFile>,
) -> Result<C> {
    Ok(match (&args.config, policy) {
        (Some(path), _) => C::from_file(path)?,
        (None, Some(p)) => C::from_toml(&p.scenario_config, "the policy's scenario config")?,
        (None, None) => C::builtin_default(),
    })
}

/// The baselines, plus the learned policy's rows when there is one (checked against the
/// scenario before any episode runs).
fn with_policy<S: Scenario + Clone + 'static>(
    env: &S,
    mut contenders: Vec<ContenderFactory<S>>,
    policy: Option<&PolicyFile>,
) -> Result<Vec<ContenderFactory<S>>> {
    if let Some(file) = policy {
        contenders.extend(session::learned_contenders(env, file)?);
    }
    Ok(contenders)
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
