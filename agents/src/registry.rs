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
use planetgym_env::{Action, EnvError, Metric, Scenario, ScenarioConfig};
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
    /// Each policy's mean value of this cost metric and its gap, per episode, to the episode's
    /// lower bound (`RegisteredScenario::cost_bound`).
    GapToBound { cost_metric: &'static str },
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
    /// Plot title and axis labels; both axes are plotted in percent.
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
    /// Unit, direction and meaning of each metric, in `metric_names` order.
    const METRICS: &'static [Metric];
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
    /// The parameterised baseline names it accepts besides the listed ones, with their ranges
    /// (for help and error messages), e.g. `greedy-spillover@U (0 < U <= 1)`.
    const BASELINE_FORMS: &'static [&'static str] = &[];
    /// The baseline a parameterised `name` (one of `BASELINE_FORMS`) describes: None when
    /// `name` has none of those forms, an error saying what is allowed when its parameters are
    /// malformed or out of range.
    fn baseline_named(
        &self,
        _config: &Self::Config,
        _name: &str,
    ) -> Option<Result<ContenderFactory<Self>, String>> {
        None
    }
    /// `eval --guide NAME`: the decision-time search `name` with the learned policy `prior`
    /// ranking its candidates, as one fair row; an error when the scenario has none or `name`
    /// is malformed.
    fn guided(
        &self,
        _config: &Self::Config,
        name: &str,
        _prior: crate::nn::policy::NeuralPolicy<Self>,
    ) -> Result<ContenderFactory<Self>, String> {
        Err(format!(
            "`{name}`: the {} scenario has no search guided by a learned policy (batch has [union-]rollout-RULE@K[+Hh])",
            Self::NAME
        ))
    }
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
    /// A lower bound on the cost (`ReportExtra::GapToBound`'s metric) of every policy on the
    /// episode whose first observation is `first`, or why there is none.
    fn cost_bound(&self, _config: &Self::Config, _first: &Self::Obs) -> Result<f64, String> {
        Err(format!("{} has no cost bound", Self::NAME))
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
    /// Rewrites a config file's relative data paths to be read from its folder.
    pub rebase_paths: fn(&mut toml::Table, &std::path::Path),
    pub metrics: &'static [Metric],
}

impl ScenarioEntry {
    const fn of<S: RegisteredScenario>() -> Self {
        Self {
            name: S::NAME,
            description: S::DESCRIPTION,
            gym_id: S::GYM_ID,
            default_config: <S::Config as ScenarioConfig>::DEFAULT_TOML,
            rebase_paths: <S::Config as ScenarioConfig>::rebase_paths,
            metrics: S::METRICS,
        }
    }
}

/// The text of a config file in folder `base` with its relative data paths (traces, node and
/// pod lists, series) made to point into `base`, so that a config works from any working
/// directory: a scenario config of `scenario`, or (None) a training config, whose `[env]` table
/// is a config of the scenario it names. Text that does not parse comes back unchanged (its
/// loader reports the error).
pub fn rebase_config_paths(scenario: Option<&str>, text: &str, base: &std::path::Path) -> String {
    let Ok(mut table) = text.parse::<toml::Table>() else {
        return text.to_string();
    };
    let before = table.clone();
    let (name, target) = match scenario {
        Some(name) => (name.to_string(), Some(&mut table)),
        None => {
            let name = match table.get("scenario") {
                Some(toml::Value::String(s)) => s.clone(),
                _ => "traffic".to_string(),
            };
            let env = match table.get_mut("env") {
                Some(toml::Value::Table(env)) => Some(env),
                _ => None,
            };
            (name, env)
        }
    };
    match (find(&name), target) {
        (Some(entry), Some(target)) => (entry.rebase_paths)(target, base),
        _ => return text.to_string(),
    }
    if table == before {
        return text.to_string();
    }
    toml::to_string(&table).unwrap_or_else(|_| text.to_string())
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
        crate::evaluate::fair_names(&self.baselines())
    }

    pub fn steps_per_episode(&self) -> usize {
        self.env.steps_per_episode(&self.config)
    }

    /// The baselines `names` names, in that order: listed ones by their exact name, others by
    /// a parameterised form (`BASELINE_FORMS`). An unknown or repeated name is an error that
    /// lists what is known.
    pub fn select_baselines(&self, names: &[String]) -> Result<Vec<ContenderFactory<S>>, String> {
        let mut listed: Vec<(String, Option<ContenderFactory<S>>)> = self
            .baselines()
            .into_iter()
            .map(|make| (make().name(), Some(make)))
            .collect();
        let mut chosen = Vec::with_capacity(names.len());
        for (k, name) in names.iter().enumerate() {
            if names[..k].contains(name) {
                return Err(format!("baseline `{name}` is named twice"));
            }
            if let Some(slot) = listed.iter_mut().find(|(n, _)| n == name) {
                chosen.extend(slot.1.take());
                continue;
            }
            match self.env.baseline_named(&self.config, name) {
                Some(made) => chosen.push(made.map_err(|why| format!("baseline `{name}`: {why}"))?),
                None => {
                    let known: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
                    let forms = if S::BASELINE_FORMS.is_empty() {
                        String::new()
                    } else {
                        format!("; or {}", S::BASELINE_FORMS.join(", "))
                    };
                    return Err(format!(
                        "no baseline `{name}` for scenario {}; known: {}{forms}",
                        S::NAME,
                        known.join(", ")
                    ));
                }
            }
        }
        Ok(chosen)
    }
}

/// A fraction in (0, 1] written in a baseline's name (e.g. the `0.6` of `reactive@0.6`).
pub fn fraction_in_name(text: &str, what: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("{what} `{text}` must be a number in (0, 1]")),
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
    planetgym_env::ServicesScenario,
    planetgym_env::RiskScenario,
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every scenario's metric descriptions follow its `metric_names`, one for one.
    #[test]
    fn metric_descriptions_match_the_reported_metrics() {
        struct Names;
        impl ScenarioVisitor for Names {
            type Output = Vec<&'static str>;
            type Error = RegistryError;
            fn visit<S: RegisteredScenario>(
                self,
                built: Built<S>,
            ) -> Result<Self::Output, Self::Error> {
                Ok(built.env.metric_names().to_vec())
            }
        }
        for entry in SCENARIOS {
            let config = if entry.name == "traffic" {
                "[world]\nkind = \"synthetic\""
            } else {
                ""
            };
            let names = with_scenario(entry.name, config, "test", Names).unwrap();
            let described: Vec<&str> = entry.metrics.iter().map(|m| m.name).collect();
            assert_eq!(described, names, "{}", entry.name);
            assert!(
                entry
                    .metrics
                    .iter()
                    .all(|m| !m.unit.is_empty() && !m.step.is_empty())
            );
        }
    }

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
