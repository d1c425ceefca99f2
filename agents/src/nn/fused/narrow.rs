//! The entity scorer's two hidden layers for one tile when a hidden row is one or two SIMD
//! vectors (16 or 32 units with AVX-512), and in the backward pass their activations'
//! gradients: both layers of a group of candidates in one loop, with every weight row loaded
//! into vectors once per tile. The general `product` pays its
//! setup (slicing each row, matching its operand layouts) once per block of rows and layer,
//! which on rows this short cost about as much as the multiply-adds.
//!
//! The arithmetic is `product`'s to the bit: each unit starts from 0, adds `x_k w_k` by fused
//! multiply-adds in order of `k`, then the bias (or a row of `start`), then the ReLU (or the
//! gradient through it).

use super::rows::{load, store};
use pulp::Simd;

/// One tile's operands: candidate `i`'s features are `features[i]` and its first layer starts
/// from row `owner[i]` of `lifted`.
pub(super) struct Tile<'a> {
    pub features: &'a [&'a [f32]],
    pub owner: &'a [usize],
    pub lifted: &'a [f32],
    /// `[features, hidden]`, `[hidden, hidden]` and `[hidden]`.
    pub w1: &'a [f32],
    pub w2: &'a [f32],
    pub b2: &'a [f32],
}

/// Computes the tile's hidden layers into `h1` and `h2` (`[candidates, hidden]`) and returns
/// true, or returns false (leaving them) when a hidden row is not one or two whole vectors.
#[inline(always)]
pub(super) fn hidden_layers<S: Simd>(simd: S, tile: &Tile, h1: &mut [f32], h2: &mut [f32]) -> bool {
    narrow(simd, tile.b2.len(), Forward { tile, h1, h2 })
}

/// A pass over a tile, compiled for `V` vectors per hidden row and `R` candidates in flight.
trait Pass {
    fn run<S: Simd, const V: usize, const R: usize>(self, simd: S);
}

/// Runs `pass` for hidden rows of `h` units and returns true, or returns false when a row is
/// not one or two whole vectors.
#[inline(always)]
fn narrow<S: Simd>(simd: S, h: usize, pass: impl Pass) -> bool {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    // As many candidates in flight as `product` keeps rows: enough to hide the multiply-add
    // latency, few enough for the registers.
    match (h / lanes, h % lanes, lanes >= 16) {
        (1, 0, true) => pass.run::<S, 1, 8>(simd),
        (1, 0, false) => pass.run::<S, 1, 4>(simd),
        (2, 0, true) => pass.run::<S, 2, 8>(simd),
        (2, 0, false) => pass.run::<S, 2, 4>(simd),
        _ => return false,
    }
    true
}

/// The rows of `m` (`V` vectors long) as vectors.
#[inline(always)]
fn vectors<S: Simd, const V: usize>(simd: S, m: &[f32]) -> Vec<[S::f32s; V]> {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    m.chunks_exact(V * lanes)
        .map(|row| std::array::from_fn(|v| load(simd, &row[v * lanes..][..lanes], lanes)))
        .collect()
}

struct Forward<'t, 'a> {
    tile: &'t Tile<'a>,
    h1: &'t mut [f32],
    h2: &'t mut [f32],
}

impl Pass for Forward<'_, '_> {
    #[inline(always)]
    fn run<S: Simd, const V: usize, const R: usize>(self, simd: S) {
        let Forward { tile, h1, h2 } = self;
        let weights = Loaded::<S, V> {
            w1: vectors(simd, tile.w1),
            w2: vectors(simd, tile.w2),
            b2: vectors(simd, tile.b2)[0],
        };
        let n = tile.owner.len();
        let mut i = 0;
        while i < n {
            if i + R <= n {
                group::<S, V, R>(simd, tile, &weights, i, h1, h2);
                i += R;
            } else {
                group::<S, V, 1>(simd, tile, &weights, i, h1, h2);
                i += 1;
            }
        }
    }
}

/// A tile's weights as vectors, `V` per row.
struct Loaded<S: Simd, const V: usize> {
    w1: Vec<[S::f32s; V]>,
    w2: Vec<[S::f32s; V]>,
    b2: [S::f32s; V],
}

/// Candidates `i..i + R` through both layers.
#[inline(always)]
fn group<S: Simd, const V: usize, const R: usize>(
    simd: S,
    tile: &Tile,
    weights: &Loaded<S, V>,
    i: usize,
    h1: &mut [f32],
    h2: &mut [f32],
) {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let h = V * lanes;
    let Loaded { w1, w2, b2 } = weights;
    let zero = simd.splat_f32s(0.0);
    // The first layer reads each candidate's features where they lie in its observation.
    let mut acc = [[zero; V]; R];
    let features: [&[f32]; R] = std::array::from_fn(|r| tile.features[i + r]);
    for (k, w) in w1.iter().enumerate() {
        for (acc, x) in acc.iter_mut().zip(&features) {
            let x = simd.splat_f32s(x[k]);
            for (acc, w) in acc.iter_mut().zip(w) {
                *acc = simd.mul_add_f32s(x, *w, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let bias = &tile.lifted[tile.owner[i + r] * h..][..h];
        let out = &mut h1[(i + r) * h..][..h];
        for (v, acc) in acc.iter().enumerate() {
            let cols = v * lanes..(v + 1) * lanes;
            let x = simd.add_f32s(*acc, load(simd, &bias[cols.clone()], lanes));
            store(simd, &mut out[cols], simd.max_f32s(x, zero));
        }
    }
    let acc = times::<S, V, R>(simd, &h1[i * h..(i + R) * h], h, w2);
    for (r, acc) in acc.iter().enumerate() {
        let out = &mut h2[(i + r) * h..][..h];
        for (v, (acc, b)) in acc.iter().zip(b2).enumerate() {
            let x = simd.add_f32s(*acc, *b);
            store(
                simd,
                &mut out[v * lanes..(v + 1) * lanes],
                simd.max_f32s(x, zero),
            );
        }
    }
}

/// One tile's backward operands: candidate `i`'s score gradient `d_scores[i]`, its pooled
/// rows' gradient row `owner[i]` of `d_pooled`, its hidden layers rows `i` of `h1` and `h2`.
pub(super) struct Gradients<'a> {
    pub d_scores: &'a [f32],
    pub owner: &'a [usize],
    pub d_pooled: &'a [f32],
    /// `[hidden]` and the transpose of W2, `[hidden, hidden]`.
    pub ws: &'a [f32],
    pub w2t: &'a [f32],
    pub h1: &'a [f32],
    pub h2: &'a [f32],
}

/// Computes `d2 = (d_score ws + d_pooled row) through h2's ReLU` and `d1 = d2 W2^T through h1's
/// ReLU` for every candidate of the tile and returns true, or returns false (leaving them)
/// when a hidden row is not one or two whole vectors.
#[inline(always)]
pub(super) fn gradients<S: Simd>(
    simd: S,
    tile: &Gradients,
    d2: &mut [f32],
    d1: &mut [f32],
) -> bool {
    narrow(simd, tile.ws.len(), Backward { tile, d2, d1 })
}

struct Backward<'t, 'a> {
    tile: &'t Gradients<'a>,
    d2: &'t mut [f32],
    d1: &'t mut [f32],
}

impl Pass for Backward<'_, '_> {
    #[inline(always)]
    fn run<S: Simd, const V: usize, const R: usize>(self, simd: S) {
        let Backward { tile, d2, d1 } = self;
        let lanes = size_of::<S::f32s>() / size_of::<f32>();
        let h = V * lanes;
        let ws: [S::f32s; V] = vectors(simd, tile.ws)[0];
        let w2t: Vec<[S::f32s; V]> = vectors(simd, tile.w2t);
        let zero = simd.splat_f32s(0.0);
        let rows = d2
            .chunks_exact_mut(h)
            .zip(tile.h2.chunks_exact(h))
            .zip(tile.d_scores.iter().zip(tile.owner));
        for ((d2, h2), (&d_score, &owner)) in rows {
            let start = &tile.d_pooled[owner * h..][..h];
            let d_score = simd.splat_f32s(d_score);
            for (v, ws) in ws.iter().enumerate() {
                let cols = v * lanes..(v + 1) * lanes;
                let x = simd.mul_add_f32s(d_score, *ws, zero);
                let x = simd.add_f32s(x, load(simd, &start[cols.clone()], lanes));
                store(simd, &mut d2[cols.clone()], through(simd, x, &h2[cols]));
            }
        }
        let n = tile.owner.len();
        let mut i = 0;
        while i < n {
            if i + R <= n {
                back_group::<S, V, R>(simd, &w2t, i, d2, tile.h1, d1);
                i += R;
            } else {
                back_group::<S, V, 1>(simd, &w2t, i, d2, tile.h1, d1);
                i += 1;
            }
        }
    }
}

/// `R` rows lying `stride` apart in `rows` (row `r`'s `k`-th value at `rows[r * stride + k]`)
/// times the matrix whose rows are `w`, `V` vectors each: every unit starts from 0 and adds
/// `rows[r * stride + k] w_k` by fused multiply-adds in order of `k`, as `product` does.
#[inline(always)]
fn times<S: Simd, const V: usize, const R: usize>(
    simd: S,
    rows: &[f32],
    stride: usize,
    w: &[[S::f32s; V]],
) -> [[S::f32s; V]; R] {
    let mut acc = [[simd.splat_f32s(0.0); V]; R];
    for (k, w) in w.iter().enumerate() {
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = simd.splat_f32s(rows[r * stride + k]);
            for (acc, w) in acc.iter_mut().zip(w) {
                *acc = simd.mul_add_f32s(x, *w, *acc);
            }
        }
    }
    acc
}

/// `x` through a ReLU whose output was `h`: zero where it was off.
#[inline(always)]
fn through<S: Simd>(simd: S, x: S::f32s, h: &[f32]) -> S::f32s {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let zero = simd.splat_f32s(0.0);
    simd.select_f32s(simd.greater_than_f32s(load(simd, h, lanes), zero), x, zero)
}

/// `d1 = d2 W2^T` through h1's ReLU for candidates `i..i + R`.
#[inline(always)]
fn back_group<S: Simd, const V: usize, const R: usize>(
    simd: S,
    w2t: &[[S::f32s; V]],
    i: usize,
    d2: &[f32],
    h1: &[f32],
    d1: &mut [f32],
) {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let h = V * lanes;
    let acc = times::<S, V, R>(simd, &d2[i * h..(i + R) * h], h, w2t);
    for (r, acc) in acc.iter().enumerate() {
        for (v, acc) in acc.iter().enumerate() {
            let cols = (i + r) * h + v * lanes..(i + r) * h + (v + 1) * lanes;
            store(simd, &mut d1[cols.clone()], through(simd, *acc, &h1[cols]));
        }
    }
}
