//! Configuration of the placement scenario. The documented defaults live in `default.toml`.

use crate::bounds;
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
    pub observe_growth: bool,
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
    fn rebase_paths(table: &mut toml::Table, base: &std::path::Path) {
        for key in ["nodes", "pods"] {
            crate::config::map_strings(table, key, &|p| crate::config::rebased(p, base));
        }
    }

    const DEFAULT_TOML: &'static str = DEFAULT_TOML;

    fn validate(&self) -> Result<(), String> {
        bounds::positive_at_most("inflation_target", self.inflation_target, 10.0)?;
        bounds::positive_at_most("typical_coverage", self.typical_coverage, 1.0)?;
        // Each copy holds every node's state and each observation has a row per node.
        bounds::count(
            "synthetic_nodes",
            self.synthetic_nodes as u64,
            0,
            100_000,
            "each decision encodes and scores every node",
        )?;
        let r = &self.reward;
        bounds::weight("reward.allocation_weight", r.allocation_weight)?;
        bounds::weight("reward.fragmentation_weight", r.fragmentation_weight)?;
        bounds::weight("reward.failure_weight", r.failure_weight)?;
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
            "config error: p.toml: typical_coverage = 0: must be in (0, 1] (above 0, at most 1)"
        );
        let err = PlacementConfig::from_toml("mode = \"chaos\"", "p.toml").unwrap_err();
        assert!(err.to_string().contains("unknown variant `chaos`"), "{err}");
    }
}
