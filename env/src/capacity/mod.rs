//! The `capacity` scenario: capacity planning ahead of demand with a lead time.
//!
//! Timing of a period t: orders due at t arrive; the planner observes demand up to t-1, current
//! and in-flight capacity and the configured forecaster's predictions, and picks one change per
//! site (`MultiDiscrete`, masked to the bounds); a removal takes effect at once, an addition
//! arrives at t + lead time; then period t's demand is served and paid for.

pub mod config;
mod scene;
pub mod series;

pub use config::{CapacityConfig, CostConfig, ForecasterKind};

use crate::config::ScenarioConfig;
use crate::error::EnvError;
use crate::features::{Feature, FeatureSpec, Layout};
use crate::forecast::{Forecaster, Tracker};
use crate::rng::Rng;
use crate::scenario::{Better, Info, Metric, Scenario, Transition, metric_names};
use crate::spaces::{Action, Space};
use std::sync::Arc;

/// Metrics of every step (one period, all sites); the episode's are their means.
pub const METRICS: [Metric; 7] = [
    Metric {
        name: "cost",
        unit: "cost units",
        better: Better::Lower,
        step: "the period's total cost (capacity + shortage + changes)",
    },
    Metric {
        name: "capacity_cost",
        unit: "cost units",
        better: Better::Lower,
        step: "the period's cost of the capacity in place",
    },
    Metric {
        name: "shortage_cost",
        unit: "cost units",
        better: Better::Lower,
        step: "the period's cost of unmet demand",
    },
    Metric {
        name: "change_cost",
        unit: "cost units",
        better: Better::Lower,
        step: "the period's cost of capacity changes",
    },
    Metric {
        name: "unmet_fraction",
        unit: "fraction",
        better: Better::Lower,
        step: "the share of the period's demand above capacity",
    },
    Metric {
        name: "slo_violation_hour_fraction",
        unit: "fraction",
        better: Better::Lower,
        step: "1 if some site's demand exceeded its capacity in the period, else 0",
    },
    Metric {
        name: "mean_utilisation",
        unit: "fraction",
        better: Better::Higher,
        step: "demand / capacity (at most 1; 1 without capacity), averaged over sites",
    },
];
pub const METRIC_NAMES: [&str; 7] = metric_names(&METRICS);

/// Cost of one site in one period: `capacity` units existing, `unmet` units of demand above
/// them (or their expectation), `change` units ordered or removed.
pub fn period_cost(cost: &CostConfig, capacity: i64, unmet: f64, change: i64) -> (f64, f64, f64) {
    (
        cost.capacity_per_unit_period * capacity as f64,
        cost.shortage_per_unit * unmet,
        cost.change_per_unit * change.unsigned_abs() as f64,
    )
}

/// Index `t` of a source of `len` periods; past the end it wraps onto the scored part, so a
/// shifted site never scores the history tail.
fn wrapped(t: usize, len: usize, scored_from: usize) -> usize {
    if t < len {
        t
    } else {
        scored_from + (t - scored_from) % (len - scored_from)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CapacityObs {
    /// Period index in the episode (decisions made so far).
    pub period: usize,
    pub hour_of_day: f64,
    pub day_of_week: f64,
    /// Demand of the last `history_periods` periods per site, oldest first.
    pub history: Vec<Vec<f64>>,
    pub capacity: Vec<i64>,
    /// Per site, units arriving in 1, 2, ..., lead_time periods (index 0 = next period); the
    /// last entry is always 0 when observed (this period's order goes there).
    pub in_flight: Vec<Vec<i64>>,
    /// The configured forecaster's demand for this period and the next `lead_time` ones.
    pub forecast: Vec<Vec<f64>>,
}

/// The whole episode's demand per site, for oracles only: the true demand, and its mean (the
/// series with growth, before the per-period noise, whose mean is 1).
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityOracleView {
    pub demand: Arc<Vec<Vec<f64>>>,
    pub mean_demand: Arc<Vec<Vec<f64>>>,
}

#[derive(Debug, Clone)]
pub struct CapacityScenario {
    config: CapacityConfig,
    /// Per source series, resampled to periods and scaled to the mean demand, after its
    /// `history_series` tail if there is one (see `scored_from`).
    sources: Arc<Vec<Vec<f64>>>,
    gaps: Vec<String>,
    forecaster: Arc<dyn Forecaster>,
    /// Per site, the forecaster following the demand visible so far (one value per period).
    trackers: Vec<Tracker>,
    space: Space,
    spec: FeatureSpec,
    /// Demand per site, `history_periods` before the episode then the episode's periods.
    demand: Vec<Vec<f64>>,
    view: CapacityOracleView,
    start_hour: usize,
    period: Option<usize>,
    capacity: Vec<i64>,
    /// Per site, arrivals in 0..lead_time periods (index 0 arrives at the next period start).
    pipeline: Vec<Vec<i64>>,
    /// Per site and period of the episode so far: the capacity in force and the change
    /// ordered (for pictures).
    in_force: Vec<Vec<i64>>,
    ordered: Vec<Vec<i64>>,
    mask: Vec<bool>,
}

impl CapacityScenario {
    pub fn new(config: CapacityConfig) -> Result<Self, EnvError> {
        config.validate().map_err(EnvError::Config)?;
        let mut gaps = Vec::new();
        let mut periods = |spec: &str| -> Result<Vec<f64>, EnvError> {
            let s = series::load(spec)?;
            if !s.gaps.is_empty() {
                gaps.push(format!("{spec}: {}", s.gaps));
            }
            s.resample(config.period_s)
        };
        let (h, n) = (config.history_periods, config.episode_periods);
        let mut sources = Vec::new();
        for (i, spec) in config.series.iter().enumerate() {
            let values = periods(spec)?;
            let before = match config.history_series.get(i) {
                Some(earlier) => {
                    let v = periods(earlier)?;
                    let tail = v.len().checked_sub(h).ok_or_else(|| {
                        EnvError::config(format!(
                            "history_series {earlier} has {} periods; need at least history_periods = {h}",
                            v.len()
                        ))
                    })?;
                    v[tail..].to_vec()
                }
                None => Vec::new(),
            };
            let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
            if before.len() + values.len() < h + n + 1 || mean <= 0.0 {
                return Err(EnvError::config(format!(
                    "series {spec} has {} periods (mean {mean}); need more than {}",
                    values.len(),
                    match before.len() {
                        0 => format!("history_periods + episode_periods = {}", h + n),
                        _ => format!("episode_periods = {n} (history_series gives the history)"),
                    }
                )));
            }
            sources.push(
                before
                    .iter()
                    .chain(&values)
                    .map(|v| v / mean * config.mean_demand_units)
                    .collect(),
            );
        }
        let forecaster = config.forecast.forecaster.build(
            config.forecast.season_periods,
            config.forecast.moving_average_window,
        );
        let sites = config.sites;
        let options = config.changes.len();
        Ok(Self {
            space: Space::MultiDiscrete {
                nvec: vec![options; sites],
            },
            spec: feature_spec(&config),
            demand: vec![Vec::new(); sites],
            view: CapacityOracleView {
                demand: Arc::new(Vec::new()),
                mean_demand: Arc::new(Vec::new()),
            },
            start_hour: 0,
            period: None,
            capacity: vec![0; sites],
            pipeline: vec![vec![0; config.lead_time_periods]; sites],
            in_force: Vec::new(),
            ordered: Vec::new(),
            mask: vec![false; sites * options],
            sources: Arc::new(sources),
            gaps,
            trackers: Vec::new(),
            forecaster,
            config,
        })
    }

    pub fn config(&self) -> &CapacityConfig {
        &self.config
    }

    /// Where a source's scored periods begin: after its `history_series` tail (0 without one).
    fn scored_from(&self) -> usize {
        if self.config.history_series.is_empty() {
            0
        } else {
            self.config.history_periods
        }
    }

    /// Gaps cut from the source series, one line per series with gaps.
    pub fn gaps(&self) -> &[String] {
        &self.gaps
    }

    pub fn forecaster(&self) -> &dyn Forecaster {
        self.forecaster.as_ref()
    }

    fn in_flight_total(&self, site: usize) -> i64 {
        self.pipeline[site].iter().sum()
    }

    fn update_mask(&mut self) {
        let options = self.config.changes.len();
        for site in 0..self.config.sites {
            let (cap, flying) = (self.capacity[site], self.in_flight_total(site));
            for (k, &c) in self.config.changes.iter().enumerate() {
                self.mask[site * options + k] = if c < 0 {
                    cap + c >= self.config.min_units
                } else {
                    cap + flying + c <= self.config.max_units
                };
            }
        }
    }

    /// Brings every site's tracker up to the demand visible at the current period.
    fn track_demand(&mut self) {
        let visible = self.period.unwrap_or(0) + self.config.history_periods;
        for (tracker, demand) in self.trackers.iter_mut().zip(&self.demand) {
            for &v in &demand[tracker.history().len()..visible] {
                tracker.push(v);
            }
        }
    }

    fn observation(&mut self) -> CapacityObs {
        self.track_demand();
        let t = self.period.unwrap_or(0);
        let h = self.config.history_periods;
        let hours = (self.start_hour as f64 + t as f64 * self.config.period_s / 3600.0).max(0.0);
        let history: Vec<Vec<f64>> = self.demand.iter().map(|d| d[t..t + h].to_vec()).collect();
        let horizon = self.config.lead_time_periods + 1;
        let forecast = self.trackers.iter().map(|f| f.forecast(horizon)).collect();
        CapacityObs {
            period: t,
            hour_of_day: hours % 24.0,
            day_of_week: (hours / 24.0) % 7.0,
            history,
            capacity: self.capacity.clone(),
            in_flight: self.pipeline.clone(),
            forecast,
        }
    }
}

impl Scenario for CapacityScenario {
    type Obs = CapacityObs;
    type OracleView = CapacityOracleView;

    fn name(&self) -> &'static str {
        "capacity"
    }

    fn action_space(&self) -> &Space {
        &self.space
    }

    fn feature_spec(&self) -> &FeatureSpec {
        &self.spec
    }

    fn metric_names(&self) -> &'static [&'static str] {
        &METRIC_NAMES
    }

    fn action_mask(&self) -> Option<&[bool]> {
        Some(&self.mask)
    }

    fn scene(&self) -> Result<crate::Scene, EnvError> {
        self.period.ok_or(EnvError::NotReset)?;
        Ok(scene::scene(self))
    }

    fn reset(&mut self, seed: u64) -> CapacityObs {
        let c = &self.config;
        let mut rng = Rng::new(seed);
        let (h, n) = (c.history_periods, c.episode_periods);
        let periods_per_hour = 3600.0 / c.period_s;
        let shortest = self.sources.iter().map(Vec::len).min().unwrap_or(0);
        let start = rng.below(shortest - h - n);
        // Hours since the first scored period's series began (the history tail is before it).
        let scored_from = self.scored_from();
        self.start_hour = ((start + h - scored_from) as f64 / periods_per_hour) as usize;
        let mut mean_demand = Vec::with_capacity(c.sites);
        self.demand = (0..c.sites)
            .map(|site| {
                let (source, shift) = if site < self.sources.len() {
                    (&self.sources[site], 0)
                } else {
                    (
                        &self.sources[0],
                        (site as f64 * c.site_phase_shift_h * periods_per_hour).round() as usize,
                    )
                };
                let (mean, noisy): (Vec<f64>, Vec<f64>) = (0..h + n)
                    .map(|i| {
                        let t = wrapped(start + i + shift, source.len(), scored_from);
                        let weeks = (i as f64 - h as f64) * c.period_s / (7.0 * 86_400.0);
                        let noise = (c.noise_sigma * rng.normal()
                            - 0.5 * c.noise_sigma * c.noise_sigma)
                            .exp();
                        let mean = source[t] * (1.0 + c.growth_per_week).powf(weeks);
                        (mean, mean * noise)
                    })
                    .unzip();
                mean_demand.push(mean[h..].to_vec());
                noisy
            })
            .collect();
        self.view = CapacityOracleView {
            demand: Arc::new(self.demand.iter().map(|d| d[h..].to_vec()).collect()),
            mean_demand: Arc::new(mean_demand),
        };
        self.trackers = vec![Tracker::new(Arc::clone(&self.forecaster)); c.sites];
        self.capacity = self
            .demand
            .iter()
            .map(|d| match c.initial_units {
                0 => ((1.2 * d[h.saturating_sub(1)]).ceil() as i64).clamp(c.min_units, c.max_units),
                units => units.clamp(c.min_units, c.max_units),
            })
            .collect();
        self.pipeline = vec![vec![0; c.lead_time_periods]; c.sites];
        self.in_force = vec![Vec::with_capacity(n); c.sites];
        self.ordered = vec![Vec::with_capacity(n); c.sites];
        self.period = Some(0);
        self.update_mask();
        self.observation()
    }

    fn step(&mut self, action: &Action) -> Result<Transition<CapacityObs>, EnvError> {
        let t = self.period.ok_or(EnvError::NotReset)?;
        if t >= self.config.episode_periods {
            return Err(EnvError::EpisodeOver);
        }
        self.check_action(action)?;
        let Action::MultiDiscrete(choices) = action else {
            unreachable!(
                "check_action accepts only multi-discrete actions for a multi-discrete space"
            )
        };
        let h = self.config.history_periods;
        let (mut capacity_cost, mut shortage_cost, mut change_cost) = (0.0, 0.0, 0.0);
        let (mut unmet, mut demand_total, mut utilisation, mut violated) = (0.0, 0.0, 0.0, false);
        for (site, &k) in choices.iter().enumerate() {
            let change = self.config.changes[k];
            if change < 0 || self.config.lead_time_periods == 0 {
                self.capacity[site] += change;
            } else if let Some(slot) = self.pipeline[site].last_mut() {
                *slot += change;
            }
            let demand = self.demand[site][h + t];
            let cap = self.capacity[site];
            self.in_force[site].push(cap);
            self.ordered[site].push(change);
            let site_unmet = (demand - cap as f64).max(0.0);
            let (a, b, c) = period_cost(&self.config.cost, cap, site_unmet, change);
            (capacity_cost, shortage_cost, change_cost) =
                (capacity_cost + a, shortage_cost + b, change_cost + c);
            unmet += site_unmet;
            violated |= demand > cap as f64;
            demand_total += demand;
            utilisation += if cap > 0 {
                (demand / cap as f64).min(1.0)
            } else {
                1.0
            };
            // Next period: the first in-flight slot arrives, the others move up.
            if !self.pipeline[site].is_empty() {
                let arriving = self.pipeline[site].remove(0);
                self.capacity[site] += arriving;
                self.pipeline[site].push(0);
            }
        }
        let sites = self.config.sites as f64;
        self.period = Some(t + 1);
        self.update_mask();
        let cost = capacity_cost + shortage_cost + change_cost;
        Ok(Transition {
            obs: self.observation(),
            reward: -cost,
            terminated: false,
            truncated: t + 1 == self.config.episode_periods,
            info: Info {
                values: vec![
                    cost,
                    capacity_cost,
                    shortage_cost,
                    change_cost,
                    if demand_total > 0.0 {
                        unmet / demand_total
                    } else {
                        0.0
                    },
                    if violated { 1.0 } else { 0.0 },
                    utilisation / sites,
                ],
            },
        })
    }

    fn encode(&self, obs: &CapacityObs, out: &mut [f32]) {
        let scale = self.config.mean_demand_units;
        let mut values = Vec::with_capacity(out.len());
        let (hour, day) = (
            obs.hour_of_day / 24.0 * std::f64::consts::TAU,
            obs.day_of_week / 7.0 * std::f64::consts::TAU,
        );
        values.extend([hour.sin(), hour.cos(), day.sin(), day.cos()]);
        for site in 0..self.config.sites {
            values.extend(obs.history[site].iter().map(|d| d / scale));
            values.push(obs.capacity[site] as f64 / scale);
            values.extend(obs.in_flight[site].iter().map(|&u| u as f64 / scale));
            values.extend(obs.forecast[site].iter().map(|f| f / scale));
        }
        out.iter_mut().zip(values).for_each(|(o, v)| *o = v as f32);
    }

    fn oracle_view(&self) -> &CapacityOracleView {
        &self.view
    }
}

fn feature_spec(c: &CapacityConfig) -> FeatureSpec {
    let scale = c.mean_demand_units as f32;
    let mut features = vec![
        Feature::new("hour_of_day_sin", "1", 1.0),
        Feature::new("hour_of_day_cos", "1", 1.0),
        Feature::new("day_of_week_sin", "1", 1.0),
        Feature::new("day_of_week_cos", "1", 1.0),
    ];
    for site in 0..c.sites {
        for lag in (1..=c.history_periods).rev() {
            features.push(Feature::new(
                format!("site{site}.demand[t-{lag}]"),
                "units",
                scale,
            ));
        }
        features.push(Feature::new(format!("site{site}.capacity"), "units", scale));
        for k in 1..=c.lead_time_periods {
            features.push(Feature::new(
                format!("site{site}.arriving[t+{k}]"),
                "units",
                scale,
            ));
        }
        for k in 0..=c.lead_time_periods {
            features.push(Feature::new(
                format!("site{site}.forecast[t+{k}]"),
                "units",
                scale,
            ));
        }
    }
    FeatureSpec {
        scenario: "capacity".into(),
        layout: Layout::Flat { features },
    }
}
