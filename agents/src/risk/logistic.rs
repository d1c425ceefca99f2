//! Logistic regression on standardised features, fitted exactly by Newton's method (iteratively
//! reweighted least squares) with an L2 penalty; and the single-feature threshold rule, which
//! is the same model on the one feature that best ranks the training rows.

use super::dataset::{Dataset, standardisation};
use super::metrics::auroc;
use serde::Serialize;

/// Penalties tried, the one with the lowest validation log-loss kept.
pub const PENALTIES: [f64; 6] = [1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0];
const MAX_ITERATIONS: usize = 100;
const TOLERANCE: f64 = 1e-9;

/// P(failure) = sigmoid(intercept + sum_k weights[k] * (x[features[k]] - mean[k]) / scale[k]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Logistic {
    pub features: Vec<usize>,
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub weights: Vec<f64>,
    pub intercept: f64,
    pub penalty: f64,
}

/// The probability of a logit (the `risk` scenario's risk score uses the same function).
pub use planetgym_env::risk::sigmoid;

/// Solves `a x = b` for a symmetric positive definite `a` (n x n, row-major) by Cholesky.
fn solve_spd(mut a: Vec<f64>, mut b: Vec<f64>) -> Result<Vec<f64>, String> {
    let n = b.len();
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.is_nan() || d <= 0.0 {
            return Err("the Newton system is not positive definite".into());
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        for k in 0..i {
            b[i] -= a[i * n + k] * b[k];
        }
        b[i] /= a[i * n + i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            b[i] -= a[k * n + i] * b[k];
        }
        b[i] /= a[i * n + i];
    }
    Ok(b)
}

impl Logistic {
    pub fn probability(&self, row: &[f64]) -> f64 {
        sigmoid(self.logit(row))
    }

    /// One line: the feature of a one-feature model and its direction, or the penalty and
    /// the features with the largest standardised weights.
    pub fn describe(&self, names: &[String]) -> String {
        let name = |k: usize| names.get(self.features[k]).map_or("?", String::as_str);
        if let [w] = self.weights[..] {
            let direction = if w >= 0.0 { "higher" } else { "lower" };
            return format!("`{}`, {direction} is riskier", name(0));
        }
        let mut order: Vec<usize> = (0..self.weights.len()).collect();
        order.sort_by(|&a, &b| self.weights[b].abs().total_cmp(&self.weights[a].abs()));
        let top: Vec<String> = order
            .iter()
            .take(3)
            .map(|&k| format!("{} {:+.2}", name(k), self.weights[k]))
            .collect();
        format!(
            "L2 penalty {}, largest weights: {}",
            self.penalty,
            top.join(", ")
        )
    }

    /// The model on unstandardised features: a weight for each of `features` columns (0 where
    /// unused) and a bias, so that P = sigmoid(bias + sum_f weights[f] * x[f]).
    pub fn raw_coefficients(&self, features: usize) -> (Vec<f64>, f64) {
        let mut weights = vec![0.0; features];
        let mut bias = self.intercept;
        for (k, &f) in self.features.iter().enumerate() {
            let w = self.weights[k] / self.scale[k];
            weights[f] += w;
            bias -= w * self.mean[k];
        }
        (weights, bias)
    }

    fn logit(&self, row: &[f64]) -> f64 {
        self.intercept
            + self
                .features
                .iter()
                .enumerate()
                .map(|(k, &f)| self.weights[k] * (row[f] - self.mean[k]) / self.scale[k])
                .sum::<f64>()
    }

    /// Fits on `rows` of `data`, using `features`, with L2 penalty `penalty` (per row: the
    /// penalty does not shrink with more data) on the weights, not the intercept.
    pub fn fit(
        data: &Dataset,
        rows: &[usize],
        features: &[usize],
        penalty: f64,
    ) -> Result<Self, String> {
        if rows.is_empty() {
            return Err(format!("{}: no rows to fit on", data.task));
        }
        let n = rows.len() as f64;
        // A constant feature keeps weight 0 under the penalty.
        let (mean, scale) = standardisation(data, rows, features);
        let d = features.len() + 1;
        // Standardised design with the intercept last.
        let (m, sc) = (&mean, &scale);
        let design: Vec<f64> = rows
            .iter()
            .flat_map(|&i| {
                let row = data.row(i);
                features
                    .iter()
                    .enumerate()
                    .map(move |(k, &f)| (row[f] - m[k]) / sc[k])
                    .chain(std::iter::once(1.0))
            })
            .collect();
        // The penalised mean log-loss Newton minimises.
        let objective = |beta: &[f64]| {
            let fit = log_loss(rows.iter().enumerate().map(|(r, &i)| {
                let x = &design[r * d..(r + 1) * d];
                (
                    sigmoid(x.iter().zip(beta).map(|(a, b)| a * b).sum()),
                    data.y[i],
                )
            }));
            fit + 0.5 * penalty * beta[..d - 1].iter().map(|b| b * b).sum::<f64>()
        };
        let mut beta = vec![0.0; d];
        let mut loss = objective(&beta);
        let mut converged = false;
        for _ in 0..MAX_ITERATIONS {
            let mut hessian = vec![0.0; d * d];
            let mut gradient = vec![0.0; d];
            for (r, &i) in rows.iter().enumerate() {
                let x = &design[r * d..(r + 1) * d];
                let p = sigmoid(x.iter().zip(&beta).map(|(a, b)| a * b).sum());
                let residual = p - f64::from(u8::from(data.y[i]));
                let w = (p * (1.0 - p)).max(1e-12);
                for a in 0..d {
                    gradient[a] += residual * x[a] / n;
                    for b in 0..=a {
                        hessian[a * d + b] += w * x[a] * x[b] / n;
                    }
                }
            }
            for a in 0..d {
                for b in 0..a {
                    hessian[b * d + a] = hessian[a * d + b];
                }
                if a + 1 < d {
                    hessian[a * d + a] += penalty;
                    gradient[a] += penalty * beta[a];
                }
            }
            let mut step = solve_spd(hessian, gradient)
                .map_err(|e| format!("{}: logistic regression: {e}", data.task))?;
            if step.iter().all(|s| s.abs() < TOLERANCE) {
                converged = true;
                break;
            }
            // Halve the step until the objective does not rise (a full Newton step can
            // overshoot far from the optimum).
            let mut next: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - s).collect();
            let mut next_loss = objective(&next);
            for _ in 0..50 {
                if next_loss <= loss {
                    break;
                }
                step.iter_mut().for_each(|s| *s *= 0.5);
                next = beta.iter().zip(&step).map(|(b, s)| b - s).collect();
                next_loss = objective(&next);
            }
            // No further gain within rounding: at the optimum (or as close as floats get).
            let settled = (loss - next_loss).abs() <= 1e-13 * (1.0 + loss);
            (beta, loss) = (next, next_loss);
            if settled {
                converged = true;
                break;
            }
        }
        if !converged || beta.iter().any(|b| !b.is_finite()) {
            return Err(format!(
                "{}: logistic regression with penalty {penalty} did not converge in {MAX_ITERATIONS} Newton steps",
                data.task
            ));
        }
        let intercept = beta.pop().unwrap_or(0.0);
        Ok(Self {
            features: features.to_vec(),
            mean,
            scale,
            weights: beta,
            intercept,
            penalty,
        })
    }

    /// Fits with each of [`PENALTIES`] on `train` and keeps the one with the lowest log-loss
    /// on `validation`; a penalty whose fit fails is skipped (an error only if all fail).
    pub fn tuned(
        data: &Dataset,
        train: &[usize],
        validation: &[usize],
        features: &[usize],
    ) -> Result<Self, String> {
        let mut best: Option<(f64, Self)> = None;
        let mut failed = Vec::new();
        for penalty in PENALTIES {
            let model = match Self::fit(data, train, features, penalty) {
                Ok(model) => model,
                Err(e) => {
                    failed.push(e);
                    continue;
                }
            };
            let loss = log_loss(
                validation
                    .iter()
                    .map(|&i| (model.probability(data.row(i)), data.y[i])),
            );
            if best.as_ref().is_none_or(|(b, _)| loss < *b) {
                best = Some((loss, model));
            }
        }
        best.map(|(_, m)| m).ok_or_else(|| failed.join("; "))
    }
}

/// Mean negative log-likelihood (probabilities clamped away from 0 and 1).
pub fn log_loss(pairs: impl Iterator<Item = (f64, bool)>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for (p, y) in pairs {
        let p = p.clamp(1e-12, 1.0 - 1e-12);
        sum -= if y { p.ln() } else { (1.0 - p).ln() };
        n += 1;
    }
    sum / n.max(1) as f64
}

/// The threshold rule: the feature whose value (or its negation) best ranks the training rows
/// by AUROC, turned into a probability by a one-feature logistic regression on them (a
/// monotone map: ranking it, the rule raises an alarm above a threshold).
pub fn threshold_rule(data: &Dataset, train: &[usize]) -> Result<Logistic, String> {
    let labels: Vec<bool> = train.iter().map(|&i| data.y[i]).collect();
    let mut best: Option<(f64, usize)> = None;
    for f in 0..data.features.len() {
        let values: Vec<f64> = train.iter().map(|&i| data.row(i)[f]).collect();
        // Either direction: the fitted weight's sign picks it.
        let a = auroc(&values, &labels);
        let strength = (a - 0.5).abs();
        if strength.is_finite() && best.is_none_or(|(s, _)| strength > s) {
            best = Some((strength, f));
        }
    }
    let (_, feature) = best.ok_or_else(|| format!("{}: no feature ranks anything", data.task))?;
    Logistic::fit(data, train, &[feature], PENALTIES[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use planetgym_env::rng::Rng;

    /// Rows from a known logistic model over two informative features and a useless one.
    fn synthetic(n: usize, seed: u64) -> Dataset {
        let mut rng = Rng::new(seed);
        let mut d = Dataset::new("synthetic", &["a", "b", "noise"]);
        for i in 0..n {
            let (a, b, c) = (rng.normal() * 2.0 + 1.0, rng.normal(), rng.normal());
            let p = sigmoid(-2.0 + 1.5 * (a - 1.0) / 2.0 - 1.0 * b);
            d.push(&[a, b, c], rng.uniform() < p, i as f64, i as f64, false)
                .unwrap();
        }
        d
    }

    #[test]
    fn newton_recovers_the_generating_model() {
        let d = synthetic(20_000, 1);
        let rows: Vec<usize> = (0..d.rows()).collect();
        let m = Logistic::fit(&d, &rows, &[0, 1, 2], 1e-6).unwrap();
        // Standardised weights: a's is 1.5 (its sd is 2), b's -1, noise's 0.
        assert!((m.weights[0] - 1.5).abs() < 0.1, "{:?}", m.weights);
        assert!((m.weights[1] + 1.0).abs() < 0.1, "{:?}", m.weights);
        assert!(m.weights[2].abs() < 0.06, "{:?}", m.weights);
        assert!((m.intercept + 2.0).abs() < 0.1, "{}", m.intercept);
        // The gradient vanishes at the optimum: mean prediction equals the base rate.
        let mean: f64 = rows.iter().map(|&i| m.probability(d.row(i))).sum::<f64>() / 20_000.0;
        let base = d.y.iter().filter(|&&y| y).count() as f64 / 20_000.0;
        assert!((mean - base).abs() < 1e-6);
    }

    #[test]
    fn separable_data_stays_finite_and_the_rule_picks_the_best_feature() {
        let mut d = Dataset::new("separable", &["noise", "signal"]);
        let mut rng = Rng::new(2);
        for i in 0..400 {
            let y = i % 4 == 0;
            d.push(
                &[rng.normal(), if y { 1.0 } else { -1.0 } * 3.0],
                y,
                i as f64,
                i as f64,
                false,
            )
            .unwrap();
        }
        let rows: Vec<usize> = (0..400).collect();
        let m = Logistic::tuned(&d, &rows[..300], &rows[300..], &[0, 1]).unwrap();
        assert!(m.weights.iter().all(|w| w.is_finite()));
        assert!(m.probability(d.row(0)) > 0.9 && m.probability(d.row(1)) < 0.1);
        let rule = threshold_rule(&d, &rows).unwrap();
        assert_eq!(rule.features, vec![1]);
    }

    #[test]
    fn cholesky_solves_and_refuses_a_singular_system() {
        let x = solve_spd(vec![4.0, 2.0, 2.0, 3.0], vec![2.0, 1.0]).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12);
        assert!(solve_spd(vec![1.0, 1.0, 1.0, 1.0], vec![1.0, 1.0]).is_err());
    }
}
