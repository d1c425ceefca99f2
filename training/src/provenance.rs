//! How a run was made, recorded in its directory: the code version (the git commit the
//! binary was built from, and whether tracked files had uncommitted changes then), the command
//! line, the planetgym version and the time. One JSON line per training session (a fresh start
//! or a resume) is appended to `sessions.jsonl`, so a resumed run keeps the history of both.

use crate::error::{Result, TrainingError};
use crate::run_dir::SESSIONS_FILE;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The git commit the code was built from (None outside a git checkout).
pub fn git_commit() -> Option<&'static str> {
    Some(env!("PLANETGYM_GIT_COMMIT")).filter(|c| !c.is_empty())
}

/// Whether tracked files differed from that commit when the code was built.
pub fn git_dirty() -> Option<bool> {
    env!("PLANETGYM_GIT_DIRTY").parse().ok()
}

#[derive(Debug, Serialize)]
struct SessionRecord<'a> {
    planetgym_version: &'static str,
    git_commit: Option<&'static str>,
    git_dirty: Option<bool>,
    command: &'a [String],
    resumed: bool,
    /// Seconds since the Unix epoch.
    started_at: u64,
}

/// Appends this session's record to the run directory's `sessions.jsonl`.
pub fn record_session(dir: &Path, command: &[String], resumed: bool) -> Result<()> {
    let record = SessionRecord {
        planetgym_version: env!("CARGO_PKG_VERSION"),
        git_commit: git_commit(),
        git_dirty: git_dirty(),
        command,
        resumed,
        started_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    let path = dir.join(SESSIONS_FILE);
    let line =
        serde_json::to_string(&record).map_err(|e| TrainingError::file(&path, e.to_string()))?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{line}"))
        .map_err(TrainingError::io(format!(
            "cannot write {}",
            path.display()
        )))
}
