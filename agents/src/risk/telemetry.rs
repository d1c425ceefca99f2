//! SLO breach within a horizon, on per-site telemetry of the `traffic` world: days of traffic
//! routed by greedy spill-over, with site failures (full and partial) and the overloads they and
//! demand peaks cause. Telemetry per site and 5-minute interval: utilisation, available
//! capacity, error rate and latency. Failures are preceded by precursors in that telemetry
//! (rising errors and latency, a small capacity loss), and precursor-like bursts also come
//! without any failure, so that a predictor must weigh them.
//!
//! The precursors are an observation model on top of the simulated world: the router does not
//! see them and they change nothing it does. A row is a (site, interval) not in breach; its
//! label says whether the site breaches (overloaded: utilisation of at least 1, or less than
//! half its capacity available) within the horizon. The label is known when the horizon ends.

use super::dataset::Dataset;
use crate::Policy;
use crate::classic::traffic::GreedySpillover;
use planetgym_env::rng::{Rng, derive_seed};
use planetgym_env::traffic::{TrafficConfig, TrafficScenario};
use planetgym_env::{Scenario, ScenarioConfig};

/// The traffic world the telemetry comes from: 5-minute intervals, a day per episode, and far
/// more site failures than the default (2 per site per day) so that breaches are not rare.
const WORLD: &str =
    "interval_s = 300.0\nepisode_intervals = 288\n[failures]\nsite_failures_per_day = 2.0\n";
const INTERVAL_MIN: f64 = 5.0;

/// How precursors look and how often they lie.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Precursors {
    /// A failure's precursor starts this long before it, on average (minutes; 0.5x to 1.5x).
    pub lead_minutes: f64,
    /// Share of failures preceded by a precursor.
    pub probability: f64,
    /// Precursor-like bursts per site per day with no failure after them.
    pub false_per_site_day: f64,
}

impl Default for Precursors {
    fn default() -> Self {
        Self {
            lead_minutes: 30.0,
            probability: 0.7,
            false_per_site_day: 1.0,
        }
    }
}

/// Sequence models read the last hour (12 intervals) of utilisation, available capacity, error
/// rate and latency.
const WINDOW: usize = 12;
const WINDOW_CHANNELS: [usize; 4] = [0, 3, 5, 8];

pub const TELEMETRY_FEATURES: [&str; 13] = [
    "utilisation",
    "utilisation_mean_15m",
    "utilisation_change_15m",
    "available_capacity",
    "available_capacity_min_15m",
    "error_rate_pct",
    "error_rate_mean_15m",
    "error_rate_change_15m",
    "latency_ms",
    "latency_change_15m",
    "breaches_so_far",
    "hour_cos",
    "hour_sin",
];

/// One site's telemetry over a day, per interval.
#[derive(Debug, Clone, Default)]
struct Series {
    utilisation: Vec<f64>,
    available: Vec<f64>,
    errors: Vec<f64>,
    latency: Vec<f64>,
    breach: Vec<bool>,
}

/// The SLO-breach task over `days` days (each its own seeded traffic episode), predicting
/// `horizon_minutes` ahead, with the rows before every breach onset (`Dataset::onsets`).
pub fn slo_breach(
    days: usize,
    horizon_minutes: f64,
    precursors: Precursors,
    seed: u64,
) -> Result<Dataset, String> {
    planetgym_env::bounds::count("days", days as u64, 3, 365, "a simulated day each")?;
    planetgym_env::bounds::within(
        "horizon_minutes",
        horizon_minutes,
        INTERVAL_MIN,
        24.0 * 60.0,
    )?;
    let horizon = (horizon_minutes / INTERVAL_MIN).round() as usize;
    let config =
        TrafficConfig::from_toml(WORLD, "the slo-breach world").map_err(|e| e.to_string())?;
    let name = format!("slo-breach-{horizon_minutes}m");
    let mut data = Dataset::new(&name, &TELEMETRY_FEATURES);
    // A row's entity for sequence models: its site's day (each day is its own episode).
    let mut keys: Vec<u64> = Vec::new();
    for day in 0..days {
        let day_seed = derive_seed(seed, &[day as u64]);
        let series = simulate(&config, day_seed)?;
        let mut rng = Rng::new(derive_seed(day_seed, &[1]));
        let series: Vec<Series> = series
            .into_iter()
            .map(|s| observe(s, &precursors, &mut rng))
            .collect();
        for (site, s) in series.iter().enumerate() {
            append_rows(&mut data, s, day, horizon)?;
            keys.resize(data.rows(), (day * series.len() + site) as u64);
        }
    }
    data.set_sequences(&keys, WINDOW, &WINDOW_CHANNELS, INTERVAL_MIN * 60.0)?;
    Ok(data)
}

/// A day of the traffic world: per site, utilisation, available capacity and breaches.
fn simulate(config: &TrafficConfig, seed: u64) -> Result<Vec<Series>, String> {
    let mut world = TrafficScenario::new(config.clone()).map_err(|e| e.to_string())?;
    let mut router = GreedySpillover {
        target_utilisation: 0.8,
    };
    let mut obs = world.reset(seed);
    let mut series = vec![Series::default(); obs.sites()];
    loop {
        let action = router.act(&obs, None).map_err(|e| e.to_string())?;
        let step = world.step(&action).map_err(|e| e.to_string())?;
        obs = step.obs;
        for (s, site) in series.iter_mut().enumerate() {
            let utilisation = obs.utilisation[s].min(10.0);
            site.utilisation.push(utilisation);
            site.available.push(obs.health[s]);
            site.breach.push(utilisation >= 1.0 || obs.health[s] < 0.5);
        }
        if step.terminated || step.truncated {
            break;
        }
    }
    Ok(series)
}

/// Adds the telemetry signals: errors and latency from load, precursors before failures (a
/// drop of available capacity below 1), and false bursts.
fn observe(mut s: Series, p: &Precursors, rng: &mut Rng) -> Series {
    let n = s.utilisation.len();
    // Precursor strength per interval, from 0 to 1 as the failure nears.
    let mut ramp = vec![0.0f64; n];
    let burst = |start: usize, length: usize, ramp: &mut [f64]| {
        for k in 0..length {
            if let Some(r) = ramp.get_mut(start + k) {
                *r = r.max((k + 1) as f64 / length as f64);
            }
        }
    };
    for t in 1..n {
        let fails = s.available[t] < 1.0 && s.available[t - 1] >= 1.0;
        if fails && rng.uniform() < p.probability {
            let minutes = p.lead_minutes * rng.uniform_in(0.5, 1.5);
            let length = ((minutes / INTERVAL_MIN).round() as usize).max(1);
            burst(t.saturating_sub(length), length.min(t), &mut ramp);
        }
    }
    let per_interval = p.false_per_site_day * INTERVAL_MIN / (24.0 * 60.0);
    for t in 0..n {
        if rng.uniform() < per_interval {
            let minutes = p.lead_minutes * rng.uniform_in(0.5, 1.5);
            burst(
                t,
                ((minutes / INTERVAL_MIN).round() as usize).max(1),
                &mut ramp,
            );
        }
    }
    let noise = |rng: &mut Rng, sigma: f64| (sigma * rng.normal()).exp();
    for ((&u, available), &r) in s.utilisation.iter().zip(&mut s.available).zip(&ramp) {
        let base_errors = 0.05 + 2.0 * (u - 0.9).max(0.0);
        s.errors.push((base_errors + 1.5 * r) * noise(rng, 0.3));
        s.latency
            .push((40.0 * (1.0 + u.min(2.0).powi(4)) + 30.0 * r) * noise(rng, 0.1));
        *available = (*available - 0.1 * r).max(0.0);
    }
    s
}

/// Rows of one site's day: every interval not in breach, with a label for the horizon.
fn append_rows(data: &mut Dataset, s: &Series, day: usize, horizon: usize) -> Result<(), String> {
    let n = s.utilisation.len();
    let minutes = |t: usize| day as f64 * 1440.0 + t as f64 * INTERVAL_MIN;
    let back = |t: usize| t.saturating_sub(3);
    let mean = |v: &[f64], t: usize| {
        let w = &v[back(t)..=t];
        w.iter().sum::<f64>() / w.len() as f64
    };
    let onset = |k: usize| s.breach[k] && (k == 0 || !s.breach[k - 1]);
    let mut first_row = vec![usize::MAX; n];
    // Onsets seen by the end of the previous interval.
    let mut breaches = 0.0;
    for (t, first) in first_row
        .iter_mut()
        .enumerate()
        .take(n.saturating_sub(horizon))
    {
        if t > 0 && onset(t - 1) {
            breaches += 1.0;
        }
        if s.breach[t] {
            continue;
        }
        let label = s.breach[t + 1..=t + horizon].iter().any(|&b| b);
        let hour = (t as f64 * INTERVAL_MIN / 60.0) / 24.0 * std::f64::consts::TAU;
        let values = [
            s.utilisation[t],
            mean(&s.utilisation, t),
            s.utilisation[t] - s.utilisation[back(t)],
            s.available[t],
            s.available[back(t)..=t]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min),
            s.errors[t],
            mean(&s.errors, t),
            s.errors[t] - s.errors[back(t)],
            s.latency[t],
            s.latency[t] - s.latency[back(t)],
            breaches,
            hour.cos(),
            hour.sin(),
        ];
        *first = data.rows();
        let at = minutes(t) * 60.0;
        data.push(
            &values,
            label,
            at,
            at + horizon as f64 * INTERVAL_MIN * 60.0,
            false,
        )?;
    }
    // Each onset's rows in the horizon before it, with their lead.
    for t0 in 1..n {
        if onset(t0) {
            // Only rows after the previous breach: an alarm for that one is no warning of this.
            let clear = (0..t0).rev().find(|&k| s.breach[k]).map_or(0, |k| k + 1);
            let rows = (t0.saturating_sub(horizon).max(clear)..t0)
                .filter(|&t| first_row[t] != usize::MAX)
                .map(|t| ((t0 - t) as f64 * INTERVAL_MIN, first_row[t]))
                .collect::<Vec<_>>();
            if !rows.is_empty() {
                data.onsets.push(rows);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaches_are_predicted_ahead_and_precursors_show_before_failures() {
        let d = slo_breach(3, 30.0, Precursors::default(), 4).unwrap();
        let failures = d.y.iter().filter(|&&y| y).count();
        assert!(
            failures > 20 && failures < d.rows() / 2,
            "{failures} of {}",
            d.rows()
        );
        // Rows are 5 minutes apart within a site's day; labels are known a horizon later.
        assert!(d.known.iter().zip(&d.at).all(|(k, a)| k - a == 1800.0));
        // Every onset's rows lie within the horizon before it.
        assert!(!d.onsets.is_empty());
        assert!(
            d.onsets
                .iter()
                .flatten()
                .all(|&(lead, r)| (5.0..=30.0).contains(&lead) && d.y[r])
        );
        // With precursors, errors run higher before a breach than elsewhere; without, not.
        let errors = |d: &Dataset, label: bool| {
            let rows: Vec<usize> = (0..d.rows()).filter(|&r| d.y[r] == label).collect();
            rows.iter().map(|&r| d.row(r)[5]).sum::<f64>() / rows.len() as f64
        };
        assert!(errors(&d, true) > 2.0 * errors(&d, false));
        let silent = Precursors {
            probability: 0.0,
            false_per_site_day: 0.0,
            ..Precursors::default()
        };
        let quiet = slo_breach(3, 30.0, silent, 4).unwrap();
        assert_eq!(
            quiet.y, d.y,
            "precursors change what is observed, not what happens"
        );
        assert!(errors(&quiet, true) < errors(&d, true));
        assert_eq!(d, slo_breach(3, 30.0, Precursors::default(), 4).unwrap());
        assert!(
            slo_breach(2, 30.0, Precursors::default(), 4)
                .unwrap_err()
                .contains("days")
        );
    }
}
