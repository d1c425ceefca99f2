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

/// The base rule of a parameterised search name (`rollout-RULE@...`): the one of `all` that
/// `name_of` calls `name`, or an error listing the known names.
fn base_rule_named<R: Copy>(
    all: &[R],
    name: &str,
    name_of: impl Fn(R) -> &'static str,
) -> Result<R, String> {
    all.iter()
        .copied()
        .find(|&r| name_of(r) == name)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|&r| name_of(r)).collect();
            format!("no base rule `{name}`; known: {}", names.join(", "))
        })
}

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
