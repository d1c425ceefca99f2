//! The `traffic` scenario: cross-region traffic scheduling (global server load balancing).
//!
//! Each interval, user demand arises in every region and is split over datacenter sites by
//! the policy's `Simplex(regions, sites)` action. Sites serve up to their available capacity
//! (failures cut it), queue with M/M/1 delay as they fill, and drop the rest; requests pay the
//! RTT between region and site (links may degrade). The action chosen after observing interval
//! `t` is applied to interval `t + 1`, whose demand and failures the policy has not seen.

pub mod config;
mod overflow;
mod rtt_order;
mod scene;
mod serving;
mod sites;

pub use config::TrafficConfig;
pub use serving::{Interval, Outcome, Scratch, ServingModel};
pub use sites::Site;

use crate::config::ScenarioConfig;
use crate::error::{ActionError, EnvError};
use crate::features::{Feature, FeatureSpec, Layout};
use crate::rng::{Rng, derive_seed};
use crate::scenario::{Better, Info, Metric, Scenario, Transition, metric_names};
use crate::spaces::{Action, Space};
use crate::world::demand::DemandModel;
use crate::world::disruptions::Disruptions;
use crate::world::diurnal::DiurnalProfile;
use crate::world::geography::Geography;
use config::{ObservationKind, ScriptedEvent};
use rtt_order::{RttMemo, RttOrders};
use std::sync::Arc;

/// Metrics reported in every step's `Info`, in this order.
pub const METRICS: [Metric; 7] = [
    Metric {
        name: "mean_latency_ms",
        unit: "ms",
        better: Better::Lower,
        step: "the mean latency (RTT plus queueing) of the interval's served requests",
    },
    Metric {
        name: "interval_p95_latency_ms",
        unit: "ms",
        better: Better::Lower,
        step: "the 95th percentile of the interval's served requests' latency (an episode's value is therefore the mean of interval p95s, not the 95th percentile of the episode's requests)",
    },
    Metric {
        name: "slo_violation_fraction",
        unit: "fraction",
        better: Better::Lower,
        step: "the share of the interval's served requests slower than the latency SLO",
    },
    Metric {
        name: "dropped_fraction",
        unit: "fraction",
        better: Better::Lower,
        step: "the share of the interval's demand dropped (no capacity left)",
    },
    Metric {
        name: "cost_usd",
        unit: "USD",
        better: Better::Lower,
        step: "the interval's serving cost",
    },
    Metric {
        name: "max_site_utilisation",
        unit: "1",
        better: Better::Lower,
        step: "the highest load / capacity over sites with capacity left",
    },
    Metric {
        name: "demand_rps",
        unit: "requests/s",
        better: Better::Neither,
        step: "the interval's total demand",
    },
];
pub const METRIC_NAMES: [&str; 7] = metric_names(&METRICS);

/// What a traffic policy sees after interval `interval` has elapsed.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficObs {
    /// Index of the interval just observed (0 after reset).
    pub interval: u64,
    /// UTC time of day at the start of the interval the next action applies to (hours).
    pub next_time_of_day_h: f64,
    /// Mean request rate of each region during the observed interval.
    pub demand_rps: Vec<f64>,
    /// Nominal capacity of each site (requests/s).
    pub capacity_rps: Arc<[f64]>,
    /// Fraction of each site's capacity that was available (1 = healthy, 0 = down).
    pub health: Vec<f64>,
    /// Offered load / available capacity of each site (0 after reset: nothing routed yet;
    /// infinite for load sent to a failed site).
    pub utilisation: Vec<f64>,
    /// Effective RTT region -> site (ms), row-major `[regions, sites]`, link degradations included.
    pub rtt_ms: Arc<[f64]>,
    /// Cost per million requests served at each site (USD, carbon included).
    pub cost_per_million_usd: Arc<[f64]>,
    /// The split applied during the observed interval (what the balancer is configured with),
    /// row-major `[regions, sites]`, rows summing to 1 (all 0 after reset: nothing routed yet).
    pub split: Vec<f64>,
}

impl TrafficObs {
    pub fn regions(&self) -> usize {
        self.demand_rps.len()
    }

    pub fn sites(&self) -> usize {
        self.capacity_rps.len()
    }

    pub fn rtt(&self, region: usize, site: usize) -> f64 {
        self.rtt_ms[region * self.sites() + site]
    }

    /// Available capacity of site `s` (requests/s).
    pub fn available_rps(&self, s: usize) -> f64 {
        self.capacity_rps[s] * self.health[s]
    }
}

/// The true conditions of the interval the next action applies to: for oracles only.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficOracleView {
    pub demand_rps: Vec<f64>,
    pub health: Vec<f64>,
    pub rtt_ms: Arc<[f64]>,
}

/// Conditions of one interval.
#[derive(Debug, Clone, PartialEq)]
struct Conditions {
    demand_rps: Vec<f64>,
    health: Vec<f64>,
    rtt_ms: Arc<[f64]>,
}

#[derive(Debug, Clone)]
pub struct TrafficScenario {
    config: TrafficConfig,
    geo: Arc<Geography>,
    sites: Arc<[Site]>,
    /// Capacity of each site before the episode's draw (`sites.capacity_draw`).
    base_capacity_rps: Arc<[f64]>,
    /// This episode's capacity of each site.
    capacity_rps: Arc<[f64]>,
    cost_per_million_usd: Arc<[f64]>,
    cost_per_request_usd: Vec<f64>,
    base_rtt_ms: Arc<[f64]>,
    /// RTT of the last interval drawn (reused while no link changes).
    last_rtt_ms: Arc<[f64]>,
    serving: ServingModel,
    space: Space,
    spec: FeatureSpec,
    rng: Rng,
    demand: DemandModel,
    outages: Disruptions,
    degradations: Disruptions,
    /// Intervals elapsed in the episode; `None` before the first reset.
    interval: Option<u64>,
    current: Conditions,
    next: TrafficOracleView,
    utilisation: Vec<f64>,
    split: Vec<f64>,
    scratch: Scratch,
    rtt_orders: RttMemo,
}

impl TrafficScenario {
    pub fn new(config: TrafficConfig) -> Result<Self, EnvError> {
        config.validate().map_err(EnvError::Config)?;
        let world = &config.world;
        let geo = Geography::of_kind(
            world.kind,
            world.season,
            world.intra_region_rtt_ms,
            (world.synthetic.regions, world.synthetic.seed),
        )?;
        let sites = sites::build_sites(&config, &geo)?;
        for (i, event) in config.failures.scripted.iter().enumerate() {
            let (site, region) = match event {
                ScriptedEvent::Site { site, .. } => (site, None),
                ScriptedEvent::Link { site, region, .. } => (site, Some(region)),
            };
            if !sites.iter().any(|s| geo.regions[s.region].name == *site) {
                return Err(EnvError::config(format!(
                    "failures.scripted[{i}].site = `{site}` is not a site"
                )));
            }
            if let Some(region) = region.filter(|r| geo.index_of(r).is_none()) {
                return Err(EnvError::config(format!(
                    "failures.scripted[{i}].region = `{region}` is not a region"
                )));
            }
        }
        let profile =
            DiurnalProfile::load(&config.demand.diurnal_series, &config.demand.diurnal_column)?;
        let (r, s) = (geo.regions.len(), sites.len());
        let weights: Vec<f64> = geo.regions.iter().map(|x| x.demand_weight).collect();
        let offsets: Vec<f64> = geo.regions.iter().map(|x| x.utc_offset_h).collect();
        let demand = DemandModel::new(
            config.demand.clone(),
            profile,
            &weights,
            &offsets,
            config.interval_s,
        );
        let base_rtt_ms: Arc<[f64]> = (0..r)
            .flat_map(|i| sites.iter().map(move |site| (i, site.region)))
            .map(|(i, j)| geo.rtt_ms(i, j))
            .collect();
        let spec = feature_spec(&config, &geo, &sites);
        let serving = ServingModel {
            service_time_ms: config.latency.service_time_ms,
            max_queue_delay_ms: config.latency.max_queue_delay_ms,
            slo_ms: config.latency.slo_ms,
            interval_s: config.interval_s,
        };
        let empty = Conditions {
            demand_rps: vec![0.0; r],
            health: vec![1.0; s],
            rtt_ms: base_rtt_ms.clone(),
        };
        let base_capacity_rps: Arc<[f64]> = sites.iter().map(|x| x.capacity_rps).collect();
        Ok(Self {
            capacity_rps: base_capacity_rps.clone(),
            base_capacity_rps,
            cost_per_million_usd: sites.iter().map(|x| x.cost_per_million_usd).collect(),
            cost_per_request_usd: sites
                .iter()
                .map(|x| x.cost_per_million_usd * 1e-6)
                .collect(),
            next: TrafficOracleView {
                demand_rps: empty.demand_rps.clone(),
                health: empty.health.clone(),
                rtt_ms: base_rtt_ms.clone(),
            },
            current: empty,
            last_rtt_ms: base_rtt_ms.clone(),
            base_rtt_ms,
            serving,
            space: Space::Simplex { rows: r, cols: s },
            spec,
            rng: Rng::new(0),
            demand,
            outages: Disruptions::new(s, 1.0, f64::min),
            degradations: Disruptions::new(r * s, 1.0, f64::max),
            interval: None,
            utilisation: vec![0.0; s],
            split: vec![0.0; r * s],
            scratch: Scratch::default(),
            rtt_orders: RttMemo::default(),
            sites: sites.into(),
            geo: Arc::new(geo),
            config,
        })
    }

    pub fn config(&self) -> &TrafficConfig {
        &self.config
    }

    pub fn geography(&self) -> &Geography {
        &self.geo
    }

    /// The sites as configured: their capacity is before the episode's `sites.capacity_draw`
    /// (the episode's own is in the observation).
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    pub fn serving_model(&self) -> &ServingModel {
        &self.serving
    }

    /// Name of the region of site `s`.
    pub fn site_name(&self, s: usize) -> &str {
        &self.geo.regions[self.sites[s].region].name
    }

    /// The reward `split` (the simplex action's values, rows normalised as a step does) would
    /// have earned in an interval with `conditions`: the step's own model, for shadow mode's
    /// counterfactual rewards. The split is served as given, without the overflow guard: the
    /// guard works on the interval the policy observed, which a logged decision does not carry;
    /// a deployment that runs the guard logs the split it applied.
    pub fn one_step_reward(
        &self,
        conditions: &TrafficOracleView,
        split: &Action,
    ) -> Result<f64, EnvError> {
        self.check_action(split)?;
        let (r, s) = (self.geo.regions.len(), self.sites.len());
        for (name, len, want) in [
            ("demand_rps", conditions.demand_rps.len(), r),
            ("health", conditions.health.len(), s),
            ("rtt_ms", conditions.rtt_ms.len(), r * s),
        ] {
            if len != want {
                return Err(EnvError::data(
                    "traffic conditions",
                    format!("`{name}` has {len} values, the world needs {want}"),
                ));
            }
        }
        let Action::Continuous(values) = split else {
            unreachable!("check_action accepts only continuous actions for a simplex space")
        };
        let split = normalise_rows(values, self.sites.len());
        Ok(self.serve(conditions, &split, &mut Scratch::default()).1)
    }

    /// `row_counterfactual_rewards` for the traffic split: per region, from per-site totals
    /// (the action's offered load and demand-weighted RTT per site, then each region's row
    /// swapped for the reference's), O(regions x sites) in all; with the overflow guard on,
    /// O(regions x sites) more for each region whose swapped split the guard changes.
    fn region_counterfactuals(
        &self,
        action: &Action,
        reference: &Action,
    ) -> Result<Vec<f64>, EnvError> {
        if self.interval.is_none() {
            return Err(EnvError::NotReset);
        }
        self.check_action(action)?;
        self.check_action(reference)?;
        let (Action::Continuous(taken), Action::Continuous(other)) = (action, reference) else {
            unreachable!("check_action accepts only continuous actions for a simplex space")
        };
        let s = self.sites.len();
        let (taken, other) = (normalise_rows(taken, s), normalise_rows(other, s));
        let view = &self.next;
        let available = self.available_rps(&view.health);
        let demand: f64 = view.demand_rps.iter().sum();
        let reward_of = |offered: &[f64], weighted: &[f64]| {
            let t =
                self.serving
                    .site_totals(offered, weighted, &available, &self.cost_per_request_usd);
            self.reward(demand, t.mean_latency_ms, t.dropped_rps, t.cost_usd_per_s)
        };
        let guard_moves = self.guard_moves(&taken, &other);
        let (offered, rtt_weighted) = self.site_sums(&taken);
        let (mut o, mut w) = (vec![0.0; s], vec![0.0; s]);
        let rows = taken.chunks_exact(s).zip(other.chunks_exact(s));
        let pairs = rows.zip(view.rtt_ms.chunks_exact(s)).zip(&view.demand_rps);
        Ok(pairs
            .enumerate()
            .map(|(r, (((taken_row, other_row), rtt), &d))| {
                if guard_moves.as_ref().is_some_and(|moves| moves(r)) {
                    // The guard couples the rows: this swapped split is guarded and summed whole.
                    let mut split = taken.clone();
                    split[r * s..(r + 1) * s].copy_from_slice(other_row);
                    let (offered, weighted) = self.site_sums(&self.guarded(split));
                    return reward_of(&offered, &weighted);
                }
                let sites = o
                    .iter_mut()
                    .zip(&mut w)
                    .zip(offered.iter().zip(&rtt_weighted));
                let rows = taken_row.iter().zip(other_row).zip(rtt);
                for (((o, w), (&offered, &weighted)), ((&taken, &other), &rtt)) in sites.zip(rows) {
                    let change = d * (other - taken);
                    *o = offered + change;
                    *w = weighted + change * rtt;
                }
                reward_of(&o, &w)
            })
            .collect())
    }

    /// With the overflow guard on, whether it would change `taken` (`[regions, sites]`, rows
    /// normalised) with region `r`'s row swapped for `other`'s: whether that split loads a site
    /// above the mark on the observed interval. O(sites) per region, from the taken split's loads.
    fn guard_moves<'a>(
        &'a self,
        taken: &'a [f64],
        other: &'a [f64],
    ) -> Option<impl Fn(usize) -> bool + 'a> {
        let mark = self.config.guard.max_utilisation;
        if mark <= 0.0 {
            return None;
        }
        let s = self.sites.len();
        let c = &self.current;
        let limit: Vec<f64> = self
            .available_rps(&c.health)
            .iter()
            .map(|a| mark * a)
            .collect();
        let load = overflow::site_loads(taken, &c.demand_rps, s);
        let demand = &c.demand_rps;
        Some(move |r: usize| {
            let rows = taken[r * s..(r + 1) * s]
                .iter()
                .zip(&other[r * s..(r + 1) * s]);
            rows.zip(load.iter().zip(&limit))
                .any(|((t, o), (l, limit))| l + demand[r] * (o - t) > *limit)
        })
    }

    /// Per site, the load `split` offers in the next interval and its demand-weighted RTT.
    fn site_sums(&self, split: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let s = self.sites.len();
        let view = &self.next;
        let (mut offered, mut rtt_weighted) = (vec![0.0; s], vec![0.0; s]);
        let rows = split.chunks_exact(s).zip(view.rtt_ms.chunks_exact(s));
        for ((row, rtt), &d) in rows.zip(&view.demand_rps) {
            for (j, (&share, &rtt)) in row.iter().zip(rtt).enumerate() {
                offered[j] += d * share;
                rtt_weighted[j] += d * share * rtt;
            }
        }
        (offered, rtt_weighted)
    }

    /// Every site's capacity for the episode of `seed`: the base capacity times a factor drawn
    /// from `sites.capacity_draw` with a stream of its own, so the demand and failures drawn
    /// from `seed` do not depend on the range.
    fn episode_capacity(&self, seed: u64) -> Arc<[f64]> {
        let [low, high] = self.config.sites.capacity_draw;
        let factor = if low < high {
            low + (high - low) * Rng::new(derive_seed(seed, &[CAPACITY_DRAW_STREAM])).uniform()
        } else {
            low
        };
        if factor == 1.0 {
            return self.base_capacity_rps.clone();
        }
        self.base_capacity_rps.iter().map(|c| c * factor).collect()
    }

    /// Capacity left at each site under `health` (requests/s).
    fn available_rps(&self, health: &[f64]) -> Vec<f64> {
        self.capacity_rps
            .iter()
            .zip(health)
            .map(|(c, h)| c * h)
            .collect()
    }

    /// `split` after the overflow guard (`[guard]`), on the observed interval's conditions.
    fn guarded(&self, mut split: Vec<f64>) -> Vec<f64> {
        let mark = self.config.guard.max_utilisation;
        if mark > 0.0 {
            let c = &self.current;
            let available = self.available_rps(&c.health);
            overflow::guard(&mut split, &c.demand_rps, &available, &c.rtt_ms, mark);
        }
        split
    }

    /// Serves `split` (rows summing to 1) under `conditions`: the outcome and its reward.
    fn serve(
        &self,
        conditions: &TrafficOracleView,
        split: &[f64],
        scratch: &mut Scratch,
    ) -> (Outcome, f64) {
        let available = self.available_rps(&conditions.health);
        let outcome = self.serving.serve(
            Interval {
                demand_rps: &conditions.demand_rps,
                split,
                available_rps: &available,
                rtt_ms: &conditions.rtt_ms,
                cost_per_request_usd: &self.cost_per_request_usd,
            },
            scratch,
        );
        let reward = self.reward(
            outcome.demand_rps,
            outcome.mean_latency_ms,
            outcome.dropped_rps,
            outcome.cost_usd / self.config.interval_s,
        );
        (outcome, reward)
    }

    /// The reward of an interval with `demand_rps` in total, the mean latency of its served
    /// requests, `dropped_rps` and the cost rate of what was served (USD/s).
    fn reward(
        &self,
        demand_rps: f64,
        mean_latency_ms: f64,
        dropped_rps: f64,
        cost_usd_per_s: f64,
    ) -> f64 {
        let (dropped_fraction, cost_per_million) = if demand_rps > 0.0 {
            (dropped_rps / demand_rps, cost_usd_per_s / demand_rps * 1e6)
        } else {
            (0.0, 0.0)
        };
        let w = &self.config.reward;
        -(w.latency_weight * mean_latency_ms
            + w.drop_weight * dropped_fraction
            + w.cost_weight * cost_per_million)
    }

    fn minutes_to_intervals(&self, minutes: f64) -> u64 {
        ((minutes * 60.0 / self.config.interval_s).round() as u64).max(1)
    }

    /// Draws the conditions of interval `k` (demand, then failures: a fixed order keeps
    /// trajectories reproducible).
    fn draw_conditions(&mut self, k: u64) -> TrafficOracleView {
        let mut demand = vec![0.0; self.geo.regions.len()];
        self.demand.advance(k, &mut self.rng, &mut demand);
        self.outages.expire(k);
        let mut links_changed = self.degradations.expire(k);
        let f = self.config.failures.clone();
        let day_fraction = self.config.interval_s / 86_400.0;
        let sites = self.sites.len();
        for s in 0..sites {
            if self.rng.uniform() < f.site_failures_per_day * day_fraction
                && !self.outages.is_disrupted(s)
            {
                let fraction = if self.rng.uniform() < f.partial_failure_probability {
                    self.rng
                        .uniform_in(f.partial_capacity[0], f.partial_capacity[1])
                } else {
                    0.0
                };
                let minutes = self.rng.exponential(f.mean_repair_minutes);
                let repair = self.minutes_to_intervals(minutes);
                self.outages.add(s, fraction, k.saturating_add(repair));
            }
        }
        // Link events: one Poisson draw for all links, so huge worlds do not pay per link.
        let links = self.base_rtt_ms.len();
        let expected = f.link_degradations_per_day * day_fraction * links as f64;
        for _ in 0..poisson(&mut self.rng, expected) {
            let link = self.rng.below(links);
            let factor = self
                .rng
                .uniform_in(f.link_rtt_factor[0], f.link_rtt_factor[1]);
            let minutes = self.rng.exponential(f.mean_link_minutes);
            let length = self.minutes_to_intervals(minutes);
            self.degradations
                .add(link, factor, k.saturating_add(length));
            links_changed = true;
        }
        for event in &self.config.failures.scripted {
            let (at_minute, minutes) = event.timing();
            if !self.starts_at(at_minute, k) {
                continue;
            }
            let until = k.saturating_add(self.minutes_to_intervals(minutes));
            match event {
                ScriptedEvent::Site {
                    site,
                    capacity_fraction,
                    ..
                } => {
                    self.outages
                        .add(self.site_index(site), *capacity_fraction, until);
                }
                ScriptedEvent::Link {
                    region,
                    site,
                    rtt_factor,
                    ..
                } => {
                    let r = self.geo.index_of(region).unwrap_or(0);
                    self.degradations
                        .add(r * sites + self.site_index(site), *rtt_factor, until);
                    links_changed = true;
                }
            }
        }
        let rtt_ms = if links_changed {
            self.base_rtt_ms
                .iter()
                .zip(self.degradations.effective())
                .map(|(b, f)| b * f)
                .collect()
        } else {
            self.last_rtt_ms.clone()
        };
        self.last_rtt_ms = rtt_ms.clone();
        TrafficOracleView {
            demand_rps: demand,
            health: self.outages.effective().to_vec(),
            rtt_ms,
        }
    }

    fn starts_at(&self, at_minute: f64, k: u64) -> bool {
        (at_minute * 60.0 / self.config.interval_s).floor() as u64 == k
    }

    fn site_index(&self, name: &str) -> usize {
        (0..self.sites.len())
            .find(|&s| self.site_name(s) == name)
            .unwrap_or(0)
    }

    fn observation(&self) -> TrafficObs {
        let k = self.interval.unwrap_or(0);
        TrafficObs {
            interval: k,
            next_time_of_day_h: self.demand.time_of_day_h(k + 1),
            demand_rps: self.current.demand_rps.clone(),
            capacity_rps: self.capacity_rps.clone(),
            health: self.current.health.clone(),
            utilisation: self.utilisation.clone(),
            rtt_ms: self.current.rtt_ms.clone(),
            cost_per_million_usd: self.cost_per_million_usd.clone(),
            split: self.split.clone(),
        }
    }
}

/// Scales each row of a checked split (rows within the simplex tolerance of 1) to sum to 1.
fn normalise_rows(values: &[f32], cols: usize) -> Vec<f64> {
    let mut split: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    for row in split.chunks_exact_mut(cols) {
        let sum: f64 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= sum);
    }
    split
}

/// Poisson sample: by inversion for small means, by the normal approximation above 50 (where
/// inversion's exp(-mean) would underflow for huge worlds).
fn poisson(rng: &mut Rng, mean: f64) -> usize {
    if mean > 50.0 {
        return (mean + mean.sqrt() * rng.normal()).round().max(0.0) as usize;
    }
    let (mut k, mut p) = (0, (-mean).exp());
    let mut cdf = p;
    let u = rng.uniform();
    while u > cdf && k < 10_000 {
        k += 1;
        p *= mean / k as f64;
        cdf += p;
    }
    k
}

impl Scenario for TrafficScenario {
    type Obs = TrafficObs;
    type OracleView = TrafficOracleView;

    fn name(&self) -> &'static str {
        "traffic"
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

    fn check_action(&self, action: &Action) -> Result<(), ActionError> {
        self.space.check(action, None, &|row| {
            self.geo
                .regions
                .get(row)
                .map(|r| format!(" (region {})", r.name))
                .unwrap_or_default()
        })
    }

    fn reset(&mut self, seed: u64) -> TrafficObs {
        self.rng = Rng::new(seed);
        self.capacity_rps = self.episode_capacity(seed);
        self.demand.reset(&mut self.rng);
        self.outages.clear();
        self.degradations.clear();
        self.last_rtt_ms = self.base_rtt_ms.clone();
        let first = self.draw_conditions(0);
        self.current = Conditions {
            demand_rps: first.demand_rps,
            health: first.health,
            rtt_ms: first.rtt_ms,
        };
        self.next = self.draw_conditions(1);
        self.utilisation.fill(0.0);
        self.split.fill(0.0);
        self.interval = Some(0);
        self.observation()
    }

    fn step(&mut self, action: &Action) -> Result<Transition<TrafficObs>, EnvError> {
        let k = self.interval.ok_or(EnvError::NotReset)?;
        if k >= self.config.episode_intervals as u64 {
            return Err(EnvError::EpisodeOver);
        }
        self.check_action(action)?;
        let Action::Continuous(values) = action else {
            unreachable!("check_action accepts only continuous actions for a simplex space")
        };
        let split = self.guarded(normalise_rows(values, self.sites.len()));
        let mut scratch = std::mem::take(&mut self.scratch);
        let (outcome, reward) = self.serve(&self.next, &split, &mut scratch);
        self.scratch = scratch;
        let next = self.draw_conditions(k + 2);
        let applied = std::mem::replace(&mut self.next, next);
        self.current = Conditions {
            demand_rps: applied.demand_rps,
            health: applied.health,
            rtt_ms: applied.rtt_ms,
        };
        self.utilisation = outcome.utilisation.clone();
        self.split = split;
        self.interval = Some(k + 1);
        Ok(Transition {
            obs: self.observation(),
            reward,
            terminated: false,
            truncated: k + 1 == self.config.episode_intervals as u64,
            info: Info {
                values: vec![
                    outcome.mean_latency_ms,
                    outcome.p95_latency_ms,
                    outcome.slo_violation_fraction,
                    outcome.dropped_fraction(),
                    outcome.cost_usd,
                    outcome.max_site_utilisation,
                    outcome.demand_rps,
                ],
            },
        })
    }

    fn encode(&self, obs: &TrafficObs, out: &mut [f32]) {
        let (r, s) = (obs.regions(), obs.sites());
        let demand_scale = self.config.demand.global_rate_rps / r as f64;
        let capacity_scale = self.config.demand.global_rate_rps / s as f64;
        let angle = obs.next_time_of_day_h / 24.0 * std::f64::consts::TAU;
        let utilisation = |x: f64| x.min(10.0); // a failed site's infinite load encodes as 10
        match self.config.observation {
            ObservationKind::Flat => {
                let mut i = 0;
                let mut put = |v: f64| {
                    out[i] = v as f32;
                    i += 1;
                };
                put(angle.sin());
                put(angle.cos());
                obs.demand_rps.iter().for_each(|d| put(d / demand_scale));
                obs.rtt_ms.iter().for_each(|x| put(x / 100.0));
                obs.capacity_rps
                    .iter()
                    .for_each(|c| put(c / capacity_scale));
                obs.health.iter().for_each(|&h| put(h));
                obs.utilisation.iter().for_each(|&u| put(utilisation(u)));
                obs.cost_per_million_usd.iter().for_each(|&c| put(c));
            }
            ObservationKind::Pairs => {
                let total: f64 = obs.demand_rps.iter().sum();
                out[0] = angle.sin() as f32;
                out[1] = angle.cos() as f32;
                out[2] = (total / self.config.demand.global_rate_rps) as f32;
                let orders = self.rtt_orders.orders(&obs.rtt_ms, s);
                let competition = closer_demand_load(obs, &orders);
                // What a site shows in every region's row, computed once.
                let site_features: Vec<[f64; 5]> = (0..s)
                    .map(|site| {
                        let u = obs.utilisation[site];
                        [
                            obs.capacity_rps[site] / capacity_scale,
                            obs.health[site],
                            utilisation(u),
                            obs.cost_per_million_usd[site],
                            self.serving.sojourn_ms(u) / 100.0,
                        ]
                    })
                    .collect();
                // A rank is a count of the region's other sites: below s, one of s values.
                let rank_scale = (s.max(2) - 1) as f64;
                let ranks: Vec<f64> = (0..s).map(|k| k as f64 / rank_scale).collect();
                let rows = PairRows {
                    obs,
                    orders: &orders,
                    competition: &competition,
                    site_features: &site_features,
                    ranks: &ranks,
                    demand_scale,
                };
                let per_pair = pair_features(&self.config);
                let pairs = &mut out[3..3 + r * s * per_pair];
                if self.config.observe_share {
                    rows.write::<PAIR_FEATURES>(pairs);
                } else {
                    rows.write::<{ PAIR_FEATURES - 1 }>(pairs);
                }
                out[3 + r * s * per_pair..].fill(1.0);
            }
        }
    }

    fn oracle_view(&self) -> &TrafficOracleView {
        &self.next
    }

    /// With `observation = "pairs"`, row `r * sites + s` is users of region `r` served at site
    /// `s`, named `region -> site k (its region)`.
    fn scene(&self) -> Result<crate::Scene, EnvError> {
        let k = self.interval.ok_or(EnvError::NotReset)?;
        Ok(scene::scene(self, k))
    }

    fn entity_labels(&self, _obs: &TrafficObs) -> Vec<String> {
        if self.config.observation != ObservationKind::Pairs {
            return Vec::new();
        }
        let regions = &self.geography().regions;
        let sites: Vec<String> = self
            .sites()
            .iter()
            .enumerate()
            .map(|(k, site)| format!("site {k} ({})", regions[site.region].name))
            .collect();
        regions
            .iter()
            .flat_map(|r| {
                sites
                    .iter()
                    .map(move |site| format!("{} -> {site}", r.name))
            })
            .collect()
    }

    fn row_counterfactual_rewards(
        &self,
        action: &Action,
        reference: &Action,
    ) -> Option<Result<Vec<f64>, EnvError>> {
        Some(self.region_counterfactuals(action, reference))
    }
}

/// Path of the episode's capacity draw under its seed (`derive_seed`).
const CAPACITY_DRAW_STREAM: u64 = 0xCA9A_C17E;
/// Features of a region-site pair's row, and where the share sits among them (left out with
/// `observe_share = false`).
const PAIR_FEATURES: usize = 10;
const SHARE_FEATURE: usize = 8;

fn pair_features(config: &TrafficConfig) -> usize {
    PAIR_FEATURES - usize::from(!config.observe_share)
}

/// What the region-site pairs' rows of an observation are encoded from.
struct PairRows<'a> {
    obs: &'a TrafficObs,
    orders: &'a RttOrders,
    competition: &'a [f64],
    /// Per site: capacity, health, utilisation, cost and queueing delay, encoded.
    site_features: &'a [[f64; 5]],
    /// Encoded RTT rank by rank.
    ranks: &'a [f64],
    demand_scale: f64,
}

impl PairRows<'_> {
    /// Writes every pair's row into `out` (`[regions * sites, F]`): all `PAIR_FEATURES` when
    /// `F` is that, else all but the share. `F` is a constant so that the rows' stores
    /// compile unrolled (a row width known only at run time made the encoding 20 % slower).
    fn write<const F: usize>(&self, out: &mut [f32]) {
        let (obs, s) = (self.obs, self.obs.sites());
        for (region, rows) in out.chunks_exact_mut(s * F).enumerate() {
            let demand = obs.demand_rps[region] / self.demand_scale;
            let pairs = region * s..(region + 1) * s;
            let pair_values = obs.rtt_ms[pairs.clone()]
                .iter()
                .zip(&self.orders.rank[pairs.clone()])
                .zip(&self.competition[pairs.clone()])
                .zip(&obs.split[pairs]);
            let sites = rows.chunks_exact_mut(F).zip(self.site_features);
            for ((row, site), (((rtt, &rank), &competition), &split)) in sites.zip(pair_values) {
                let [capacity, health, load, cost, queue_delay] = *site;
                let values = [
                    demand,
                    rtt / 100.0,
                    capacity,
                    health,
                    load,
                    cost,
                    self.ranks[rank],
                    competition,
                    split,
                    queue_delay,
                ];
                if F == PAIR_FEATURES {
                    row.iter_mut().zip(values).for_each(|(o, v)| *o = v as f32);
                } else {
                    let (head, tail) = values.split_at(SHARE_FEATURE);
                    let kept = head.iter().chain(&tail[1..]);
                    row.iter_mut().zip(kept).for_each(|(o, v)| *o = *v as f32);
                }
            }
        }
    }
}

/// For each pair (region r, site s): the demand of the regions nearer to s than r, over s's
/// available capacity (capped at 10): how much of the site closer users would take first if
/// everyone preferred nearby sites. Per site, regions in RTT order (`by_site`), prefix-summed.
fn closer_demand_load(obs: &TrafficObs, orders: &RttOrders) -> Vec<f64> {
    let s = obs.sites();
    let mut out = vec![0.0; obs.regions() * s];
    let sites = orders.by_site.iter().zip(&orders.tie_ends).enumerate();
    for (site, (order, ends)) in sites {
        let available = obs.capacity_rps[site] * obs.health[site];
        let (mut before, mut start) = (0.0, 0);
        // Regions at the same RTT do not count each other.
        for &end in ends {
            let load = if available > 0.0 {
                (before / available).min(10.0)
            } else {
                10.0
            };
            let mut tied = 0.0;
            for &region in &order[start..end] {
                out[region * s + site] = load;
                tied += obs.demand_rps[region];
            }
            before += tied;
            start = end;
        }
    }
    out
}

fn feature_spec(config: &TrafficConfig, geo: &Geography, sites: &[Site]) -> FeatureSpec {
    let regions: Vec<&str> = geo.regions.iter().map(|r| r.name.as_str()).collect();
    let site_names: Vec<&str> = sites
        .iter()
        .map(|s| geo.regions[s.region].name.as_str())
        .collect();
    let demand_scale = (config.demand.global_rate_rps / regions.len() as f64) as f32;
    let capacity_scale = (config.demand.global_rate_rps / sites.len() as f64) as f32;
    let time = [
        Feature::new("next_time_of_day_sin", "1", 1.0),
        Feature::new("next_time_of_day_cos", "1", 1.0),
    ];
    let layout = match config.observation {
        ObservationKind::Flat => {
            let mut f: Vec<Feature> = time.to_vec();
            f.extend(
                regions
                    .iter()
                    .map(|r| Feature::new(format!("demand[{r}]"), "req/s", demand_scale)),
            );
            for r in &regions {
                f.extend(
                    site_names
                        .iter()
                        .map(|s| Feature::new(format!("rtt[{r}->{s}]"), "ms", 100.0)),
                );
            }
            f.extend(
                site_names
                    .iter()
                    .map(|s| Feature::new(format!("capacity[{s}]"), "req/s", capacity_scale)),
            );
            f.extend(
                site_names
                    .iter()
                    .map(|s| Feature::new(format!("health[{s}]"), "fraction", 1.0)),
            );
            f.extend(site_names.iter().map(|s| {
                Feature::new(format!("utilisation[{s}]"), "fraction (capped at 10)", 1.0)
            }));
            f.extend(
                site_names
                    .iter()
                    .map(|s| Feature::new(format!("cost[{s}]"), "USD per million requests", 1.0)),
            );
            Layout::Flat { features: f }
        }
        ObservationKind::Pairs => {
            let mut global = time.to_vec();
            global.push(Feature::new(
                "total_demand",
                "req/s",
                config.demand.global_rate_rps as f32,
            ));
            // Demand and capacity relative to the mean region's and site's share of the global
            // rate: the same schema for any number of regions and sites, so a policy trained
            // on one world runs on another.
            let mut entity = vec![
                Feature::new("region_demand", "req/s / (global rate / regions)", 1.0),
                Feature::new("rtt", "ms", 100.0),
                Feature::new("site_capacity", "req/s / (global rate / sites)", 1.0),
                Feature::new("site_health", "fraction", 1.0),
                Feature::new("site_utilisation", "fraction (capped at 10)", 1.0),
                Feature::new("site_cost", "USD per million requests", 1.0),
                Feature::new("rtt_rank", "fraction of sites nearer", 1.0),
                Feature::new(
                    "closer_demand_load",
                    "demand of nearer regions / available capacity (capped at 10)",
                    1.0,
                ),
                Feature::new("share", "fraction of the region's requests", 1.0),
                Feature::new("site_queue_delay", "ms", 100.0),
            ];
            if !config.observe_share {
                entity.remove(SHARE_FEATURE);
            }
            debug_assert_eq!(entity.len(), pair_features(config));
            Layout::Entity {
                global,
                entity,
                entities: regions.len() * sites.len(),
            }
        }
    };
    FeatureSpec {
        scenario: "traffic".into(),
        layout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spaces::SIMPLEX_TOLERANCE;
    use proptest::prelude::*;

    proptest! {
        /// Any row the space accepts is applied as a split summing to 1.
        #[test]
        fn accepted_rows_are_applied_summing_to_one(
            rows in proptest::collection::vec(proptest::collection::vec(0.0f32..1.0, 1..8), 1..6),
            jitter in -0.9f64..0.9,
        ) {
            let cols = rows[0].len();
            let mut values = Vec::new();
            for row in &rows {
                let row: Vec<f32> = (0..cols).map(|j| row.get(j).copied().unwrap_or(0.5) + 1e-3).collect();
                let sum: f32 = row.iter().sum();
                let scale = (1.0 + jitter * SIMPLEX_TOLERANCE) as f32 / sum;
                values.extend(row.iter().map(|v| v * scale));
            }
            let space = Space::Simplex { rows: rows.len(), cols };
            prop_assert!(space.check(&Action::Continuous(values.clone()), None, &|_| String::new()).is_ok());
            for row in normalise_rows(&values, cols).chunks(cols) {
                prop_assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                prop_assert!(row.iter().all(|v| *v >= 0.0));
            }
        }
    }
}
