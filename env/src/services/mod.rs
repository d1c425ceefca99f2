//! The `services` scenario (in progress): where each microservice's replicas and each data
//! shard's replicas live across regions. So far: the application model rebuilt from the
//! Alibaba v2022 call graphs ([`catalog`]), the serving model ([`serving`]), data residency
//! ([`residency`]) and the config ([`config`]).

pub mod catalog;
pub mod config;
pub mod residency;
pub mod serving;

/// The call graphs shipped with planetgym (see `traces::callgraph::BUILTIN_SAMPLE`).
pub const BUILTIN_CALLGRAPHS: &str = crate::traces::callgraph::BUILTIN_NAME;
