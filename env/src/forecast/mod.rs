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

/// Holt-Winters state after running over a history with one parameter set, and its sum of
/// one-step squared errors.
#[derive(Debug, Clone)]
struct HwRun {
    params: (f64, f64, f64),
    level: f64,
    trend: f64,
    seasonal: Vec<f64>,
    sse: f64,
}

impl HoltWinters {
    /// The state after the first two seasons' initialisation (level: first season's mean,
    /// trend: difference of the two seasons' means per period, season: first season's
    /// deviations), before any update. `None` when a multiplicative season has no positive
    /// level to divide by.
    fn start(&self, y: &[f64], params: (f64, f64, f64)) -> Option<HwRun> {
        let m = self.season;
        let multiplicative = self.seasonality == Seasonality::Multiplicative;
        let first: f64 = y[..m].iter().sum::<f64>() / m as f64;
        let second: f64 = y[m..2 * m].iter().sum::<f64>() / m as f64;
        if multiplicative && first <= 0.0 {
            return None;
        }
        Some(HwRun {
            params,
            level: first,
            trend: (second - first) / m as f64,
            seasonal: y[..m]
                .iter()
                .map(|&v| if multiplicative { v / first } else { v - first })
                .collect(),
            sse: 0.0,
        })
    }

    /// One update with the value `v` observed at time `t`.
    fn update(&self, run: &mut HwRun, t: usize, v: f64) {
        let m = self.season;
        let multiplicative = self.seasonality == Seasonality::Multiplicative;
        let (alpha, beta, gamma) = run.params;
        let s = run.seasonal[t % m];
        let predicted = if multiplicative {
            (run.level + run.trend) * s
        } else {
            run.level + run.trend + s
        };
        run.sse += (v - predicted).powi(2);
        let previous = run.level;
        run.level = if multiplicative {
            alpha * v / s.max(1e-9) + (1.0 - alpha) * (run.level + run.trend)
        } else {
            alpha * (v - s) + (1.0 - alpha) * (run.level + run.trend)
        };
        run.trend = beta * (run.level - previous) + (1.0 - beta) * run.trend;
        run.seasonal[t % m] = if multiplicative {
            gamma * v / run.level.max(1e-9) + (1.0 - gamma) * s
        } else {
            gamma * (v - run.level) + (1.0 - gamma) * s
        };
    }

    fn run(&self, y: &[f64], params: (f64, f64, f64)) -> Option<HwRun> {
        let mut run = self.start(y, params)?;
        for (t, &v) in y.iter().enumerate().skip(self.season) {
            self.update(&mut run, t, v);
        }
        Some(run)
    }

    /// Whether `history` is long enough to fit (two seasons to start, one value to score).
    fn fits(&self, history: &[f64]) -> bool {
        self.season > 0 && history.len() > 2 * self.season
    }

    /// The run with the least finite one-step squared error, the first in grid order on ties.
    fn best<'a>(runs: impl Iterator<Item = &'a HwRun>) -> Option<&'a HwRun> {
        runs.filter(|run| run.sse.is_finite())
            .fold(None, |best: Option<&HwRun>, run| match best {
                Some(b) if b.sse <= run.sse => Some(b),
                _ => Some(run),
            })
    }

    /// Smoothing parameters with the least one-step squared error on `history`.
    pub fn fit(&self, history: &[f64]) -> Option<(f64, f64, f64)> {
        if !self.fits(history) {
            return None;
        }
        let runs: Vec<HwRun> = parameter_sets()
            .filter_map(|p| self.run(history, p))
            .collect();
        Self::best(runs.iter()).map(|run| run.params)
    }

    /// Forecasts from a fitted run at the end of `n` values.
    fn extrapolate(&self, run: &HwRun, n: usize, horizon: usize) -> Vec<f64> {
        let m = self.season;
        (1..=horizon)
            .map(|h| {
                let s = run.seasonal[(n + h - 1) % m];
                let base = run.level + h as f64 * run.trend;
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
    runs: Vec<HwRun>,
}

impl Incremental for HoltWintersIncremental {
    fn push(&mut self, history: &[f64]) {
        let (m, n) = (self.model.season, history.len());
        if m == 0 || n < 2 * m {
            return;
        }
        if n == 2 * m {
            // The first two seasons are known: start every run and replay its second season.
            self.runs = parameter_sets()
                .filter_map(|p| self.model.start(history, p))
                .collect();
            for run in &mut self.runs {
                for (t, &v) in history.iter().enumerate().skip(m) {
                    self.model.update(run, t, v);
                }
            }
        } else {
            for run in &mut self.runs {
                self.model.update(run, n - 1, history[n - 1]);
            }
        }
    }

    fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64> {
        let best = self
            .model
            .fits(history)
            .then(|| HoltWinters::best(self.runs.iter()))
            .flatten();
        match best {
            Some(run) => self.model.extrapolate(run, history.len(), horizon),
            None => self.model.fallback(history, horizon),
        }
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
        let run = self
            .fit(history)
            .and_then(|params| self.run(history, params));
        match run {
            Some(run) => self.extrapolate(&run, history.len(), horizon),
            None => self.fallback(history, horizon),
        }
    }

    fn incremental(&self) -> Option<Box<dyn Incremental>> {
        Some(Box::new(HoltWintersIncremental {
            model: *self,
            runs: Vec::new(),
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
