//! The matrix product of the fused passes, `C = start + A B`, then `finish`, with a
//! register-blocked inner kernel: four rows of C (eight with AVX-512) by two SIMD vectors of
//! columns are held in registers while the shared dimension runs, so each step does 8 (16)
//! fused multiply-adds for 6 (10) loads and no store. Rows of layer activations are short
//! (16-128 units): what matters is that no partial sum goes back to memory, which is what
//! bounded a row-at-a-time product (one axpy per input) below burn's gemm.
//!
//! A is read in place in any of the layouts the passes need ([`Lhs`]), so the same kernel
//! computes `X W`, `X^T dY` and `dY W^T` without copies, and what a layer does around its
//! product (a bias, a ReLU, the gradient through a ReLU) is done on the registers before they
//! are stored: a separate pass over C for each was most of the time on narrow layers.

use super::rows::{load, store};
use pulp::Simd;
use std::ops::Range;

/// The left operand `A [m, p]`.
#[derive(Clone, Copy)]
pub(super) enum Lhs<'a> {
    /// Row-major with rows `width` apart: `A(i, q) = data[i * width + q]`.
    Rows(&'a [f32], usize),
    /// The transpose of a row-major matrix with rows `width` apart: `A(i, q) = data[q * width + i]`.
    Columns(&'a [f32], usize),
    /// Rows lying anywhere: `A(i, q) = rows[i][q]`.
    RowRefs(&'a [&'a [f32]]),
    /// The transpose of rows lying anywhere: `A(i, q) = rows[q][i]`.
    ColumnRefs(&'a [&'a [f32]]),
}

impl Lhs<'_> {
    /// `A(i, q)` for `q` in `shared` (row layouts).
    #[inline(always)]
    fn row(&self, i: usize, shared: Range<usize>) -> &[f32] {
        match *self {
            Lhs::Rows(data, width) => &data[i * width + shared.start..i * width + shared.end],
            Lhs::RowRefs(rows) => &rows[i][shared],
            Lhs::Columns(..) | Lhs::ColumnRefs(..) => &[],
        }
    }

    /// `A(i + r, q)` for `r` in `0..len` (column layouts).
    #[inline(always)]
    fn column(&self, q: usize, i: usize, len: usize) -> &[f32] {
        match *self {
            Lhs::Columns(data, width) => &data[q * width + i..q * width + i + len],
            Lhs::ColumnRefs(rows) => &rows[q][i..i + len],
            Lhs::Rows(..) | Lhs::RowRefs(..) => &[],
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

/// What C starts from before `A B` is added.
#[derive(Clone, Copy)]
pub(super) enum Start<'a> {
    Zero,
    /// C's own values (`C += A B`).
    Accumulate,
    /// The same row `bias` (`n` long) in every row.
    Bias(&'a [f32]),
    /// Row `i` starts from row `of_row[i]` of `biases` (rows `n` long).
    RowBias(&'a [f32], &'a [usize]),
}

/// What is done to C once `A B` is in.
#[derive(Clone, Copy)]
pub(super) enum Finish<'a> {
    Keep,
    Relu,
    /// The gradient through a ReLU whose outputs were `h` (C's shape): zero where `h <= 0`.
    ThroughRelu(&'a [f32]),
}

/// Floats of B one pass of the kernel keeps in the core's first-level cache (16 KiB).
const B_BLOCK: usize = 4096;

/// `C = start + A B`, then `finish`; B and C row-major with rows `n` apart. The shared
/// dimension runs in chunks whose rows of B stay in cache while every block of C reads them:
/// a weight gradient sums over thousands of rows, which streamed from memory once per block
/// without the chunks.
#[inline(always)]
pub(super) fn product<S: Simd>(
    simd: S,
    shape: Shape,
    a: Lhs,
    b: &[f32],
    c: &mut [f32],
    start: Start,
    finish: Finish,
) {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    // B's rows padded with zeros to whole vectors, so that the kernel's loop loads only whole
    // vectors: a partial load there made the compiler keep the accumulators in memory.
    if shape.n.is_multiple_of(lanes) {
        blocks(simd, shape, a, (b, shape.n), c, start, finish);
    } else {
        let width = shape.n.next_multiple_of(lanes);
        let padded = pad_rows(b, shape.n, width);
        blocks(simd, shape, a, (&padded, width), c, start, finish);
    }
}

/// `product` with B's rows `b_width` apart, a whole number of vectors.
#[inline(always)]
fn blocks<S: Simd>(
    simd: S,
    shape: Shape,
    a: Lhs,
    (b, b_width): (&[f32], usize),
    c: &mut [f32],
    start: Start,
    finish: Finish,
) {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let chunk = (B_BLOCK / shape.n.max(1)).max(16);
    // Eight rows with 16-lane vectors, four with 8: enough accumulators in flight to cover the
    // multiply-add latency, few enough to stay in registers.
    let tall = if lanes >= 16 { 8 } else { 4 };
    let mut q = 0;
    loop {
        let shared = q..(q + chunk).min(shape.p);
        let job = Job {
            shape,
            a,
            b,
            b_width,
            start: if q == 0 { start } else { Start::Accumulate },
            finish: if shared.end >= shape.p {
                finish
            } else {
                Finish::Keep
            },
            shared: shared.clone(),
        };
        let mut i = 0;
        while i < shape.m {
            let rows = if i + tall <= shape.m { tall } else { 1 };
            let mut j = 0;
            while j < shape.n {
                let width = (shape.n - j).min(2 * lanes);
                let at = (i, j, width);
                match (rows, width > lanes) {
                    (8, true) => block::<S, 8, 2>(simd, &job, c, at),
                    (8, false) => block::<S, 8, 1>(simd, &job, c, at),
                    (4, true) => block::<S, 4, 2>(simd, &job, c, at),
                    (4, false) => block::<S, 4, 1>(simd, &job, c, at),
                    (_, true) => block::<S, 1, 2>(simd, &job, c, at),
                    (_, false) => block::<S, 1, 1>(simd, &job, c, at),
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

/// One chunk of the shared dimension of a product.
struct Job<'a> {
    shape: Shape,
    a: Lhs<'a>,
    /// B with rows `b_width` apart, a whole number of vectors.
    b: &'a [f32],
    b_width: usize,
    start: Start<'a>,
    finish: Finish<'a>,
    shared: Range<usize>,
}

/// `R` rows from `i` by `width` columns from `j` (`V` vectors, the last one possibly partial).
#[inline(always)]
fn block<S: Simd, const R: usize, const V: usize>(
    simd: S,
    job: &Job,
    c: &mut [f32],
    (i, j, width): (usize, usize, usize),
) {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let n = job.shape.n;
    // Where each vector's columns start and end (closures would not inline into the SIMD code).
    let mut parts = [(0, 0); V];
    for (v, part) in parts.iter_mut().enumerate() {
        *part = (v * lanes, ((v + 1) * lanes).min(width));
    }
    let zero = simd.splat_f32s(0.0);
    let mut acc = [[zero; V]; R];
    let bw = job.b_width;
    let b_rows = job.b[job.shared.start * bw..job.shared.end * bw].chunks_exact(bw);
    match job.a {
        Lhs::Rows(..) | Lhs::RowRefs(..) => {
            let len = job.shared.len();
            let mut rows: [&[f32]; R] = [&[]; R];
            for (r, row) in rows.iter_mut().enumerate() {
                *row = &job.a.row(i + r, job.shared.clone())[..len];
            }
            for (k, b_row) in b_rows.enumerate() {
                let bv = load_row::<S, V>(simd, &b_row[j..j + V * lanes]);
                for (acc, row) in acc.iter_mut().zip(&rows) {
                    let x = simd.splat_f32s(row[k]);
                    for (acc, bv) in acc.iter_mut().zip(bv) {
                        *acc = simd.mul_add_f32s(x, bv, *acc);
                    }
                }
            }
        }
        Lhs::Columns(..) | Lhs::ColumnRefs(..) => {
            for (q, b_row) in job.shared.clone().zip(b_rows) {
                let bv = load_row::<S, V>(simd, &b_row[j..j + V * lanes]);
                let column = job.a.column(q, i, R);
                for (acc, &x) in acc.iter_mut().zip(column) {
                    let x = simd.splat_f32s(x);
                    for (acc, bv) in acc.iter_mut().zip(bv) {
                        *acc = simd.mul_add_f32s(x, bv, *acc);
                    }
                }
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let at = (i + r) * n + j;
        for (acc, &(from, to)) in acc.iter().zip(&parts) {
            let cols = at + from..at + to;
            let mut v = match job.start {
                Start::Zero => *acc,
                Start::Accumulate => simd.add_f32s(*acc, load(simd, &c[cols.clone()], lanes)),
                Start::Bias(bias) => {
                    simd.add_f32s(*acc, load(simd, &bias[j + from..j + to], lanes))
                }
                Start::RowBias(biases, of_row) => {
                    let row = of_row[i + r] * n + j;
                    simd.add_f32s(*acc, load(simd, &biases[row + from..row + to], lanes))
                }
            };
            v = match job.finish {
                Finish::Keep => v,
                Finish::Relu => simd.max_f32s(v, zero),
                Finish::ThroughRelu(h) => {
                    let on = simd.greater_than_f32s(load(simd, &h[cols.clone()], lanes), zero);
                    simd.select_f32s(on, v, zero)
                }
            };
            store(simd, &mut c[cols], v);
        }
    }
}

/// The `V` whole vectors of `row` (`V` vectors long).
#[inline(always)]
fn load_row<S: Simd, const V: usize>(simd: S, row: &[f32]) -> [S::f32s; V] {
    let lanes = size_of::<S::f32s>() / size_of::<f32>();
    let mut vectors = [simd.splat_f32s(0.0); V];
    for (v, vector) in vectors.iter_mut().enumerate() {
        *vector = S::as_simd_f32s(&row[v * lanes..(v + 1) * lanes]).0[0];
    }
    vectors
}

/// The rows of `b` (`width` long) copied `padded` apart, zeros after each.
fn pad_rows(b: &[f32], width: usize, padded: usize) -> Vec<f32> {
    let mut out = vec![0.0; b.len() / width.max(1) * padded];
    for (to, from) in out
        .chunks_exact_mut(padded)
        .zip(b.chunks_exact(width.max(1)))
    {
        to[..width].copy_from_slice(from);
    }
    out
}
