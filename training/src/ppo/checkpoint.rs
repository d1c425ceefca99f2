//! Checkpoints: everything a resumed run needs to continue as if it had never stopped, written
//! atomically (`run_dir::write_atomic`) so that a crash never leaves a torn checkpoint.
//!
//! File layout: one header line `{"format":2,"sha256":"<hex>","bytes":N}`, then the checkpoint
//! as JSON (N bytes). The SHA-256 of those bytes is checked before anything is read from them,
//! so a flipped digit in the weights or the optimiser state is refused instead of resuming
//! silently into another run.

use super::adam::Adam;
use super::config::TrainConfig;
use crate::error::{Result, TrainingError};
use crate::run_dir::{CHECKPOINT_FILE, write_atomic};
use planetgym_agents::nn::normalise::RewardScaler;
use planetgym_agents::nn::policy::PolicyFile;
use planetgym_env::input;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const CHECKPOINT_FORMAT: u32 = 2;

/// The header line of a checkpoint file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: u32,
    sha256: String,
    bytes: u64,
}

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
        let cannot = |e: serde_json::Error| {
            TrainingError::file(&path, format!("cannot serialise the checkpoint: {e}"))
        };
        let payload = serde_json::to_vec(self).map_err(cannot)?;
        let header = Header {
            format: CHECKPOINT_FORMAT,
            sha256: sha256_hex(&payload),
            bytes: payload.len() as u64,
        };
        let mut file = serde_json::to_vec(&header).map_err(cannot)?;
        file.push(b'\n');
        file.extend_from_slice(&payload);
        Ok(write_atomic(&path, &file)?)
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(CHECKPOINT_FILE);
        let file = input::read_bytes_or(
            &path,
            TrainingError::io(format!(
                "no checkpoint to resume from at {}",
                path.display()
            )),
        )?;
        let corrupt = |message: String| {
            TrainingError::file(&path, format!("is corrupt or not a checkpoint: {message}"))
        };
        // A format-1 checkpoint is one JSON object without a header line: read its format
        // (only) to say so.
        let (head, payload) = match file.iter().position(|&b| b == b'\n') {
            Some(newline) => (&file[..newline], &file[newline + 1..]),
            None => (&file[..], &[][..]),
        };
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let header: Header = serde_json::from_slice(head).map_err(|e| {
            match serde_json::from_slice::<Format>(head) {
                Ok(old) if old.format != CHECKPOINT_FORMAT => TrainingError::file(
                    &path,
                    format!(
                        "checkpoint format {} is not supported (this build reads {CHECKPOINT_FORMAT})",
                        old.format
                    ),
                ),
                _ => corrupt(format!("header line: {e}")),
            }
        })?;
        if header.format != CHECKPOINT_FORMAT {
            return Err(TrainingError::file(
                &path,
                format!(
                    "checkpoint format {} is not supported (this build reads {CHECKPOINT_FORMAT})",
                    header.format
                ),
            ));
        }
        let digest = sha256_hex(payload);
        if header.bytes != payload.len() as u64 || header.sha256 != digest {
            return Err(corrupt(format!(
                "its contents ({} bytes, SHA-256 {digest}) are not what was written ({} bytes, SHA-256 {}): the file was changed or damaged after it was saved",
                payload.len(),
                header.bytes,
                header.sha256
            )));
        }
        let c: Self = serde_json::from_slice(payload).map_err(|e| corrupt(e.to_string()))?;
        if c.format != CHECKPOINT_FORMAT {
            return Err(corrupt(format!(
                "payload format {} differs from its header's {CHECKPOINT_FORMAT}",
                c.format
            )));
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
        let total = c.config.total_updates();
        if c.updates > total || c.env_steps != c.updates.saturating_mul(c.config.steps_per_update())
        {
            return Err(corrupt(format!(
                "{} updates and {} environment steps saved, for a run of {total} updates of {} steps",
                c.updates,
                c.env_steps,
                c.config.steps_per_update()
            )));
        }
        Ok(c)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
