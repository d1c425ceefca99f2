//! `planetgym shadow` (score logged decisions with an exported policy) and
//! `planetgym shadow-sample` (simulated decision logs for it).

use super::{config_text, output};
use anyhow::{Context, Result, bail};
use planetgym_agents::registry::with_scenario;
use planetgym_deploy::export::Artifact;
use planetgym_deploy::predictor::{self, Predictor};
use planetgym_deploy::shadow;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

pub const EXAMPLES: &str = "Examples:\n  planetgym shadow --schema traffic > record.schema.json\n  planetgym shadow --policy exports/traffic --input decisions.jsonl --output shadow.jsonl\n  planetgym shadow --predictor exports/fleet-failure --input exports/fleet-failure/test_records.jsonl --output predictions.jsonl\n  planetgym shadow-sample --scenario traffic --incumbent greedy-spillover@0.8 --records 1000 | planetgym shadow --policy exports/traffic > shadow.jsonl\n\nInput and output default to stdin and stdout; the report goes to stderr (and --report as JSON).\nA bad line is reported with its number and skipped; so is a line longer than\nPLANETGYM_MAX_LINE_BYTES (default 16 MiB), without reading it into memory. If the input cannot be\nread further, every decision read before is written before the error is reported.";

pub const SAMPLE_EXAMPLES: &str = "Examples:\n  planetgym shadow-sample --scenario placement --incumbent best-fit --records 500 --output decisions.jsonl\n  planetgym shadow-sample --scenario traffic --config my.toml --incumbent nearest --records 100\n  planetgym shadow-sample --scenario traffic --set episode_intervals=60 --incumbent nearest";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the JSON Schema of a decision record for SCENARIO (or for the export in DIR) and exit.
    #[arg(long, value_name = "SCENARIO|DIR", conflicts_with = "policy")]
    schema: Option<String>,
    /// With --schema SCENARIO: the scenario config (fields that change from the default).
    #[arg(long, value_name = "FILE", requires = "schema")]
    config: Option<PathBuf>,
    /// With --schema SCENARIO: set one config field (dotted path), e.g. --set world.kind=synthetic.
    #[arg(long = "set", value_name = "KEY=VALUE", requires = "schema")]
    sets: Vec<String>,
    /// Directory of an exported policy (`planetgym export`).
    #[arg(long, value_name = "DIR", required_unless_present_any = ["schema", "predictor"], conflicts_with = "predictor")]
    policy: Option<PathBuf>,
    /// Directory of an exported risk predictor (`planetgym risk --task T --export DIR`): records
    /// are feature rows, each answered with its probability and alarm.
    #[arg(long, value_name = "DIR", conflicts_with = "schema")]
    predictor: Option<PathBuf>,
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

#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    #[arg(long)]
    scenario: String,
    /// TOML config with the fields to change from the scenario's default.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Set one config field (dotted path, repeatable), e.g. --set episode_intervals=60.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
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
}

fn tolerance(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        _ => Err(format!("`{text}` is not a finite number >= 0")),
    }
}

pub fn run(args: Args) -> Result<()> {
    if let Some(target) = &args.schema {
        let scenario = planetgym_agents::registry::find(target).map(|s| s.name);
        let (text, origin) = config_text(args.config.as_deref(), None, &args.sets, scenario)?;
        let schema = shadow::schema_for(target, &text, &origin)?;
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::to_string_pretty(&schema)?
        )?;
        return Ok(());
    }
    let input: Box<dyn BufRead> = match &args.input {
        Some(path) => Box::new(BufReader::new(
            File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let (text, json) = if let Some(dir) = &args.predictor {
        let predictor = Predictor::load(dir)?;
        let report = predictor::shadow::run(
            &predictor,
            &dir.display().to_string(),
            input,
            output(args.output.as_deref())?,
            std::io::stderr().lock(),
        )?;
        (report.text(), serde_json::to_vec_pretty(&report)?)
    } else {
        let Some(dir) = &args.policy else {
            bail!("shadow needs --policy DIR, --predictor DIR or --schema SCENARIO");
        };
        let artifact = Artifact::load(dir)?;
        let report = shadow::run(
            &artifact,
            &dir.display().to_string(),
            input,
            output(args.output.as_deref())?,
            std::io::stderr().lock(),
            args.tolerance,
        )?;
        (report.text(), serde_json::to_vec_pretty(&report)?)
    };
    eprintln!("{text}");
    if let Some(path) = &args.report {
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

pub fn run_sample(args: SampleArgs) -> Result<()> {
    let (text, origin) = config_text(
        args.config.as_deref(),
        None,
        &args.sets,
        Some(&args.scenario),
    )?;
    let sampler = shadow::sample::Sampler {
        incumbent: args.incumbent,
        records: args.records,
        seed: args.seed,
        out: output(args.output.as_deref())?,
    };
    let written = with_scenario(&args.scenario, &text, &origin, sampler)?;
    eprintln!("wrote {written} decision records");
    Ok(())
}
