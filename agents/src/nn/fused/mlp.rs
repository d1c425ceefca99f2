//! `MlpActorCritic` by hand: `h1 = relu(x W1 + b1)`, `h2 = relu(h1 W2 + b2)`, action
//! parameters `h2 Wp + bp`, value `h2 . wv + bv`. Parameters in `params::read` order:
//! W1, b1, W2, b2, Wp, bp, wv, bv.

use super::Tape;
use super::product::{Finish, Lhs, Shape, Start, product};
use super::rows::{add_rows, dot, transpose};
use pulp::Simd;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mlp {
    pub(crate) inputs: usize,
    pub(crate) hidden: usize,
    pub(crate) outputs: usize,
}

impl Mlp {
    /// Fills `out` (`[rows, outputs]`) and `values` (`[rows]`), keeping the hidden layers in
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
        let Self {
            inputs,
            hidden,
            outputs,
        } = *self;
        let rows = values.len();
        let layer = |p| Shape {
            m: rows,
            n: hidden,
            p,
        };
        tape.hidden1.resize(rows * hidden, 0.0);
        tape.hidden2.resize(rows * hidden, 0.0);
        let (first, relu) = (Start::Bias(&w[1]), Finish::Relu);
        product(
            simd,
            layer(inputs),
            Lhs::RowRefs(obs),
            &w[0],
            &mut tape.hidden1,
            first,
            relu,
        );
        let h1 = Lhs::Rows(&tape.hidden1, hidden);
        let second = Start::Bias(&w[3]);
        product(
            simd,
            layer(hidden),
            h1,
            &w[2],
            &mut tape.hidden2,
            second,
            relu,
        );
        let h2 = Lhs::Rows(&tape.hidden2, hidden);
        let shape = Shape {
            m: rows,
            n: outputs,
            p: hidden,
        };
        product(
            simd,
            shape,
            h2,
            &w[4],
            out,
            Start::Bias(&w[5]),
            Finish::Keep,
        );
        for (value, h2) in values.iter_mut().zip(tape.hidden2.chunks_exact(hidden)) {
            *value = w[7][0] + dot(simd, h2, &w[6]);
        }
    }

    /// Adds to `g` (one vector per parameter) the gradient of `sum(out * d_out) +
    /// sum(values * d_values)`, for the tape of the forward pass over `obs`.
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
        let Self {
            inputs,
            hidden,
            outputs,
        } = *self;
        let [g1, gb1, g2, gb2, gp, gbp, gv, gbv] = g else {
            return;
        };
        let rows = d_values.len();
        let Tape {
            hidden1,
            hidden2,
            d1,
            d2,
            ..
        } = tape;
        d1.resize(rows * hidden, 0.0);
        d2.resize(rows * hidden, 0.0);
        let weights_of = |p, n| Shape { m: p, n, p: rows };
        let (sum, keep) = (Start::Accumulate, Finish::Keep);

        let h2 = Lhs::Columns(hidden2, hidden);
        product(simd, weights_of(hidden, outputs), h2, d_out, gp, sum, keep);
        add_rows(simd, None, d_out, gbp);
        let wpt = transpose(&w[4], hidden, outputs);
        let shape = Shape {
            m: rows,
            n: hidden,
            p: outputs,
        };
        let d_out_rows = Lhs::Rows(d_out, outputs);
        product(simd, shape, d_out_rows, &wpt, d2, Start::Zero, keep);
        add_rows(simd, Some(d_values), hidden2, gv);
        gbv[0] += d_values.iter().sum::<f32>();
        // Plus the value's share, d_values (a column) times wv (a row), through the ReLU.
        let value = Shape { p: 1, ..shape };
        let through = Finish::ThroughRelu(hidden2);
        product(simd, value, Lhs::Rows(d_values, 1), &w[6], d2, sum, through);

        let h1 = Lhs::Columns(hidden1, hidden);
        product(simd, weights_of(hidden, hidden), h1, d2, g2, sum, keep);
        add_rows(simd, None, d2, gb2);
        let w2t = transpose(&w[2], hidden, hidden);
        let shape = Shape {
            m: rows,
            n: hidden,
            p: hidden,
        };
        let through = Finish::ThroughRelu(hidden1);
        product(
            simd,
            shape,
            Lhs::Rows(d2, hidden),
            &w2t,
            d1,
            Start::Zero,
            through,
        );

        let x_t = Lhs::ColumnRefs(obs);
        product(simd, weights_of(inputs, hidden), x_t, d1, g1, sum, keep);
        add_rows(simd, None, d1, gb1);
    }
}
