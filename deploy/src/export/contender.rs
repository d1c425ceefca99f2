//! An export as an evaluation contender: planetgym's own ONNX interpreter runs the checked
//! graph on the scenario's encoded observations (converted to the manifest's feature units),
//! and the action is decoded greedily as shadow mode does, so an exported policy is judged on
//! the same episodes as the baselines and the burn policy it came from.

use super::graph::graph_inputs;
use super::{Artifact, MANIFEST_FILE};
use crate::error::{DeployError, Result, ensure};
use planetgym_agents::evaluate::ContenderFactory;
use planetgym_agents::nn::head::ActionHead;
use planetgym_agents::nn::policy::same_actions;
use planetgym_agents::{Contender, Policy, PolicyError};
use planetgym_env::{Action, Scenario};
use std::path::Path;
use std::sync::Arc;

/// Whether `dir` holds an export (`manifest.json`).
pub fn is_export(dir: &Path) -> bool {
    dir.join(MANIFEST_FILE).exists()
}

/// The export in `dir` as one evaluation row named `name`, checked against `env`: same
/// scenario, FeatureSpec and action space.
pub fn exported_contender<S: Scenario + Clone + 'static>(
    dir: &Path,
    name: &str,
    env: &S,
) -> Result<ContenderFactory<S>> {
    let artifact = Arc::new(Artifact::load(dir)?);
    let m = &artifact.manifest;
    ensure!(
        Artifact,
        m.scenario == env.name(),
        "{}: exported for {}, evaluated on {}",
        dir.display(),
        m.scenario,
        env.name()
    );
    ensure!(
        Artifact,
        m.feature_spec_hash == env.feature_spec().hash()
            && same_actions(
                &m.action_space.to_string(),
                &env.action_space().to_string(),
                env.feature_spec().entity_parts().is_some()
            ),
        "{}: its features or actions differ from this {} config's (another size or observation \
         kind?); evaluate it with the scenario config in its manifest",
        dir.display(),
        env.name()
    );
    ensure!(
        Artifact,
        !m.training.column_pooling || m.action_space == *env.action_space(),
        "{}: its graph pools over the columns of a {} grid, this {} config's actions are {}; \
         evaluate it with the scenario config in its manifest",
        dir.display(),
        m.action_space,
        env.name(),
        env.action_space()
    );
    let encoder = Arc::new(env.clone());
    let name = name.to_string();
    Ok(Box::new(move || {
        Contender::Fair(Box::new(ExportedPolicy {
            name: name.clone(),
            head: ActionHead::for_space(encoder.action_space()),
            row: vec![0.0; encoder.feature_spec().encoded_len()],
            artifact: artifact.clone(),
            encoder: encoder.clone(),
        }))
    }))
}

struct ExportedPolicy<S> {
    name: String,
    artifact: Arc<Artifact>,
    head: ActionHead,
    encoder: Arc<S>,
    row: Vec<f32>,
}

impl<S: Scenario + 'static> Policy<S> for ExportedPolicy<S> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn act(&mut self, obs: &S::Obs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let invalid = |message: String| PolicyError::Invalid {
            policy: self.name.clone(),
            message,
        };
        self.encoder.encode(obs, &mut self.row);
        let spec = &self.artifact.manifest.feature_spec;
        let (params, _) = self
            .artifact
            .run(&graph_inputs(spec, &self.row))
            .map_err(|e: DeployError| invalid(e.to_string()))?;
        self.head
            .act(&params, &self.artifact.manifest.log_std, mask, None)
            .map(|(_, action)| action)
            .map_err(|e| invalid(e.to_string()))
    }
}
