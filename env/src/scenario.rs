//! The scenario trait: gymnasium semantics over typed observations.

use crate::error::{ActionError, EnvError};
use crate::features::FeatureSpec;
use crate::spaces::{Action, Space};

/// Per-step metrics, in the order of the scenario's `metric_names()`. Every policy is scored
/// from these, by the same code.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Info {
    pub values: Vec<f64>,
}

impl Info {
    /// The value of the metric `name`, looked up in the scenario's `names`.
    pub fn get(&self, names: &[&str], name: &str) -> Option<f64> {
        names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| self.values.get(i).copied())
    }
}

/// How a scenario's per-step metrics summarise an episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricAggregation {
    /// Each step reports that step's metrics; the episode's value is their mean over steps.
    PerStepMean,
    /// Each step reports the episode's metrics so far; the episode's value is the last step's.
    Final,
}

/// Which direction of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
    /// A condition of the episode, not a score (e.g. the demand served).
    Neither,
}

impl Better {
    pub fn as_str(self) -> &'static str {
        match self {
            Better::Higher => "higher",
            Better::Lower => "lower",
            Better::Neither => "neither",
        }
    }
}

/// What a metric measures: its unit, which way is better, and what one step reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    /// `ms`, `s`, `USD`, `fraction`, `count`, ... (`1` for a dimensionless ratio).
    pub unit: &'static str,
    pub better: Better,
    /// What the value of one step is (the episode's value follows the scenario's aggregation).
    pub step: &'static str,
}

impl Metric {
    /// What an episode's value of this metric is, under `aggregation`.
    pub fn episode(&self, aggregation: MetricAggregation) -> String {
        match aggregation {
            MetricAggregation::PerStepMean => {
                format!("the mean over the episode's steps of: {}", self.step)
            }
            MetricAggregation::Final => format!("at the episode's end: {}", self.step),
        }
    }
}

/// The names of `metrics`, in order (for `Scenario::metric_names`).
pub const fn metric_names<const N: usize>(metrics: &[Metric; N]) -> [&'static str; N] {
    let mut names = [""; N];
    let mut i = 0;
    while i < N {
        names[i] = metrics[i].name;
        i += 1;
    }
    names
}

/// What one step returns (gymnasium's `(obs, reward, terminated, truncated, info)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Transition<O> {
    pub obs: O,
    pub reward: f64,
    /// The episode reached a terminal state of the task.
    pub terminated: bool,
    /// The episode was cut by its time limit.
    pub truncated: bool,
    pub info: Info,
}

/// A simulated decision problem.
///
/// `reset(seed)` starts an episode whose whole trajectory (given the actions) is a function of
/// `seed` alone. An action that does not belong to `action_space()` (or is masked out) is an
/// `EnvError`: it never panics and is never clipped, and a rejected action leaves the state
/// untouched.
pub trait Scenario: Send + Sync {
    /// Typed observation, read directly by heuristics and encoded for networks.
    type Obs: Clone + Send + Sync + std::fmt::Debug;
    /// Information only oracles may use (e.g. the true demand of the next interval). Policies
    /// that see it give bounds, not fair competitors.
    type OracleView: std::fmt::Debug;

    /// Short name (`traffic`, `batch`, ...).
    fn name(&self) -> &'static str;
    fn action_space(&self) -> &Space;
    fn feature_spec(&self) -> &FeatureSpec;
    /// Names of the metrics reported in `Info`, in order.
    fn metric_names(&self) -> &'static [&'static str];
    /// How `Info` metrics summarise an episode.
    fn metric_aggregation(&self) -> MetricAggregation {
        MetricAggregation::PerStepMean
    }
    /// The reset seed of episode `episode` of an evaluation seeded with `seed`: by default
    /// [`crate::rng::evaluation_seed`]. A scenario that reproduces another framework's
    /// evaluation episodes may encode (seed, episode) instead, keeping the top bit set.
    fn evaluation_seed(&self, seed: u64, episode: usize) -> u64 {
        crate::rng::evaluation_seed(seed, episode)
    }

    /// Mask of legal actions for `Discrete` spaces (true = legal); `None` when all are legal.
    fn action_mask(&self) -> Option<&[bool]> {
        None
    }

    /// Checks an action against the space and mask of the current state without stepping.
    fn check_action(&self, action: &Action) -> Result<(), ActionError> {
        self.action_space()
            .check(action, self.action_mask(), &|_| String::new())
    }

    fn reset(&mut self, seed: u64) -> Self::Obs;
    fn step(&mut self, action: &Action) -> Result<Transition<Self::Obs>, EnvError>;
    /// Writes the normalised observation into `out` (`feature_spec().encoded_len()` values).
    fn encode(&self, obs: &Self::Obs, out: &mut [f32]);
    /// What an oracle may see about the interval the next action will act on.
    fn oracle_view(&self) -> &Self::OracleView;

    /// What the episode looks like now (the schedule, the cluster, the split, capacity against
    /// demand), for pictures; `EnvError::NotReset` before the first reset.
    fn scene(&self) -> Result<crate::Scene, EnvError>;

    /// Who each entity row of `encode`'s output is, for people reading observations: a job, a
    /// node, a region-site pair (`""` for an empty row). Empty for flat layouts.
    fn entity_labels(&self, _obs: &Self::Obs) -> Vec<String> {
        Vec::new()
    }

    /// For actions made of rows decided independently (a traffic split's regions): the reward
    /// the next `step(action)` would earn had row `r` been `reference`'s row `r` instead, for
    /// every row, in the conditions that step will meet. PPO subtracts them as per-row
    /// counterfactual baselines. `None` where the scenario has no such rows.
    fn row_counterfactual_rewards(
        &self,
        _action: &Action,
        _reference: &Action,
    ) -> Option<Result<Vec<f64>, EnvError>> {
        None
    }
}
