//! planetgym-training: PPO training, scenario registry, results tables, TensorBoard logs,
//! policy export (ONNX + manifest), shadow mode and the `planetgym` command line.

pub mod export;
pub mod onnx;
pub mod plot;
pub mod ppo;
mod protobuf;
pub mod registry;
pub mod report;
pub mod session;
pub mod shadow;
pub mod tensorboard;
