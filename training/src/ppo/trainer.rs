//! The training loop: rollouts on a `VecEnv` (one batched inference per step across all
//! copies), PPO updates, logging (TensorBoard, `metrics.csv`), checkpoints and resumption.
//!
//! Determinism: the network initialisation, action sampling and minibatch order come from one
//! generator seeded by the config, sampling runs sequentially over copies after the batched
//! forward pass, and the copies' episodes are seeded by (seed, copy, episode); env stepping
//! threads therefore change nothing.

use super::adam::Adam;
use super::checkpoint::{Checkpoint, CopyState, write_atomic};
use super::config::TrainConfig;
use super::rollout::Rollout;
use super::update::{Update, UpdateStats};
use crate::tensorboard::EventWriter;
use anyhow::{Context, Result, anyhow, bail};
use burn::module::Module;
use burn::tensor::{Bool, Tensor, TensorData};
use planetgym_agents::nn::normalise::RewardScaler;
use planetgym_agents::nn::params;
use planetgym_agents::nn::policy::{Brain, PolicyFile};
use planetgym_agents::nn::{inference_device, training_device};
use planetgym_env::rng::{Rng, derive_seed};
use planetgym_env::{Action, AutoresetMode, MetricAggregation, Scenario, VecEnv};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub const POLICY_FILE: &str = "policy.json";
pub const CONFIG_FILE: &str = "config.toml";
pub const METRICS_FILE: &str = "metrics.csv";

/// What happened in one update, for logs, progress bars and callbacks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateReport {
    pub updates: u64,
    pub total_updates: u64,
    pub env_steps: u64,
    pub total_steps: u64,
    /// Environment steps per second of wall time over the whole run.
    pub sps: f64,
    pub elapsed_s: f64,
    /// Episodes that ended during this update's rollout.
    pub episodes: usize,
    /// Mean (unscaled) return and length of those episodes (NaN when none ended).
    pub episode_return: f64,
    pub episode_length: f64,
    /// The scenario's metrics over those episodes, in `metric_names()` order.
    pub metrics: Vec<(String, f64)>,
    pub stats: UpdateStats,
    pub learning_rate: f64,
    /// Seconds of this update spent stepping environments, in network inference (including
    /// normalisation and sampling) and in the PPO update.
    pub env_s: f64,
    pub inference_s: f64,
    pub update_s: f64,
}

impl UpdateReport {
    /// Named scalar values (TensorBoard tags and `metrics.csv` columns).
    pub fn scalars(&self) -> Vec<(String, f64)> {
        let s = &self.stats;
        let mut v: Vec<(String, f64)> = [
            ("charts/episode_return", self.episode_return),
            ("charts/episode_length", self.episode_length),
            ("charts/episodes", self.episodes as f64),
            ("charts/sps", self.sps),
            ("charts/learning_rate", self.learning_rate),
            ("losses/policy", s.policy_loss),
            ("losses/value", s.value_loss),
            ("losses/entropy", s.entropy),
            ("losses/approx_kl", s.approx_kl),
            ("losses/clip_fraction", s.clip_fraction),
            ("losses/grad_norm", s.grad_norm),
            ("losses/explained_variance", s.explained_variance),
            ("losses/epochs", s.epochs as f64),
            ("time/env_s", self.env_s),
            ("time/inference_s", self.inference_s),
            ("time/update_s", self.update_s),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        v.extend(
            self.metrics
                .iter()
                .map(|(k, x)| (format!("metrics/{k}"), *x)),
        );
        v
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub run_dir: PathBuf,
    pub updates: u64,
    pub env_steps: u64,
    /// Stopped by the stop flag or `stop_after` before the configured steps.
    pub interrupted: bool,
    pub last: Option<UpdateReport>,
}

/// A training run's settings beyond the config.
#[derive(Debug)]
pub struct Run<'a> {
    pub config: &'a TrainConfig,
    /// The scenario's resolved config (TOML), saved with the policy.
    pub scenario_config: &'a str,
    pub run_dir: &'a Path,
    /// Continue from the run directory's checkpoint.
    pub resume: bool,
    /// Set (e.g. by Ctrl-C) to stop after the current update, with a checkpoint.
    pub stop: &'a AtomicBool,
    /// Stop (with a checkpoint) once this many updates are done in total.
    pub stop_after: Option<u64>,
}

struct Finished {
    ret: f64,
    steps: u64,
    metrics: Vec<f64>,
}

/// Trains on copies of `prototype` and returns how the run ended. Files in `run.run_dir`:
/// the resolved config, `metrics.csv`, TensorBoard events under `tb/`, `checkpoint.json` and
/// `policy.json` (the latest weights, for `planetgym eval`).
pub fn train<S: Scenario + Clone>(
    prototype: &S,
    run: &Run,
    on_update: &mut dyn FnMut(&UpdateReport),
) -> Result<Outcome> {
    let config = run.config;
    let c = &config.ppo;
    let dir = run.run_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let train_device = training_device();
    let infer_device = inference_device();
    let copies = config.num_envs;
    let batch = (c.rollout_steps * copies) as u64;
    let total_updates = config.total_steps.div_ceil(batch);
    let metric_names = prototype.metric_names();
    let aggregation = prototype.metric_aggregation();

    let mut brain = Brain::new(
        prototype,
        config.hidden,
        c.initial_log_std as f32,
        c.normalise_obs,
        derive_seed(config.seed, &[0x1417]),
        &train_device,
    )
    .map_err(|e| anyhow!("{}: {e}", prototype.name()))?;
    let head = brain.head.clone();
    let per_row = c.counterfactual_rows;
    if per_row && head.parts(true) == 1 {
        bail!(
            "ppo.counterfactual_rows needs an action made of rows (a simplex); {} has {:?}",
            prototype.name(),
            prototype.action_space()
        );
    }
    let parts = head.parts(per_row);
    let mut envs = VecEnv::new(
        vec![prototype.clone(); copies],
        derive_seed(config.seed, &[0xE1]),
        config.threads,
        AutoresetMode::SameStep,
    )?;
    let mut weights = params::read(&brain.model);
    let mut adam = Adam::new(&weights);
    let mut rng = Rng::new(derive_seed(config.seed, &[0x5A3]));
    let mut reward_scaler = c
        .normalise_reward
        .then(|| RewardScaler::new(copies, c.gamma));
    // Per copy: running episode totals and the raw actions of the current episode.
    let mut trackers: Vec<CopyState> = (0..copies)
        .map(|_| CopyState {
            metric_sums: vec![0.0; metric_names.len()],
            last_metrics: vec![0.0; metric_names.len()],
            ..CopyState::default()
        })
        .collect();
    let (mut updates, mut env_steps, mut elapsed_before) = (0u64, 0u64, 0.0f64);

    if run.resume {
        let ck = Checkpoint::load(dir)?;
        if ck.config != *config {
            bail!(
                "{}: the checkpoint was written with another config; resume with the run's own {CONFIG_FILE}",
                dir.display()
            );
        }
        let loaded = Brain::load(prototype, &ck.policy, &train_device)
            .map_err(|e| anyhow!("{}: checkpoint policy: {e}", dir.display()))?;
        brain.model = loaded.model;
        brain.normaliser = loaded.normaliser;
        weights = params::read(&brain.model);
        ck.adam
            .check(&weights)
            .map_err(|e| anyhow!("{}: {e}", dir.display()))?;
        adam = ck.adam;
        rng = Rng::from_state(ck.rng);
        reward_scaler = ck.reward_scaler;
        for (i, state) in ck.copies.into_iter().enumerate() {
            let actions = state
                .raw_actions
                .iter()
                .map(|raw| head.to_action(raw))
                .collect::<Result<Vec<Action>, String>>()
                .map_err(|e| anyhow!("{}: copy {i}: {e}", dir.display()))?;
            envs.restore(i, state.episode, &actions)?;
            trackers[i] = state;
        }
        (updates, env_steps, elapsed_before) = (ck.updates, ck.env_steps, ck.elapsed_s);
        truncate_metrics(&dir.join(METRICS_FILE), updates)?;
    } else {
        write_atomic(&dir.join(CONFIG_FILE), config.to_toml()?.as_bytes())?;
        std::fs::write(dir.join(METRICS_FILE), b"")
            .with_context(|| format!("cannot create {}", dir.join(METRICS_FILE).display()))?;
    }

    let mut events = EventWriter::create(&dir.join("tb"), &format!(".{updates}"))
        .with_context(|| format!("cannot create TensorBoard events in {}", dir.display()))?;
    let started = Instant::now();
    let obs_len = envs.obs_len();
    let mut last = None;
    let mut interrupted = false;

    while updates < total_updates {
        if run.stop.load(Ordering::SeqCst) || run.stop_after.is_some_and(|n| updates >= n) {
            interrupted = true;
            break;
        }
        let learning_rate = if c.anneal_lr {
            c.learning_rate * (1.0 - updates as f64 / total_updates as f64)
        } else {
            c.learning_rate
        };
        let infer = brain.model.valid();
        let log_std = params::read(&infer.log_std).values.concat();
        let mut rollout = Rollout::new(copies, obs_len, head.raw_len(), head.mask_len(), parts);
        let mut finished: Vec<Finished> = Vec::new();
        let (mut env_s, mut inference_s) = (0.0, 0.0);

        for _ in 0..c.rollout_steps {
            let t0 = Instant::now();
            let mut obs = envs.observations().to_vec();
            if let Some(n) = &mut brain.normaliser {
                n.update(&obs, obs_len);
                n.apply(&mut obs, obs_len);
            }
            let (out, values) = infer.forward_rows(&obs, obs_len, &infer_device);
            let width = head.outputs();
            let mut actions = Vec::with_capacity(copies);
            let mut masks = Vec::with_capacity(copies * head.mask_len());
            let mut raws = Vec::with_capacity(copies * head.raw_len());
            for i in 0..copies {
                let mask = envs
                    .scenario(i)
                    .and_then(|s| s.action_mask())
                    .filter(|m| m.len() == head.mask_len());
                let (raw, action) = head
                    .act(
                        &out[i * width..(i + 1) * width],
                        &log_std,
                        mask,
                        Some(&mut rng),
                    )
                    .map_err(|e| anyhow!("update {updates}, copy {i}: {e}"))?;
                match mask {
                    Some(m) => masks.extend_from_slice(m),
                    None => masks.extend(std::iter::repeat_n(true, head.mask_len())),
                }
                trackers[i].raw_actions.push(raw.clone());
                raws.extend(raw);
                actions.push(action);
            }
            let log_probs = log_probs_of(
                &head,
                &out,
                &log_std,
                &raws,
                &masks,
                copies,
                per_row,
                &infer_device,
            );
            inference_s += t0.elapsed().as_secs_f64();

            let t1 = Instant::now();
            let counterfactuals = if per_row {
                row_counterfactuals(&envs, &head, &out, &actions)
                    .with_context(|| format!("update {updates}"))?
            } else {
                Vec::new()
            };

            envs.step(&actions)
                .with_context(|| format!("update {updates}"))?;
            env_s += t1.elapsed().as_secs_f64();

            // Truncated episodes: their value is not 0, so bootstrap it into the reward.
            let t2 = Instant::now();
            let truncated: Vec<usize> = (0..copies)
                .filter(|&i| envs.truncated()[i] && !envs.terminated()[i])
                .collect();
            let mut bootstrap = vec![0.0f32; copies];
            if !truncated.is_empty() {
                let mut finals: Vec<f32> = truncated
                    .iter()
                    .flat_map(|&i| envs.final_observation(i).unwrap_or(&[]).to_vec())
                    .collect();
                if finals.len() == truncated.len() * obs_len {
                    brain.normalise(&mut finals);
                    let (_, v) = infer.forward_rows(&finals, obs_len, &infer_device);
                    for (k, &i) in truncated.iter().enumerate() {
                        bootstrap[i] = v[k];
                    }
                }
            }
            inference_s += t2.elapsed().as_secs_f64();

            for i in 0..copies {
                let reward = envs.rewards()[i];
                let done = envs.terminated()[i] || envs.truncated()[i];
                let scaled = match &mut reward_scaler {
                    Some(s) => s.scale(i, reward, done),
                    None => reward as f32,
                };
                rollout
                    .rewards
                    .push(scaled + (c.gamma as f32) * bootstrap[i]);
                if per_row {
                    // Counterfactual rewards in the trained-on units (the scale just used).
                    rollout.counterfactuals.extend(
                        counterfactuals[i * parts..(i + 1) * parts]
                            .iter()
                            .map(|&cf| match &reward_scaler {
                                Some(s) => s.rescale(cf),
                                None => cf as f32,
                            }),
                    );
                }
                rollout.dones.push(done);
                let info = if done {
                    envs.final_info(i)
                } else {
                    envs.info(i)
                };
                let t = &mut trackers[i];
                t.episode_return += reward;
                t.episode_steps += 1;
                if let Some(info) = info {
                    for (k, v) in info.values.iter().enumerate().take(t.metric_sums.len()) {
                        t.metric_sums[k] += v;
                        t.last_metrics[k] = *v;
                    }
                }
                if done {
                    let steps = t.episode_steps.max(1);
                    finished.push(Finished {
                        ret: t.episode_return,
                        steps,
                        metrics: match aggregation {
                            MetricAggregation::PerStepMean => {
                                t.metric_sums.iter().map(|s| s / steps as f64).collect()
                            }
                            MetricAggregation::Final => t.last_metrics.clone(),
                        },
                    });
                    t.episode = envs.episode(i).unwrap_or(t.episode + 1);
                    t.raw_actions.clear();
                    t.episode_return = 0.0;
                    t.episode_steps = 0;
                    t.metric_sums.iter_mut().for_each(|s| *s = 0.0);
                }
            }
            rollout.obs.extend(obs);
            rollout.raw_actions.extend(raws);
            rollout.masks.extend(masks);
            rollout.log_probs.extend(log_probs);
            rollout.values.extend(values);
        }
        env_steps += batch;

        let t3 = Instant::now();
        let mut last_obs = envs.observations().to_vec();
        brain.normalise(&mut last_obs);
        let (_, last_values) = infer.forward_rows(&last_obs, obs_len, &infer_device);
        let (advantages, returns) = rollout.advantages(&last_values, c.gamma, c.gae_lambda);
        let advantages = rollout.part_advantages(&advantages);
        let update = Update {
            config: c,
            head: &head,
            device: &train_device,
            learning_rate,
        };
        let (model, stats) = update
            .run(
                brain.model,
                &mut weights,
                &mut adam,
                &rollout,
                &advantages,
                &returns,
                &mut rng,
            )
            .map_err(|e| anyhow!("update {updates}: {e}"))?;
        brain.model = model;
        updates += 1;
        let update_s = t3.elapsed().as_secs_f64();

        let elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
        let mean = |f: &dyn Fn(&Finished) -> f64| {
            if finished.is_empty() {
                f64::NAN
            } else {
                finished.iter().map(f).sum::<f64>() / finished.len() as f64
            }
        };
        let report = UpdateReport {
            updates,
            total_updates,
            env_steps,
            total_steps: total_updates * batch,
            sps: env_steps as f64 / elapsed_s.max(1e-9),
            elapsed_s,
            episodes: finished.len(),
            episode_return: mean(&|f| f.ret),
            episode_length: mean(&|f| f.steps as f64),
            metrics: metric_names
                .iter()
                .enumerate()
                .map(|(k, name)| (name.to_string(), mean(&|f| f.metrics[k])))
                .collect(),
            stats,
            learning_rate,
            env_s,
            inference_s,
            update_s,
        };
        log(&mut events, &dir.join(METRICS_FILE), &report)?;
        on_update(&report);
        last = Some(report);

        let stopping = run.stop.load(Ordering::SeqCst)
            || run.stop_after.is_some_and(|n| updates >= n)
            || updates == total_updates;
        if stopping || updates % config.checkpoint_every == 0 {
            let policy = brain.to_file(prototype, run.scenario_config, config.hidden, env_steps);
            save_policy(dir, &policy)?;
            Checkpoint {
                format: super::checkpoint::CHECKPOINT_FORMAT,
                config: config.clone(),
                updates,
                env_steps,
                elapsed_s,
                policy,
                adam: adam.clone(),
                rng: rng.state(),
                reward_scaler: reward_scaler.clone(),
                copies: trackers.clone(),
            }
            .save(dir)?;
        }
    }
    events.flush()?;
    Ok(Outcome {
        run_dir: dir.to_path_buf(),
        updates,
        env_steps,
        interrupted,
        last,
    })
}

/// Log-probabilities of the sampled raw actions, computed by the same tensor code as the update
/// so that the first epoch's ratios start at exactly 1.
#[allow(clippy::too_many_arguments)]
fn log_probs_of(
    head: &planetgym_agents::nn::head::ActionHead,
    out: &[f32],
    log_std: &[f32],
    raws: &[f32],
    masks: &[bool],
    copies: usize,
    per_row: bool,
    device: &burn::tensor::Device,
) -> Vec<f32> {
    let params = Tensor::<2>::from_data(
        TensorData::new(out.to_vec(), [copies, head.outputs()]),
        device,
    );
    let std = Tensor::<1>::from_data(TensorData::new(log_std.to_vec(), [log_std.len()]), device);
    let raw = Tensor::<2>::from_data(
        TensorData::new(raws.to_vec(), [copies, head.raw_len()]),
        device,
    );
    let legal = (head.mask_len() > 0).then(|| {
        Tensor::<2, Bool>::from_data(
            TensorData::new(masks.to_vec(), [copies, head.mask_len()]),
            device,
        )
    });
    let (lp, _) = head.log_prob_entropy(params, std, raw, legal, per_row);
    lp.into_data().try_into_vec::<f32>().unwrap_or_default()
}

/// Per copy and row, the reward of the coming step had only that row taken the mean action
/// (`out` holds the copies' means), laid out copy-major.
fn row_counterfactuals<S: Scenario + Clone>(
    envs: &VecEnv<S>,
    head: &planetgym_agents::nn::head::ActionHead,
    out: &[f32],
    actions: &[Action],
) -> Result<Vec<f64>> {
    let width = head.outputs();
    let mut all = Vec::new();
    for (i, action) in actions.iter().enumerate() {
        let scenario = envs
            .scenario(i)
            .ok_or_else(|| anyhow!("copy {i} does not exist"))?;
        let mean = head
            .to_action(&out[i * width..(i + 1) * width])
            .map_err(|e| anyhow!("copy {i}: {e}"))?;
        let rewards = scenario
            .row_counterfactual_rewards(action, &mean)
            .ok_or_else(|| {
                anyhow!(
                    "ppo.counterfactual_rows: the {} scenario cannot compute per-row counterfactual rewards",
                    scenario.name()
                )
            })?
            .with_context(|| format!("copy {i}: counterfactual rewards"))?;
        if rewards.len() != head.parts(true) || rewards.iter().any(|r| !r.is_finite()) {
            bail!(
                "copy {i}: the {} scenario gave {} counterfactual rewards for {} rows, or a non-finite one",
                scenario.name(),
                rewards.len(),
                head.parts(true)
            );
        }
        all.extend(rewards);
    }
    Ok(all)
}

/// Writes the latest policy (what `planetgym eval --policy RUN_DIR` reads).
pub fn save_policy(dir: &Path, policy: &PolicyFile) -> Result<()> {
    let json = serde_json::to_vec(policy).context("cannot serialise the policy")?;
    write_atomic(&dir.join(POLICY_FILE), &json)
}

/// Reads `DIR/policy.json`.
pub fn load_policy(dir: &Path) -> Result<PolicyFile> {
    let path = dir.join(POLICY_FILE);
    let text = std::fs::read(&path).with_context(|| format!("no policy at {}", path.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{} is corrupt or not a planetgym policy", path.display()))
}

/// Appends the report to TensorBoard and `metrics.csv` (header on the first row).
fn log(events: &mut EventWriter, csv: &Path, report: &UpdateReport) -> Result<()> {
    let scalars = report.scalars();
    let refs: Vec<(&str, f64)> = scalars.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    events.scalars(report.env_steps, &refs)?;
    events.flush()?;
    let new = std::fs::metadata(csv).map(|m| m.len() == 0).unwrap_or(true);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(csv)
        .with_context(|| format!("cannot open {}", csv.display()))?;
    let mut text = String::new();
    if new {
        text += "update,env_steps,";
        text += &scalars
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(",");
        text += "\n";
    }
    text += &format!("{},{},", report.updates, report.env_steps);
    text += &scalars
        .iter()
        .map(|(_, v)| v.to_string())
        .collect::<Vec<_>>()
        .join(",");
    text += "\n";
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", csv.display()))
}

/// Drops `metrics.csv` rows after update `updates` (logged after the checkpoint a resumed run
/// starts from), so the file reads as one uninterrupted run.
fn truncate_metrics(csv: &Path, updates: u64) -> Result<()> {
    let text = std::fs::read_to_string(csv).unwrap_or_default();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(k, line)| {
            *k == 0
                || line
                    .split(',')
                    .next()
                    .and_then(|u| u.parse::<u64>().ok())
                    .is_some_and(|u| u <= updates)
        })
        .map(|(_, line)| line)
        .collect();
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    write_atomic(csv, out.as_bytes())
}
