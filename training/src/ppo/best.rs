//! Evaluation during training: every `eval.every` updates (and after the last) the greedy
//! policy plays `eval.during_episodes` fixed held-out episodes (evaluation seeds from
//! `eval.seed`, which training never draws), and the policy with the highest mean return so far
//! is kept in `best/` next to the latest one. The rule: strictly higher than every earlier
//! evaluation of the run, so the earliest of equal scores stays.

use super::trainer::save_policy;
use crate::error::{Result, TrainingError};
use crate::run_dir::{BEST_DIR, BEST_FILE, write_atomic};
use crate::session::{LEARNED, learned_contender};
use planetgym_agents::evaluate::evaluate;
use planetgym_agents::nn::policy::{Mode, PolicyFile};
use planetgym_env::Scenario;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `best/best.json`: which update the kept policy comes from and how it was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestRecord {
    pub update: u64,
    pub env_steps: u64,
    /// Mean return of the greedy policy over the held-out episodes.
    pub mean_return: f64,
    pub episodes: usize,
    /// Seed the evaluation episodes were derived from.
    pub seed: u64,
    pub rule: String,
}

pub const RULE: &str = "highest mean return of the greedy policy on the same held-out \
    evaluation episodes, evaluated every eval.every updates and after the last; ties keep the \
    earlier policy";

/// The greedy policy's mean return over `episodes` evaluation episodes from `seed`.
pub fn mean_return<S: Scenario + Clone + 'static>(
    prototype: &S,
    policy: &PolicyFile,
    episodes: usize,
    seed: u64,
) -> Result<f64> {
    let row = learned_contender(prototype, policy, LEARNED, Mode::Greedy)?;
    let results = evaluate(prototype, &[row], episodes, seed, false, &|| {})?;
    Ok(results.iter().map(|r| r.reward).sum::<f64>() / results.len().max(1) as f64)
}

/// The record of the policy kept in `run_dir/best`, if any.
pub fn read_best(run_dir: &Path) -> Result<Option<BestRecord>> {
    let path = run_dir.join(BEST_DIR).join(BEST_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path)
        .map_err(TrainingError::io(format!("cannot read {}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| TrainingError::file(&path, format!("is corrupt: {e}")))
}

/// Keeps `policy` in `run_dir/best` when `record` beats the kept one; says whether it did.
pub fn keep_if_best(run_dir: &Path, policy: &PolicyFile, record: &BestRecord) -> Result<bool> {
    if read_best(run_dir)?.is_some_and(|kept| kept.mean_return >= record.mean_return) {
        return Ok(false);
    }
    let dir = run_dir.join(BEST_DIR);
    std::fs::create_dir_all(&dir).map_err(TrainingError::io(format!(
        "cannot create {}",
        dir.display()
    )))?;
    // The policy first: a crash in between leaves a record older than the policy (both carry
    // env_steps, so the mismatch shows), never a record of a policy that was not written.
    save_policy(&dir, policy)?;
    let json =
        serde_json::to_vec_pretty(record).map_err(|e| TrainingError::file(&dir, e.to_string()))?;
    write_atomic(&dir.join(BEST_FILE), &json)?;
    Ok(true)
}
