//! planetgym._core: the compiled half of the Python package.
//!
//! For now it exposes the scenarios' documented default configs; the gymnasium environments,
//! the vector env and the trainer are bound here as they land.

use planetgym_env::ScenarioConfig;
use planetgym_env::batch::config::DEFAULT_TOML as BATCH_DEFAULT;
use planetgym_env::capacity::config::DEFAULT_TOML as CAPACITY_DEFAULT;
use planetgym_env::placement::config::DEFAULT_TOML as PLACEMENT_DEFAULT;
use planetgym_env::traffic::config::DEFAULT_TOML as TRAFFIC_DEFAULT;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

const SCENARIOS: [(&str, &str); 4] = [
    ("traffic", TRAFFIC_DEFAULT),
    ("batch", BATCH_DEFAULT),
    ("placement", PLACEMENT_DEFAULT),
    ("capacity", CAPACITY_DEFAULT),
];

/// Names of the scenarios this build provides.
#[pyfunction]
fn scenario_names() -> Vec<&'static str> {
    SCENARIOS.iter().map(|(name, _)| *name).collect()
}

/// The documented default config (TOML text) of `scenario`.
#[pyfunction]
fn default_config(scenario: &str) -> PyResult<&'static str> {
    SCENARIOS
        .iter()
        .find(|(name, _)| *name == scenario)
        .map(|(_, toml)| *toml)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "unknown scenario {scenario:?}; known: {}",
                scenario_names().join(", ")
            ))
        })
}

/// Checks a traffic config (TOML text, only the fields that differ from the default) and
/// raises ValueError with the field and the rule when it is invalid.
#[pyfunction]
fn validate_traffic_config(toml: &str) -> PyResult<()> {
    planetgym_env::TrafficConfig::from_toml(toml, "config")
        .map(|_| ())
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(scenario_names, m)?)?;
    m.add_function(wrap_pyfunction!(default_config, m)?)?;
    m.add_function(wrap_pyfunction!(validate_traffic_config, m)?)?;
    Ok(())
}
