//! planetgym-agents: every decision maker behind one trait, and the evaluator that scores them
//! on identical episodes.
//!
//! `Policy` is what a fair competitor implements: it sees only the observation (and mask).
//! `Oracle` may also see the scenario's `OracleView` (hidden future information); oracles give
//! bounds, never fair comparisons, and their names say so. [`registry`] is where scenarios are
//! registered with their baselines, so any front end can build one by name:
//!
//! ```
//! use planetgym_agents::evaluate::{evaluate, summarise};
//! use planetgym_agents::registry::{Built, RegisteredScenario, ScenarioVisitor, with_scenario};
//!
//! /// Every baseline of a scenario on the same 2 episodes: (policy, mean reward).
//! struct Rewards;
//! impl ScenarioVisitor for Rewards {
//!     type Output = Vec<(String, f64)>;
//!     type Error = Box<dyn std::error::Error>;
//!     fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Self::Output, Self::Error> {
//!         let results = evaluate(&built.env, &built.baselines(), 2, 0, false, &|| {})?;
//!         let rows = summarise(&results, built.env.metric_names());
//!         Ok(rows.into_iter().filter(|r| r.metric == "reward").map(|r| (r.policy, r.mean)).collect())
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let table = with_scenario("batch", "window_jobs = 64", "example", Rewards)?;
//! assert!(table.iter().any(|(policy, _)| policy == "sjf"));
//! # Ok(())
//! # }
//! ```

pub mod classic;
pub mod comparison;
pub mod evaluate;
pub mod nn;
pub mod registry;
pub mod risk;
pub mod stats;

use planetgym_env::{Action, Scenario};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PolicyError {
    #[error("{policy}: solver failed: {message}")]
    Solver { policy: String, message: String },
    #[error("{policy}: {message}")]
    Invalid { policy: String, message: String },
}

/// A decision maker that sees what a deployed policy would see.
pub trait Policy<S: Scenario>: Send {
    fn name(&self) -> String;
    /// Called at the start of every episode with its seed (for policies that randomise).
    fn reset(&mut self, _episode_seed: u64) {}
    fn act(&mut self, obs: &S::Obs, mask: Option<&[bool]>) -> Result<Action, PolicyError>;
    /// Whether `act` reads the mask; if not, callers may pass `None` rather than build one (a
    /// placement mask covers every node of the cluster).
    fn uses_mask(&self) -> bool {
        true
    }
    /// Acts for a batch of copies (e.g. a vector env); the default loops over `act`.
    fn act_batch(
        &mut self,
        batch: &[(&S::Obs, Option<&[bool]>)],
    ) -> Result<Vec<Action>, PolicyError> {
        batch
            .iter()
            .map(|(obs, mask)| self.act(obs, *mask))
            .collect()
    }
}

/// A decision maker allowed to see hidden information about the interval it acts on.
pub trait Oracle<S: Scenario>: Send {
    /// The name, which must say it is an oracle.
    fn name(&self) -> String;
    fn act(&mut self, obs: &S::Obs, view: &S::OracleView) -> Result<Action, PolicyError>;
}

/// Anything the evaluator can run: a fair policy or a labelled oracle.
pub enum Contender<S: Scenario> {
    Fair(Box<dyn Policy<S>>),
    Oracle(Box<dyn Oracle<S>>),
}

impl<S: Scenario> std::fmt::Debug for Contender<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl<S: Scenario> Contender<S> {
    pub fn name(&self) -> String {
        match self {
            Contender::Fair(p) => p.name(),
            Contender::Oracle(o) => o.name(),
        }
    }

    pub fn is_oracle(&self) -> bool {
        matches!(self, Contender::Oracle(_))
    }

    pub fn reset(&mut self, episode_seed: u64) {
        if let Contender::Fair(p) = self {
            p.reset(episode_seed);
        }
    }

    /// The action for `scenario`'s current state, whose observation is `obs`.
    pub fn act(&mut self, scenario: &S, obs: &S::Obs) -> Result<Action, PolicyError> {
        match self {
            Contender::Fair(p) => {
                let mask = if p.uses_mask() {
                    scenario.action_mask()
                } else {
                    None
                };
                p.act(obs, mask)
            }
            Contender::Oracle(o) => o.act(obs, scenario.oracle_view()),
        }
    }
}
