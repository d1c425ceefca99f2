//! planetgym-deploy: trained policies leave for production. `export` writes a self-describing
//! artifact (`policy.onnx` with the feature scales and normalisation inside, and
//! `manifest.json`), `onnx` is the runtime that reads and runs it, and `shadow` replays logged
//! production decisions through it next to the incumbent's, without ever acting.
//!
//! Exporting a trained policy and scoring simulated decision logs with it, as
//! `planetgym export`, `shadow-sample` and `shadow` do:
//!
//! ```
//! use planetgym_agents::registry::with_scenario;
//! use planetgym_deploy::{export, shadow};
//! use std::path::Path;
//!
//! # fn main() -> Result<(), planetgym_deploy::error::DeployError> {
//! let out = std::env::temp_dir().join(format!("planetgym-doc-export-{}", std::process::id()));
//! let manifest = export::export(Path::new("../experiments/policies/capacity"), &out)?;
//! let artifact = export::Artifact::load(&out)?;
//! let mut log = Vec::new();
//! let sampler = shadow::sample::Sampler { incumbent: "reactive@0.8".into(), records: 20, seed: 0, out: &mut log };
//! with_scenario("capacity", &manifest.scenario_config, "manifest", sampler)?;
//! let report = shadow::run(&artifact, "capacity", &log[..], std::io::sink(), std::io::sink(), 0.05)?;
//! assert_eq!(report.decisions, 20);
//! # std::fs::remove_dir_all(out).ok();
//! # Ok(())
//! # }
//! ```

pub mod error;
pub mod export;
pub mod onnx;
pub mod predictor;
mod protobuf;
pub mod shadow;
