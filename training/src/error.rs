//! What can go wrong in training, evaluation tables and plots: each error says what was wrong
//! and where (file, config origin, or update and copy of a run). A variant that wraps another
//! error does not repeat its message: the chain (`{:#}` in anyhow) prints each cause once.

use crate::run_dir::RunDirError;
use planetgym_agents::PolicyError;
use planetgym_agents::evaluate::EvalError;
use planetgym_agents::registry::RegistryError;
use planetgym_env::EnvError;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TrainingError {
    /// A file of a run directory could not be read or written.
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    /// A file or directory could not be read or created: `what` says which and why it was needed.
    #[error("{what}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// A file was read but is not what it should be (corrupt, another format, another run).
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// A training config is wrong: `origin` names it, the message the field and the rule.
    #[error("{origin}: {message}")]
    Config { origin: String, message: String },
    #[error(transparent)]
    Scenario(#[from] RegistryError),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Evaluation(#[from] EvalError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The scenario refused something during training: `at` says when (update, copy).
    #[error("{at}")]
    Step { at: String, source: EnvError },
    /// Training cannot go on (diverged, a network output is unusable, ...): `at` says when.
    #[error("{at}: {message}")]
    Run { at: String, message: String },
    /// A results table or plot could not be produced.
    #[error("{what}: {message}")]
    Report { what: String, message: String },
}

impl TrainingError {
    pub fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::File {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }

    pub fn config(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            origin: origin.into(),
            message: message.into(),
        }
    }

    pub fn run(at: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Run {
            at: at.into(),
            message: message.to_string(),
        }
    }

    pub fn report(what: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Report {
            what: what.into(),
            message: message.to_string(),
        }
    }
}

pub type Result<T, E = TrainingError> = std::result::Result<T, E>;
