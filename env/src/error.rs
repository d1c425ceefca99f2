//! Typed errors of the simulator. Messages say what was wrong, where, and what is allowed.

use thiserror::Error;

/// What is wrong with an action, relative to its space.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ActionError {
    #[error("expected a {expected} action for space {space}, got a {got} action")]
    WrongKind {
        space: String,
        expected: &'static str,
        got: &'static str,
    },
    #[error("action has {got} values, space {space} needs {expected}")]
    WrongLength {
        space: String,
        expected: usize,
        got: usize,
    },
    #[error("action value {value} at index {index} is out of range: allowed {allowed}")]
    OutOfRange {
        index: usize,
        value: String,
        allowed: String,
    },
    #[error("action value at index {index} is not finite ({value})")]
    NotFinite { index: usize, value: f32 },
    #[error("action {action} is masked out (illegal in this state)")]
    Masked { action: usize },
    #[error("action {action} of dimension {index} is masked out (illegal in this state)")]
    MaskedDimension { index: usize, action: usize },
    #[error(
        "row {row}{label} sums to {sum:.6}, but each row of a simplex must sum to 1 (tolerance {tolerance})"
    )]
    RowSum {
        row: usize,
        label: String,
        sum: f64,
        tolerance: f64,
    },
}

/// Errors raised by scenarios, the vector env and configuration loading.
#[derive(Debug, Error)]
pub enum EnvError {
    #[error("invalid action: {0}")]
    InvalidAction(#[from] ActionError),
    #[error("invalid action for env copy {index}: {error}")]
    InvalidActionAt { index: usize, error: ActionError },
    #[error("step called before reset")]
    NotReset,
    #[error("step called after the episode ended (terminated or truncated): call reset first")]
    EpisodeOver,
    #[error("expected {expected} actions (one per env copy), got {got}")]
    WrongBatch { expected: usize, got: usize },
    #[error("config error: {0}")]
    Config(String),
    #[error("data error in {source_name}: {message}")]
    Data {
        source_name: String,
        message: String,
    },
    /// The OS error is the source: it is printed once, by the chain (`{:#}`, `chain`).
    #[error("could not read {path}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl EnvError {
    /// The message with every cause, each once: `could not read x.csv: No such file or directory`.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::Config(message.into())
    }

    pub fn data(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Data {
            source_name: source_name.into(),
            message: message.into(),
        }
    }
}
