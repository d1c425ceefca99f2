//! The one place where scenarios are registered.
//!
//! Each scenario declares, in one `impl RegisteredScenario` beside its baselines
//! (`classic/<name>.rs`), everything the front ends need: how it is built from a config, its
//! baselines and oracles, the heading of its results tables, what its reports add, whether
//! shadow mode can score a logged decision, and its gymnasium id. The command line, the trainer,
//! shadow mode and the Python package all go through [`SCENARIOS`] and [`with_scenario`], so a
//! new scenario is its own folders plus one line in the `registry!` list at the end of this file.

use crate::comparison::EpisodeBudget;
use crate::evaluate::ContenderFactory;
use planetgym_env::{Action, EnvError, Scenario, ScenarioConfig};
use serde_json::Value;
use thiserror::Error;

/// What a scenario's results table adds after its rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReportExtra {
    /// Nothing.
    None,
    /// Metric curves against a metric that grows over an episode (every step is recorded).
    Curves(CurveSpec),
    /// Each policy's mean episode cost (minus the return) and its gap to the oracle's.
    GapToOracle,
}

/// Metric curves over an episode, written as CSV (`--curves`) and plotted (`--plot`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurveSpec {
    /// The metric on the x axis (grows monotonically over an episode).
    pub x_metric: &'static str,
    /// The x values at which every curve is read: 0 to `x_max` in steps of 1 / `x_per_unit`.
    pub x_max: f64,
    pub x_per_unit: f64,
    /// The metrics read at each x; the first is plotted.
    pub metrics: &'static [&'static str],
    /// Default plot file, title and axis labels; both axes are plotted in percent.
    pub plot_file: &'static str,
    pub title: &'static str,
    pub x_label: &'static str,
    pub y_label: &'static str,
}

impl CurveSpec {
    /// The x values at which every curve is read.
    pub fn x_values(&self) -> Vec<f64> {
        let steps = (self.x_max * self.x_per_unit).round() as u32;
        (0..=steps)
            .map(|i| f64::from(i) / self.x_per_unit)
            .collect()
    }
}

/// Scores a logged decision from what the record says happened afterwards (its `outcome`).
pub trait OutcomeModel: Send + Sync + std::fmt::Debug {
    /// One line on what the reward means, for shadow reports.
    fn note(&self) -> &'static str;
    /// The JSON Schema of a record's `outcome`.
    fn schema(&self) -> Value;
    /// The one-step reward `action` would have earned under `outcome`.
    fn reward(&self, outcome: &Value, action: &Action) -> Result<f64, OutcomeError>;
}

/// Why a logged decision could not be scored.
#[derive(Debug, Error)]
pub enum OutcomeError {
    /// The record's `outcome` is unusable: `at` is the offending field's path.
    #[error("outcome{at}: {message}")]
    Field { at: String, message: String },
    /// The model refused the decision.
    #[error(transparent)]
    Model(#[from] EnvError),
}

impl OutcomeError {
    pub fn new(at: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Field {
            at: at.into(),
            message: message.into(),
        }
    }
}

/// Everything scenario-specific the front ends need, declared once per scenario.
pub trait RegisteredScenario: Scenario + Clone + 'static {
    type Config: ScenarioConfig + Clone + Send + Sync;
    /// The name on the command line, in configs and in Python (equal to `Scenario::name`).
    const NAME: &'static str;
    /// One line for `planetgym scenarios`.
    const DESCRIPTION: &'static str;
    /// The gymnasium id the Python package registers.
    const GYM_ID: &'static str;
    /// What its results tables add.
    const REPORT: ReportExtra;
    /// Episodes an evaluation runs when the user names no number: a pilot, then as many as the
    /// paired comparisons need (`comparison::episodes_needed`), at most `max`.
    const EPISODES: EpisodeBudget;

    /// `--set` overrides that evaluate on the scenario's out-of-sample split in `dir` (the
    /// shared data's `holdout/` folder), or why it has none.
    fn holdout(dir: &std::path::Path) -> Result<Vec<String>, &'static str>;

    fn build(config: Self::Config) -> Result<Self, EnvError>;
    /// Its classic baselines and labelled oracles, in table order.
    fn baselines(&self, config: &Self::Config) -> Vec<ContenderFactory<Self>>;
    /// The heading of a results table: what was simulated.
    fn heading(&self, config: &Self::Config) -> String;
    /// Decisions in a typical episode (sizes progress bars).
    fn steps_per_episode(&self, config: &Self::Config) -> usize;
    /// Shadow mode's counterfactual model, or why this scenario has none.
    fn outcome_model(&self) -> Result<Box<dyn OutcomeModel>, &'static str>;
    /// What a production log would record afterwards about the interval the next decision
    /// applies to (the input of the outcome model), for simulated decision logs.
    fn logged_outcome(&self) -> Option<Value> {
        None
    }
}

/// A registered scenario as a plain description (for listings).
#[derive(Debug, Clone, Copy)]
pub struct ScenarioEntry {
    pub name: &'static str,
    pub description: &'static str,
    pub gym_id: &'static str,
    /// The built-in default config, commented field by field.
    pub default_config: &'static str,
}

impl ScenarioEntry {
    const fn of<S: RegisteredScenario>() -> Self {
        Self {
            name: S::NAME,
            description: S::DESCRIPTION,
            gym_id: S::GYM_ID,
            default_config: <S::Config as ScenarioConfig>::DEFAULT_TOML,
        }
    }
}

#[derive(Debug, Error)]
pub enum RegistryError {
    #[error("unknown scenario `{name}`; known: {known}")]
    Unknown { name: String, known: String },
    #[error(transparent)]
    Env(#[from] EnvError),
}

/// A scenario built from a config, with what every front end needs next to it.
#[derive(Debug)]
pub struct Built<S: RegisteredScenario> {
    pub env: S,
    pub config: S::Config,
    /// The complete config (default merged with the user's), which rebuilds `env` exactly.
    pub resolved_config: String,
}

impl<S: RegisteredScenario> Built<S> {
    pub fn baselines(&self) -> Vec<ContenderFactory<S>> {
        self.env.baselines(&self.config)
    }

    pub fn heading(&self) -> String {
        self.env.heading(&self.config)
    }

    /// Names of the baselines that see only what a deployed policy sees (not oracles): the
    /// candidates for a comparison's reference.
    pub fn fair_baseline_names(&self) -> Vec<String> {
        self.baselines()
            .iter()
            .map(|make| make())
            .filter(|c| !c.is_oracle())
            .map(|c| c.name())
            .collect()
    }

    pub fn steps_per_episode(&self) -> usize {
        self.env.steps_per_episode(&self.config)
    }
}

/// `v` as a TOML string, so that a `--set` override never reads it as another type.
pub fn toml_string(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `key = "dir/relative"` as a `--set` override.
pub fn holdout_set(key: &str, dir: &std::path::Path, relative: &str) -> String {
    format!(
        "{key}={}",
        toml_string(&dir.join(relative).display().to_string())
    )
}

/// Something to do with a scenario whose type is only known at run time (its name comes from a
/// config file, the command line or Python).
pub trait ScenarioVisitor {
    type Output;
    type Error: From<RegistryError>;
    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Self::Output, Self::Error>;
}

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

fn unknown(name: &str) -> RegistryError {
    RegistryError::Unknown {
        name: name.into(),
        known: names(),
    }
}

fn build<S: RegisteredScenario>(config: &str, origin: &str) -> Result<Built<S>, RegistryError> {
    let parsed = S::Config::from_toml(config, origin)?;
    Ok(Built {
        env: S::build(parsed.clone())?,
        config: parsed,
        resolved_config: S::Config::resolved_toml(config, origin)?,
    })
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

/// Declares the registered scenarios: the listing and the dispatch by name come from one list.
macro_rules! registry {
    ($($scenario:ty),+ $(,)?) => {
        /// Every registered scenario, in listing order.
        pub const SCENARIOS: &[ScenarioEntry] = &[$(ScenarioEntry::of::<$scenario>()),+];

        /// Builds scenario `name` from `config` (TOML with only the fields that change; `origin`
        /// names it in errors) and hands it to `visitor`.
        pub fn with_scenario<V: ScenarioVisitor>(
            name: &str,
            config: &str,
            origin: &str,
            visitor: V,
        ) -> Result<V::Output, V::Error> {
            $(
                if name == <$scenario as RegisteredScenario>::NAME {
                    return visitor.visit(build::<$scenario>(config, origin)?);
                }
            )+
            Err(unknown(name).into())
        }
    };
}

registry!(
    planetgym_env::TrafficScenario,
    planetgym_env::BatchScenario,
    planetgym_env::PlacementScenario,
    planetgym_env::CapacityScenario,
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
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

    /// The registered name is the one the scenario reports, and names and gym ids are unique.
    #[test]
    fn names_match_the_scenarios_and_are_unique() {
        struct Name;
        impl ScenarioVisitor for Name {
            type Output = &'static str;
            type Error = RegistryError;
            fn visit<S: RegisteredScenario>(
                self,
                built: Built<S>,
            ) -> Result<&'static str, RegistryError> {
                Ok(built.env.name())
            }
        }
        for (i, entry) in SCENARIOS.iter().enumerate() {
            assert_eq!(
                with_scenario(entry.name, "", "default", Name).unwrap(),
                entry.name
            );
            for other in &SCENARIOS[i + 1..] {
                assert_ne!(entry.name, other.name);
                assert_ne!(entry.gym_id, other.gym_id);
            }
        }
        assert!(matches!(
            with_scenario("nope", "", "default", Name),
            Err(RegistryError::Unknown { .. })
        ));
    }
}
