//! Forecasters behind one trait, and rolling-origin accuracy evaluation (MAPE, sMAPE, MASE).
//!
//! A forecaster sees a history (oldest first) and predicts the next `horizon` values. Learned
//! forecasters plug in by implementing the same trait. A series that grows one value at a time
//! (a simulation, a rolling-origin evaluation) is followed by a [`Tracker`], which gives the
//! same forecasts as the forecaster on the whole history at O(1) cost per new value where the
//! forecaster has such an update (Holt-Winters).

use std::sync::Arc;

/// Predicts the next values of a series from its history.
pub trait Forecaster: Send + Sync + std::fmt::Debug {
    fn name(&self) -> String;
    /// Forecasts `horizon` values after `history` (which may be shorter than a season: the
    /// forecaster then falls back to something simpler, never panics).
    fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64>;

    /// The incremental state for this forecaster over a series pushed one value at a time.
    /// By default it keeps the history and forecasts from all of it.
    fn incremental(&self) -> Option<Box<dyn Incremental>> {
        None
    }
}

/// A forecaster's running state over a growing series: what lets it forecast without reading
/// the whole history again.
pub trait Incremental: Send + Sync + std::fmt::Debug {
    /// Takes `history[n - 1]`, the newest of `n` values (`history` is the whole series so far).
    fn push(&mut self, history: &[f64]);
    /// The forecast the forecaster would make from `history`, which is what was pushed.
    fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64>;
    fn boxed_clone(&self) -> Box<dyn Incremental>;
}

/// Follows one growing series with a forecaster: `push` each value as it arrives, `forecast`
/// from everything pushed so far. Forecasts equal `forecaster.forecast(history, horizon)`.
#[derive(Debug)]
pub struct Tracker {
    forecaster: Arc<dyn Forecaster>,
    state: Option<Box<dyn Incremental>>,
    history: Vec<f64>,
}

impl Clone for Tracker {
    fn clone(&self) -> Self {
        Self {
            forecaster: Arc::clone(&self.forecaster),
            state: self.state.as_ref().map(|s| s.boxed_clone()),
            history: self.history.clone(),
        }
    }
}

impl Tracker {
    pub fn new(forecaster: Arc<dyn Forecaster>) -> Self {
        Self {
            state: forecaster.incremental(),
            forecaster,
            history: Vec::new(),
        }
    }

    /// The values pushed so far.
    pub fn history(&self) -> &[f64] {
        &self.history
    }

    pub fn push(&mut self, value: f64) {
        self.history.push(value);
        if let Some(state) = &mut self.state {
            state.push(&self.history);
        }
    }

    pub fn forecast(&self, horizon: usize) -> Vec<f64> {
        match &self.state {
            Some(state) => state.forecast(&self.history, horizon),
            None => self.forecaster.forecast(&self.history, horizon),
        }
    }
}

/// The value one season ago (or the last value while the history is shorter than a season).
#[derive(Debug, Clone, Copy)]
pub struct SeasonalNaive {
    pub season: usize,
}

/// Mean of the last `window` values, repeated.
#[derive(Debug, Clone, Copy)]
pub struct MovingAverage {
    pub window: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seasonality {
    Additive,
    Multiplicative,
}

/// Holt-Winters exponential smoothing (level, trend, season), smoothing parameters fitted on the
/// history by grid search on the one-step-ahead squared error.
#[derive(Debug, Clone, Copy)]
pub struct HoltWinters {
    pub season: usize,
    pub seasonality: Seasonality,
}

impl Forecaster for SeasonalNaive {
    fn name(&self) -> String {
        format!("seasonal-naive({})", self.season)
    }

    fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64> {
        let n = history.len();
        (0..horizon)
            .map(|h| match n {
                0 => 0.0,
                _ if n >= self.season && self.season > 0 => {
                    history[n - self.season + h % self.season]
                }
                _ => history[n - 1],
            })
            .collect()
    }
}

impl Forecaster for MovingAverage {
    fn name(&self) -> String {
        format!("moving-average({})", self.window)
    }

    fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64> {
        let recent = &history[history.len().saturating_sub(self.window.max(1))..];
        let mean = if recent.is_empty() {
            0.0
        } else {
            recent.iter().sum::<f64>() / recent.len() as f64
        };
        vec![mean; horizon]
    }
}

/// The smoothing parameters searched by the fit: level and season from `GRID`, trend from
/// `TREND`, 108 sets.
const GRID: [f64; 6] = [0.05, 0.1, 0.2, 0.4, 0.6, 0.9];
const TREND: [f64; 3] = [0.0, 0.05, 0.2];

fn parameter_sets() -> impl Iterator<Item = (f64, f64, f64)> {
    GRID.iter().flat_map(|&a| {
        TREND
            .iter()
            .flat_map(move |&b| GRID.iter().map(move |&g| (a, b, g)))
    })
}

/// Holt-Winters states of every parameter set over one history, side by side: one array per
/// quantity and the season as one row of sets per position, so that updating every set with a
/// new value is one loop over plain arrays, which the compiler vectorises. Each set's arithmetic
/// is what it would be alone.
#[derive(Debug, Clone)]
struct HwRuns {
    alpha: Vec<f64>,
    beta: Vec<f64>,
    gamma: Vec<f64>,
    level: Vec<f64>,
    trend: Vec<f64>,
    /// Sum of one-step squared errors.
    sse: Vec<f64>,
    /// `[season position][set]`.
    seasonal: Vec<f64>,
}

impl HoltWinters {
    /// Every set's state after the first two seasons' initialisation (level: first season's
    /// mean, trend: difference of the two seasons' means per period, season: first season's
    /// deviations), before any update: the same for all sets. `None` when a multiplicative
    /// season has no positive level to divide by.
    fn start(&self, y: &[f64]) -> Option<HwRuns> {
        let m = self.season;
        let multiplicative = self.seasonality == Seasonality::Multiplicative;
        let first: f64 = y[..m].iter().sum::<f64>() / m as f64;
        let second: f64 = y[m..2 * m].iter().sum::<f64>() / m as f64;
        if multiplicative && first <= 0.0 {
            return None;
        }
        let k = parameter_sets().count();
        Some(HwRuns {
            alpha: parameter_sets().map(|p| p.0).collect(),
            beta: parameter_sets().map(|p| p.1).collect(),
            gamma: parameter_sets().map(|p| p.2).collect(),
            level: vec![first; k],
            trend: vec![(second - first) / m as f64; k],
            sse: vec![0.0; k],
            seasonal: y[..m]
                .iter()
                .flat_map(|&v| {
                    let s = if multiplicative { v / first } else { v - first };
                    std::iter::repeat_n(s, k)
                })
                .collect(),
        })
    }

    /// One update of every set with the value `v` observed at time `t`.
    fn update(&self, runs: &mut HwRuns, t: usize, v: f64) {
        let multiplicative = self.seasonality == Seasonality::Multiplicative;
        let k = runs.level.len();
        let (alpha, beta, gamma) = (&runs.alpha[..k], &runs.beta[..k], &runs.gamma[..k]);
        let (level, trend, sse) = (
            &mut runs.level[..k],
            &mut runs.trend[..k],
            &mut runs.sse[..k],
        );
        let seasonal = &mut runs.seasonal[(t % self.season) * k..][..k];
        for i in 0..k {
            let (alpha, beta, gamma, s) = (alpha[i], beta[i], gamma[i], seasonal[i]);
            let predicted = if multiplicative {
                (level[i] + trend[i]) * s
            } else {
                level[i] + trend[i] + s
            };
            sse[i] += (v - predicted).powi(2);
            let previous = level[i];
            level[i] = if multiplicative {
                alpha * v / s.max(1e-9) + (1.0 - alpha) * (level[i] + trend[i])
            } else {
                alpha * (v - s) + (1.0 - alpha) * (level[i] + trend[i])
            };
            trend[i] = beta * (level[i] - previous) + (1.0 - beta) * trend[i];
            seasonal[i] = if multiplicative {
                gamma * v / level[i].max(1e-9) + (1.0 - gamma) * s
            } else {
                gamma * (v - level[i]) + (1.0 - gamma) * s
            };
        }
    }

    fn run(&self, y: &[f64]) -> Option<HwRuns> {
        let mut runs = self.start(y)?;
        for (t, &v) in y.iter().enumerate().skip(self.season) {
            self.update(&mut runs, t, v);
        }
        Some(runs)
    }

    /// Whether `history` is long enough to fit (two seasons to start, one value to score).
    fn fits(&self, history: &[f64]) -> bool {
        self.season > 0 && history.len() > 2 * self.season
    }

    /// The set with the least finite one-step squared error, the first in grid order on ties.
    fn best(runs: &HwRuns) -> Option<usize> {
        let finite = runs
            .sse
            .iter()
            .enumerate()
            .filter(|(_, sse)| sse.is_finite());
        finite
            .fold(None, |best: Option<(usize, f64)>, (i, &sse)| match best {
                Some(b) if b.1 <= sse => Some(b),
                _ => Some((i, sse)),
            })
            .map(|(i, _)| i)
    }

    /// Every set run over `history`, where it is long enough to fit.
    fn fitted(&self, history: &[f64]) -> Option<HwRuns> {
        self.fits(history).then(|| self.run(history)).flatten()
    }

    /// Smoothing parameters with the least one-step squared error on `history`.
    pub fn fit(&self, history: &[f64]) -> Option<(f64, f64, f64)> {
        let runs = self.fitted(history)?;
        let i = Self::best(&runs)?;
        Some((runs.alpha[i], runs.beta[i], runs.gamma[i]))
    }

    /// The forecast after `history` from the best set of `runs` (the sets run over it), or the
    /// fallback when the history is too short or no set has a finite error.
    fn forecast_from(&self, runs: Option<&HwRuns>, history: &[f64], horizon: usize) -> Vec<f64> {
        let runs = runs.filter(|_| self.fits(history));
        match runs.and_then(|runs| Self::best(runs).map(|i| (runs, i))) {
            Some((runs, i)) => self.extrapolate(runs, i, history.len(), horizon),
            None => self.fallback(history, horizon),
        }
    }

    /// Forecasts from set `i` of `runs` at the end of `n` values.
    fn extrapolate(&self, runs: &HwRuns, i: usize, n: usize, horizon: usize) -> Vec<f64> {
        let (m, k) = (self.season, runs.level.len());
        (1..=horizon)
            .map(|h| {
                let s = runs.seasonal[(n + h - 1) % m * k + i];
                let base = runs.level[i] + h as f64 * runs.trend[i];
                let v = match self.seasonality {
                    Seasonality::Additive => base + s,
                    Seasonality::Multiplicative => base * s,
                };
                v.max(0.0)
            })
            .collect()
    }

    fn fallback(&self, history: &[f64], horizon: usize) -> Vec<f64> {
        SeasonalNaive {
            season: self.season,
        }
        .forecast(history, horizon)
    }
}

/// Holt-Winters over a growing series: all 108 parameter sets run side by side, each updated
/// once per new value, so the best one (least error so far) and its state are exactly what a
/// full refit on the whole history would find, at O(108) per value instead of O(108 n).
#[derive(Debug, Clone)]
struct HoltWintersIncremental {
    model: HoltWinters,
    /// `None` before two seasons, or when they cannot start a multiplicative season.
    runs: Option<HwRuns>,
}

impl Incremental for HoltWintersIncremental {
    fn push(&mut self, history: &[f64]) {
        let (m, n) = (self.model.season, history.len());
        if m == 0 || n < 2 * m {
            return;
        }
        if n == 2 * m {
            // The first two seasons are known: start every set and replay the second season.
            self.runs = self.model.run(history);
        } else if let Some(runs) = &mut self.runs {
            self.model.update(runs, n - 1, history[n - 1]);
        }
    }

    fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64> {
        self.model
            .forecast_from(self.runs.as_ref(), history, horizon)
    }

    fn boxed_clone(&self) -> Box<dyn Incremental> {
        Box::new(self.clone())
    }
}

impl Forecaster for HoltWinters {
    fn name(&self) -> String {
        let kind = match self.seasonality {
            Seasonality::Additive => "additive",
            Seasonality::Multiplicative => "multiplicative",
        };
        format!("holt-winters-{kind}({})", self.season)
    }

    fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64> {
        self.forecast_from(self.fitted(history).as_ref(), history, horizon)
    }

    fn incremental(&self) -> Option<Box<dyn Incremental>> {
        Some(Box::new(HoltWintersIncremental {
            model: *self,
            runs: None,
        }))
    }
}

/// Accuracy of forecasts against actual values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    /// Mean absolute percentage error (%), over actual values that are not zero.
    pub mape: f64,
    /// Symmetric MAPE (%), 0..200.
    pub smape: f64,
    /// Mean absolute error scaled by the in-sample MAE of the seasonal naive forecast.
    pub mase: f64,
}

/// Rolling-origin evaluation: from every `step`-th origin after `warmup` values, forecast
/// `horizon` values from the history before it and compare with what followed.
pub fn rolling_origin(
    series: &[f64],
    forecaster: Arc<dyn Forecaster>,
    warmup: usize,
    horizon: usize,
    step: usize,
    season: usize,
) -> Option<(Accuracy, Vec<(usize, f64)>)> {
    let (mut ape, mut n_ape, mut sape, mut ae, mut n) = (0.0, 0usize, 0.0, 0.0, 0usize);
    let mut points = Vec::new();
    let mut origin = warmup;
    let mut tracker = Tracker::new(forecaster);
    while origin + horizon <= series.len() {
        for &v in &series[tracker.history().len()..origin] {
            tracker.push(v);
        }
        let predicted = tracker.forecast(horizon);
        for (h, &p) in predicted.iter().enumerate() {
            let actual = series[origin + h];
            let error = (actual - p).abs();
            if actual != 0.0 {
                ape += error / actual.abs();
                n_ape += 1;
            }
            let denominator = actual.abs() + p.abs();
            if denominator > 0.0 {
                sape += 2.0 * error / denominator;
            }
            ae += error;
            n += 1;
            if h + 1 == horizon {
                points.push((origin + h, p));
            }
        }
        origin += step.max(1);
    }
    let scale_season = season.clamp(1, warmup.max(2) - 1);
    let naive: Vec<f64> = series[scale_season..warmup]
        .iter()
        .zip(&series[..warmup - scale_season])
        .map(|(a, b)| (a - b).abs())
        .collect();
    let scale = naive.iter().sum::<f64>() / naive.len().max(1) as f64;
    (n > 0).then(|| {
        let accuracy = Accuracy {
            mape: 100.0 * ape / n_ape.max(1) as f64,
            smape: 100.0 * sape / n as f64,
            mase: if scale > 0.0 {
                ae / n as f64 / scale
            } else {
                f64::INFINITY
            },
        };
        (accuracy, points)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seasonal_series(n: usize, season: usize, trend: f64) -> Vec<f64> {
        (0..n)
            .map(|t| {
                100.0
                    + trend * t as f64
                    + 20.0 * (std::f64::consts::TAU * t as f64 / season as f64).sin()
            })
            .collect()
    }

    #[test]
    fn seasonal_naive_repeats_the_last_season() {
        let f = SeasonalNaive { season: 3 };
        assert_eq!(
            f.forecast(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 4),
            vec![4.0, 5.0, 6.0, 4.0]
        );
        assert_eq!(f.forecast(&[7.0], 2), vec![7.0, 7.0]);
        assert_eq!(
            MovingAverage { window: 2 }.forecast(&[1.0, 3.0, 5.0], 2),
            vec![4.0, 4.0]
        );
        assert_eq!(f.forecast(&[], 1), vec![0.0]);
    }

    #[test]
    fn holt_winters_learns_trend_and_season() {
        let additive = seasonal_series(24 * 10, 24, 0.5);
        let multiplicative: Vec<f64> = (0..240)
            .map(|t| {
                (100.0 + 0.5 * t as f64)
                    * (1.0 + 0.2 * (std::f64::consts::TAU * t as f64 / 24.0).sin())
            })
            .collect();
        for (seasonality, y) in [
            (Seasonality::Additive, additive),
            (Seasonality::Multiplicative, multiplicative),
        ] {
            let hw = HoltWinters {
                season: 24,
                seasonality,
            };
            let (accuracy, _) = rolling_origin(&y, Arc::new(hw), 24 * 7, 12, 12, 24).unwrap();
            let (naive, _) = rolling_origin(
                &y,
                Arc::new(SeasonalNaive { season: 24 }),
                24 * 7,
                12,
                12,
                24,
            )
            .unwrap();
            assert!(accuracy.mape < 3.0, "{seasonality:?}: {accuracy:?}");
            assert!(
                accuracy.mase < naive.mase,
                "trend: {accuracy:?} vs naive {naive:?}"
            );
        }
    }

    #[test]
    fn tracked_forecasts_equal_full_refits() {
        // Noisy, trending, with a level shift and a zero: the best parameter set changes along
        // the series, and every forecast must still be bit-identical to a refit on the history.
        let mut rng = crate::rng::Rng::new(3);
        let y: Vec<f64> = seasonal_series(24 * 9, 24, 0.3)
            .iter()
            .enumerate()
            .map(|(t, v)| match t {
                100 => 0.0,
                _ => v * (1.0 + 0.1 * rng.normal()) + if t > 150 { 40.0 } else { 0.0 },
            })
            .collect();
        let forecasters: [Arc<dyn Forecaster>; 4] = [
            Arc::new(HoltWinters {
                season: 24,
                seasonality: Seasonality::Additive,
            }),
            Arc::new(HoltWinters {
                season: 24,
                seasonality: Seasonality::Multiplicative,
            }),
            Arc::new(SeasonalNaive { season: 24 }),
            Arc::new(MovingAverage { window: 6 }),
        ];
        for forecaster in forecasters {
            let mut tracker = Tracker::new(Arc::clone(&forecaster));
            for (n, &v) in y.iter().enumerate() {
                assert_eq!(
                    tracker.forecast(5),
                    forecaster.forecast(&y[..n], 5),
                    "n = {n}"
                );
                tracker.push(v);
            }
            assert_eq!(tracker.clone().forecast(7), forecaster.forecast(&y, 7));
        }
        let additive = HoltWinters {
            season: 24,
            seasonality: Seasonality::Additive,
        };
        let fitted: std::collections::BTreeSet<String> = (0..y.len())
            .filter_map(|n| additive.fit(&y[..n]))
            .map(|p| format!("{p:?}"))
            .collect();
        assert!(fitted.len() > 1, "one parameter set all along: {fitted:?}");
    }

    /// Each parameter set of the side-by-side runs ends where one set run alone ends (the
    /// scalar recursion, written out here), bit for bit.
    #[test]
    fn every_set_evolves_as_it_would_alone() {
        let mut rng = crate::rng::Rng::new(4);
        let y: Vec<f64> = seasonal_series(24 * 6, 24, 0.3)
            .iter()
            .enumerate()
            .map(|(t, v)| {
                if t == 70 {
                    0.0
                } else {
                    v * (1.0 + 0.1 * rng.normal())
                }
            })
            .collect();
        for seasonality in [Seasonality::Additive, Seasonality::Multiplicative] {
            let model = HoltWinters {
                season: 24,
                seasonality,
            };
            let mult = seasonality == Seasonality::Multiplicative;
            let runs = model.run(&y).unwrap();
            for (i, (alpha, beta, gamma)) in parameter_sets().enumerate() {
                let first = y[..24].iter().sum::<f64>() / 24.0;
                let mut level = first;
                let mut trend = (y[24..48].iter().sum::<f64>() / 24.0 - first) / 24.0;
                let mut season: Vec<f64> = y[..24]
                    .iter()
                    .map(|&v| if mult { v / first } else { v - first })
                    .collect();
                let mut sse = 0.0;
                for (t, &v) in y.iter().enumerate().skip(24) {
                    let s = season[t % 24];
                    let predicted = if mult {
                        (level + trend) * s
                    } else {
                        level + trend + s
                    };
                    sse += (v - predicted) * (v - predicted);
                    let previous = level;
                    level = match mult {
                        true => alpha * v / s.max(1e-9) + (1.0 - alpha) * (level + trend),
                        false => alpha * (v - s) + (1.0 - alpha) * (level + trend),
                    };
                    trend = beta * (level - previous) + (1.0 - beta) * trend;
                    season[t % 24] = match mult {
                        true => gamma * v / level.max(1e-9) + (1.0 - gamma) * s,
                        false => gamma * (v - level) + (1.0 - gamma) * s,
                    };
                }
                let alone = (level, trend, sse);
                assert_eq!(
                    (runs.level[i], runs.trend[i], runs.sse[i]),
                    alone,
                    "set {i}"
                );
                let together: Vec<f64> = (0..24).map(|j| runs.seasonal[j * 108 + i]).collect();
                assert_eq!(together, season, "set {i}");
            }
        }
    }

    #[test]
    fn accuracy_measures_match_closed_forms() {
        let y = [10.0, 12.0, 10.0, 20.0];
        let (a, points) =
            rolling_origin(&y, Arc::new(MovingAverage { window: 1 }), 3, 1, 1, 1).unwrap();
        assert_eq!(points, vec![(3, 10.0)]);
        // Forecast 10 for 20: APE 50 %, sAPE 2*10/30 = 66.7 %, MASE 10 / mean(|2|, |2|) = 5.
        assert!(
            (a.mape - 50.0).abs() < 1e-9
                && (a.smape - 200.0 / 3.0).abs() < 1e-9
                && (a.mase - 5.0).abs() < 1e-9,
            "{a:?}"
        );
    }
}
