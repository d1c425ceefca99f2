//! The fleet: hosts, the VMs on them, the hidden faults that make them fail and the telemetry
//! they show.
//!
//! Time runs in hours. At the start of hour `t` the operator sees every host's telemetry
//! measured at `t` and may mitigate; then hour `t` passes: VMs come and go, and a host whose
//! fault is due in hour `t` fails, interrupting all its VMs.
//!
//! The truth is kept apart from what is observed. Faults are drawn at reset from the seed alone
//! (a mitigation never changes which faults exist or when they are due), so the simulator knows
//! for every host-hour whether the host *would* fail within the horizon if left alone: the
//! counterfactual label. What an operator observes is only the failures that happened: a fault
//! that a mitigation cleared is never seen ([`Fleet::rows`]).

use super::config::{PREDICTOR_FEATURES, RiskConfig};
use crate::rng::{Rng, derive_seed};
use crate::scene::Timeline;

/// The telemetry signals, in standard units (0 = a healthy host's mean).
pub const SIGNALS: [&str; 4] = [
    "kernel_warnings",
    "corrected_memory_errors",
    "disk_latency",
    "temperature",
];
/// The features of a host-hour: the signals' levels, then their change over `CHANGE_HOURS`.
pub const FEATURES: [&str; PREDICTOR_FEATURES] = [
    "kernel_warnings",
    "corrected_memory_errors",
    "disk_latency",
    "temperature",
    "kernel_warnings_change_6h",
    "corrected_memory_errors_change_6h",
    "disk_latency_change_6h",
    "temperature_change_6h",
];
const CHANGE_HOURS: usize = 6;
/// Hour-to-hour persistence of the telemetry noise (AR(1)).
const NOISE_PERSISTENCE: f64 = 0.7;
/// How much of a fault's drift each signal shows: software faults show in kernel warnings,
/// hardware faults in memory errors and disk latency.
const SOFT_DRIFT: [f64; 4] = [1.0, 0.5, 0.0, 0.0];
const HARD_DRIFT: [f64; 4] = [0.0, 1.0, 1.0, 0.4];
const WEEK_H: f64 = 168.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// A reboot fixes it.
    Soft,
    /// Only repair fixes it.
    Hard,
}

/// What became of a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Not due yet, nor cleared.
    Pending,
    /// The host failed in hour `fails_at`.
    Failed,
    /// A mitigation taken at the start of this hour cleared it (a reboot, or a migration whose
    /// repair also fixes what would have failed while the host was out).
    Mitigated(usize),
    /// Due while the host was in repair after a failure: the repair fixed it, with no one's
    /// choice involved.
    Absorbed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    /// The host fails in this hour unless the fault is cleared first.
    pub fails_at: usize,
    /// When the drift starts (hours; `fails_at` for a fault with no warning).
    pub drift_from: f64,
    pub resolution: Resolution,
}

impl Fault {
    /// Whether the fault exists and is unresolved at the start of hour `t`.
    fn active_at(&self, t: usize) -> bool {
        self.resolution == Resolution::Pending && self.drift_from <= t as f64
    }
}

/// Drift with no fault behind it: rises on one signal, then falls back.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Burst {
    signal: usize,
    start: f64,
    hours: f64,
    size: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mitigation {
    /// No new VMs for `impact.block_hours`.
    Block,
    /// VMs interrupted for `impact.reboot_minutes`; clears software faults.
    Reboot,
    /// VMs live-migrated away, then the host goes to repair: clears every fault.
    Migrate,
}

impl Mitigation {
    pub const ALL: [Mitigation; 3] = [Mitigation::Block, Mitigation::Reboot, Mitigation::Migrate];

    pub fn name(self) -> &'static str {
        match self {
            Mitigation::Block => "block",
            Mitigation::Reboot => "reboot",
            Mitigation::Migrate => "migrate",
        }
    }
}

/// One host's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub vms: u32,
    /// Hours of block left (0 = accepting VMs).
    pub blocked_hours: usize,
    /// Hours of repair left (0 = in service).
    pub repair_hours: usize,
    /// Never mitigated: part of the control group.
    pub control: bool,
    /// The hour of its last mitigation.
    pub last_mitigation: Option<usize>,
    pub rebooted_this_hour: bool,
    /// Totals so far on this host (VM-minutes): interruptions, and mitigation costs.
    pub interruption_vm_min: f64,
    pub mitigation_cost: f64,
    faults: Vec<Fault>,
    bursts: Vec<Burst>,
    offset: [f64; 4],
    noise: [f64; 4],
    /// Telemetry at the last `CHANGE_HOURS + 1` hours, oldest first.
    recent: Vec<[f64; 4]>,
    noise_rng: Rng,
    churn_rng: Rng,
}

impl Host {
    pub fn in_service(&self) -> bool {
        self.repair_hours == 0
    }

    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// The 8 features of the latest telemetry (zeros while in repair).
    pub fn features(&self) -> [f64; PREDICTOR_FEATURES] {
        let mut out = [0.0; PREDICTOR_FEATURES];
        if !self.in_service() {
            return out;
        }
        let (Some(now), Some(then)) = (self.recent.last(), self.recent.first()) else {
            return out;
        };
        for s in 0..4 {
            out[s] = now[s];
            out[4 + s] = now[s] - then[s];
        }
        out
    }

    /// Where the faults due in hour `t` or later start. Faults are drawn in the order they
    /// are due, and every fault due before `t` is resolved by then (failed, or fixed by a
    /// mitigation or a repair), so per-hour work only looks from here.
    fn due_from(&self, t: usize) -> usize {
        self.faults.partition_point(|f| f.fails_at < t)
    }

    /// The earliest fault not yet resolved at hour `t`, if any (what an oracle sees).
    pub fn next_fault(&self, t: usize) -> Option<&Fault> {
        self.faults[self.due_from(t)..]
            .iter()
            .find(|f| f.resolution == Resolution::Pending)
    }

    /// Whether a fault is due within `horizon` hours of `t` (the truth, unmitigated).
    pub fn fails_within(&self, t: usize, horizon: usize) -> bool {
        self.faults[self.due_from(t)..]
            .iter()
            .take_while(|f| f.fails_at < t + horizon)
            .any(|f| f.resolution == Resolution::Pending)
    }

    /// The faults that have begun drifting by hour `t` and are unresolved (only those due
    /// within the longest lead can have).
    fn begun_by(&mut self, t: usize, max_lead: f64) -> impl Iterator<Item = &mut Fault> {
        let from = self.due_from(t);
        self.faults[from..]
            .iter_mut()
            .take_while(move |f| f.fails_at as f64 <= t as f64 + max_lead)
            .filter(move |f| f.active_at(t))
    }
}

/// A host-hour as logged at a decision time, before that hour's mitigations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoggedRow {
    pub host: usize,
    pub hour: usize,
    pub features: [f32; PREDICTOR_FEATURES],
}

/// A logged host-hour with its labels, known once its horizon has passed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelledRow {
    pub host: usize,
    pub hour: usize,
    pub features: [f32; PREDICTOR_FEATURES],
    /// The host failed within the horizon: what an operator observes.
    pub observed: bool,
    /// The host would have failed within the horizon had no one mitigated it from this hour
    /// on: the counterfactual truth only the simulator knows.
    pub truth: bool,
    /// The host was mitigated within the horizon.
    pub mitigated: bool,
    pub control: bool,
}

/// Totals of an episode so far.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Outcome {
    pub interruption_vm_min: f64,
    pub mitigation_cost: f64,
    pub failures: u32,
    pub vms_interrupted: u32,
    /// Faults a mitigation cleared before they were due.
    pub averted: u32,
    pub mitigations: u32,
    /// Mitigations of a host with no fault due within the horizon.
    pub needless: u32,
}

#[derive(Debug, Clone)]
pub struct Fleet {
    pub hosts: Vec<Host>,
    pub hour: usize,
    pub outcome: Outcome,
    log: Vec<LoggedRow>,
    mitigations: Vec<(usize, usize)>,
    /// Per hour: interruption and mitigation cost so far (for pictures).
    pub history: Timeline,
}

/// Inverse-CDF draws with one uniform each, so that every host consumes its random streams at
/// the same pace whatever the policy does (common random numbers across policies).
fn poisson(mean: f64, u: f64, cap: u32) -> u32 {
    let (mut k, mut p) = (0u32, (-mean).exp());
    let mut cdf = p;
    while u > cdf && k < cap {
        k += 1;
        p *= mean / f64::from(k);
        cdf += p;
    }
    k
}

fn binomial(n: u32, prob: f64, u: f64) -> u32 {
    if n == 0 || prob <= 0.0 {
        return 0;
    }
    if prob >= 1.0 {
        return n;
    }
    let (mut k, mut p) = (0u32, (1.0 - prob).powi(n as i32));
    let mut cdf = p;
    let ratio = prob / (1.0 - prob);
    while u > cdf && k < n {
        p *= f64::from(n - k) / f64::from(k + 1) * ratio;
        k += 1;
        cdf += p;
    }
    k
}

impl Fleet {
    /// A fresh fleet for the episode of `seed`.
    pub fn new(config: &RiskConfig, seed: u64) -> Self {
        let horizon_end = (config.episode_hours + config.horizon_hours) as f64;
        let control = (config.control_share * config.hosts as f64).round() as usize;
        let hosts = (0..config.hosts)
            .map(|h| {
                let mut rng = Rng::new(derive_seed(seed, &[1, h as u64]));
                let f = &config.faults;
                let mut faults = Vec::new();
                if f.per_host_week > 0.0 {
                    let mut at = rng.exponential(WEEK_H / f.per_host_week);
                    while at < horizon_end {
                        let kind = if rng.uniform() < f.soft_share {
                            FaultKind::Soft
                        } else {
                            FaultKind::Hard
                        };
                        let announced = rng.uniform() < f.announced_share;
                        let lead = f.lead_hours * rng.uniform_in(0.5, 1.5);
                        let fails_at = at.floor() as usize;
                        faults.push(Fault {
                            kind,
                            fails_at,
                            drift_from: if announced {
                                fails_at as f64 + 1.0 - lead
                            } else {
                                fails_at as f64
                            },
                            resolution: Resolution::Pending,
                        });
                        at += rng.exponential(WEEK_H / f.per_host_week);
                    }
                }
                let mut bursts = Vec::new();
                if f.false_alarms_per_host_week > 0.0 {
                    let mean_gap = WEEK_H / f.false_alarms_per_host_week;
                    let mut at = rng.exponential(mean_gap) - f.false_alarm_hours;
                    while at < horizon_end {
                        bursts.push(Burst {
                            signal: rng.below(4),
                            start: at,
                            hours: f.false_alarm_hours * rng.uniform_in(0.5, 1.5),
                            size: config.telemetry.drift * rng.uniform_in(0.5, 1.0),
                        });
                        at += rng.exponential(mean_gap);
                    }
                }
                let offset =
                    std::array::from_fn(|_| config.telemetry.host_offset_sd * rng.normal());
                let stationary =
                    config.telemetry.noise_sd / (1.0 - NOISE_PERSISTENCE.powi(2)).sqrt();
                let noise = std::array::from_fn(|_| stationary * rng.normal());
                let mut churn_rng = Rng::new(derive_seed(seed, &[3, h as u64]));
                let vms = poisson(
                    config.vms.mean_per_host,
                    churn_rng.uniform(),
                    config.vms.capacity,
                );
                Host {
                    vms,
                    blocked_hours: 0,
                    repair_hours: 0,
                    control: h < control,
                    last_mitigation: None,
                    rebooted_this_hour: false,
                    interruption_vm_min: 0.0,
                    mitigation_cost: 0.0,
                    faults,
                    bursts,
                    offset,
                    noise,
                    recent: Vec::with_capacity(CHANGE_HOURS + 1),
                    noise_rng: Rng::new(derive_seed(seed, &[2, h as u64])),
                    churn_rng,
                }
            })
            .collect();
        let mut fleet = Self {
            hosts,
            hour: 0,
            outcome: Outcome::default(),
            log: Vec::with_capacity(config.hosts * config.episode_hours),
            mitigations: Vec::new(),
            history: Timeline::new(2),
        };
        fleet.measure(config);
        fleet
    }

    /// Measures every host's telemetry at the current hour and logs the hosts in service.
    fn measure(&mut self, config: &RiskConfig) {
        let t = self.hour;
        let o = &self.outcome;
        self.history
            .push(t as f64, &[o.interruption_vm_min, o.mitigation_cost]);
        let drift = config.telemetry.drift;
        let max_lead = max_lead(config);
        let longest_burst = 1.5 * config.faults.false_alarm_hours;
        for (h, host) in self.hosts.iter_mut().enumerate() {
            let mut now = [0.0; 4];
            for (s, value) in now.iter_mut().enumerate() {
                let innovation = config.telemetry.noise_sd * host.noise_rng.normal();
                host.noise[s] = NOISE_PERSISTENCE * host.noise[s] + innovation;
                *value = host.offset[s] + host.noise[s];
            }
            for f in host.begun_by(t, max_lead) {
                let progress = ((t as f64 - f.drift_from)
                    / (f.fails_at as f64 + 1.0 - f.drift_from).max(1e-9))
                .clamp(0.0, 1.0);
                let shape = match f.kind {
                    FaultKind::Soft => SOFT_DRIFT,
                    FaultKind::Hard => HARD_DRIFT,
                };
                for s in 0..4 {
                    now[s] += drift * shape[s] * progress;
                }
            }
            let first = host
                .bursts
                .partition_point(|b| b.start < t as f64 - longest_burst);
            for b in host.bursts[first..]
                .iter()
                .take_while(|b| b.start <= t as f64)
            {
                let x = (t as f64 - b.start) / b.hours;
                if (0.0..=1.0).contains(&x) {
                    now[b.signal] += b.size * (1.0 - (2.0 * x - 1.0).abs());
                }
            }
            if host.recent.len() > CHANGE_HOURS {
                host.recent.remove(0);
            }
            host.recent.push(now);
            // The episode's last measurement ends it: no decision is taken there.
            if host.in_service() && t < config.episode_hours {
                let features = host.features().map(|v| v as f32);
                self.log.push(LoggedRow {
                    host: h,
                    hour: t,
                    features,
                });
            }
        }
    }

    /// Applies `mitigation` to host `h` at the start of the current hour. The caller checks
    /// that the host is in service.
    pub fn mitigate(&mut self, config: &RiskConfig, h: usize, mitigation: Mitigation) {
        let t = self.hour;
        let horizon = config.horizon_hours;
        let host = &mut self.hosts[h];
        let vms = f64::from(host.vms);
        let needless = !host.fails_within(t, horizon);
        let (interruption, cost) = match mitigation {
            Mitigation::Block => {
                host.blocked_hours = config.impact.block_hours;
                (0.0, 0.0)
            }
            Mitigation::Reboot => {
                host.rebooted_this_hour = true;
                for f in host.begun_by(t, max_lead(config)) {
                    if f.kind == FaultKind::Soft {
                        f.resolution = Resolution::Mitigated(t);
                        self.outcome.averted += 1;
                    }
                }
                (vms * config.impact.reboot_minutes, config.cost.reboot)
            }
            Mitigation::Migrate => {
                host.vms = 0;
                let cleared = start_repair(host, t, config, Resolution::Mitigated(t));
                self.outcome.averted += cleared;
                (
                    vms * config.impact.migration_blackout_minutes,
                    vms * config.cost.migration_per_vm + config.cost.repair,
                )
            }
        };
        host.last_mitigation = Some(t);
        host.interruption_vm_min += interruption;
        host.mitigation_cost += cost;
        self.outcome.interruption_vm_min += interruption;
        self.outcome.mitigation_cost += cost;
        self.outcome.mitigations += 1;
        self.outcome.needless += u32::from(needless);
        self.mitigations.push((h, t));
    }

    /// Lets the current hour pass: blocks cost, VMs come and go, due faults fail their hosts,
    /// repairs and blocks run down; then the next hour's telemetry is measured.
    pub fn advance(&mut self, config: &RiskConfig) {
        let t = self.hour;
        let arrival_rate = config.vms.mean_per_host / config.vms.mean_lifetime_hours;
        let leave = 1.0 - (-1.0 / config.vms.mean_lifetime_hours).exp();
        for host in &mut self.hosts {
            host.rebooted_this_hour = false;
            let (u_leave, u_arrive) = (host.churn_rng.uniform(), host.churn_rng.uniform());
            if host.blocked_hours > 0 {
                host.blocked_hours -= 1;
                host.mitigation_cost += config.cost.block_per_hour;
                self.outcome.mitigation_cost += config.cost.block_per_hour;
            }
            if !host.in_service() {
                host.repair_hours -= 1;
                continue;
            }
            host.vms -= binomial(host.vms, leave, u_leave);
            if host.blocked_hours == 0 {
                let room = config.vms.capacity - host.vms;
                host.vms += poisson(arrival_rate, u_arrive, room);
            }
            let from = host.due_from(t);
            let mut due = false;
            for f in host.faults[from..]
                .iter_mut()
                .take_while(|f| f.fails_at == t)
            {
                if f.resolution == Resolution::Pending {
                    f.resolution = Resolution::Failed;
                    due = true;
                }
            }
            if due {
                let interruption = f64::from(host.vms) * config.impact.failure_minutes;
                host.interruption_vm_min += interruption;
                self.outcome.interruption_vm_min += interruption;
                self.outcome.failures += 1;
                self.outcome.vms_interrupted += host.vms;
                host.vms = 0;
                start_repair(host, t + 1, config, Resolution::Absorbed);
            }
        }
        self.hour += 1;
        self.measure(config);
    }

    /// Every logged host-hour whose horizon has passed by `end` (the last hour simulated + 1),
    /// with its observed and true labels.
    pub fn rows(&self, horizon: usize, end: usize) -> Vec<LabelledRow> {
        let mut mitigated_at: Vec<Vec<usize>> = vec![Vec::new(); self.hosts.len()];
        for &(h, t) in &self.mitigations {
            mitigated_at[h].push(t);
        }
        self.log
            .iter()
            .filter(|r| r.hour + horizon <= end)
            .map(|r| {
                let host = &self.hosts[r.host];
                let window = r.hour..r.hour + horizon;
                let due = &host.faults[host.due_from(r.hour)..];
                let due = &due[..due.partition_point(|f| f.fails_at < window.end)];
                let mitigations = &mitigated_at[r.host];
                let next = mitigations.partition_point(|&t| t < r.hour);
                LabelledRow {
                    host: r.host,
                    hour: r.hour,
                    features: r.features,
                    observed: due.iter().any(|f| f.resolution == Resolution::Failed),
                    truth: due.iter().any(|f| match f.resolution {
                        Resolution::Pending | Resolution::Failed => true,
                        Resolution::Mitigated(at) => at >= r.hour,
                        Resolution::Absorbed => false,
                    }),
                    mitigated: mitigations.get(next).is_some_and(|t| window.contains(t)),
                    control: host.control,
                }
            })
            .collect()
    }
}

/// The longest a fault drifts before it is due (hours).
fn max_lead(config: &RiskConfig) -> f64 {
    1.5 * config.faults.lead_hours
}

/// Takes `host` out for `impact.repair_hours` of repair from hour `from`, ending any block
/// (there is nothing left to block): every unresolved fault that has begun, or is due before
/// the host is back, is fixed (`how`). Returns how many.
fn start_repair(host: &mut Host, from: usize, config: &RiskConfig, how: Resolution) -> u32 {
    let hours = config.impact.repair_hours;
    host.repair_hours = hours;
    host.blocked_hours = 0;
    let back = from + hours;
    // Faults due later than this cannot have begun by `from`.
    let last = back.max(from + max_lead(config).ceil() as usize + 1);
    let start = host.due_from(from);
    let mut cleared = 0;
    for f in host.faults[start..]
        .iter_mut()
        .take_while(|f| f.fails_at <= last)
    {
        if f.resolution == Resolution::Pending && (f.drift_from <= from as f64 || f.fails_at < back)
        {
            f.resolution = how;
            cleared += 1;
        }
    }
    cleared
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScenarioConfig;

    #[test]
    fn draws_follow_their_distributions() {
        let n = 20_000;
        let mean = (0..n)
            .map(|i| f64::from(poisson(3.0, (f64::from(i) + 0.5) / f64::from(n), 100)))
            .sum::<f64>()
            / f64::from(n);
        assert!((mean - 3.0).abs() < 0.01, "{mean}");
        let mean = (0..n)
            .map(|i| f64::from(binomial(20, 0.3, (f64::from(i) + 0.5) / f64::from(n))))
            .sum::<f64>()
            / f64::from(n);
        assert!((mean - 6.0).abs() < 0.01, "{mean}");
        assert_eq!(poisson(1e3, 0.999_999, 5), 5);
        assert_eq!(binomial(7, 1.0, 0.3), 7);
    }

    /// Left alone, every fault due in the episode fails its host, and then observed labels are
    /// the true ones.
    #[test]
    fn unmitigated_labels_are_the_truth() {
        let config = RiskConfig::builtin_default();
        let mut fleet = Fleet::new(&config, 5);
        for _ in 0..config.episode_hours {
            fleet.advance(&config);
        }
        let rows = fleet.rows(config.horizon_hours, config.episode_hours);
        assert!(rows.iter().any(|r| r.truth));
        assert!(rows.iter().all(|r| r.observed == r.truth && !r.mitigated));
        assert!(fleet.outcome.failures > 0 && fleet.outcome.averted == 0);
    }
}
