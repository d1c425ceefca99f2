//! The PPO update: clipped policy objective, (optionally clipped) value loss, entropy bonus,
//! minibatch epochs with a KL early stop, on the training (autodiff) device.

use super::adam::Adam;
use super::config::PpoConfig;
use super::rollout::Rollout;
use burn::tensor::{Bool, Device, Tensor, TensorData};
use planetgym_agents::nn::error::NetworkError;
use planetgym_agents::nn::head::ActionHead;
use planetgym_agents::nn::models::ActorCritic;
use planetgym_agents::nn::params::{self, Weights};
use planetgym_env::rng::Rng;

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
        mut model: ActorCritic,
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
        'epochs: for _ in 0..c.epochs {
            stats.epochs += 1;
            shuffle(&mut order, rng);
            for chunk in order.chunks(size) {
                let (loss, parts) = self.loss(&model, rollout, advantages, returns, chunk);
                let grads = loss.backward();
                let g = params::read_grads(&model, &grads);
                let norm = adam.step(weights, &g, self.learning_rate, c.max_grad_norm);
                if !norm.is_finite() {
                    return Err(NetworkError::Unusable(
                        "the gradient norm is not finite: training diverged".into(),
                    ));
                }
                model = params::write(model, weights)?;
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

    /// The loss of one minibatch and its parts (policy loss, value loss, entropy,
    /// approximate KL, clip fraction).
    fn loss(
        &self,
        model: &ActorCritic,
        rollout: &Rollout,
        advantages: &[f32],
        returns: &[f32],
        idx: &[usize],
    ) -> (Tensor<1>, [f64; 5]) {
        let c = self.config;
        let d = self.device;
        let m = idx.len();
        let gather = |src: &[f32], width: usize| -> Vec<f32> {
            idx.iter()
                .flat_map(|&i| src[i * width..(i + 1) * width].iter().copied())
                .collect()
        };
        let t1 = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [m]), d);
        let t2 = |v: Vec<f32>, w: usize| Tensor::<2>::from_data(TensorData::new(v, [m, w]), d);
        let parts = rollout.parts;
        let mut adv = gather(advantages, parts);
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
        let obs = t2(gather(&rollout.obs, rollout.obs_len), rollout.obs_len);
        let raw = t2(
            gather(&rollout.raw_actions, rollout.raw_len),
            rollout.raw_len,
        );
        let legal = (rollout.mask_len > 0).then(|| {
            let w = rollout.mask_len;
            let v: Vec<bool> = idx
                .iter()
                .flat_map(|&i| rollout.masks[i * w..(i + 1) * w].iter().copied())
                .collect();
            Tensor::<2, Bool>::from_data(TensorData::new(v, [m, w]), d)
        });
        let old_log_probs = t2(gather(&rollout.log_probs, parts), parts);
        let old_values = t1(gather(&rollout.values, 1));
        let returns = t1(gather(returns, 1));
        let adv = t2(adv, parts);

        let (out, values) = model.forward(obs);
        let (log_probs, entropy) =
            self.head
                .log_prob_entropy(out, model.log_std.val(), raw, legal, parts > 1);
        // Each part's ratio is clipped on its own, and the KL early stop reads the mean over
        // parts: each row keeps its own trust region.
        let log_ratio = log_probs - old_log_probs;
        let ratio = log_ratio.clone().exp();
        let clip = c.clip as f32;
        let unclipped = adv.clone() * ratio.clone();
        let clipped = adv * ratio.clone().clamp(1.0 - clip, 1.0 + clip);
        let policy_loss = -unclipped.min_pair(clipped).mean();
        let value_loss = if c.clip_value > 0.0 {
            let cv = c.clip_value as f32;
            let v_clipped = old_values.clone() + (values.clone() - old_values).clamp(-cv, cv);
            let a = (values - returns.clone()).powf_scalar(2.0);
            let b = (v_clipped - returns).powf_scalar(2.0);
            a.max_pair(b).mean().mul_scalar(0.5)
        } else {
            (values - returns).powf_scalar(2.0).mean().mul_scalar(0.5)
        };
        let entropy = entropy.mean();
        let loss = policy_loss.clone() + value_loss.clone().mul_scalar(c.value_coef as f32)
            - entropy.clone().mul_scalar(c.entropy_coef as f32);

        let scalar = |t: Tensor<1>| f64::from(t.into_scalar::<f32>());
        let approx_kl = scalar(((ratio.clone() - 1.0) - log_ratio).mean().detach());
        let clip_fraction = scalar(
            (ratio.detach() - 1.0)
                .abs()
                .greater_elem(clip)
                .float()
                .mean(),
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
