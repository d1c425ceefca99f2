//! Distributed rollouts: rollout workers, each stepping its share of the copies (a `VecEnv`,
//! on any machine), and the learner that sends them its policy and updates on their batches.
//!
//! Every update the learner sends its current policy (`policy.json`'s bytes) through a
//! [`RolloutSource`] (in planetgym, Ray actors holding a [`RolloutWorker`]); worker `w` of `W`
//! loads it, collects `rollout_steps` steps of its `num_envs / W` copies, computes their GAE
//! targets and returns them, with the statistics of the observations it saw, as CBOR bytes. The
//! learner concatenates the batches in worker order, folds the statistics into its observation
//! normaliser and updates as a run in one process does.
//!
//! Determinism: worker `w` draws its episodes and actions from streams of (seed, w), so for a
//! fixed worker count a run gives the same policy wherever its workers run and whatever their
//! thread counts. Runs with different worker counts differ (their copies play other episodes,
//! and each worker normalises with its own statistics until the learner merges them), and none
//! equals the run in one process. A distributed run keeps no checkpoint of its workers' episodes,
//! so it cannot be resumed.

use super::collect::{Actor, Batch};
use super::config::TrainConfig;
use crate::error::{Result, TrainingError};
use planetgym_agents::evaluate::ContenderFactory;
use planetgym_agents::nn::normalise::RunningStats;
use planetgym_agents::nn::policy::PolicyFile;
use planetgym_env::Scenario;

/// Where a distributed run's rollouts come from.
pub trait RolloutSource {
    /// Sends `policy` (JSON) for update `update` (counted from 0) to every worker and returns
    /// each worker's batch, in worker order.
    fn collect(&mut self, policy: &[u8], update: u64) -> std::result::Result<Vec<Vec<u8>>, String>;
}

/// A rollout worker whose scenario type is known only inside it (for bindings).
pub trait RolloutWork: Send + std::fmt::Debug {
    /// One rollout under `policy` (JSON) for update `update`, as the learner reads it.
    fn collect(&mut self, policy: &[u8], update: u64) -> Result<Vec<u8>>;
}

/// Worker `index` of `workers`: steps `config.num_envs / workers` copies.
pub struct RolloutWorker<S: Scenario + Clone> {
    actor: Actor<S>,
}

impl<S: Scenario + Clone> std::fmt::Debug for RolloutWorker<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RolloutWorker({} copies)", self.actor.config.num_envs)
    }
}

/// Checks that `workers` can share the run's copies evenly.
pub fn check_workers(config: &TrainConfig, workers: usize) -> Result<()> {
    if workers == 0 || workers > config.num_envs || !config.num_envs.is_multiple_of(workers) {
        return Err(TrainingError::config(
            "rollout workers",
            format!(
                "{workers} workers cannot share num_envs = {} copies evenly: use a divisor of num_envs",
                config.num_envs
            ),
        ));
    }
    Ok(())
}

impl<S: Scenario + Clone + 'static> RolloutWorker<S> {
    pub fn new(
        prototype: &S,
        config: &TrainConfig,
        expert: Option<&ContenderFactory<S>>,
        index: usize,
        workers: usize,
    ) -> Result<Self> {
        check_workers(config, workers)?;
        if index >= workers {
            return Err(TrainingError::config(
                "rollout workers",
                format!("worker index {index} is not below the worker count {workers}"),
            ));
        }
        let mut share = config.clone();
        share.num_envs = config.num_envs / workers;
        Ok(Self {
            actor: Actor::new(prototype, share, expert, index as u64 + 1)?,
        })
    }
}

impl<S: Scenario + Clone + 'static> RolloutWork for RolloutWorker<S> {
    fn collect(&mut self, policy: &[u8], update: u64) -> Result<Vec<u8>> {
        let at = || format!("rollout worker, update {update}");
        let file: PolicyFile = serde_json::from_slice(policy)
            .map_err(|e| TrainingError::run(at(), format!("the learner's policy: {e}")))?;
        let actor = &mut self.actor;
        actor
            .adopt(&file)
            .map_err(|e| TrainingError::run(at(), format!("the learner's policy: {e}")))?;
        actor.fresh = actor.brain.normaliser.as_ref().map(|n| n.emptied());
        actor.update = update;
        let batch = actor.batch()?;
        let mut out = Vec::new();
        ciborium::into_writer(&batch, &mut out)
            .map_err(|e| TrainingError::run(at(), format!("cannot encode the batch: {e}")))?;
        Ok(out)
    }
}

/// Every worker's batch for update `update`, concatenated in worker order, and their
/// observation statistics. Checks that together they hold one update's steps of the run.
pub(super) fn gather(
    source: &mut dyn RolloutSource,
    policy: &PolicyFile,
    update: u64,
    config: &TrainConfig,
) -> Result<(Batch, Vec<RunningStats>)> {
    let at = || format!("update {update}, rollout workers");
    let bytes = serde_json::to_vec(policy)
        .map_err(|e| TrainingError::run(at(), format!("cannot encode the policy: {e}")))?;
    let parts = source
        .collect(&bytes, update)
        .map_err(|e| TrainingError::run(at(), e))?;
    let mut merged: Option<Batch> = None;
    let mut fresh = Vec::new();
    for (w, part) in parts.iter().enumerate() {
        let mut batch: Batch = ciborium::from_reader(part.as_slice())
            .map_err(|e| TrainingError::run(at(), format!("worker {w}'s batch: {e}")))?;
        batch
            .check()
            .map_err(|e| TrainingError::run(at(), format!("worker {w}'s batch: {e}")))?;
        fresh.extend(batch.fresh.take());
        match &mut merged {
            None => merged = Some(batch),
            Some(m) => m
                .append(batch)
                .map_err(|e| TrainingError::run(at(), format!("worker {w}'s batch: {e}")))?,
        }
    }
    let batch = merged.ok_or_else(|| TrainingError::run(at(), "no worker answered"))?;
    let want = config.steps_per_update();
    if batch.rollout.len() as u64 != want || batch.rollout.copies != config.num_envs {
        return Err(TrainingError::run(
            at(),
            format!(
                "the workers sent {} steps of {} copies; an update takes {want} steps of {}",
                batch.rollout.len(),
                batch.rollout.copies,
                config.num_envs
            ),
        ));
    }
    Ok((batch, fresh))
}
