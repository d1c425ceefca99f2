//! Collecting a rollout: `rollout_steps` steps of every copy, with one batched inference per
//! step across the copies, and the episodes that ended on the way.

use super::imitation;
use super::rollout::Rollout;
use super::trainer::Trainer;
use crate::error::{Result, TrainingError};
use burn::module::Module;
use burn::tensor::{Bool, Tensor, TensorData};
use planetgym_env::{Action, MetricAggregation, Scenario};
use std::time::Instant;

/// An episode that ended during a rollout.
#[derive(Debug)]
pub(super) struct Finished {
    pub ret: f64,
    pub steps: u64,
    pub metrics: Vec<f64>,
}

/// A rollout, the episodes that ended in it, and where its time went.
#[derive(Debug)]
pub(super) struct Collected {
    pub rollout: Rollout,
    pub finished: Vec<Finished>,
    pub env_s: f64,
    pub inference_s: f64,
}

/// One step's network outputs and sampled actions, for every copy.
struct Sampled {
    /// The head's parameters (logits or means), `copies x outputs`.
    out: Vec<f32>,
    actions: Vec<Action>,
    raws: Vec<f32>,
    masks: Vec<bool>,
}

impl<S: Scenario + Clone + 'static> Trainer<'_, S> {
    pub(super) fn collect(&mut self) -> Result<Collected> {
        let c = &self.run.config.ppo;
        let copies = self.run.config.num_envs;
        let obs_len = self.envs.obs_len();
        let infer = self.brain.model.valid();
        let log_std = planetgym_agents::nn::params::read(&infer.log_std)
            .values
            .concat();
        let parts = self.head.parts(self.per_row());
        let mut rollout = Rollout::new(
            copies,
            obs_len,
            self.head.raw_len(),
            self.head.mask_len(),
            parts,
        );
        let mut finished = Vec::new();
        let (mut env_s, mut inference_s) = (0.0, 0.0);

        for _ in 0..c.rollout_steps {
            let t0 = Instant::now();
            let mut obs = self.envs.observations().to_vec();
            if let Some(n) = &mut self.brain.normaliser {
                n.update(&obs, obs_len);
                n.apply(&mut obs, obs_len);
            }
            let (out, values) = infer.forward_rows(&obs, obs_len, &self.infer_device);
            let mut sampled = self.sample(out, &log_std)?;
            let labels = self.imitate(&mut sampled)?;
            let log_probs = self.log_probs(&sampled, &log_std)?;
            inference_s += t0.elapsed().as_secs_f64();

            let t1 = Instant::now();
            let counterfactuals = if self.per_row() {
                self.row_counterfactuals(&sampled)?
            } else {
                Vec::new()
            };
            self.envs
                .step(&sampled.actions)
                .map_err(|source| TrainingError::Step {
                    at: format!("update {}", self.updates),
                    source,
                })?;
            env_s += t1.elapsed().as_secs_f64();

            let t2 = Instant::now();
            let bootstrap = self.truncation_bootstrap(&infer)?;
            inference_s += t2.elapsed().as_secs_f64();

            for i in 0..copies {
                let reward = self.envs.rewards()[i];
                let done = self.envs.terminated()[i] || self.envs.truncated()[i];
                let scaled = match &mut self.reward_scaler {
                    Some(s) => s.scale(i, reward, done),
                    None => reward as f32,
                };
                rollout
                    .rewards
                    .push(scaled + (c.gamma as f32) * bootstrap[i]);
                if self.per_row() {
                    // Counterfactual rewards in the trained-on units (the scale just used).
                    rollout.counterfactuals.extend(
                        counterfactuals[i * parts..(i + 1) * parts]
                            .iter()
                            .map(|&cf| match &self.reward_scaler {
                                Some(s) => s.rescale(cf),
                                None => cf as f32,
                            }),
                    );
                }
                rollout.dones.push(done);
                if let Some(episode) = self.track(i, reward, done) {
                    finished.push(episode);
                }
            }
            rollout.obs.extend(obs);
            match labels {
                // Imitation learns the labels; a step without one keeps the action taken.
                Some(labels) => {
                    let width = self.head.raw_len();
                    for (i, label) in labels.into_iter().enumerate() {
                        let taken = &sampled.raws[i * width..(i + 1) * width];
                        let weight = f32::from(u8::from(label.is_some()));
                        rollout
                            .raw_actions
                            .extend(label.as_deref().unwrap_or(taken));
                        rollout.label_weights.push(weight);
                    }
                }
                None => rollout.raw_actions.extend(sampled.raws),
            }
            rollout.masks.extend(sampled.masks);
            rollout.log_probs.extend(log_probs);
            rollout.values.extend(values);
        }
        self.env_steps += self.run.config.steps_per_update();
        Ok(Collected {
            rollout,
            finished,
            env_s,
            inference_s,
        })
    }

    /// Samples every copy's action from the network outputs `out` (sequentially over copies,
    /// so that the generator's draws do not depend on threads), within the copy's mask.
    fn sample(&mut self, out: Vec<f32>, log_std: &[f32]) -> Result<Sampled> {
        let copies = self.run.config.num_envs;
        let head = &self.head;
        let width = head.outputs();
        let mut sampled = Sampled {
            actions: Vec::with_capacity(copies),
            masks: Vec::with_capacity(copies * head.mask_len()),
            raws: Vec::with_capacity(copies * head.raw_len()),
            out,
        };
        for i in 0..copies {
            let mask = self
                .envs
                .scenario(i)
                .and_then(|s| s.action_mask())
                .filter(|m| m.len() == head.mask_len());
            let (raw, action) = head
                .act(
                    &sampled.out[i * width..(i + 1) * width],
                    log_std,
                    mask,
                    Some(&mut self.rng),
                )
                .map_err(|e| TrainingError::run(format!("update {}, copy {i}", self.updates), e))?;
            match mask {
                Some(m) => sampled.masks.extend_from_slice(m),
                None => sampled
                    .masks
                    .extend(std::iter::repeat_n(true, head.mask_len())),
            }
            self.copies[i].raw_actions.push(raw.clone());
            sampled.raws.extend(raw);
            sampled.actions.push(action);
        }
        Ok(sampled)
    }

    /// During imitation: every copy's expert label (its raw action, None where the network
    /// cannot express it), and the expert's action taken instead of the sample with the
    /// current expert fraction. None once imitation is over.
    fn imitate(&mut self, sampled: &mut Sampled) -> Result<Option<Vec<Option<Vec<f32>>>>> {
        let fraction = imitation::expert_fraction(&self.run.config.imitation, self.updates);
        let (Some(fraction), Some(experts)) = (fraction, self.experts.as_mut()) else {
            return Ok(None);
        };
        let labels = experts.label(&self.envs, &self.head)?;
        let width = self.head.raw_len();
        let mut raws = Vec::with_capacity(labels.len());
        for (i, label) in labels.into_iter().enumerate() {
            // One draw per copy and step whatever the label, so the stream does not depend on
            // which labels were expressible.
            let take = self.rng.uniform() < fraction;
            if let (true, Some(raw)) = (take, &label.raw) {
                sampled.raws[i * width..(i + 1) * width].copy_from_slice(raw);
                sampled.actions[i] = label.action;
                if let Some(last) = self.copies[i].raw_actions.last_mut() {
                    last.clone_from(raw);
                }
            }
            raws.push(label.raw);
        }
        Ok(Some(raws))
    }

    /// Log-probabilities of the sampled raw actions, computed by the same tensor code as the
    /// update so that the first epoch's ratios start at exactly 1.
    fn log_probs(&self, sampled: &Sampled, log_std: &[f32]) -> Result<Vec<f32>> {
        let copies = self.run.config.num_envs;
        let (head, device) = (&self.head, &self.infer_device);
        let params = Tensor::<2>::from_data(
            TensorData::new(sampled.out.clone(), [copies, head.outputs()]),
            device,
        );
        let std =
            Tensor::<1>::from_data(TensorData::new(log_std.to_vec(), [log_std.len()]), device);
        let raw = Tensor::<2>::from_data(
            TensorData::new(sampled.raws.clone(), [copies, head.raw_len()]),
            device,
        );
        let legal = (head.mask_len() > 0).then(|| {
            Tensor::<2, Bool>::from_data(
                TensorData::new(sampled.masks.clone(), [copies, head.mask_len()]),
                device,
            )
        });
        let (lp, _) = head.log_prob_entropy(params, std, raw, legal, self.per_row());
        lp.into_data().try_into_vec::<f32>().map_err(|e| {
            TrainingError::run(
                format!("update {}", self.updates),
                format!("log-probabilities: {e:?}"),
            )
        })
    }

    /// Per copy and row, the reward of the coming step had only that row taken the mean action
    /// (the network's output), laid out copy-major.
    fn row_counterfactuals(&self, sampled: &Sampled) -> Result<Vec<f64>> {
        let width = self.head.outputs();
        let mut all = Vec::new();
        for (i, action) in sampled.actions.iter().enumerate() {
            let at = || format!("update {}, copy {i}: counterfactual rewards", self.updates);
            let scenario = self
                .envs
                .scenario(i)
                .ok_or_else(|| TrainingError::run(at(), "no such copy"))?;
            let mean = self
                .head
                .to_action(&sampled.out[i * width..(i + 1) * width])
                .map_err(|e| TrainingError::run(at(), e))?;
            let rewards = scenario
                .row_counterfactual_rewards(action, &mean)
                .ok_or_else(|| {
                    TrainingError::config(
                        "ppo.counterfactual_rows",
                        format!(
                            "the {} scenario cannot compute per-row counterfactual rewards",
                            scenario.name()
                        ),
                    )
                })?
                .map_err(|source| TrainingError::Step { at: at(), source })?;
            if rewards.len() != self.head.parts(true) || rewards.iter().any(|r| !r.is_finite()) {
                return Err(TrainingError::run(
                    at(),
                    format!(
                        "the {} scenario gave {} for {} rows, or a non-finite one",
                        scenario.name(),
                        rewards.len(),
                        self.head.parts(true)
                    ),
                ));
            }
            all.extend(rewards);
        }
        Ok(all)
    }

    /// Per copy, the value of the final observation of an episode that was truncated (not
    /// terminated) by this step, to be bootstrapped into its last reward; 0 elsewhere. Every
    /// truncated copy must come with its final observation (same-step autoreset keeps it).
    fn truncation_bootstrap(
        &self,
        infer: &planetgym_agents::nn::models::ActorCritic,
    ) -> Result<Vec<f32>> {
        let copies = self.run.config.num_envs;
        let obs_len = self.envs.obs_len();
        let truncated: Vec<usize> = (0..copies)
            .filter(|&i| self.envs.truncated()[i] && !self.envs.terminated()[i])
            .collect();
        let mut bootstrap = vec![0.0f32; copies];
        if truncated.is_empty() {
            return Ok(bootstrap);
        }
        let mut finals = Vec::with_capacity(truncated.len() * obs_len);
        for &i in &truncated {
            let last = self.envs.final_observation(i).ok_or_else(|| {
                TrainingError::run(
                    format!("update {}, copy {i}", self.updates),
                    "truncated without a final observation",
                )
            })?;
            finals.extend_from_slice(last);
        }
        self.brain.normalise(&mut finals);
        let (_, v) = infer.forward_rows(&finals, obs_len, &self.infer_device);
        for (k, &i) in truncated.iter().enumerate() {
            bootstrap[i] = v[k];
        }
        Ok(bootstrap)
    }

    /// Adds copy `i`'s step to its running episode; returns the episode if it ended.
    fn track(&mut self, i: usize, reward: f64, done: bool) -> Option<Finished> {
        let info = if done {
            self.envs.final_info(i)
        } else {
            self.envs.info(i)
        };
        let next_episode = self.envs.episode(i);
        let t = &mut self.copies[i];
        t.episode_return += reward;
        t.episode_steps += 1;
        if let Some(info) = info {
            for (k, v) in info.values.iter().enumerate().take(t.metric_sums.len()) {
                t.metric_sums[k] += v;
                t.last_metrics[k] = *v;
            }
        }
        if !done {
            return None;
        }
        let steps = t.episode_steps.max(1);
        let episode = Finished {
            ret: t.episode_return,
            steps,
            metrics: match self.prototype.metric_aggregation() {
                MetricAggregation::PerStepMean => {
                    t.metric_sums.iter().map(|s| s / steps as f64).collect()
                }
                MetricAggregation::Final => t.last_metrics.clone(),
            },
        };
        t.episode = next_episode.unwrap_or(t.episode + 1);
        t.raw_actions.clear();
        t.episode_return = 0.0;
        t.episode_steps = 0;
        t.metric_sums.iter_mut().for_each(|s| *s = 0.0);
        Some(episode)
    }
}
