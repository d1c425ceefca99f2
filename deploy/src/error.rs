//! What can go wrong exporting a policy, loading an export and replaying decision logs: each
//! error names the file, line or field and what was expected. A variant that wraps another
//! error does not repeat its message: the chain (`{:#}` in anyhow, `chain` here) prints each
//! cause once.

use crate::onnx::OnnxError;
use planetgym_agents::PolicyError;
use planetgym_agents::registry::{OutcomeError, RegistryError};
use planetgym_env::EnvError;
use planetgym_training::error::TrainingError;
use planetgym_training::run_dir::RunDirError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DeployError {
    #[error(transparent)]
    Training(#[from] TrainingError),
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error(transparent)]
    Scenario(#[from] RegistryError),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Outcome(#[from] OutcomeError),
    /// A file could not be read or written: `what` says which.
    #[error("{what}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// JSON that could not be read or written: `what` says which.
    #[error("{what}")]
    Json {
        what: String,
        source: serde_json::Error,
    },
    /// An export refused (on writing or loading it): what does not match, and where.
    #[error("{0}")]
    Artifact(String),
    /// An argument that names nothing usable (e.g. an unknown incumbent).
    #[error("{0}")]
    Argument(String),
    /// A decision record that cannot be scored: the field and what was expected.
    #[error("{0}")]
    Record(String),
}

impl DeployError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }

    pub fn json(what: impl Into<String>) -> impl FnOnce(serde_json::Error) -> Self {
        let what = what.into();
        move |source| Self::Json { what, source }
    }
}

pub type Result<T, E = DeployError> = std::result::Result<T, E>;

/// An error and its causes, `: `-separated, as one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    message
}

/// Returns `Err(DeployError::$kind(format!(...)))` unless `$cond` holds.
macro_rules! ensure {
    ($kind:ident, $cond:expr, $($message:tt)+) => {
        let holds: bool = $cond;
        if !holds {
            return Err($crate::error::DeployError::$kind(format!($($message)+)));
        }
    };
}
pub(crate) use ensure;
