//! Neural decision makers (burn 0.22, CPU `flex` backend by default): action heads for every
//! action space, an MLP actor-critic for flat observations, an entity scorer for entity
//! observations, running normalisation statistics and the saved policy format. Training lives
//! in the training crate.

pub mod categorical;
pub mod classifier;
pub mod distributions;
pub mod error;
pub mod fused;
pub mod head;
pub mod models;
pub mod normalise;
pub mod params;
pub mod policy;
mod simd;

use burn::tensor::Device;

/// The default device: burn's pure-Rust CPU backend, with autodiff for training.
pub fn training_device() -> Device {
    Device::flex().autodiff()
}

/// The CPU device without autodiff, for inference.
pub fn inference_device() -> Device {
    Device::flex()
}
