//! The manifest: what a production system needs to feed the graph and read its outputs.

use super::{BATCH_AXIS, ENTITY_AXIS};
use crate::onnx::{Dim, ElemType, ValueInfo};
use planetgym_agents::nn::head::ActionHead;
use planetgym_env::features::Layout;
use planetgym_env::{FeatureSpec, Space};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One axis of a tensor: a fixed size or a named dynamic one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Axis {
    Fixed(usize),
    Dynamic(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorSpec {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<Axis>,
    pub description: String,
}

/// What the policy was trained with and how it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Training {
    pub trained_steps: u64,
    pub hidden: usize,
    /// Whether the network pools over the columns of its split grid: the graph then holds the
    /// number of columns (absent in manifests written before the option existed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub column_pooling: bool,
    /// The last row of the run's `metrics.csv` (empty when the directory has none).
    pub last_metrics: BTreeMap<String, f64>,
    /// The run's final evaluation table (`eval.json`), when there is one.
    pub evaluation: Option<serde_json::Value>,
}

/// The export's own check: burn and the written graph on observations of the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub observations: usize,
    /// Largest |burn - graph| / max(1, |burn|) over every output.
    pub max_difference: f32,
    pub runtime: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub planetgym: String,
    pub manifest_format: u32,
    pub policy_format: u32,
    pub onnx_opset: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnnxFile {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub scenario: String,
    /// The scenario config the policy was trained on (TOML).
    pub scenario_config: String,
    pub feature_spec_hash: String,
    /// Feature names, units and scales in input order; entity layouts list the global and the
    /// per-entity features (`entities` is the count seen in training: any count runs).
    pub feature_spec: FeatureSpec,
    pub action_space: Space,
    /// How the outputs become an action.
    pub action_decoding: String,
    /// Log standard deviations of the Gaussian over the outputs (Box and Simplex spaces): for
    /// sampling; decisions use the mean.
    pub log_std: Vec<f32>,
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
    pub training: Training,
    pub verification: Verification,
    pub versions: Versions,
    pub onnx: OnnxFile,
}

/// Name of the action-parameter output for a space.
pub(super) fn params_output(space: &Space) -> &'static str {
    match space {
        Space::Box { .. } => "mean",
        _ => "logits",
    }
}

pub(super) fn decoding(space: &Space, entity: bool) -> String {
    let over = if entity { "entities" } else { "outputs" };
    match space {
        Space::Discrete { .. } => format!(
            "`logits` [batch, {over}]: the action is the index of the largest logit among the legal choices (ties: the lowest index)"
        ),
        Space::MultiDiscrete { nvec } => format!(
            "`logits` [batch, {}]: dimension i is the largest legal logit among its nvec[i] options {nvec:?}, taken one dimension after the other",
            nvec.iter().sum::<usize>()
        ),
        Space::Box { .. } => {
            "`mean` [batch, d]: the action is the mean clipped to [low, high]".to_string()
        }
        Space::Simplex { rows, cols } => format!(
            "`logits` [batch, {}]: row-major {rows} rows of {cols}; the action is the softmax of each row",
            rows * cols
        ),
    }
}

pub(super) fn tensor_specs(
    spec: &FeatureSpec,
    space: &Space,
) -> (Vec<TensorSpec>, Vec<TensorSpec>) {
    let batch = || Axis::Dynamic(BATCH_AXIS.into());
    let entities = || Axis::Dynamic(ENTITY_AXIS.into());
    let float = |name: &str, shape: Vec<Axis>, description: &str| TensorSpec {
        name: name.into(),
        dtype: "float32".into(),
        shape,
        description: description.into(),
    };
    let (inputs, per_row) = match &spec.layout {
        Layout::Flat { features } => (
            vec![float(
                "obs",
                vec![batch(), Axis::Fixed(features.len())],
                "feature_spec.layout.features, in order, in their units",
            )],
            Axis::Fixed(ActionHead::for_space(space).outputs()),
        ),
        Layout::Entity { global, entity, .. } => (
            vec![
                float(
                    "global",
                    vec![batch(), Axis::Fixed(global.len())],
                    "feature_spec.layout.global, in order, in their units",
                ),
                float(
                    "entities",
                    vec![batch(), entities(), Axis::Fixed(entity.len())],
                    "one row per candidate: feature_spec.layout.entity, in order, in their units",
                ),
                float(
                    "entity_mask",
                    vec![batch(), entities()],
                    "1 for a present candidate, 0 for padding",
                ),
            ],
            entities(),
        ),
    };
    let outputs = vec![
        float(
            params_output(space),
            vec![batch(), per_row],
            "action parameters: see action_decoding",
        ),
        float(
            "value",
            vec![batch()],
            "the critic's value (normalised reward units)",
        ),
    ];
    (inputs, outputs)
}

pub(super) fn value_info(spec: &TensorSpec) -> ValueInfo {
    ValueInfo {
        name: spec.name.clone(),
        elem: ElemType::Float,
        dims: spec
            .shape
            .iter()
            .map(|a| match a {
                Axis::Fixed(n) => Dim::Fixed(*n),
                Axis::Dynamic(name) => Dim::Named(name.clone()),
            })
            .collect(),
    }
}
