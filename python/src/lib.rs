//! planetgym._core: the compiled half of the Python package. The gymnasium classes, the
//! Stable-Baselines3 adapter and the pandas tables are written in Python on top of it
//! (`python/planetgym`).

mod actions;
mod callable_policy;
mod dynamic;
mod envs;
mod errors;
mod risk;
mod shadow;
mod stats;
mod training;

use errors::{any_error, value_error};
use planetgym_agents::registry::{self, RegisteredScenario, SCENARIOS, with_scenario};
use pyo3::prelude::*;

/// The `planetgym` command line run on `argv` (program name first), with the GIL released;
/// returns the exit status (the `planetgym` console script's entry point).
#[pyfunction]
fn cli(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(|| planetgym_cli::run(argv.into_iter().map(Into::into)))
}

/// The text of a config file in folder `base` with its relative data paths pointing into
/// `base`: a config of `scenario`, or (None) a training config.
#[pyfunction]
#[pyo3(signature = (text, base, scenario = None))]
fn rebase_config_paths(text: &str, base: std::path::PathBuf, scenario: Option<&str>) -> String {
    registry::rebase_config_paths(scenario, text, &base)
}

/// Names of the scenarios this build provides.
#[pyfunction]
fn scenario_names() -> Vec<&'static str> {
    SCENARIOS.iter().map(|s| s.name).collect()
}

/// Every registered scenario's gymnasium id, by scenario name.
#[pyfunction]
fn gym_ids() -> Vec<(&'static str, &'static str)> {
    SCENARIOS.iter().map(|s| (s.name, s.gym_id)).collect()
}

/// The documented default config (TOML text) of `scenario`.
#[pyfunction]
fn default_config(scenario: &str) -> PyResult<&'static str> {
    registry::find(scenario)
        .map(|s| s.default_config)
        .ok_or_else(|| {
            value_error(format!(
                "unknown scenario {scenario:?}; known: {}",
                registry::names()
            ))
        })
}

/// The complete config of `scenario` (its default merged with `config`, TOML text with only
/// the fields that change), after checking it; ValueError names the field and the rule.
#[pyfunction]
#[pyo3(signature = (scenario, config, origin = "config"))]
fn resolve_config(py: Python<'_>, scenario: &str, config: &str, origin: &str) -> PyResult<String> {
    struct Resolved;
    impl registry::ScenarioVisitor for Resolved {
        type Output = String;
        type Error = anyhow::Error;
        fn visit<S: RegisteredScenario>(self, built: registry::Built<S>) -> anyhow::Result<String> {
            Ok(built.resolved_config)
        }
    }
    py.detach(|| with_scenario(scenario, config, origin, Resolved))
        .map_err(any_error)
}

/// TOML text for a JSON document (how Python dict configs reach the Rust loaders).
#[pyfunction]
fn toml_from_json(json: &str) -> PyResult<String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(value_error)?;
    let table = toml::Table::try_from(value).map_err(|e| {
        value_error(format!(
            "config cannot be written as TOML (a None value?): {e}"
        ))
    })?;
    toml::to_string(&table).map_err(value_error)
}

/// mimalloc, keeping freed memory (see `planetgym_training::allocator`): training from Python
/// allocates as the CLI does.
#[global_allocator]
static ALLOCATOR: planetgym_training::allocator::Allocator =
    planetgym_training::allocator::Allocator;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    planetgym_training::allocator::keep_freed_memory();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add_function(wrap_pyfunction!(rebase_config_paths, m)?)?;
    m.add_function(wrap_pyfunction!(scenario_names, m)?)?;
    m.add_function(wrap_pyfunction!(gym_ids, m)?)?;
    m.add_function(wrap_pyfunction!(default_config, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_config, m)?)?;
    m.add_function(wrap_pyfunction!(toml_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(training::train, m)?)?;
    m.add_function(wrap_pyfunction!(training::baselines, m)?)?;
    m.add_function(wrap_pyfunction!(training::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(stats::aggregate_interval, m)?)?;
    m.add_function(wrap_pyfunction!(stats::improvement_interval, m)?)?;
    m.add_function(wrap_pyfunction!(stats::compare_columns, m)?)?;
    m.add_class::<envs::Env>()?;
    m.add_class::<envs::VecEnv>()?;
    m.add_class::<training::Policy>()?;
    m.add_class::<training::RolloutWorker>()?;
    m.add_function(wrap_pyfunction!(shadow::export, m)?)?;
    m.add_function(wrap_pyfunction!(shadow::record_schema, m)?)?;
    m.add_function(wrap_pyfunction!(shadow::sample_records, m)?)?;
    m.add_class::<shadow::ShadowArtifact>()?;
    m.add_function(wrap_pyfunction!(risk::risk_tasks, m)?)?;
    m.add_function(wrap_pyfunction!(risk::risk_report, m)?)?;
    m.add_function(wrap_pyfunction!(risk::risk_censoring, m)?)?;
    m.add_function(wrap_pyfunction!(risk::export_predictor, m)?)?;
    m.add_function(wrap_pyfunction!(risk::shadow_predictor, m)?)?;
    m.add_class::<shadow::Record>()?;
    Ok(())
}
