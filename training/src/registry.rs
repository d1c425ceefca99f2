//! The scenarios the command line knows, with their documented default configs, and a way to
//! build any of them by name with its baselines.

use anyhow::{Result, bail};
use planetgym_agents::classic::{batch, capacity, placement, traffic};
use planetgym_agents::evaluate::ContenderFactory;
use planetgym_env::batch::config::DEFAULT_TOML as BATCH_DEFAULT;
use planetgym_env::capacity::config::DEFAULT_TOML as CAPACITY_DEFAULT;
use planetgym_env::placement::config::DEFAULT_TOML as PLACEMENT_DEFAULT;
use planetgym_env::traffic::config::DEFAULT_TOML as TRAFFIC_DEFAULT;
use planetgym_env::{
    BatchConfig, BatchScenario, CapacityConfig, CapacityScenario, PlacementConfig,
    PlacementScenario, Scenario, ScenarioConfig, TrafficConfig, TrafficScenario,
};

#[derive(Debug, Clone, Copy)]
pub struct ScenarioEntry {
    pub name: &'static str,
    pub description: &'static str,
    /// The built-in default config, commented field by field.
    pub default_config: &'static str,
}

pub const SCENARIOS: [ScenarioEntry; 4] = [
    ScenarioEntry {
        name: "traffic",
        description: "cross-region traffic scheduling: split each user region's requests over datacenter sites",
        default_config: TRAFFIC_DEFAULT,
    },
    ScenarioEntry {
        name: "batch",
        description: "batch job scheduling: pick which queued HPC job runs next (real SWF logs, EASY backfilling)",
        default_config: BATCH_DEFAULT,
    },
    ScenarioEntry {
        name: "placement",
        description: "service placement: a node for every arriving GPU-sharing pod (Alibaba openb cluster, FGD baselines)",
        default_config: PLACEMENT_DEFAULT,
    },
    ScenarioEntry {
        name: "capacity",
        description: "capacity planning: order or remove capacity per site ahead of real demand, with a lead time",
        default_config: CAPACITY_DEFAULT,
    },
];

pub fn find(name: &str) -> Option<&'static ScenarioEntry> {
    SCENARIOS.iter().find(|s| s.name == name)
}

pub fn names() -> String {
    SCENARIOS
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A scenario built from a config, with what every front end needs next to it.
#[derive(Debug)]
pub struct Built<S: Scenario> {
    pub env: S,
    /// The complete config (default merged with the user's), which rebuilds `env` exactly.
    pub resolved_config: String,
}

/// Something to do with a scenario whose type is only known at run time (its name comes from a
/// config file, the command line or Python).
pub trait ScenarioVisitor {
    type Output;
    fn visit<S: Scenario + Clone + 'static>(
        self,
        built: Built<S>,
        baselines: Vec<ContenderFactory<S>>,
    ) -> Result<Self::Output>;
}

/// Builds scenario `name` from `config` (TOML with only the fields that change; `origin` names
/// it in errors) and hands it, with its baselines, to `visitor`.
pub fn with_scenario<V: ScenarioVisitor>(
    name: &str,
    config: &str,
    origin: &str,
    visitor: V,
) -> Result<V::Output> {
    match name {
        "traffic" => {
            let sc = TrafficConfig::from_toml(config, origin)?;
            let env = TrafficScenario::new(sc.clone())?;
            let pairs = env.geography().regions.len() * env.sites().len();
            let resolved_config = TrafficConfig::resolved_toml(config, origin)?;
            let baselines = traffic::baselines(&sc, pairs);
            visitor.visit(
                Built {
                    env,
                    resolved_config,
                },
                baselines,
            )
        }
        "batch" => {
            let env = BatchScenario::new(BatchConfig::from_toml(config, origin)?)?;
            let resolved_config = BatchConfig::resolved_toml(config, origin)?;
            visitor.visit(
                Built {
                    env,
                    resolved_config,
                },
                batch::baselines(),
            )
        }
        "placement" => {
            let env = PlacementScenario::new(PlacementConfig::from_toml(config, origin)?)?;
            let resolved_config = PlacementConfig::resolved_toml(config, origin)?;
            visitor.visit(
                Built {
                    env,
                    resolved_config,
                },
                placement::baselines(),
            )
        }
        "capacity" => {
            let sc = CapacityConfig::from_toml(config, origin)?;
            let env = CapacityScenario::new(sc.clone())?;
            let resolved_config = CapacityConfig::resolved_toml(config, origin)?;
            let baselines = capacity::baselines(&sc);
            visitor.visit(
                Built {
                    env,
                    resolved_config,
                },
                baselines,
            )
        }
        other => bail!("unknown scenario `{other}`; known: {}", names()),
    }
}

/// Dotted paths of every field of a default config, in file order.
pub fn config_fields(default_config: &str) -> Vec<String> {
    fn walk(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (key, value) in table {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                toml::Value::Table(inner) => walk(inner, &path, out),
                _ => out.push(path),
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(table) = default_config.parse::<toml::Table>() {
        walk(&table, "", &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_fields_are_listed() {
        let fields = config_fields(find("traffic").unwrap().default_config);
        for f in [
            "interval_s",
            "demand.global_rate_rps",
            "world.synthetic.regions",
            "reward.drop_weight",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
        }
    }
}
