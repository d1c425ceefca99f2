//! `planetgym curve`: redraws a run directory's learning curve.

use anyhow::Result;
use planetgym_training::session;
use std::io::Write;
use std::path::PathBuf;

pub const EXAMPLES: &str = "Examples:\n  planetgym curve --run runs/cap\n  planetgym curve --run experiments/results/capacity\n\nReads metrics.csv (the training returns) and eval.json (the baselines' mean returns, drawn as\nflat lines) and writes curve.png and curve.svg in the same directory.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directory (or results folder) holding metrics.csv and, optionally, eval.json.
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
}

pub fn run(args: &Args) -> Result<()> {
    session::redraw_learning_curve(&args.run)?;
    writeln!(
        std::io::stdout().lock(),
        "{0}/curve.png, {0}/curve.svg",
        args.run.display()
    )?;
    Ok(())
}
