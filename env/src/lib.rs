//! planetgym-env: the simulator. Scenarios, world model, spaces, feature specs and the vector env.

pub mod batch;
pub mod capacity;
pub mod config;
pub mod error;
pub mod features;
pub mod forecast;
pub mod placement;
pub mod rng;
pub mod scenario;
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
pub use scenario::{Info, MetricAggregation, Scenario, Transition};
pub use spaces::{Action, Space};
pub use traffic::{TrafficConfig, TrafficObs, TrafficOracleView, TrafficScenario};
pub use vec_env::{AutoresetMode, VecEnv, episode_seed};
