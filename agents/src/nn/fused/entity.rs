//! `EntityScorer` by hand, on the present candidates only: context `c = relu(g Wc + bc)`;
//! for each present candidate `h1 = relu(x W1 + b1 + c)`, `h2 = relu(h1 W2 + b2)`, score
//! `h2 . ws + bs`; value `[mean of h2, c] . wv + bv`; absent candidates score `MASKED_SCORE`
//! and get no gradient. The present candidates of all the rows are gathered into one matrix,
//! so every layer is one product however sparse the mask. Parameters in `params::read` order:
//! Wc, bc, W1, b1, W2, b2, ws, bs, wv, bv.

use super::Tape;
use super::product::{Shape, Strided, product};
use super::rows::{add, add_bias, add_rows, axpy, dot, relu, scaled, through_relu, transpose};
use crate::nn::models::MASKED_SCORE;
use planetgym_env::features::EntityParts;
use pulp::Simd;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entity {
    pub(crate) parts: EntityParts,
    pub(crate) hidden: usize,
}

impl Entity {
    pub(super) fn obs_len(&self) -> usize {
        self.parts.mask_offset() + self.parts.entities
    }

    /// Fills `out` (`[rows, entities]`) and `values` (`[rows]`), keeping the context, the
    /// mean pooled row and the present candidates (their rows, owners and hidden layers) in
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
        let f = p.entity_features;
        let rows = values.len();
        tape.globals.clear();
        obs.iter()
            .for_each(|row| tape.globals.extend_from_slice(&row[..p.global_len]));
        tape.context.resize(rows * h, 0.0);
        let global = Shape {
            m: rows,
            n: h,
            p: p.global_len,
        };
        let globals = Strided::rows(&tape.globals, p.global_len);
        product(simd, global, globals, &w[0], &mut tape.context, false);
        add_bias(&mut tape.context, &w[1], true);

        tape.x.clear();
        tape.owner.clear();
        tape.slot.clear();
        for (b, (obs, scores)) in obs.iter().zip(out.chunks_exact_mut(p.entities)).enumerate() {
            let entities = &obs[p.entities_offset()..p.mask_offset()];
            let present = &obs[p.mask_offset()..];
            for (e, ((x, &present), score)) in entities
                .chunks_exact(f)
                .zip(present)
                .zip(scores.iter_mut())
                .enumerate()
            {
                if present > 0.5 {
                    tape.x.extend_from_slice(x);
                    tape.owner.push(b);
                    tape.slot.push(b * p.entities + e);
                } else {
                    *score = MASKED_SCORE;
                }
            }
        }
        let n = tape.owner.len();
        let layer = |p| Shape { m: n, n: h, p };
        tape.hidden1.resize(n * h, 0.0);
        tape.hidden2.resize(n * h, 0.0);
        product(
            simd,
            layer(f),
            Strided::rows(&tape.x, f),
            &w[2],
            &mut tape.hidden1,
            false,
        );
        for (h1, &b) in tape.hidden1.chunks_exact_mut(h).zip(&tape.owner) {
            add(&w[3], h1);
            add(&tape.context[b * h..(b + 1) * h], h1);
            relu(h1);
        }
        let h1 = Strided::rows(&tape.hidden1, h);
        product(simd, layer(h), h1, &w[4], &mut tape.hidden2, false);
        add_bias(&mut tape.hidden2, &w[5], true);

        tape.pooled.clear();
        tape.pooled.resize(rows * h, 0.0);
        tape.counts.clear();
        tape.counts.resize(rows, 0.0);
        let candidates = tape
            .hidden2
            .chunks_exact(h)
            .zip(&tape.owner)
            .zip(&tape.slot);
        for ((h2, &b), &slot) in candidates {
            out[slot] = w[7][0] + dot(simd, h2, &w[6]);
            add(h2, &mut tape.pooled[b * h..(b + 1) * h]);
            tape.counts[b] += 1.0;
        }
        let (wv_pooled, wv_context) = w[8].split_at(h);
        let per_row = tape
            .pooled
            .chunks_exact_mut(h)
            .zip(tape.context.chunks_exact(h))
            .zip(tape.counts.iter_mut())
            .zip(values.iter_mut());
        for (((pooled, c), count), value) in per_row {
            *count = count.max(1.0);
            pooled.iter_mut().for_each(|v| *v /= *count);
            *value = w[9][0] + dot(simd, pooled, wv_pooled) + dot(simd, c, wv_context);
        }
    }

    /// Adds to `g` (one vector per parameter) the gradient of `sum(out * d_out) +
    /// sum(values * d_values)` (absent candidates' `d_out` ignored).
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
        let (h, p) = (self.hidden, self.parts);
        let [gc, gbc, g1, gb1, g2, gb2, gs, gbs, gv, gbv] = g else {
            return;
        };
        let rows = d_values.len();
        let n = tape.owner.len();
        let Tape {
            hidden1,
            hidden2,
            context,
            pooled,
            counts,
            x,
            globals,
            owner,
            slot,
            d1,
            d2,
            d_context,
            d_pooled,
            ..
        } = tape;
        let (wv_pooled, wv_context) = w[8].split_at(h);
        let (gv_pooled, gv_context) = gv.split_at_mut(h);
        d_context.resize(rows * h, 0.0);
        // The value's inputs: the pooled rows (whose gradient reaches each present candidate
        // divided by their count, kept in d_pooled) and the context.
        d_pooled.resize(rows * h, 0.0);
        let per_row = pooled
            .chunks_exact(h)
            .zip(context.chunks_exact(h))
            .zip(counts.iter())
            .zip(d_values)
            .zip(
                d_pooled
                    .chunks_exact_mut(h)
                    .zip(d_context.chunks_exact_mut(h)),
            );
        for ((((pooled, c), &count), &d_value), (d_pooled, d_c)) in per_row {
            axpy(simd, d_value, pooled, gv_pooled);
            axpy(simd, d_value, c, gv_context);
            gbv[0] += d_value;
            scaled(d_value / count, wv_pooled, d_pooled);
            scaled(d_value, wv_context, d_c);
        }

        d1.resize(n * h, 0.0);
        d2.resize(n * h, 0.0);
        let candidates = d2
            .chunks_exact_mut(h)
            .zip(hidden2.chunks_exact(h))
            .zip(owner.iter().zip(slot.iter()));
        for ((d2, h2), (&b, &slot)) in candidates {
            let d_score = d_out[slot];
            axpy(simd, d_score, h2, gs);
            gbs[0] += d_score;
            d2.copy_from_slice(&d_pooled[b * h..(b + 1) * h]);
            axpy(simd, d_score, &w[6], d2);
            through_relu(h2, d2);
        }
        let weights_of = |p| Shape { m: p, n: h, p: n };
        product(
            simd,
            weights_of(h),
            Strided::transposed(hidden1, h),
            d2,
            g2,
            true,
        );
        add_rows(d2, gb2);
        let w2t = transpose(&w[4], h, h);
        let back = Shape { m: n, n: h, p: h };
        product(simd, back, Strided::rows(d2, h), &w2t, d1, false);
        through_relu(hidden1, d1);
        let f = p.entity_features;
        product(simd, weights_of(f), Strided::transposed(x, f), d1, g1, true);
        add_rows(d1, gb1);

        for (d1, &b) in d1.chunks_exact(h).zip(owner.iter()) {
            add(d1, &mut d_context[b * h..(b + 1) * h]);
        }
        through_relu(context, d_context);
        let global = Shape {
            m: p.global_len,
            n: h,
            p: rows,
        };
        let g_t = Strided::transposed(globals, p.global_len);
        product(simd, global, g_t, d_context, gc, true);
        add_rows(d_context, gbc);
    }
}
