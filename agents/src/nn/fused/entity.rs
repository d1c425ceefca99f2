//! `EntityScorer` by hand, on the present candidates only: context `c = relu(g Wc + bc)`;
//! for each present candidate `h1 = relu(x W1 + b1 + c)`, `h2 = relu(h1 W2 + b2)`, score
//! `h2 . ws + bs`; value `[mean of h2, c] . wv + bv`; absent candidates score `MASKED_SCORE`
//! and get no gradient. Parameters in `params::read` order: Wc, bc, W1, b1, W2, b2, ws, bs, wv,
//! bv, then with column pooling Wg, where `h2 = relu(h1 W2 + b2 + m Wg)` and `m` is the mean
//! `h1` of the present candidates in the candidate's column.
//!
//! Column pooling needs every tile's first layer before any second layer: the forward pass
//! runs the tiles' first layers once to sum the columns, and the backward pass runs the tiles
//! once to sum the columns' gradients before the pass that needs them.
//!
//! The present candidates of all the rows are listed once and run through every layer in tiles
//! of `TILE` candidates, whose rows stay in cache from the first layer to the last: a minibatch
//! holds hundreds of thousands of candidates, and layer after layer over all of them streamed
//! each hidden layer through memory several times. The backward pass recomputes a tile's hidden
//! layers instead of keeping them (a third more arithmetic, no memory traffic, and a tape whose
//! size does not grow with the minibatch).

use super::Tape;
use super::narrow;
use super::product::{Finish, Lhs, Shape, Start, product};
use super::rows::{add_bias, add_rows, dot, scaled, through_relu, transpose};
use crate::nn::models::MASKED_SCORE;
use planetgym_env::features::EntityParts;
use pulp::Simd;
use std::ops::Range;

/// Candidates per tile: a tile's hidden layers and their gradients (4 x `TILE` x hidden floats)
/// stay in the second-level cache for hidden sizes up to 128.
const TILE: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entity {
    pub(crate) parts: EntityParts,
    pub(crate) hidden: usize,
    /// With column pooling: the grid's number of columns.
    pub(crate) columns: Option<usize>,
}

impl Entity {
    pub(super) fn obs_len(&self) -> usize {
        self.parts.mask_offset() + self.parts.entities
    }

    /// Fills `out` (`[rows, entities]`) and `values` (`[rows]`), keeping the context, the
    /// mean pooled row and the present candidates (their observation and output slot) in
    /// `tape`. The caller has checked every length.
    #[inline(always)]
    pub(super) fn forward<S: Simd>(
        &self,
        simd: S,
        w: &[Vec<f32>],
        obs: &[&[f32]],
        tape: &mut Tape,
        out: &mut [f32],
        values: &mut [f32],
    ) {
        let (h, p) = (self.hidden, self.parts);
        let rows = values.len();
        tape.context.resize(rows * h, 0.0);
        let global = Shape {
            m: rows,
            n: h,
            p: p.global_len,
        };
        let (start, relu) = (Start::Bias(&w[1]), Finish::Relu);
        product(
            simd,
            global,
            Lhs::RowRefs(obs),
            &w[0],
            &mut tape.context,
            start,
            relu,
        );
        // Every candidate's first layer starts from its observation's context plus b1.
        tape.lifted.clear();
        tape.lifted.extend_from_slice(&tape.context);
        add_bias(&mut tape.lifted, &w[3]);

        tape.owner.clear();
        tape.slot.clear();
        tape.counts.clear();
        tape.group.clear();
        let columns = self.columns.unwrap_or(1);
        for (b, (obs, scores)) in obs.iter().zip(out.chunks_exact_mut(p.entities)).enumerate() {
            let present = &obs[p.mask_offset()..];
            let before = tape.owner.len();
            for (e, (&present, score)) in present.iter().zip(scores.iter_mut()).enumerate() {
                if present > 0.5 {
                    tape.owner.push(b);
                    tape.slot.push(b * p.entities + e);
                    tape.group.push(b * columns + e % columns);
                } else {
                    *score = MASKED_SCORE;
                }
            }
            tape.counts.push((tape.owner.len() - before).max(1) as f32);
        }

        let mut features = Vec::with_capacity(TILE);
        if self.columns.is_some() {
            self.column_messages(simd, w, obs, tape, rows * columns, &mut features);
        }
        tape.pooled.clear();
        tape.pooled.resize(rows * h, 0.0);
        for tile in tiles(tape.owner.len()) {
            self.hidden_layers(simd, w, obs, tape, tile.clone(), &mut features);
            let h2 = &tape.hidden2;
            for (score, &slot) in h2.chunks_exact(h).zip(&tape.slot[tile.clone()]) {
                out[slot] = w[7][0] + dot(simd, score, &w[6]);
            }
            for (b, run) in runs(&tape.owner[tile]) {
                let pooled = &mut tape.pooled[b * h..(b + 1) * h];
                add_rows(simd, None, &h2[run.start * h..run.end * h], pooled);
            }
        }
        let (wv_pooled, wv_context) = w[8].split_at(h);
        let per_row = tape
            .pooled
            .chunks_exact_mut(h)
            .zip(tape.context.chunks_exact(h))
            .zip(&tape.counts)
            .zip(values.iter_mut());
        for (((pooled, c), count), value) in per_row {
            pooled.iter_mut().for_each(|v| *v /= count);
            *value = w[9][0] + dot(simd, pooled, wv_pooled) + dot(simd, c, wv_context);
        }
    }

    /// Column pooling: the columns' mean first-layer rows (`tape.column_mean`, `groups` rows)
    /// and where the present candidates' second layers start, `b2 + mean Wg`
    /// (`tape.lifted2`).
    #[inline(always)]
    fn column_messages<'o, S: Simd>(
        &self,
        simd: S,
        w: &[Vec<f32>],
        obs: &[&'o [f32]],
        tape: &mut Tape,
        groups: usize,
        features: &mut Vec<&'o [f32]>,
    ) {
        let h = self.hidden;
        tape.column_mean.clear();
        tape.column_mean.resize(groups * h, 0.0);
        tape.column_count.clear();
        tape.column_count.resize(groups, 0.0);
        for tile in tiles(tape.owner.len()) {
            self.point_at_features(obs, tape, tile.clone(), features);
            self.first_layer(simd, w, tape, tile.clone(), features);
            let rows = tape.hidden1.chunks_exact(h).zip(&tape.group[tile]);
            for (row, &g) in rows {
                add_rows(simd, None, row, &mut tape.column_mean[g * h..(g + 1) * h]);
                tape.column_count[g] += 1.0;
            }
        }
        let means = tape.column_mean.chunks_exact_mut(h).zip(&tape.column_count);
        for (mean, &count) in means {
            mean.iter_mut().for_each(|v| *v /= count.max(1.0));
        }
        tape.lifted2.resize(groups * h, 0.0);
        let shape = Shape {
            m: groups,
            n: h,
            p: h,
        };
        let means = Lhs::Rows(&tape.column_mean, h);
        let start = Start::Bias(&w[5]);
        product(
            simd,
            shape,
            means,
            &w[10],
            &mut tape.lifted2,
            start,
            Finish::Keep,
        );
    }

    /// The first layer of the present candidates `tile`, whose feature rows are `features`,
    /// into `tape.hidden1`.
    #[inline(always)]
    fn first_layer<S: Simd>(
        &self,
        simd: S,
        w: &[Vec<f32>],
        tape: &mut Tape,
        tile: Range<usize>,
        features: &[&[f32]],
    ) {
        let h = self.hidden;
        tape.hidden1.resize(tile.len() * h, 0.0);
        let shape = Shape {
            m: tile.len(),
            n: h,
            p: self.parts.entity_features,
        };
        let first = Start::RowBias(&tape.lifted, &tape.owner[tile]);
        let x = Lhs::RowRefs(features);
        product(
            simd,
            shape,
            x,
            &w[2],
            &mut tape.hidden1,
            first,
            Finish::Relu,
        );
    }

    /// Points `features` at the feature rows of the present candidates `tile`.
    #[inline(always)]
    fn point_at_features<'o>(
        &self,
        obs: &[&'o [f32]],
        tape: &Tape,
        tile: Range<usize>,
        features: &mut Vec<&'o [f32]>,
    ) {
        let p = self.parts;
        let f = p.entity_features;
        features.clear();
        for (&b, &slot) in tape.owner[tile.clone()].iter().zip(&tape.slot[tile]) {
            let at = p.entities_offset() + (slot - b * p.entities) * f;
            features.push(&obs[b][at..at + f]);
        }
    }

    /// Points `features` at the feature rows of the present candidates `tile` and computes
    /// their hidden layers into `tape.hidden1` and `tape.hidden2`: the same values in the
    /// forward pass and when the backward pass recomputes them.
    #[inline(always)]
    fn hidden_layers<'o, S: Simd>(
        &self,
        simd: S,
        w: &[Vec<f32>],
        obs: &[&'o [f32]],
        tape: &mut Tape,
        tile: Range<usize>,
        features: &mut Vec<&'o [f32]>,
    ) {
        let h = self.hidden;
        let n = tile.len();
        self.point_at_features(obs, tape, tile.clone(), features);
        tape.hidden1.resize(n * h, 0.0);
        tape.hidden2.resize(n * h, 0.0);
        if self.columns.is_none() {
            let narrow = narrow::Tile {
                features,
                owner: &tape.owner[tile.clone()],
                lifted: &tape.lifted,
                w1: &w[2],
                w2: &w[4],
                b2: &w[5],
            };
            if narrow::hidden_layers(simd, &narrow, &mut tape.hidden1, &mut tape.hidden2) {
                return;
            }
        }
        self.first_layer(simd, w, tape, tile.clone(), features);
        let layer = |p| Shape { m: n, n: h, p };
        let h1 = Lhs::Rows(&tape.hidden1, h);
        let second = match self.columns {
            Some(_) => Start::RowBias(&tape.lifted2, &tape.group[tile]),
            None => Start::Bias(&w[5]),
        };
        product(
            simd,
            layer(h),
            h1,
            &w[4],
            &mut tape.hidden2,
            second,
            Finish::Relu,
        );
    }

    /// Adds to `g` (one vector per parameter) the gradient of `sum(out * d_out) +
    /// sum(values * d_values)` (absent candidates' `d_out` ignored), for the tape of the
    /// forward pass over `obs`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn backward<S: Simd>(
        &self,
        simd: S,
        w: &[Vec<f32>],
        obs: &[&[f32]],
        tape: &mut Tape,
        d_out: &[f32],
        d_values: &[f32],
        g: &mut [Vec<f32>],
    ) {
        let (h, p) = (self.hidden, self.parts);
        let [gc, gbc, g1, gb1, g2, gb2, gs, gbs, gv, gbv, g_column @ ..] = g else {
            return;
        };
        let rows = d_values.len();
        let (wv_pooled, wv_context) = w[8].split_at(h);
        let (gv_pooled, gv_context) = gv.split_at_mut(h);
        tape.d_context.resize(rows * h, 0.0);
        // The value's inputs: the pooled rows (whose gradient reaches each present candidate
        // divided by their count, kept in d_pooled) and the context.
        tape.d_pooled.resize(rows * h, 0.0);
        add_rows(simd, Some(d_values), &tape.pooled, gv_pooled);
        add_rows(simd, Some(d_values), &tape.context, gv_context);
        gbv[0] += d_values.iter().sum::<f32>();
        let per_row = tape.counts.iter().zip(d_values).zip(
            tape.d_pooled
                .chunks_exact_mut(h)
                .zip(tape.d_context.chunks_exact_mut(h)),
        );
        for ((&count, &d_value), (d_pooled, d_c)) in per_row {
            scaled(d_value / count, wv_pooled, d_pooled);
            scaled(d_value, wv_context, d_c);
        }

        let w2t = transpose(&w[4], h, h);
        let f = p.entity_features;
        let mut features = Vec::with_capacity(TILE);
        if let (Some(columns), [g_column, ..]) = (self.columns, g_column) {
            let groups = rows * columns;
            self.column_gradients(simd, w, obs, tape, d_out, groups, g_column, &mut features);
        }
        for tile in tiles(tape.owner.len()) {
            self.hidden_layers(simd, w, obs, tape, tile.clone(), &mut features);
            let n = tile.len();
            let Tape {
                hidden1,
                hidden2,
                owner,
                slot,
                group,
                d1,
                d2,
                d_scores,
                d_context,
                d_pooled,
                d_column,
                ..
            } = &mut *tape;
            let (owner, slot, group) = (&owner[tile.clone()], &slot[tile.clone()], &group[tile]);
            d1.resize(n * h, 0.0);
            d2.resize(n * h, 0.0);
            d_scores.clear();
            d_scores.extend(slot.iter().map(|&slot| d_out[slot]));
            add_rows(simd, Some(d_scores), hidden2, gs);
            gbs[0] += d_scores.iter().sum::<f32>();
            // d2 = d_scores (a column) times ws (a row), plus the pooled rows' gradient of each
            // candidate's observation, through the ReLU; d1 = d2 W2^T through the first ReLU.
            let narrow = narrow::Gradients {
                d_scores,
                owner,
                d_pooled,
                ws: &w[6],
                w2t: &w2t,
                h1: hidden1,
                h2: hidden2,
            };
            if self.columns.is_some() || !narrow::gradients(simd, &narrow, d2, d1) {
                second_layer_gradient(simd, &w[6], d_scores, d_pooled, owner, hidden2, d2);
                // With column pooling, each candidate's column passes back its share of the
                // gradient of the column's mean.
                let from_column = match self.columns {
                    Some(_) => Start::RowBias(d_column, group),
                    None => Start::Zero,
                };
                let back = Shape { m: n, n: h, p: h };
                let through = Finish::ThroughRelu(hidden1);
                product(simd, back, Lhs::Rows(d2, h), &w2t, d1, from_column, through);
            }
            let weights_of = |p| Shape { m: p, n: h, p: n };
            let (sum, keep) = (Start::Accumulate, Finish::Keep);
            product(
                simd,
                weights_of(h),
                Lhs::Columns(hidden1, h),
                d2,
                g2,
                sum,
                keep,
            );
            add_rows(simd, None, d2, gb2);
            let x_t = Lhs::ColumnRefs(&features);
            product(simd, weights_of(f), x_t, d1, g1, sum, keep);
            add_rows(simd, None, d1, gb1);
            for (b, run) in runs(owner) {
                let d_c = &mut d_context[b * h..(b + 1) * h];
                add_rows(simd, None, &d1[run.start * h..run.end * h], d_c);
            }
        }

        through_relu(&tape.context, &mut tape.d_context);
        let global = Shape {
            m: p.global_len,
            n: h,
            p: rows,
        };
        let (sum, keep) = (Start::Accumulate, Finish::Keep);
        product(
            simd,
            global,
            Lhs::ColumnRefs(obs),
            &tape.d_context,
            gc,
            sum,
            keep,
        );
        add_rows(simd, None, &tape.d_context, gbc);
    }
}

impl Entity {
    /// Column pooling, before the backward pass's main loop: adds `Wg`'s gradient to
    /// `g_column` and puts in `tape.d_column` the gradient each present candidate's first layer
    /// receives through its column's mean (`groups` rows), from the second layers' gradients
    /// of every tile.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn column_gradients<'o, S: Simd>(
        &self,
        simd: S,
        w: &[Vec<f32>],
        obs: &[&'o [f32]],
        tape: &mut Tape,
        d_out: &[f32],
        groups: usize,
        g_column: &mut [f32],
        features: &mut Vec<&'o [f32]>,
    ) {
        let h = self.hidden;
        tape.d_column_sum.clear();
        tape.d_column_sum.resize(groups * h, 0.0);
        for tile in tiles(tape.owner.len()) {
            self.hidden_layers(simd, w, obs, tape, tile.clone(), features);
            let Tape {
                hidden2,
                owner,
                slot,
                group,
                d2,
                d_scores,
                d_pooled,
                d_column_sum,
                ..
            } = &mut *tape;
            let (owner, group) = (&owner[tile.clone()], &group[tile.clone()]);
            d2.resize(tile.len() * h, 0.0);
            d_scores.clear();
            d_scores.extend(slot[tile].iter().map(|&slot| d_out[slot]));
            second_layer_gradient(simd, &w[6], d_scores, d_pooled, owner, hidden2, d2);
            for (row, &g) in d2.chunks_exact(h).zip(group) {
                add_rows(simd, None, row, &mut d_column_sum[g * h..(g + 1) * h]);
            }
        }
        let (sum, keep) = (Start::Accumulate, Finish::Keep);
        let weights = Shape {
            m: h,
            n: h,
            p: groups,
        };
        let means = Lhs::Columns(&tape.column_mean, h);
        product(
            simd,
            weights,
            means,
            &tape.d_column_sum,
            g_column,
            sum,
            keep,
        );
        // The gradient of a column's mean, shared out over its members.
        let wgt = transpose(&w[10], h, h);
        let back = Shape {
            m: groups,
            n: h,
            p: h,
        };
        let column_sums = Lhs::Rows(&tape.d_column_sum, h);
        tape.d_column.resize(groups * h, 0.0);
        product(
            simd,
            back,
            column_sums,
            &wgt,
            &mut tape.d_column,
            Start::Zero,
            keep,
        );
        for (d, &count) in tape.d_column.chunks_exact_mut(h).zip(&tape.column_count) {
            d.iter_mut().for_each(|v| *v /= count.max(1.0));
        }
    }
}

/// `d2`, the gradient of a tile's second layer (before its ReLU, whose outputs were
/// `hidden2`): `d_scores` (a column) times `ws` (a row) plus the pooled rows' gradient of each
/// candidate's observation (`d_pooled` row `owner[i]`), through the ReLU.
#[inline(always)]
fn second_layer_gradient<S: Simd>(
    simd: S,
    ws: &[f32],
    d_scores: &[f32],
    d_pooled: &[f32],
    owner: &[usize],
    hidden2: &[f32],
    d2: &mut [f32],
) {
    let shape = Shape {
        m: owner.len(),
        n: ws.len(),
        p: 1,
    };
    let from_value = Start::RowBias(d_pooled, owner);
    let through = Finish::ThroughRelu(hidden2);
    product(
        simd,
        shape,
        Lhs::Rows(d_scores, 1),
        ws,
        d2,
        from_value,
        through,
    );
}

/// The runs of equal values in `owner` (present candidates are listed observation by
/// observation): each run's observation and its candidates' positions.
fn runs(owner: &[usize]) -> impl Iterator<Item = (usize, Range<usize>)> {
    owner.chunk_by(|a, b| a == b).scan(0, |at, run| {
        let from = *at;
        *at += run.len();
        Some((run[0], from..*at))
    })
}

/// `0..n` in tiles of `TILE` (the last one shorter).
fn tiles(n: usize) -> impl Iterator<Item = Range<usize>> {
    (0..n)
        .step_by(TILE)
        .map(move |from| from..(from + TILE).min(n))
}
