//! What can be wrong with a network: saved weights or statistics that do not fit the network a
//! scenario needs, or outputs that cannot become an action.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum NetworkError {
    /// A saved network (format, scenario, feature spec, weights, statistics, optimiser state)
    /// that does not fit the one the scenario needs; the message says what differs.
    #[error("{0}")]
    Mismatch(String),
    /// A network output or raw action that cannot become an action (diverged, no legal
    /// choice, wrong length).
    #[error("{0}")]
    Unusable(String),
}
