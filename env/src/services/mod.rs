//! The `services` scenario: where each microservice's replicas and each data shard's replicas
//! live across regions, so that user requests, which fan out through call graphs, are fast
//! and cheap, capacity is respected and data stays where its jurisdiction says.
//!
//! An episode places the services one after another, nearest the users first ([`world`]):
//! each step either adds a replica of the current service in a region (`Discrete(regions + 1)`,
//! masked to regions without one that its jurisdiction allows) or, once it has one, moves on
//! (the last action; a service reaching `max_replicas` moves on by itself). Then the day is
//! served hour by hour ([`serving`]) and the episode ends.
//!
//! Reward: the episode's cost is a day of latency (at `reward.latency_usd_per_request_s`),
//! compute, storage and egress, in USD. Each step is rewarded with the change in the cost of
//! the placement so far served the day's mean demand, services not yet placed running where
//! they are called; the last step closes with the day served hour by hour. The returns of two
//! episodes from the same seed differ exactly by their costs (the first state's is the same).

pub mod catalog;
pub mod config;
pub mod cost;
pub mod generate;
pub mod quantile;
pub mod residency;
mod scene;
pub mod serving;
pub mod world;

pub use config::ServicesConfig;

use crate::config::ScenarioConfig;
use crate::error::EnvError;
use crate::features::{Feature, FeatureSpec, Layout};
use crate::rng::Rng;
use crate::scenario::{
    Better, Info, Metric, MetricAggregation, Scenario, Transition, metric_names,
};
use crate::spaces::{Action, Space};
use crate::world::demand::DemandModel;
use crate::world::diurnal::DiurnalProfile;
use cost::{DayCost, Placed};
use serving::{Percentile, Served};
use std::sync::Arc;
use world::ServicesWorld;

/// The call graphs shipped with planetgym (see `traces::callgraph::BUILTIN_SAMPLE`).
pub const BUILTIN_CALLGRAPHS: &str = crate::traces::callgraph::BUILTIN_NAME;

/// Metrics of the placement: before the last step, of the placement so far served the day's
/// mean demand; at the end, of the day served hour by hour.
pub const METRICS: [Metric; 11] = [
    Metric {
        name: "cost_usd",
        unit: "USD per day",
        better: Better::Lower,
        step: "the day's cost: latency + compute + storage + egress",
    },
    Metric {
        name: "latency_usd",
        unit: "USD per day",
        better: Better::Lower,
        step: "the users' waiting, priced at reward.latency_usd_per_request_s",
    },
    Metric {
        name: "compute_usd",
        unit: "USD per day",
        better: Better::Lower,
        step: "cores: busy cores x headroom, plus each replica's minimum",
    },
    Metric {
        name: "storage_usd",
        unit: "USD per day",
        better: Better::Lower,
        step: "every replica of every shard stored",
    },
    Metric {
        name: "egress_usd",
        unit: "USD per day",
        better: Better::Lower,
        step: "calls and write copies that cross regions",
    },
    Metric {
        name: "mean_latency_ms",
        unit: "ms",
        better: Better::Lower,
        step: "request-weighted mean latency",
    },
    Metric {
        name: "p95_latency_ms",
        unit: "ms",
        better: Better::Lower,
        step: "request-weighted mean over hours of each hour's 95th percentile latency",
    },
    Metric {
        name: "cross_region_gb",
        unit: "GB per day",
        better: Better::Lower,
        step: "data carried by calls that cross regions",
    },
    Metric {
        name: "max_utilisation",
        unit: "fraction",
        better: Better::Lower,
        step: "the busiest region's busy cores over its cores, at the busiest hour",
    },
    Metric {
        name: "replicas",
        unit: "replicas",
        better: Better::Neither,
        step: "replicas placed, all services",
    },
    Metric {
        name: "residency_violations",
        unit: "replicas",
        better: Better::Lower,
        step: "shard replicas outside their jurisdiction (the mask makes this 0)",
    },
];
pub const METRIC_NAMES: [&str; 11] = metric_names(&METRICS);

/// One service of the placement order, as a policy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicesObs {
    /// The fixed world: regions, application, order, shards.
    pub world: Arc<ServicesWorld>,
    /// Position in `world.order` (= services already placed); `world.order.len()` at the end.
    pub position: usize,
    /// The current service's replicas so far.
    pub replicas: Vec<usize>,
    /// The replicas of every service placed so far (empty: not placed yet).
    pub placement: Arc<Vec<Vec<usize>>>,
    /// The day's mean demand per region (requests/s) and each region's cores.
    pub demand_rps: Arc<Vec<f64>>,
    pub cores: Arc<Vec<f64>>,
    /// Per region, the RTT (ms) of a call from the users to it, weighted by the mean demand.
    pub user_rtt_ms: Arc<Vec<f64>>,
    /// Busy cores per region when the placement so far serves the mean demand.
    pub busy_cores: Vec<f64>,
}

impl ServicesObs {
    /// The service being placed (None at the end).
    pub fn service(&self) -> Option<usize> {
        self.world.order.get(self.position).copied()
    }
}

/// Entity features of a region row (and of the last, "move on" row).
const REGION_FEATURES: [(&str, &str); 9] = [
    (
        "demand_share",
        "share of the day's requests from this region's users",
    ),
    (
        "holds_replica",
        "1 if the current service has a replica here",
    ),
    (
        "allowed",
        "1 if the current service may have a replica here",
    ),
    (
        "caller_rtt",
        "call-weighted RTT (100 ms) from placed callers' nearest replicas",
    ),
    (
        "callee_rtt",
        "call-weighted RTT (100 ms) to placed callees' nearest replicas",
    ),
    (
        "user_rtt",
        "demand-weighted RTT (100 ms) from users, times the service's entry share",
    ),
    (
        "nearest_replica_rtt",
        "RTT (100 ms) to the current service's nearest replica (0 if none)",
    ),
    (
        "utilisation",
        "busy cores over cores, placement so far at mean demand",
    ),
    (
        "move_on",
        "1 on the last row: the action that moves on to the next service",
    ),
];

const GLOBAL_FEATURES: [(&str, &str); 7] = [
    ("calls_per_request", "calls the service takes per request"),
    ("work_share", "its share of all work per request"),
    ("stateful", "1 if it owns a data shard"),
    ("shard_gb_log", "ln(1 + GB) of its shard"),
    ("restricted", "1 if a residency rule limits its regions"),
    ("replicas", "its replicas so far over max_replicas"),
    ("progress", "services placed over all services"),
];

#[derive(Debug, Clone)]
pub struct ServicesScenario {
    config: ServicesConfig,
    world: Arc<ServicesWorld>,
    profile: DiurnalProfile,
    space: Space,
    spec: FeatureSpec,
    /// Per serving hour, requests/s per region; their mean.
    hourly: Vec<Vec<f64>>,
    demand_rps: Arc<Vec<f64>>,
    cores: Arc<Vec<f64>>,
    user_rtt_ms: Arc<Vec<f64>>,
    placement: Arc<Vec<Vec<usize>>>,
    position: Option<usize>,
    /// The placement so far served the mean demand.
    served: Option<Served>,
    cost: DayCost,
    mask: Vec<bool>,
}

impl ServicesScenario {
    pub fn new(config: ServicesConfig) -> Result<Self, EnvError> {
        config.validate().map_err(EnvError::Config)?;
        let world = Arc::new(ServicesWorld::build(&config)?);
        let profile =
            DiurnalProfile::load(&config.demand.diurnal_series, &config.demand.diurnal_column)?;
        let regions = world.regions();
        Ok(Self {
            space: Space::Discrete { n: regions + 1 },
            spec: feature_spec(regions),
            hourly: Vec::new(),
            demand_rps: Arc::new(vec![0.0; regions]),
            user_rtt_ms: Arc::new(vec![0.0; regions]),
            cores: Arc::new(vec![0.0; regions]),
            placement: Arc::new(vec![Vec::new(); world.catalog.services.len()]),
            position: None,
            served: None,
            cost: DayCost::default(),
            mask: vec![false; regions + 1],
            world,
            profile,
            config,
        })
    }

    pub fn config(&self) -> &ServicesConfig {
        &self.config
    }

    pub fn world(&self) -> &Arc<ServicesWorld> {
        &self.world
    }

    /// Serves `snapshots` (requests/s per region, `hours` each) with the placement so far.
    fn day_cost(
        &self,
        snapshots: &[Vec<f64>],
        hours: f64,
        percentile: Percentile,
    ) -> (DayCost, Served) {
        let placed = Placed {
            replicas: &self.placement,
            cores: &self.cores,
        };
        cost::day_cost(
            &self.world,
            &self.config,
            placed,
            snapshots,
            hours,
            percentile,
        )
        .unwrap_or_else(|e| unreachable!("the mask keeps the placement valid: {e}"))
    }

    fn update_mask(&mut self) {
        self.mask.fill(false);
        let Some(service) = self.position.and_then(|p| self.world.order.get(p).copied()) else {
            return;
        };
        let at = &self.placement[service];
        let regions = self.world.regions();
        for r in 0..regions {
            self.mask[r] = !at.contains(&r) && self.world.allows(service, r);
        }
        self.mask[regions] = !at.is_empty();
    }

    fn observation(&self) -> ServicesObs {
        let position = self.position.unwrap_or(0);
        let replicas = self
            .world
            .order
            .get(position)
            .map_or_else(Vec::new, |&s| self.placement[s].clone());
        ServicesObs {
            world: Arc::clone(&self.world),
            position,
            replicas,
            placement: Arc::clone(&self.placement),
            demand_rps: Arc::clone(&self.demand_rps),
            cores: Arc::clone(&self.cores),
            user_rtt_ms: Arc::clone(&self.user_rtt_ms),
            busy_cores: self
                .served
                .as_ref()
                .map_or_else(|| vec![0.0; self.world.regions()], |s| s.busy_cores.clone()),
        }
    }

    fn info(&self) -> Info {
        Info {
            values: self.cost.values.to_vec(),
        }
    }
}

impl Scenario for ServicesScenario {
    type Obs = ServicesObs;
    type OracleView = ();

    fn name(&self) -> &'static str {
        "services"
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

    fn metric_aggregation(&self) -> MetricAggregation {
        MetricAggregation::Final
    }

    fn action_mask(&self) -> Option<&[bool]> {
        Some(&self.mask)
    }

    fn scene(&self) -> Result<crate::Scene, EnvError> {
        self.position.ok_or(EnvError::NotReset)?;
        Ok(scene::scene(self))
    }

    fn reset(&mut self, seed: u64) -> ServicesObs {
        let c = &self.config;
        let regions = self.world.regions();
        let mut rng = Rng::new(seed);
        let weights: Vec<f64> = self
            .world
            .geo
            .regions
            .iter()
            .map(|r| r.demand_weight)
            .collect();
        let offsets: Vec<f64> = self
            .world
            .geo
            .regions
            .iter()
            .map(|r| r.utc_offset_h)
            .collect();
        let mut demand = DemandModel::new(
            c.demand.clone(),
            self.profile.clone(),
            &weights,
            &offsets,
            3600.0,
        );
        demand.reset(&mut rng);
        self.hourly = (0..c.serving_hours as u64)
            .map(|k| {
                let mut rps = vec![0.0; regions];
                demand.advance(k, &mut rng, &mut rps);
                rps
            })
            .collect();
        let hours = self.hourly.len() as f64;
        let mean: Vec<f64> = (0..regions)
            .map(|r| self.hourly.iter().map(|h| h[r]).sum::<f64>() / hours)
            .collect();
        let peak = self
            .hourly
            .iter()
            .map(|h| h.iter().sum::<f64>())
            .fold(0.0, f64::max);
        let cores = c.regions.capacity_share * peak * self.world.work_ms_per_request / 1000.0;
        self.user_rtt_ms = Arc::new(self.world.user_rtt_ms(&mean));
        self.demand_rps = Arc::new(mean);
        self.cores = Arc::new(vec![cores; regions]);
        self.placement = Arc::new(vec![Vec::new(); self.world.catalog.services.len()]);
        self.position = Some(0);
        let mean = std::slice::from_ref(&*self.demand_rps);
        let (cost, served) = self.day_cost(mean, hours, Percentile::P95);
        self.cost = cost;
        self.served = Some(served);
        self.update_mask();
        self.observation()
    }

    fn step(&mut self, action: &Action) -> Result<Transition<ServicesObs>, EnvError> {
        let position = self.position.ok_or(EnvError::NotReset)?;
        let Some(&service) = self.world.order.get(position) else {
            return Err(EnvError::EpisodeOver);
        };
        self.check_action(action)?;
        let Action::Discrete(choice) = *action else {
            unreachable!("check_action accepts only discrete actions for a discrete space")
        };
        let regions = self.world.regions();
        if choice < regions {
            Arc::make_mut(&mut self.placement)[service].push(choice);
        }
        let full = self.placement[service].len() >= self.config.max_replicas;
        if choice == regions || full {
            self.position = Some(position + 1);
        }
        let done = self.position == Some(self.world.order.len());
        let before = self.cost.total();
        let (cost, served) = if done {
            self.day_cost(&self.hourly, 1.0, Percentile::P95)
        } else {
            let mean = std::slice::from_ref(&*self.demand_rps);
            self.day_cost(mean, self.hourly.len() as f64, Percentile::P95)
        };
        self.cost = cost;
        self.served = Some(served);
        self.update_mask();
        Ok(Transition {
            obs: self.observation(),
            reward: before - self.cost.total(),
            terminated: done,
            truncated: false,
            info: self.info(),
        })
    }

    fn encode(&self, obs: &ServicesObs, out: &mut [f32]) {
        let w = &obs.world;
        let regions = w.regions();
        out.fill(0.0);
        let Some(service) = obs.service() else {
            return;
        };
        let s = &w.catalog.services[service];
        let total_rps: f64 = obs.demand_rps.iter().sum::<f64>().max(1e-12);
        let global = [
            s.calls_per_request,
            s.work_ms_per_request / w.work_ms_per_request.max(1e-12),
            f64::from(u8::from(w.stateful[service])),
            w.shard_gb[service].ln_1p(),
            f64::from(u8::from(
                w.jurisdiction[service] != residency::Jurisdiction::Anywhere,
            )),
            obs.replicas.len() as f64 / self.config.max_replicas as f64,
            obs.position as f64 / w.order.len() as f64,
        ];
        let g = global.len();
        for (o, v) in out.iter_mut().zip(global) {
            *o = v as f32;
        }
        let rtt = |a: usize, b: usize| w.hop_ms(a, b) / 100.0;
        let nearest = |target: usize, from: usize| {
            obs.placement[target]
                .iter()
                .map(|&r| rtt(from, r))
                .fold(f64::INFINITY, f64::min)
        };
        // Call-weighted mean RTT between `region` and the placed services of `peers`.
        let affinity = |peers: &[(usize, f64)], region: usize| {
            let (mut sum, mut weight) = (0.0, 0.0);
            for &(peer, rate) in peers {
                if !obs.placement[peer].is_empty() {
                    sum += rate * nearest(peer, region);
                    weight += rate;
                }
            }
            if weight > 0.0 { sum / weight } else { 0.0 }
        };
        let features = REGION_FEATURES.len();
        let rows = &mut out[g..g + (regions + 1) * features];
        for r in 0..regions {
            let row = [
                obs.demand_rps[r] / total_rps,
                f64::from(u8::from(obs.replicas.contains(&r))),
                f64::from(u8::from(w.allows(service, r))),
                affinity(&w.callers[service], r),
                affinity(&w.callees[service], r),
                obs.user_rtt_ms[r] / 100.0 * w.entry_share[service],
                if obs.replicas.is_empty() {
                    0.0
                } else {
                    nearest(service, r)
                },
                if obs.cores[r] > 0.0 {
                    obs.busy_cores[r] / obs.cores[r]
                } else {
                    0.0
                },
                0.0,
            ];
            for (o, v) in rows[r * features..(r + 1) * features].iter_mut().zip(row) {
                *o = v as f32;
            }
        }
        rows[regions * features + features - 1] = 1.0;
        // Entity mask: every row is present.
        for o in &mut out[g + (regions + 1) * features..] {
            *o = 1.0;
        }
    }

    fn oracle_view(&self) -> &() {
        &()
    }

    fn entity_labels(&self, _obs: &ServicesObs) -> Vec<String> {
        let mut labels: Vec<String> = self
            .world
            .geo
            .regions
            .iter()
            .map(|r| r.name.clone())
            .collect();
        labels.push("move on".into());
        labels
    }
}

fn feature_spec(regions: usize) -> FeatureSpec {
    let named = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(name, _)| Feature::new(*name, "1", 1.0))
            .collect::<Vec<_>>()
    };
    FeatureSpec {
        scenario: "services".into(),
        layout: Layout::Entity {
            global: named(&GLOBAL_FEATURES),
            entity: named(&REGION_FEATURES),
            entities: regions + 1,
        },
    }
}
