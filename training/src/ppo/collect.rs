//! Collecting a rollout: `rollout_steps` steps of every copy, with one batched inference per
//! step across the copies, and the episodes that ended on the way. An [`Actor`] holds what
//! collecting needs (the copies, the network, the sampling generator); the trainer owns one, and
//! so does each rollout worker of a distributed run (`remote.rs`).

use super::checkpoint::CopyState;
use super::config::TrainConfig;
use super::imitation::{self, Experts};
use super::rollout::Rollout;
use crate::error::{Result, TrainingError};
use burn::tensor::{Bool, Device, Tensor, TensorData};
use planetgym_agents::evaluate::ContenderFactory;
use planetgym_agents::nn::categorical::Categorical;
use planetgym_agents::nn::error::NetworkError;
use planetgym_agents::nn::fused::FusedPolicy;
use planetgym_agents::nn::head::ActionHead;
use planetgym_agents::nn::normalise::{ObsNormaliser, RewardScaler, RunningStats};
use planetgym_agents::nn::policy::{Brain, PolicyFile};
use planetgym_agents::nn::{inference_device, training_device};
use planetgym_env::rng::{Rng, derive_seed};
use planetgym_env::{Action, AutoresetMode, MetricAggregation, Scenario, VecEnv};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// An episode that ended during a rollout.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Finished {
    pub ret: f64,
    pub steps: u64,
    pub metrics: Vec<f64>,
}

/// A rollout ready for the update: its transitions, their GAE targets, the episodes that ended
/// in it, and where its time went.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Batch {
    pub rollout: Rollout,
    /// Per part (see [`Rollout::part_advantages`]).
    pub advantages: Vec<f32>,
    pub returns: Vec<f32>,
    pub finished: Vec<Finished>,
    pub env_s: f64,
    pub inference_s: f64,
    /// A rollout worker's observation statistics of this rollout alone, for the learner to
    /// merge into its normaliser (None in one process, or without observation normalisation).
    pub fresh: Option<RunningStats>,
}

impl Batch {
    /// Checks the rollout and that its targets cover every transition (part).
    pub fn check(&self) -> std::result::Result<(), String> {
        self.rollout.check()?;
        let n = self.rollout.len();
        if self.advantages.len() != n * self.rollout.parts || self.returns.len() != n {
            return Err(format!("its targets do not cover its {n} transitions"));
        }
        Ok(())
    }

    /// Appends another worker's batch: its transitions after these, its finished episodes, and
    /// the longer of the two times (the workers ran side by side).
    pub fn append(&mut self, other: Batch) -> std::result::Result<(), String> {
        other.check()?;
        self.rollout.append(other.rollout)?;
        self.advantages.extend(other.advantages);
        self.returns.extend(other.returns);
        self.finished.extend(other.finished);
        self.env_s = self.env_s.max(other.env_s);
        self.inference_s = self.inference_s.max(other.inference_s);
        Ok(())
    }
}

/// One step's network outputs and sampled actions, for every copy.
struct Sampled {
    /// The head's parameters (logits or means), `copies x outputs`.
    out: Vec<f32>,
    actions: Vec<Action>,
    raws: Vec<f32>,
    masks: Vec<bool>,
}

/// What collecting a rollout needs and carries from one rollout to the next.
pub(super) struct Actor<S: Scenario + Clone> {
    /// The run's config; `num_envs` is this actor's copies (a worker's share).
    pub config: TrainConfig,
    pub prototype: S,
    pub envs: VecEnv<S>,
    pub brain: Brain,
    pub head: ActionHead,
    pub rng: Rng,
    pub reward_scaler: Option<RewardScaler>,
    /// Per copy: its episode, the raw actions taken in it, running episode totals.
    pub copies: Vec<CopyState>,
    /// The imitated baseline, one per copy (None without imitation).
    pub experts: Option<Experts<S>>,
    pub infer_device: Device,
    /// The update this rollout is for (counted from 0): sets the imitation's expert fraction.
    pub update: u64,
    /// Collects the observations of the current rollout alone (rollout workers).
    pub fresh: Option<ObsNormaliser>,
    /// The last rollout's buffers, emptied, for the next one: a rollout is tens of MB, and
    /// fresh memory costs the kernel's zeroing of every page on first touch (a tenth of
    /// traffic's training CPU).
    pub spare: Option<Rollout>,
}

impl<S: Scenario + Clone + 'static> Actor<S> {
    /// Copies of `prototype` and a fresh network. `stream` 0 is a run in one process; a rollout
    /// worker `w` takes stream `w + 1`, so that its episodes and draws are its own.
    pub fn new(
        prototype: &S,
        config: TrainConfig,
        expert: Option<&ContenderFactory<S>>,
        stream: u64,
    ) -> Result<Self> {
        let c = &config.ppo;
        let copies = config.num_envs;
        let metric_count = prototype.metric_names().len();
        let brain = Brain::new(
            prototype,
            config.architecture(),
            c.initial_log_std as f32,
            c.normalise_obs,
            derive_seed(config.seed, &[0x1417]),
            &training_device(),
        )
        .map_err(|e| TrainingError::run(prototype.name(), e))?;
        let head = brain.head.clone();
        if c.counterfactual_rows && head.parts(true) == 1 {
            return Err(TrainingError::config(
                "ppo.counterfactual_rows",
                format!(
                    "needs an action made of rows (a simplex); {} has {:?}",
                    prototype.name(),
                    prototype.action_space()
                ),
            ));
        }
        let experts = match (config.imitation.updates, expert) {
            (0, _) => None,
            (_, Some(make)) => {
                imitation::check_head(&head, prototype.name())?;
                Some(Experts::new(make, copies))
            }
            (_, None) => {
                return Err(TrainingError::config(
                    "imitation.expert",
                    "no expert was given to imitate",
                ));
            }
        };
        let seed = |tag: u64| match stream {
            0 => derive_seed(config.seed, &[tag]),
            w => derive_seed(config.seed, &[tag, w]),
        };
        let envs = VecEnv::new(
            prototype.clone(),
            copies,
            seed(0xE1),
            config.threads,
            AutoresetMode::SameStep,
        )?;
        Ok(Self {
            prototype: prototype.clone(),
            envs,
            brain,
            head,
            rng: Rng::new(seed(0x5A3)),
            reward_scaler: c
                .normalise_reward
                .then(|| RewardScaler::new(copies, c.gamma)),
            copies: (0..copies)
                .map(|_| CopyState {
                    metric_sums: vec![0.0; metric_count],
                    last_metrics: vec![0.0; metric_count],
                    ..CopyState::default()
                })
                .collect(),
            experts,
            infer_device: inference_device(),
            update: 0,
            fresh: None,
            spare: None,
            config,
        })
    }

    /// Takes the weights and observation statistics of `policy` (a checkpoint's, or the
    /// learner's for a rollout worker).
    pub fn adopt(&mut self, policy: &PolicyFile) -> std::result::Result<(), NetworkError> {
        let loaded = Brain::load(&self.prototype, policy, &training_device())?;
        self.brain.model = loaded.model;
        self.brain.normaliser = loaded.normaliser;
        Ok(())
    }

    /// Keeps `rollout`'s buffers, emptied, for the next rollout.
    pub fn recycle(&mut self, mut rollout: Rollout) {
        rollout.clear();
        self.spare = Some(rollout);
    }

    /// One advantage per row of the action (`ppo.counterfactual_rows`).
    pub fn per_row(&self) -> bool {
        self.config.ppo.counterfactual_rows
    }

    /// A rollout with its GAE targets, bootstrapped from the value of the observations the
    /// copies stand at after it.
    pub fn batch(&mut self) -> Result<Batch> {
        let mut infer = FusedPolicy::of(&self.brain.model);
        let mut collected = self.collect(&mut infer)?;
        let t0 = Instant::now();
        let c = &self.config.ppo;
        let mut last_obs = self.envs.observations().to_vec();
        self.brain.normalise(&mut last_obs);
        let (_, last_values) = self.infer(&mut infer, &last_obs)?;
        let rollout = &collected.rollout;
        let (advantages, returns) = rollout.advantages(&last_values, c.gamma, c.gae_lambda);
        collected.inference_s += t0.elapsed().as_secs_f64();
        Ok(Batch {
            advantages: rollout.part_advantages(&advantages),
            returns,
            rollout: collected.rollout,
            finished: collected.finished,
            env_s: collected.env_s,
            inference_s: collected.inference_s,
            fresh: self.fresh.take().map(|n| n.stats),
        })
    }
}

/// A rollout, the episodes that ended in it, and where its time went.
struct Collected {
    rollout: Rollout,
    finished: Vec<Finished>,
    env_s: f64,
    inference_s: f64,
}

impl<S: Scenario + Clone + 'static> Actor<S> {
    /// `rollout_steps` steps of every copy, acting with `infer` (the current weights).
    fn collect(&mut self, infer: &mut FusedPolicy) -> Result<Collected> {
        let (rollout_steps, gamma) = (self.config.ppo.rollout_steps, self.config.ppo.gamma);
        let copies = self.config.num_envs;
        let obs_len = self.envs.obs_len();
        let log_std = infer.log_std().to_vec();
        let parts = self.head.parts(self.per_row());
        let empty = Rollout::new(
            copies,
            obs_len,
            self.head.raw_len(),
            self.head.mask_len(),
            parts,
        );
        let mut rollout = match self.spare.take() {
            Some(spare) if spare.same_shape(&empty) => spare,
            _ => empty,
        };
        rollout.reserve(rollout_steps);
        let mut finished = Vec::new();
        let (mut env_s, mut inference_s) = (0.0, 0.0);

        for _ in 0..rollout_steps {
            let t0 = Instant::now();
            // Straight into the rollout, normalised there.
            let from = rollout.obs.len();
            rollout.obs.extend_from_slice(self.envs.observations());
            let obs = &mut rollout.obs[from..];
            if let Some(n) = &mut self.brain.normaliser {
                if let Some(fresh) = &mut self.fresh {
                    fresh.update(obs, obs_len);
                }
                n.update(obs, obs_len);
                n.apply(obs, obs_len);
            }
            let (out, values) = self.infer(infer, obs)?;
            let mut sampled = self.sample(out, &log_std)?;
            let labels = self.imitate(&mut sampled)?;
            let log_probs = self.log_probs(&sampled, &log_std)?;
            // The policy's mean actions, the reference of the counterfactual rewards.
            let means = if self.per_row() {
                self.mean_actions(&sampled.out)?
            } else {
                Vec::new()
            };
            inference_s += t0.elapsed().as_secs_f64();

            let t1 = Instant::now();
            let counterfactuals = self.row_counterfactuals(&sampled.actions, &means)?;
            self.envs
                .step(&sampled.actions)
                .map_err(|source| TrainingError::Step {
                    at: format!("update {}", self.update),
                    source,
                })?;
            env_s += t1.elapsed().as_secs_f64();

            let t2 = Instant::now();
            let bootstrap = self.truncation_bootstrap(infer)?;
            inference_s += t2.elapsed().as_secs_f64();

            for i in 0..copies {
                let reward = self.envs.rewards()[i];
                let done = self.envs.terminated()[i] || self.envs.truncated()[i];
                let scaled = match &mut self.reward_scaler {
                    Some(s) => s.scale(i, reward, done),
                    None => reward as f32,
                };
                rollout.rewards.push(scaled + (gamma as f32) * bootstrap[i]);
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
        let copies = self.config.num_envs;
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
                .map_err(|e| TrainingError::run(format!("update {}, copy {i}", self.update), e))?;
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
        let fraction = imitation::expert_fraction(&self.config.imitation, self.update);
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
                // The raw label's action (the expert's, or for a split the same to within
                // 1e-5), so that a resumed run replays exactly what was taken.
                sampled.actions[i] = self.head.to_action(raw).map_err(|e| {
                    TrainingError::run(format!("update {}, copy {i}", self.update), e)
                })?;
                if let Some(last) = self.copies[i].raw_actions.last_mut() {
                    last.clone_from(raw);
                }
            }
            raws.push(label.raw);
        }
        Ok(Some(raws))
    }

    /// Log-probabilities of the sampled raw actions, computed by the same code as the update
    /// (`Categorical` for a `Discrete` head, the head's tensor code otherwise) so that the
    /// first epoch's ratios start at exactly 1.
    fn log_probs(&self, sampled: &Sampled, log_std: &[f32]) -> Result<Vec<f32>> {
        let copies = self.config.num_envs;
        let (head, device) = (&self.head, &self.infer_device);
        let at = || format!("update {}", self.update);
        if let ActionHead::Discrete { n } = head {
            let computed = Categorical::new(&sampled.out, *n, &sampled.masks, &sampled.raws);
            return computed
                .map(|c| c.log_probs)
                .map_err(|e| TrainingError::run(at(), e));
        }
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
        lp.into_data()
            .try_into_vec::<f32>()
            .map_err(|e| TrainingError::run(at(), format!("log-probabilities: {e:?}")))
    }

    /// Every copy's mean action: the head's action at the network outputs `out`.
    fn mean_actions(&self, out: &[f32]) -> Result<Vec<Action>> {
        out.chunks(self.head.outputs().max(1))
            .enumerate()
            .map(|(i, params)| {
                self.head.to_action(params).map_err(|e| {
                    TrainingError::run(format!("update {}, copy {i}: mean action", self.update), e)
                })
            })
            .collect()
    }

    /// Per copy and row, the reward of the coming step had only that row taken the mean action
    /// (`means`), laid out copy-major; empty without means.
    fn row_counterfactuals(&self, actions: &[Action], means: &[Action]) -> Result<Vec<f64>> {
        let mut all = Vec::new();
        for (i, (action, mean)) in actions.iter().zip(means).enumerate() {
            let at = || format!("update {}, copy {i}: counterfactual rewards", self.update);
            let scenario = self
                .envs
                .scenario(i)
                .ok_or_else(|| TrainingError::run(at(), "no such copy"))?;
            let rewards = scenario
                .row_counterfactual_rewards(action, mean)
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

    /// The network's outputs and values for normalised observations.
    fn infer(&self, policy: &mut FusedPolicy, obs: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
        policy
            .forward(obs)
            .map_err(|e| TrainingError::run(format!("update {}", self.update), e))
    }

    /// Per copy, the value of the final observation of an episode that was truncated (not
    /// terminated) by this step, to be bootstrapped into its last reward; 0 elsewhere. Every
    /// truncated copy must come with its final observation (same-step autoreset keeps it).
    fn truncation_bootstrap(&self, infer: &mut FusedPolicy) -> Result<Vec<f32>> {
        let copies = self.config.num_envs;
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
                    format!("update {}, copy {i}", self.update),
                    "truncated without a final observation",
                )
            })?;
            finals.extend_from_slice(last);
        }
        self.brain.normalise(&mut finals);
        let (_, v) = self.infer(infer, &finals)?;
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
