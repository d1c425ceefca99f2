//! Classic decision makers: heuristics, exact optimisers and labelled oracles.

pub mod batch;
pub mod batch_rollout;
pub mod capacity;
pub mod placement;
pub mod services;
pub mod services_milp;
mod services_partition;
pub mod traffic;
mod traffic_lp;
mod traffic_outcome;

pub use traffic_lp::RoutingLp;
