//! Paired comparison of policies on identical episodes.
//!
//! Every policy ran the same episode seeds, so the per-episode difference `x_e - y_e` to a
//! reference removes the episodes' own difficulty from the comparison. For each policy this
//! reports the mean difference with a percentile bootstrap 95 % interval, the probability of
//! improvement `P(X > Y)` on a random episode (wins plus half the ties, over episodes) with its
//! interval from the same resamples, the win/tie/loss count, and a verdict after Holm's
//! correction across the policies compared. The p-value is the bootstrap's: twice the smaller
//! tail of the resampled mean difference beyond 0, so "significant at level a" is the same
//! statement as "the (1 - a) percentile interval excludes 0".

use super::bootstrap::{Interval, percentile_interval, replicate};

/// Two episode values closer than this (relative to the larger magnitude, or absolute below 1)
/// are a tie: identical schedules computed in a different order differ in the last bits.
const TIE_TOLERANCE: f64 = 1e-9;

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
    let n = x.len();
    let diff: Vec<f64> = x.iter().zip(reference).map(|(a, b)| a - b).collect();
    let outcome: Vec<f64> = x
        .iter()
        .zip(reference)
        .map(|(&a, &b)| {
            if (a - b).abs() <= TIE_TOLERANCE * a.abs().max(b.abs()).max(1.0) {
                0.5
            } else if a > b {
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
    let below = replicates.iter().filter(|r| r.0 <= 0.0).count();
    let above = replicates.iter().filter(|r| r.0 >= 0.0).count();
    let p_value = (2.0 * (below.min(above) + 1) as f64 / (reps + 1) as f64).min(1.0);
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
