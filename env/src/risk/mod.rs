//! The `risk` scenario: predict, then mitigate. A fleet of hosts whose telemetry drifts before
//! they fail ([`fleet`]); each hour the operator may mitigate hosts (block new VMs, reboot, or
//! live-migrate the VMs away and repair the host), the way Microsoft's Narya acts on predicted
//! host failures, and a prediction is judged by the interruptions it avoids.
//!
//! Each step either starts one mitigation on one host (`Discrete(3 x hosts + 1)`: action
//! `3h + m` applies mitigation `m` of block, reboot, migrate to host `h`) or lets the hour pass
//! (the last action). At most `max_mitigations_per_hour` mitigations per hour; hosts in repair
//! and the control group are masked. Every host shows a risk score: the configured logistic
//! predictor over its telemetry features.
//!
//! Reward: minus the VM-minutes of interruption (failures, reboots, migration blackouts) and
//! the mitigation costs (in VM-minutes) that the step incurred, so an episode's return is minus
//! its total cost.

pub mod config;
pub mod fleet;
mod scene;

pub use config::RiskConfig;
pub use fleet::{FaultKind, LabelledRow, Mitigation};

use crate::error::EnvError;
use crate::features::{Feature, FeatureSpec, Layout};
use crate::scenario::{
    Better, Info, Metric, MetricAggregation, Scenario, Transition, metric_names,
};
use crate::spaces::{Action, Space};
use config::PREDICTOR_FEATURES;
use fleet::Fleet;
use std::sync::Arc;

pub const METRICS: [Metric; 8] = [
    Metric {
        name: "total_cost",
        unit: "VM-minutes",
        better: Better::Lower,
        step: "interruption plus mitigation cost so far",
    },
    Metric {
        name: "interruption_vm_min",
        unit: "VM-minutes",
        better: Better::Lower,
        step: "VM-minutes of interruption so far: failures, reboots, migration blackouts",
    },
    Metric {
        name: "mitigation_cost",
        unit: "VM-minutes",
        better: Better::Lower,
        step: "what the mitigations so far cost (blocked hours, reboots, migrations, repairs)",
    },
    Metric {
        name: "failures",
        unit: "hosts",
        better: Better::Lower,
        step: "host failures so far",
    },
    Metric {
        name: "vms_interrupted",
        unit: "VMs",
        better: Better::Lower,
        step: "VMs on hosts that failed, so far",
    },
    Metric {
        name: "averted",
        unit: "faults",
        better: Better::Higher,
        step: "faults a mitigation cleared before they were due, so far",
    },
    Metric {
        name: "mitigations",
        unit: "mitigations",
        better: Better::Neither,
        step: "mitigations started so far",
    },
    Metric {
        name: "needless_mitigations",
        unit: "mitigations",
        better: Better::Lower,
        step: "mitigations of hosts with no fault due within horizon_hours, so far",
    },
];
pub const METRIC_NAMES: [&str; 8] = metric_names(&METRICS);

/// One host as a policy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostView {
    /// Telemetry features ([`fleet::FEATURES`]); zeros while in repair.
    pub features: [f64; PREDICTOR_FEATURES],
    /// The predictor's probability that the host fails within the horizon.
    pub risk: f64,
    pub vms: u32,
    pub blocked_hours: usize,
    pub in_repair: bool,
    pub control: bool,
    pub rebooted_this_hour: bool,
    /// Hours since its last mitigation (None: never).
    pub since_mitigation: Option<usize>,
    /// Totals on this host so far (VM-minutes).
    pub interruption_vm_min: f64,
    pub mitigation_cost: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RiskObs {
    pub hour: usize,
    pub mitigations_left: usize,
    pub hosts: Arc<Vec<HostView>>,
}

/// What an oracle sees: per host, the earliest unresolved fault (hours until it is due, kind).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskOracleView {
    pub next_fault: Vec<Option<(usize, FaultKind)>>,
}

const ROW_FEATURES: [(&str, &str, f32); 18] = [
    ("kernel_warnings", "sd", 3.0),
    ("corrected_memory_errors", "sd", 3.0),
    ("disk_latency", "sd", 3.0),
    ("temperature", "sd", 3.0),
    ("kernel_warnings_change_6h", "sd", 3.0),
    ("corrected_memory_errors_change_6h", "sd", 3.0),
    ("disk_latency_change_6h", "sd", 3.0),
    ("temperature_change_6h", "sd", 3.0),
    ("risk", "probability", 1.0),
    ("vms", "share of capacity", 1.0),
    ("blocked", "1 if blocked", 1.0),
    ("in_repair", "1 if in repair", 1.0),
    ("control", "1 if in the control group", 1.0),
    ("since_mitigation", "weeks, 1 if never", 168.0),
    ("block", "1 on a block row", 1.0),
    ("reboot", "1 on a reboot row", 1.0),
    ("migrate", "1 on a migrate row", 1.0),
    ("pass_hour", "1 on the last row: let the hour pass", 1.0),
];

const GLOBAL_FEATURES: [(&str, &str, f32); 4] = [
    ("progress", "hours passed over episode_hours", 1.0),
    (
        "mitigations_left",
        "share of the hour's mitigations left",
        1.0,
    ),
    ("mean_risk", "mean risk score of hosts in service", 1.0),
    ("in_repair", "share of hosts in repair", 1.0),
];

#[derive(Debug, Clone)]
pub struct RiskScenario {
    config: RiskConfig,
    space: Space,
    spec: FeatureSpec,
    fleet: Option<Fleet>,
    mitigations_this_hour: usize,
    mask: Vec<bool>,
    view: RiskOracleView,
}

/// The probability of a logit.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl RiskScenario {
    pub fn new(config: RiskConfig) -> Result<Self, EnvError> {
        use crate::config::ScenarioConfig;
        config.validate().map_err(EnvError::Config)?;
        let rows = 3 * config.hosts + 1;
        Ok(Self {
            space: Space::Discrete { n: rows },
            spec: feature_spec(rows),
            fleet: None,
            mitigations_this_hour: 0,
            mask: vec![false; rows],
            view: RiskOracleView::default(),
            config,
        })
    }

    pub fn config(&self) -> &RiskConfig {
        &self.config
    }

    /// The risk score of a host with these features.
    pub fn risk(&self, features: &[f64; PREDICTOR_FEATURES]) -> f64 {
        let p = &self.config.predictor;
        let z = p.bias
            + p.weights
                .iter()
                .zip(features)
                .map(|(w, x)| w * x)
                .sum::<f64>();
        sigmoid(z)
    }

    /// The episode's host-hours so far whose horizon has passed, with observed and true labels
    /// (empty before the first reset).
    pub fn labelled_rows(&self) -> Vec<LabelledRow> {
        self.fleet
            .as_ref()
            .map_or_else(Vec::new, |f| f.rows(self.config.horizon_hours, f.hour))
    }

    /// (host, hour) of every failure so far.
    pub fn failures(&self) -> Vec<(usize, usize)> {
        let Some(fleet) = &self.fleet else {
            return Vec::new();
        };
        let mut out: Vec<(usize, usize)> = fleet
            .hosts
            .iter()
            .enumerate()
            .flat_map(|(h, host)| {
                host.faults()
                    .iter()
                    .filter(|f| f.resolution == fleet::Resolution::Failed)
                    .map(move |f| (h, f.fails_at))
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn update(&mut self) {
        let Some(fleet) = &self.fleet else { return };
        let open = fleet.hour < self.config.episode_hours;
        let room = self.mitigations_this_hour < self.config.max_mitigations_per_hour;
        for (h, host) in fleet.hosts.iter().enumerate() {
            let can = open && room && host.in_service() && !host.control;
            self.mask[3 * h] = can && host.blocked_hours == 0;
            self.mask[3 * h + 1] = can && !host.rebooted_this_hour;
            self.mask[3 * h + 2] = can;
        }
        self.mask[3 * fleet.hosts.len()] = open;
        self.view.next_fault = fleet
            .hosts
            .iter()
            .map(|h| {
                h.next_fault(fleet.hour)
                    .map(|f| (f.fails_at.saturating_sub(fleet.hour), f.kind))
            })
            .collect();
    }

    fn observation(&self) -> RiskObs {
        let Some(fleet) = &self.fleet else {
            return RiskObs {
                hour: 0,
                mitigations_left: 0,
                hosts: Arc::new(Vec::new()),
            };
        };
        let hosts = fleet
            .hosts
            .iter()
            .map(|h| {
                let features = h.features();
                HostView {
                    features,
                    risk: if h.in_service() {
                        self.risk(&features)
                    } else {
                        0.0
                    },
                    vms: h.vms,
                    blocked_hours: h.blocked_hours,
                    in_repair: !h.in_service(),
                    control: h.control,
                    rebooted_this_hour: h.rebooted_this_hour,
                    since_mitigation: h.last_mitigation.map(|t| fleet.hour - t),
                    interruption_vm_min: h.interruption_vm_min,
                    mitigation_cost: h.mitigation_cost,
                }
            })
            .collect();
        RiskObs {
            hour: fleet.hour,
            mitigations_left: self
                .config
                .max_mitigations_per_hour
                .saturating_sub(self.mitigations_this_hour),
            hosts: Arc::new(hosts),
        }
    }

    fn info(&self) -> Info {
        let o = self.fleet.as_ref().map(|f| f.outcome).unwrap_or_default();
        Info {
            values: vec![
                o.interruption_vm_min + o.mitigation_cost,
                o.interruption_vm_min,
                o.mitigation_cost,
                f64::from(o.failures),
                f64::from(o.vms_interrupted),
                f64::from(o.averted),
                f64::from(o.mitigations),
                f64::from(o.needless),
            ],
        }
    }
}

impl Scenario for RiskScenario {
    type Obs = RiskObs;
    type OracleView = RiskOracleView;

    fn name(&self) -> &'static str {
        "risk"
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
        let fleet = self.fleet.as_ref().ok_or(EnvError::NotReset)?;
        Ok(scene::scene(self, fleet))
    }

    fn reset(&mut self, seed: u64) -> RiskObs {
        self.fleet = Some(Fleet::new(&self.config, seed));
        self.mitigations_this_hour = 0;
        self.update();
        self.observation()
    }

    fn step(&mut self, action: &Action) -> Result<Transition<RiskObs>, EnvError> {
        let fleet = self.fleet.as_ref().ok_or(EnvError::NotReset)?;
        if fleet.hour >= self.config.episode_hours {
            return Err(EnvError::EpisodeOver);
        }
        self.check_action(action)?;
        let Action::Discrete(choice) = *action else {
            unreachable!("check_action accepts only discrete actions for a discrete space")
        };
        let config = &self.config;
        let Some(fleet) = self.fleet.as_mut() else {
            return Err(EnvError::NotReset);
        };
        let before = fleet.outcome.interruption_vm_min + fleet.outcome.mitigation_cost;
        if choice == 3 * config.hosts {
            fleet.advance(config);
            self.mitigations_this_hour = 0;
        } else {
            fleet.mitigate(config, choice / 3, Mitigation::ALL[choice % 3]);
            self.mitigations_this_hour += 1;
        }
        let after = fleet.outcome.interruption_vm_min + fleet.outcome.mitigation_cost;
        let terminated = fleet.hour >= config.episode_hours;
        self.update();
        Ok(Transition {
            obs: self.observation(),
            reward: before - after,
            terminated,
            truncated: false,
            info: self.info(),
        })
    }

    fn encode(&self, obs: &RiskObs, out: &mut [f32]) {
        out.fill(0.0);
        let hosts = obs.hosts.len();
        let in_service: Vec<&HostView> = obs.hosts.iter().filter(|h| !h.in_repair).collect();
        let mean_risk = if in_service.is_empty() {
            0.0
        } else {
            in_service.iter().map(|h| h.risk).sum::<f64>() / in_service.len() as f64
        };
        let max = self.config.max_mitigations_per_hour.max(1) as f64;
        let global = [
            obs.hour as f64 / self.config.episode_hours as f64,
            obs.mitigations_left as f64 / max,
            mean_risk,
            (hosts - in_service.len()) as f64 / hosts.max(1) as f64,
        ];
        for (o, v) in out.iter_mut().zip(global) {
            *o = v as f32;
        }
        let g = GLOBAL_FEATURES.len();
        let f = ROW_FEATURES.len();
        let rows = 3 * hosts + 1;
        let capacity = f64::from(self.config.vms.capacity);
        for (h, host) in obs.hosts.iter().enumerate() {
            let mut row = [0.0f64; ROW_FEATURES.len()];
            row[..PREDICTOR_FEATURES].copy_from_slice(&host.features);
            row[8] = host.risk;
            row[9] = f64::from(host.vms) / capacity;
            row[10] = f64::from(u8::from(host.blocked_hours > 0));
            row[11] = f64::from(u8::from(host.in_repair));
            row[12] = f64::from(u8::from(host.control));
            row[13] = host
                .since_mitigation
                .map_or(168.0, |s| (s as f64).min(168.0));
            for m in 0..3 {
                row[14 + m] = 1.0;
                let at = g + (3 * h + m) * f;
                for (k, (o, v)) in out[at..at + f].iter_mut().zip(row).enumerate() {
                    *o = (v / f64::from(ROW_FEATURES[k].2)) as f32;
                }
                row[14 + m] = 0.0;
            }
        }
        out[g + (rows - 1) * f + f - 1] = 1.0;
        for o in &mut out[g + rows * f..g + rows * f + rows] {
            *o = 1.0;
        }
    }

    fn oracle_view(&self) -> &RiskOracleView {
        &self.view
    }

    fn entity_labels(&self, obs: &RiskObs) -> Vec<String> {
        let mut labels: Vec<String> = (0..obs.hosts.len())
            .flat_map(|h| Mitigation::ALL.map(|m| format!("host {h} {}", m.name())))
            .collect();
        labels.push("let the hour pass".into());
        labels
    }
}

fn feature_spec(rows: usize) -> FeatureSpec {
    let named = |list: &[(&str, &str, f32)]| {
        list.iter()
            .map(|(name, unit, scale)| Feature::new(*name, *unit, *scale))
            .collect::<Vec<_>>()
    };
    FeatureSpec {
        scenario: "risk".into(),
        layout: Layout::Entity {
            global: named(&GLOBAL_FEATURES),
            entity: named(&ROW_FEATURES),
            entities: rows,
        },
    }
}
