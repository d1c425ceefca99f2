//! Export of a risk predictor for production, the loading of such an export, and its shadow
//! mode ([`shadow`]).
//!
//! `planetgym risk --task T --export DIR` fits the task's logistic regression on its training
//! part (penalty picked on validation, as the report does), sets the alarm threshold at a 1 %
//! false-alarm rate on validation, scores it on the test part, and writes:
//! - `predictor.onnx`: features `[batch, F]` in the units the task logs them -> `probability`
//!   `[batch, 1]` (the standardisation is folded into the weights);
//! - `manifest.json`: the task, feature names in input order, the alarm threshold, the test
//!   scores, the check against the Rust model, versions and the ONNX file's SHA-256;
//! - `test_records.jsonl`: up to `SAMPLE_RECORDS` test rows as shadow-mode records, with their
//!   outcomes, to try shadow mode on.

pub mod shadow;

use crate::error::{DeployError, Result, ensure};
use crate::export::{MANIFEST_FILE, OnnxFile, checked_onnx, read_manifest, sha256_hex};
use crate::onnx::{Dim, ElemType, Graph, Model, Node, Prepared, Tensor, ValueInfo};
use crate::shadow::write_json_line;
use planetgym_agents::risk::dataset::{Dataset, temporal_split};
use planetgym_agents::risk::logistic::Logistic;
use planetgym_agents::risk::metrics::{Scores, score, threshold_at_false_alarm_rate};
use planetgym_agents::risk::tasks::Task;
use planetgym_training::run_dir::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const ONNX_FILE: &str = "predictor.onnx";
pub const SAMPLE_FILE: &str = "test_records.jsonl";
pub const KIND: &str = "risk-predictor";
pub const FORMAT: u32 = 1;
const OPSET: i64 = 17;
/// Test rows written as sample records.
pub const SAMPLE_RECORDS: usize = 5000;
/// Alarms are set for this false-alarm rate on the validation part.
pub const ALARM_FALSE_ALARM_RATE: f64 = 0.01;
/// Rows the export runs through both the Rust model and the written graph.
const VERIFY_ROWS: usize = 1024;
const VERIFY_TOLERANCE: f64 = 1e-5;
const INPUT: &str = "features";
const OUTPUT: &str = "probability";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictorManifest {
    /// Always `risk-predictor` (a policy export's manifest has none).
    pub kind: String,
    pub format: u32,
    pub task: String,
    pub about: String,
    pub predictor: String,
    pub description: String,
    /// Input columns, in order: the names records give their features by.
    pub features: Vec<String>,
    /// Alarm when the probability is at least this.
    pub alarm_threshold: f64,
    pub alarm_false_alarm_rate: f64,
    pub test_rows: usize,
    pub test_failures: usize,
    pub test: Scores,
    /// Largest difference between the Rust model's probability and the graph's.
    pub verified_rows: usize,
    pub max_difference: f64,
    pub planetgym: String,
    pub onnx_opset: i64,
    pub onnx: OnnxFile,
}

/// What the graph's metadata pins, so that a manifest edited there no longer matches the graph
/// (whose checksum the manifest holds).
fn pinned(m: &PredictorManifest) -> Vec<(String, String)> {
    [
        ("planetgym.kind", KIND.to_string()),
        ("planetgym.task", m.task.clone()),
        ("planetgym.features", m.features.join(",")),
        ("planetgym.alarm_threshold", m.alarm_threshold.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// features `[batch, F]` -> sigmoid(features W + b) `[batch, 1]`.
fn graph(weights: &[f64], bias: f64) -> Graph {
    let f = weights.len();
    let batch = || Dim::Named(crate::export::BATCH_AXIS.into());
    Graph {
        name: "risk_predictor".into(),
        inputs: vec![ValueInfo::new(
            INPUT,
            ElemType::Float,
            vec![batch(), Dim::Fixed(f)],
        )],
        outputs: vec![ValueInfo::new(
            OUTPUT,
            ElemType::Float,
            vec![batch(), Dim::Fixed(1)],
        )],
        initializers: vec![
            (
                "weights".into(),
                Tensor::f32(vec![f, 1], weights.iter().map(|&w| w as f32).collect()),
            ),
            ("bias".into(), Tensor::f32(vec![1], vec![bias as f32])),
        ],
        nodes: vec![
            Node::new("MatMul", "weighted", &[INPUT, "weights"], &["weighted"]),
            Node::new("Add", "logit", &["weighted", "bias"], &["logit"]),
            Node::new("Sigmoid", OUTPUT, &["logit"], &[OUTPUT]),
        ],
    }
}

/// The rows `rows` of `data` as one float input.
fn inputs(data: &Dataset, rows: &[usize]) -> Vec<(String, Tensor)> {
    let f = data.features.len();
    let values = rows
        .iter()
        .flat_map(|&i| data.row(i).iter().map(|&v| v as f32))
        .collect();
    vec![(INPUT.to_string(), Tensor::f32(vec![rows.len(), f], values))]
}

/// Fits, checks and writes the logistic predictor of `task` (its dataset from `data`, the
/// shipped trace when None) to `out`.
pub fn export(task: &Task, data: Option<&Path>, out: &Path) -> Result<PredictorManifest> {
    let fail = |e: String| DeployError::Artifact(format!("{}: {e}", task.name));
    let dataset = task.dataset(data, None).map_err(fail)?;
    let split = temporal_split(&dataset, [0.6, 0.2]).map_err(fail)?;
    let all: Vec<usize> = (0..dataset.features.len()).collect();
    let model = Logistic::tuned(&dataset, &split.train, &split.validation, &all).map_err(fail)?;
    let p: Vec<f64> = (0..dataset.rows())
        .map(|i| model.probability(dataset.row(i)))
        .collect();
    let threshold =
        threshold_at_false_alarm_rate(&split.validation, &dataset.y, &p, ALARM_FALSE_ALARM_RATE);
    ensure!(
        Artifact,
        threshold.is_finite(),
        "{}: no alarm threshold: the validation part has no row without a failure",
        task.name
    );
    let p_test: Vec<f64> = split.test.iter().map(|&i| p[i]).collect();
    let y_test: Vec<bool> = split.test.iter().map(|&i| dataset.y[i]).collect();
    let (weights, bias) = model.raw_coefficients(dataset.features.len());
    let graph = graph(&weights, bias);
    let checked: Vec<usize> = split.test.iter().copied().take(VERIFY_ROWS).collect();
    let got = graph.prepare()?.run(&inputs(&dataset, &checked))?;
    let got = got
        .first()
        .and_then(Tensor::as_f32)
        .ok_or_else(|| DeployError::Artifact("the graph returned no probabilities".into()))?;
    let max_difference = checked
        .iter()
        .zip(got)
        .map(|(&i, &g)| (model.probability(dataset.row(i)) - f64::from(g)).abs())
        .fold(0.0, f64::max);
    ensure!(
        Artifact,
        max_difference <= VERIFY_TOLERANCE && got.len() == checked.len(),
        "the exported graph differs from the fitted model by {max_difference:e} (tolerance {VERIFY_TOLERANCE:e}): not written"
    );
    let mut manifest = PredictorManifest {
        kind: KIND.into(),
        format: FORMAT,
        task: task.name.into(),
        about: task.about.into(),
        predictor: "logistic".into(),
        description: model.describe(&dataset.features),
        features: dataset.features.clone(),
        alarm_threshold: threshold,
        alarm_false_alarm_rate: ALARM_FALSE_ALARM_RATE,
        test_rows: y_test.len(),
        test_failures: y_test.iter().filter(|&&y| y).count(),
        test: score(&p_test, &y_test, 1000, 0),
        verified_rows: checked.len(),
        max_difference,
        planetgym: env!("CARGO_PKG_VERSION").into(),
        onnx_opset: OPSET,
        onnx: OnnxFile {
            file: ONNX_FILE.into(),
            bytes: 0,
            sha256: String::new(),
        },
    };
    let bytes = Model {
        graph,
        opset: OPSET,
        producer_name: "planetgym".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc: format!(
            "planetgym risk predictor for {}; see manifest.json",
            task.name
        ),
        metadata: pinned(&manifest),
    }
    .to_bytes();
    manifest.onnx.bytes = bytes.len() as u64;
    manifest.onnx.sha256 = sha256_hex(&bytes);
    std::fs::create_dir_all(out)
        .map_err(DeployError::io(format!("cannot create {}", out.display())))?;
    write_atomic(&out.join(ONNX_FILE), &bytes)?;
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(DeployError::json("cannot serialise the manifest"))?;
    write_atomic(&out.join(MANIFEST_FILE), &json)?;
    write_atomic(
        &out.join(SAMPLE_FILE),
        &sample_records(&dataset, &split.test)?,
    )?;
    Ok(manifest)
}

/// The first `SAMPLE_RECORDS` of `rows` as shadow-mode records with their outcomes.
fn sample_records(data: &Dataset, rows: &[usize]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for &i in rows.iter().take(SAMPLE_RECORDS) {
        let features: serde_json::Map<String, serde_json::Value> = data
            .features
            .iter()
            .zip(data.row(i))
            .map(|(name, &v)| (name.clone(), serde_json::json!(v)))
            .collect();
        let record = serde_json::json!({
            "timestamp": data.at[i],
            "id": format!("row-{i}"),
            "features": features,
            "outcome": {"failed": data.y[i]},
        });
        write_json_line(&mut out, &record, "a sample record")?;
    }
    Ok(out)
}

/// An exported predictor, loaded after every check.
#[derive(Debug)]
pub struct Predictor {
    pub manifest: PredictorManifest,
    graph: Prepared,
}

impl Predictor {
    pub fn load(dir: &Path) -> Result<Self> {
        let (path, manifest): (_, PredictorManifest) = read_manifest(
            dir,
            "no exported predictor",
            "run `planetgym risk --task T --export DIR`",
            "a predictor manifest",
        )?;
        ensure!(
            Artifact,
            manifest.kind == KIND && manifest.format == FORMAT,
            "{}: kind `{}` format {}: this build reads `{KIND}` format {FORMAT}",
            path.display(),
            manifest.kind,
            manifest.format
        );
        let (_, model) = checked_onnx(
            dir,
            &path,
            &manifest.onnx,
            ONNX_FILE,
            &pinned(&manifest),
            "another task, or an edited manifest",
        )?;
        let declared = ValueInfo::new(
            INPUT,
            ElemType::Float,
            vec![
                Dim::Named(crate::export::BATCH_AXIS.into()),
                Dim::Fixed(manifest.features.len()),
            ],
        );
        ensure!(
            Artifact,
            model.graph.inputs == [declared],
            "{}: the graph's input is not `{INPUT}` [batch, {}]",
            dir.join(ONNX_FILE).display(),
            manifest.features.len()
        );
        let graph = model.graph.prepare()?;
        Ok(Self { manifest, graph })
    }

    /// Probabilities of `rows` (row-major, one value per feature each).
    pub fn probabilities(&self, rows: &[f32]) -> Result<Vec<f32>> {
        let f = self.manifest.features.len();
        ensure!(
            Record,
            f > 0 && rows.len().is_multiple_of(f),
            "{} values are not whole rows of {f} features",
            rows.len()
        );
        let input = vec![(INPUT, Tensor::f32(vec![rows.len() / f, f], rows.to_vec()))];
        let out = self.graph.run(&input)?;
        out.into_iter()
            .next()
            .and_then(Tensor::into_f32)
            .ok_or_else(|| DeployError::Artifact("the graph returned no probabilities".into()))
    }
}
