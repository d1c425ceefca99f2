//! Configuration of the batch scenario. The documented defaults live in `default.toml`.

use crate::bounds;
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
    pub time_scale: [f64; 2],
    pub lenient: bool,
    pub window_jobs: usize,
    pub visible_jobs: usize,
    pub observe_start: bool,
    pub observe_log: bool,
    pub backfill: bool,
    pub bounded_slowdown_threshold_s: f64,
    pub reward: RewardMetric,
    pub reward_per_job: bool,
    pub compat: Convention,
    pub window_draw: Convention,
    pub simulator: Convention,
    pub f1_submit_time: Convention,
    pub priority_wait: Convention,
}

/// Whose convention a part of the protocol follows: planetgym's model, or RLScheduler's code
/// (to reproduce its published numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Convention {
    Planetgym,
    Rlscheduler,
}

impl BatchConfig {
    /// `part`, unless `compat = "rlscheduler"` sets every part to RLScheduler's.
    fn part(&self, part: Convention) -> Convention {
        match self.compat {
            Convention::Rlscheduler => Convention::Rlscheduler,
            Convention::Planetgym => part,
        }
    }

    pub fn window_draw(&self) -> Convention {
        self.part(self.window_draw)
    }

    pub fn simulator(&self) -> Convention {
        self.part(self.simulator)
    }

    pub fn f1_submit_time(&self) -> Convention {
        self.part(self.f1_submit_time)
    }

    pub fn priority_wait(&self) -> Convention {
        self.part(self.priority_wait)
    }
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

impl RewardMetric {
    /// Whether the metric is a mean over the window's jobs, so that each job's share can be
    /// given when it starts.
    pub fn is_per_job_average(self) -> bool {
        matches!(self, Self::BoundedSlowdown | Self::Wait | Self::Turnaround)
    }
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self::builtin_default()
    }
}

impl ScenarioConfig for BatchConfig {
    fn rebase_paths(table: &mut toml::Table, base: &std::path::Path) {
        crate::config::map_strings(table, "trace", &|p| crate::config::rebased(p, base));
    }

    const DEFAULT_TOML: &'static str = DEFAULT_TOML;

    fn validate(&self) -> Result<(), String> {
        bounds::count(
            "window_jobs",
            self.window_jobs as u64,
            1,
            10_000_000,
            "an episode simulates every job of its window",
        )?;
        // Every decision encodes and scores each visible job: RLScheduler uses 128.
        bounds::count(
            "visible_jobs",
            self.visible_jobs as u64,
            1,
            4_096,
            "each decision encodes and scores every visible job",
        )?;
        bounds::count(
            "processors",
            u64::from(self.processors),
            0,
            10_000_000,
            "far beyond any machine in the Parallel Workloads Archive",
        )?;
        bounds::within("load_scale", self.load_scale, 0.01, 100.0)?;
        // Scaled run times stay whole seconds of an i64 clock far below overflow.
        bounds::range_pair("time_scale", self.time_scale, 0.01, 100.0)?;
        bounds::positive_at_most(
            "bounded_slowdown_threshold_s",
            self.bounded_slowdown_threshold_s,
            86_400.0,
        )?;
        if self.reward_per_job && !self.reward.is_per_job_average() {
            return Err(format!(
                "reward_per_job = true needs a reward that averages over jobs (bounded_slowdown, wait or turnaround), not {:?}",
                self.reward
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
