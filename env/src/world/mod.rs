//! The world model: regions, their latency and demand shapes, and disruptions.

pub mod demand;
pub mod disruptions;
pub mod diurnal;
pub mod geography;
