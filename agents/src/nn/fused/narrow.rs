//! The entity scorer's two hidden layers for one tile when a hidden row is one or two SIMD
//! vectors (16 or 32 units with AVX-512): both layers of a group of candidates in one loop,
//! with every weight row loaded into vectors once per tile. The general `product` pays its
//! setup (slicing each row, matching its operand layouts) once per block of rows and layer,
//! which on rows this short cost about as much as the multiply-adds.
//!
//! The arithmetic is `product`'s to the bit: each unit starts from 0, adds `x_k w_k` by fused
//! multiply-adds in order of `k`, then the bias, then the ReLU.

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
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let h = tile.b2.len();
    // As many candidates in flight as `product` keeps rows: enough to hide the multiply-add
    // latency, few enough for the registers.
    match (h / lanes, h % lanes, lanes >= 16) {
        (1, 0, true) => run::<S, 1, 8>(simd, tile, h1, h2),
        (1, 0, false) => run::<S, 1, 4>(simd, tile, h1, h2),
        (2, 0, true) => run::<S, 2, 8>(simd, tile, h1, h2),
        (2, 0, false) => run::<S, 2, 4>(simd, tile, h1, h2),
        _ => return false,
    }
    true
}

#[inline(always)]
fn run<S: Simd, const V: usize, const R: usize>(
    simd: S,
    tile: &Tile,
    h1: &mut [f32],
    h2: &mut [f32],
) {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let h = V * lanes;
    let vectors = |m: &[f32]| -> Vec<[S::f32s; V]> {
        m.chunks_exact(h)
            .map(|row| std::array::from_fn(|v| load(simd, &row[v * lanes..(v + 1) * lanes], lanes)))
            .collect()
    };
    let weights = Loaded::<S, V> {
        w1: vectors(tile.w1),
        w2: vectors(tile.w2),
        b2: vectors(tile.b2)[0],
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
    let mut acc = [[zero; V]; R];
    let first = &h1[i * h..(i + R) * h];
    for (k, w) in w2.iter().enumerate() {
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = simd.splat_f32s(first[r * h + k]);
            for (acc, w) in acc.iter_mut().zip(w) {
                *acc = simd.mul_add_f32s(x, *w, *acc);
            }
        }
    }
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
