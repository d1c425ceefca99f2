//! The training loop, read top to bottom in [`train`]: collect a rollout, update, log,
//! checkpoint. [`Trainer`] holds the state between updates; `collect.rs` holds the rollout.
//!
//! Determinism: the network initialisation, action sampling and minibatch order come from one
//! generator seeded by the config, sampling runs sequentially over copies after the batched
//! forward pass, and the copies' episodes are seeded by (seed, copy, episode); env stepping
//! threads therefore change nothing.

use super::best;
use super::checkpoint::{CHECKPOINT_FORMAT, Checkpoint};
use super::collect::{Actor, Batch, Finished};
use super::config::TrainConfig;
use super::remote::{self, RolloutSource};
use super::update::{Optimiser, Targets, Update, UpdateStats};
use crate::error::{Result, TrainingError};
use crate::provenance::record_session;
use crate::run_dir::{
    CONFIG_FILE, MetricsLog, POLICY_FILE, SCENARIO_FILE, TENSORBOARD_DIR, write_atomic,
};
use crate::tensorboard::EventWriter;
use burn::tensor::Device;
use planetgym_agents::evaluate::ContenderFactory;
use planetgym_agents::nn::policy::PolicyFile;
use planetgym_agents::nn::training_device;
use planetgym_env::rng::Rng;
use planetgym_env::{Action, Scenario};
use planetgym_env::{bounds, input};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

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
    /// With `eval.every`: the greedy policy's mean return on the held-out evaluation episodes
    /// (NaN in updates without an evaluation); None when the run does not evaluate.
    pub eval_return: Option<f64>,
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
        v.extend(
            self.eval_return
                .map(|x| ("eval/mean_return".to_string(), x)),
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
    /// The command line that started this session (recorded in `sessions.jsonl`).
    pub command: &'a [String],
}

/// Checks that a rollout (observations twice: as collected and normalised, plus per-step
/// scalars) and one minibatch's activations (the entity scorer keeps a hidden row per entity,
/// through the forward and backward passes) fit in the memory budget.
fn check_memory<S: Scenario>(prototype: &S, config: &TrainConfig) -> Result<()> {
    let spec = prototype.feature_spec();
    let steps = config.steps_per_update() as f64;
    let rollout = steps * (8.0 * spec.encoded_len() as f64 + 64.0);
    let rows_per_minibatch = steps / config.ppo.minibatches.max(1) as f64;
    let entities = spec.entity_parts().map_or(1.0, |p| p.entities as f64);
    let activations = rows_per_minibatch * entities * config.hidden as f64 * 4.0 * 8.0;
    bounds::memory(
        &format!(
            "a rollout of {steps} steps (ppo.rollout_steps x num_envs) and its minibatches (hidden = {})",
            config.hidden
        ),
        rollout + activations,
    )
    .map_err(|message| TrainingError::config("training config", message))
}

/// Trains on copies of `prototype` and returns how the run ended. Files in `run.run_dir`: see
/// [`crate::run_dir`].
/// `expert` builds the baseline of `run.config.imitation` (None when there is no imitation).
/// With `rollouts`, every rollout comes from remote workers (see [`remote`]) instead of copies
/// stepped in this process.
pub fn train<S: Scenario + Clone + 'static>(
    prototype: &S,
    run: &Run,
    expert: Option<&ContenderFactory<S>>,
    mut rollouts: Option<&mut dyn RolloutSource>,
    on_update: &mut dyn FnMut(&UpdateReport),
) -> Result<Outcome> {
    if run.resume && rollouts.is_some() {
        return Err(TrainingError::config(
            "rollout workers",
            "a run trained with rollout workers cannot be resumed: its workers' episodes are not checkpointed",
        ));
    }
    let mut trainer = Trainer::start(prototype, run, expert, rollouts.is_some())?;
    let mut last = None;
    let mut interrupted = false;
    while trainer.updates < run.config.total_updates() {
        if trainer.stop_requested() {
            interrupted = true;
            break;
        }
        let learning_rate = trainer.learning_rate();
        trainer.actor.update = trainer.updates;
        let batch = match rollouts.as_deref_mut() {
            None => trainer.actor.batch()?,
            Some(source) => trainer.gather(source)?,
        };
        let (stats, update_s) = trainer.update(&batch, learning_rate)?;
        let mut report = trainer.report(&batch, stats, learning_rate, update_s);
        trainer.actor.recycle(batch.rollout);
        report.eval_return = trainer.evaluate_if_due()?;
        trainer.log(&report)?;
        on_update(&report);
        last = Some(report);
        if trainer.stop_requested()
            || trainer.updates == run.config.total_updates()
            || trainer.updates % run.config.checkpoint_every == 0
        {
            trainer.checkpoint(rollouts.is_none())?;
        }
    }
    trainer.events.flush().map_err(TrainingError::io(format!(
        "cannot write {}",
        trainer.events.path().display()
    )))?;
    Ok(Outcome {
        run_dir: run.run_dir.to_path_buf(),
        updates: trainer.updates,
        env_steps: trainer.env_steps,
        interrupted,
        last,
    })
}

/// Everything a run carries from one update to the next (and saves in its checkpoints).
pub(super) struct Trainer<'a, S: Scenario + Clone> {
    pub(super) run: &'a Run<'a>,
    pub(super) prototype: &'a S,
    /// The copies stepped in this process, the network and the generator (which also orders
    /// the minibatches).
    pub(super) actor: Actor<S>,
    pub(super) optimiser: Optimiser,
    pub(super) train_device: Device,
    pub(super) updates: u64,
    pub(super) env_steps: u64,
    /// Wall time of earlier sessions of the run (resumed), and when this one started.
    elapsed_before: f64,
    started: Instant,
    events: EventWriter,
    metrics: MetricsLog,
}

impl<'a, S: Scenario + Clone + 'static> Trainer<'a, S> {
    /// A fresh run, or the run in `run.run_dir` restored from its checkpoint. A `distributed`
    /// learner steps no copies of its own (its actor keeps one, which a `VecEnv` needs).
    fn start(
        prototype: &'a S,
        run: &'a Run<'a>,
        expert: Option<&ContenderFactory<S>>,
        distributed: bool,
    ) -> Result<Self> {
        let config = run.config;
        let dir = run.run_dir;
        std::fs::create_dir_all(dir).map_err(TrainingError::io(format!(
            "cannot create {}",
            dir.display()
        )))?;
        let mut own = config.clone();
        if distributed {
            own.num_envs = 1;
        }
        let mut actor = Actor::new(prototype, own, expert, 0)?;
        check_memory(prototype, config)?;
        if !run.resume && !config.init_policy.is_empty() {
            let from = Path::new(&config.init_policy);
            let at = |e: String| {
                TrainingError::config("init_policy", format!("{}: {e}", from.display()))
            };
            let file = load_policy(from).map_err(|e| at(e.to_string()))?;
            if file.architecture() != config.architecture() {
                return Err(at(format!(
                    "the policy's network is {:?}, the config's {:?}",
                    file.architecture(),
                    config.architecture()
                )));
            }
            actor.adopt(&file).map_err(|e| at(e.to_string()))?;
        }
        let optimiser = Optimiser::for_model(&actor.brain.model);
        // A resumed run's checkpoint is read (and checked against the config) before anything
        // is written; a fresh run writes its resolved config and an empty metrics log.
        let checkpoint = if run.resume {
            let ck = Checkpoint::load(dir)?;
            if ck.config != *config {
                return Err(TrainingError::file(
                    dir,
                    format!(
                        "the checkpoint was written with another config; resume with the run's own {CONFIG_FILE}"
                    ),
                ));
            }
            let total = config.total_updates();
            if ck.updates >= total {
                return Err(TrainingError::file(
                    dir,
                    format!(
                        "nothing to resume: the run has done all its {total} updates ({} environment steps)",
                        ck.env_steps
                    ),
                ));
            }
            Some(ck)
        } else {
            write_atomic(&dir.join(CONFIG_FILE), config.to_toml()?.as_bytes())?;
            write_atomic(&dir.join(SCENARIO_FILE), run.scenario_config.as_bytes())?;
            MetricsLog::in_dir(dir).create()?;
            None
        };
        record_session(dir, run.command, checkpoint.is_some())?;
        let first_update = checkpoint.as_ref().map_or(0, |ck| ck.updates);
        let events_error = || {
            TrainingError::io(format!(
                "cannot write TensorBoard events in {}",
                dir.display()
            ))
        };
        let mut events =
            EventWriter::create(&dir.join(TENSORBOARD_DIR), &format!(".{first_update}"))
                .map_err(events_error())?;
        events.hparams(config.hparams()?).map_err(events_error())?;
        let mut trainer = Self {
            run,
            prototype,
            actor,
            optimiser,
            train_device: training_device(),
            updates: 0,
            env_steps: 0,
            elapsed_before: 0.0,
            started: Instant::now(),
            events,
            metrics: MetricsLog::in_dir(dir),
        };
        if let Some(ck) = checkpoint {
            trainer.restore(ck)?;
        }
        trainer.started = Instant::now();
        Ok(trainer)
    }

    /// Continues from the checkpoint: weights, Adam, generator, reward scaler, and every copy
    /// replayed to where it stood.
    fn restore(&mut self, ck: Checkpoint) -> Result<()> {
        let dir = self.run.run_dir;
        let actor = &mut self.actor;
        actor
            .adopt(&ck.policy)
            .map_err(|e| TrainingError::file(dir, format!("checkpoint policy: {e}")))?;
        let weights = planetgym_agents::nn::params::read(&actor.brain.model);
        ck.adam
            .check(&weights)
            .map_err(|e| TrainingError::file(dir, e.to_string()))?;
        self.optimiser = Optimiser {
            weights,
            adam: ck.adam,
        };
        actor.rng = Rng::from_state(ck.rng);
        actor.reward_scaler = ck.reward_scaler;
        for (i, state) in ck.copies.into_iter().enumerate() {
            let actions = state
                .raw_actions
                .iter()
                .map(|raw| actor.head.to_action(raw))
                .collect::<Result<Vec<Action>, _>>()
                .map_err(|e| TrainingError::file(dir, format!("copy {i}: {e}")))?;
            actor.envs.restore(i, state.episode, &actions)?;
            actor.copies[i] = state;
        }
        (self.updates, self.env_steps, self.elapsed_before) =
            (ck.updates, ck.env_steps, ck.elapsed_s);
        self.metrics.truncate_after(self.updates)?;
        Ok(())
    }

    fn stop_requested(&self) -> bool {
        self.run.stop.load(Ordering::SeqCst)
            || self.run.stop_after.is_some_and(|n| self.updates >= n)
    }

    /// The configured rate, decayed linearly to 0 over the run when `ppo.anneal_lr` says so.
    fn learning_rate(&self) -> f64 {
        let c = &self.run.config.ppo;
        if c.anneal_lr {
            c.learning_rate * (1.0 - self.updates as f64 / self.run.config.total_updates() as f64)
        } else {
            c.learning_rate
        }
    }

    /// The rollout of every remote worker for this update, as one batch; their observation
    /// statistics are folded into the normaliser, in worker order.
    fn gather(&mut self, source: &mut dyn RolloutSource) -> Result<Batch> {
        let policy = self.policy_file();
        let (batch, fresh) = remote::gather(source, &policy, self.updates, self.run.config)?;
        if let Some(normaliser) = &mut self.actor.brain.normaliser {
            fresh.iter().for_each(|stats| normaliser.stats.merge(stats));
        }
        Ok(batch)
    }

    /// One PPO update on the batch. Returns its statistics and its duration.
    fn update(&mut self, batch: &Batch, learning_rate: f64) -> Result<(UpdateStats, f64)> {
        let t0 = Instant::now();
        let update = Update {
            config: &self.run.config.ppo,
            head: &self.actor.head,
            device: &self.train_device,
            learning_rate,
        };
        let targets = Targets {
            rollout: &batch.rollout,
            advantages: &batch.advantages,
            returns: &batch.returns,
        };
        let model = self.actor.brain.model.clone();
        let (model, stats) = update
            .run(model, &mut self.optimiser, &targets, &mut self.actor.rng)
            .map_err(|e| TrainingError::run(format!("update {}", self.updates), e))?;
        self.actor.brain.model = model;
        self.updates += 1;
        self.env_steps += batch.rollout.len() as u64;
        Ok((stats, t0.elapsed().as_secs_f64()))
    }

    fn report(
        &self,
        batch: &Batch,
        stats: UpdateStats,
        learning_rate: f64,
        update_s: f64,
    ) -> UpdateReport {
        let finished = &batch.finished;
        let elapsed_s = self.elapsed_before + self.started.elapsed().as_secs_f64();
        let mean = |f: &dyn Fn(&Finished) -> f64| {
            if finished.is_empty() {
                f64::NAN
            } else {
                finished.iter().map(f).sum::<f64>() / finished.len() as f64
            }
        };
        UpdateReport {
            updates: self.updates,
            total_updates: self.run.config.total_updates(),
            env_steps: self.env_steps,
            total_steps: self.run.config.total_updates() * self.run.config.steps_per_update(),
            sps: self.env_steps as f64 / elapsed_s.max(1e-9),
            elapsed_s,
            episodes: finished.len(),
            episode_return: mean(&|f| f.ret),
            episode_length: mean(&|f| f.steps as f64),
            metrics: self
                .prototype
                .metric_names()
                .iter()
                .enumerate()
                .map(|(k, name)| (name.to_string(), mean(&|f| f.metrics[k])))
                .collect(),
            stats,
            learning_rate,
            env_s: batch.env_s,
            inference_s: batch.inference_s,
            update_s,
            eval_return: None,
        }
    }

    /// Appends the report to TensorBoard and `metrics.csv`.
    fn log(&mut self, report: &UpdateReport) -> Result<()> {
        let scalars = report.scalars();
        let refs: Vec<(&str, f64)> = scalars.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let events = self.events.path().display().to_string();
        self.events
            .scalars(report.env_steps, &refs)
            .and_then(|()| self.events.flush())
            .map_err(TrainingError::io(format!("cannot write {events}")))?;
        self.metrics
            .append(report.updates, report.env_steps, &scalars)?;
        Ok(())
    }

    /// The current policy as saved in run directories.
    fn policy_file(&self) -> PolicyFile {
        self.actor.brain.to_file(
            self.prototype,
            self.run.scenario_config,
            self.run.config.architecture(),
            self.env_steps,
        )
    }

    /// With `eval.every`: on its updates (and the last), the greedy policy's mean return on the
    /// held-out episodes, keeping the best policy in `best/`; NaN on other updates.
    fn evaluate_if_due(&self) -> Result<Option<f64>> {
        let config = self.run.config;
        let eval = &config.eval;
        if eval.every == 0 {
            return Ok(None);
        }
        if !self.updates.is_multiple_of(eval.every) && self.updates != config.total_updates() {
            return Ok(Some(f64::NAN));
        }
        let policy = self.policy_file();
        let mean_return =
            best::mean_return(self.prototype, &policy, eval.during_episodes, eval.seed)?;
        let record = best::BestRecord {
            update: self.updates,
            env_steps: self.env_steps,
            mean_return,
            episodes: eval.during_episodes,
            seed: eval.seed,
            rule: best::RULE.into(),
        };
        best::keep_if_best(self.run.run_dir, &policy, &record)?;
        Ok(Some(mean_return))
    }

    /// Writes the latest policy, and (with `resumable`: the copies stepped here) a checkpoint
    /// from which `--resume` continues exactly.
    fn checkpoint(&self, resumable: bool) -> Result<()> {
        let config = self.run.config;
        let policy = self.policy_file();
        save_policy(self.run.run_dir, &policy)?;
        if !resumable {
            return Ok(());
        }
        let actor = &self.actor;
        Checkpoint {
            format: CHECKPOINT_FORMAT,
            config: config.clone(),
            updates: self.updates,
            env_steps: self.env_steps,
            elapsed_s: self.elapsed_before + self.started.elapsed().as_secs_f64(),
            policy,
            adam: self.optimiser.adam.clone(),
            rng: actor.rng.state(),
            reward_scaler: actor.reward_scaler.clone(),
            copies: actor.copies.clone(),
        }
        .save(self.run.run_dir)
    }
}

/// Writes the latest policy (what `planetgym eval --policy RUN_DIR` reads).
pub fn save_policy(dir: &Path, policy: &PolicyFile) -> Result<()> {
    let path = dir.join(POLICY_FILE);
    let json = serde_json::to_vec(policy)
        .map_err(|e| TrainingError::file(&path, format!("cannot serialise the policy: {e}")))?;
    Ok(write_atomic(&path, &json)?)
}

/// Reads `DIR/policy.json`.
pub fn load_policy(dir: &Path) -> Result<PolicyFile> {
    let path = dir.join(POLICY_FILE);
    let text = input::read_bytes_or(
        &path,
        TrainingError::io(format!("no policy at {}", path.display())),
    )?;
    serde_json::from_slice(&text).map_err(|e| {
        TrainingError::file(&path, format!("is corrupt or not a planetgym policy: {e}"))
    })
}
