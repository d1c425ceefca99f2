//! Export of a trained policy for production systems, and the loading of such an export.
//!
//! `policy.onnx` holds the network with the feature scales and the observation normalisation
//! folded in, so it takes features in the units the manifest names (as production logs them)
//! and returns the action parameters and the value. `manifest.json` says everything a
//! production system (or `planetgym shadow`) needs to feed it and read it, and what
//! `Artifact::load` checks before trusting the file: scenario, config, FeatureSpec and its
//! hash, action space and decoding, tensor names and shapes, training metrics, versions, the
//! ONNX file's SHA-256.

mod artifact;
mod contender;
mod graph;
mod manifest;

pub use artifact::Artifact;
pub(crate) use artifact::{checked_onnx, read_manifest};
pub use contender::{exported_contender, is_export};
pub use graph::{Inputs, input};
pub use manifest::{Axis, Manifest, OnnxFile, TensorSpec, Training, Verification, Versions};

use crate::error::{DeployError, Result, ensure};
use crate::onnx::{Graph, Model, Tensor};
use graph::{graph_inputs, policy_graph};
use manifest::{decoding, tensor_specs};
use planetgym_agents::Policy;
use planetgym_agents::nn::policy::{Mode, NeuralPolicy, POLICY_FORMAT, PolicyFile};
use planetgym_agents::registry::{self, Built, RegisteredScenario, ScenarioVisitor};
use planetgym_env::{Scenario, Space};
use planetgym_training::ppo::load_policy;
use planetgym_training::run_dir::{EVAL_FILE, MetricsLog, write_atomic};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const ONNX_FILE: &str = "policy.onnx";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const MANIFEST_FORMAT: u32 = 1;
pub const OPSET: i64 = 17;
/// Names of the dynamic axes.
pub const BATCH_AXIS: &str = "batch";
pub const ENTITY_AXIS: &str = "entities";
/// Observations the export runs through both burn and the written graph before keeping it.
const VERIFY_OBSERVATIONS: usize = 256;
/// Largest difference tolerated there (relative to max(1, |value|)).
const VERIFY_TOLERANCE: f32 = 1e-4;

/// Exports the policy in `policy_dir` (a run directory or a directory holding `policy.json`)
/// to `out` and returns its manifest.
pub fn export(policy_dir: &Path, out: &Path) -> Result<Manifest> {
    let file = load_policy(policy_dir)?;
    let origin = format!("the config saved in {}", policy_dir.display());
    let scenario = file.scenario.clone();
    let config = file.scenario_config.clone();
    registry::with_scenario(
        &scenario,
        &config,
        &origin,
        Exporter {
            file,
            policy_dir: policy_dir.to_path_buf(),
            out: out.to_path_buf(),
        },
    )
}

struct Exporter {
    file: PolicyFile,
    policy_dir: PathBuf,
    out: PathBuf,
}

impl ScenarioVisitor for Exporter {
    type Output = Manifest;
    type Error = DeployError;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Manifest> {
        let env = built.env;
        // Sampling, so that the verification visits varied states.
        let mut policy =
            NeuralPolicy::load("export", &env, &self.file, Mode::Sample).map_err(|e| {
                DeployError::Artifact(format!(
                    "{} does not fit its scenario: {e}",
                    self.policy_dir.display()
                ))
            })?;
        let spec = env.feature_spec();
        let space = env.action_space();
        let (hash, log_std) = (spec.hash(), policy.brain().log_std());
        let model = Model {
            graph: policy_graph(policy.brain(), spec, space),
            opset: OPSET,
            producer_name: "planetgym".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            doc: format!("planetgym {} policy; see manifest.json", env.name()),
            metadata: pinned(
                env.name(),
                &hash,
                space,
                &log_std,
                &self.file.scenario_config,
            ),
        };
        let bytes = model.to_bytes();
        let verification = verify(&env, &mut policy, &model.graph)?;
        let (inputs, outputs) = tensor_specs(spec, space);
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            scenario: env.name().into(),
            scenario_config: self.file.scenario_config.clone(),
            feature_spec_hash: hash,
            feature_spec: spec.clone(),
            action_space: space.clone(),
            action_decoding: decoding(space, spec.entity_parts().is_some()),
            log_std,
            inputs,
            outputs,
            training: training_summary(&self.policy_dir, &self.file)?,
            verification,
            versions: Versions {
                planetgym: env!("CARGO_PKG_VERSION").into(),
                manifest_format: MANIFEST_FORMAT,
                policy_format: POLICY_FORMAT,
                onnx_opset: OPSET,
            },
            onnx: OnnxFile {
                file: ONNX_FILE.into(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
            },
        };
        std::fs::create_dir_all(&self.out).map_err(DeployError::io(format!(
            "cannot create {}",
            self.out.display()
        )))?;
        write_atomic(&self.out.join(ONNX_FILE), &bytes)?;
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(DeployError::json("cannot serialise the manifest"))?;
        write_atomic(&self.out.join(MANIFEST_FILE), &json)?;
        Ok(manifest)
    }
}

/// What the graph's metadata pins, so that a manifest edited in these fields no longer matches
/// the graph, whose checksum the manifest holds.
pub(super) fn pinned(
    scenario: &str,
    feature_spec_hash: &str,
    space: &Space,
    log_std: &[f32],
    scenario_config: &str,
) -> Vec<(String, String)> {
    [
        ("planetgym.scenario", scenario.to_string()),
        ("planetgym.feature_spec_hash", feature_spec_hash.to_string()),
        (
            "planetgym.action_space",
            serde_json::to_string(space).unwrap_or_default(),
        ),
        (
            "planetgym.log_std",
            serde_json::to_string(log_std).unwrap_or_default(),
        ),
        (
            "planetgym.scenario_config_sha256",
            sha256_hex(scenario_config.as_bytes()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn training_summary(dir: &Path, file: &PolicyFile) -> Result<Training> {
    let metrics = MetricsLog::in_dir(dir);
    let last_metrics: BTreeMap<String, f64> = if metrics.path.exists() {
        metrics.read()?.last_row().into_iter().collect()
    } else {
        BTreeMap::new()
    };
    let eval = dir.join(EVAL_FILE);
    let evaluation = match planetgym_env::input::read_bytes(&eval) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .map_err(DeployError::json(format!("{} is not JSON", eval.display())))?,
        ),
        Err(_) => None,
    };
    Ok(Training {
        trained_steps: file.trained_steps,
        hidden: file.hidden,
        column_pooling: file.column_pooling,
        last_metrics,
        evaluation,
    })
}

/// Runs `policy` for `VERIFY_OBSERVATIONS` steps and compares burn's outputs with the graph's
/// on every observation.
fn verify<S: Scenario + Clone>(
    env: &S,
    policy: &mut NeuralPolicy<S>,
    graph: &Graph,
) -> Result<Verification> {
    let mut env = env.clone();
    let obs_len = policy.obs_len();
    let mut rows = Vec::with_capacity(VERIFY_OBSERVATIONS * obs_len);
    let mut row = vec![0.0; obs_len];
    let mut seed = 0;
    'episodes: while rows.len() < VERIFY_OBSERVATIONS * obs_len {
        let mut obs = env.reset(seed);
        policy.reset(seed);
        seed += 1;
        loop {
            env.encode(&obs, &mut row);
            rows.extend_from_slice(&row);
            if rows.len() >= VERIFY_OBSERVATIONS * obs_len {
                break 'episodes;
            }
            let action = policy.act(&obs, env.action_mask())?;
            let t = env.step(&action)?;
            if t.terminated || t.truncated {
                break;
            }
            obs = t.obs;
        }
    }
    let (params, values) = policy.outputs(&rows);
    let spec = env.feature_spec();
    let outputs = graph
        .prepare()?
        .run(&graph_inputs(spec, &rows))
        .map_err(|e| DeployError::Artifact(format!("the exported graph does not run: {e}")))?;
    let diff = |want: &[f32], got: &Tensor| -> Result<f32> {
        let Some(got) = got.as_f32() else {
            return Err(DeployError::Artifact(
                "the exported graph returns a non-float output".into(),
            ));
        };
        ensure!(
            Artifact,
            got.len() == want.len(),
            "the exported graph returns {} values, burn {}",
            got.len(),
            want.len()
        );
        Ok(want
            .iter()
            .zip(got)
            .map(|(a, b)| {
                let d = (a - b).abs() / a.abs().max(1.0);
                if d.is_finite() { d } else { f32::INFINITY }
            })
            .fold(0.0, f32::max))
    };
    let max_difference = diff(&params, &outputs[0])?.max(diff(&values, &outputs[1])?);
    ensure!(
        Artifact,
        max_difference <= VERIFY_TOLERANCE,
        "the exported graph differs from the burn policy by {max_difference:e} (tolerance {VERIFY_TOLERANCE:e}): not written"
    );
    Ok(Verification {
        observations: rows.len() / obs_len,
        max_difference,
        runtime: "planetgym's ONNX interpreter".into(),
    })
}
