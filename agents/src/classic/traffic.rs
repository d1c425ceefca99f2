//! Traffic baselines: what global load balancers do today, an LP on the latest observed demand,
//! and an oracle LP that sees the true next interval.

use super::traffic_lp::RoutingLp;
use super::traffic_outcome::{TrafficOutcomes, logged_outcome};
use crate::comparison::EpisodeBudget;
use crate::evaluate::ContenderFactory;
use crate::registry::{
    OutcomeModel, RegisteredScenario, ReportExtra, fraction_in_name, holdout_set,
};
use crate::{Contender, Oracle, Policy, PolicyError};
use planetgym_env::traffic::TrafficConfig;
use planetgym_env::{Action, TrafficObs, TrafficOracleView, TrafficScenario};
use planetgym_env::{EnvError, Scenario};

/// Geo-DNS: every region goes to its lowest-RTT site that has capacity left (health > 0).
#[derive(Debug, Clone, Default)]
pub struct NearestSite;

/// Capacity-weighted round robin: every region is spread over sites in proportion to their
/// available capacity, ignoring distance.
#[derive(Debug, Clone, Default)]
pub struct CapacityProportional;

/// Latency-first with spill-over: regions (largest demand first) fill their sites in order of
/// RTT up to `target_utilisation` of available capacity, on the last observed demand; what no
/// site can take within the target is spread in proportion to available capacity.
#[derive(Debug, Clone)]
pub struct GreedySpillover {
    pub target_utilisation: f64,
}

/// Per-interval LP on the last observed demand: the same information a policy has.
#[derive(Debug, Clone)]
pub struct PerIntervalLp {
    lp: RoutingLp,
}

/// The LP solved on the true demand, health and RTT of the interval the action applies to.
/// An oracle: it bounds what a one-interval-ahead router can do, it is not a competitor.
#[derive(Debug, Clone)]
pub struct OracleLp {
    lp: RoutingLp,
}

fn continuous(split: Vec<f64>) -> Action {
    Action::Continuous(split.into_iter().map(|v| v as f32).collect())
}

/// The lowest-RTT site of `region` among those with capacity left (any site if none has), given
/// site health `[sites]` and RTT `[regions, sites]`.
pub fn nearest_healthy(health: &[f64], rtt_ms: &[f64], region: usize) -> usize {
    let sites = health.len();
    let row = &rtt_ms[region * sites..(region + 1) * sites];
    let by_rtt = |a: &usize, b: &usize| row[*a].total_cmp(&row[*b]);
    (0..sites)
        .filter(|&s| health[s] > 0.0)
        .min_by(by_rtt)
        .or_else(|| (0..sites).min_by(by_rtt))
        .unwrap_or(0)
}

/// Shares of each site in the available capacity (uniform if nothing is available).
fn capacity_shares(obs: &TrafficObs) -> Vec<f64> {
    let available: Vec<f64> = (0..obs.sites()).map(|s| obs.available_rps(s)).collect();
    let total: f64 = available.iter().sum();
    if total > 0.0 {
        available.iter().map(|a| a / total).collect()
    } else {
        vec![1.0 / obs.sites() as f64; obs.sites()]
    }
}

impl Policy<TrafficScenario> for NearestSite {
    fn name(&self) -> String {
        "nearest".into()
    }

    fn act(&mut self, obs: &TrafficObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let sites = obs.sites();
        let mut split = vec![0.0; obs.regions() * sites];
        for r in 0..obs.regions() {
            split[r * sites + nearest_healthy(&obs.health, &obs.rtt_ms, r)] = 1.0;
        }
        Ok(continuous(split))
    }
}

impl Policy<TrafficScenario> for CapacityProportional {
    fn name(&self) -> String {
        "capacity-proportional".into()
    }

    fn act(&mut self, obs: &TrafficObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let shares = capacity_shares(obs);
        Ok(continuous(shares.repeat(obs.regions())))
    }
}

impl Policy<TrafficScenario> for GreedySpillover {
    fn name(&self) -> String {
        format!("greedy-spillover@{}", self.target_utilisation)
    }

    fn act(&mut self, obs: &TrafficObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let (regions, sites) = (obs.regions(), obs.sites());
        let mut room: Vec<f64> = (0..sites)
            .map(|s| self.target_utilisation * obs.available_rps(s))
            .collect();
        let shares = capacity_shares(obs);
        let mut order: Vec<usize> = (0..regions).collect();
        order.sort_by(|&a, &b| obs.demand_rps[b].total_cmp(&obs.demand_rps[a]));
        let mut split = vec![0.0; regions * sites];
        for r in order {
            let row = &mut split[r * sites..(r + 1) * sites];
            let demand = obs.demand_rps[r];
            if demand <= 0.0 {
                row[nearest_healthy(&obs.health, &obs.rtt_ms, r)] = 1.0;
                continue;
            }
            let mut by_rtt: Vec<usize> = (0..sites).collect();
            by_rtt.sort_by(|&a, &b| obs.rtt(r, a).total_cmp(&obs.rtt(r, b)));
            let mut left = demand;
            for s in by_rtt {
                let take = left.min(room[s]);
                row[s] += take / demand;
                room[s] -= take;
                left -= take;
            }
            if left > 0.0 {
                row.iter_mut()
                    .zip(&shares)
                    .for_each(|(v, share)| *v += left / demand * share);
            }
        }
        Ok(continuous(split))
    }
}

impl PerIntervalLp {
    pub fn new(lp: RoutingLp) -> Self {
        Self { lp }
    }
}

impl Policy<TrafficScenario> for PerIntervalLp {
    fn name(&self) -> String {
        "lp".into()
    }

    fn act(&mut self, obs: &TrafficObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        lp_action(
            &self.lp,
            self.name(),
            obs,
            &obs.demand_rps,
            &obs.health,
            &obs.rtt_ms,
        )
    }
}

/// The LP's split as an action, for the given demand, site health and RTT (the capacities and
/// costs come from `obs`).
fn lp_action(
    lp: &RoutingLp,
    policy: String,
    obs: &TrafficObs,
    demand: &[f64],
    health: &[f64],
    rtt_ms: &[f64],
) -> Result<Action, PolicyError> {
    let available: Vec<f64> = obs
        .capacity_rps
        .iter()
        .zip(health)
        .map(|(c, h)| c * h)
        .collect();
    lp.solve(demand, &available, rtt_ms, &obs.cost_per_million_usd, |r| {
        nearest_healthy(health, rtt_ms, r)
    })
    .map(continuous)
    .map_err(|message| PolicyError::Solver { policy, message })
}

impl OracleLp {
    pub fn new(lp: RoutingLp) -> Self {
        Self { lp }
    }
}

impl Oracle<TrafficScenario> for OracleLp {
    fn name(&self) -> String {
        "oracle-lp (sees next interval)".into()
    }

    fn act(&mut self, obs: &TrafficObs, view: &TrafficOracleView) -> Result<Action, PolicyError> {
        lp_action(
            &self.lp,
            self.name(),
            obs,
            &view.demand_rps,
            &view.health,
            &view.rtt_ms,
        )
    }
}

/// Above this many region-site pairs, the LPs of `baselines` are solved by column generation
/// from each region's `LARGE_WORLD_CANDIDATES` nearest sites (same optimum, much faster).
pub const LARGE_WORLD_PAIRS: usize = 20_000;
pub const LARGE_WORLD_CANDIDATES: usize = 8;

/// Every traffic baseline for a world of `pairs` region-site pairs, fair ones first, the
/// oracle last.
pub fn baselines(config: &TrafficConfig, pairs: usize) -> Vec<ContenderFactory<TrafficScenario>> {
    let lp = RoutingLp::new(config);
    let lp = if pairs > LARGE_WORLD_PAIRS {
        lp.with_column_generation(LARGE_WORLD_CANDIDATES)
    } else {
        lp
    };
    let oracle_lp = lp.clone();
    vec![
        Box::new(|| Contender::Fair(Box::new(NearestSite))),
        Box::new(|| Contender::Fair(Box::new(CapacityProportional))),
        Box::new(|| {
            Contender::Fair(Box::new(GreedySpillover {
                target_utilisation: 0.8,
            }))
        }),
        Box::new(move || Contender::Fair(Box::new(PerIntervalLp::new(lp.clone())))),
        Box::new(move || Contender::Oracle(Box::new(OracleLp::new(oracle_lp.clone())))),
    ]
}

impl RegisteredScenario for TrafficScenario {
    type Config = TrafficConfig;
    const NAME: &'static str = "traffic";
    const DESCRIPTION: &'static str =
        "cross-region traffic scheduling: split each user region's requests over datacenter sites";
    const GYM_ID: &'static str = "planetgym/Traffic-v0";
    const METRICS: &'static [planetgym_env::Metric] = &planetgym_env::traffic::METRICS;
    const REPORT: ReportExtra = ReportExtra::None;
    const EPISODES: EpisodeBudget = EpisodeBudget {
        pilot: 20,
        max: 200,
    };

    /// Demand shaped by days 22-30 of the Azure VM v2 series (the built-in shape is days 1-21).
    fn holdout(dir: &std::path::Path) -> Result<Vec<String>, &'static str> {
        Ok(vec![
            holdout_set(
                "demand.diurnal_series",
                dir,
                "azure/vm_v2_2019_aggregated/vm_cpu_mem_sum_300s_day22-30.csv",
            ),
            "demand.diurnal_column=\"cpu_usage\"".into(),
        ])
    }

    fn build(config: TrafficConfig) -> Result<Self, EnvError> {
        Self::new(config)
    }

    fn baselines(&self, config: &TrafficConfig) -> Vec<ContenderFactory<Self>> {
        baselines(config, self.geography().regions.len() * self.sites().len())
    }

    const BASELINE_FORMS: &'static [&'static str] =
        &["greedy-spillover@U (target utilisation, 0 < U <= 1)"];

    fn baseline_named(
        &self,
        _config: &TrafficConfig,
        name: &str,
    ) -> Option<Result<ContenderFactory<Self>, String>> {
        let target = name.strip_prefix("greedy-spillover@")?;
        Some(
            fraction_in_name(target, "the target utilisation").map(|target_utilisation| {
                let policy = GreedySpillover { target_utilisation };
                Box::new(move || Contender::Fair(Box::new(policy.clone())))
                    as ContenderFactory<Self>
            }),
        )
    }

    fn heading(&self, config: &TrafficConfig) -> String {
        format!(
            "scenario traffic: {} regions, {} sites, {} intervals of {} s",
            self.geography().regions.len(),
            self.sites().len(),
            config.episode_intervals,
            config.interval_s
        )
    }

    fn steps_per_episode(&self, config: &TrafficConfig) -> usize {
        config.episode_intervals
    }

    fn outcome_model(&self) -> Result<Box<dyn OutcomeModel>, &'static str> {
        Ok(Box::new(TrafficOutcomes(self.clone())))
    }

    fn logged_outcome(&self) -> Option<serde_json::Value> {
        Some(logged_outcome(self.oracle_view()))
    }
}
