//! Log-probabilities and entropies of the action distributions, batched over rows.
//!
//! - Discrete: masked categorical over logits (illegal actions get probability 0).
//! - MultiDiscrete: one categorical per dimension; log-probabilities and entropies add up.
//! - Box: diagonal Gaussian (state-independent log standard deviations).
//! - Simplex: a diagonal Gaussian over per-row logits; the environment receives the row-wise
//!   softmax of the sampled logits, and the log-probability is that of the logits.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Bool, Int, Tensor};

/// A logit low enough that `exp` of it is exactly 0 in f32.
const MASKED_LOGIT: f32 = -1.0e9;

/// Row-wise log-probabilities of a categorical over `logits` `[B, N]`; `legal` `[B, N]` marks
/// the allowed entries.
pub fn masked_log_probs(logits: Tensor<2>, legal: Tensor<2, Bool>) -> Tensor<2> {
    log_softmax(logits.mask_fill(legal.bool_not(), MASKED_LOGIT), 1)
}

/// Log-probability `[B]` of `actions` `[B]` under row-wise log-probabilities `[B, N]`.
pub fn categorical_log_prob(log_probs: Tensor<2>, actions: Tensor<1, Int>) -> Tensor<1> {
    let [batch, _] = log_probs.dims();
    log_probs
        .gather(1, actions.reshape([batch, 1]))
        .reshape([batch])
}

/// Entropy `[B]` of row-wise log-probabilities `[B, N]` (masked entries contribute 0).
pub fn categorical_entropy(log_probs: Tensor<2>) -> Tensor<1> {
    let [batch, _] = log_probs.dims();
    let p = log_probs.clone().exp();
    (p * log_probs).sum_dim(1).reshape([batch]).neg()
}

/// Log-probability and entropy `[B]` of a `MultiDiscrete(nvec)` action: `logits` `[B, sum(nvec)]`
/// hold each dimension's logits one after the other, `actions` `[B, len(nvec)]`.
pub fn multi_discrete(
    logits: Tensor<2>,
    nvec: &[usize],
    actions: Tensor<2, Int>,
) -> (Tensor<1>, Tensor<1>) {
    let [batch, _] = logits.dims();
    let mut offset = 0;
    let mut log_prob = None::<Tensor<1>>;
    let mut entropy = None::<Tensor<1>>;
    for (d, &n) in nvec.iter().enumerate() {
        let lp = log_softmax(logits.clone().narrow(1, offset, n), 1);
        let chosen =
            categorical_log_prob(lp.clone(), actions.clone().narrow(1, d, 1).reshape([batch]));
        let h = categorical_entropy(lp);
        log_prob = Some(match log_prob {
            Some(acc) => acc + chosen,
            None => chosen,
        });
        entropy = Some(match entropy {
            Some(acc) => acc + h,
            None => h,
        });
        offset += n;
    }
    let zero = || Tensor::<1>::zeros([batch], &logits.device());
    (log_prob.unwrap_or_else(zero), entropy.unwrap_or_else(zero))
}

/// Log-probabilities `[B, parts]` of `x` `[B, D]` under a diagonal Gaussian with `mean`
/// `[B, D]` and `log_std` `[D]`, per group of `D / parts` consecutive dimensions (`parts` = 1:
/// the whole vector's); `parts` divides `D`.
pub fn gaussian_log_prob(
    mean: Tensor<2>,
    log_std: Tensor<1>,
    x: Tensor<2>,
    parts: usize,
) -> Tensor<2> {
    let [batch, dims] = mean.dims();
    let log_std = log_std.reshape([1, dims]);
    let z = (x - mean) / log_std.clone().exp();
    let per_dim =
        z.powf_scalar(2.0).mul_scalar(-0.5) - log_std - 0.5 * (2.0 * std::f32::consts::PI).ln();
    per_dim
        .reshape([batch, parts, dims / parts])
        .sum_dim(2)
        .reshape([batch, parts])
}

/// Entropy `[1]` of a diagonal Gaussian with `log_std` `[D]` (the same for every row).
pub fn gaussian_entropy(log_std: Tensor<1>) -> Tensor<1> {
    log_std
        .add_scalar(0.5 + 0.5 * (2.0 * std::f32::consts::PI).ln())
        .sum()
}

/// `[B, parts]`: per simplex row, sum_j q_j ln softmax(logits)_j with q the row-wise softmax of
/// `labels` (both `[B, rows * cols]`, row-major), summed over the rows of each part (`parts`
/// is 1 or `rows`).
pub fn simplex_label_log_prob(
    logits: Tensor<2>,
    labels: Tensor<2>,
    cols: usize,
    parts: usize,
) -> Tensor<2> {
    let [batch, dims] = logits.dims();
    let rows = dims / cols;
    let log_split = log_softmax(logits.reshape([batch, rows, cols]), 2);
    let labelled = softmax(labels.reshape([batch, rows, cols]), 2);
    (labelled * log_split)
        .sum_dim(2)
        .reshape([batch, parts, rows / parts])
        .sum_dim(2)
        .reshape([batch, parts])
}

/// Row-wise softmax of `logits` `[rows * cols]` laid out row-major: the simplex action sent to
/// the environment.
pub fn simplex_from_logits(logits: &[f32], cols: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(logits.len());
    for row in logits.chunks(cols) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = row.iter().map(|v| (v - max).exp()).collect();
        let sum: f32 = exps.iter().sum();
        out.extend(exps.iter().map(|e| e / sum));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn device() -> Device {
        Device::flex()
    }

    fn values(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    fn close(a: &[f32], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((f64::from(*x) - y).abs() < 1e-4, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn masked_categorical_matches_closed_forms() {
        let d = device();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 0.5, 0.5, 9.0], [2, 3]),
            &d,
        );
        let legal = Tensor::<2, Bool>::from_data(
            TensorData::new(vec![true, true, true, true, true, false], [2, 3]),
            &d,
        );
        let lp = masked_log_probs(logits, legal);
        let actions = Tensor::<1, Int>::from_data(TensorData::new(vec![2i64, 0], [2]), &d);
        // Row 0: softmax(1, 2, 3); row 1: the 9.0 entry is masked, so uniform over two.
        let z0: f64 = [1.0f64, 2.0, 3.0].iter().map(|v| v.exp()).sum();
        let p0: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|v| v.exp() / z0).collect();
        close(
            &values(categorical_log_prob(lp.clone(), actions)),
            &[p0[2].ln(), 0.5f64.ln()],
        );
        let h0: f64 = -p0.iter().map(|p| p * p.ln()).sum::<f64>();
        close(&values(categorical_entropy(lp)), &[h0, 2.0f64.ln()]);
    }

    #[test]
    fn multi_discrete_adds_dimensions() {
        let d = device();
        // Two dimensions of 2 and 3 options, all logits 0: uniform.
        let logits = Tensor::<2>::zeros([1, 5], &d);
        let actions = Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 2], [1, 2]), &d);
        let (lp, h) = multi_discrete(logits, &[2, 3], actions);
        close(&values(lp), &[-(2.0f64.ln() + 3.0f64.ln())]);
        close(&values(h), &[2.0f64.ln() + 3.0f64.ln()]);
    }

    #[test]
    fn gaussian_matches_closed_forms() {
        let d = device();
        let mean = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 1.0], [1, 2]), &d);
        let log_std = Tensor::<1>::from_data(TensorData::new(vec![0.0f32, 0.5f32.ln()], [2]), &d);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 1.5], [1, 2]), &d);
        let ln2pi = (2.0 * std::f64::consts::PI).ln();
        // dim 0: N(0, 1) at 1; dim 1: N(1, 0.5) at 1.5 (z = 1).
        let expected = (-0.5 - 0.5 * ln2pi) + (-0.5 - 0.5f64.ln() - 0.5 * ln2pi);
        close(
            &values(gaussian_log_prob(mean.clone(), log_std.clone(), x.clone(), 1).reshape([1])),
            &[expected],
        );
        // Per dimension (two parts of one), the two terms apart.
        close(
            &values(gaussian_log_prob(mean, log_std.clone(), x, 2).reshape([2])),
            &[-0.5 - 0.5 * ln2pi, -0.5 - 0.5f64.ln() - 0.5 * ln2pi],
        );
        close(
            &values(gaussian_entropy(log_std)),
            &[2.0 * (0.5 + 0.5 * ln2pi) + 0.5f64.ln()],
        );
    }

    #[test]
    fn simplex_rows_sum_to_one() {
        let s = simplex_from_logits(&[0.0, 0.0, 1000.0, 1.0, 2.0, 3.0], 3);
        assert!((s[..3].iter().sum::<f32>() - 1.0).abs() < 1e-6 && (s[2] - 1.0).abs() < 1e-6);
        assert!((s[3..].iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
