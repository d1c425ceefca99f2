//! An export loaded for inference, after every check.

use super::manifest::{TensorSpec, tensor_specs, value_info};
use super::{
    Inputs, MANIFEST_FILE, MANIFEST_FORMAT, Manifest, ONNX_FILE, OnnxFile, pinned, sha256_hex,
};
use crate::error::{DeployError, Result, ensure};
use crate::onnx::{Model, Prepared, Tensor};
use planetgym_agents::nn::head::ActionHead;
use planetgym_env::input;
use std::path::{Path, PathBuf};

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
        let (path, manifest): (_, Manifest) = read_manifest(
            dir,
            "no exported policy",
            "run `planetgym export`",
            "a planetgym manifest",
        )?;
        ensure!(
            Artifact,
            manifest.format == MANIFEST_FORMAT,
            "{}: manifest format {} is not supported (this build reads {MANIFEST_FORMAT})",
            path.display(),
            manifest.format
        );
        let hash = manifest.feature_spec.hash();
        ensure!(
            Artifact,
            manifest.feature_spec_hash == hash
                && manifest.feature_spec.scenario == manifest.scenario,
            "{}: feature_spec_hash {} does not match its feature spec ({hash}, scenario `{}`): the manifest was edited or mixed with another export",
            path.display(),
            manifest.feature_spec_hash,
            manifest.feature_spec.scenario
        );
        let expected = pinned(
            &manifest.scenario,
            &manifest.feature_spec_hash,
            &manifest.action_space,
            &manifest.log_std,
            &manifest.scenario_config,
        );
        let (bytes, model) = checked_onnx(
            dir,
            &path,
            &manifest.onnx,
            ONNX_FILE,
            &expected,
            "another scenario or feature spec, or an edited manifest",
        )?;
        let head = ActionHead::for_space(&manifest.action_space);
        ensure!(
            Artifact,
            manifest.log_std.len() == head.std_len()
                && manifest.log_std.iter().all(|v| v.is_finite()),
            "{}: log_std needs {} finite values for {}",
            path.display(),
            head.std_len(),
            manifest.action_space
        );
        let (inputs, outputs) = tensor_specs(&manifest.feature_spec, &manifest.action_space);
        ensure!(
            Artifact,
            inputs == manifest.inputs && outputs == manifest.outputs,
            "{}: input/output tensors do not match its feature spec and action space",
            path.display()
        );
        let declared = |specs: &[TensorSpec]| specs.iter().map(value_info).collect::<Vec<_>>();
        ensure!(
            Artifact,
            model.graph.inputs == declared(&inputs) && model.graph.outputs == declared(&outputs),
            "{}: the graph's inputs/outputs differ from the manifest's",
            dir.join(ONNX_FILE).display()
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
            _ => Err(DeployError::Artifact(
                "the graph did not return float action parameters and values".into(),
            )),
        }
    }
}

/// `dir/manifest.json` and its path: `missing` (with `how`, the command that writes one) when
/// there is none, and it must parse as `what`.
pub(crate) fn read_manifest<T: serde::de::DeserializeOwned>(
    dir: &Path,
    missing: &str,
    how: &str,
    what: &str,
) -> Result<(PathBuf, T)> {
    let path = dir.join(MANIFEST_FILE);
    let text = input::read_bytes_or(
        &path,
        DeployError::io(format!("{missing} at {} ({how})", path.display())),
    )?;
    let manifest = serde_json::from_slice(&text).map_err(DeployError::json(format!(
        "{} is corrupt or not {what}",
        path.display()
    )))?;
    Ok((path, manifest))
}

/// The graph `file` in `dir`, checked against what the manifest at `manifest_path` records of it
/// (its name, size and SHA-256) and decoded, with its bytes; the graph's metadata must hold
/// every `pinned` pair (else the manifest was edited: `mismatch` says how else it can happen).
pub(crate) fn checked_onnx(
    dir: &Path,
    manifest_path: &Path,
    onnx: &OnnxFile,
    file: &str,
    pinned: &[(String, String)],
    mismatch: &str,
) -> Result<(Vec<u8>, Model)> {
    ensure!(
        Artifact,
        onnx.file == file,
        "{}: onnx.file is `{}`; an export's graph is always `{file}` beside its manifest",
        manifest_path.display(),
        onnx.file
    );
    let onnx_path = dir.join(file);
    let size = std::fs::metadata(&onnx_path)
        .map_err(DeployError::io(format!(
            "cannot read {}",
            onnx_path.display()
        )))?
        .len();
    ensure!(
        Artifact,
        size == onnx.bytes,
        "{}: {size} bytes, the manifest says {}: the file is truncated or from another export",
        onnx_path.display(),
        onnx.bytes
    );
    let bytes = input::read_bytes_or(
        &onnx_path,
        DeployError::io(format!("cannot read {}", onnx_path.display())),
    )?;
    let sum = sha256_hex(&bytes);
    ensure!(
        Artifact,
        sum == onnx.sha256,
        "{}: SHA-256 {sum} differs from the manifest's {}: the file is corrupt or from another export",
        onnx_path.display(),
        onnx.sha256
    );
    let model = Model::from_bytes(&bytes).map_err(|e| {
        DeployError::Artifact(format!(
            "{} is not a valid ONNX model: {e}",
            onnx_path.display()
        ))
    })?;
    if let Some((key, _)) = pinned.iter().find(|kv| !model.metadata.contains(kv)) {
        return Err(DeployError::Artifact(format!(
            "{}: the manifest's `{}` differs from what the graph was exported with ({mismatch})",
            manifest_path.display(),
            key.trim_start_matches("planetgym.")
        )));
    }
    Ok((bytes, model))
}
