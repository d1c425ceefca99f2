//! The `services` scenario (in progress): where each microservice's replicas and each data
//! shard's replicas live across regions. So far: the application model rebuilt from the
//! Alibaba v2022 call graphs ([`catalog`]).

pub mod catalog;
pub mod serving;
