//! Configuration of the risk scenario. The documented defaults live in `default.toml`.

use crate::bounds::{count, positive_at_most, weight, within};
use crate::config::ScenarioConfig;
use serde::Deserialize;

/// The built-in default config, with a comment on every field.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// Telemetry features per host that the risk score reads (see [`super::fleet::FEATURES`]).
pub const PREDICTOR_FEATURES: usize = 8;
/// At most this many host-hours per episode: the episode's log (features and outcomes per
/// host-hour, for labels) grows with it.
pub const MAX_HOST_HOURS: u64 = 2_000_000;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    pub hosts: usize,
    pub episode_hours: usize,
    pub max_mitigations_per_hour: usize,
    pub control_share: f64,
    pub horizon_hours: usize,
    pub vms: VmConfig,
    pub faults: FaultConfig,
    pub telemetry: TelemetryConfig,
    pub impact: ImpactConfig,
    pub cost: CostConfig,
    pub predictor: PredictorConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmConfig {
    pub mean_per_host: f64,
    pub capacity: u32,
    pub mean_lifetime_hours: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    pub per_host_week: f64,
    pub soft_share: f64,
    pub announced_share: f64,
    pub lead_hours: f64,
    pub false_alarms_per_host_week: f64,
    pub false_alarm_hours: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    pub host_offset_sd: f64,
    pub noise_sd: f64,
    pub drift: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpactConfig {
    pub failure_minutes: f64,
    pub reboot_minutes: f64,
    pub migration_blackout_minutes: f64,
    pub repair_hours: usize,
    pub block_hours: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    pub block_per_hour: f64,
    pub reboot: f64,
    pub migration_per_vm: f64,
    pub repair: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictorConfig {
    pub weights: Vec<f64>,
    pub bias: f64,
}

impl ScenarioConfig for RiskConfig {
    const DEFAULT_TOML: &'static str = DEFAULT_TOML;

    fn validate(&self) -> Result<(), String> {
        const WEEK_H: f64 = 168.0;
        const YEAR_H: u64 = 8784;
        count(
            "hosts",
            self.hosts as u64,
            1,
            4096,
            "entity rows grow 3 per host",
        )?;
        count(
            "episode_hours",
            self.episode_hours as u64,
            1,
            YEAR_H,
            "a year",
        )?;
        count(
            "hosts x episode_hours",
            (self.hosts * self.episode_hours) as u64,
            1,
            MAX_HOST_HOURS,
            "the episode's log keeps every host-hour",
        )?;
        count(
            "max_mitigations_per_hour",
            self.max_mitigations_per_hour as u64,
            0,
            3 * self.hosts as u64,
            "three mitigations per host",
        )?;
        within("control_share", self.control_share, 0.0, 1.0)?;
        count(
            "horizon_hours",
            self.horizon_hours as u64,
            1,
            720,
            "30 days",
        )?;
        let v = &self.vms;
        count(
            "vms.capacity",
            u64::from(v.capacity),
            1,
            700,
            "VMs per host; the churn draws lose precision beyond",
        )?;
        within(
            "vms.mean_per_host",
            v.mean_per_host,
            0.0,
            f64::from(v.capacity),
        )?;
        within(
            "vms.mean_lifetime_hours",
            v.mean_lifetime_hours,
            1.0,
            8784.0,
        )?;
        let f = &self.faults;
        within("faults.per_host_week", f.per_host_week, 0.0, 50.0)?;
        within("faults.soft_share", f.soft_share, 0.0, 1.0)?;
        within("faults.announced_share", f.announced_share, 0.0, 1.0)?;
        positive_at_most("faults.lead_hours", f.lead_hours, 720.0)?;
        within(
            "faults.false_alarms_per_host_week",
            f.false_alarms_per_host_week,
            0.0,
            50.0,
        )?;
        positive_at_most("faults.false_alarm_hours", f.false_alarm_hours, 720.0)?;
        if f.per_host_week / WEEK_H * f.lead_hours > 10.0 {
            return Err(
                "faults.per_host_week x faults.lead_hours: faults would overlap \
                        (at most 10 announced per host at once)"
                    .into(),
            );
        }
        let t = &self.telemetry;
        within("telemetry.host_offset_sd", t.host_offset_sd, 0.0, 10.0)?;
        within("telemetry.noise_sd", t.noise_sd, 0.0, 10.0)?;
        within("telemetry.drift", t.drift, 0.0, 100.0)?;
        let i = &self.impact;
        within("impact.failure_minutes", i.failure_minutes, 0.0, 10_000.0)?;
        within("impact.reboot_minutes", i.reboot_minutes, 0.0, 10_000.0)?;
        within(
            "impact.migration_blackout_minutes",
            i.migration_blackout_minutes,
            0.0,
            10_000.0,
        )?;
        count(
            "impact.repair_hours",
            i.repair_hours as u64,
            1,
            YEAR_H,
            "a year",
        )?;
        count(
            "impact.block_hours",
            i.block_hours as u64,
            1,
            YEAR_H,
            "a year",
        )?;
        let c = &self.cost;
        weight("cost.block_per_hour", c.block_per_hour)?;
        weight("cost.reboot", c.reboot)?;
        weight("cost.migration_per_vm", c.migration_per_vm)?;
        weight("cost.repair", c.repair)?;
        let p = &self.predictor;
        if p.weights.len() != PREDICTOR_FEATURES {
            return Err(format!(
                "predictor.weights has {} values: need {PREDICTOR_FEATURES}, one per feature",
                p.weights.len()
            ));
        }
        for (k, w) in p.weights.iter().enumerate() {
            within(&format!("predictor.weights[{k}]"), *w, -1e3, 1e3)?;
        }
        within("predictor.bias", p.bias, -1e3, 1e3)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn default_parses_and_bad_fields_are_named() {
        RiskConfig::builtin_default();
        for (text, field) in [
            ("hosts = 0", "hosts"),
            (
                "hosts = 4000\nepisode_hours = 8000",
                "hosts x episode_hours",
            ),
            ("control_share = 1.5", "control_share"),
            ("[vms]\nmean_per_host = 30.0", "vms.mean_per_host"),
            ("[vms]\ncapacity = 5000", "vms.capacity"),
            (
                "[vms]\nmean_lifetime_hours = 0.01",
                "vms.mean_lifetime_hours",
            ),
            ("[faults]\nlead_hours = nan", "faults.lead_hours"),
            ("[predictor]\nweights = [1.0]", "predictor.weights"),
            (
                "max_mitigations_per_hour = 1000",
                "max_mitigations_per_hour",
            ),
        ] {
            let err = RiskConfig::from_toml(text, "test").unwrap_err().to_string();
            assert!(err.contains(field), "{text}: {err}");
        }
    }
}
