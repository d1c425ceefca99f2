//! The `planetgym` command line: one module per subcommand under `commands/`. A library so
//! that the Python package can offer the same command as a console script (`planetgym` on the
//! PATH of an activated virtual environment).

mod commands;

use clap::{Parser, Subcommand};
use commands::{baselines, curve, export, forecast, render, risk, scenarios, shadow, train};

#[derive(Debug, Parser)]
#[command(
    name = "planetgym",
    version,
    about = "Reinforcement-learning gym for planet-scale infrastructure scheduling",
    after_help = "The Python package's `planetgym` (in .venv/bin) also runs `planetgym sweep` \
                  (hyper-parameter sweeps on a Ray cluster; `planetgym sweep --help`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the scenarios and their config fields, or print one scenario's documented default config.
    #[command(after_help = scenarios::EXAMPLES)]
    Scenarios(scenarios::Args),
    /// Run every classic baseline on the same seeded episodes and print a results table.
    #[command(after_help = baselines::BASELINES_EXAMPLES)]
    Baselines(Box<baselines::Args>),
    /// Train a PPO agent from a config; ends with an evaluation table against the baselines.
    #[command(after_help = train::EXAMPLES)]
    Train(train::Args),
    /// Evaluate a trained policy against the baselines on fresh seeded episodes (same table as `baselines`).
    #[command(after_help = baselines::EVAL_EXAMPLES)]
    Eval(Box<baselines::Args>),
    /// Export a trained policy for production: policy.onnx (normalisation included) + manifest.json.
    #[command(after_help = export::EXAMPLES)]
    Export(export::Args),
    /// Shadow mode: replay logged decisions (JSON Lines) through an exported policy, next to the incumbent's.
    #[command(after_help = shadow::EXAMPLES)]
    Shadow(shadow::Args),
    /// Write simulated decision logs (JSON Lines) with a baseline as the incumbent, for shadow mode.
    #[command(after_help = shadow::SAMPLE_EXAMPLES)]
    ShadowSample(shadow::SampleArgs),
    /// Rolling-origin forecast accuracy (MAPE, sMAPE, MASE) of every forecaster on a series.
    #[command(after_help = forecast::EXAMPLES)]
    Forecast(forecast::Args),
    /// Failure prediction on real labels: baselines and learned predictors, scored on a temporal split with bootstrap CIs.
    #[command(after_help = risk::EXAMPLES)]
    Risk(risk::Args),
    /// Draw one episode of a policy: Gantt chart, cluster heat-map, traffic map, capacity against demand.
    #[command(after_help = render::EXAMPLES)]
    Render(render::Args),
    /// Redraw a run directory's learning curve (curve.png and curve.svg).
    #[command(after_help = curve::EXAMPLES)]
    Curve(curve::Args),
}

/// Runs the command line `args` (the program name first) and returns the process's exit
/// status; `--help`, `--version` and usage errors print and exit the process as clap does.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    planetgym_training::allocator::keep_freed_memory();
    let result = match Cli::parse_from(args).command {
        Command::Scenarios(args) => scenarios::run(&args),
        Command::Baselines(args) => baselines::run_baselines(*args),
        Command::Eval(args) => baselines::run_eval(*args),
        Command::Train(args) => train::run(args),
        Command::Export(args) => export::run(&args),
        Command::Shadow(args) => shadow::run(args),
        Command::ShadowSample(args) => shadow::run_sample(args),
        Command::Forecast(args) => forecast::run(&args),
        Command::Curve(args) => curve::run(&args),
        Command::Risk(args) => risk::run(&args),
        Command::Render(args) => render::run(args),
    };
    match result {
        Ok(()) => 0,
        // The reader of our output went away (`planetgym ... | head`): nothing left to say.
        Err(e) if commands::is_broken_pipe(&e) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}
