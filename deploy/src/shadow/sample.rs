//! Realistic decision logs from the simulator, with any baseline as the incumbent: for tests,
//! demos and benchmarks of shadow mode. Each record holds the features a production system
//! would log (in their units), the incumbent's action mask and decision, and, for traffic, the
//! interval's outcome.

use super::record::ActionJson;
use crate::error::{DeployError, Result};
use planetgym_agents::nn::policy::Mode;
use planetgym_agents::registry::{Built, RegisteredScenario, ScenarioVisitor};
use planetgym_env::features::{Feature, Layout};
use planetgym_training::ppo::load_policy;
use planetgym_training::run_dir::POLICY_FILE;
use planetgym_training::session::learned_contender;
use serde_json::{Map, Value, json};
use std::io::Write;
use std::path::Path;

/// Most records one sampling run writes.
pub const MAX_RECORDS: u64 = 100_000_000;

/// Timestamps start here (2026-01-01T00:00:00Z), one second per decision.
const EPOCH_S: u64 = 1_767_225_600;

/// Writes `records` decisions taken by `incumbent` (a baseline's name, or a directory holding
/// a trained `policy.json`, acting greedily), from episodes seeded `seed`, `seed + 1`, ...
pub struct Sampler<W: Write> {
    pub incumbent: String,
    pub records: u64,
    pub seed: u64,
    pub out: W,
}

impl<W: Write> std::fmt::Debug for Sampler<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler")
            .field("incumbent", &self.incumbent)
            .field("records", &self.records)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// `x` as the f64 closest to its shortest decimal form, so that the log holds `0.3` rather
/// than `0.30000001192092896` (half the size, and the same float32 when read back).
fn shortest(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

fn named(features: &[Feature], values: &[f32]) -> Value {
    let map: Map<String, Value> = features
        .iter()
        .zip(values)
        .map(|(f, &v)| (f.name.clone(), json!(shortest(v * f.scale))))
        .collect();
    Value::Object(map)
}

/// The observation part of a record, from an encoded observation.
fn observation(layout: &Layout, row: &[f32]) -> Value {
    match layout {
        Layout::Flat { features } => json!({"features": named(features, row)}),
        Layout::Entity {
            global,
            entity,
            entities,
        } => {
            let (g, f) = (global.len(), entity.len());
            let mask = &row[g + entities * f..];
            // Trailing padding is not logged; padding in between is, with its mask.
            let listed = mask.iter().rposition(|&m| m > 0.5).map_or(1, |i| i + 1);
            let rows: Vec<Value> = row[g..g + listed * f]
                .chunks(f)
                .map(|r| named(entity, r))
                .collect();
            let mut obs = json!({"global": named(global, &row[..g]), "entities": rows});
            if mask[..listed].iter().any(|&m| m <= 0.5) {
                obs["entity_mask"] = json!(
                    mask[..listed]
                        .iter()
                        .map(|&m| u8::from(m > 0.5))
                        .collect::<Vec<_>>()
                );
            }
            obs
        }
    }
}

impl<W: Write> ScenarioVisitor for Sampler<W> {
    type Output = u64;
    type Error = DeployError;

    fn visit<S: RegisteredScenario>(mut self, built: Built<S>) -> Result<u64> {
        planetgym_env::bounds::count(
            "records",
            self.records,
            1,
            MAX_RECORDS,
            "each record is a simulated decision",
        )
        .map_err(DeployError::Argument)?;
        let baselines = built.baselines();
        let mut env = built.env;
        let dir = Path::new(&self.incumbent);
        let mut incumbent = if dir.join(POLICY_FILE).exists() {
            let file = load_policy(dir)?;
            learned_contender(&env, &file, &self.incumbent, Mode::Greedy)?()
        } else {
            baselines
                .iter()
                .map(|make| make())
                .find(|c| c.name() == self.incumbent)
                .ok_or_else(|| {
                    let names: Vec<String> = baselines.iter().map(|make| make().name()).collect();
                    DeployError::Argument(format!(
                        "no baseline `{}` for {} (nor a policy directory); choose one of: {}",
                        self.incumbent,
                        env.name(),
                        names.join(", ")
                    ))
                })?
        };
        let layout = env.feature_spec().layout.clone();
        let entity = env.feature_spec().entity_parts().is_some();
        let mut row = vec![0.0; env.feature_spec().encoded_len()];
        let mut written = 0;
        let mut episode = 0;
        while written < self.records {
            let seed = self.seed.wrapping_add(episode);
            let mut obs = env.reset(seed);
            incumbent.reset(seed);
            let mut step = 0;
            loop {
                env.encode(&obs, &mut row);
                let mut record = json!({
                    "timestamp": EPOCH_S + written,
                    "id": format!("episode{episode}-step{step}"),
                    "observation": observation(&layout, &row),
                });
                let action = incumbent.act(&env, &obs)?;
                if let Some(mask) = env.action_mask() {
                    let listed = if entity {
                        record["observation"]["entities"]
                            .as_array()
                            .map_or(0, Vec::len)
                    } else {
                        mask.len()
                    };
                    record["action_mask"] = json!(mask[..listed.min(mask.len())]);
                }
                record["incumbent"] = json!(ActionJson::of(&action, env.action_space()));
                if let Some(outcome) = env.logged_outcome() {
                    record["outcome"] = outcome;
                }
                super::write_json_line(&mut self.out, &record, "the log")?;
                written += 1;
                let t = env.step(&action)?;
                if written >= self.records || t.terminated || t.truncated {
                    break;
                }
                obs = t.obs;
                step += 1;
            }
            episode += 1;
        }
        self.out
            .flush()
            .map_err(DeployError::io("cannot write the log"))?;
        Ok(written)
    }
}
