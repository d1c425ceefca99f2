//! Service-placement baselines. Each plans the whole placement when an episode starts (from
//! the fixed world, the day's mean demand per region and the residency rules), then plays the
//! plan one replica per step. All respect residency. `single-region` and `replicate-data`
//! ignore region capacity (the scenario's queueing prices it); `nearest-caller` and `volley`
//! keep each region's planned load under a cap; `local-search` costs whole placements.
//!
//! - `single-region`: every service in the region of highest demand (a shard whose
//!   jurisdiction excludes it: in the allowed region nearest to it).
//! - `replicate-data`: services as `single-region`; every shard in up to `max_replicas`
//!   allowed regions, its primary nearest the hub, the others where demand is highest.
//! - `nearest-caller`: in placement order, each service where its callers' calls (and, for a
//!   request's first service, its users) travel least: the allowed region minimising the
//!   call-weighted RTT from its callers plus the demand-weighted RTT from users times its
//!   share of first calls, among the regions its load (at the day's mean demand) keeps under
//!   80 % of their cores (all allowed regions when none does).
//! - `volley`: Volley's iterative weighted centroid (Agarwal et al., NSDI'10) in its discrete
//!   form: from `nearest-caller`, each service in turn moves to the allowed region minimising
//!   the call-weighted RTT to its callers and callees (and users, for first calls), under the
//!   same load cap, until no service moves (at most 20 rounds).
//! - `partition`: the call graph cut into parts under a balance cap, a region per part
//!   (`services_partition`).
//! - `local-search`: from the cheapest of the five plans above, first-improvement search on
//!   the scenario's own cost at the day's mean demand (queueing, compute, storage and egress
//!   included): for the services carrying the most work, move the primary to, or add a replica
//!   in, one of the regions nearest its peers, or drop a replica; a move is kept when it lowers
//!   the cost. At most `LOCAL_SEARCH_EVALUATIONS` placements are costed per episode.
//! - `milp`: the placement of the MILP (`services_milp`), solved by HiGHS within
//!   `milp.time_limit_s`; listed only where the MILP has at most `milp.max_columns` columns.

use super::services_milp::{Instance, full_columns};
use super::services_partition::partition_plan;
use crate::comparison::EpisodeBudget;
use crate::evaluate::ContenderFactory;
use crate::registry::{OutcomeModel, RegisteredScenario, ReportExtra};
use crate::{Contender, Policy, PolicyError};
use planetgym_env::services::cost::{Placed, day_cost};
use planetgym_env::services::serving::Percentile;
use planetgym_env::services::world::ServicesWorld;
use planetgym_env::services::{ServicesConfig, ServicesObs, ServicesScenario};
use planetgym_env::{Action, EnvError};

/// Rounds of `volley` at most.
const VOLLEY_ROUNDS: usize = 20;
/// Planned busy cores over a region's cores that `nearest-caller` and `volley` stay under.
pub(super) const LOAD_CAP: f64 = 0.8;
/// Placements `local-search` costs per episode at most (each serves the whole request mix).
pub const LOCAL_SEARCH_EVALUATIONS: usize = 2_000;
/// Regions `local-search` tries per service: those nearest its peers.
const LOCAL_SEARCH_REGIONS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planner {
    SingleRegion,
    ReplicateData,
    NearestCaller,
    Volley,
    Partition,
    LocalSearch,
    Milp,
}

impl Planner {
    /// The heuristics (the MILP is listed apart).
    pub const ALL: [Planner; 6] = [
        Planner::SingleRegion,
        Planner::ReplicateData,
        Planner::NearestCaller,
        Planner::Volley,
        Planner::Partition,
        Planner::LocalSearch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Planner::SingleRegion => "single-region",
            Planner::ReplicateData => "replicate-data",
            Planner::NearestCaller => "nearest-caller",
            Planner::Volley => "volley",
            Planner::Partition => "partition",
            Planner::LocalSearch => "local-search",
            Planner::Milp => "milp",
        }
    }

    /// Replica regions per service, primary first. Only the MILP can fail: an error from
    /// HiGHS, or no placement within its time limit.
    pub fn plan(
        self,
        obs: &ServicesObs,
        config: &ServicesConfig,
    ) -> Result<Vec<Vec<usize>>, String> {
        match self {
            Planner::Milp => {
                let m = &config.milp;
                Instance::of(obs, config)
                    .milp(m.time_limit_s, m.max_columns)
                    .map(|solved| solved.plan)
            }
            Planner::Partition => Ok(partition_plan(obs)),
            Planner::SingleRegion => Ok(hub_plan(obs)),
            Planner::ReplicateData => Ok(replicate_data(obs, config)),
            Planner::NearestCaller => Ok(nearest_caller(obs)),
            Planner::Volley => Ok(volley(obs)),
            Planner::LocalSearch => Ok(local_search(obs, config)),
        }
    }
}

/// `single-region`, with every shard also in the allowed regions of highest demand, up to
/// `max_replicas`.
fn replicate_data(obs: &ServicesObs, config: &ServicesConfig) -> Vec<Vec<usize>> {
    let w = &obs.world;
    let mut plan = hub_plan(obs);
    let mut by_demand: Vec<usize> = (0..w.regions()).collect();
    by_demand.sort_by(|&a, &b| obs.demand_rps[b].total_cmp(&obs.demand_rps[a]));
    for (s, at) in plan.iter_mut().enumerate() {
        if w.stateful[s] {
            let more = by_demand
                .iter()
                .filter(|&&r| w.allows(s, r) && !at.contains(&r));
            let room = config.max_replicas.saturating_sub(at.len());
            at.extend(more.take(room).copied().collect::<Vec<_>>());
        }
    }
    plan
}

/// The allowed region of `service` with the lowest `score` (the lowest index among ties).
pub(super) fn best_allowed(
    world: &ServicesWorld,
    service: usize,
    score: impl Fn(usize) -> f64,
) -> usize {
    (0..world.regions())
        .filter(|&r| world.allows(service, r))
        .map(|r| (score(r), r))
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map_or(0, |(_, r)| r)
}

fn hub_plan(obs: &ServicesObs) -> Vec<Vec<usize>> {
    let w = &obs.world;
    let hub = (0..w.regions())
        .max_by(|&a, &b| {
            obs.demand_rps[a]
                .total_cmp(&obs.demand_rps[b])
                .then(b.cmp(&a))
        })
        .unwrap_or(0);
    (0..w.catalog.services.len())
        .map(|s| vec![best_allowed(w, s, |r| w.hop_ms(hub, r))])
        .collect()
}

/// The call-weighted RTT (per request) of `service` at `region`, given where its peers are
/// (one region each; None: not placed), counting callers always and callees if asked.
fn peer_cost(
    w: &ServicesWorld,
    users: &[f64],
    at: &[Option<usize>],
    service: usize,
    region: usize,
    callees: bool,
) -> f64 {
    let mut cost = w.entry_share[service] * users[region];
    for &(caller, rate) in &w.callers[service] {
        if let Some(c) = at[caller] {
            cost += rate * w.hop_ms(c, region);
        }
    }
    if callees {
        for &(callee, rate) in &w.callees[service] {
            if let Some(c) = at[callee] {
                cost += rate * w.hop_ms(region, c);
            }
        }
    }
    cost
}

/// Busy cores of one service at the day's mean demand, and the planned load per region.
struct Loads {
    need: Vec<f64>,
    load: Vec<f64>,
    cap: Vec<f64>,
}

impl Loads {
    fn new(obs: &ServicesObs) -> Self {
        let rps: f64 = obs.demand_rps.iter().sum();
        Self {
            need: obs
                .world
                .catalog
                .services
                .iter()
                .map(|s| rps * s.work_ms_per_request / 1000.0)
                .collect(),
            load: vec![0.0; obs.world.regions()],
            cap: obs.cores.iter().map(|c| LOAD_CAP * c).collect(),
        }
    }

    /// Whether `service` fits in `region` (its own load there, if any, excluded).
    fn fits(&self, service: usize, region: usize, current: Option<usize>) -> bool {
        let own = if current == Some(region) {
            self.need[service]
        } else {
            0.0
        };
        self.load[region] - own + self.need[service] <= self.cap[region]
    }

    fn moved(&mut self, service: usize, from: Option<usize>, to: usize) {
        if let Some(f) = from {
            self.load[f] -= self.need[service];
        }
        self.load[to] += self.need[service];
    }
}

/// The allowed region with the lowest `score` where `service` fits, or the lowest overall when
/// it fits nowhere.
fn best_fitting(
    w: &ServicesWorld,
    loads: &Loads,
    service: usize,
    current: Option<usize>,
    score: impl Fn(usize) -> f64,
) -> usize {
    let any_fits =
        (0..w.regions()).any(|r| w.allows(service, r) && loads.fits(service, r, current));
    best_allowed(w, service, |r| {
        if any_fits && !loads.fits(service, r, current) {
            f64::INFINITY
        } else {
            score(r)
        }
    })
}

fn nearest_caller_regions(
    obs: &ServicesObs,
    users: &[f64],
    loads: &mut Loads,
) -> Vec<Option<usize>> {
    let w = &obs.world;
    let mut at: Vec<Option<usize>> = vec![None; w.catalog.services.len()];
    for &s in &w.order {
        let r = best_fitting(w, loads, s, None, |r| peer_cost(w, users, &at, s, r, false));
        loads.moved(s, None, r);
        at[s] = Some(r);
    }
    at
}

fn nearest_caller(obs: &ServicesObs) -> Vec<Vec<usize>> {
    let users = &obs.user_rtt_ms;
    nearest_caller_regions(obs, users, &mut Loads::new(obs))
        .into_iter()
        .map(|r| r.into_iter().collect())
        .collect()
}

fn volley(obs: &ServicesObs) -> Vec<Vec<usize>> {
    let w = &obs.world;
    let users = &obs.user_rtt_ms;
    let mut loads = Loads::new(obs);
    let mut at = nearest_caller_regions(obs, users, &mut loads);
    for _ in 0..VOLLEY_ROUNDS {
        let mut moved = false;
        for &s in &w.order {
            let cost = |r: usize| peer_cost(w, users, &at, s, r, true);
            let best = best_fitting(w, &loads, s, at[s], cost);
            let current = at[s].map_or(f64::INFINITY, cost);
            // Move only for a strict gain, so that the rounds end.
            if at[s] != Some(best) && cost(best) < current - 1e-12 {
                loads.moved(s, at[s], best);
                at[s] = Some(best);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    at.into_iter().map(|r| r.into_iter().collect()).collect()
}

/// The day's cost of `plan` at the mean demand (infinite for an invalid plan).
fn mean_day_cost(obs: &ServicesObs, config: &ServicesConfig, plan: &[Vec<usize>]) -> f64 {
    let placed = Placed {
        replicas: plan,
        cores: &obs.cores,
    };
    let hours = config.serving_hours as f64;
    day_cost(
        &obs.world,
        config,
        placed,
        std::slice::from_ref(&*obs.demand_rps),
        hours,
        Percentile::Skip,
    )
    .map_or(f64::INFINITY, |(cost, _)| cost.total())
}

fn local_search(obs: &ServicesObs, config: &ServicesConfig) -> Vec<Vec<usize>> {
    let w = &obs.world;
    let cost_of = |plan: &[Vec<usize>]| mean_day_cost(obs, config, plan);
    let starts = [
        Planner::SingleRegion,
        Planner::ReplicateData,
        Planner::NearestCaller,
        Planner::Volley,
        Planner::Partition,
    ];
    let (mut best, mut plan) = starts
        .iter()
        .filter_map(|p| p.plan(obs, config).ok())
        .map(|plan| (cost_of(&plan), plan))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or_else(|| (f64::INFINITY, hub_plan(obs)));
    let mut evaluations = starts.len();
    // The services carrying the most work first (entry services weigh their users' share).
    let mut services: Vec<usize> = (0..w.catalog.services.len()).collect();
    let weight = |s: usize| w.catalog.services[s].work_ms_per_request + w.entry_share[s];
    services.sort_by(|&a, &b| weight(b).total_cmp(&weight(a)).then(a.cmp(&b)));
    let users = &obs.user_rtt_ms;
    let mut improved = true;
    while improved && evaluations < LOCAL_SEARCH_EVALUATIONS {
        improved = false;
        for &s in &services {
            if evaluations >= LOCAL_SEARCH_EVALUATIONS {
                break;
            }
            let at: Vec<Option<usize>> = plan.iter().map(|r| r.first().copied()).collect();
            let mut near: Vec<usize> = (0..w.regions()).filter(|&r| w.allows(s, r)).collect();
            near.sort_by(|&a, &b| {
                peer_cost(w, users, &at, s, a, true)
                    .total_cmp(&peer_cost(w, users, &at, s, b, true))
                    .then(a.cmp(&b))
            });
            near.truncate(LOCAL_SEARCH_REGIONS);
            let mut candidates: Vec<Vec<usize>> = Vec::new();
            for &r in near.iter().filter(|r| !plan[s].contains(r)) {
                let mut moved = plan[s].clone();
                moved[0] = r;
                candidates.push(moved);
                if plan[s].len() < config.max_replicas {
                    let mut added = plan[s].clone();
                    added.push(r);
                    candidates.push(added);
                }
            }
            for k in 1..plan[s].len() {
                let mut dropped = plan[s].clone();
                dropped.remove(k);
                candidates.push(dropped);
            }
            for candidate in candidates {
                if evaluations >= LOCAL_SEARCH_EVALUATIONS {
                    break;
                }
                let previous = std::mem::replace(&mut plan[s], candidate);
                let cost = cost_of(&plan);
                evaluations += 1;
                if cost < best - 1e-9 {
                    best = cost;
                    improved = true;
                } else {
                    plan[s] = previous;
                }
            }
        }
    }
    plan
}

/// A planner's placement, planned when an episode starts and played one replica per step.
#[derive(Debug, Clone)]
pub struct Planned {
    pub planner: Planner,
    pub config: ServicesConfig,
    plan: Vec<Vec<usize>>,
}

impl Planned {
    pub fn new(planner: Planner, config: ServicesConfig) -> Self {
        Self {
            planner,
            config,
            plan: Vec::new(),
        }
    }
}

impl Policy<ServicesScenario> for Planned {
    fn name(&self) -> String {
        self.planner.name().into()
    }

    fn reset(&mut self, _episode_seed: u64) {
        self.plan.clear();
    }

    fn act(&mut self, obs: &ServicesObs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let fresh = obs.position == 0 && obs.replicas.is_empty();
        if self.plan.is_empty() || fresh {
            self.plan =
                self.planner
                    .plan(obs, &self.config)
                    .map_err(|message| PolicyError::Invalid {
                        policy: self.name(),
                        message,
                    })?;
        }
        let service = obs.service().ok_or_else(|| PolicyError::Invalid {
            policy: self.name(),
            message: "the episode is over: every service is placed".into(),
        })?;
        let move_on = obs.world.regions();
        let next = self
            .plan
            .get(service)
            .and_then(|at| at.iter().find(|r| !obs.replicas.contains(r)).copied());
        let choice = match next {
            Some(r) if obs.replicas.len() < self.config.max_replicas => r,
            _ => move_on,
        };
        if mask.is_some_and(|m| !m.get(choice).copied().unwrap_or(false)) {
            return Err(PolicyError::Invalid {
                policy: self.name(),
                message: format!("the plan's action {choice} for service {service} is masked"),
            });
        }
        Ok(Action::Discrete(choice))
    }
}

/// The heuristics, and the MILP where its model is small enough (`milp.max_columns`).
pub fn baselines(
    world: &ServicesWorld,
    config: &ServicesConfig,
) -> Vec<ContenderFactory<ServicesScenario>> {
    let milp = full_columns(world, world.regions()) <= config.milp.max_columns;
    Planner::ALL
        .into_iter()
        .chain(milp.then_some(Planner::Milp))
        .map(|planner| {
            let config = config.clone();
            Box::new(move || Contender::Fair(Box::new(Planned::new(planner, config.clone()))))
                as ContenderFactory<ServicesScenario>
        })
        .collect()
}

impl RegisteredScenario for ServicesScenario {
    type Config = ServicesConfig;
    const NAME: &'static str = "services";
    const DESCRIPTION: &'static str = "service and data placement across regions: replicas of microservices (Alibaba v2022 call graphs) and data shards under residency rules";
    const GYM_ID: &'static str = "planetgym/Services-v0";
    const METRICS: &'static [planetgym_env::Metric] = &planetgym_env::services::METRICS;
    const REPORT: ReportExtra = ReportExtra::GapToBound {
        cost_metric: "cost_usd",
    };
    const EPISODES: EpisodeBudget = EpisodeBudget {
        pilot: 20,
        max: 200,
    };

    fn holdout(_dir: &std::path::Path) -> Result<Vec<String>, &'static str> {
        Err("the public microservices sample has no held-out call graphs")
    }

    fn build(config: ServicesConfig) -> Result<Self, EnvError> {
        Self::new(config)
    }

    fn baselines(&self, config: &ServicesConfig) -> Vec<ContenderFactory<Self>> {
        baselines(self.world(), config)
    }

    fn heading(&self, config: &ServicesConfig) -> String {
        let w = self.world();
        let shards = w.stateful.iter().filter(|&&s| s).count();
        let rules: Vec<String> = config
            .residency
            .rules
            .iter()
            .map(|r| format!("{} {}%", r.jurisdiction, 100.0 * r.share))
            .collect();
        format!(
            "scenario services: {} services ({shards} with a data shard; residency: {}), {} request types, {} regions, {} rps, {} serving hours",
            w.catalog.services.len(),
            if rules.is_empty() {
                "none".into()
            } else {
                rules.join(", ")
            },
            w.catalog.request_types.len(),
            w.regions(),
            config.demand.global_rate_rps,
            config.serving_hours
        )
    }

    /// Typical: one replica and a move on per service (more with more replicas); it sizes
    /// progress bars.
    fn steps_per_episode(&self, _config: &ServicesConfig) -> usize {
        2 * self.world().order.len()
    }

    fn outcome_model(&self) -> Result<Box<dyn OutcomeModel>, &'static str> {
        Err("a placement step's reward depends on the whole placement, not one record")
    }

    /// The LP relaxation of the placement MILP (`services_milp`).
    fn cost_bound(&self, config: &ServicesConfig, first: &ServicesObs) -> Result<f64, String> {
        Instance::of(first, config)
            .lp_bound()
            .map(|solved| solved.bound)
    }
}
