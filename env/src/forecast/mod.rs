//! Forecasters behind one trait, and rolling-origin accuracy evaluation (MAPE, sMAPE, MASE).
//!
//! A forecaster sees a history (oldest first) and predicts the next `horizon` values. Learned
//! forecasters plug in by implementing the same trait.

/// Predicts the next values of a series from its history.
pub trait Forecaster: Send + Sync + std::fmt::Debug {
    fn name(&self) -> String;
    /// Forecasts `horizon` values after `history` (which may be shorter than a season: the
    /// forecaster then falls back to something simpler, never panics).
    fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64>;
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

/// Fitted Holt-Winters state after running over a history.
struct HwRun {
    level: f64,
    trend: f64,
    seasonal: Vec<f64>,
    sse: f64,
}

impl HoltWinters {
    fn run(&self, y: &[f64], alpha: f64, beta: f64, gamma: f64) -> Option<HwRun> {
        let m = self.season;
        let multiplicative = self.seasonality == Seasonality::Multiplicative;
        let first: f64 = y[..m].iter().sum::<f64>() / m as f64;
        let second: f64 = y[m..2 * m].iter().sum::<f64>() / m as f64;
        if multiplicative && first <= 0.0 {
            return None;
        }
        let mut level = first;
        let mut trend = (second - first) / m as f64;
        let mut seasonal: Vec<f64> = y[..m]
            .iter()
            .map(|&v| if multiplicative { v / first } else { v - first })
            .collect();
        let mut sse = 0.0;
        for (t, &v) in y.iter().enumerate().skip(m) {
            let s = seasonal[t % m];
            let predicted = if multiplicative {
                (level + trend) * s
            } else {
                level + trend + s
            };
            sse += (v - predicted).powi(2);
            let previous = level;
            level = if multiplicative {
                alpha * v / s.max(1e-9) + (1.0 - alpha) * (level + trend)
            } else {
                alpha * (v - s) + (1.0 - alpha) * (level + trend)
            };
            trend = beta * (level - previous) + (1.0 - beta) * trend;
            seasonal[t % m] = if multiplicative {
                gamma * v / level.max(1e-9) + (1.0 - gamma) * s
            } else {
                gamma * (v - level) + (1.0 - gamma) * s
            };
        }
        sse.is_finite().then_some(HwRun {
            level,
            trend,
            seasonal,
            sse,
        })
    }

    /// Smoothing parameters with the least one-step squared error on `history`.
    pub fn fit(&self, history: &[f64]) -> Option<(f64, f64, f64)> {
        if self.season == 0 || history.len() < 2 * self.season + 1 {
            return None;
        }
        const GRID: [f64; 6] = [0.05, 0.1, 0.2, 0.4, 0.6, 0.9];
        const TREND: [f64; 3] = [0.0, 0.05, 0.2];
        let mut best: Option<((f64, f64, f64), f64)> = None;
        for &a in &GRID {
            for &b in &TREND {
                for &g in &GRID {
                    if let Some(run) = self.run(history, a, b, g)
                        && best.is_none_or(|(_, sse)| run.sse < sse)
                    {
                        best = Some(((a, b, g), run.sse));
                    }
                }
            }
        }
        best.map(|(p, _)| p)
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
            .and_then(|(a, b, g)| self.run(history, a, b, g));
        let Some(run) = run else {
            return SeasonalNaive {
                season: self.season,
            }
            .forecast(history, horizon);
        };
        let n = history.len();
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
    forecaster: &dyn Forecaster,
    warmup: usize,
    horizon: usize,
    step: usize,
    season: usize,
) -> Option<(Accuracy, Vec<(usize, f64)>)> {
    let (mut ape, mut n_ape, mut sape, mut ae, mut n) = (0.0, 0usize, 0.0, 0.0, 0usize);
    let mut points = Vec::new();
    let mut origin = warmup;
    while origin + horizon <= series.len() {
        let predicted = forecaster.forecast(&series[..origin], horizon);
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
            let (accuracy, _) = rolling_origin(&y, &hw, 24 * 7, 12, 12, 24).unwrap();
            let (naive, _) =
                rolling_origin(&y, &SeasonalNaive { season: 24 }, 24 * 7, 12, 12, 24).unwrap();
            assert!(accuracy.mape < 3.0, "{seasonality:?}: {accuracy:?}");
            assert!(
                accuracy.mase < naive.mase,
                "trend: {accuracy:?} vs naive {naive:?}"
            );
        }
    }

    #[test]
    fn accuracy_measures_match_closed_forms() {
        let y = [10.0, 12.0, 10.0, 20.0];
        let (a, points) = rolling_origin(&y, &MovingAverage { window: 1 }, 3, 1, 1, 1).unwrap();
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
