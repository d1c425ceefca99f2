//! planetgym-training: PPO training, scenario registry, results tables, TensorBoard logs and
//! the `planetgym` command line.

pub mod plot;
pub mod ppo;
pub mod registry;
pub mod report;
pub mod session;
pub mod tensorboard;
