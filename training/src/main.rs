//! The `planetgym` command line.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use planetgym_agents::classic::traffic as traffic_baselines;
use planetgym_agents::evaluate::{evaluate, summarise};
use planetgym_env::{Scenario, TrafficConfig, TrafficScenario};
use planetgym_training::{registry, report};
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
        after_help = "Examples:\n  planetgym baselines --scenario traffic\n  planetgym baselines --scenario traffic --config my.toml --episodes 10 --seed 3 --json out.json\n\nThe config only lists fields that differ from `planetgym scenarios --show SCENARIO`."
    )]
    Baselines {
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
    },
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
        Command::Baselines {
            scenario,
            config,
            episodes,
            seed,
            json,
            csv,
            timeseries,
            threads,
        } => {
            if episodes == 0 {
                bail!("--episodes must be at least 1");
            }
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build_global()
                .context("could not start worker threads")?;
            match scenario.as_str() {
                "traffic" => {
                    let config = match &config {
                        Some(path) => TrafficConfig::from_file(path)?,
                        None => TrafficConfig::default(),
                    };
                    let env = TrafficScenario::new(config.clone())?;
                    let pairs = env.geography().regions.len() * env.sites().len();
                    let contenders = traffic_baselines::baselines(&config, pairs);
                    let steps = (contenders.len() * episodes * config.episode_intervals) as u64;
                    let bar = progress_bar(steps);
                    let results = evaluate(
                        &env,
                        &contenders,
                        episodes,
                        seed,
                        timeseries.is_some(),
                        &|| bar.inc(1),
                    )?;
                    bar.finish_and_clear();
                    let rows = summarise(&results, env.metric_names());
                    println!(
                        "scenario traffic: {} regions, {} sites, {} intervals of {} s, episodes {episodes}, seed {seed}\n",
                        env.geography().regions.len(),
                        env.sites().len(),
                        config.episode_intervals,
                        config.interval_s
                    );
                    print!("{}", report::render_table(&rows));
                    if let Some(path) = &json {
                        report::write_json(&rows, path)?;
                    }
                    if let Some(path) = &csv {
                        report::write_csv(&rows, path)?;
                    }
                    if let Some(path) = &timeseries {
                        report::write_timeseries(&results, env.metric_names(), path)?;
                    }
                }
                other => bail!("unknown scenario `{other}`; known: {}", registry::names()),
            }
        }
    }
    Ok(())
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
