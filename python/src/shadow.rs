//! Exported policies from Python: `export`, and the checked artifact behind
//! `planetgym.ShadowPolicy` (record validation and action decoding in Rust; the forward pass in
//! onnxruntime or in planetgym's own ONNX interpreter).

use crate::errors::{any_error, value_error};
use crate::training::NetworkOutputs;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use planetgym_agents::registry::with_scenario;
use planetgym_deploy::export::{Artifact, export as export_policy};
use planetgym_deploy::shadow::record::{ActionJson, Decision, RecordReader};
use planetgym_deploy::shadow::{self, sample::Sampler};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// Exports the policy in `run_dir` to `out_dir` (policy.onnx + manifest.json); returns the
/// manifest as JSON text.
#[pyfunction]
pub fn export(py: Python<'_>, run_dir: PathBuf, out_dir: PathBuf) -> PyResult<String> {
    let manifest = py
        .detach(|| export_policy(&run_dir, &out_dir))
        .map_err(any_error)?;
    serde_json::to_string(&manifest).map_err(value_error)
}

/// The JSON Schema (text) of a decision record for `target`: an export's directory, or a
/// scenario name with `config` (TOML text with the fields that change).
#[pyfunction]
#[pyo3(signature = (target, config = ""))]
pub fn record_schema(py: Python<'_>, target: &str, config: &str) -> PyResult<String> {
    let schema = py
        .detach(|| shadow::schema_for(target, config, "config"))
        .map_err(any_error)?;
    serde_json::to_string(&schema).map_err(value_error)
}

/// `records` decision records (JSON Lines text) from the simulator with `incumbent` (a
/// baseline's name or a policy directory) deciding, episodes seeded from `seed`.
#[pyfunction]
#[pyo3(signature = (scenario, incumbent, records, config = "", seed = 0))]
pub fn sample_records(
    py: Python<'_>,
    scenario: &str,
    incumbent: String,
    records: u64,
    config: &str,
    seed: u64,
) -> PyResult<String> {
    // The records come back as one string: a log that would not fit belongs in a file.
    planetgym_env::bounds::count(
        "records",
        records,
        1,
        1_000_000,
        "returned as one string in memory; write larger logs with `planetgym shadow-sample`",
    )
    .map_err(value_error)?;
    let mut out = Vec::new();
    py.detach(|| {
        let sampler = Sampler {
            incumbent,
            records,
            seed,
            out: &mut out,
        };
        with_scenario(scenario, config, "config", sampler)
    })
    .map_err(any_error)?;
    String::from_utf8(out).map_err(value_error)
}

/// A decision record validated against an export's FeatureSpec and action space.
#[pyclass(module = "planetgym._core")]
#[derive(Debug)]
pub struct Record {
    decision: Decision,
}

#[pymethods]
impl Record {
    /// The graph's inputs (name -> float32 array, batch of one).
    fn inputs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (name, t) in &self.decision.inputs {
            if let Some(values) = t.as_f32() {
                out.set_item(
                    name,
                    PyArray1::from_slice(py, values).reshape(t.shape.clone())?,
                )?;
            }
        }
        Ok(out)
    }

    /// The incumbent's decision as JSON text (None when the record has none).
    #[getter]
    fn incumbent(&self) -> Option<String> {
        let d = &self.decision;
        d.incumbent
            .as_ref()
            .and_then(|a| serde_json::to_string(&ActionJson::of(a, &d.space)).ok())
    }
}

/// An exported policy, loaded after every check (checksum, FeatureSpec hash, tensors).
#[pyclass(module = "planetgym._core")]
#[derive(Debug)]
pub struct ShadowArtifact {
    artifact: Artifact,
    reader: RecordReader,
}

#[pymethods]
impl ShadowArtifact {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let artifact = py.detach(|| Artifact::load(&path)).map_err(any_error)?;
        let m = &artifact.manifest;
        let reader = RecordReader::new(&m.feature_spec, &m.action_space);
        Ok(Self { artifact, reader })
    }

    /// The ONNX file, as checked against the manifest (for onnxruntime).
    fn onnx_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
        pyo3::types::PyBytes::new(py, self.artifact.onnx_bytes())
    }

    /// The manifest as JSON text.
    fn manifest_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.artifact.manifest).map_err(value_error)
    }

    /// Validates a record (JSON text); ValueError names the field and what is wrong.
    fn parse(&self, record: &str) -> PyResult<Record> {
        let decision = self.reader.parse(record).map_err(value_error)?;
        Ok(Record { decision })
    }

    /// The graph's outputs for `record` from planetgym's interpreter: action parameters
    /// `[1, outputs]` and values `[1]`.
    fn outputs<'py>(&self, py: Python<'py>, record: &Record) -> PyResult<NetworkOutputs<'py>> {
        let (params, values) = self
            .artifact
            .run(&record.decision.inputs)
            .map_err(any_error)?;
        let (batch, n) = (values.len(), params.len() / values.len().max(1));
        Ok((
            PyArray1::from_vec(py, params).reshape([batch, n])?,
            PyArray1::from_vec(py, values),
        ))
    }

    /// The decision (JSON text) for `record` from action parameters computed elsewhere (one
    /// row of the graph's first output), or, without them, from planetgym's interpreter.
    #[pyo3(signature = (record, params = None))]
    fn decide(
        &self,
        record: &Record,
        params: Option<PyReadonlyArray1<'_, f32>>,
    ) -> PyResult<String> {
        let d = &record.decision;
        let action = match params {
            Some(p) => self
                .artifact
                .decode(d, p.as_slice().map_err(value_error)?)
                .map_err(any_error)?,
            None => self.artifact.decide(d).map_err(any_error)?.action,
        };
        serde_json::to_string(&ActionJson::of(&action, &d.space)).map_err(value_error)
    }
}
