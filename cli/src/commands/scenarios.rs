//! `planetgym scenarios`: the registered scenarios, or one scenario's documented default config.

use anyhow::{Context, Result};
use planetgym_agents::registry::{self, SCENARIOS};
use planetgym_env::{Better, Metric};
use std::io::Write;

pub const EXAMPLES: &str =
    "Examples:\n  planetgym scenarios\n  planetgym scenarios --show traffic > my.toml";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the default config (TOML, every field commented) of this scenario.
    #[arg(long, value_name = "SCENARIO")]
    show: Option<String>,
}

/// `name [unit, lower is better]` for each metric.
pub fn metric_legend(metrics: &[Metric]) -> String {
    metrics
        .iter()
        .map(|m| match m.better {
            Better::Neither => format!("{} [{}]", m.name, m.unit),
            better => format!("{} [{}, {} is better]", m.name, m.unit, better.as_str()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(args: &Args) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if let Some(name) = &args.show {
        let entry = registry::find(name)
            .with_context(|| format!("unknown scenario `{name}`; known: {}", registry::names()))?;
        write!(out, "{}", entry.default_config)?;
        return Ok(());
    }
    for s in SCENARIOS {
        writeln!(out, "{:<10} {}", s.name, s.description)?;
        writeln!(out, "{:<10} gymnasium id: {}", "", s.gym_id)?;
        writeln!(
            out,
            "{:<10} config fields: {}",
            "",
            registry::config_fields(s.default_config).join(", ")
        )?;
        writeln!(out, "{:<10} metrics: {}", "", metric_legend(s.metrics))?;
    }
    writeln!(
        out,
        "\n`planetgym scenarios --show NAME` prints a default config with every field documented."
    )?;
    Ok(())
}
