//! Real diurnal shapes: a demand time series, normalised to mean 1, read at any time of day.

use crate::error::EnvError;
use crate::traces::table;
use std::path::Path;

pub const AZURE_VM_V2_CPU_CSV: &str =
    include_str!("../../data/azure_vm_v2_2019_cpu_usage_300s_day01-21.csv");

/// A real series `value(t)` with mean 1, evaluated by linear interpolation and wrapping around
/// at its end (so a 21-day series gives 21 distinct days, then repeats).
#[derive(Debug, Clone, PartialEq)]
pub struct DiurnalProfile {
    /// Seconds since the series start, strictly increasing, first = 0.
    times: Vec<f64>,
    /// Normalised values (mean 1).
    values: Vec<f64>,
    /// Centred 24-hour moving average of `values` (the day-to-day level).
    levels: Vec<f64>,
    /// Length of one wrap: last time + the last sampling step.
    period: f64,
}

impl DiurnalProfile {
    /// Loads `spec`: `builtin:azure_vm_v2_2019` (Azure VM v2 2019 summed CPU usage, 300 s,
    /// days 1-21) or the path of a CSV file with a `timestamp` column (seconds) and `column`.
    pub fn load(spec: &str, column: &str) -> Result<Self, EnvError> {
        match spec {
            "builtin:azure_vm_v2_2019" => Self::parse(AZURE_VM_V2_CPU_CSV, "cpu_usage", spec),
            path => {
                let text = crate::input::read_to_string(Path::new(path))?;
                Self::parse(&text, column, path)
            }
        }
    }

    pub fn parse(text: &str, column: &str, source: &str) -> Result<Self, EnvError> {
        let (headers, rows) = table::rows(text, source)?;
        let (tc, vc) = (
            table::column(&headers, "timestamp", source)?,
            table::column(&headers, column, source)?,
        );
        let (mut times, mut values) = (Vec::new(), Vec::new());
        for row in rows {
            let (line, record) = row?;
            let t = table::finite(&record, tc, line, source, "timestamp")?;
            let v = table::finite(&record, vc, line, source, column)?;
            if v < 0.0 {
                return Err(EnvError::data(
                    source,
                    format!("line {line}: {column} = {v} is negative"),
                ));
            }
            if times.last().is_some_and(|&last| t <= last) {
                return Err(EnvError::data(
                    source,
                    format!("line {line}: timestamp {t} does not increase"),
                ));
            }
            times.push(t);
            values.push(v);
        }
        if times.len() < 2 {
            return Err(EnvError::data(source, "need at least two samples"));
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        if mean.is_nan() || mean <= 0.0 {
            return Err(EnvError::data(
                source,
                format!("column {column} has mean 0"),
            ));
        }
        let t0 = times[0];
        let last_step = times[times.len() - 1] - times[times.len() - 2];
        times.iter_mut().for_each(|t| *t -= t0);
        values.iter_mut().for_each(|v| *v /= mean);
        let period = times[times.len() - 1] + last_step;
        let levels = daily_levels(&times, &values, period);
        Ok(Self {
            times,
            values,
            levels,
            period,
        })
    }

    /// Length of the series before it wraps, in seconds.
    pub fn period_s(&self) -> f64 {
        self.period
    }

    /// Normalised value at `t` seconds after the series start (any real `t`; wraps).
    pub fn at(&self, t: f64) -> f64 {
        self.segment(t, &mut 0).interpolate(&self.values)
    }

    /// The series at `t` with its within-day swing around the day's level multiplied by
    /// `gain`: `level x (1 + gain x (value / level - 1))`, floored at 5 % of the level. Real
    /// day-to-day changes of level are kept as they are. `hint` is where the caller's last `t`
    /// fell (any value will do): a caller stepping through time then finds each sample
    /// without a search.
    pub fn amplified(&self, t: f64, gain: f64, hint: &mut usize) -> f64 {
        let segment = self.segment(t, hint);
        let level = segment.interpolate(&self.levels);
        level * (1.0 + gain * (segment.interpolate(&self.values) / level - 1.0)).max(0.05)
    }

    /// The samples either side of `t` (wrapped into the period): the last sample at or before
    /// it, found at `hint` or just after it, else by binary search; `hint` is moved there.
    fn segment(&self, t: f64, hint: &mut usize) -> Segment {
        let t = t.rem_euclid(self.period);
        let starts_at = |i: usize| {
            self.times.get(i).is_some_and(|&x| x <= t)
                && self.times.get(i + 1).is_none_or(|&next| next > t)
        };
        let i = match [*hint, hint.saturating_add(1)]
            .into_iter()
            .find(|&i| starts_at(i))
        {
            Some(i) => i,
            None => self.times.partition_point(|&x| x <= t) - 1, // times[0] = 0 <= t
        };
        *hint = i;
        let (next, t1) = match self.times.get(i + 1) {
            Some(&t1) => (i + 1, t1),
            None => (0, self.period),
        };
        Segment {
            i,
            next,
            offset: t - self.times[i],
            span: t1 - self.times[i],
        }
    }
}

/// Where a time falls between two samples: their indices, its time since the first and the
/// time between them.
struct Segment {
    i: usize,
    next: usize,
    offset: f64,
    span: f64,
}

impl Segment {
    fn interpolate(&self, values: &[f64]) -> f64 {
        let (v0, v1) = (values[self.i], values[self.next]);
        v0 + (v1 - v0) * self.offset / self.span
    }
}

/// Mean of the samples within 12 hours (circularly) of each sample: prefix sums over the series
/// laid out three times (previous wrap, itself, next wrap) and two binary searches per sample.
fn daily_levels(times: &[f64], values: &[f64], period: f64) -> Vec<f64> {
    const HALF_DAY: f64 = 43_200.0;
    let n = times.len();
    let extended: Vec<f64> = [-period, 0.0, period]
        .iter()
        .flat_map(|shift| times.iter().map(move |t| t + shift))
        .collect();
    let mut prefix = vec![0.0; 3 * n + 1];
    for i in 0..3 * n {
        prefix[i + 1] = prefix[i] + values[i % n];
    }
    times
        .iter()
        .map(|&t| {
            // A window wider than the series covers it once, as in the circular definition.
            let (from, to) = if 2.0 * HALF_DAY >= period {
                (n, 2 * n)
            } else {
                (
                    extended.partition_point(|&u| u <= t - HALF_DAY),
                    extended.partition_point(|&u| u < t + HALF_DAY),
                )
            };
            (prefix[to] - prefix[from]) / (to - from) as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_series_loads_with_mean_one_and_a_daily_cycle() {
        let p = DiurnalProfile::load("builtin:azure_vm_v2_2019", "").unwrap();
        assert_eq!(p.period_s(), 21.0 * 86_400.0);
        let mean: f64 = (0..21 * 288).map(|i| p.at(i as f64 * 300.0)).sum::<f64>() / (21.0 * 288.0);
        assert!((mean - 1.0).abs() < 1e-9);
        // Evening (18h) is busier than early morning (8h), averaged over the 21 days.
        let hour = |h: f64| {
            (0..21)
                .map(|d| p.at(d as f64 * 86_400.0 + h * 3600.0))
                .sum::<f64>()
                / 21.0
        };
        assert!(
            hour(18.0) > hour(8.0) + 0.05,
            "{} vs {}",
            hour(18.0),
            hour(8.0)
        );
    }

    #[test]
    fn amplification_keeps_the_day_level() {
        let p = DiurnalProfile::load("builtin:azure_vm_v2_2019", "").unwrap();
        for day in [0.0, 7.0, 15.0] {
            let at = |h: f64, gain: f64| p.amplified((day * 24.0 + h) * 3600.0, gain, &mut 0);
            let mean = |gain: f64| (0..288).map(|i| at(i as f64 / 12.0, gain)).sum::<f64>() / 288.0;
            assert!(
                (mean(6.0) / mean(1.0) - 1.0).abs() < 0.05,
                "day {day}: {} vs {}",
                mean(6.0),
                mean(1.0)
            );
            let swing = |gain: f64| {
                (0..288)
                    .map(|i| at(i as f64 / 12.0, gain))
                    .fold(0.0, f64::max)
                    / mean(gain)
            };
            assert!(swing(6.0) > swing(1.0) + 0.2, "day {day}");
        }
    }

    #[test]
    fn daily_levels_match_the_direct_definition() {
        let times: Vec<f64> = (0..500)
            .map(|i| i as f64 * 1000.0 + if i % 7 == 0 { 300.0 } else { 0.0 })
            .collect();
        let values: Vec<f64> = (0..500).map(|i| 1.0 + (i as f64 * 0.37).sin()).collect();
        let period = 500_000.0;
        let direct: Vec<f64> = times
            .iter()
            .map(|&t| {
                let near: Vec<f64> = times
                    .iter()
                    .zip(&values)
                    .filter(|(u, _)| {
                        let d = (*u - t).rem_euclid(period);
                        d.min(period - d) < 43_200.0
                    })
                    .map(|(_, &v)| v)
                    .collect();
                near.iter().sum::<f64>() / near.len() as f64
            })
            .collect();
        for (a, b) in daily_levels(&times, &values, period).iter().zip(&direct) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }

    #[test]
    fn a_carried_hint_finds_what_a_search_finds() {
        let p =
            DiurnalProfile::parse("timestamp,v\n0,1\n10,3\n20,2\n30,5\n", "v", "inline").unwrap();
        let mut hint = 0;
        // Small steps, a step past a whole sample, backwards, across the wrap and negative.
        for t in [
            0.0, 4.0, 9.9, 10.0, 12.0, 33.0, 41.0, 3.0, 39.9, 40.0, -1.0, 25.0, 25.0,
        ] {
            let carried = p.amplified(t, 1.7, &mut hint);
            let mut no_hint = usize::MAX;
            let searched = p.amplified(t, 1.7, &mut no_hint);
            assert_eq!(carried.to_bits(), searched.to_bits(), "t = {t}");
        }
    }

    #[test]
    fn interpolates_and_wraps() {
        let p = DiurnalProfile::parse("timestamp,v\n0,1\n10,3\n", "v", "inline").unwrap();
        assert_eq!(p.period_s(), 20.0);
        assert!((p.at(5.0) - 1.0).abs() < 1e-12); // halfway between 0.5 and 1.5
        assert!((p.at(15.0) - 1.0).abs() < 1e-12); // wraps back toward the first sample
        assert!((p.at(-10.0) - p.at(10.0)).abs() < 1e-12);
    }

    #[test]
    fn bad_series_name_the_line() {
        let err = DiurnalProfile::parse("timestamp,v\n0,1\n10,abc\n", "v", "s.csv").unwrap_err();
        assert_eq!(
            err.to_string(),
            "data error in s.csv: line 3: v `abc` is not a finite number"
        );
        let err = DiurnalProfile::parse("timestamp,v\n0,1\n0,2\n", "v", "s.csv").unwrap_err();
        assert!(
            err.to_string()
                .contains("line 3: timestamp 0 does not increase"),
            "{err}"
        );
        let err = DiurnalProfile::parse("timestamp,v\n0,1\n", "w", "s.csv").unwrap_err();
        assert!(err.to_string().contains("no column `w`"), "{err}");
        assert!(DiurnalProfile::load("/nonexistent.csv", "v").is_err());
    }
}
