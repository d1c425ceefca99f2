//! Row operations of the fused passes, generic over pulp's SIMD levels. Every function is
//! `#[inline(always)]`: they are only fast when inlined into a pass that pulp compiled for the
//! machine's instruction set (AVX-512 or AVX2 + FMA on x86-64), and correct but slow otherwise.

use pulp::Simd;

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

/// The gradient through a ReLU whose outputs were `h`: zero where the unit was off.
#[inline(always)]
pub(super) fn through_relu(h: &[f32], d: &mut [f32]) {
    d.iter_mut().zip(h).for_each(|(d, h)| {
        if *h <= 0.0 {
            *d = 0.0
        }
    });
}

/// `m += bias` on every row of `m`.
#[inline(always)]
pub(super) fn add_bias(m: &mut [f32], bias: &[f32]) {
    for row in m.chunks_exact_mut(bias.len().max(1)) {
        add(bias, row);
    }
}

/// `sums += sum_k weights[k] * row k of m` (every weight 1 without `weights`), the rows of `m`
/// as long as `sums`. Four rows are in flight in separate accumulators, so that consecutive
/// rows do not wait on each other's additions.
#[inline(always)]
pub(super) fn add_rows<S: Simd>(simd: S, weights: Option<&[f32]>, m: &[f32], sums: &mut [f32]) {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let width = sums.len();
    let rows = m.len() / width.max(1);
    let zero = simd.splat_f32s(0.0);
    let mut from = 0;
    while from < width {
        let to = (from + lanes).min(width);
        let mut acc = [zero; 4];
        let mut k = 0;
        while k + 4 <= rows {
            for (r, acc) in acc.iter_mut().enumerate() {
                let row = (k + r) * width;
                let x = load(simd, &m[row + from..row + to], lanes);
                *acc = simd.mul_add_f32s(simd.splat_f32s(weight(weights, k + r)), x, *acc);
            }
            k += 4;
        }
        while k < rows {
            let x = load(simd, &m[k * width + from..k * width + to], lanes);
            acc[0] = simd.mul_add_f32s(simd.splat_f32s(weight(weights, k)), x, acc[0]);
            k += 1;
        }
        let total = simd.add_f32s(simd.add_f32s(acc[0], acc[1]), simd.add_f32s(acc[2], acc[3]));
        let out = &mut sums[from..to];
        let total = simd.add_f32s(total, load(simd, out, lanes));
        store(simd, out, total);
        from = to;
    }
}

#[inline(always)]
fn weight(weights: Option<&[f32]>, k: usize) -> f32 {
    match weights {
        Some(w) => w[k],
        None => 1.0,
    }
}

/// The first `values.len()` lanes of a vector (the others 0).
#[inline(always)]
pub(super) fn load<S: Simd>(simd: S, values: &[f32], lanes: usize) -> S::f32s {
    match S::as_simd_f32s(values).0.first() {
        Some(v) if values.len() == lanes => *v,
        _ => simd.partial_load_f32s(values),
    }
}

/// Stores the first `out.len()` lanes of `v`.
#[inline(always)]
pub(super) fn store<S: Simd>(simd: S, out: &mut [f32], v: S::f32s) {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    if out.len() == lanes {
        if let Some(slot) = S::as_mut_simd_f32s(out).0.first_mut() {
            *slot = v;
        }
    } else {
        simd.partial_store_f32s(out, v);
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
