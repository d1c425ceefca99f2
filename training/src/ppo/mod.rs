//! Proximal policy optimisation (clipped objective, GAE, value clipping, entropy bonus,
//! advantage/observation/reward normalisation, minibatch epochs, learning-rate annealing,
//! gradient-norm clipping, KL early stop) over the environment's `VecEnv`.

pub mod adam;
pub mod best;
pub mod checkpoint;
mod collect;
pub mod config;
pub mod imitation;
pub mod remote;
pub mod rollout;
pub mod trainer;
pub mod update;

pub use config::TrainConfig;
pub use remote::{RolloutSource, RolloutWork, RolloutWorker};
pub use trainer::{Outcome, Run, UpdateReport, load_policy, train};
