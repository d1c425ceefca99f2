//! `planetgym train`: a PPO run from a config, resumable, ending with an evaluation table.

use super::Progress;
use anyhow::{Context, Result, bail};
use planetgym_training::ppo::TrainConfig;
use planetgym_training::ppo::config::DEFAULT_TOML;
use planetgym_training::report;
use planetgym_training::run_dir::CONFIG_FILE;
use planetgym_training::session::{self, LEARNED, LEARNED_SAMPLED};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

pub const EXAMPLES: &str = "Examples:\n  planetgym train --config experiments/configs/ppo_capacity.toml\n  planetgym train --config my.toml --run-dir runs/try1\n  planetgym train --config my.toml --set total_steps=20000 --set ppo.learning_rate=1e-3\n  planetgym train --resume runs/try1\n  planetgym train --show-default > my.toml\n\nThe run directory holds config.toml (resolved), metrics.csv, tb/ (TensorBoard events),\ncheckpoint.json, policy.json (latest weights), eval.json/eval.csv and curve.png.\nCtrl-C stops after the current update with a checkpoint; --resume continues as if never stopped.";

/// Set by Ctrl-C: training stops after the current update, with a checkpoint.
static STOP: AtomicBool = AtomicBool::new(false);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Training config (TOML; see experiments/configs/ppo_*.toml and --show-default).
    #[arg(long, value_name = "FILE", required_unless_present_any = ["resume", "show_default"])]
    config: Option<PathBuf>,
    /// Set one config field (dotted path, repeatable), e.g. --set ppo.epochs=2 --set env.interval_s=300.
    #[arg(long = "set", value_name = "KEY=VALUE", conflicts_with = "resume")]
    sets: Vec<String>,
    /// Run directory (default: runs/<config file name>).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    run_dir: Option<PathBuf>,
    /// Continue the run in DIR from its last checkpoint.
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    resume: Option<PathBuf>,
    /// Stop each run cleanly (checkpoint saved) once this many updates are done; with --seeds
    /// every run stops there, where Ctrl-C ends the whole session.
    #[arg(long, value_name = "UPDATES", value_parser = clap::value_parser!(u64).range(1..))]
    stop_after: Option<u64>,
    /// Independent training runs (seeds seed, seed+1, ...; run K in RUN_DIR/run-K), evaluated
    /// together: the paired table compares their per-episode mean, and `eval --policy RUN_DIR`
    /// re-evaluates them all.
    #[arg(long, default_value_t = 1, conflicts_with = "resume")]
    seeds: usize,
    /// Print the default training config (every field documented) and exit.
    #[arg(long, conflicts_with_all = ["config", "resume"])]
    show_default: bool,
}

pub fn run(args: Args) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if args.show_default {
        write!(out, "{DEFAULT_TOML}")?;
        return Ok(());
    }
    let (config, origin, run_dir) = match (&args.resume, &args.config) {
        (Some(dir), _) => {
            let path = dir.join(CONFIG_FILE);
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
            let (text, origin) = super::config_text(Some(path), None, &args.sets, None)?;
            (TrainConfig::from_toml(&text, &origin)?, origin, dir)
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
        seeds: args.seeds,
        command: std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    };
    writeln!(
        out,
        "training {} for {} steps ({} copies); run directory {}",
        request.config.scenario,
        request.config.total_steps,
        request.config.num_envs,
        run_dir.display()
    )?;
    let bar = Progress::new(
        "training",
        request.config.total_steps,
        "{elapsed_precise} [{bar:30}] {percent:>3}% ETA {eta} {msg}",
    )?;
    let result = session::run(&request, None, &mut |r| {
        bar.set_length(r.total_steps);
        bar.set_message(format!(
            "{:.0} steps/s  return {}  update {}/{}",
            r.sps,
            if r.episode_return.is_finite() {
                format!("{:.4}", r.episode_return)
            } else {
                "-".into()
            },
            r.updates,
            r.total_updates
        ));
        bar.set_position(r.env_steps);
    })?;
    bar.finish();
    for o in &result.stopped {
        if o.updates == 0 {
            writeln!(
                out,
                "stopped {} before its first update: nothing saved",
                o.run_dir.display()
            )?;
            continue;
        }
        writeln!(
            out,
            "stopped after update {} ({} steps), checkpoint saved; continue with: planetgym train --resume {}",
            o.updates,
            o.env_steps,
            o.run_dir.display()
        )?;
    }
    for (k, dir) in result.runs.iter().enumerate().skip(result.started) {
        writeln!(
            out,
            "not started: {}; run the same train command with --set seed={} --run-dir {} in place of --seeds",
            dir.display(),
            request.config.seed.wrapping_add(k as u64),
            dir.display()
        )?;
    }
    if let Some(rows) = &result.evaluation {
        writeln!(
            out,
            "\nevaluation: {} episodes from seed {} (`{LEARNED}`: greedy actions of {}; `{LEARNED_SAMPLED}`: sampled)\n",
            request.config.eval.episodes,
            request.config.eval.seed,
            run_dir.display()
        )?;
        write!(out, "{}", report::render_table(&rows.rows))?;
        write!(
            out,
            "{}",
            report::render_paired(rows, "reward", planetgym_agents::comparison::RESAMPLES)
        )?;
        writeln!(
            out,
            "\nwritten: {0}/eval.json, {0}/eval.csv, {0}/episodes.csv; curve.png, metrics.csv and tb/ in {1}",
            run_dir.display(),
            result
                .runs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    Ok(())
}
