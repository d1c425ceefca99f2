//! Targets beyond the simulator: scenario configs built and stepped by a baseline, `--set`
//! overrides, training configs, shadow records and outcomes, policy files, checkpoints and
//! ONNX models.

use crate::targets::Target;
use planetgym_agents::nn::inference_device;
use planetgym_agents::nn::policy::{Brain, PolicyFile};
use planetgym_agents::registry::{
    Built, RegisteredScenario, RegistryError, ScenarioVisitor, with_scenario,
};
use planetgym_deploy::shadow::record::RecordReader;
use planetgym_env::config::apply_overrides;
use planetgym_env::{FeatureSpec, Space};
use planetgym_training::ppo::TrainConfig;
use planetgym_training::ppo::checkpoint::{CHECKPOINT_FORMAT, Checkpoint};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const FULL_TARGETS: &[Target] = &[
    Target {
        name: "scenario_config",
        about: "scenario configs (first line: scenario name), built and stepped a few times",
        run: |_, data| {
            let text = utf8(data)?;
            let (name, config) = text.split_once('\n').unwrap_or((text, ""));
            with_scenario(name.trim(), config, "fuzz.toml", StepFew).map_err(|e| e.0)
        },
    },
    Target {
        name: "overrides",
        about: "--set overrides over a scenario config (first line: scenario, then one per line)",
        run: |_, data| {
            let text = utf8(data)?;
            let mut lines = text.lines();
            let name = lines.next().unwrap_or("").trim().to_string();
            let sets: Vec<String> = lines.map(String::from).collect();
            let config = apply_overrides("", "fuzz", &sets).map_err(|e| e.chain())?;
            with_scenario(&name, &config, "--set", StepFew).map_err(|e| e.0)
        },
    },
    Target {
        name: "train_config",
        about: "training configs",
        run: |_, data| {
            let text = utf8(data)?;
            TrainConfig::from_toml(text, "fuzz.toml")
                .map(drop)
                .map_err(|e| e.to_string())
        },
    },
    Target {
        name: "shadow_record",
        about: "shadow-mode decision records (first line: scenario), and traffic outcomes",
        run: |_, data| {
            let text = utf8(data)?;
            let (name, records) = text.split_once('\n').unwrap_or((text, ""));
            with_scenario(name.trim(), "", "default", ParseRecords(records)).map_err(|e| e.0)
        },
    },
    Target {
        name: "policy_file",
        about: "policy.json files, loaded into the placement scenario's network",
        run: |_, data| {
            let file: PolicyFile =
                serde_json::from_slice(data).map_err(|e| format!("not a policy: {e}"))?;
            with_scenario(
                "placement",
                &file.scenario_config,
                "policy",
                LoadPolicy(&file),
            )
            .map_err(|e| e.0)
        },
    },
    Target {
        name: "checkpoint",
        about: "training checkpoints: as mutated (the integrity check refuses nearly all), then \
                re-signed so that the state itself is read",
        run: |ctx, data| {
            let dir = ctx.scratch.join("run");
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let load = |bytes: &[u8]| {
                ctx.file("run/checkpoint.json", bytes)?;
                Checkpoint::load(Path::new(&dir))
                    .map(drop)
                    .map_err(|e| e.to_string())
            };
            let _ = load(data);
            let payload = data.splitn(2, |&b| b == b'\n').nth(1).unwrap_or(&[]);
            let digest: String = Sha256::digest(payload)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let mut signed = format!(
                "{{\"format\":{CHECKPOINT_FORMAT},\"sha256\":\"{digest}\",\"bytes\":{}}}\n",
                payload.len()
            )
            .into_bytes();
            signed.extend_from_slice(payload);
            load(&signed)
        },
    },
    Target {
        name: "onnx",
        about: "ONNX models, decoded and prepared by planetgym's interpreter",
        run: |_, data| {
            let model =
                planetgym_deploy::onnx::Model::from_bytes(data).map_err(|e| e.to_string())?;
            model.graph.prepare().map(drop).map_err(|e| e.to_string())
        },
    },
];

/// `data` as text (a refusal when it is not UTF-8).
fn utf8(data: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(data).map_err(|e| e.to_string())
}

/// Builds the scenario, then takes a few steps with its first baseline.
struct StepFew;

impl ScenarioVisitor for StepFew {
    type Output = ();
    type Error = Refused;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<(), Refused> {
        let mut env = built.env;
        let Some(make) = env.baselines(&built.config).into_iter().next() else {
            return Ok(());
        };
        let mut contender = make();
        let mut obs = env.reset(0);
        contender.reset(0);
        for _ in 0..4 {
            let action = contender.act(&env, &obs).map_err(|e| e.to_string())?;
            let t = env.step(&action).map_err(|e| e.chain())?;
            if !t.reward.is_finite() {
                return Err(Refused(format!("BUG: reward {} is not finite", t.reward)));
            }
            if t.terminated || t.truncated {
                break;
            }
            obs = t.obs;
        }
        Ok(())
    }
}

/// A clean refusal, as a message (visitors need an error type that registry errors convert to).
#[derive(Debug)]
pub struct Refused(pub String);

impl From<RegistryError> for Refused {
    fn from(e: RegistryError) -> Self {
        Self(e.to_string())
    }
}

impl From<String> for Refused {
    fn from(message: String) -> Self {
        Self(message)
    }
}

/// Parses each line as a record of the scenario's default export, and scores its outcome.
struct ParseRecords<'a>(&'a str);

impl ScenarioVisitor for ParseRecords<'_> {
    type Output = ();
    type Error = Refused;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<(), Refused> {
        let spec: &FeatureSpec = built.env.feature_spec();
        let space: &Space = built.env.action_space();
        let reader = RecordReader::new(spec, space);
        let model = built.env.outcome_model().ok();
        let mut first_error = Ok(());
        for line in self.0.lines() {
            let result = reader.parse(line).map_err(|e| e.to_string()).and_then(|d| {
                match (&model, &d.outcome, &d.incumbent) {
                    (Some(m), Some(outcome), Some(action)) => m
                        .reward(outcome, action)
                        .map(drop)
                        .map_err(|e| e.to_string()),
                    _ => Ok(()),
                }
            });
            if first_error.is_ok() {
                first_error = result;
            }
        }
        first_error.map_err(Refused)
    }
}

/// Loads a policy file into the scenario's network.
struct LoadPolicy<'a>(&'a PolicyFile);

impl ScenarioVisitor for LoadPolicy<'_> {
    type Output = ();
    type Error = Refused;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<(), Refused> {
        Brain::load(&built.env, self.0, &inference_device())
            .map(drop)
            .map_err(|e| Refused(e.to_string()))
    }
}
