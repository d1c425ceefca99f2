//! Configuration of the placement scenario. The documented defaults live in `default.toml`.

use crate::config::ScenarioConfig;
use serde::Deserialize;

/// The built-in default config, with a comment on every field.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementConfig {
    pub nodes: String,
    pub pods: String,
    pub synthetic_nodes: usize,
    pub synthetic_seed: u64,
    pub mode: ArrivalMode,
    pub inflation_target: f64,
    pub replay_pods: usize,
    pub gpu_selection: GpuSelection,
    pub typical_coverage: f64,
    pub reward: PlacementReward,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArrivalMode {
    Inflation,
    Replay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GpuSelection {
    Best,
    Fgd,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementReward {
    pub allocation_weight: f64,
    pub fragmentation_weight: f64,
    pub failure_weight: f64,
}

impl Default for PlacementConfig {
    fn default() -> Self {
        Self::builtin_default()
    }
}

impl ScenarioConfig for PlacementConfig {
    const DEFAULT_TOML: &'static str = DEFAULT_TOML;

    fn validate(&self) -> Result<(), String> {
        let t = self.inflation_target;
        if !(t.is_finite() && t > 0.0 && t <= 10.0) {
            return Err(format!("inflation_target = {t}: must be in (0, 10]"));
        }
        let c = self.typical_coverage;
        if !(c > 0.0 && c <= 1.0) {
            return Err(format!("typical_coverage = {c}: must be in (0, 1]"));
        }
        let r = &self.reward;
        for (name, w) in [
            ("reward.allocation_weight", r.allocation_weight),
            ("reward.fragmentation_weight", r.fragmentation_weight),
            ("reward.failure_weight", r.failure_weight),
        ] {
            if !(w.is_finite() && w >= 0.0) {
                return Err(format!(
                    "{name} = {w}: must be a non-negative finite number"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_errors() {
        let c = PlacementConfig::default();
        assert_eq!(
            (c.mode, c.gpu_selection, c.inflation_target),
            (ArrivalMode::Inflation, GpuSelection::Best, 1.3)
        );
        let err = PlacementConfig::from_toml("typical_coverage = 0", "p.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config error: p.toml: typical_coverage = 0: must be in (0, 1]"
        );
        let err = PlacementConfig::from_toml("mode = \"chaos\"", "p.toml").unwrap_err();
        assert!(err.to_string().contains("unknown variant `chaos`"), "{err}");
    }
}
