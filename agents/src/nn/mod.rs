//! Neural decision makers (burn 0.22, CPU `flex` backend by default): action distributions for
//! every action space, an MLP actor-critic for flat observations and an entity scorer for entity
//! observations. Training lives in the training crate.

pub mod distributions;
pub mod models;
pub mod policy;

use burn::tensor::Device;

/// The default device: burn's pure-Rust CPU backend, with autodiff for training.
pub fn training_device() -> Device {
    Device::flex().autodiff()
}

/// The CPU device without autodiff, for inference.
pub fn inference_device() -> Device {
    Device::flex()
}
