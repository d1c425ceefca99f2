//! Paired comparison of policies on identical episodes.
//!
//! Every policy ran the same episode seeds, so the per-episode difference `x_e - y_e` to a
//! reference removes the episodes' own difficulty from the comparison. For each policy this
//! reports the mean difference with a percentile bootstrap 95 % interval, the probability of
//! improvement `P(X > Y)` on a random episode (wins plus half the ties, over episodes) with its
//! interval from the same resamples, the win/tie/loss count, and a verdict after Holm's
//! correction across the policies compared. The p-value is a paired sign-flip randomisation
//! test of "mean difference = 0" (exact up to 16 episodes, from `reps` random sign vectors
//! above): unlike a bootstrap tail it stays honest with few episodes (5 episodes that all agree
//! give p = 1/16, not 1/10,000). Differences within the tie tolerance count as 0 everywhere.

use super::bootstrap::{Interval, percentile_interval, replicate};
use planetgym_env::rng::derive_seed;

/// Two episode values closer than this (relative to the larger magnitude, or absolute below 1)
/// are a tie: identical schedules computed in a different order differ in the last bits.
const TIE_TOLERANCE: f64 = 1e-9;

/// Whether two episode values are a tie (see `TIE_TOLERANCE`).
pub fn tied(a: f64, b: f64) -> bool {
    (a - b).abs() <= TIE_TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

/// The family-wise error rate of the verdicts.
pub const ALPHA: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Higher than the reference, with the Holm-corrected interval excluding 0.
    Higher,
    /// Lower than the reference, likewise.
    Lower,
    NoSignificantDifference,
}

/// One policy against the reference, higher values meaning more of the measured quantity.
#[derive(Debug, Clone, PartialEq)]
pub struct Paired {
    pub episodes: usize,
    /// Mean of `x_e - y_e` and its 95 % interval.
    pub difference: Interval,
    /// `P(X > Y)`, ties counting half, and its 95 % interval.
    pub improvement: Interval,
    pub wins: usize,
    pub ties: usize,
    pub losses: usize,
    /// Two-sided bootstrap p-value of "mean difference = 0", before correction.
    pub p_value: f64,
    /// After Holm's correction across the comparisons made together.
    pub p_holm: f64,
    pub verdict: Verdict,
}

/// Episodes up to which the sign-flip test enumerates every sign vector.
const EXACT_EPISODES: usize = 16;

/// Two-sided sign-flip p-value of `diff` (mean 0 under the null hypothesis that each
/// difference is as likely positive as negative).
fn sign_flip_p_value(diff: &[f64], reps: usize, seed: u64) -> f64 {
    let n = diff.len();
    let observed = diff.iter().sum::<f64>().abs();
    // Relative slack so that a sign vector giving the observed sum in another order counts.
    let at_least = |sum: f64| sum.abs() >= observed * (1.0 - 1e-12);
    if n <= EXACT_EPISODES {
        let vectors = 1u32 << n;
        let extreme = (0..vectors)
            .filter(|signs| {
                let sum: f64 = diff
                    .iter()
                    .enumerate()
                    .map(|(i, d)| if signs >> i & 1 == 1 { -d } else { *d })
                    .sum();
                at_least(sum)
            })
            .count();
        return extreme as f64 / f64::from(vectors);
    }
    let extreme = replicate(reps, derive_seed(seed, &[0x5161]), |rng| {
        let mut sum = 0.0;
        let mut bits = 0u64;
        for (i, d) in diff.iter().enumerate() {
            if i % 64 == 0 {
                bits = rng.next_u64();
            }
            sum += if bits >> (i % 64) & 1 == 1 { -d } else { *d };
        }
        at_least(sum)
    })
    .into_iter()
    .filter(|&e| e)
    .count();
    (extreme + 1) as f64 / (reps + 1) as f64
}

/// Compares `x` with `reference`, episode by episode (same order, same length), from `reps`
/// bootstrap resamples of the episodes. The verdict is set by [`holm`].
pub fn compare(x: &[f64], reference: &[f64], reps: usize, seed: u64) -> Result<Paired, String> {
    if x.len() != reference.len() || x.is_empty() {
        return Err(format!(
            "a paired comparison needs the same episodes on both sides, got {} and {}",
            x.len(),
            reference.len()
        ));
    }
    if reps == 0 {
        return Err("a bootstrap needs at least one resample".into());
    }
    if let Some((e, v)) = x
        .iter()
        .chain(reference)
        .enumerate()
        .find(|(_, v)| !v.is_finite())
    {
        return Err(format!(
            "episode {} has the non-finite value {v}: nothing to compare",
            e % x.len()
        ));
    }
    let n = x.len();
    let diff: Vec<f64> = x
        .iter()
        .zip(reference)
        .map(|(&a, &b)| if tied(a, b) { 0.0 } else { a - b })
        .collect();
    let outcome: Vec<f64> = diff
        .iter()
        .map(|&d| {
            if d == 0.0 {
                0.5
            } else if d > 0.0 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let replicates = replicate(reps, seed, |rng| {
        let (mut d, mut w) = (0.0, 0.0);
        for _ in 0..n {
            let e = rng.below(n);
            d += diff[e];
            w += outcome[e];
        }
        (d / n as f64, w / n as f64)
    });
    let p_value = sign_flip_p_value(&diff, reps, seed);
    let count = |v: f64| outcome.iter().filter(|&&o| o == v).count();
    Ok(Paired {
        episodes: n,
        difference: percentile_interval(
            diff.iter().sum::<f64>() / n as f64,
            replicates.iter().map(|r| r.0).collect(),
        ),
        improvement: percentile_interval(
            outcome.iter().sum::<f64>() / n as f64,
            replicates.iter().map(|r| r.1).collect(),
        ),
        wins: count(1.0),
        ties: count(0.5),
        losses: count(0.0),
        p_value,
        p_holm: p_value,
        verdict: Verdict::NoSignificantDifference,
    })
}

/// Holm's step-down correction across `comparisons` (one family): sets each adjusted p-value
/// (`max` over the smaller ones of `(m - rank) * p`, capped at 1) and the verdict at [`ALPHA`].
pub fn holm(comparisons: &mut [&mut Paired]) {
    let m = comparisons.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| comparisons[a].p_value.total_cmp(&comparisons[b].p_value));
    let mut running = 0.0_f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * comparisons[i].p_value).min(1.0));
        let c = &mut *comparisons[i];
        c.p_holm = running;
        c.verdict = match (running < ALPHA, c.difference.point > 0.0) {
            (false, _) => Verdict::NoSignificantDifference,
            (true, true) => Verdict::Higher,
            (true, false) => Verdict::Lower,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use planetgym_env::rng::Rng;

    #[test]
    fn counts_and_point_estimates() {
        let x = [3.0, 1.0, 2.0, 5.0];
        let y = [1.0, 1.0, 4.0, 2.0];
        let p = compare(&x, &y, 1000, 0).unwrap();
        assert_eq!((p.wins, p.ties, p.losses), (2, 1, 1));
        assert_eq!(p.difference.point, 0.75);
        assert_eq!(p.improvement.point, 0.625);
        assert!(p.difference.low <= 0.75 && 0.75 <= p.difference.high);
        assert!(compare(&x, &y[..3], 10, 0).is_err());
        assert!(compare(&[], &[], 10, 0).is_err());
    }

    #[test]
    fn a_real_shift_is_found_and_noise_is_not() {
        let mut rng = Rng::new(11);
        let y: Vec<f64> = (0..300).map(|_| 10.0 * rng.normal()).collect();
        // Same episodes: a small shift is clear once episode difficulty cancels.
        let better: Vec<f64> = y.iter().map(|v| v + 0.5 + 0.1 * rng.normal()).collect();
        let same: Vec<f64> = y.iter().map(|v| v + rng.normal()).collect();
        let mut a = compare(&better, &y, 10_000, 1).unwrap();
        let mut b = compare(&same, &y, 10_000, 1).unwrap();
        holm(&mut [&mut a, &mut b]);
        assert_eq!(a.verdict, Verdict::Higher);
        assert!(a.difference.excludes(0.0));
        assert_eq!(b.verdict, Verdict::NoSignificantDifference, "{b:?}");
        assert!(b.p_holm >= b.p_value);
    }

    #[test]
    fn few_episodes_cannot_be_significant() {
        // Five episodes that all agree: exactly 2 of the 32 sign vectors are as extreme.
        let p = compare(&[2.0, 3.0, 4.0, 5.0, 6.0], &[0.0; 5], 1000, 0).unwrap();
        assert_eq!(p.p_value, 2.0 / 32.0);
        let mut one = compare(&[1.0], &[0.0], 1000, 0).unwrap();
        holm(&mut [&mut one]);
        assert_eq!(
            (one.p_value, one.verdict),
            (1.0, Verdict::NoSignificantDifference)
        );
        // Differences within the tie tolerance are ties for the test too.
        let t = compare(&[1.0 + 1e-13; 20], &[1.0; 20], 1000, 0).unwrap();
        assert_eq!((t.ties, t.difference.point, t.p_value), (20, 0.0, 1.0));
        assert!(compare(&[f64::NAN], &[0.0], 10, 0).is_err());
    }

    #[test]
    fn holm_steps_down() {
        let mut ps: Vec<Paired> = [0.01, 0.04, 0.03, 0.5]
            .iter()
            .map(|&p| {
                let mut c = compare(&[1.0], &[0.0], 1, 0).unwrap();
                c.p_value = p;
                c
            })
            .collect();
        let mut refs: Vec<&mut Paired> = ps.iter_mut().collect();
        holm(&mut refs);
        let adjusted: Vec<f64> = ps.iter().map(|c| c.p_holm).collect();
        // sorted 0.01, 0.03, 0.04, 0.5 -> 0.04, 0.09, 0.09, 0.5
        let expected = [0.04, 0.09, 0.09, 0.5];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?}");
        }
        assert_eq!(ps[0].verdict, Verdict::Higher);
        assert_eq!(ps[1].verdict, Verdict::NoSignificantDifference);
    }
}
