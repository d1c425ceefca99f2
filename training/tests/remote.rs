//! Distributed rollouts, with the workers in this process: the learner trains on their batches,
//! a fixed worker count gives the same policy every time, and broken workers or batches stop
//! the run with an error naming them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_training::error::TrainingError;
use planetgym_training::ppo::{RolloutSource, RolloutWork, TrainConfig};
use planetgym_training::session::{self, Request, SessionResult};
use std::path::Path;
use std::sync::atomic::AtomicBool;

static NEVER: AtomicBool = AtomicBool::new(false);

const BATCH_SMALL: &str = r#"
scenario = "batch"
seed = 7
total_steps = 768
num_envs = 4
hidden = 8
[env]
window_jobs = 32
visible_jobs = 8
[ppo]
rollout_steps = 64
epochs = 2
minibatches = 2
[eval]
episodes = 0
"#;

/// Workers built in this process, answering in order (what Ray actors do across machines);
/// `corrupt` replaces worker 1's answer.
struct LocalWorkers {
    workers: Vec<Box<dyn RolloutWork>>,
    corrupt: Option<Vec<u8>>,
}

impl LocalWorkers {
    fn new(config: &TrainConfig, count: usize) -> Self {
        let workers = (0..count)
            .map(|k| session::rollout_worker(config, "test config", k, count).unwrap())
            .collect();
        Self {
            workers,
            corrupt: None,
        }
    }
}

impl RolloutSource for LocalWorkers {
    fn collect(&mut self, policy: &[u8], update: u64) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        for (k, worker) in self.workers.iter_mut().enumerate() {
            let batch = worker.collect(policy, update).map_err(|e| e.to_string())?;
            out.push(match (&self.corrupt, k) {
                (Some(bytes), 1) => bytes.clone(),
                _ => batch,
            });
        }
        Ok(out)
    }
}

fn request(config: &TrainConfig, dir: &Path, resume: bool) -> Request<'static> {
    Request {
        config: config.clone(),
        origin: "test config".into(),
        run_dir: dir.to_path_buf(),
        resume,
        stop: &NEVER,
        stop_after: None,
        seeds: 1,
        command: vec!["remote test".into()],
    }
}

/// Trains with rollouts from `source`, or in this process when None.
fn train(
    config: &TrainConfig,
    dir: &Path,
    source: Option<&mut LocalWorkers>,
) -> Result<SessionResult, TrainingError> {
    let source = source.map(|s| s as &mut dyn RolloutSource);
    session::run(&request(config, dir, false), source, &mut |_| {})
}

fn policy(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("policy.json")).unwrap()
}

#[test]
fn the_learner_trains_on_worker_batches_and_a_fixed_worker_count_repeats_exactly() {
    let config = TrainConfig::from_toml(BATCH_SMALL, "test config").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (name, workers) in [("a", 2), ("b", 2), ("one", 1)] {
        let dir = tmp.path().join(name);
        let result = train(
            &config,
            &dir,
            Some(&mut LocalWorkers::new(&config, workers)),
        )
        .unwrap();
        assert_eq!(result.outcome.updates, 3);
        assert_eq!(result.outcome.env_steps, 768);
        // Every update is logged; no checkpoint (the workers' episodes are not saved).
        let log = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        assert_eq!(log.lines().count(), 4, "{log}");
        assert!(!dir.join("checkpoint.json").exists());
        runs.push(policy(&dir));
    }
    assert_eq!(runs[0], runs[1], "two runs with two workers differ");
    assert_ne!(
        runs[0], runs[2],
        "one and two workers play the same episodes"
    );

    // The run in one process is another run (its copies play other episodes).
    let here = tmp.path().join("here");
    train(&config, &here, None).unwrap();
    assert_ne!(policy(&here), runs[0]);
}

#[test]
fn bad_worker_counts_corrupt_batches_and_resumes_are_refused() {
    let config = TrainConfig::from_toml(BATCH_SMALL, "test config").unwrap();
    for workers in [0, 3, 5] {
        let err = session::rollout_worker(&config, "test config", 0, workers)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("cannot share num_envs = 4"), "{err}");
    }
    let err = session::rollout_worker(&config, "test config", 2, 2)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("worker index 2"), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    let mut workers = LocalWorkers::new(&config, 2);
    workers.corrupt = Some(b"not a batch".to_vec());
    let err = train(&config, &tmp.path().join("corrupt"), Some(&mut workers))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("worker 1's batch"), "{err}");

    // A batch of the wrong size: worker 1 answers with a rollout of a 2-worker run's share
    // built for 4 workers (one copy instead of two).
    let mut workers = LocalWorkers::new(&config, 2);
    let mut small = session::rollout_worker(&config, "test config", 1, 4).unwrap();
    let policy_bytes = {
        let dir = tmp.path().join("for-policy");
        train(&config, &dir, None).unwrap();
        std::fs::read(dir.join("policy.json")).unwrap()
    };
    workers.corrupt = Some(small.collect(&policy_bytes, 0).unwrap());
    let err = train(&config, &tmp.path().join("short"), Some(&mut workers))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("an update takes 256 steps of 4"), "{err}");

    let resumed = request(&config, &tmp.path().join("corrupt"), true);
    let err = session::run(
        &resumed,
        Some(&mut LocalWorkers::new(&config, 2)),
        &mut |_| {},
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("cannot be resumed"), "{err}");
}
