//! One fuzz target per parser or loader a user's bytes reach. A target returns `Ok` when the
//! input was accepted and `Err(message)` when it was refused cleanly; anything else (a panic,
//! an abort, a hang) is a bug the driver reports.

use planetgym_agents::nn::inference_device;
use planetgym_agents::nn::policy::{Brain, PolicyFile};
use planetgym_agents::registry::{
    Built, RegisteredScenario, RegistryError, ScenarioVisitor, with_scenario,
};
use planetgym_deploy::shadow::record::RecordReader;
use planetgym_env::capacity::series;
use planetgym_env::config::apply_overrides;
use planetgym_env::traces::{openb, swf};
use planetgym_env::{FeatureSpec, Space, input};
use planetgym_training::ppo::TrainConfig;
use planetgym_training::ppo::checkpoint::{CHECKPOINT_FORMAT, Checkpoint};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What targets share: a scratch directory for loaders that read files.
#[derive(Debug)]
pub struct Context {
    pub scratch: PathBuf,
}

impl Context {
    /// Writes `data` to the scratch file `name` and returns its path.
    fn file(&self, name: &str, data: &[u8]) -> Result<PathBuf, String> {
        let path = self.scratch.join(name);
        std::fs::write(&path, data).map_err(|e| format!("scratch file: {e}"))?;
        Ok(path)
    }
}

pub type Run = fn(&Context, &[u8]) -> Result<(), String>;

/// A fuzz target: its name, what it reaches, and the corpus folder it starts from.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub about: &'static str,
    pub run: Run,
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "swf",
        about: "SWF job logs (strict and lenient), through the bounded reader",
        run: |_, data| {
            for lenient in [false, true] {
                let options = swf::SwfOptions {
                    lenient,
                    machine_procs: None,
                };
                let reader = input::BoundedReader::new(data, limits());
                swf::parse(reader, "fuzz.swf", options).map_err(|e| e.chain())?;
            }
            Ok(())
        },
    },
    Target {
        name: "openb_nodes",
        about: "openb node lists (CSV)",
        run: |_, data| {
            let reader = input::BoundedReader::new(data, limits());
            openb::read_nodes(reader, "nodes.csv")
                .map(drop)
                .map_err(|e| e.chain())
        },
    },
    Target {
        name: "openb_pods",
        about: "openb pod lists (CSV)",
        run: |_, data| {
            let reader = input::BoundedReader::new(data, limits());
            openb::read_pods(reader, "pods.csv")
                .map(drop)
                .map_err(|e| e.chain())
        },
    },
    Target {
        name: "series",
        about: "demand series files (Google 2019 and Alibaba 2018 day rows, QPS samples), resampled",
        run: |ctx, data| {
            let path = ctx.file("series.csv", data)?;
            // The header says which format the file is in.
            let header = data.split(|&b| b == b'\n').next().unwrap_or(&[]);
            let has = |column: &str| header.windows(column.len()).any(|w| w == column.as_bytes());
            let kind = if has("avg_cpu") {
                "google2019"
            } else if has("cpu_util_percent") {
                "alibaba2018"
            } else {
                "qps"
            };
            series::load(&format!("{kind}:{}", path.display()))
                .and_then(|s| s.resample(3600.0))
                .map(drop)
                .map_err(|e| e.chain())
        },
    },
    Target {
        name: "scenario_config",
        about: "scenario configs (first line: scenario name), built and stepped a few times",
        run: |_, data| {
            let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
            let (name, config) = text.split_once('\n').unwrap_or((text, ""));
            with_scenario(name.trim(), config, "fuzz.toml", StepFew).map_err(|e| e.0)
        },
    },
    Target {
        name: "overrides",
        about: "--set overrides over a scenario config (first line: scenario, then one per line)",
        run: |_, data| {
            let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
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
            let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
            TrainConfig::from_toml(text, "fuzz.toml")
                .map(drop)
                .map_err(|e| e.to_string())
        },
    },
    Target {
        name: "shadow_record",
        about: "shadow-mode decision records (first line: scenario), and traffic outcomes",
        run: |_, data| {
            let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
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

/// Reading limits small enough for many executions per second and a memory-limited CI step.
fn limits() -> input::Limits {
    input::Limits {
        max_line_bytes: 1 << 20,
        max_input_bytes: 64 << 20,
    }
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
