//! Configuration of the capacity scenario. The documented defaults live in `default.toml`.

use crate::bounds;
use crate::config::ScenarioConfig;
use crate::forecast::{Forecaster, HoltWinters, MovingAverage, SeasonalNaive, Seasonality};
use serde::Deserialize;
use std::sync::Arc;

/// The built-in default config, with a comment on every field.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityConfig {
    pub series: Vec<String>,
    pub history_series: Vec<String>,
    pub sites: usize,
    pub site_phase_shift_h: f64,
    pub period_s: f64,
    pub episode_periods: usize,
    pub history_periods: usize,
    pub mean_demand_units: f64,
    pub growth_per_week: f64,
    pub noise_sigma: f64,
    pub changes: Vec<i64>,
    pub lead_time_periods: usize,
    pub min_units: i64,
    pub max_units: i64,
    pub initial_units: i64,
    pub cost: CostConfig,
    pub forecast: ForecastConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    pub capacity_per_unit_period: f64,
    pub shortage_per_unit: f64,
    pub change_per_unit: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastConfig {
    pub forecaster: ForecasterKind,
    pub season_periods: usize,
    pub moving_average_window: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecasterKind {
    SeasonalNaive,
    MovingAverage,
    HoltWintersAdditive,
    HoltWintersMultiplicative,
}

impl ForecasterKind {
    pub const ALL: [ForecasterKind; 4] = [
        ForecasterKind::SeasonalNaive,
        ForecasterKind::MovingAverage,
        ForecasterKind::HoltWintersAdditive,
        ForecasterKind::HoltWintersMultiplicative,
    ];

    /// Forecaster names with their parameter, as `parse` reads them.
    pub const NAMED_FORMS: &'static str = "seasonal-naive(N), moving-average(N), \
         holt-winters-additive(N) or holt-winters-multiplicative(N), 1 <= N <= 10000";

    /// The kind and its parameter (season length, or window for the moving average) of a
    /// forecaster's name, such as `holt-winters-additive(24)` (what `name()` prints).
    pub fn parse(name: &str) -> Result<(Self, usize), String> {
        let bad = || format!("forecaster `{name}`: expected {}", Self::NAMED_FORMS);
        let (kind, rest) = name.split_once('(').ok_or_else(bad)?;
        let n = rest
            .strip_suffix(')')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(bad)?;
        let kind = match kind {
            "seasonal-naive" => ForecasterKind::SeasonalNaive,
            "moving-average" => ForecasterKind::MovingAverage,
            "holt-winters-additive" => ForecasterKind::HoltWintersAdditive,
            "holt-winters-multiplicative" => ForecasterKind::HoltWintersMultiplicative,
            _ => return Err(bad()),
        };
        Ok((kind, n))
    }

    pub fn build(self, season: usize, window: usize) -> Arc<dyn Forecaster> {
        match self {
            ForecasterKind::SeasonalNaive => Arc::new(SeasonalNaive { season }),
            ForecasterKind::MovingAverage => Arc::new(MovingAverage { window }),
            ForecasterKind::HoltWintersAdditive => Arc::new(HoltWinters {
                season,
                seasonality: Seasonality::Additive,
            }),
            ForecasterKind::HoltWintersMultiplicative => Arc::new(HoltWinters {
                season,
                seasonality: Seasonality::Multiplicative,
            }),
        }
    }
}

impl Default for CapacityConfig {
    fn default() -> Self {
        Self::builtin_default()
    }
}

impl ScenarioConfig for CapacityConfig {
    /// Series are `KIND:PATH` (or `planetlab:PATH:ROW`): the PATH part is rebased.
    fn rebase_paths(table: &mut toml::Table, base: &std::path::Path) {
        let rebase = |spec: &str| {
            let Some((kind, rest)) = spec.split_once(':') else {
                return spec.to_string();
            };
            let (path, row) = match (kind, rest.rsplit_once(':')) {
                ("planetlab", Some((path, row))) => (path, format!(":{row}")),
                _ => (rest, String::new()),
            };
            if kind == "builtin" {
                return spec.to_string();
            }
            format!("{kind}:{}{row}", crate::config::rebased(path, base))
        };
        crate::config::map_strings(table, "series", &rebase);
        crate::config::map_strings(table, "history_series", &rebase);
    }

    const DEFAULT_TOML: &'static str = DEFAULT_TOML;

    fn validate(&self) -> Result<(), String> {
        bounds::count(
            "sites",
            self.sites as u64,
            1,
            64,
            "one observation block per site",
        )?;
        bounds::count(
            "series (entries)",
            self.series.len() as u64,
            1,
            64,
            "one series per site at most",
        )?;
        if !self.history_series.is_empty() && self.history_series.len() != self.series.len() {
            return Err(format!(
                "history_series has {} entries and series {}: give one per series, or none",
                self.history_series.len(),
                self.series.len()
            ));
        }
        bounds::within("site_phase_shift_h", self.site_phase_shift_h, 0.0, 8_784.0)?;
        bounds::positive_at_most("period_s", self.period_s, 30.0 * 86_400.0)?;
        // The forecasters read the whole visible history at every step.
        let periods = "periods are simulated and forecast one by one";
        bounds::count(
            "episode_periods",
            self.episode_periods as u64,
            1,
            100_000,
            periods,
        )?;
        bounds::count(
            "history_periods",
            self.history_periods as u64,
            0,
            100_000,
            periods,
        )?;
        bounds::positive_at_most("mean_demand_units", self.mean_demand_units, 1e6)?;
        bounds::within("noise_sigma", self.noise_sigma, 0.0, 2.0)?;
        bounds::within("growth_per_week", self.growth_per_week, -0.5, 1.0)?;
        if !(0 <= self.min_units && self.min_units < self.max_units && self.max_units <= 1_000_000)
            || self.initial_units > self.max_units
            || self.initial_units < 0
        {
            return Err(format!(
                "min_units = {}, max_units = {}, initial_units = {}: need 0 <= min < max <= 1000000 and 0 <= initial <= max",
                self.min_units, self.max_units, self.initial_units
            ));
        }
        bounds::count(
            "changes (entries)",
            self.changes.len() as u64,
            1,
            1_000,
            "one action per entry",
        )?;
        if !self.changes.contains(&0)
            || self
                .changes
                .iter()
                .any(|c| c.unsigned_abs() > self.max_units.unsigned_abs())
        {
            return Err(format!(
                "changes = {}: must include 0 (no change), and no change larger than max_units ({})",
                crate::bounds::excerpt(&format!("{:?}", self.changes), 80),
                self.max_units
            ));
        }
        bounds::count(
            "lead_time_periods",
            self.lead_time_periods as u64,
            0,
            8,
            "orders in flight are part of the observation",
        )?;
        let c = &self.cost;
        bounds::weight("cost.capacity_per_unit_period", c.capacity_per_unit_period)?;
        bounds::weight("cost.shortage_per_unit", c.shortage_per_unit)?;
        bounds::weight("cost.change_per_unit", c.change_per_unit)?;
        let f = &self.forecast;
        let fit = "forecasters refit over it";
        bounds::count(
            "forecast.season_periods",
            f.season_periods as u64,
            1,
            10_000,
            fit,
        )?;
        bounds::count(
            "forecast.moving_average_window",
            f.moving_average_window as u64,
            1,
            10_000,
            fit,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_errors() {
        let c = CapacityConfig::default();
        assert_eq!((c.sites, c.lead_time_periods, c.changes.len()), (3, 2, 9));
        let err = CapacityConfig::from_toml("changes = [1, 2]", "c.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config error: c.toml: changes = [1, 2]: must include 0 (no change), and no change larger than max_units (60)"
        );
        let err =
            CapacityConfig::from_toml("[forecast]\nforecaster = \"oracle\"", "c.toml").unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `oracle`"),
            "{err}"
        );
    }
}
