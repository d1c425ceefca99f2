//! Rust errors as Python exceptions: bad input is `ValueError`, files are `OSError`, misuse of
//! the episode protocol (step before reset, after the end) is `RuntimeError`.

use planetgym_env::EnvError;
use pyo3::PyErr;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};

pub fn value_error(message: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(message.to_string())
}

pub fn env_error(e: EnvError) -> PyErr {
    match e {
        EnvError::NotReset | EnvError::EpisodeOver => PyRuntimeError::new_err(e.to_string()),
        EnvError::Io { .. } => PyOSError::new_err(e.chain()),
        _ => value_error(e.chain()),
    }
}

/// An error from the trainer or a loader, with its whole chain of causes in the message.
pub fn any_error(e: impl Into<anyhow::Error>) -> PyErr {
    let e: anyhow::Error = e.into();
    let message = format!("{e:#}");
    let io = e.chain().any(|cause| {
        cause.is::<std::io::Error>() || matches!(cause.downcast_ref(), Some(EnvError::Io { .. }))
    });
    if io {
        PyOSError::new_err(message)
    } else {
        PyValueError::new_err(message)
    }
}
