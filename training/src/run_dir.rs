//! A run directory: the names of its files, the one atomic writer every file goes through, and
//! the metrics log (`metrics.csv`, one row per update).
//!
//! ```text
//! config.toml       the resolved training config (rebuilds the run)
//! scenario.toml     the scenario's complete resolved config (every field, defaults included)
//! sessions.jsonl    one line per session (start or resume): git commit and dirty flag of the
//!                   code, command line, planetgym version, start time
//! metrics.csv       one row per update: update, env_steps, then every scalar of the update
//! tb/               TensorBoard event files (one per session of the run), hparams included
//! checkpoint.json   everything `--resume` needs
//! policy.json       the latest weights (what `eval`, `export` and Python's `load_policy` read)
//! best/             with `eval.every`: the policy with the best mean return on the held-out
//!                   evaluation episodes so far (policy.json) and why (best.json)
//! eval.json/.csv    the final evaluation table; curve.png the learning curve
//! ```

use planetgym_env::input::{BoundedReader, Limits};
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const CONFIG_FILE: &str = "config.toml";
pub const SCENARIO_FILE: &str = "scenario.toml";
pub const SESSIONS_FILE: &str = "sessions.jsonl";
pub const BEST_DIR: &str = "best";
/// In `best/`: which update was kept, its score and the selection rule.
pub const BEST_FILE: &str = "best.json";
pub const METRICS_FILE: &str = "metrics.csv";
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
pub const POLICY_FILE: &str = "policy.json";
pub const EVAL_FILE: &str = "eval.json";
pub const EVAL_CSV_FILE: &str = "eval.csv";
/// One row per (policy, run, episode) of the final evaluation.
pub const EPISODES_FILE: &str = "episodes.csv";
pub const CURVE_FILE: &str = "curve.png";
pub const TENSORBOARD_DIR: &str = "tb";
/// The first two columns of `metrics.csv`; the update's scalars follow.
const UPDATE_COLUMN: &str = "update";
const STEPS_COLUMN: &str = "env_steps";

#[derive(Debug, Error)]
pub enum RunDirError {
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("{path}: {message}")]
    Malformed { path: PathBuf, message: String },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RunDirError {
    let path = path.to_path_buf();
    move |source| RunDirError::Io {
        action,
        path,
        source,
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed to disk, then
/// renamed over `path`, so a reader or a crash never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunDirError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("replace", path))
}

/// `metrics.csv`: a header, then one row per update.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsLog {
    pub path: PathBuf,
}

/// The rows of a metrics log, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl MetricsTable {
    /// The values of column `name` (None when there is no such column); an empty cell (no
    /// value that update, e.g. no episode ended) reads as NaN, any other cell that is not a
    /// number is an error naming its row.
    pub fn column(&self, name: &str, path: &Path) -> Result<Option<Vec<f64>>, RunDirError> {
        let Some(k) = self.header.iter().position(|h| h == name) else {
            return Ok(None);
        };
        self.rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                row.get(k)
                    .and_then(|v| match v.as_str() {
                        "" => Some(f64::NAN),
                        v => v.parse::<f64>().ok(),
                    })
                    .ok_or_else(|| RunDirError::Malformed {
                        path: path.to_path_buf(),
                        message: format!("row {}: column `{name}` is not a number", i + 1),
                    })
            })
            .collect::<Result<Vec<f64>, RunDirError>>()
            .map(Some)
    }

    /// The last row's numeric cells by column name.
    pub fn last_row(&self) -> Vec<(String, f64)> {
        let Some(last) = self.rows.last() else {
            return Vec::new();
        };
        self.header
            .iter()
            .zip(last)
            .filter_map(|(name, v)| Some((name.clone(), v.parse::<f64>().ok()?)))
            .collect()
    }
}

impl MetricsLog {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(METRICS_FILE),
        }
    }

    /// Starts an empty log (a fresh run).
    pub fn create(&self) -> Result<(), RunDirError> {
        std::fs::write(&self.path, b"").map_err(io("create", &self.path))
    }

    /// Appends one update's row (and the header when the log is empty). A value that is not
    /// finite is written as an empty cell: a quantity with no value that update (the episode
    /// return when no episode ended), never a `NaN` for readers to trip over.
    pub fn append(
        &self,
        update: u64,
        env_steps: u64,
        scalars: &[(String, f64)],
    ) -> Result<(), RunDirError> {
        let empty = std::fs::metadata(&self.path)
            .map(|m| m.len() == 0)
            .map_err(io("read", &self.path))?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(io("open", &self.path))?;
        let mut w = csv::Writer::from_writer(file);
        let csv_error = |source| RunDirError::Csv {
            path: self.path.clone(),
            source,
        };
        if empty {
            let header = [UPDATE_COLUMN, STEPS_COLUMN]
                .into_iter()
                .chain(scalars.iter().map(|(k, _)| k.as_str()));
            w.write_record(header).map_err(csv_error)?;
        }
        let row = [update.to_string(), env_steps.to_string()]
            .into_iter()
            .chain(scalars.iter().map(|(_, v)| {
                if v.is_finite() {
                    v.to_string()
                } else {
                    String::new()
                }
            }));
        w.write_record(row).map_err(csv_error)?;
        w.flush().map_err(io("write", &self.path))
    }

    /// Reads the whole log.
    pub fn read(&self) -> Result<MetricsTable, RunDirError> {
        let csv_error = |source| RunDirError::Csv {
            path: self.path.clone(),
            source,
        };
        let file = std::fs::File::open(&self.path).map_err(io("read", &self.path))?;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(BoundedReader::new(
                std::io::BufReader::new(file),
                Limits::from_env().unwrap_or_default(),
            ));
        let mut records = r.records();
        let header = match records.next() {
            Some(h) => h.map_err(csv_error)?.iter().map(String::from).collect(),
            None => Vec::new(),
        };
        let rows = records
            .map(|rec| rec.map(|rec| rec.iter().map(String::from).collect()))
            .collect::<Result<Vec<Vec<String>>, csv::Error>>()
            .map_err(csv_error)?;
        Ok(MetricsTable { header, rows })
    }

    /// Drops the rows after update `updates` (logged after the checkpoint a resumed run starts
    /// from), so that the log reads as one uninterrupted run. A log that cannot be read is an
    /// error: the rows it holds are never silently lost.
    pub fn truncate_after(&self, updates: u64) -> Result<(), RunDirError> {
        let table = self.read()?;
        let mut w = csv::Writer::from_writer(Vec::new());
        let csv_error = |source| RunDirError::Csv {
            path: self.path.clone(),
            source,
        };
        if !table.header.is_empty() {
            w.write_record(&table.header).map_err(csv_error)?;
        }
        for (i, row) in table.rows.iter().enumerate() {
            let update = row
                .first()
                .and_then(|u| u.parse::<u64>().ok())
                .ok_or_else(|| RunDirError::Malformed {
                    path: self.path.clone(),
                    message: format!("row {}: no update number in the first column", i + 1),
                })?;
            if update <= updates {
                w.write_record(row).map_err(csv_error)?;
            }
        }
        let bytes = w.into_inner().map_err(|e| RunDirError::Malformed {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn scalars(v: f64) -> Vec<(String, f64)> {
        vec![
            ("charts/episode_return".into(), v),
            ("losses/kl".into(), f64::NAN),
        ]
    }

    #[test]
    fn rows_append_read_and_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let log = MetricsLog::in_dir(dir.path());
        log.create().unwrap();
        for u in 1..=3 {
            log.append(u, 10 * u, &scalars(-(u as f64))).unwrap();
        }
        let text = std::fs::read_to_string(&log.path).unwrap();
        assert_eq!(
            text,
            "update,env_steps,charts/episode_return,losses/kl\n1,10,-1,\n2,20,-2,\n3,30,-3,\n"
        );
        log.truncate_after(2).unwrap();
        let table = log.read().unwrap();
        assert_eq!(table.rows.len(), 2);
        let returns = table.column("charts/episode_return", &log.path).unwrap();
        assert_eq!(returns, Some(vec![-1.0, -2.0]));
        let kl = table.column("losses/kl", &log.path).unwrap().unwrap();
        assert!(
            kl.iter().all(|v| v.is_nan()),
            "empty cells read as no value"
        );
        assert_eq!(table.column("nope", &log.path).unwrap(), None);
        assert_eq!(table.last_row()[1], ("env_steps".to_string(), 20.0));
    }

    /// A resumed run whose log cannot be read stops instead of starting an empty log.
    #[test]
    fn unreadable_or_malformed_logs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let log = MetricsLog::in_dir(dir.path());
        assert!(matches!(log.truncate_after(1), Err(RunDirError::Io { .. })));
        std::fs::write(&log.path, "update,env_steps\nx,1\n").unwrap();
        let e = log.truncate_after(1).unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("metrics.csv"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&log.path).unwrap(),
            "update,env_steps\nx,1\n"
        );
    }
}
