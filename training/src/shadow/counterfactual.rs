//! Counterfactual one-step rewards: what a decision would have earned under the simulator's own
//! reward model, given what the record says happened (its `outcome`).
//!
//! Only traffic allows it: an interval's reward is a function of the split and of the interval's
//! demand, site health and RTT, which production observes afterwards. Elsewhere a record does
//! not determine the reward: batch rewards come when a whole window has run, a capacity change
//! is paid for after its lead time, and placement's fragmentation reward depends on the per-GPU
//! state that the node features summarise.

use crate::export::Manifest;
use anyhow::{Context, Result, bail, ensure};
use planetgym_env::{
    Action, Scenario, ScenarioConfig, Space, TrafficConfig, TrafficOracleView, TrafficScenario,
};
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Debug)]
pub enum Counterfactual {
    Traffic(Box<TrafficScenario>),
    Unavailable(String),
}

impl Counterfactual {
    /// The model for an export's scenario, rebuilt from the config in its manifest.
    pub fn for_manifest(m: &Manifest) -> Result<Self> {
        Ok(match m.scenario.as_str() {
            "traffic" => {
                let built =
                    TrafficConfig::from_toml(&m.scenario_config, "the manifest's scenario_config")
                        .map_err(anyhow::Error::from)
                        .and_then(|c| Ok(TrafficScenario::new(c)?));
                match built {
                    Ok(env) => {
                        if env.feature_spec().hash() != m.feature_spec_hash {
                            bail!(
                                "the manifest's scenario_config builds a scenario with FeatureSpec hash {}, not the manifest's {}",
                                env.feature_spec().hash(),
                                m.feature_spec_hash
                            );
                        }
                        Self::Traffic(Box::new(env))
                    }
                    Err(e) => Self::Unavailable(format!("cannot rebuild the traffic model: {e:#}")),
                }
            }
            "batch" => Self::Unavailable(
                "batch rewards come when a whole window has run, not per decision".into(),
            ),
            "capacity" => Self::Unavailable(
                "a capacity change is paid for after its lead time, not in one step".into(),
            ),
            "placement" => Self::Unavailable(
                "placement's reward depends on per-GPU node state that the features summarise"
                    .into(),
            ),
            other => Self::Unavailable(format!("no model for scenario `{other}`")),
        })
    }

    pub fn note(&self) -> String {
        match self {
            Self::Traffic(_) => {
                "traffic: the interval's reward under the record's outcome (demand, health, RTT)"
                    .into()
            }
            Self::Unavailable(why) => why.clone(),
        }
    }

    /// The reward of `action` under the record's `outcome` (None without an outcome or a model).
    pub fn reward(&self, outcome: Option<&Value>, action: &Action) -> Result<Option<f64>> {
        let (Self::Traffic(env), Some(outcome)) = (self, outcome) else {
            return Ok(None);
        };
        let conditions = traffic_conditions(outcome)?;
        let reward = env.one_step_reward(&conditions, action)?;
        ensure!(
            reward.is_finite(),
            "outcome: the model's reward is {reward} (demand or RTT out of any realistic range)"
        );
        Ok(Some(reward))
    }
}

/// The JSON Schema of a scenario's `outcome` (None: the scenario has no counterfactual model).
pub fn outcome_schema(scenario: &str, space: &Space) -> Option<Value> {
    let (scenario, Space::Simplex { rows, cols }) = (scenario, space) else {
        return None;
    };
    (scenario == "traffic").then(|| {
        let numbers = |n: usize| json!({"type": "array", "items": {"type": "number"}, "minItems": n, "maxItems": n});
        json!({
            "type": "object",
            "description": "what the interval the decision applied to turned out to be; optional (without it, no counterfactual reward)",
            "required": ["demand_rps", "health", "rtt_ms"],
            "additionalProperties": false,
            "properties": {
                "demand_rps": numbers(*rows),
                "health": numbers(*cols),
                "rtt_ms": {"type": "array", "items": numbers(*cols), "minItems": rows, "maxItems": rows},
            }
        })
    })
}

/// A traffic outcome as a record holds it.
pub fn traffic_outcome(view: &TrafficOracleView) -> Value {
    let sites = view.health.len().max(1);
    json!({
        "demand_rps": view.demand_rps,
        "health": view.health,
        "rtt_ms": view.rtt_ms.chunks(sites).collect::<Vec<_>>(),
    })
}

fn traffic_conditions(outcome: &Value) -> Result<TrafficOracleView> {
    let numbers = |v: &Value, at: &str| -> Result<Vec<f64>> {
        v.as_array()
            .with_context(|| format!("outcome.{at}: expected an array of numbers"))?
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_f64()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .with_context(|| {
                        format!("outcome.{at}[{i}]: expected a finite non-negative number, got {x}")
                    })
            })
            .collect()
    };
    let field = |name: &str| {
        outcome
            .get(name)
            .with_context(|| format!("outcome: `{name}` is missing"))
    };
    if let Some(key) = outcome
        .as_object()
        .context("outcome: expected an object")?
        .keys()
        .find(|k| !["demand_rps", "health", "rtt_ms"].contains(&k.as_str()))
    {
        bail!("outcome: unknown field `{key}` (expected demand_rps, health, rtt_ms)");
    }
    let demand_rps = numbers(field("demand_rps")?, "demand_rps")?;
    let health = numbers(field("health")?, "health")?;
    let rows = field("rtt_ms")?
        .as_array()
        .context("outcome.rtt_ms: expected one array of RTTs per region")?;
    ensure!(
        rows.len() == demand_rps.len(),
        "outcome.rtt_ms: {} rows, one per region ({}) expected",
        rows.len(),
        demand_rps.len()
    );
    let mut rtt = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let row = numbers(row, &format!("rtt_ms[{r}]"))?;
        ensure!(
            row.len() == health.len(),
            "outcome.rtt_ms[{r}]: {} values, one per site ({}) expected",
            row.len(),
            health.len()
        );
        rtt.extend(row);
    }
    Ok(TrafficOracleView {
        demand_rps,
        health,
        rtt_ms: Arc::from(rtt),
    })
}
