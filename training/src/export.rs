//! Export of a trained policy for production systems, and the loading of such an export.
//!
//! `policy.onnx` holds the network with the feature scales and the observation normalisation
//! folded in, so it takes features in the units the manifest names (as production logs them)
//! and returns the action parameters and the value. `manifest.json` says everything a
//! production system (or `planetgym shadow`) needs to feed it and read it, and what `load`
//! checks before trusting the file: scenario, config, FeatureSpec and its hash, action space
//! and decoding, tensor names and shapes, training metrics, versions, the ONNX file's SHA-256.

use crate::onnx::{Attribute, Dim, ElemType, Graph, Model, Node, Prepared, Tensor, ValueInfo};
use crate::ppo::checkpoint::write_atomic;
use crate::ppo::trainer::{METRICS_FILE, load_policy};
use crate::registry::{self, Built, ScenarioVisitor};
use anyhow::{Context, Result, bail, ensure};
use planetgym_agents::Policy;
use planetgym_agents::evaluate::ContenderFactory;
use planetgym_agents::nn::head::ActionHead;
use planetgym_agents::nn::inference_device;
use planetgym_agents::nn::models::{Dense, Network};
use planetgym_agents::nn::normalise::CLIP;
use planetgym_agents::nn::policy::{Brain, Mode, NeuralPolicy, POLICY_FORMAT};
use planetgym_env::features::{Feature, Layout};
use planetgym_env::{FeatureSpec, Scenario, Space};
use serde::{Deserialize, Serialize};
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

/// A graph's inputs by name.
pub type Inputs = Vec<(String, Tensor)>;

/// One named float input.
pub fn input(name: &str, shape: Vec<usize>, values: Vec<f32>) -> (String, Tensor) {
    (name.to_string(), Tensor::f32(shape, values))
}

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
fn params_output(space: &Space) -> &'static str {
    match space {
        Space::Box { .. } => "mean",
        _ => "logits",
    }
}

fn decoding(space: &Space, entity: bool) -> String {
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
    file: planetgym_agents::nn::policy::PolicyFile,
    policy_dir: PathBuf,
    out: PathBuf,
}

impl ScenarioVisitor for Exporter {
    type Output = Manifest;

    fn visit<S: Scenario + Clone + 'static>(
        self,
        built: Built<S>,
        _baselines: Vec<ContenderFactory<S>>,
    ) -> Result<Manifest> {
        let env = built.env;
        let brain = Brain::load(&env, &self.file, &inference_device())
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("{} does not fit its scenario", self.policy_dir.display()))?;
        let spec = env.feature_spec();
        let space = env.action_space();
        let model = Model {
            graph: policy_graph(&brain, spec, space),
            opset: OPSET,
            producer_name: "planetgym".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            doc: format!("planetgym {} policy; see manifest.json", env.name()),
            metadata: pinned(
                env.name(),
                &spec.hash(),
                space,
                &brain.log_std(),
                &self.file.scenario_config,
            ),
        };
        let bytes = model.to_bytes();
        let verification = verify(&env, &self.file, &model.graph)?;
        let (inputs, outputs) = tensor_specs(spec, space);
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            scenario: env.name().into(),
            scenario_config: self.file.scenario_config.clone(),
            feature_spec_hash: spec.hash(),
            feature_spec: spec.clone(),
            action_space: space.clone(),
            action_decoding: decoding(space, spec.entity_parts().is_some()),
            log_std: brain.log_std(),
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
        std::fs::create_dir_all(&self.out)
            .with_context(|| format!("cannot create {}", self.out.display()))?;
        write_atomic(&self.out.join(ONNX_FILE), &bytes)?;
        let json = serde_json::to_vec_pretty(&manifest).context("cannot serialise the manifest")?;
        write_atomic(&self.out.join(MANIFEST_FILE), &json)?;
        Ok(manifest)
    }
}

/// What the graph's metadata pins, so that a manifest edited in these fields no longer matches
/// the graph, whose checksum the manifest holds.
fn pinned(
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

fn training_summary(
    dir: &Path,
    file: &planetgym_agents::nn::policy::PolicyFile,
) -> Result<Training> {
    let mut last_metrics = BTreeMap::new();
    let metrics = dir.join(METRICS_FILE);
    if metrics.exists() {
        let text = std::fs::read_to_string(&metrics)
            .with_context(|| format!("cannot read {}", metrics.display()))?;
        let mut lines = text.lines();
        if let (Some(header), Some(last)) = (lines.next(), lines.next_back()) {
            for (name, value) in header.split(',').zip(last.split(',')) {
                if let Ok(v) = value.parse::<f64>() {
                    last_metrics.insert(name.to_string(), v);
                }
            }
        }
    }
    let eval = dir.join("eval.json");
    let evaluation = match std::fs::read(&eval) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not JSON", eval.display()))?,
        ),
        Err(_) => None,
    };
    Ok(Training {
        trained_steps: file.trained_steps,
        hidden: file.hidden,
        last_metrics,
        evaluation,
    })
}

fn tensor_specs(spec: &FeatureSpec, space: &Space) -> (Vec<TensorSpec>, Vec<TensorSpec>) {
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

/// Builds a graph node by node, naming every value after what it holds.
struct Builder {
    nodes: Vec<Node>,
    initializers: Vec<(String, Tensor)>,
}

impl Builder {
    fn constant(&mut self, name: &str, shape: Vec<usize>, values: Vec<f32>) -> String {
        self.initializers
            .push((name.into(), Tensor::f32(shape, values)));
        name.into()
    }

    fn axes(&mut self, name: &str, axes: &[i64]) -> String {
        self.initializers
            .push((name.into(), Tensor::i64(vec![axes.len()], axes.to_vec())));
        name.into()
    }

    fn op(
        &mut self,
        op: &str,
        out: &str,
        inputs: &[&str],
        attributes: Vec<(String, Attribute)>,
    ) -> String {
        self.nodes.push(Node {
            op: op.into(),
            name: out.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec![out.into()],
            attributes,
        });
        out.into()
    }

    /// `x W + b`.
    fn dense(&mut self, x: &str, name: &str, layer: &Dense) -> String {
        let w = self.constant(
            &format!("{name}.weight"),
            vec![layer.inputs, layer.outputs],
            layer.weight.clone(),
        );
        let b = self.constant(
            &format!("{name}.bias"),
            vec![layer.outputs],
            layer.bias.clone(),
        );
        let product = self.op("MatMul", &format!("{name}.matmul"), &[x, &w], vec![]);
        self.op("Add", &format!("{name}.out"), &[&product, &b], vec![])
    }

    fn relu(&mut self, x: &str) -> String {
        self.op("Relu", &format!("{x}.relu"), &[x], vec![])
    }

    /// Features in their units -> the encoder's values (/ scale) -> normalised and clipped as
    /// in training (when the policy normalises), over the last axis.
    fn prepare(
        &mut self,
        x: &str,
        features: &[Feature],
        moments: Option<(&[f64], &[f64])>,
    ) -> String {
        let n = features.len();
        let scale = self.constant(
            &format!("{x}.scale"),
            vec![n],
            features.iter().map(|f| f.scale).collect(),
        );
        let encoded = self.op("Div", &format!("{x}.encoded"), &[x, &scale], vec![]);
        let Some((mean, std)) = moments else {
            return encoded;
        };
        let as_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect();
        let mean = self.constant(&format!("{x}.mean"), vec![n], as_f32(mean));
        let std = self.constant(&format!("{x}.std"), vec![n], as_f32(std));
        let centred = self.op("Sub", &format!("{x}.centred"), &[&encoded, &mean], vec![]);
        let scaled = self.op(
            "Div",
            &format!("{x}.standardised"),
            &[&centred, &std],
            vec![],
        );
        let low = self.constant(&format!("{x}.clip_low"), vec![], vec![-CLIP]);
        let high = self.constant(&format!("{x}.clip_high"), vec![], vec![CLIP]);
        self.op(
            "Clip",
            &format!("{x}.normalised"),
            &[&scaled, &low, &high],
            vec![],
        )
    }
}

fn value_info(spec: &TensorSpec) -> ValueInfo {
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

/// The ONNX graph of `brain` for observations laid out as `spec`.
fn policy_graph(brain: &Brain, spec: &FeatureSpec, space: &Space) -> Graph {
    let mut b = Builder {
        nodes: Vec::new(),
        initializers: Vec::new(),
    };
    let moments = brain.normaliser.as_ref().map(|n| n.moments());
    let params = params_output(space);
    match (&brain.model.network, &spec.layout) {
        (Network::Mlp(mlp), Layout::Flat { features }) => {
            let slots = moments.as_ref().map(|(m, s)| (&m[..], &s[..]));
            let mut x = b.prepare("obs", features, slots);
            let [h1, h2, policy, value] = mlp.layers();
            for (name, layer) in [h1, h2] {
                let out = b.dense(&x, name, &layer);
                x = b.relu(&out);
            }
            let out = b.dense(&x, policy.0, &policy.1);
            b.op("Identity", params, &[&out], vec![]);
            let v = b.dense(&x, value.0, &value.1);
            let axes = b.axes("axes.1", &[1]);
            b.op("Squeeze", "value", &[&v, &axes], vec![]);
        }
        (Network::Entity(scorer), Layout::Entity { global, entity, .. }) => {
            let g = global.len();
            let split = |range: std::ops::Range<usize>| {
                moments
                    .as_ref()
                    .map(|(m, s)| (&m[range.clone()], &s[range]))
            };
            let gx = b.prepare("global", global, split(0..g));
            let ex = b.prepare("entities", entity, split(g..g + entity.len()));
            let [context, entity1, entity2, score, value] = scorer.layers();
            let c = b.dense(&gx, context.0, &context.1);
            let c = b.relu(&c);
            let axes1 = b.axes("axes.1", &[1]);
            let axes2 = b.axes("axes.2", &[2]);
            let c3 = b.op("Unsqueeze", "context.per_entity", &[&c, &axes1], vec![]);
            let r = b.dense(&ex, entity1.0, &entity1.1);
            let r = b.op("Add", "entity1.with_context", &[&r, &c3], vec![]);
            let r = b.relu(&r);
            let r = b.dense(&r, entity2.0, &entity2.1);
            let rows = b.relu(&r);
            let s = b.dense(&rows, score.0, &score.1);
            let s = b.op("Squeeze", "score.per_entity", &[&s, &axes2], vec![]);
            let half = b.constant("half", vec![], vec![0.5]);
            let present = b.op("Greater", "present", &["entity_mask", &half], vec![]);
            let w = b.op(
                "Cast",
                "present.float",
                &[&present],
                vec![("to".into(), Attribute::Int(1))],
            );
            let w = b.op("Unsqueeze", "present.weights", &[&w, &axes2], vec![]);
            let keep = || vec![("keepdims".into(), Attribute::Int(0))];
            let weighted = b.op("Mul", "rows.present", &[&rows, &w], vec![]);
            let total = b.op("ReduceSum", "rows.sum", &[&weighted, &axes1], keep());
            let count = b.op("ReduceSum", "present.count", &[&w, &axes1], keep());
            let one = b.constant("one", vec![], vec![1.0]);
            let count = b.op("Max", "present.count_at_least_1", &[&count, &one], vec![]);
            let pooled = b.op("Div", "rows.mean", &[&total, &count], vec![]);
            let both = b.op(
                "Concat",
                "pooled_and_context",
                &[&pooled, &c],
                vec![("axis".into(), Attribute::Int(1))],
            );
            let v = b.dense(&both, value.0, &value.1);
            b.op("Squeeze", "value", &[&v, &axes1], vec![]);
            let masked = b.constant("masked_logit", vec![], vec![-1.0e9]);
            b.op("Where", params, &[&present, &s, &masked], vec![]);
        }
        _ => unreachable!("Brain builds an entity scorer exactly for entity layouts"),
    }
    let (inputs, outputs) = tensor_specs(spec, space);
    Graph {
        name: format!("planetgym_{}_policy", spec.scenario),
        inputs: inputs.iter().map(value_info).collect(),
        outputs: outputs.iter().map(value_info).collect(),
        initializers: b.initializers,
        nodes: b.nodes,
    }
}

/// Encoded observation rows `[B, obs_len]` (the burn network's input) as the graph's named
/// inputs in feature units.
fn graph_inputs(spec: &FeatureSpec, rows: &[f32]) -> Inputs {
    let obs_len = spec.encoded_len().max(1);
    let batch = rows.len() / obs_len;
    let unscale = |values: &mut Vec<f32>, features: &[Feature]| {
        for (i, v) in values.iter_mut().enumerate() {
            *v *= features[i % features.len()].scale;
        }
    };
    match &spec.layout {
        Layout::Flat { features } => {
            let mut obs = rows.to_vec();
            unscale(&mut obs, features);
            vec![input("obs", vec![batch, obs_len], obs)]
        }
        Layout::Entity {
            global,
            entity,
            entities,
        } => {
            let (g, f, e) = (global.len(), entity.len(), *entities);
            let (mut gv, mut ev, mut mv) = (Vec::new(), Vec::new(), Vec::new());
            for row in rows.chunks(obs_len) {
                gv.extend_from_slice(&row[..g]);
                ev.extend_from_slice(&row[g..g + e * f]);
                mv.extend_from_slice(&row[g + e * f..]);
            }
            unscale(&mut gv, global);
            unscale(&mut ev, entity);
            vec![
                input("global", vec![batch, g], gv),
                input("entities", vec![batch, e, f], ev),
                input("entity_mask", vec![batch, e], mv),
            ]
        }
    }
}

/// Runs the policy (sampling, to visit varied states) for `VERIFY_OBSERVATIONS` steps and
/// compares burn's outputs with the graph's on every observation.
fn verify<S: Scenario + Clone>(
    env: &S,
    file: &planetgym_agents::nn::policy::PolicyFile,
    graph: &Graph,
) -> Result<Verification> {
    let mut env = env.clone();
    let mut policy = NeuralPolicy::load("export", &env, file, Mode::Sample)?;
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
        .context("the exported graph does not run")?;
    let diff = |want: &[f32], got: &Tensor| -> Result<f32> {
        let Some(got) = got.as_f32() else {
            bail!("the exported graph returns a non-float output");
        };
        ensure!(
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
        max_difference <= VERIFY_TOLERANCE,
        "the exported graph differs from the burn policy by {max_difference:e} (tolerance {VERIFY_TOLERANCE:e}): not written"
    );
    Ok(Verification {
        observations: rows.len() / obs_len,
        max_difference,
        runtime: "planetgym's ONNX interpreter".into(),
    })
}

/// An export loaded for inference, after every check.
#[derive(Debug)]
pub struct Artifact {
    pub manifest: Manifest,
    graph: Prepared,
    /// The checked ONNX file, for other runtimes.
    bytes: Vec<u8>,
}

impl Artifact {
    /// Loads `dir/manifest.json` and `dir/policy.onnx`, refusing an artifact whose checksum,
    /// FeatureSpec hash, scenario or tensors do not match.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read(&path).with_context(|| {
            format!(
                "no exported policy at {} (run `planetgym export`)",
                path.display()
            )
        })?;
        let manifest: Manifest = serde_json::from_slice(&text).with_context(|| {
            format!("{} is corrupt or not a planetgym manifest", path.display())
        })?;
        ensure!(
            manifest.format == MANIFEST_FORMAT,
            "{}: manifest format {} is not supported (this build reads {MANIFEST_FORMAT})",
            path.display(),
            manifest.format
        );
        let hash = manifest.feature_spec.hash();
        ensure!(
            manifest.feature_spec_hash == hash
                && manifest.feature_spec.scenario == manifest.scenario,
            "{}: feature_spec_hash {} does not match its feature spec ({hash}, scenario `{}`): the manifest was edited or mixed with another export",
            path.display(),
            manifest.feature_spec_hash,
            manifest.feature_spec.scenario
        );
        ensure!(
            manifest.onnx.file == ONNX_FILE,
            "{}: onnx.file is `{}`; an export's graph is always `{ONNX_FILE}` beside its manifest",
            path.display(),
            manifest.onnx.file
        );
        let onnx_path = dir.join(ONNX_FILE);
        let size = std::fs::metadata(&onnx_path)
            .with_context(|| format!("cannot read {}", onnx_path.display()))?
            .len();
        ensure!(
            size == manifest.onnx.bytes,
            "{}: {size} bytes, the manifest says {}: the file is truncated or from another export",
            onnx_path.display(),
            manifest.onnx.bytes
        );
        let bytes = std::fs::read(&onnx_path)
            .with_context(|| format!("cannot read {}", onnx_path.display()))?;
        let sum = sha256_hex(&bytes);
        ensure!(
            sum == manifest.onnx.sha256,
            "{}: SHA-256 {sum} differs from the manifest's {}: the file is corrupt or from another export",
            onnx_path.display(),
            manifest.onnx.sha256
        );
        let model = Model::from_bytes(&bytes)
            .with_context(|| format!("{} is not a valid ONNX model", onnx_path.display()))?;
        let expected = pinned(
            &manifest.scenario,
            &manifest.feature_spec_hash,
            &manifest.action_space,
            &manifest.log_std,
            &manifest.scenario_config,
        );
        if let Some((key, _)) = expected.iter().find(|kv| !model.metadata.contains(kv)) {
            bail!(
                "{}: the manifest's `{}` differs from what the graph was exported with (another scenario or feature spec, or an edited manifest)",
                path.display(),
                key.trim_start_matches("planetgym.")
            );
        }
        let head = ActionHead::for_space(&manifest.action_space);
        ensure!(
            manifest.log_std.len() == head.std_len()
                && manifest.log_std.iter().all(|v| v.is_finite()),
            "{}: log_std needs {} finite values for {}",
            path.display(),
            head.std_len(),
            manifest.action_space
        );
        let (inputs, outputs) = tensor_specs(&manifest.feature_spec, &manifest.action_space);
        ensure!(
            inputs == manifest.inputs && outputs == manifest.outputs,
            "{}: input/output tensors do not match its feature spec and action space",
            path.display()
        );
        let declared = |specs: &[TensorSpec]| specs.iter().map(value_info).collect::<Vec<_>>();
        ensure!(
            model.graph.inputs == declared(&inputs) && model.graph.outputs == declared(&outputs),
            "{}: the graph's inputs/outputs differ from the manifest's",
            onnx_path.display()
        );
        Ok(Self {
            graph: model.graph.prepare()?,
            manifest,
            bytes,
        })
    }

    /// The ONNX file's bytes, as checked against the manifest.
    pub fn onnx_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Action parameters and values for named inputs in feature units.
    pub fn run(&self, inputs: &Inputs) -> Result<(Vec<f32>, Vec<f32>)> {
        let mut out = self.graph.run(inputs)?.into_iter();
        match (
            out.next().and_then(Tensor::into_f32),
            out.next().and_then(Tensor::into_f32),
        ) {
            (Some(params), Some(values)) => Ok((params, values)),
            _ => bail!("the graph did not return float action parameters and values"),
        }
    }
}
