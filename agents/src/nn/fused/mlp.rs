//! `MlpActorCritic` by hand: `h1 = relu(x W1 + b1)`, `h2 = relu(h1 W2 + b2)`, action
//! parameters `h2 Wp + bp`, value `h2 . wv + bv`. Parameters in `params::read` order:
//! W1, b1, W2, b2, Wp, bp, wv, bv.

use super::Tape;
use super::product::{Shape, Strided, product};
use super::rows::{add_bias, add_rows, axpy, dot, through_relu, transpose};
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
        tape.x.clear();
        obs.iter().for_each(|row| tape.x.extend_from_slice(row));
        tape.hidden1.resize(rows * hidden, 0.0);
        tape.hidden2.resize(rows * hidden, 0.0);
        let x = Strided::rows(&tape.x, inputs);
        product(simd, layer(inputs), x, &w[0], &mut tape.hidden1, false);
        add_bias(&mut tape.hidden1, &w[1], true);
        let h1 = Strided::rows(&tape.hidden1, hidden);
        product(simd, layer(hidden), h1, &w[2], &mut tape.hidden2, false);
        add_bias(&mut tape.hidden2, &w[3], true);
        let h2 = Strided::rows(&tape.hidden2, hidden);
        let shape = Shape {
            m: rows,
            n: outputs,
            p: hidden,
        };
        product(simd, shape, h2, &w[4], out, false);
        add_bias(out, &w[5], false);
        for (value, h2) in values.iter_mut().zip(tape.hidden2.chunks_exact(hidden)) {
            *value = w[7][0] + dot(simd, h2, &w[6]);
        }
    }

    /// Adds to `g` (one vector per parameter) the gradient of `sum(out * d_out) +
    /// sum(values * d_values)`.
    #[inline(always)]
    pub(super) fn backward<S: Simd>(
        &self,
        simd: S,
        w: &[Vec<f32>],
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
            x,
            hidden1,
            hidden2,
            d1,
            d2,
            ..
        } = tape;
        d1.resize(rows * hidden, 0.0);
        d2.resize(rows * hidden, 0.0);
        let weights_of = |p, n| Shape { m: p, n, p: rows };

        let h2 = Strided::transposed(hidden2, hidden);
        product(simd, weights_of(hidden, outputs), h2, d_out, gp, true);
        add_rows(d_out, gbp);
        let wpt = transpose(&w[4], hidden, outputs);
        let shape = Shape {
            m: rows,
            n: hidden,
            p: outputs,
        };
        product(simd, shape, Strided::rows(d_out, outputs), &wpt, d2, false);
        let per_row = d2
            .chunks_exact_mut(hidden)
            .zip(hidden2.chunks_exact(hidden));
        for ((d2, h2), &d_value) in per_row.zip(d_values) {
            axpy(simd, d_value, h2, gv);
            gbv[0] += d_value;
            axpy(simd, d_value, &w[6], d2);
            through_relu(h2, d2);
        }

        let h1 = Strided::transposed(hidden1, hidden);
        product(simd, weights_of(hidden, hidden), h1, d2, g2, true);
        add_rows(d2, gb2);
        let w2t = transpose(&w[2], hidden, hidden);
        let shape = Shape {
            m: rows,
            n: hidden,
            p: hidden,
        };
        product(simd, shape, Strided::rows(d2, hidden), &w2t, d1, false);
        through_relu(hidden1, d1);

        let x = Strided::transposed(x, inputs);
        product(simd, weights_of(inputs, hidden), x, d1, g1, true);
        add_rows(d1, gb1);
    }
}
