//! A masked `Discrete` head's log-probabilities, entropies and their gradient, on host memory:
//! what PPO's collection and update use instead of burn's tensor ops for this head (four
//! passes of `exp` over every candidate plus autodiff's buffers were a third of placement's
//! gradient step). One function serves both, so a rollout's log-probabilities and the update's
//! first epoch agree exactly. Masked logits count as `MASKED_LOGIT`, as in the burn head.
//!
//! Each row runs on whole SIMD vectors (`simd::exp`, sixteen lanes with AVX-512): the scalar
//! `exp` per candidate was 8 % of placement's training CPU.

use super::error::NetworkError;
use super::simd::{self, dispatch};
use pulp::{Simd, WithSimd};

const MASKED_LOGIT: f32 = -1.0e9;

/// Per row: the log-probability of the taken action and the entropy, and what the gradient
/// needs (the probabilities and each row's log-normaliser).
#[derive(Debug, Clone, Default)]
pub struct Categorical {
    n: usize,
    pub log_probs: Vec<f32>,
    pub entropy: Vec<f32>,
    actions: Vec<usize>,
    /// `rows x n`, 0 where masked.
    probs: Vec<f32>,
    /// Per row: the largest logit plus the log of the sum of exponentials above it.
    log_norm: Vec<f32>,
}

impl Categorical {
    /// `logits` `[rows, n]`, `legal` `[rows, n]` (empty: every action legal), `raw` the taken
    /// actions as the head stores them (one index per row).
    pub fn new(
        logits: &[f32],
        n: usize,
        legal: &[bool],
        raw: &[f32],
    ) -> Result<Self, NetworkError> {
        let rows = raw.len();
        if n == 0 || logits.len() != rows * n || !(legal.is_empty() || legal.len() == rows * n) {
            return Err(NetworkError::Mismatch(format!(
                "a categorical head over {n} actions given {} logits, {} mask flags and {rows} actions",
                logits.len(),
                legal.len()
            )));
        }
        for (r, &action) in raw.iter().enumerate() {
            if !(action >= 0.0 && action.fract() == 0.0 && (action as usize) < n) {
                return Err(NetworkError::Unusable(format!(
                    "row {r}: action {action} is not one of the {n} choices"
                )));
            }
        }
        Ok(dispatch(Rows {
            logits,
            n,
            legal,
            actions: raw.iter().map(|&a| a as usize).collect(),
        }))
    }

    /// The gradient with respect to `logits` (with `legal`, those given to `new`) of
    /// `sum(log_probs * d_log_probs) + sum(entropy * d_entropy)`; masked logits get none.
    pub fn logit_gradient(
        &self,
        (logits, legal): (&[f32], &[bool]),
        d_log_probs: &[f32],
        d_entropy: &[f32],
    ) -> Vec<f32> {
        dispatch(Gradient {
            head: self,
            logits,
            legal,
            d_log_probs,
            d_entropy,
        })
    }
}

/// `Categorical::new` on checked inputs.
struct Rows<'a> {
    logits: &'a [f32],
    n: usize,
    legal: &'a [bool],
    actions: Vec<usize>,
}

impl WithSimd for Rows<'_> {
    type Output = Categorical;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Categorical {
        let Rows {
            logits,
            n,
            legal,
            actions,
        } = self;
        let rows = actions.len();
        let lanes = size_of::<S::f32s>() / size_of::<f32>();
        let mut out = Categorical {
            n,
            probs: vec![0.0; rows * n],
            ..Categorical::default()
        };
        // One row's logits, masked, in whole vectors: the lanes past `n` hold -inf, whose
        // probability is 0 and which no maximum picks.
        let mut row = vec![f32::NEG_INFINITY; n.next_multiple_of(lanes)];
        let mut probs = vec![0.0; row.len()];
        for ((r, z), &action) in logits.chunks_exact(n).enumerate().zip(&actions) {
            match legal.get(r * n..(r + 1) * n) {
                Some(legal) => {
                    for ((x, &z), &legal) in row.iter_mut().zip(z).zip(legal) {
                        *x = if legal { z } else { MASKED_LOGIT };
                    }
                }
                None => row[..n].copy_from_slice(z),
            }
            let (vectors, _) = S::as_simd_f32s(&row);
            let max = simd.reduce_max_f32s(
                vectors
                    .iter()
                    .fold(simd.splat_f32s(f32::NEG_INFINITY), |m, &v| {
                        simd.max_f32s(m, v)
                    }),
            );
            let (max_v, zero) = (simd.splat_f32s(max), simd.splat_f32s(0.0));
            let (p_vectors, _) = S::as_mut_simd_f32s(&mut probs);
            let mut sum = zero;
            for (p, &x) in p_vectors.iter_mut().zip(vectors) {
                *p = simd::exp(simd, simd.sub_f32s(x, max_v));
                sum = simd.add_f32s(sum, *p);
            }
            let sum = simd.reduce_sum_f32s(sum);
            let ln_sum = sum.ln();
            let (scale, ln_sum_v) = (simd.splat_f32s(1.0 / sum), simd.splat_f32s(ln_sum));
            let mut entropy = zero;
            for (p, &x) in p_vectors.iter_mut().zip(vectors) {
                *p = simd.mul_f32s(*p, scale);
                let log_p = simd.sub_f32s(simd.sub_f32s(x, max_v), ln_sum_v);
                // Lanes of probability 0 (masked, or past `n`) add nothing: 0 * -inf is NaN.
                let term = simd.mul_f32s(*p, log_p);
                let on = simd.greater_than_f32s(*p, zero);
                entropy = simd.sub_f32s(entropy, simd.select_f32s(on, term, zero));
            }
            out.probs[r * n..(r + 1) * n].copy_from_slice(&probs[..n]);
            out.log_probs.push((row[action] - max) - ln_sum);
            out.entropy.push(simd.reduce_sum_f32s(entropy));
            out.actions.push(action);
            out.log_norm.push(max + ln_sum);
        }
        out
    }
}

/// `Categorical::logit_gradient`.
struct Gradient<'a> {
    head: &'a Categorical,
    logits: &'a [f32],
    legal: &'a [bool],
    d_log_probs: &'a [f32],
    d_entropy: &'a [f32],
}

impl WithSimd for Gradient<'_> {
    type Output = Vec<f32>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Vec<f32> {
        let Gradient {
            head,
            logits,
            legal,
            d_log_probs,
            d_entropy,
        } = self;
        let n = head.n;
        let mut d = vec![0.0; head.probs.len()];
        let rows = d
            .chunks_exact_mut(n)
            .zip(head.probs.chunks_exact(n))
            .zip(logits.chunks_exact(n))
            .zip(d_log_probs.iter().zip(d_entropy))
            .enumerate();
        for (r, (((d, probs), z), (&g_lp, &g_h))) in rows {
            // d_j = [j taken] g_lp - p_j (g_lp + g_h (z_j - log_norm + h)) for legal j.
            let offset = head.entropy[r] - head.log_norm[r];
            let (g_lp_v, g_h_v) = (simd.splat_f32s(g_lp), simd.splat_f32s(g_h));
            let offset_v = simd.splat_f32s(offset);
            let (d_head, d_tail) = S::as_mut_simd_f32s(d);
            let (p_head, p_tail) = S::as_simd_f32s(probs);
            let (z_head, z_tail) = S::as_simd_f32s(z);
            for ((d, &p), &z) in d_head.iter_mut().zip(p_head).zip(z_head) {
                let inner = simd.mul_add_f32s(g_h_v, simd.add_f32s(z, offset_v), g_lp_v);
                *d = simd.neg_f32s(simd.mul_f32s(p, inner));
            }
            for ((d, &p), &z) in d_tail.iter_mut().zip(p_tail).zip(z_tail) {
                *d = -(p * g_h.mul_add(z + offset, g_lp));
            }
            let action = head.actions[r];
            d[action] += g_lp;
            // Masked actions get none (a row with none legal has uniform probabilities).
            if let Some(legal) = legal.get(r * n..(r + 1) * n) {
                d.iter_mut()
                    .zip(legal)
                    .for_each(|(d, &l)| *d = if l { *d } else { 0.0 });
            }
        }
        d
    }
}
