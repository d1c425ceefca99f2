//! Host failure within the horizon (12 hours by default) on the `risk` scenario's fleet, from
//! the host's telemetry: weeks of the simulated fleet, one row per host-hour in service. Also
//! the weeks that the censoring experiment ([`super::censoring`]) logs under a mitigating
//! policy, where what is observed and what is true differ.

use super::dataset::Dataset;
use crate::Policy;
use planetgym_env::risk::LabelledRow;
use planetgym_env::risk::fleet::FEATURES;
use planetgym_env::rng::{derive_seed, training_half};
use planetgym_env::{RiskScenario, Scenario};

const HOUR_S: f64 = 3600.0;

/// One simulated week: its labelled host-hours and its failures (host, hour).
#[derive(Debug, Clone)]
pub struct Week {
    pub rows: Vec<LabelledRow>,
    pub failures: Vec<(usize, usize)>,
    /// The episode's final metrics (the scenario's `metric_names` order).
    pub info: Vec<f64>,
}

/// Runs `policy` over `weeks` episodes of `env` whose seeds come from `tag` in the training
/// half (never an evaluation's).
pub fn simulate(
    env: &RiskScenario,
    policy: &mut dyn Policy<RiskScenario>,
    weeks: usize,
    tag: u64,
) -> Result<Vec<Week>, String> {
    (0..weeks)
        .map(|w| week(env, policy, training_half(derive_seed(tag, &[w as u64]))))
        .collect()
}

/// One episode of `env` from `seed` with `policy`.
pub fn week(
    env: &RiskScenario,
    policy: &mut dyn Policy<RiskScenario>,
    seed: u64,
) -> Result<Week, String> {
    let mut env = env.clone();
    policy.reset(seed);
    let mut obs = env.reset(seed);
    loop {
        let action = policy
            .act(&obs, env.action_mask())
            .map_err(|e| e.to_string())?;
        let t = env.step(&action).map_err(|e| e.to_string())?;
        obs = t.obs;
        if t.terminated || t.truncated {
            return Ok(Week {
                rows: env.labelled_rows(),
                failures: env.failures(),
                info: t.info.values,
            });
        }
    }
}

/// The rows of `weeks` (consecutive in time: week `w` starts at `w x episode_hours`) labelled
/// by `label` (None leaves a row out), known `horizon_hours` after they are made. Onsets: each
/// failure with the rows of its host in the horizon before it.
pub fn dataset(
    task: &str,
    weeks: &[Week],
    episode_hours: usize,
    horizon_hours: usize,
    label: impl Fn(&LabelledRow) -> Option<bool>,
) -> Result<Dataset, String> {
    let mut data = Dataset::new(task, &FEATURES);
    // A row's entity for sequence models: its host's week (each week is its own episode).
    let mut keys = Vec::new();
    let hosts = weeks
        .iter()
        .flat_map(|w| w.rows.iter().map(|r| r.host + 1))
        .max()
        .unwrap_or(0);
    for (w, week) in weeks.iter().enumerate() {
        let start = data.rows();
        let mut kept = Vec::with_capacity(week.rows.len());
        for r in &week.rows {
            let Some(y) = label(r) else { continue };
            let at = ((w * episode_hours + r.hour) as f64) * HOUR_S;
            let values = r.features.map(f64::from);
            data.push(&values, y, at, at + horizon_hours as f64 * HOUR_S, false)?;
            keys.push((w * hosts + r.host) as u64);
            kept.push((r.host, r.hour));
        }
        for &(host, hour) in &week.failures {
            let before: Vec<(f64, usize)> = kept
                .iter()
                .enumerate()
                .filter(|(_, (h, t))| *h == host && *t <= hour && hour < *t + horizon_hours)
                .map(|(k, (_, t))| (((hour - t) * 60) as f64, start + k))
                .collect();
            if !before.is_empty() {
                data.onsets.push(before);
            }
        }
    }
    data.set_sequences(&keys, WINDOW_HOURS, &[0, 1, 2, 3], HOUR_S)?;
    Ok(data)
}

/// Sequence models read the signals' levels over the last 12 hours.
const WINDOW_HOURS: usize = 12;

/// Weeks of the default fleet left alone: every fault fails its host, so what is observed is
/// the truth.
pub const TASK_WEEKS: usize = 30;

/// The `fleet-failure` task: `TASK_WEEKS` unmitigated weeks of the default fleet.
pub fn fleet_failure() -> Result<Dataset, String> {
    use planetgym_env::ScenarioConfig;
    let config = planetgym_env::RiskConfig::builtin_default();
    let (hours, horizon) = (config.episode_hours, config.horizon_hours);
    let env = RiskScenario::new(config).map_err(|e| e.to_string())?;
    let weeks = simulate(
        &env,
        &mut crate::classic::risk::LeaveAlone,
        TASK_WEEKS,
        0xF1EE7,
    )?;
    let mut data = dataset("fleet-failure", &weeks, hours, horizon, |r| Some(r.truth))?;
    data.notes.push(format!(
        "{TASK_WEEKS} simulated weeks of the default risk fleet, left alone (observed = true labels)"
    ));
    Ok(data)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::risk::dataset::temporal_split;

    /// Rows run in time order across weeks, every failure has rows before it, and the
    /// temporal split keeps the test weeks after every training label is known.
    #[test]
    fn weeks_are_consecutive_and_the_split_does_not_leak() {
        let data = fleet_failure().unwrap();
        assert!(data.at.windows(2).all(|w| w[0] <= w[1]));
        assert!(data.y.iter().filter(|&&y| y).count() > 100);
        assert!(!data.onsets.is_empty());
        let split = temporal_split(&data, [0.6, 0.2]).unwrap();
        let train_known = split
            .train
            .iter()
            .map(|&i| data.known[i])
            .fold(0.0, f64::max);
        let test_from = split
            .test
            .iter()
            .map(|&i| data.at[i])
            .fold(f64::MAX, f64::min);
        assert!(train_known <= test_from, "{train_known} > {test_from}");
    }
}
