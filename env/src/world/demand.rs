//! User demand per region over time: global rate x region weight x the real diurnal shape at
//! the region's local time x correlated log-normal noise x flash crowds.

use crate::bounds::{YEAR_MINUTES, positive_at_most, range_pair, within};
use crate::rng::Rng;
use crate::world::diurnal::DiurnalProfile;
use serde::Deserialize;

/// The `[demand]` table of the scenarios with user demand per region (traffic, services).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandConfig {
    pub global_rate_rps: f64,
    pub diurnal_series: String,
    pub diurnal_column: String,
    pub diurnal_gain: f64,
    pub noise_sigma: f64,
    pub noise_correlation: f64,
    pub flash_crowds_per_region_day: f64,
    pub flash_crowd_peak: [f64; 2],
    pub flash_crowd_minutes: [f64; 2],
}

impl DemandConfig {
    /// Checks every field; `interval_s` is the length of the steps demand advances by.
    pub fn validate(&self, interval_s: f64) -> Result<(), String> {
        positive_at_most("demand.global_rate_rps", self.global_rate_rps, 1e12)?;
        within("demand.diurnal_gain", self.diurnal_gain, 0.0, 100.0)?;
        within("demand.noise_sigma", self.noise_sigma, 0.0, 2.0)?;
        within(
            "demand.noise_correlation",
            self.noise_correlation,
            0.0,
            0.999,
        )?;
        // At most one expected event per target and interval: the per-interval probability
        // of an event is rate x interval / day.
        let per_interval = 86_400.0 / interval_s;
        within(
            "demand.flash_crowds_per_region_day",
            self.flash_crowds_per_region_day,
            0.0,
            per_interval,
        )?;
        range_pair("demand.flash_crowd_peak", self.flash_crowd_peak, 1.0, 100.0)?;
        range_pair(
            "demand.flash_crowd_minutes",
            self.flash_crowd_minutes,
            0.0,
            YEAR_MINUTES,
        )?;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
struct FlashCrowd {
    peak: f64,
    start: u64,
    length: u64,
}

#[derive(Debug, Clone)]
pub struct DemandModel {
    config: DemandConfig,
    profile: DiurnalProfile,
    interval_s: f64,
    /// Mean rate of each region (global rate x weight).
    base_rps: Vec<f64>,
    utc_offset_s: Vec<f64>,
    /// Log-noise state per region (AR(1)).
    noise: Vec<f64>,
    crowds: Vec<Option<FlashCrowd>>,
    /// Series time (s) of UTC midnight on the episode's first day.
    start_s: f64,
    /// Per region, the diurnal sample its last time fell after (a search hint).
    segments: Vec<usize>,
}

impl DemandModel {
    pub fn new(
        config: DemandConfig,
        profile: DiurnalProfile,
        weights: &[f64],
        utc_offset_h: &[f64],
        interval_s: f64,
    ) -> Self {
        let n = weights.len();
        Self {
            base_rps: weights.iter().map(|w| w * config.global_rate_rps).collect(),
            utc_offset_s: utc_offset_h.iter().map(|h| h * 3600.0).collect(),
            config,
            profile,
            interval_s,
            noise: vec![0.0; n],
            crowds: vec![None; n],
            start_s: 0.0,
            segments: vec![0; n],
        }
    }

    /// Starts an episode at UTC midnight of a random day of the series.
    pub fn reset(&mut self, rng: &mut Rng) {
        let days = ((self.profile.period_s() / 86_400.0).floor() as usize).max(1);
        self.start_s = rng.below(days) as f64 * 86_400.0;
        let sigma = self.config.noise_sigma;
        self.noise
            .iter_mut()
            .for_each(|x| *x = sigma * rng.normal()); // stationary start
        self.crowds.fill(None);
    }

    /// UTC time of day (hours) at the start of interval `k`.
    pub fn time_of_day_h(&self, k: u64) -> f64 {
        ((k as f64 * self.interval_s) / 3600.0).rem_euclid(24.0)
    }

    /// Mean request rate of every region during interval `k` (call with k = 0, 1, 2, ...).
    pub fn advance(&mut self, k: u64, rng: &mut Rng, out: &mut [f64]) {
        let c = &self.config;
        let t = self.start_s + (k as f64 + 0.5) * self.interval_s;
        let rho = c.noise_correlation;
        let innovation = c.noise_sigma * (1.0 - rho * rho).sqrt();
        let crowd_p = c.flash_crowds_per_region_day * self.interval_s / 86_400.0;
        let minutes_to_intervals = |m: f64| ((m * 60.0 / self.interval_s).round() as u64).max(1);
        for (r, out) in out.iter_mut().enumerate() {
            let shape = self.profile.amplified(
                t + self.utc_offset_s[r],
                c.diurnal_gain,
                &mut self.segments[r],
            );
            self.noise[r] = rho * self.noise[r] + innovation * rng.normal();
            let noise = (self.noise[r] - 0.5 * c.noise_sigma * c.noise_sigma).exp();
            if self.crowds[r]
                .as_ref()
                .is_some_and(|f| k >= f.start.saturating_add(f.length))
            {
                self.crowds[r] = None;
            }
            if self.crowds[r].is_none() && rng.uniform() < crowd_p {
                let [lo, hi] = c.flash_crowd_peak;
                let [mlo, mhi] = c.flash_crowd_minutes;
                self.crowds[r] = Some(FlashCrowd {
                    peak: rng.uniform_in(lo, hi),
                    start: k,
                    length: minutes_to_intervals(rng.uniform_in(mlo, mhi)),
                });
            }
            let crowd = self.crowds[r].as_ref().map_or(1.0, |f| {
                let progress = (k - f.start) as f64 / f.length as f64;
                1.0 + (f.peak - 1.0) * (1.0 - progress)
            });
            *out = self.base_rps[r] * shape * noise * crowd;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::config::TrafficConfig;

    fn model(mut config: DemandConfig) -> DemandModel {
        config.global_rate_rps = 1000.0;
        let profile = DiurnalProfile::load("builtin:azure_vm_v2_2019", "").unwrap();
        DemandModel::new(config, profile, &[0.5, 0.5], &[0.0, 12.0], 60.0)
    }

    #[test]
    fn opposite_time_zones_peak_at_different_utc_hours() {
        let mut config = TrafficConfig::default().demand;
        config.noise_sigma = 0.0;
        config.flash_crowds_per_region_day = 0.0;
        let mut m = model(config);
        let mut rng = Rng::new(1);
        m.reset(&mut rng);
        let mut out = [0.0; 2];
        let day: Vec<[f64; 2]> = (0..1440)
            .map(|k| {
                m.advance(k, &mut rng, &mut out);
                out
            })
            .collect();
        let argmax = |r: usize| {
            (0..1440)
                .max_by(|&a, &b| day[a][r].total_cmp(&day[b][r]))
                .unwrap()
        };
        let (a, b) = (argmax(0) as i64, argmax(1) as i64);
        let shift = (a - b).rem_euclid(1440);
        assert!((600..=840).contains(&shift), "peaks at {a} and {b}");
        let mean: f64 = day.iter().map(|d| d[0]).sum::<f64>() / 1440.0;
        assert!((300.0..700.0).contains(&mean), "{mean}");
    }

    #[test]
    fn flash_crowds_raise_demand() {
        let mut config = TrafficConfig::default().demand;
        config.noise_sigma = 0.0;
        config.diurnal_gain = 0.0;
        config.flash_crowds_per_region_day = 50.0;
        config.flash_crowd_peak = [3.0, 3.0];
        let mut m = model(config);
        let mut rng = Rng::new(2);
        m.reset(&mut rng);
        let mut out = [0.0; 2];
        let day: Vec<f64> = (0..1440)
            .map(|k| {
                m.advance(k, &mut rng, &mut out);
                out[0]
            })
            .collect();
        // Without crowds the day is flat at its level; crowds triple it at their onset.
        let (min, max) = day
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), &d| (lo.min(d), hi.max(d)));
        assert!(max / min > 2.7 && max / min < 3.3, "{min} {max}");
    }
}
