//! The policy networks' forward and backward passes written out by hand, on host memory: what
//! the PPO update and rollout inference run instead of burn's autodiff graph. Each layer is one
//! register-blocked product (`product`) that reads its operands in place and applies the bias
//! and ReLU before storing, on buffers the `Tape` keeps between calls. The MLP runs its layers
//! over all its rows; the entity scorer lists the present candidates (absent ones cost nothing)
//! and runs them through every layer a tile at a time. pulp compiles the passes for the
//! machine's SIMD level (AVX-512, else AVX2 + FMA on x86-64). The action head's loss is
//! computed from the outputs elsewhere (see `training::ppo::update`), and the burn modules in
//! `models` stay the reference: tests hold both to the same outputs and gradients.

mod entity;
mod mlp;
mod narrow;
mod product;
mod rows;

use super::error::NetworkError;
use super::models::ActorCritic;
use super::params::{self, Weights};
use super::simd::dispatch;
pub(crate) use entity::Entity;
pub(crate) use mlp::Mlp;
use pulp::{Simd, WithSimd};

/// What a forward pass keeps for its backward pass, and the backward pass's gradients of the
/// activations: reused between calls, so that a pass allocates nothing once warm.
#[derive(Debug, Default, Clone)]
pub struct Tape {
    rows: usize,
    /// Hidden layers, one row per observation (MLP) or per present candidate of the current
    /// tile (entity).
    hidden1: Vec<f32>,
    hidden2: Vec<f32>,
    /// Entity networks: per observation, the context, the context plus the first layer's bias
    /// (where every candidate's first layer starts), and the mean of its candidates' rows.
    context: Vec<f32>,
    lifted: Vec<f32>,
    pooled: Vec<f32>,
    /// Entity networks: each present candidate's observation and output slot, and each
    /// observation's number of present candidates (at least 1).
    owner: Vec<usize>,
    slot: Vec<usize>,
    counts: Vec<f32>,
    /// Column pooling: each present candidate's column (`observation * columns + column`),
    /// each column's mean first-layer row and number of present candidates, and where its
    /// candidates' second layers start (`b2 + mean Wg`).
    group: Vec<usize>,
    column_mean: Vec<f32>,
    column_count: Vec<f32>,
    lifted2: Vec<f32>,
    /// Gradients of `hidden1`, `hidden2` (of the current tile for entity networks), `context`
    /// and `pooled`.
    d1: Vec<f32>,
    d2: Vec<f32>,
    /// Entity networks: the output gradients of the current tile's candidates.
    d_scores: Vec<f32>,
    d_context: Vec<f32>,
    d_pooled: Vec<f32>,
    /// Column pooling, per column: the sum of its candidates' second-layer gradients, and the
    /// gradient each of its present candidates' first layer receives through its mean.
    d_column_sum: Vec<f32>,
    d_column: Vec<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layers {
    Mlp(Mlp),
    Entity(Entity),
}

/// One network's shape, for the hand-written passes (`ActorCritic::fused`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FusedNetwork {
    layers: Layers,
    /// Every parameter's shape in `params::read` order, the log standard deviations last.
    shapes: Vec<Vec<usize>>,
}

impl FusedNetwork {
    pub(crate) fn new(layers: Layers, shapes: Vec<Vec<usize>>) -> Self {
        Self { layers, shapes }
    }

    /// Floats in one encoded observation.
    pub fn obs_len(&self) -> usize {
        match self.layers {
            Layers::Mlp(m) => m.inputs,
            Layers::Entity(e) => e.obs_len(),
        }
    }

    /// Action parameters per observation (one score per candidate for entity networks).
    pub fn outputs(&self) -> usize {
        match self.layers {
            Layers::Mlp(m) => m.outputs,
            Layers::Entity(e) => e.parts.entities,
        }
    }

    /// Action parameters `[rows, outputs]` and values `[rows]` for the observation rows `obs`
    /// (each `obs_len` long) under `weights`; `tape` keeps what `backward` needs.
    pub fn forward(
        &self,
        weights: &Weights,
        obs: &[&[f32]],
        tape: &mut Tape,
    ) -> Result<(Vec<f32>, Vec<f32>), NetworkError> {
        let rows = self.rows(weights, obs)?;
        let mut out = vec![0.0; rows * self.outputs()];
        let mut values = vec![0.0; rows];
        tape.rows = rows;
        dispatch(Pass {
            layers: self.layers,
            w: &weights.values,
            work: Work::Forward {
                obs,
                tape,
                out: &mut out,
                values: &mut values,
            },
        });
        Ok((out, values))
    }

    /// The gradient of `sum(out * d_out) + sum(values * d_values)` with respect to every
    /// network parameter (all but the log standard deviations, last in `weights`), for the
    /// `tape` of the last `forward`, which ran over the same `obs`.
    pub fn backward(
        &self,
        weights: &Weights,
        obs: &[&[f32]],
        tape: &mut Tape,
        d_out: &[f32],
        d_values: &[f32],
    ) -> Result<Vec<Vec<f32>>, NetworkError> {
        let rows = tape.rows;
        if self.rows(weights, obs)? != rows {
            return Err(NetworkError::Mismatch(format!(
                "backward pass over {} observation rows with a tape of {rows}",
                obs.len()
            )));
        }
        if d_out.len() != rows * self.outputs() || d_values.len() != rows {
            return Err(NetworkError::Mismatch(format!(
                "backward pass over a tape of {rows} rows with {} output gradients ({} expected) \
                 and {} value gradients",
                d_out.len(),
                rows * self.outputs(),
                d_values.len()
            )));
        }
        let network = &self.shapes[..self.shapes.len().saturating_sub(1)];
        let mut grads: Vec<Vec<f32>> = network
            .iter()
            .map(|s| vec![0.0; s.iter().product()])
            .collect();
        dispatch(Pass {
            layers: self.layers,
            w: &weights.values,
            work: Work::Backward {
                obs,
                tape,
                d_out,
                d_values,
                grads: &mut grads,
            },
        });
        Ok(grads)
    }

    /// The number of observation rows in `obs`, after checking `weights` and `obs` fit.
    fn rows(&self, weights: &Weights, obs: &[&[f32]]) -> Result<usize, NetworkError> {
        weights.check_shapes(&self.shapes)?;
        let widths = match self.layers {
            Layers::Mlp(m) => [m.inputs, m.hidden, m.outputs],
            Layers::Entity(e) => [e.parts.entity_features, e.hidden, e.parts.entities],
        };
        if widths.contains(&0) {
            return Err(NetworkError::Mismatch(format!(
                "a network with an empty layer ({widths:?} inputs, hidden units, outputs)"
            )));
        }
        if let Layers::Entity(Entity {
            parts,
            columns: Some(columns),
            ..
        }) = self.layers
            && (columns == 0 || parts.entities % columns != 0)
        {
            return Err(NetworkError::Mismatch(format!(
                "column pooling over {columns} columns of {} entities: the entities must fill \
                 whole rows of the grid",
                parts.entities
            )));
        }
        let width = self.obs_len();
        if let Some((i, row)) = obs.iter().enumerate().find(|(_, r)| r.len() != width) {
            return Err(NetworkError::Mismatch(format!(
                "observation row {i} has {} values, the network reads {width}",
                row.len()
            )));
        }
        Ok(obs.len())
    }
}

enum Work<'a> {
    Forward {
        obs: &'a [&'a [f32]],
        tape: &'a mut Tape,
        out: &'a mut [f32],
        values: &'a mut [f32],
    },
    Backward {
        obs: &'a [&'a [f32]],
        tape: &'a mut Tape,
        d_out: &'a [f32],
        d_values: &'a [f32],
        grads: &'a mut [Vec<f32>],
    },
}

/// A pass as pulp runs it: compiled once per SIMD level, chosen at run time.
struct Pass<'a> {
    layers: Layers,
    w: &'a [Vec<f32>],
    work: Work<'a>,
}

impl WithSimd for Pass<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Self { layers, w, work } = self;
        match (layers, work) {
            (
                Layers::Mlp(m),
                Work::Forward {
                    obs,
                    tape,
                    out,
                    values,
                },
            ) => m.forward(simd, w, obs, tape, out, values),
            (
                Layers::Entity(e),
                Work::Forward {
                    obs,
                    tape,
                    out,
                    values,
                },
            ) => e.forward(simd, w, obs, tape, out, values),
            (
                Layers::Mlp(m),
                Work::Backward {
                    obs,
                    tape,
                    d_out,
                    d_values,
                    grads,
                },
            ) => m.backward(simd, w, obs, tape, d_out, d_values, grads),
            (
                Layers::Entity(e),
                Work::Backward {
                    obs,
                    tape,
                    d_out,
                    d_values,
                    grads,
                },
            ) => e.backward(simd, w, obs, tape, d_out, d_values, grads),
        }
    }
}

/// A network's hand-written forward pass with its weights read once: for acting many times
/// with the same weights, as collecting a rollout does.
#[derive(Debug, Clone)]
pub struct FusedPolicy {
    net: FusedNetwork,
    weights: Weights,
    tape: Tape,
}

impl FusedPolicy {
    pub fn of(model: &ActorCritic) -> Self {
        Self {
            net: model.fused(),
            weights: params::read(model),
            tape: Tape::default(),
        }
    }

    /// The log standard deviations of Gaussian heads (empty for the others).
    pub fn log_std(&self) -> &[f32] {
        self.weights.values.last().map_or(&[], Vec::as_slice)
    }

    /// Action parameters `[rows, outputs]` and values `[rows]` for encoded, normalised
    /// observations `[rows, obs_len]` (row-major).
    pub fn forward(&mut self, obs: &[f32]) -> Result<(Vec<f32>, Vec<f32>), NetworkError> {
        let rows: Vec<&[f32]> = obs.chunks(self.net.obs_len().max(1)).collect();
        self.net.forward(&self.weights, &rows, &mut self.tape)
    }
}
