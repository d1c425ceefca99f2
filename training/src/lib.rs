//! planetgym-training: scenario registry, results tables and the `planetgym` command line.

pub mod plot;
pub mod registry;
pub mod report;
