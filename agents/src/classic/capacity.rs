//! Capacity planning baselines: a reactive target-utilisation rule (Kubernetes HPA-like), a
//! forecast plus safety headroom per forecaster, and the optimum by dynamic programming given
//! the whole episode's demand (an oracle) or only its mean (the bound for causal policies).

use crate::comparison::EpisodeBudget;
use crate::evaluate::ContenderFactory;
use crate::registry::{
    OutcomeModel, RegisteredScenario, ReportExtra, fraction_in_name, toml_string,
};
use crate::{Contender, Oracle, Policy, PolicyError};
use planetgym_env::EnvError;
use planetgym_env::capacity::{CapacityConfig, CapacityOracleView, ForecasterKind, period_cost};
use planetgym_env::forecast::Forecaster;
use planetgym_env::{Action, CapacityObs, CapacityScenario};
use std::sync::Arc;

/// The index of the allowed change closest to `wanted` (0 if nothing else is allowed).
fn closest_change(
    config: &CapacityConfig,
    site: usize,
    wanted: i64,
    mask: Option<&[bool]>,
) -> usize {
    let options = config.changes.len();
    let allowed =
        |k: usize| mask.is_none_or(|m| m.get(site * options + k).copied().unwrap_or(false));
    (0..options)
        .filter(|&k| allowed(k))
        .min_by_key(|&k| ((config.changes[k] - wanted).abs(), config.changes[k].abs()))
        .unwrap_or_else(|| config.changes.iter().position(|&c| c == 0).unwrap_or(0))
}

/// Scales to `ceil(demand / target)` of the last period: up at once (as far as the change set
/// allows), down only to the highest recommendation of the stabilisation window.
#[derive(Debug, Clone)]
pub struct ReactiveTarget {
    pub config: CapacityConfig,
    pub target_utilisation: f64,
    pub stabilisation_periods: usize,
}

impl Policy<CapacityScenario> for ReactiveTarget {
    fn name(&self) -> String {
        format!("reactive@{}", self.target_utilisation)
    }

    fn act(&mut self, obs: &CapacityObs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let choices = (0..self.config.sites)
            .map(|site| {
                let history = &obs.history[site];
                let desired = |d: f64| (d / self.target_utilisation).ceil() as i64;
                let now = history.last().map_or(0, |&d| desired(d));
                let window = &history[history
                    .len()
                    .saturating_sub(self.stabilisation_periods.max(1))..];
                let keep = window.iter().map(|&d| desired(d)).max().unwrap_or(now);
                let planned = obs.capacity[site] + obs.in_flight[site].iter().sum::<i64>();
                let wanted = if now > planned {
                    now - planned
                } else {
                    (keep - obs.capacity[site]).min(0)
                };
                closest_change(&self.config, site, wanted, mask)
            })
            .collect();
        Ok(Action::MultiDiscrete(choices))
    }
}

/// Plans capacity to `(1 + headroom)` x the forecast: orders now what the forecast needs when
/// an order would arrive, removes what neither this period nor the lead time needs.
#[derive(Debug)]
pub struct ForecastHeadroom {
    pub config: CapacityConfig,
    pub forecaster: Arc<dyn Forecaster>,
    pub headroom: f64,
}

impl Policy<CapacityScenario> for ForecastHeadroom {
    fn name(&self) -> String {
        // Rounded to 1e-9 so that a name typed as `forecast+12.5%:...` comes back as typed.
        let percent = (100.0 * self.headroom * 1e9).round() / 1e9;
        format!("forecast+{percent}%:{}", self.forecaster.name())
    }

    fn act(&mut self, obs: &CapacityObs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let lead = self.config.lead_time_periods;
        let choices = (0..self.config.sites)
            .map(|site| {
                // The forecast from the full visible history (the observation's own forecast is
                // the scenario's configured forecaster, not necessarily this one).
                let forecast = self.forecaster.forecast(&obs.history[site], lead + 1);
                let need = |f: f64| (f * (1.0 + self.headroom)).ceil() as i64;
                let at_arrival = forecast.get(lead).map_or(0, |&f| need(f));
                let until_arrival = forecast.iter().map(|&f| need(f)).max().unwrap_or(0);
                let planned = obs.capacity[site] + obs.in_flight[site].iter().sum::<i64>();
                let wanted = if at_arrival > planned {
                    at_arrival - planned
                } else {
                    (until_arrival.max(at_arrival) - obs.capacity[site])
                        .min(0)
                        .max(at_arrival - planned)
                };
                closest_change(&self.config, site, wanted, mask)
            })
            .collect();
        Ok(Action::MultiDiscrete(choices))
    }
}

/// Periods a `ForecastDp` plans ahead: a day at hourly periods, far past any lead time.
pub const PLAN_PERIODS: usize = 24;

/// Model-predictive control on a forecast: each period and site, the exact DP over the next
/// `PLAN_PERIODS` with the forecaster's predictions as the demand's mean and the scenario's
/// log-normal noise around them (`CapacityDp::solve_expected`, as `oracle-mean-dp` plans on
/// the true mean); it takes the plan's first decision and plans again the next period. Causal:
/// it sees the history the forecast baselines see and the noise's law (the config's sigma),
/// not the mean ahead or the draws.
#[derive(Debug)]
pub struct ForecastDp {
    pub config: CapacityConfig,
    pub forecaster: Arc<dyn Forecaster>,
}

impl Policy<CapacityScenario> for ForecastDp {
    fn name(&self) -> String {
        format!("forecast-dp:{}", self.forecaster.name())
    }

    fn act(&mut self, obs: &CapacityObs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        // Planned again every period: an episode's plans together are held to one table's size.
        let periods = PLAN_PERIODS.saturating_mul(self.config.episode_periods);
        check_dp_size(&self.config, periods, &self.name())?;
        let choices = (0..self.config.sites)
            .map(|site| {
                let forecast = self.forecaster.forecast(&obs.history[site], PLAN_PERIODS);
                let dp = CapacityDp::solve_mean(&self.config, &forecast);
                let planned = dp.decision(0, obs, site, &self.name())?;
                Ok(closest_change(
                    &self.config,
                    site,
                    self.config.changes[planned],
                    mask,
                ))
            })
            .collect::<Result<_, PolicyError>>()?;
        Ok(Action::MultiDiscrete(choices))
    }
}

/// Exact dynamic programme for one site: states are (capacity, in-flight units per arrival
/// slot), the horizon is the episode, the demand known exactly (`solve`) or in expectation
/// (`solve_expected`). Keeps the optimal policy per period and state, and the optimal cost
/// from each state at the first period.
#[derive(Debug, Clone)]
pub struct CapacityDp {
    max_units: i64,
    /// Values of in-flight slots: additions only, so 0..=max positive change.
    slot_values: i64,
    slots: usize,
    /// policy[t][state] = index into changes.
    policy: Vec<Vec<u8>>,
    /// Optimal cost from period 0 of each state.
    pub value0: Vec<f64>,
}

impl CapacityDp {
    /// The optimal cost of the whole horizon from `capacity` with nothing in flight.
    pub fn optimal_cost(&self, capacity: i64) -> Option<f64> {
        self.encode(capacity, &vec![0; self.slots])
            .map(|s| self.value0[s])
    }
}

impl CapacityDp {
    fn states(config: &CapacityConfig) -> (i64, usize, usize) {
        let slot_values = config
            .changes
            .iter()
            .copied()
            .filter(|&c| c > 0)
            .max()
            .unwrap_or(0)
            + 1;
        let slots = config.lead_time_periods.saturating_sub(1);
        let levels = (config.max_units + 1) as usize;
        (
            slot_values,
            slots,
            levels * (slot_values as usize).pow(slots as u32),
        )
    }

    fn encode(&self, capacity: i64, in_flight: &[i64]) -> Option<usize> {
        if !(0..=self.max_units).contains(&capacity) {
            return None;
        }
        let mut index = capacity as usize;
        for &v in &in_flight[..self.slots] {
            if !(0..self.slot_values).contains(&v) {
                return None;
            }
            index = index * self.slot_values as usize + v as usize;
        }
        Some(index)
    }

    fn decode(&self, mut index: usize) -> (i64, Vec<i64>) {
        let mut in_flight = vec![0; self.slots];
        for slot in (0..self.slots).rev() {
            in_flight[slot] = (index % self.slot_values as usize) as i64;
            index /= self.slot_values as usize;
        }
        (index as i64, in_flight)
    }

    /// Solves the site's problem for `demand` (one value per period).
    pub fn solve(config: &CapacityConfig, demand: &[f64]) -> Self {
        Self::solve_expected(config, demand.len(), |t, units| {
            (demand[t] - units as f64).max(0.0)
        })
    }

    /// Solves the site's problem when period t's demand is `mean[t]` times the scenario's
    /// log-normal noise (mean 1): what `oracle-mean-dp` plans on the true mean and
    /// `ForecastDp` on a forecast.
    pub fn solve_mean(config: &CapacityConfig, mean: &[f64]) -> Self {
        let sigma = config.noise_sigma;
        Self::solve_expected(config, mean.len(), |t, units| {
            lognormal_excess(mean[t], sigma, units as f64)
        })
    }

    /// Solves the site's problem over `periods` when the demand is known only in distribution:
    /// `expected_unmet(t, units)` is the expected demand above `units` in period t. Demand never
    /// changes the state (capacity follows the orders alone), so this deterministic DP on
    /// expected costs is the optimal policy too, not only an open-loop plan.
    pub fn solve_expected(
        config: &CapacityConfig,
        periods: usize,
        expected_unmet: impl Fn(usize, i64) -> f64,
    ) -> Self {
        let (slot_values, slots, n_states) = Self::states(config);
        let mut dp = Self {
            max_units: config.max_units,
            slot_values,
            slots,
            policy: Vec::new(),
            value0: Vec::new(),
        };
        let moves = dp.moves(config, n_states);
        let mut next = vec![0.0; n_states];
        let mut policy = vec![vec![0u8; n_states]; periods];
        for t in (0..periods).rev() {
            let unmet_by_units: Vec<f64> = (0..=config.max_units)
                .map(|units| expected_unmet(t, units))
                .collect();
            let mut current = vec![f64::INFINITY; n_states];
            for ((value, moves), choice) in current.iter_mut().zip(&moves).zip(&mut policy[t]) {
                for m in moves {
                    let serving = i64::from(m.serving);
                    let unmet = usize::try_from(serving)
                        .ok()
                        .and_then(|u| unmet_by_units.get(u).copied())
                        .unwrap_or_else(|| expected_unmet(t, serving));
                    let (a, b, c) = period_cost(&config.cost, serving, unmet, m.change);
                    let total = a + b + c + next[m.next as usize];
                    if total < *value {
                        *value = total;
                        *choice = m.index;
                    }
                }
            }
            next = current;
        }
        dp.policy = policy;
        dp.value0 = next;
        dp
    }

    /// Per state, the allowed changes in the order of `config.changes` and where each leads:
    /// the same for every period, so worked out once rather than per period. (Changes past the
    /// 256th, which a decision byte cannot name, are left out; the oracles refuse such configs.)
    fn moves(&self, config: &CapacityConfig, n_states: usize) -> Vec<Vec<Move>> {
        let lead = config.lead_time_periods;
        (0..n_states)
            .map(|state| {
                let (cap, flying) = self.decode(state);
                let planned = cap + flying.iter().sum::<i64>();
                let changes = config.changes.iter().enumerate();
                changes
                    .filter_map(|(k, &change)| {
                        let allowed = if change < 0 {
                            cap + change >= config.min_units
                        } else {
                            planned + change <= config.max_units
                        };
                        if !allowed {
                            return None;
                        }
                        let serving = if change < 0 || lead == 0 {
                            cap + change
                        } else {
                            cap
                        };
                        // Next period: slot 0 arrives, the others move up, the order joins last.
                        let mut pipeline: Vec<i64> = flying.clone();
                        if lead >= 1 {
                            pipeline.push(change.max(0));
                        }
                        let arriving = if pipeline.is_empty() {
                            0
                        } else {
                            pipeline.remove(0)
                        };
                        let next = self.encode(serving + arriving, &pipeline)?;
                        Some(Move {
                            index: u8::try_from(k).ok()?,
                            change,
                            serving: i32::try_from(serving).ok()?,
                            next: u32::try_from(next).ok()?,
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// `decide` for `site`'s state in `obs`, an error naming the site and `policy` when the
    /// state lies outside the table.
    fn decision(
        &self,
        t: usize,
        obs: &CapacityObs,
        site: usize,
        policy: &str,
    ) -> Result<usize, PolicyError> {
        self.decide(t, obs.capacity[site], &obs.in_flight[site])
            .ok_or_else(|| PolicyError::Invalid {
                policy: policy.into(),
                message: format!("site {site}: state outside the DP's table"),
            })
    }

    /// The optimal change index at period `t` from the given state.
    pub fn decide(&self, t: usize, capacity: i64, in_flight: &[i64]) -> Option<usize> {
        let flying = if self.slots == 0 {
            &[][..]
        } else {
            &in_flight[..self.slots]
        };
        // in_flight from the scenario has lead slots; the last is always empty at decision time.
        let state = self.encode(capacity, flying)?;
        self.policy.get(t).map(|p| usize::from(p[state]))
    }
}

/// An allowed change from a DP state: its index in the config's changes, the units serving
/// this period and the state it leads to.
#[derive(Debug, Clone, Copy)]
struct Move {
    index: u8,
    change: i64,
    serving: i32,
    next: u32,
}

/// Largest DP table (states x periods) the oracle builds, about 2 GB with its values.
const MAX_DP_ENTRIES: usize = 200_000_000;

/// Refuses a DP table of more than `MAX_DP_ENTRIES` for `periods` under `config`, or more
/// changes than its byte per decision can name.
fn check_dp_size(config: &CapacityConfig, periods: usize, policy: &str) -> Result<(), PolicyError> {
    if config.changes.len() > usize::from(u8::MAX) + 1 {
        return Err(PolicyError::Invalid {
            policy: policy.into(),
            message: format!(
                "{} changes: the exact DP stores a decision in a byte, so at most 256",
                config.changes.len()
            ),
        });
    }
    let (_, _, states) = CapacityDp::states(config);
    if states.saturating_mul(periods) > MAX_DP_ENTRIES {
        return Err(PolicyError::Invalid {
            policy: policy.into(),
            message: format!(
                "{states} states x {periods} periods is too large for the exact DP (limit {MAX_DP_ENTRIES}): lower max_units, the largest change or the lead time"
            ),
        });
    }
    Ok(())
}

/// The demand the plans were made for, and one DP per site.
type Plans = (Arc<Vec<Vec<f64>>>, Vec<CapacityDp>);

/// What a DP oracle knows of the episode's demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Foresight {
    /// The true demand, noise included: the optimum in hindsight.
    Perfect,
    /// The demand's mean (the series and its growth) and the noise's law, not its draws. Noise
    /// is independent from period to period, so no causal policy can expect a lower cost: this
    /// is the bound for policies that see only the past.
    Mean,
}

/// The DP optimum per site given `foresight` of the episode's demand (labelled oracle).
#[derive(Debug, Clone)]
pub struct CapacityOracle {
    config: CapacityConfig,
    foresight: Foresight,
    plans: Option<Plans>,
}

impl CapacityOracle {
    pub fn new(config: CapacityConfig, foresight: Foresight) -> Self {
        Self {
            config,
            foresight,
            plans: None,
        }
    }

    fn plan(&self, demand: &[f64]) -> CapacityDp {
        match self.foresight {
            Foresight::Perfect => CapacityDp::solve(&self.config, demand),
            Foresight::Mean => CapacityDp::solve_mean(&self.config, demand),
        }
    }
}

impl Oracle<CapacityScenario> for CapacityOracle {
    fn name(&self) -> String {
        match self.foresight {
            Foresight::Perfect => "oracle-dp (perfect foresight)".into(),
            Foresight::Mean => "oracle-mean-dp (knows the mean demand, not the noise)".into(),
        }
    }

    fn act(&mut self, obs: &CapacityObs, view: &CapacityOracleView) -> Result<Action, PolicyError> {
        let demand = match self.foresight {
            Foresight::Perfect => &view.demand,
            Foresight::Mean => &view.mean_demand,
        };
        let periods = demand.first().map_or(0, Vec::len);
        check_dp_size(&self.config, periods, &self.name())?;
        let stale = self
            .plans
            .as_ref()
            .is_none_or(|(planned, _)| !Arc::ptr_eq(planned, demand));
        if stale {
            let plans = demand.iter().map(|d| self.plan(d)).collect();
            self.plans = Some((demand.clone(), plans));
        }
        let Some((_, plans)) = &self.plans else {
            unreachable!("plans were just computed")
        };
        let choices = plans
            .iter()
            .enumerate()
            .map(|(site, dp)| dp.decision(obs.period, obs, site, &self.name()))
            .collect::<Result<_, _>>()?;
        Ok(Action::MultiDiscrete(choices))
    }
}

/// E[(D - units)+] for D = mean x exp(sigma Z - sigma^2 / 2), Z standard normal (the scenario's
/// noise, whose mean is 1): the log-normal's partial expectation in closed form.
pub fn lognormal_excess(mean: f64, sigma: f64, units: f64) -> f64 {
    if units <= 0.0 || mean <= 0.0 || sigma <= 0.0 {
        return (mean - units).max(0.0);
    }
    let d1 = ((mean / units).ln() + 0.5 * sigma * sigma) / sigma;
    // Rounding in the far tails could leave a tiny negative.
    (mean * normal_cdf(d1) - units * normal_cdf(d1 - sigma)).max(0.0)
}

/// The standard normal CDF, through erfc's Chebyshev fit (Numerical Recipes' erfcc, relative
/// error below 1.2e-7 everywhere).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.26551223
        + t * (1.00002368
            + t * (0.37409196
                + t * (0.09678418
                    + t * (-0.18628806
                        + t * (0.27886807
                            + t * (-1.13520398
                                + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    let erfc = t * (-z * z + poly).exp();
    if x >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

/// Reactive rule, forecast + 20 % headroom for every forecaster, the forecast DP on the
/// scenario's own forecaster, then the two oracles (the first, perfect foresight, is the
/// reference of the gap table).
pub fn baselines(config: &CapacityConfig) -> Vec<ContenderFactory<CapacityScenario>> {
    let mut all: Vec<ContenderFactory<CapacityScenario>> = Vec::new();
    let c = config.clone();
    all.push(Box::new(move || {
        Contender::Fair(Box::new(ReactiveTarget {
            config: c.clone(),
            target_utilisation: 0.8,
            stabilisation_periods: 6,
        }))
    }));
    for kind in ForecasterKind::ALL {
        let c = config.clone();
        all.push(Box::new(move || {
            let forecaster =
                kind.build(c.forecast.season_periods, c.forecast.moving_average_window);
            Contender::Fair(Box::new(ForecastHeadroom {
                config: c.clone(),
                forecaster,
                headroom: 0.2,
            }))
        }));
    }
    let c = config.clone();
    all.push(Box::new(move || {
        let f = &c.forecast;
        let forecaster = f
            .forecaster
            .build(f.season_periods, f.moving_average_window);
        Contender::Fair(Box::new(ForecastDp {
            config: c.clone(),
            forecaster,
        }))
    }));
    for foresight in [Foresight::Perfect, Foresight::Mean] {
        let c = config.clone();
        all.push(Box::new(move || {
            Contender::Oracle(Box::new(CapacityOracle::new(c.clone(), foresight)))
        }));
    }
    all
}

impl RegisteredScenario for CapacityScenario {
    type Config = CapacityConfig;
    const NAME: &'static str = "capacity";
    const DESCRIPTION: &'static str = "capacity planning: order or remove capacity per site ahead of real demand, with a lead time";
    const GYM_ID: &'static str = "planetgym/Capacity-v0";
    const METRICS: &'static [planetgym_env::Metric] = &planetgym_env::capacity::METRICS;
    const REPORT: ReportExtra = ReportExtra::GapToOracle;
    const EPISODES: EpisodeBudget = EpisodeBudget {
        pilot: 20,
        max: 500,
    };

    /// Days 22-30 of the Azure VM v2 series (the built-in series is days 1-21), with the
    /// history before them from the built-in days 15-21: every scored period is a holdout day,
    /// and episodes keep their configured length (a week of periods starts anywhere in days
    /// 22-23). A config whose episodes need more than the nine days (216 hourly periods), or
    /// whose history is longer than days 1-21, is refused with the lengths named.
    fn holdout(dir: &std::path::Path) -> Result<Vec<String>, &'static str> {
        let file = dir.join("azure/vm_v2_2019_aggregated/vm_cpu_mem_sum_300s_day22-30.csv");
        let series = toml_string(&format!("azure_vm_v2:{}", file.display()));
        Ok(vec![
            format!("series=[{series}]"),
            "history_series=[\"builtin:azure_vm_v2\"]".into(),
        ])
    }

    fn build(config: CapacityConfig) -> Result<Self, EnvError> {
        Self::new(config)
    }

    fn baselines(&self, config: &CapacityConfig) -> Vec<ContenderFactory<Self>> {
        baselines(config)
    }

    const BASELINE_FORMS: &'static [&'static str] = &[
        "reactive@U (target utilisation, 0 < U <= 1)",
        "forecast+H%:FORECASTER (headroom 0 <= H <= 500; FORECASTER seasonal-naive(N), \
         moving-average(N), holt-winters-additive(N) or holt-winters-multiplicative(N), \
         1 <= N <= 10000)",
        "forecast-dp:FORECASTER (the DP over the next 24 periods on the forecast, re-planned \
         every period; FORECASTER as above)",
    ];

    fn baseline_named(
        &self,
        config: &CapacityConfig,
        name: &str,
    ) -> Option<Result<ContenderFactory<Self>, String>> {
        let c = config.clone();
        if let Some(target) = name.strip_prefix("reactive@") {
            return Some(fraction_in_name(target, "the target utilisation").map(
                |target_utilisation| {
                    Box::new(move || {
                        Contender::Fair(Box::new(ReactiveTarget {
                            config: c.clone(),
                            target_utilisation,
                            stabilisation_periods: 6,
                        }))
                    }) as ContenderFactory<Self>
                },
            ));
        }
        if let Some(forecaster) = name.strip_prefix("forecast-dp:") {
            return Some(ForecasterKind::parse(forecaster).map(|(kind, n)| {
                let forecaster = kind.build(n, n);
                Box::new(move || {
                    Contender::Fair(Box::new(ForecastDp {
                        config: c.clone(),
                        forecaster: forecaster.clone(),
                    }))
                }) as ContenderFactory<Self>
            }));
        }
        let rest = name.strip_prefix("forecast+")?;
        let parsed = || -> Result<ContenderFactory<Self>, String> {
            let (percent, forecaster) = rest
                .split_once("%:")
                .ok_or("expected forecast+H%:FORECASTER, e.g. forecast+30%:seasonal-naive(24)")?;
            let headroom = match percent.parse::<f64>() {
                Ok(h) if (0.0..=500.0).contains(&h) => h / 100.0,
                _ => {
                    return Err(format!(
                        "the headroom `{percent}` must be a number in [0, 500]"
                    ));
                }
            };
            let (kind, n) = ForecasterKind::parse(forecaster)?;
            let forecaster = kind.build(n, n);
            Ok(Box::new(move || {
                Contender::Fair(Box::new(ForecastHeadroom {
                    config: c.clone(),
                    forecaster: forecaster.clone(),
                    headroom,
                }))
            }))
        };
        Some(parsed())
    }

    fn heading(&self, config: &CapacityConfig) -> String {
        let mut heading = format!(
            "scenario capacity: {} sites, {} periods of {} s, lead time {}, series {}",
            config.sites,
            config.episode_periods,
            config.period_s,
            config.lead_time_periods,
            config.series.join(", ")
        );
        if !config.history_series.is_empty() {
            heading += &format!(" (history from {})", config.history_series.join(", "));
        }
        for gap in self.gaps() {
            heading += &format!("\n  gaps: {gap}");
        }
        heading
    }

    fn steps_per_episode(&self, config: &CapacityConfig) -> usize {
        config.episode_periods
    }

    fn outcome_model(&self) -> Result<Box<dyn OutcomeModel>, &'static str> {
        Err("a capacity change is paid for after its lead time, not in one step")
    }
}
