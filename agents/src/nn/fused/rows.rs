//! Row operations of the fused passes, generic over pulp's SIMD levels. Every function is
//! `#[inline(always)]`: they are only fast when inlined into a pass that pulp compiled for the
//! machine's instruction set (AVX-512 or AVX2 + FMA on x86-64), and correct but slow otherwise.

use pulp::Simd;

/// `y += a * x`.
#[inline(always)]
pub(super) fn axpy<S: Simd>(simd: S, a: f32, x: &[f32], y: &mut [f32]) {
    let (xv, xt) = S::as_simd_f32s(x);
    let (yv, yt) = S::as_mut_simd_f32s(y);
    let av = simd.splat_f32s(a);
    for (y, x) in yv.iter_mut().zip(xv) {
        *y = simd.mul_add_f32s(av, *x, *y);
    }
    for (y, x) in yt.iter_mut().zip(xt) {
        *y += a * x;
    }
}

/// `x . y`.
#[inline(always)]
pub(super) fn dot<S: Simd>(simd: S, x: &[f32], y: &[f32]) -> f32 {
    let (xv, xt) = S::as_simd_f32s(x);
    let (yv, yt) = S::as_simd_f32s(y);
    let mut acc = simd.splat_f32s(0.0);
    for (x, y) in xv.iter().zip(yv) {
        acc = simd.mul_add_f32s(*x, *y, acc);
    }
    simd.reduce_sum_f32s(acc) + xt.iter().zip(yt).map(|(x, y)| x * y).sum::<f32>()
}

/// `y += x`.
#[inline(always)]
pub(super) fn add(x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += x);
}

/// `y = a * x`.
#[inline(always)]
pub(super) fn scaled(a: f32, x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y = a * x);
}

/// `y = max(y, 0)`.
#[inline(always)]
pub(super) fn relu(y: &mut [f32]) {
    y.iter_mut().for_each(|y| *y = y.max(0.0));
}

/// The gradient through a ReLU whose outputs were `h`: zero where the unit was off.
#[inline(always)]
pub(super) fn through_relu(h: &[f32], d: &mut [f32]) {
    d.iter_mut().zip(h).for_each(|(d, h)| {
        if *h <= 0.0 {
            *d = 0.0
        }
    });
}

/// `m += bias` on every row of `m`, then, with `relu`, `m = max(m, 0)`.
#[inline(always)]
pub(super) fn add_bias(m: &mut [f32], bias: &[f32], relu_after: bool) {
    for row in m.chunks_exact_mut(bias.len().max(1)) {
        add(bias, row);
        if relu_after {
            relu(row);
        }
    }
}

/// `sums += ` every row of `m` (rows as long as `sums`).
#[inline(always)]
pub(super) fn add_rows(m: &[f32], sums: &mut [f32]) {
    for row in m.chunks_exact(sums.len().max(1)) {
        add(row, sums);
    }
}

/// The transpose of a row-major `[rows, cols]` matrix.
pub(super) fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; rows * cols];
    for (r, row) in w.chunks_exact(cols.max(1)).take(rows).enumerate() {
        for (c, v) in row.iter().enumerate() {
            t[c * rows + r] = *v;
        }
    }
    t
}
