//! planetgym-deploy: trained policies leave for production. `export` writes a self-describing
//! artifact (`policy.onnx` with the feature scales and normalisation inside, and
//! `manifest.json`), `onnx` is the runtime that reads and runs it, and `shadow` replays logged
//! production decisions through it next to the incumbent's, without ever acting.
//!
//! Exporting a run directory and scoring one decision log, as `planetgym export` and
//! `planetgym shadow` do:
//!
//! ```no_run
//! use planetgym_deploy::{export, shadow};
//! use std::path::Path;
//!
//! # fn main() -> anyhow::Result<()> {
//! let manifest = export::export(Path::new("runs/try1"), Path::new("exports/try1"))?;
//! let artifact = export::Artifact::load(Path::new("exports/try1"))?;
//! let log = std::io::BufReader::new(std::fs::File::open("decisions.jsonl")?);
//! let report = shadow::run(&artifact, "exports/try1", log, std::io::sink(), std::io::stderr(), 0.05)?;
//! println!("{} policy: {}", manifest.scenario, report.text());
//! # Ok(())
//! # }
//! ```

pub mod export;
pub mod onnx;
mod protobuf;
pub mod shadow;
