//! `planetgym forecast`: rolling-origin accuracy of every forecaster on a demand series.

use anyhow::{Context, Result, bail};
use planetgym_env::bounds;
use planetgym_env::capacity::{ForecasterKind, series};
use planetgym_env::forecast::rolling_origin;
use planetgym_training::plot;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

pub const EXAMPLES: &str = "Examples:\n  planetgym forecast --series builtin:azure_vm_v2 --horizon 24\n  planetgym forecast --series google2019:../shared/data/google/cluster2019_aggregated/instance_usage_avg_300s_day01-21.csv --horizon 6 --plot g.png\n\nSeries: builtin:azure_vm_v2, google2019:PATH, alibaba2018:PATH, planetlab:PATH:ROW, qps:PATH.\nGaps are not filled: the series is cut to its longest gap-free stretch, and the cut is reported.";

#[derive(Debug, clap::Args)]
pub struct Args {
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
    /// Where to write the plot of the horizon-step forecasts against the actual series (PNG,
    /// and an SVG beside it); no plot without it.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
}

/// Rolling-origin accuracy table of every forecaster, and the plot.
pub fn run(args: &Args) -> Result<()> {
    let &Args {
        ref series,
        horizon,
        period_s,
        season,
        window,
        start_fraction,
        ref plot,
    } = args;
    let periods = "periods of the series, far fewer in practice";
    bounds::count("--horizon", horizon as u64, 1, 100_000, periods)
        .and_then(|()| bounds::count("--season", season as u64, 1, 100_000, periods))
        .and_then(|()| bounds::count("--window", window as u64, 1, 100_000, periods))
        .and_then(|()| bounds::within("--start-fraction", start_fraction, 0.05, 0.95))
        .map_err(anyhow::Error::msg)?;
    let loaded = series::load(series)?;
    let values = loaded.resample(period_s)?;
    let warmup = ((values.len() as f64 * start_fraction) as usize).max(2 * season + 1);
    if warmup + horizon > values.len() {
        bail!(
            "{series}: {} periods of {period_s} s are too few for a history of {warmup} and a horizon of {horizon}",
            values.len()
        );
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "series {series}: {} periods of {period_s} s{}",
        values.len(),
        if loaded.gaps.is_empty() {
            String::new()
        } else {
            format!(" ({})", loaded.gaps)
        }
    )?;
    writeln!(
        out,
        "rolling origin every period from {warmup}, horizon {horizon}\n"
    )?;
    writeln!(
        out,
        "{:<34} {:>9} {:>9} {:>9}",
        "forecaster", "MAPE %", "sMAPE %", "MASE"
    )?;
    let mut lines = vec![plot::Series::line(
        "actual",
        values
            .iter()
            .enumerate()
            .skip(warmup)
            .map(|(t, &v)| (t as f64, v))
            .collect(),
    )];
    for kind in ForecasterKind::ALL {
        let forecaster = kind.build(season, window);
        let (accuracy, points) =
            rolling_origin(&values, Arc::clone(&forecaster), warmup, horizon, 1, season)
                .with_context(|| format!("no forecast origin for {}", forecaster.name()))?;
        writeln!(
            out,
            "{:<34} {:>9.2} {:>9.2} {:>9.3}",
            forecaster.name(),
            accuracy.mape,
            accuracy.smape,
            accuracy.mase
        )?;
        lines.push(plot::Series::line(
            forecaster.name(),
            points.iter().map(|&(t, v)| (t as f64, v)).collect(),
        ));
    }
    if let Some(plot) = plot {
        let title = format!("{horizon}-period-ahead forecasts vs actual");
        plot::line_chart(plot, &title, "period", "demand", &lines)?;
        writeln!(out, "\nplot: {}", plot.display())?;
    }
    Ok(())
}
