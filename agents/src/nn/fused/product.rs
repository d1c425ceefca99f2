//! The matrix product of the fused passes, `C (+)= A B`, with a register-blocked inner kernel:
//! four rows of C (eight with AVX-512) by two SIMD vectors of columns are held in registers
//! while the shared dimension runs, so each step does 8 (16) fused multiply-adds for 6 (10)
//! loads and no store. Rows of layer activations are short (16-128 units): what matters is that
//! no partial sum goes back to memory, which is what bounded a row-at-a-time product (one axpy
//! per input) below burn's gemm.
//!
//! A is read through strides, so the same kernel computes `X W` (A = X), `X^T dY` (A = X read
//! down its columns) and `dY W^T` (B = W transposed once per pass).

use pulp::Simd;

/// A matrix read as `A(i, q) = data[i * row + q * col]`.
#[derive(Clone, Copy)]
pub(super) struct Strided<'a> {
    pub data: &'a [f32],
    pub row: usize,
    pub col: usize,
}

impl<'a> Strided<'a> {
    /// A row-major matrix with rows `width` apart.
    pub fn rows(data: &'a [f32], width: usize) -> Self {
        Self {
            data,
            row: width,
            col: 1,
        }
    }

    /// The transpose of a row-major matrix with rows `width` apart.
    pub fn transposed(data: &'a [f32], width: usize) -> Self {
        Self {
            data,
            row: 1,
            col: width,
        }
    }
}

/// The shape of `C [m, n] = A [m, p] B [p, n]`.
#[derive(Clone, Copy)]
pub(super) struct Shape {
    pub m: usize,
    pub n: usize,
    pub p: usize,
}

/// Floats of B one pass of the kernel keeps in the core's first-level cache (16 KiB).
const B_BLOCK: usize = 4096;

/// `C = A B` (or `C += A B` with `accumulate`), B and C row-major with rows `n` apart. The
/// shared dimension runs in chunks whose rows of B stay in cache while every block of C reads
/// them: a weight gradient sums over thousands of rows, which streamed from memory once per
/// block without the chunks.
#[inline(always)]
pub(super) fn product<S: Simd>(
    simd: S,
    shape: Shape,
    a: Strided,
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let chunk = (B_BLOCK / shape.n.max(1)).max(16);
    // Eight rows with 16-lane vectors, four with 8: enough accumulators in flight to cover the
    // multiply-add latency, few enough to stay in registers.
    let tall = if lanes >= 16 { 8 } else { 4 };
    let mut q = 0;
    loop {
        let shared = q..(q + chunk).min(shape.p);
        let add = accumulate || q > 0;
        let mut i = 0;
        while i < shape.m {
            let rows = if i + tall <= shape.m { tall } else { 1 };
            let mut j = 0;
            while j < shape.n {
                let width = (shape.n - j).min(2 * lanes);
                let at = (i, j, width);
                let range = shared.clone();
                match (rows, width > lanes) {
                    (8, true) => block::<S, 8, 2>(simd, shape, a, b, c, at, range, add),
                    (8, false) => block::<S, 8, 1>(simd, shape, a, b, c, at, range, add),
                    (4, true) => block::<S, 4, 2>(simd, shape, a, b, c, at, range, add),
                    (4, false) => block::<S, 4, 1>(simd, shape, a, b, c, at, range, add),
                    (_, true) => block::<S, 1, 2>(simd, shape, a, b, c, at, range, add),
                    (_, false) => block::<S, 1, 1>(simd, shape, a, b, c, at, range, add),
                }
                j += width;
            }
            i += rows;
        }
        q = shared.end;
        if q >= shape.p {
            break;
        }
    }
}

/// `R` rows from `i` by `width` columns from `j` (`V` vectors, the last one possibly partial),
/// over the `shared` part of the shared dimension.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block<S: Simd, const R: usize, const V: usize>(
    simd: S,
    shape: Shape,
    a: Strided,
    b: &[f32],
    c: &mut [f32],
    (i, j, width): (usize, usize, usize),
    shared: std::ops::Range<usize>,
    accumulate: bool,
) {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    // Where each vector's columns start and end (closures would not inline into the SIMD code).
    let mut parts = [(0, 0); V];
    for (v, part) in parts.iter_mut().enumerate() {
        *part = (v * lanes, ((v + 1) * lanes).min(width));
    }
    let zero = simd.splat_f32s(0.0);
    let mut acc = [[zero; V]; R];
    for q in shared {
        let row = &b[q * shape.n + j..q * shape.n + j + width];
        let mut bv = [zero; V];
        for (bv, &(from, to)) in bv.iter_mut().zip(&parts) {
            *bv = load(simd, &row[from..to], lanes);
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = simd.splat_f32s(a.data[(i + r) * a.row + q * a.col]);
            for (acc, bv) in acc.iter_mut().zip(bv) {
                *acc = simd.mul_add_f32s(x, bv, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let at = (i + r) * shape.n + j;
        let out = &mut c[at..at + width];
        for (acc, &(from, to)) in acc.iter().zip(&parts) {
            store(simd, &mut out[from..to], *acc, accumulate);
        }
    }
}

#[inline(always)]
fn load<S: Simd>(simd: S, values: &[f32], lanes: usize) -> S::f32s {
    match S::as_simd_f32s(values).0.first() {
        Some(v) if values.len() == lanes => *v,
        _ => simd.partial_load_f32s(values),
    }
}

#[inline(always)]
fn store<S: Simd>(simd: S, out: &mut [f32], v: S::f32s, accumulate: bool) {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let v = if accumulate {
        simd.add_f32s(v, load(simd, out, lanes))
    } else {
        v
    };
    if out.len() == lanes {
        if let Some(slot) = S::as_mut_simd_f32s(out).0.first_mut() {
            *slot = v;
        }
    } else {
        simd.partial_store_f32s(out, v);
    }
}
