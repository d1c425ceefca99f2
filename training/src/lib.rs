//! planetgym-training: PPO over the simulator's vector env, run directories (resolved config,
//! `metrics.csv`, TensorBoard events, checkpoints, exact resumption), results tables and plots.
//!
//! A training session from a config, as `planetgym train` runs it:
//!
//! ```
//! use planetgym_training::ppo::TrainConfig;
//! use planetgym_training::session::{self, Request};
//! use std::sync::atomic::AtomicBool;
//!
//! # fn main() -> Result<(), planetgym_training::error::TrainingError> {
//! let text = "scenario = \"capacity\"\ntotal_steps = 256\nnum_envs = 2\n[ppo]\nrollout_steps = 64\n[eval]\nepisodes = 1";
//! let config = TrainConfig::from_toml(text, "example")?;
//! let stop = AtomicBool::new(false);
//! let run_dir = std::env::temp_dir().join(format!("planetgym-doc-{}", std::process::id()));
//! let request = Request {
//!     config,
//!     origin: "example".into(),
//!     run_dir: run_dir.clone(),
//!     resume: false,
//!     stop: &stop,
//!     stop_after: None,
//!     seeds: 1,
//!     command: vec!["example".into()],
//! };
//! let result = session::run(&request, None, &mut |report| println!("update {}", report.updates))?;
//! assert_eq!(result.outcome.env_steps, 256);
//! let table = result.evaluation.expect("evaluated");
//! assert!(table.rows.iter().any(|r| r.policy == "ppo"));
//! # std::fs::remove_dir_all(run_dir).ok();
//! # Ok(())
//! # }
//! ```

pub mod allocator;
pub mod error;
pub mod plot;
pub mod ppo;
pub mod provenance;
pub mod report;
pub mod risk;
pub mod run_dir;
pub mod session;
pub mod tensorboard;
