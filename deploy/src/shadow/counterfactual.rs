//! Counterfactual one-step rewards: what a decision would have earned under the simulator's own
//! reward model, given what the record says happened (its `outcome`). Whether a scenario allows
//! it, and how, is its registry entry's `outcome_model` (only traffic does: an interval's reward
//! is a function of the split and of what production observes afterwards).

use crate::error::{DeployError, Result, chain};
use crate::export::Manifest;
use planetgym_agents::registry::{
    Built, OutcomeModel, RegisteredScenario, ScenarioVisitor, with_scenario,
};
use planetgym_env::Action;
use serde_json::Value;

/// The scenario's outcome model, or why there is none.
#[derive(Debug)]
pub struct Counterfactual(Result<Box<dyn OutcomeModel>, String>);

impl Counterfactual {
    /// The model of an export's scenario, rebuilt from the config in its manifest (whose
    /// FeatureSpec must be the manifest's).
    pub fn for_manifest(m: &Manifest) -> Result<Self> {
        let origin = "the manifest's scenario_config";
        match with_scenario(&m.scenario, &m.scenario_config, origin, ModelOf) {
            Ok((Ok(model), hash)) => {
                if hash != m.feature_spec_hash {
                    return Err(DeployError::Artifact(format!(
                        "the manifest's scenario_config builds a scenario with FeatureSpec hash {hash}, not the manifest's {}",
                        m.feature_spec_hash
                    )));
                }
                Ok(Self(Ok(model)))
            }
            Ok((Err(why), _)) => Ok(Self(Err(why.into()))),
            Err(e) => Ok(Self(Err(format!(
                "cannot rebuild the {} model: {}",
                m.scenario,
                chain(&e)
            )))),
        }
    }

    /// The model of a scenario built by name.
    pub fn for_scenario<S: RegisteredScenario>(built: &Built<S>) -> Self {
        Self(built.env.outcome_model().map_err(String::from))
    }

    pub fn note(&self) -> String {
        match &self.0 {
            Ok(model) => model.note().into(),
            Err(why) => why.clone(),
        }
    }

    /// The JSON Schema of a record's `outcome` (None: no model).
    pub fn schema(&self) -> Option<Value> {
        self.0.as_ref().ok().map(|model| model.schema())
    }

    /// The reward of `action` under the record's `outcome` (None without an outcome or a model).
    pub fn reward(&self, outcome: Option<&Value>, action: &Action) -> Result<Option<f64>> {
        let (Ok(model), Some(outcome)) = (&self.0, outcome) else {
            return Ok(None);
        };
        Ok(Some(model.reward(outcome, action)?))
    }
}

struct ModelOf;

impl ScenarioVisitor for ModelOf {
    type Output = (Result<Box<dyn OutcomeModel>, &'static str>, String);
    type Error = DeployError;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Self::Output> {
        Ok((built.env.outcome_model(), built.env.feature_spec().hash()))
    }
}
