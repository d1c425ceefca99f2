//! planetgym-env: the simulator. Scenarios, world model, spaces, feature specs and the vector env.
//!
//! Every scenario implements [`Scenario`] with gymnasium semantics (`reset(seed)`, `step`
//! returning a [`Transition`] whose `info` carries the scenario's metrics) and is configured by a
//! documented TOML over its default ([`ScenarioConfig`]). [`VecEnv`] steps copies in parallel
//! with results that do not depend on the thread count. `examples/random_policy.rs` drives every
//! scenario with random legal actions.
//!
//! ```
//! use planetgym_env::{Action, Scenario, ScenarioConfig, Space, TrafficScenario};
//!
//! # fn main() -> Result<(), planetgym_env::EnvError> {
//! let config = ScenarioConfig::from_toml("episode_intervals = 3", "example")?;
//! let mut env = TrafficScenario::new(config)?;
//! env.reset(7);
//! let Space::Simplex { rows, cols } = env.action_space().clone() else { unreachable!() };
//! let even = Action::Continuous(vec![1.0 / cols as f32; rows * cols]); // every region split evenly
//! let mut steps = 0;
//! loop {
//!     let t = env.step(&even)?;
//!     steps += 1;
//!     assert!(t.reward.is_finite() && !t.info.values.is_empty());
//!     if t.terminated || t.truncated { break; }
//! }
//! assert_eq!(steps, 3);
//! # Ok(())
//! # }
//! ```

pub mod batch;
pub mod bounds;
pub mod capacity;
pub mod config;
pub mod error;
pub mod features;
pub mod forecast;
pub mod input;
pub mod placement;
pub mod risk;
pub mod rng;
pub mod scenario;
pub mod scene;
pub mod services;
pub mod spaces;
pub mod traces;
pub mod traffic;
pub mod vec_env;
pub mod world;

pub use batch::{BatchConfig, BatchObs, BatchScenario};
pub use capacity::{CapacityConfig, CapacityObs, CapacityScenario};
pub use config::ScenarioConfig;
pub use error::{ActionError, EnvError};
pub use features::{Feature, FeatureSpec, Layout};
pub use placement::{PlacementConfig, PlacementObs, PlacementScenario};
pub use risk::{RiskConfig, RiskObs, RiskScenario};
pub use scenario::{Better, Info, Metric, MetricAggregation, Scenario, Transition};
pub use scene::Scene;
pub use services::{ServicesConfig, ServicesObs, ServicesScenario};
pub use spaces::{Action, Space};
pub use traffic::{TrafficConfig, TrafficObs, TrafficOracleView, TrafficScenario};
pub use vec_env::{AutoresetMode, VecEnv, episode_seed};
