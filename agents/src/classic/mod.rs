//! Classic decision makers: heuristics, exact optimisers and labelled oracles.

pub mod batch;
pub mod batch_guided;
pub mod batch_rollout;
pub mod capacity;
pub mod placement;
pub mod placement_rollout;
pub mod risk;
pub mod services;
pub mod services_milp;
mod services_partition;
pub mod traffic;
mod traffic_lp;
mod traffic_outcome;

pub use traffic_lp::RoutingLp;

/// A HiGHS minimisation of `problem`, quiet and on one thread (the same result on any
/// machine, and no oversubscription when episodes run in parallel).
fn quiet_model(problem: highs::ColProblem) -> Result<highs::Model, String> {
    let mut model = problem
        .try_optimise(highs::Sense::Minimise)
        .map_err(|e| format!("HiGHS rejected the model: {e:?}"))?;
    model.make_quiet();
    model
        .try_set_option("threads", 1)
        .map_err(|e| format!("HiGHS option threads: {e:?}"))?;
    Ok(model)
}
