//! Checkpoints: everything a resumed run needs to continue as if it had never stopped, written
//! atomically (`run_dir::write_atomic`) so that a crash never leaves a torn checkpoint.

use super::adam::Adam;
use super::config::TrainConfig;
use crate::error::{Result, TrainingError};
use crate::run_dir::{CHECKPOINT_FILE, write_atomic};
use planetgym_agents::nn::normalise::RewardScaler;
use planetgym_agents::nn::policy::PolicyFile;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const CHECKPOINT_FORMAT: u32 = 1;

/// Where one scenario copy stands: its episode and the raw actions taken in it so far (the
/// copy is rebuilt by replaying them from the episode's seed), and the running episode totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CopyState {
    pub episode: u64,
    pub raw_actions: Vec<Vec<f32>>,
    pub episode_return: f64,
    pub episode_steps: u64,
    pub metric_sums: Vec<f64>,
    pub last_metrics: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: u32,
    pub config: TrainConfig,
    pub updates: u64,
    pub env_steps: u64,
    /// Wall time trained so far (s), for SPS and ETA across resumes.
    pub elapsed_s: f64,
    pub policy: PolicyFile,
    pub adam: Adam,
    pub rng: [u64; 4],
    pub reward_scaler: Option<RewardScaler>,
    pub copies: Vec<CopyState>,
}

impl Checkpoint {
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(CHECKPOINT_FILE);
        let json = serde_json::to_vec(self).map_err(|e| {
            TrainingError::file(&path, format!("cannot serialise the checkpoint: {e}"))
        })?;
        Ok(write_atomic(&path, &json)?)
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(CHECKPOINT_FILE);
        let text = std::fs::read(&path).map_err(TrainingError::io(format!(
            "no checkpoint to resume from at {}",
            path.display()
        )))?;
        let c: Self = serde_json::from_slice(&text).map_err(|e| {
            TrainingError::file(&path, format!("is corrupt or not a checkpoint: {e}"))
        })?;
        if c.format != CHECKPOINT_FORMAT {
            return Err(TrainingError::file(
                &path,
                format!(
                    "checkpoint format {} is not supported (this build reads {CHECKPOINT_FORMAT})",
                    c.format
                ),
            ));
        }
        if c.copies.len() != c.config.num_envs {
            return Err(TrainingError::file(
                &path,
                format!(
                    "{} copies saved for num_envs = {}",
                    c.copies.len(),
                    c.config.num_envs
                ),
            ));
        }
        Ok(c)
    }
}
