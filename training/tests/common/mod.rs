//! What the training tests share: one training session, run in the test's process.

use planetgym_training::error::TrainingError;
use planetgym_training::ppo::TrainConfig;
use planetgym_training::session::{self, Request, SessionResult};
use std::path::Path;
use std::sync::atomic::AtomicBool;

static NEVER: AtomicBool = AtomicBool::new(false);

/// Trains `config` (one seed) in `dir`, resuming its checkpoint when `resume`, stopping once
/// `stop_after` updates are done.
pub fn try_train(
    config: &TrainConfig,
    dir: &Path,
    resume: bool,
    stop_after: Option<u64>,
) -> Result<SessionResult, TrainingError> {
    let request = Request {
        config: config.clone(),
        origin: "test config".into(),
        run_dir: dir.to_path_buf(),
        resume,
        stop: &NEVER,
        stop_after,
        seeds: 1,
        command: vec!["training test".into()],
    };
    session::run(&request, None, &mut |_| {})
}
