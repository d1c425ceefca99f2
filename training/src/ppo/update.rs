//! The PPO update: clipped policy objective, (optionally clipped) value loss, entropy bonus,
//! minibatch epochs with a KL early stop, on the training (autodiff) device.
//!
//! Each minibatch is cut into shards whose gradients are computed in parallel and summed in
//! shard order. A shard's network passes run by hand (`FusedNetwork`) on the host copy of the
//! weights that Adam updates, and burn's autodiff computes only the head's loss on the
//! network's outputs (on per-row log-probabilities and entropies computed by hand, for a
//! `Discrete` head): the weights are written into the burn model once, after the last
//! minibatch. Shards are sized from the network and the minibatch alone, never from the number
//! of threads, so results do not depend on it.

use super::adam::Adam;
use super::config::PpoConfig;
use super::rollout::Rollout;
use burn::tensor::{Bool, Device, Tensor, TensorData};
use planetgym_agents::nn::categorical::Categorical;
use planetgym_agents::nn::error::NetworkError;
use planetgym_agents::nn::fused::{FusedNetwork, Tape};
use planetgym_agents::nn::head::ActionHead;
use planetgym_agents::nn::models::ActorCritic;
use planetgym_agents::nn::params::{self, Weights};
use planetgym_env::rng::Rng;
use rayon::prelude::*;

/// A shard's rows hold at most this many floats of each per-row tensor (2 MiB; see
/// `ActorCritic::activations_per_row`). The MLP's update is bound by memory traffic (hidden
/// layers of 16-128 units): tensors that stay in a core's cache made it faster per core than
/// whole minibatches. Entity networks' hidden layers stay in cache by tiles whatever the
/// shard; their shards are bounded by the outputs, and fewer of them spend less on each
/// shard's fixed costs (the head's loss through burn): placement's gradient step went from
/// 34 to 30 ms with 256 rows per shard instead of 21.
const SHARD_ACTIVATIONS: usize = 1 << 19;
/// At least this many shards, so that both cores of the machines this is tuned for work.
const MIN_SHARDS: usize = 2;

/// Rows per shard of a minibatch of `rows` rows, for a network with `per_row` activations.
fn shard_rows(rows: usize, per_row: usize) -> usize {
    (SHARD_ACTIVATIONS / per_row.max(1))
        .min(rows.div_ceil(MIN_SHARDS))
        .max(1)
}

/// What one update did, averaged over its minibatches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateStats {
    pub policy_loss: f64,
    pub value_loss: f64,
    pub entropy: f64,
    pub approx_kl: f64,
    pub clip_fraction: f64,
    pub grad_norm: f64,
    pub explained_variance: f64,
    /// Epochs run (fewer than configured when the KL early stop fired).
    pub epochs: usize,
}

/// What an update learns from: the rollout with its advantages (one per part of each step) and
/// value targets.
#[derive(Debug)]
pub struct Targets<'a> {
    pub rollout: &'a Rollout,
    pub advantages: &'a [f32],
    pub returns: &'a [f32],
}

/// The flat copy of the weights that Adam updates, and Adam's state.
#[derive(Debug, Clone)]
pub struct Optimiser {
    pub weights: Weights,
    pub adam: Adam,
}

impl Optimiser {
    /// Adam at step 0 over `model`'s weights.
    pub fn for_model(model: &ActorCritic) -> Self {
        let weights = params::read(model);
        Self {
            adam: Adam::new(&weights),
            weights,
        }
    }
}

#[derive(Debug)]
pub struct Update<'a> {
    pub config: &'a PpoConfig,
    pub head: &'a ActionHead,
    pub device: &'a Device,
    pub learning_rate: f64,
}

impl Update<'_> {
    /// Runs the epochs on `targets` and returns the updated model.
    pub fn run(
        &self,
        model: ActorCritic,
        optimiser: &mut Optimiser,
        targets: &Targets,
        rng: &mut Rng,
    ) -> Result<(ActorCritic, UpdateStats), NetworkError> {
        let Targets {
            rollout,
            advantages,
            returns,
        } = *targets;
        let Optimiser { weights, adam } = optimiser;
        let c = self.config;
        let n = rollout.len();
        let size = n.div_ceil(c.minibatches);
        let mut stats = UpdateStats {
            explained_variance: explained_variance(&rollout.values, returns),
            ..UpdateStats::default()
        };
        let mut batches = 0.0;
        let mut order: Vec<usize> = (0..n).collect();
        let shard_size = shard_rows(size, model.activations_per_row());
        let net = model.fused();
        let mut tapes = vec![Tape::default(); size.div_ceil(shard_size)];
        'epochs: for _ in 0..c.epochs {
            stats.epochs += 1;
            shuffle(&mut order, rng);
            for chunk in order.chunks(size) {
                let adv = minibatch_advantages(chunk, advantages, rollout.parts, c);
                let shard = Shard {
                    net: &net,
                    weights,
                    rollout,
                    returns,
                    rows: chunk.len(),
                };
                let shards: Vec<(Weights, [f64; 5])> = tapes
                    .par_iter_mut()
                    .zip(chunk.par_chunks(shard_size))
                    .zip(adv.par_chunks(shard_size * rollout.parts))
                    .map(|((tape, idx), adv)| self.gradient(&shard, tape, idx, adv))
                    .collect::<Result<_, _>>()?;
                let (g, parts) = sum_shards(shards);
                let norm = adam.step(weights, &g, self.learning_rate, c.max_grad_norm);
                if !norm.is_finite() {
                    return Err(NetworkError::Unusable(
                        "the gradient norm is not finite: training diverged".into(),
                    ));
                }
                let [pl, vl, h, kl, cf] = parts;
                stats.policy_loss += pl;
                stats.value_loss += vl;
                stats.entropy += h;
                stats.approx_kl += kl;
                stats.clip_fraction += cf;
                stats.grad_norm += norm;
                batches += 1.0;
                if c.target_kl > 0.0 && kl > c.target_kl {
                    break 'epochs;
                }
            }
        }
        let model = params::write(model, weights)?;
        for v in [
            &mut stats.policy_loss,
            &mut stats.value_loss,
            &mut stats.entropy,
            &mut stats.approx_kl,
            &mut stats.clip_fraction,
            &mut stats.grad_norm,
        ] {
            *v /= f64::max(batches, 1.0);
        }
        Ok((model, stats))
    }

    /// The gradient of the loss of the `idx` rows (every parameter, in `params::read` order)
    /// and its parts: the network's passes by hand, the head's loss through burn's autodiff on
    /// the network's outputs (on log-probabilities and entropies computed by hand for a
    /// `Discrete` head in a PPO update, see `Categorical`).
    fn gradient(
        &self,
        shard: &Shard,
        tape: &mut Tape,
        idx: &[usize],
        adv: &[f32],
    ) -> Result<(Weights, [f64; 5]), NetworkError> {
        let Shard {
            net,
            weights,
            rollout,
            ..
        } = *shard;
        let d = self.device;
        let m = idx.len();
        let width = rollout.obs_len;
        let obs: Vec<&[f32]> = idx
            .iter()
            .map(|&i| &rollout.obs[i * width..(i + 1) * width])
            .collect();
        let (out, values) = net.forward(weights, &obs, tape)?;
        let values = leaf(values, [m], d);
        let log_std = weights.values.last().cloned().unwrap_or_default();
        let std_len = log_std.len();
        let ppo = rollout.label_weights.is_empty();
        let policy = match self.head {
            ActionHead::Discrete { n } if ppo => {
                let legal = gather(idx, &rollout.masks, rollout.mask_len);
                let raw = gather(idx, &rollout.raw_actions, rollout.raw_len);
                let head = Categorical::new(&out, *n, &legal, &raw)?;
                Policy::Computed {
                    log_probs: leaf(head.log_probs.clone(), [m, 1], d),
                    entropy: leaf(head.entropy.clone(), [m], d),
                    head,
                    logits: out,
                    legal,
                }
            }
            _ => Policy::Outputs {
                out: leaf(out, [m, net.outputs()], d),
                log_std: leaf(log_std, [std_len], d),
            },
        };
        let (loss, parts) = self.loss(&policy, values.clone(), shard, idx, adv);
        let grads = loss.backward();
        let d_values = params::values_or_zeros(values.grad(&grads), m);
        let (d_out, d_log_std) = match &policy {
            Policy::Computed {
                log_probs,
                entropy,
                head,
                logits,
                legal,
            } => {
                let d_log_probs = params::values_or_zeros(log_probs.grad(&grads), m);
                let d_entropy = params::values_or_zeros(entropy.grad(&grads), m);
                let d_out = head.logit_gradient((logits, legal), &d_log_probs, &d_entropy);
                (d_out, vec![0.0; std_len])
            }
            Policy::Outputs { out, log_std } => (
                params::values_or_zeros(out.grad(&grads), m * net.outputs()),
                params::values_or_zeros(log_std.grad(&grads), std_len),
            ),
        };
        let mut values = net.backward(weights, &obs, tape, &d_out, &d_values)?;
        values.push(d_log_std);
        Ok((
            Weights {
                shapes: weights.shapes.clone(),
                values,
            },
            parts,
        ))
    }

    /// The loss of the `idx` rows of a minibatch of `shard.rows` rows from the network's
    /// outputs (action parameters, values, log standard deviations), and its parts (policy
    /// loss, value loss, entropy, approximate KL, clip fraction), each a sum over these rows
    /// divided by `shard.rows`: the shards' losses and parts add up to the minibatch's means.
    /// `adv` holds the rows' advantages, normalised over the minibatch.
    fn loss(
        &self,
        policy: &Policy,
        values: Tensor<1>,
        shard: &Shard,
        idx: &[usize],
        adv: &[f32],
    ) -> (Tensor<1>, [f64; 5]) {
        let Shard {
            rollout,
            returns,
            rows,
            ..
        } = *shard;
        let c = self.config;
        let d = self.device;
        let m = idx.len();
        let t1 = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [m]), d);
        let t2 = |v: Vec<f32>, w: usize| Tensor::<2>::from_data(TensorData::new(v, [m, w]), d);
        let parts = rollout.parts;
        // Means over the whole minibatch: per row (values) and per row and part (the policy).
        let per_row = 1.0 / rows as f32;
        let per_part = per_row / parts as f32;
        let old_log_probs = t2(gather(idx, &rollout.log_probs, parts), parts);
        let old_values = t1(gather(idx, &rollout.values, 1));
        let returns = t1(gather(idx, returns, 1));
        let adv = t2(adv.to_vec(), parts);

        let (log_probs, entropy) = match policy {
            Policy::Computed {
                log_probs, entropy, ..
            } => (log_probs.clone(), entropy.clone()),
            Policy::Outputs { out, log_std } => {
                let (out, log_std) = (out.clone(), log_std.clone());
                let raw = t2(
                    gather(idx, &rollout.raw_actions, rollout.raw_len),
                    rollout.raw_len,
                );
                let legal = (rollout.mask_len > 0).then(|| {
                    let w = rollout.mask_len;
                    let flags = gather(idx, &rollout.masks, w);
                    Tensor::<2, Bool>::from_data(TensorData::new(flags, [m, w]), d)
                });
                if !rollout.label_weights.is_empty() {
                    let log_probs = self
                        .head
                        .label_log_prob(out, log_std, raw, legal, parts > 1);
                    return self.imitation_loss(
                        log_probs,
                        gather(idx, &rollout.label_weights, 1),
                        values,
                        returns,
                        per_part,
                        per_row,
                    );
                }
                self.head
                    .log_prob_entropy(out, log_std, raw, legal, parts > 1)
            }
        };
        let scalar = |t: Tensor<1>| f64::from(t.into_scalar::<f32>());
        // Each part's ratio is clipped on its own, and the KL early stop reads the mean over
        // parts: each row keeps its own trust region.
        let log_ratio = log_probs - old_log_probs;
        let ratio = log_ratio.clone().exp();
        let clip = c.clip as f32;
        let unclipped = adv.clone() * ratio.clone();
        let clipped = adv * ratio.clone().clamp(1.0 - clip, 1.0 + clip);
        let policy_loss = -unclipped.min_pair(clipped).sum().mul_scalar(per_part);
        let squared_error = if c.clip_value > 0.0 {
            let cv = c.clip_value as f32;
            let v_clipped = old_values.clone() + (values.clone() - old_values).clamp(-cv, cv);
            let a = (values - returns.clone()).powf_scalar(2.0);
            let b = (v_clipped - returns).powf_scalar(2.0);
            a.max_pair(b)
        } else {
            (values - returns).powf_scalar(2.0)
        };
        let value_loss = squared_error.sum().mul_scalar(0.5 * per_row);
        // Gaussian heads give one entropy per dimension and row, the others one per row.
        let per_entropy = per_row * m as f32 / entropy.dims()[0].max(1) as f32;
        let entropy = entropy.sum().mul_scalar(per_entropy);
        let loss = policy_loss.clone() + value_loss.clone().mul_scalar(c.value_coef as f32)
            - entropy.clone().mul_scalar(c.entropy_coef as f32);

        let approx_kl = scalar(
            ((ratio.clone() - 1.0) - log_ratio)
                .sum()
                .mul_scalar(per_part)
                .detach(),
        );
        let clip_fraction = scalar(
            (ratio.detach() - 1.0)
                .abs()
                .greater_elem(clip)
                .float()
                .sum()
                .mul_scalar(per_part),
        );
        let parts = [
            scalar(policy_loss.detach()),
            scalar(value_loss.detach()),
            scalar(entropy.detach()),
            approx_kl,
            clip_fraction,
        ];
        (loss, parts)
    }
}

impl Update<'_> {
    /// An imitation update's loss: the cross-entropy of the expert's labels (see
    /// `ActionHead::label_log_prob`; each row weighted
    /// by `weights`: 0 where the label could not be expressed) and the value loss, with the
    /// same per-minibatch scaling as PPO's loss; its parts as `loss` gives them (no KL, no
    /// clipping).
    fn imitation_loss(
        &self,
        log_probs: Tensor<2>,
        weights: Vec<f32>,
        values: Tensor<1>,
        returns: Tensor<1>,
        per_part: f32,
        per_row: f32,
    ) -> (Tensor<1>, [f64; 5]) {
        let m = weights.len();
        let weights = Tensor::<2>::from_data(TensorData::new(weights, [m, 1]), self.device);
        let cross_entropy = -(log_probs * weights).sum().mul_scalar(per_part);
        let value_loss = (values - returns)
            .powf_scalar(2.0)
            .sum()
            .mul_scalar(0.5 * per_row);
        let loss =
            cross_entropy.clone() + value_loss.clone().mul_scalar(self.config.value_coef as f32);
        let scalar = |t: Tensor<1>| f64::from(t.into_scalar::<f32>());
        let parts = [
            scalar(cross_entropy.detach()),
            scalar(value_loss.detach()),
            0.0,
            0.0,
            0.0,
        ];
        (loss, parts)
    }
}

/// How a shard's loss reads the policy: through the head's burn code on the network's outputs
/// (and log standard deviations), or as log-probabilities and entropies already computed by
/// `head` from `logits`, which turns their gradients into the logits'.
enum Policy {
    Outputs {
        out: Tensor<2>,
        log_std: Tensor<1>,
    },
    Computed {
        log_probs: Tensor<2>,
        entropy: Tensor<1>,
        head: Categorical,
        logits: Vec<f32>,
        legal: Vec<bool>,
    },
}

/// What every shard of a minibatch shares.
struct Shard<'a> {
    net: &'a FusedNetwork,
    weights: &'a Weights,
    rollout: &'a Rollout,
    returns: &'a [f32],
    /// Rows in the whole minibatch.
    rows: usize,
}

/// An autodiff leaf holding `values`: the loss's gradients are read back from it.
fn leaf<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device).require_grad()
}

/// The `idx` rows of `src` (rows of `width` values), in `idx` order.
fn gather<T: Copy>(idx: &[usize], src: &[T], width: usize) -> Vec<T> {
    idx.iter()
        .flat_map(|&i| src[i * width..(i + 1) * width].iter().copied())
        .collect()
}

/// The advantages of the `idx` rows (`parts` per row, in `idx` order), normalised over them when
/// the config asks: over the whole minibatch, before it is cut into shards.
fn minibatch_advantages(
    idx: &[usize],
    advantages: &[f32],
    parts: usize,
    c: &PpoConfig,
) -> Vec<f32> {
    let mut adv: Vec<f32> = idx
        .iter()
        .flat_map(|&i| advantages[i * parts..(i + 1) * parts].iter().copied())
        .collect();
    if c.normalise_advantages && adv.len() > 1 {
        let n = adv.len() as f64;
        let mean = adv.iter().map(|&a| f64::from(a)).sum::<f64>() / n;
        let var = adv
            .iter()
            .map(|&a| (f64::from(a) - mean).powi(2))
            .sum::<f64>()
            / n;
        let std = var.sqrt() + 1e-8;
        adv.iter_mut()
            .for_each(|a| *a = ((f64::from(*a) - mean) / std) as f32);
    }
    adv
}

/// The shards' gradients and loss parts summed, in shard order.
fn sum_shards(shards: Vec<(Weights, [f64; 5])>) -> (Weights, [f64; 5]) {
    let mut shards = shards.into_iter();
    let Some((mut total, mut parts)) = shards.next() else {
        return (
            Weights {
                shapes: Vec::new(),
                values: Vec::new(),
            },
            [0.0; 5],
        );
    };
    for (g, p) in shards {
        for (t, v) in total.values.iter_mut().zip(&g.values) {
            t.iter_mut().zip(v).for_each(|(t, v)| *t += v);
        }
        parts.iter_mut().zip(p).for_each(|(t, v)| *t += v);
    }
    (total, parts)
}

/// Fisher-Yates with the trainer's generator (deterministic for a seed).
fn shuffle(order: &mut [usize], rng: &mut Rng) {
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
}

/// 1 - Var(returns - values) / Var(returns): how much of the return the value function explains.
pub fn explained_variance(values: &[f32], returns: &[f32]) -> f64 {
    let n = returns.len().max(1) as f64;
    let var = |x: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = x.collect();
        let mean = v.iter().sum::<f64>() / n;
        v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n
    };
    let var_ret = var(&mut returns.iter().map(|&r| f64::from(r)));
    if var_ret <= 0.0 {
        return 0.0;
    }
    let var_res = var(&mut returns
        .iter()
        .zip(values)
        .map(|(&r, &v)| f64::from(r) - f64::from(v)));
    1.0 - var_res / var_ret
}
