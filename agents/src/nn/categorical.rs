//! A masked `Discrete` head's log-probabilities, entropies and their gradient, on host memory:
//! what PPO's collection and update use instead of burn's tensor ops for this head (four
//! passes of `exp` over every candidate plus autodiff's buffers were a third of placement's
//! gradient step). One function serves both, so a rollout's log-probabilities and the update's
//! first epoch agree exactly. Masked logits count as `MASKED_LOGIT`, as in the burn head.

use super::error::NetworkError;

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
        let mut out = Self {
            n,
            probs: vec![0.0; rows * n],
            ..Self::default()
        };
        for (r, (z, probs)) in logits
            .chunks_exact(n)
            .zip(out.probs.chunks_exact_mut(n))
            .enumerate()
        {
            let action = raw[r];
            if !(action >= 0.0 && action.fract() == 0.0 && (action as usize) < n) {
                return Err(NetworkError::Unusable(format!(
                    "row {r}: action {action} is not one of the {n} choices"
                )));
            }
            let action = action as usize;
            let legal = legal.get(r * n..(r + 1) * n);
            let logit = |j: usize| match legal {
                Some(l) if !l[j] => MASKED_LOGIT,
                _ => z[j],
            };
            let max = (0..n).map(logit).fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for (j, p) in probs.iter_mut().enumerate() {
                *p = (logit(j) - max).exp();
                sum += *p;
            }
            let (ln_sum, scale) = (sum.ln(), 1.0 / sum);
            let mut entropy = 0.0;
            for (j, p) in probs.iter_mut().enumerate() {
                *p *= scale;
                entropy -= *p * ((logit(j) - max) - ln_sum);
            }
            out.log_probs.push((logit(action) - max) - ln_sum);
            out.entropy.push(entropy);
            out.actions.push(action);
            out.log_norm.push(max + ln_sum);
        }
        Ok(out)
    }

    /// The gradient with respect to `logits` (with `legal`, those given to `new`) of
    /// `sum(log_probs * d_log_probs) + sum(entropy * d_entropy)`; masked logits get none.
    pub fn logit_gradient(
        &self,
        (logits, legal): (&[f32], &[bool]),
        d_log_probs: &[f32],
        d_entropy: &[f32],
    ) -> Vec<f32> {
        let n = self.n;
        let mut d = vec![0.0; self.probs.len()];
        let rows = d
            .chunks_exact_mut(n)
            .zip(self.probs.chunks_exact(n))
            .zip(logits.chunks_exact(n))
            .zip(d_log_probs.iter().zip(d_entropy))
            .enumerate();
        for (r, (((d, probs), z), (&g_lp, &g_h))) in rows {
            let (h, log_norm) = (self.entropy[r], self.log_norm[r]);
            let legal = legal.get(r * n..(r + 1) * n);
            for (j, ((d, &p), &z)) in d.iter_mut().zip(probs).zip(z).enumerate() {
                if legal.is_none_or(|l| l[j]) {
                    let taken = if j == self.actions[r] { g_lp } else { 0.0 };
                    *d = taken - g_lp * p - g_h * p * ((z - log_norm) + h);
                }
            }
        }
        d
    }
}
