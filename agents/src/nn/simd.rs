//! SIMD helpers shared by the hand-written passes (`fused`) and the categorical head
//! (`categorical`): running an operation compiled for the machine's best instruction set, and
//! `exp` on whole vectors.

use pulp::{Arch, Simd, WithSimd};

/// Runs `op` compiled for the best SIMD level of this machine: AVX-512, else AVX2 + FMA (pulp's
/// own `Arch` has AVX2 only with its default features, which burn's gemm turns off), else
/// what `Arch` finds.
pub(crate) fn dispatch<Op: WithSimd>(op: Op) -> Op::Output {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V4::try_new() {
        return Simd::vectorize(simd, op);
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        return Simd::vectorize(simd, op);
    }
    Arch::new().dispatch(op)
}

/// Below this, `exp` returns 0: the result would be under the smallest normal f32.
const EXP_UNDERFLOW: f32 = -87.336_54;
/// Above this, `exp` returns infinity.
const EXP_OVERFLOW: f32 = 88.722_83;

/// `e^x` lane by lane, within 2 ulp of `f32::exp` for normal results (Cephes' `expf`: `x = n ln 2
/// + r` with `|r| <= ln 2 / 2`, a degree-7 polynomial for `e^r`, `2^n` put in the exponent): 0
/// below `EXP_UNDERFLOW` (where `f32::exp` gives subnormals), infinity above `EXP_OVERFLOW`, NaN
/// for NaN. Sixteen lanes at once with AVX-512, against one with the scalar `exp`.
#[inline(always)]
pub(crate) fn exp<S: Simd>(simd: S, x: S::f32s) -> S::f32s {
    // 1.5 x 2^23: adding it rounds to an integer, held in the low bits of the sum.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const P: [f32; 6] = [
        1.987_569_1e-4,
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ];
    let splat = |v: f32| simd.splat_f32s(v);
    let clamped = simd.min_f32s(simd.max_f32s(x, splat(EXP_UNDERFLOW)), splat(EXP_OVERFLOW));
    let shifted = simd.mul_add_f32s(clamped, splat(std::f32::consts::LOG2_E), splat(ROUND));
    let n = simd.sub_f32s(shifted, splat(ROUND));
    let r = simd.negate_mul_add_f32s(n, splat(LN2_HI), clamped);
    let r = simd.negate_mul_add_f32s(n, splat(LN2_LO), r);
    let poly = P[1..]
        .iter()
        .fold(splat(P[0]), |acc, &c| simd.mul_add_f32s(acc, r, splat(c)));
    let r2 = simd.mul_f32s(r, r);
    let e_r = simd.add_f32s(simd.mul_add_f32s(poly, r2, r), splat(1.0));
    // 2^n: n + 127 in the exponent field. n is in [-126, 128]; 2^128 overflows to infinity,
    // which is what x above EXP_OVERFLOW's n gives (multiplying by e^r < 2 keeps it so).
    let n_bits = simd.sub_u32s(
        simd.transmute_u32s_f32s(shifted),
        simd.transmute_u32s_f32s(splat(ROUND)),
    );
    let biased = simd.add_u32s(n_bits, simd.splat_u32s(127));
    let two_n = simd.transmute_f32s_u32s(simd.wrapping_dyn_shl_u32s(biased, simd.splat_u32s(23)));
    let out = simd.mul_f32s(e_r, two_n);
    let out = simd.select_f32s(
        simd.less_than_f32s(x, splat(EXP_UNDERFLOW)),
        splat(0.0),
        out,
    );
    let out = simd.select_f32s(
        simd.greater_than_f32s(x, splat(EXP_OVERFLOW)),
        splat(f32::INFINITY),
        out,
    );
    // NaN fails both comparisons and the clamp; keep it NaN.
    simd.select_f32s(simd.equal_f32s(x, x), out, x)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Exp<'a>(&'a [f32]);

    impl WithSimd for Exp<'_> {
        type Output = Vec<f32>;
        #[inline(always)]
        fn with_simd<S: Simd>(self, simd: S) -> Vec<f32> {
            let lanes = size_of::<S::f32s>() / size_of::<f32>();
            let mut out = Vec::with_capacity(self.0.len());
            for chunk in self.0.chunks(lanes) {
                let mut buffer = chunk.to_vec();
                buffer.resize(lanes, 0.0);
                let v = exp(simd, S::as_simd_f32s(&buffer).0[0]);
                let mut result = vec![0.0; lanes];
                S::as_mut_simd_f32s(&mut result).0[0] = v;
                out.extend_from_slice(&result[..chunk.len()]);
            }
            out
        }
    }

    #[test]
    fn exp_is_within_two_ulp_of_the_scalar_one() {
        let xs: Vec<f32> = (0..=400_000)
            .map(|i| -88.0 + 176.0 * i as f32 / 400_000.0)
            .collect();
        let ours = dispatch(Exp(&xs));
        for (x, e) in xs.iter().zip(&ours) {
            let want = x.exp();
            if want < f32::MIN_POSITIVE {
                assert_eq!(*e, 0.0, "exp({x})");
                continue;
            }
            let ulp = (want.to_bits() as i64 - e.to_bits() as i64).abs();
            assert!(
                ulp <= 2 || e.is_infinite() && want.is_infinite(),
                "exp({x}): {e} vs {want}"
            );
        }
        let special = [
            0.0,
            -0.0,
            1.0,
            -1e9,
            1e9,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NAN,
        ];
        let got = dispatch(Exp(&special));
        assert_eq!(
            &got[..7],
            &[
                1.0,
                1.0,
                std::f32::consts::E,
                0.0,
                f32::INFINITY,
                0.0,
                f32::INFINITY
            ]
        );
        assert!(got[7].is_nan());
    }
}
