//! Configuration of the batch scenario. The documented defaults live in `default.toml`.

use crate::config::ScenarioConfig;
use serde::Deserialize;

/// The built-in default config, with a comment on every field.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    pub trace: String,
    pub processors: u32,
    pub load_scale: f64,
    pub lenient: bool,
    pub window_jobs: usize,
    pub visible_jobs: usize,
    pub backfill: bool,
    pub bounded_slowdown_threshold_s: f64,
    pub reward: RewardMetric,
}

/// The episode metric the reward optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardMetric {
    BoundedSlowdown,
    Wait,
    Turnaround,
    Utilisation,
    Makespan,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self::builtin_default()
    }
}

impl ScenarioConfig for BatchConfig {
    const DEFAULT_TOML: &'static str = DEFAULT_TOML;

    fn validate(&self) -> Result<(), String> {
        if self.window_jobs == 0 {
            return Err("window_jobs = 0: must be at least 1".into());
        }
        if self.visible_jobs == 0 {
            return Err("visible_jobs = 0: must be at least 1".into());
        }
        let l = self.load_scale;
        if !(l.is_finite() && (0.01..=100.0).contains(&l)) {
            return Err(format!("load_scale = {l}: must be in [0.01, 100]"));
        }
        let t = self.bounded_slowdown_threshold_s;
        if !(t.is_finite() && t > 0.0) {
            return Err(format!(
                "bounded_slowdown_threshold_s = {t}: must be a positive finite number"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_errors() {
        let c = BatchConfig::default();
        assert_eq!(
            (c.window_jobs, c.visible_jobs, c.backfill),
            (256, 128, false)
        );
        let err = BatchConfig::from_toml("window_jobs = 0", "b.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config error: b.toml: window_jobs = 0: must be at least 1"
        );
        let err = BatchConfig::from_toml("reward = \"speed\"", "b.toml").unwrap_err();
        assert!(err.to_string().contains("unknown variant `speed`"), "{err}");
        let err = BatchConfig::from_toml("processors = -3", "b.toml").unwrap_err();
        assert!(err.to_string().contains("b.toml"), "{err}");
    }
}
