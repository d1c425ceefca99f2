//! Configuration of the capacity scenario. The documented defaults live in `default.toml`.

use crate::config::ScenarioConfig;
use crate::forecast::{Forecaster, HoltWinters, MovingAverage, SeasonalNaive, Seasonality};
use serde::Deserialize;

/// The built-in default config, with a comment on every field.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityConfig {
    pub series: Vec<String>,
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

    pub fn build(self, season: usize, window: usize) -> Box<dyn Forecaster> {
        match self {
            ForecasterKind::SeasonalNaive => Box::new(SeasonalNaive { season }),
            ForecasterKind::MovingAverage => Box::new(MovingAverage { window }),
            ForecasterKind::HoltWintersAdditive => Box::new(HoltWinters {
                season,
                seasonality: Seasonality::Additive,
            }),
            ForecasterKind::HoltWintersMultiplicative => Box::new(HoltWinters {
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
    const DEFAULT_TOML: &'static str = DEFAULT_TOML;

    fn validate(&self) -> Result<(), String> {
        if self.series.is_empty() || self.sites == 0 || self.sites > 64 {
            return Err(format!(
                "series = {:?}, sites = {}: need at least one series and 1..=64 sites",
                self.series, self.sites
            ));
        }
        if self.episode_periods == 0 {
            return Err("episode_periods = 0: must be at least 1".into());
        }
        if !(self.mean_demand_units > 0.0 && self.mean_demand_units.is_finite()) {
            return Err(format!(
                "mean_demand_units = {}: must be positive",
                self.mean_demand_units
            ));
        }
        if !(0.0..=2.0).contains(&self.noise_sigma) || !(-0.5..=1.0).contains(&self.growth_per_week)
        {
            return Err(format!(
                "noise_sigma = {}, growth_per_week = {}: need noise_sigma in [0, 2] and growth_per_week in [-0.5, 1]",
                self.noise_sigma, self.growth_per_week
            ));
        }
        if self.changes.is_empty() || !self.changes.contains(&0) {
            return Err(format!(
                "changes = {:?}: must include 0 (no change)",
                self.changes
            ));
        }
        if !(0 <= self.min_units && self.min_units < self.max_units)
            || self.initial_units > self.max_units
            || self.initial_units < 0
        {
            return Err(format!(
                "min_units = {}, max_units = {}, initial_units = {}: need 0 <= min < max and 0 <= initial <= max",
                self.min_units, self.max_units, self.initial_units
            ));
        }
        if self.lead_time_periods > 8 {
            return Err(format!(
                "lead_time_periods = {}: at most 8",
                self.lead_time_periods
            ));
        }
        let c = &self.cost;
        for (name, v) in [
            ("cost.capacity_per_unit_period", c.capacity_per_unit_period),
            ("cost.shortage_per_unit", c.shortage_per_unit),
            ("cost.change_per_unit", c.change_per_unit),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!(
                    "{name} = {v}: must be a non-negative finite number"
                ));
            }
        }
        if self.forecast.season_periods == 0 || self.forecast.moving_average_window == 0 {
            return Err(
                "forecast.season_periods and forecast.moving_average_window must be at least 1"
                    .into(),
            );
        }
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
            "config error: c.toml: changes = [1, 2]: must include 0 (no change)"
        );
        let err =
            CapacityConfig::from_toml("[forecast]\nforecaster = \"oracle\"", "c.toml").unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `oracle`"),
            "{err}"
        );
    }
}
