//! Shadow mode's counterfactual model for traffic: an interval's reward is a function of the
//! split and of the interval's demand, site health and RTT, which production observes afterwards
//! and logs as the record's `outcome`.

use crate::registry::{OutcomeError, OutcomeModel};
use planetgym_env::bounds::excerpt;
use planetgym_env::{Action, TrafficOracleView, TrafficScenario};
use serde_json::{Value, json};
use std::sync::Arc;

const FIELDS: [&str; 3] = ["demand_rps", "health", "rtt_ms"];

/// The traffic model, scoring splits under logged outcomes.
#[derive(Debug)]
pub struct TrafficOutcomes(pub TrafficScenario);

impl OutcomeModel for TrafficOutcomes {
    fn note(&self) -> &'static str {
        "traffic: the interval's reward under the record's outcome (demand, health, RTT)"
    }

    fn schema(&self) -> Value {
        let (rows, cols) = (self.0.geography().regions.len(), self.0.sites().len());
        let numbers = |n: usize| json!({"type": "array", "items": {"type": "number"}, "minItems": n, "maxItems": n});
        json!({
            "type": "object",
            "description": "what the interval the decision applied to turned out to be; optional (without it, no counterfactual reward)",
            "required": FIELDS,
            "additionalProperties": false,
            "properties": {
                "demand_rps": numbers(rows),
                "health": numbers(cols),
                "rtt_ms": {"type": "array", "items": numbers(cols), "minItems": rows, "maxItems": rows},
            }
        })
    }

    fn reward(&self, outcome: &Value, action: &Action) -> Result<f64, OutcomeError> {
        let conditions = conditions(outcome)?;
        let reward = self.0.one_step_reward(&conditions, action)?;
        if !reward.is_finite() {
            return Err(OutcomeError::new(
                "",
                format!(
                    "the model's reward is {reward} (demand or RTT out of any realistic range)"
                ),
            ));
        }
        Ok(reward)
    }
}

/// A traffic outcome as a record holds it.
pub fn logged_outcome(view: &TrafficOracleView) -> Value {
    let sites = view.health.len().max(1);
    json!({
        "demand_rps": view.demand_rps,
        "health": view.health,
        "rtt_ms": view.rtt_ms.chunks(sites).collect::<Vec<_>>(),
    })
}

/// The array of numbers `v`, each finite and in `[0, max]`.
fn numbers(v: &Value, at: &str, max: f64) -> Result<Vec<f64>, OutcomeError> {
    let items = v
        .as_array()
        .ok_or_else(|| OutcomeError::new(format!(".{at}"), "expected an array of numbers"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            x.as_f64()
                .filter(|x| (0.0..=max).contains(x))
                .ok_or_else(|| {
                    OutcomeError::new(
                        format!(".{at}[{i}]"),
                        format!(
                            "expected a number in [0, {max}], got {}",
                            excerpt(&x.to_string(), 40)
                        ),
                    )
                })
        })
        .collect()
}

fn conditions(outcome: &Value) -> Result<TrafficOracleView, OutcomeError> {
    let object = outcome
        .as_object()
        .ok_or_else(|| OutcomeError::new("", "expected an object"))?;
    if let Some(key) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(OutcomeError::new(
            "",
            format!("unknown field `{key}` (expected demand_rps, health, rtt_ms)"),
        ));
    }
    let field = |name: &str| {
        object
            .get(name)
            .ok_or_else(|| OutcomeError::new("", format!("`{name}` is missing")))
    };
    // Health is the fraction of a site's capacity that works; demand and RTT are bounded so
    // that a counterfactual reward stays finite.
    let demand_rps = numbers(field("demand_rps")?, "demand_rps", 1e12)?;
    let health = numbers(field("health")?, "health", 1.0)?;
    let rows = field("rtt_ms")?
        .as_array()
        .ok_or_else(|| OutcomeError::new(".rtt_ms", "expected one array of RTTs per region"))?;
    if rows.len() != demand_rps.len() {
        return Err(OutcomeError::new(
            ".rtt_ms",
            format!(
                "{} rows, one per region ({}) expected",
                rows.len(),
                demand_rps.len()
            ),
        ));
    }
    let mut rtt = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let row = numbers(row, &format!("rtt_ms[{r}]"), 1e6)?;
        if row.len() != health.len() {
            return Err(OutcomeError::new(
                format!(".rtt_ms[{r}]"),
                format!(
                    "{} values, one per site ({}) expected",
                    row.len(),
                    health.len()
                ),
            ));
        }
        rtt.extend(row);
    }
    Ok(TrafficOracleView {
        demand_rps,
        health,
        rtt_ms: Arc::from(rtt),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_out_of_range_are_refused_with_their_path() {
        let outcome = |health: f64, demand: f64| json!({"demand_rps": [demand], "health": [1.0, health], "rtt_ms": [[10.0, 20.0]]});
        assert!(conditions(&outcome(0.5, 100.0)).is_ok());
        for (value, at, want) in [
            (
                outcome(1.5, 100.0),
                ".health[1]",
                "expected a number in [0, 1], got 1.5",
            ),
            (outcome(-0.1, 100.0), ".health[1]", "got -0.1"),
            (
                outcome(0.5, 1e300),
                ".demand_rps[0]",
                "expected a number in [0, 1000000000000]",
            ),
        ] {
            let e = conditions(&value)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(at) && e.contains(want), "{value}: {e}");
        }
    }
}
