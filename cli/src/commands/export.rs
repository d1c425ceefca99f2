//! `planetgym export`: a trained policy as policy.onnx + manifest.json.

use anyhow::Result;
use planetgym_deploy::export;
use std::io::Write;
use std::path::PathBuf;

pub const EXAMPLES: &str = "Examples:\n  planetgym export --run runs/try1 --out exports/try1\n  planetgym export --run experiments/policies/placement --out exports/placement\n\nThe graph takes features in the units of manifest.json's feature_spec and returns the action\nparameters and the value; the export checks it against the burn policy before writing it.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directory, or any directory holding a policy.json.
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// Where to write policy.onnx and manifest.json (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: &Args) -> Result<()> {
    let m = export::export(&args.run, &args.out)?;
    writeln!(
        std::io::stdout().lock(),
        "exported {} policy ({} steps) to {}: {} ({} bytes, sha256 {}), {}\nchecked against burn on {} observations: largest difference {:.2e} (relative to max(1, |output|))",
        m.scenario,
        m.training.trained_steps,
        args.out.display(),
        export::ONNX_FILE,
        m.onnx.bytes,
        m.onnx.sha256,
        export::MANIFEST_FILE,
        m.verification.observations,
        m.verification.max_difference
    )?;
    Ok(())
}
