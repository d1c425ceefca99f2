//! planetgym-training: PPO over the simulator's vector env, run directories (resolved config,
//! `metrics.csv`, TensorBoard events, checkpoints, exact resumption), results tables and plots.
//!
//! A training session from a config, as `planetgym train` runs it:
//!
//! ```no_run
//! use planetgym_training::ppo::TrainConfig;
//! use planetgym_training::session::{self, Request};
//! use std::sync::atomic::AtomicBool;
//!
//! # fn main() -> anyhow::Result<()> {
//! let config = TrainConfig::from_toml("scenario = \"capacity\"\ntotal_steps = 2048", "example")?;
//! let stop = AtomicBool::new(false);
//! let request = Request {
//!     config,
//!     origin: "example".into(),
//!     run_dir: "runs/example".into(),
//!     resume: false,
//!     stop: &stop,
//!     stop_after: None,
//! };
//! let result = session::run(&request, &mut |report| println!("update {}", report.updates))?;
//! println!("{} steps", result.outcome.env_steps);
//! # Ok(())
//! # }
//! ```

pub mod plot;
pub mod ppo;
pub mod report;
pub mod run_dir;
pub mod session;
pub mod tensorboard;
