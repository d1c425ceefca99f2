//! Charts and pictures, each written twice from one drawing: a PNG (or raw RGB pixels) and an
//! SVG.
//!
//! - `line_chart`: learning curves, result curves, forecasts.
//! - `render`: what a scenario looks like (`Scenario::scene`): Gantt charts, heat-maps, capacity
//!   against demand, world maps of flows.

mod axis;
mod drawing;
mod line_chart;
pub mod render;

pub use drawing::Drawing;
pub use line_chart::{Series, line_chart};
