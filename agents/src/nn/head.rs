//! Action heads: how a row of network outputs becomes an action of the scenario's space, and
//! the log-probability and entropy of a stored action under those outputs.
//!
//! A stored ("raw") action is what the distribution generated: the index for `Discrete`, one
//! index per dimension for `MultiDiscrete`, the unclipped Gaussian sample for `Box` (the
//! environment gets it clipped to the bounds) and the Gaussian logits for `Simplex` (the
//! environment gets their row-wise softmax). PPO's ratios are taken on raw actions.

use super::distributions::{
    categorical_entropy, categorical_log_prob, gaussian_entropy, gaussian_log_prob,
    masked_log_probs, multi_discrete, simplex_from_logits, simplex_label_log_prob,
};
use super::error::NetworkError;
use burn::tensor::{Bool, Int, Tensor};
use planetgym_env::rng::Rng;
use planetgym_env::{Action, Space};

const MASKED_LOGIT: f32 = -1.0e9;
/// The smallest share a simplex label's logits express (a zero share becomes this one).
const SIMPLEX_LABEL_FLOOR: f32 = 1.0e-6;

#[derive(Debug, Clone, PartialEq)]
pub enum ActionHead {
    Discrete { n: usize },
    MultiDiscrete { nvec: Vec<usize> },
    Gaussian { low: Vec<f32>, high: Vec<f32> },
    Simplex { rows: usize, cols: usize },
}

impl ActionHead {
    pub fn for_space(space: &Space) -> Self {
        match space {
            Space::Discrete { n } => Self::Discrete { n: *n },
            Space::MultiDiscrete { nvec } => Self::MultiDiscrete { nvec: nvec.clone() },
            Space::Box { low, high } => Self::Gaussian {
                low: low.clone(),
                high: high.clone(),
            },
            Space::Simplex { rows, cols } => Self::Simplex {
                rows: *rows,
                cols: *cols,
            },
        }
    }

    /// Network outputs per observation (logits or means).
    pub fn outputs(&self) -> usize {
        match self {
            Self::Discrete { n } => *n,
            Self::MultiDiscrete { nvec } => nvec.iter().sum(),
            Self::Gaussian { low, .. } => low.len(),
            Self::Simplex { rows, cols } => rows * cols,
        }
    }

    /// Values per stored action.
    pub fn raw_len(&self) -> usize {
        match self {
            Self::Discrete { .. } => 1,
            Self::MultiDiscrete { nvec } => nvec.len(),
            Self::Gaussian { .. } | Self::Simplex { .. } => self.outputs(),
        }
    }

    /// Learned log standard deviations: one per dimension for `Box`, one shared by every logit
    /// for `Simplex` (so an entity network stays independent of the number of entities).
    pub fn std_len(&self) -> usize {
        match self {
            Self::Discrete { .. } | Self::MultiDiscrete { .. } => 0,
            Self::Gaussian { low, .. } => low.len(),
            Self::Simplex { .. } => 1,
        }
    }

    /// Length of the legal-action mask (0 for continuous heads).
    pub fn mask_len(&self) -> usize {
        match self {
            Self::Discrete { .. } | Self::MultiDiscrete { .. } => self.outputs(),
            Self::Gaussian { .. } | Self::Simplex { .. } => 0,
        }
    }

    /// One action from one row of outputs: sampled with `rng`, or the mode when `rng` is None.
    /// Returns the raw action and the environment's action.
    pub fn act(
        &self,
        params: &[f32],
        log_std: &[f32],
        mask: Option<&[bool]>,
        mut rng: Option<&mut Rng>,
    ) -> Result<(Vec<f32>, Action), NetworkError> {
        if let Some(i) = params.iter().position(|v| !v.is_finite()) {
            return Err(NetworkError::Unusable(format!(
                "network output {i} is {} (diverged)",
                params[i]
            )));
        }
        let legal = |i: usize| mask.is_none_or(|m| m.get(i).copied().unwrap_or(false));
        let raw = match self {
            Self::Discrete { .. } => {
                vec![
                    choose(params, 0, &legal, rng)
                        .ok_or_else(|| NetworkError::Unusable("no legal action".into()))?
                        as f32,
                ]
            }
            Self::MultiDiscrete { nvec } => {
                let mut raw = Vec::with_capacity(nvec.len());
                let mut offset = 0;
                for &n in nvec {
                    let i = choose(
                        &params[offset..offset + n],
                        offset,
                        &legal,
                        rng.as_deref_mut(),
                    )
                    .ok_or_else(|| {
                        NetworkError::Unusable(format!(
                            "no legal choice in dimension {}",
                            raw.len()
                        ))
                    })?;
                    raw.push(i as f32);
                    offset += n;
                }
                raw
            }
            Self::Gaussian { .. } | Self::Simplex { .. } => gaussian_sample(params, log_std, rng),
        };
        let action = self.to_action(&raw)?;
        Ok((raw, action))
    }

    /// The raw action of environment action `action`, when this head can take it: a discrete
    /// choice in range and legal under `mask`, or for `Simplex` the logits `ln(max(p, 1e-6))`
    /// of a split `p` (each row normalised by its sum first, as the environment does; an
    /// all-zero row splits evenly), whose softmax is `p` to within 1e-5. None otherwise, and
    /// for `Box` heads.
    pub fn raw_of(&self, action: &Action, mask: Option<&[bool]>) -> Option<Vec<f32>> {
        let legal = |i: usize| mask.is_none_or(|m| m.get(i).copied().unwrap_or(false));
        match (self, action) {
            (Self::Simplex { rows, cols }, Action::Continuous(split))
                if split.len() == rows * cols
                    && split.iter().all(|v| v.is_finite() && *v >= 0.0) =>
            {
                let mut raw = Vec::with_capacity(split.len());
                for row in split.chunks(*cols) {
                    let sum: f32 = row.iter().sum();
                    raw.extend(row.iter().map(|&v| {
                        let share = if sum > 0.0 {
                            v / sum
                        } else {
                            1.0 / *cols as f32
                        };
                        share.max(SIMPLEX_LABEL_FLOOR).ln()
                    }));
                }
                Some(raw)
            }
            (Self::Discrete { n }, Action::Discrete(i)) if *i < *n && legal(*i) => {
                Some(vec![*i as f32])
            }
            (Self::MultiDiscrete { nvec }, Action::MultiDiscrete(choices))
                if choices.len() == nvec.len() =>
            {
                let mut offset = 0;
                for (&choice, &n) in choices.iter().zip(nvec) {
                    if choice >= n || !legal(offset + choice) {
                        return None;
                    }
                    offset += n;
                }
                Some(choices.iter().map(|&c| c as f32).collect())
            }
            _ => None,
        }
    }

    /// The environment's action for a raw action.
    pub fn to_action(&self, raw: &[f32]) -> Result<Action, NetworkError> {
        if raw.len() != self.raw_len() || raw.iter().any(|v| !v.is_finite()) {
            return Err(NetworkError::Unusable(format!(
                "a raw action needs {} finite values, got {raw:?}",
                self.raw_len()
            )));
        }
        Ok(match self {
            Self::Discrete { .. } => Action::Discrete(raw[0] as usize),
            Self::MultiDiscrete { .. } => {
                Action::MultiDiscrete(raw.iter().map(|&v| v as usize).collect())
            }
            Self::Gaussian { low, high } => Action::Continuous(
                raw.iter()
                    .zip(low.iter().zip(high))
                    .map(|(v, (lo, hi))| v.clamp(*lo, *hi))
                    .collect(),
            ),
            Self::Simplex { cols, .. } => Action::Continuous(simplex_from_logits(raw, *cols)),
        })
    }

    /// Parts of an action whose log-probabilities are kept apart: a simplex's rows when
    /// `per_row` (they are drawn independently), else the whole action.
    pub fn parts(&self, per_row: bool) -> usize {
        match self {
            Self::Simplex { rows, .. } if per_row => *rows,
            _ => 1,
        }
    }

    /// Per row `[B, 1]`, or per part `[B, rows]` with `per_row`: how well the outputs imitate
    /// the labels `raw` (raw actions of the expert, see [`Self::raw_of`]). For discrete heads
    /// the labels' log-probability; for `Simplex`, the cross-entropy's negative between the
    /// labelled split and the split of the outputs' mean logits, sum_j q_j ln softmax(mean)_j,
    /// which does not depend on the exploration noise (a Gaussian likelihood of the logits
    /// would also fit their level, which the softmax ignores).
    pub fn label_log_prob(
        &self,
        params: Tensor<2>,
        log_std: Tensor<1>,
        raw: Tensor<2>,
        legal: Option<Tensor<2, Bool>>,
        per_row: bool,
    ) -> Tensor<2> {
        match self {
            Self::Simplex { cols, .. } => {
                simplex_label_log_prob(params, raw, *cols, self.parts(per_row))
            }
            _ => {
                self.log_prob_entropy(params, log_std, raw, legal, per_row)
                    .0
            }
        }
    }

    /// Log-probabilities `[B, parts]` of raw actions `[B, raw_len]` under outputs
    /// `[B, outputs]`, per part of `parts(per_row)` (they add up to the action's), and
    /// entropies `[B]`; `legal` `[B, mask_len]` for categorical heads.
    pub fn log_prob_entropy(
        &self,
        params: Tensor<2>,
        log_std: Tensor<1>,
        raw: Tensor<2>,
        legal: Option<Tensor<2, Bool>>,
        per_row: bool,
    ) -> (Tensor<2>, Tensor<1>) {
        let [batch, _] = params.dims();
        let params = match legal {
            Some(legal) => params.mask_fill(legal.bool_not(), MASKED_LOGIT),
            None => params,
        };
        let (log_prob, entropy) = match self {
            Self::Gaussian { .. } | Self::Simplex { .. } => {
                let dims = self.outputs();
                let log_std = if self.std_len() == 1 {
                    log_std.repeat_dim(0, dims)
                } else {
                    log_std
                };
                let entropy = gaussian_entropy(log_std.clone()).repeat_dim(0, batch);
                let parts = self.parts(per_row);
                return (gaussian_log_prob(params, log_std, raw, parts), entropy);
            }
            Self::Discrete { n } => {
                let all = Tensor::<2, Bool>::full([batch, *n], true, &params.device());
                let lp = masked_log_probs(params, all);
                let actions: Tensor<1, Int> = raw.reshape([batch]).int();
                (
                    categorical_log_prob(lp.clone(), actions),
                    categorical_entropy(lp),
                )
            }
            Self::MultiDiscrete { nvec } => multi_discrete(params, nvec, raw.int()),
        };
        (log_prob.reshape([batch, 1]), entropy)
    }
}

/// Index (offset by `offset` for the mask) among `logits`, sampled or greedy; masked and
/// non-finite entries are never chosen.
fn choose(
    logits: &[f32],
    offset: usize,
    legal: &impl Fn(usize) -> bool,
    rng: Option<&mut Rng>,
) -> Option<usize> {
    let allowed: Vec<usize> = (0..logits.len()).filter(|&i| legal(offset + i)).collect();
    let Some(rng) = rng else {
        return allowed
            .into_iter()
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)));
    };
    let max = allowed
        .iter()
        .map(|&i| logits[i])
        .fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<f64> = allowed
        .iter()
        .map(|&i| f64::from(logits[i] - max).exp())
        .collect();
    let mut u = rng.uniform() * weights.iter().sum::<f64>();
    for (k, w) in weights.iter().enumerate() {
        if u < *w {
            return Some(allowed[k]);
        }
        u -= w;
    }
    allowed.last().copied()
}

/// `mean + std * N(0, 1)` per dimension (the mean itself without `rng`); one shared log std
/// when `log_std` has a single entry.
fn gaussian_sample(mean: &[f32], log_std: &[f32], rng: Option<&mut Rng>) -> Vec<f32> {
    let Some(rng) = rng else {
        return mean.to_vec();
    };
    mean.iter()
        .enumerate()
        .map(|(i, m)| {
            let s = log_std.get(i).or(log_std.first()).copied().unwrap_or(0.0);
            m + s.exp() * rng.normal() as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn t2(v: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v, shape), &Device::flex())
    }

    fn vals<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn raw_of_inverts_to_action_for_legal_discrete_choices_only() {
        let head = ActionHead::for_space(&Space::MultiDiscrete { nvec: vec![2, 3] });
        let mask = [true, true, false, true, true];
        let action = Action::MultiDiscrete(vec![1, 2]);
        let raw = head.raw_of(&action, Some(&mask)).unwrap();
        assert_eq!(head.to_action(&raw).unwrap(), action);
        assert_eq!(
            head.raw_of(&Action::MultiDiscrete(vec![0, 0]), Some(&mask)),
            None
        );
        assert_eq!(head.raw_of(&Action::MultiDiscrete(vec![0, 3]), None), None);
        let discrete = ActionHead::for_space(&Space::Discrete { n: 4 });
        assert_eq!(discrete.raw_of(&Action::Discrete(3), None), Some(vec![3.0]));
        assert_eq!(discrete.raw_of(&Action::Discrete(4), None), None);
        let boxed = ActionHead::for_space(&Space::Box {
            low: vec![0.0],
            high: vec![1.0],
        });
        assert_eq!(boxed.raw_of(&Action::Continuous(vec![0.5]), None), None);
    }

    #[test]
    fn a_split_label_turns_back_into_the_split() {
        let simplex = ActionHead::for_space(&Space::Simplex { rows: 3, cols: 3 });
        // Rows as the environment reads them: normalised by their sum, all-zero splits evenly.
        let split = [0.2, 0.0, 0.8, 2.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        let want = [
            0.2,
            0.0,
            0.8,
            0.5,
            0.25,
            0.25,
            1.0 / 3.0,
            1.0 / 3.0,
            1.0 / 3.0,
        ];
        let raw = simplex
            .raw_of(&Action::Continuous(split.to_vec()), None)
            .unwrap();
        let Action::Continuous(back) = simplex.to_action(&raw).unwrap() else {
            panic!("not a split");
        };
        assert!(
            back.iter().zip(want).all(|(b, w)| (b - w).abs() < 1e-5),
            "{back:?}"
        );
        for bad in [
            vec![0.5, -0.1, 0.6, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
            vec![0.5; 4],
        ] {
            assert_eq!(simplex.raw_of(&Action::Continuous(bad), None), None);
        }
    }

    #[test]
    fn a_split_label_is_imitated_best_by_its_own_logits() {
        let head = ActionHead::for_space(&Space::Simplex { rows: 2, cols: 3 });
        let label = vec![1.0f32, -2.0, 0.5, 0.0, 3.0, -1.0];
        let std = Tensor::<1>::from_data(TensorData::new(vec![0.0f32], [1]), &Device::flex());
        let score = |logits: Vec<f32>, per_row: bool| {
            let (logits, labels) = (t2(logits, [1, 6]), t2(label.clone(), [1, 6]));
            vals(head.label_log_prob(logits, std.clone(), labels, None, per_row))
        };
        let own = score(label.clone(), false)[0];
        // The same logits shifted per row give the same split, so the same score.
        let shifted: Vec<f32> = label
            .iter()
            .enumerate()
            .map(|(i, v)| v + if i < 3 { 4.0 } else { -7.0 })
            .collect();
        assert!((score(shifted, false)[0] - own).abs() < 1e-5);
        assert!(score(vec![0.0; 6], false)[0] < own);
        assert!(score(vec![1.0, -2.0, 0.5, 3.0, 0.0, -1.0], false)[0] < own);
        // Per row: one part per simplex row, summing to the whole.
        let parts = score(label.clone(), true);
        assert_eq!(parts.len(), 2);
        assert!((parts[0] + parts[1] - own).abs() < 1e-5);
    }

    #[test]
    fn masked_discrete_never_samples_illegal_and_scores_like_a_renormalised_softmax() {
        let head = ActionHead::for_space(&Space::Discrete { n: 3 });
        let mask = [true, false, true];
        let mut rng = Rng::new(1);
        for _ in 0..200 {
            let (raw, a) = head
                .act(&[0.0, 5.0, 0.0], &[], Some(&mask), Some(&mut rng))
                .unwrap();
            assert_ne!(a, Action::Discrete(1));
            assert_eq!(raw.len(), 1);
        }
        let legal =
            Tensor::<2, Bool>::from_data(TensorData::new(mask.to_vec(), [1, 3]), &Device::flex());
        let (lp, h) = head.log_prob_entropy(
            t2(vec![0.0, 5.0, 0.0], [1, 3]),
            Tensor::zeros([0], &Device::flex()),
            t2(vec![2.0], [1, 1]),
            Some(legal),
            true,
        );
        assert!((vals(lp)[0] - 0.5f32.ln()).abs() < 1e-5);
        assert!((vals(h)[0] - 2.0f32.ln()).abs() < 1e-5);
    }

    #[test]
    fn simplex_head_sends_row_softmax_and_scores_the_logits() {
        let head = ActionHead::for_space(&Space::Simplex { rows: 2, cols: 2 });
        let (raw, action) = head.act(&[0.0, 0.0, 1.0, 1.0], &[0.0], None, None).unwrap();
        assert_eq!(raw, vec![0.0, 0.0, 1.0, 1.0]);
        assert_eq!(action, Action::Continuous(vec![0.5, 0.5, 0.5, 0.5]));
        // Raw equal to the mean, std 1 on 4 dims: log N(0; 0, 1) * 4.
        let (lp, h) = head.log_prob_entropy(
            t2(vec![0.0, 0.0, 1.0, 1.0], [1, 4]),
            Tensor::zeros([1], &Device::flex()),
            t2(raw, [1, 4]),
            None,
            false,
        );
        let ln2pi = (2.0 * std::f32::consts::PI).ln();
        assert!((vals(lp)[0] + 2.0 * ln2pi).abs() < 1e-4);
        assert!((vals(h)[0] - 4.0 * (0.5 + 0.5 * ln2pi)).abs() < 1e-4);
        // Per row: row 0 sits at its mean (log N(0; 0, 1) x 2), row 1 one std away on both
        // logits (each dimension loses another 1/2).
        let (rows, _) = head.log_prob_entropy(
            t2(vec![0.0, 0.0, 1.0, 1.0], [1, 4]),
            Tensor::zeros([1], &Device::flex()),
            t2(vec![0.0, 0.0, 2.0, 0.0], [1, 4]),
            None,
            true,
        );
        assert_eq!(head.parts(true), 2);
        let rows = vals(rows);
        assert!(
            (rows[0] + ln2pi).abs() < 1e-5 && (rows[1] + ln2pi + 1.0).abs() < 1e-5,
            "{rows:?}"
        );
    }

    #[test]
    fn box_actions_are_clipped_for_the_env_but_stored_raw() {
        let head = ActionHead::for_space(&Space::Box {
            low: vec![-1.0],
            high: vec![1.0],
        });
        let (raw, action) = head.act(&[3.0], &[0.0], None, None).unwrap();
        assert_eq!((raw, action), (vec![3.0], Action::Continuous(vec![1.0])));
        assert!(head.act(&[f32::NAN], &[0.0], None, None).is_err());
    }
}
