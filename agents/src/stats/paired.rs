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
//!
//! A learned policy is several training runs, and runs of one method differ by more than
//! episodes can show: two sets of seeds of the same build, 6 runs each, compared on the
//! per-episode means over runs, came out "different" on 3 of 4 placement splits (p 0.0001 to
//! 0.005). So where a side has several runs, a verdict must also hold across them:
//! - each bootstrap resample also draws that side's runs with replacement (the same runs for
//!   every episode drawn), for both intervals;
//! - the runs' mean returns over the episodes are compared by Student's t (Welch's test with
//!   several runs on both sides, a one-sample test against a single run), whose tails a
//!   bootstrap over 3 to 6 runs cannot match; the p-value is the larger of this test's and the
//!   sign-flip test's, and the difference's interval spans both the bootstrap's and the t
//!   interval.
//!
//! With one run per side nothing changes: the episodes are all there is to resample.
//!
//! A verdict needs both the Holm-adjusted p-value below [`ALPHA`] and the interval to exclude
//! zero. Each test sees one source of variance (the sign flips the episodes, Student's t the
//! runs), while the bootstrap interval resamples both, so with many runs and episodes the
//! p-value can pass where the interval does not (24 runs, 4000 Lublin-2 windows:
//! +9.30 [-1.91, +20.42] at Holm p 0.029); such a difference is not called.

use super::bootstrap::{Interval, percentile_interval, replicate};
use planetgym_env::rng::{Rng, derive_seed};

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
    /// Higher than the reference: Holm-corrected p below [`ALPHA`] and the (uncorrected) 95 %
    /// interval above 0.
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
    /// Two-sided p-value of "mean difference = 0" (the sign-flip test's, or the larger of it
    /// and the runs' Student's t), before correction.
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

/// The difference of two episode values, 0 within the tie tolerance.
fn difference(a: f64, b: f64) -> f64 {
    if tied(a, b) { 0.0 } else { a - b }
}

/// An episode's outcome for `P(X > Y)`: 1 for a win, 0.5 for a tie, 0 for a loss.
fn outcome(difference: f64) -> f64 {
    if difference == 0.0 {
        0.5
    } else if difference > 0.0 {
        1.0
    } else {
        0.0
    }
}

/// The runs of one side, checked: at least one, all over the same episodes, finite values.
fn checked_runs<'a, R: AsRef<[f64]>>(side: &'a [R], name: &str) -> Result<Vec<&'a [f64]>, String> {
    let runs: Vec<&[f64]> = side.iter().map(AsRef::as_ref).collect();
    let episodes = runs.first().map_or(0, |r| r.len());
    if episodes == 0 {
        return Err(format!(
            "{name} has no runs or no episodes: nothing to compare"
        ));
    }
    for (r, run) in runs.iter().enumerate() {
        if run.len() != episodes {
            return Err(format!(
                "{name}: run {r} has {} episodes, run 0 has {episodes}",
                run.len()
            ));
        }
        if let Some((e, v)) = run.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(format!(
                "{name}: run {r}, episode {e} has the non-finite value {v}: nothing to compare"
            ));
        }
    }
    Ok(runs)
}

/// Per episode, the mean of `runs` weighted by `counts` (how often each run was drawn).
fn run_mean(runs: &[&[f64]], counts: &[f64], episode: usize) -> f64 {
    let sum: f64 = runs.iter().zip(counts).map(|(r, c)| c * r[episode]).sum();
    sum / runs.len() as f64
}

/// How often each of `runs` runs is drawn in a resample of them.
fn drawn_runs(rng: &mut Rng, runs: usize) -> Vec<f64> {
    let mut counts = vec![0.0; runs];
    for _ in 0..runs {
        counts[rng.below(runs)] += 1.0;
    }
    counts
}

/// Compares `x` with `reference` on the same episodes, from `reps` bootstrap resamples. Each
/// side is one or more training runs, each a value per episode in episode order; a side's
/// per-episode value is the mean over its runs, and a side with several runs has its runs
/// resampled too (see the module's documentation). The verdict is set by [`holm`].
pub fn compare<R: AsRef<[f64]>>(
    x: &[R],
    reference: &[R],
    reps: usize,
    seed: u64,
) -> Result<Paired, String> {
    let xs = checked_runs(x, "the policy")?;
    let ys = checked_runs(reference, "the reference")?;
    let n = xs[0].len();
    if ys[0].len() != n {
        return Err(format!(
            "a paired comparison needs the same episodes on both sides, got {n} and {}",
            ys[0].len()
        ));
    }
    if reps == 0 {
        return Err("a bootstrap needs at least one resample".into());
    }
    // Per-episode differences of the runs drawn (`counts` per side), ties as 0, and outcomes.
    let differences = |x_counts: &[f64], y_counts: &[f64]| -> (Vec<f64>, Vec<f64>) {
        (0..n)
            .map(|e| {
                let d = difference(run_mean(&xs, x_counts, e), run_mean(&ys, y_counts, e));
                (d, outcome(d))
            })
            .unzip()
    };
    let all = differences(&vec![1.0; xs.len()], &vec![1.0; ys.len()]);
    let single_runs = xs.len() == 1 && ys.len() == 1;
    let replicates = replicate(reps, seed, |rng| {
        let drawn;
        let (diff, outcomes) = if single_runs {
            &all
        } else {
            let x_counts = drawn_runs(rng, xs.len());
            drawn = differences(&x_counts, &drawn_runs(rng, ys.len()));
            &drawn
        };
        let (mut d, mut w) = (0.0, 0.0);
        for _ in 0..n {
            let e = rng.below(n);
            d += diff[e];
            w += outcomes[e];
        }
        (d / n as f64, w / n as f64)
    });
    let (diff, outcomes) = all;
    let mut p_value = sign_flip_p_value(&diff, reps, seed);
    let mut difference = percentile_interval(
        diff.iter().sum::<f64>() / n as f64,
        replicates.iter().map(|r| r.0).collect(),
    );
    if let Some(runs) = RunLevel::of(&xs, &ys) {
        p_value = p_value.max(runs.p_value);
        difference.low = difference.low.min(runs.low);
        difference.high = difference.high.max(runs.high);
    }
    let count = |v: f64| outcomes.iter().filter(|&&o| o == v).count();
    Ok(Paired {
        episodes: n,
        difference,
        improvement: percentile_interval(
            outcomes.iter().sum::<f64>() / n as f64,
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

/// Student's t on the runs' mean values over the episodes: Welch's test of the two sides' run
/// means, or a one-sample test where one side has a single run.
struct RunLevel {
    p_value: f64,
    /// The 95 % t interval of the difference of the means (degrees of freedom rounded down).
    low: f64,
    high: f64,
}

impl RunLevel {
    /// None when neither side has more than one run (nothing to learn about seeds).
    fn of(xs: &[&[f64]], ys: &[&[f64]]) -> Option<Self> {
        if xs.len() < 2 && ys.len() < 2 {
            return None;
        }
        // Each side's mean and the variance of that mean, and its share of Welch's degrees of
        // freedom (none for a single run).
        let side = |runs: &[&[f64]]| {
            let means: Vec<f64> = runs
                .iter()
                .map(|r| r.iter().sum::<f64>() / r.len() as f64)
                .collect();
            let k = means.len() as f64;
            let mean = means.iter().sum::<f64>() / k;
            if means.len() < 2 {
                return (mean, 0.0, 0.0);
            }
            let var_of_mean = means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (k - 1.0) / k;
            (mean, var_of_mean, var_of_mean * var_of_mean / (k - 1.0))
        };
        let ((mx, vx, dx), (my, vy, dy)) = (side(xs), side(ys));
        let (d, var) = (mx - my, vx + vy);
        if var == 0.0 {
            // Runs that agree exactly: the runs add no uncertainty.
            let p_value = if tied(mx, my) { 1.0 } else { 0.0 };
            return Some(Self {
                p_value,
                low: d,
                high: d,
            });
        }
        let df = var * var / (dx + dy);
        let half = super::student_t::quantile_975(df.floor().max(1.0) as usize) * var.sqrt();
        Some(Self {
            p_value: super::student_t::two_sided_p_value(d / var.sqrt(), df),
            low: d - half,
            high: d + half,
        })
    }
}

/// Holm's step-down correction across `comparisons` (one family): sets each adjusted p-value
/// (`max` over the smaller ones of `(m - rank) * p`, capped at 1) and the verdict at [`ALPHA`],
/// called only where the interval also excludes zero (see the module's documentation).
pub fn holm(comparisons: &mut [&mut Paired]) {
    let m = comparisons.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| comparisons[a].p_value.total_cmp(&comparisons[b].p_value));
    let mut running = 0.0_f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * comparisons[i].p_value).min(1.0));
        let c = &mut *comparisons[i];
        c.p_holm = running;
        // The direction is the interval's side of zero (a percentile interval need not hold
        // the point estimate).
        c.verdict = match (running < ALPHA, c.difference.excludes(0.0)) {
            (true, true) if c.difference.low > 0.0 => Verdict::Higher,
            (true, true) => Verdict::Lower,
            _ => Verdict::NoSignificantDifference,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_point_estimates() {
        let x = [3.0, 1.0, 2.0, 5.0];
        let y = [1.0, 1.0, 4.0, 2.0];
        let p = compare(&[x], &[y], 1000, 0).unwrap();
        assert_eq!((p.wins, p.ties, p.losses), (2, 1, 1));
        assert_eq!(p.difference.point, 0.75);
        assert_eq!(p.improvement.point, 0.625);
        assert!(p.difference.low <= 0.75 && 0.75 <= p.difference.high);
        assert!(compare(&[&x[..]], &[&y[..3]], 10, 0).is_err());
        assert!(compare::<&[f64]>(&[], &[], 10, 0).is_err());
    }

    #[test]
    fn a_real_shift_is_found_and_noise_is_not() {
        let mut rng = Rng::new(11);
        let y: Vec<f64> = (0..300).map(|_| 10.0 * rng.normal()).collect();
        // Same episodes: a small shift is clear once episode difficulty cancels.
        let better: Vec<f64> = y.iter().map(|v| v + 0.5 + 0.1 * rng.normal()).collect();
        let same: Vec<f64> = y.iter().map(|v| v + rng.normal()).collect();
        let mut a = compare(&[&better], &[&y], 10_000, 1).unwrap();
        let mut b = compare(&[&same], &[&y], 10_000, 1).unwrap();
        holm(&mut [&mut a, &mut b]);
        assert_eq!(a.verdict, Verdict::Higher);
        assert!(a.difference.excludes(0.0));
        assert_eq!(b.verdict, Verdict::NoSignificantDifference, "{b:?}");
        assert!(b.p_holm >= b.p_value);
    }

    #[test]
    fn few_episodes_cannot_be_significant() {
        // Five episodes that all agree: exactly 2 of the 32 sign vectors are as extreme.
        let p = compare(&[[2.0, 3.0, 4.0, 5.0, 6.0]], &[[0.0; 5]], 1000, 0).unwrap();
        assert_eq!(p.p_value, 2.0 / 32.0);
        let mut one = compare(&[[1.0]], &[[0.0]], 1000, 0).unwrap();
        holm(&mut [&mut one]);
        assert_eq!(
            (one.p_value, one.verdict),
            (1.0, Verdict::NoSignificantDifference)
        );
        // Differences within the tie tolerance are ties for the test too.
        let t = compare(&[[1.0 + 1e-13; 20]], &[[1.0; 20]], 1000, 0).unwrap();
        assert_eq!((t.ties, t.difference.point, t.p_value), (20, 0.0, 1.0));
        assert!(compare(&[[f64::NAN]], &[[0.0]], 10, 0).is_err());
    }

    /// `runs` runs of a method over `episodes` episodes of difficulty `difficulty`: each run is
    /// off by its own offset (sd `run_sd`, what its training seed gave it) plus per-episode
    /// noise, and the method's true mean is `shift`.
    fn method(
        rng: &mut Rng,
        difficulty: &[f64],
        runs: usize,
        run_sd: f64,
        shift: f64,
    ) -> Vec<Vec<f64>> {
        (0..runs)
            .map(|_| {
                let offset = shift + run_sd * rng.normal();
                difficulty
                    .iter()
                    .map(|d| d + offset + 0.5 * rng.normal())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn two_seed_sets_of_one_method_are_not_called_different() {
        // The run-to-run spread (sd 1) is far larger than what 20 episodes resolve once the
        // runs are averaged (sd of a difference 0.09): comparing per-episode means alone calls
        // such pairs different almost every time.
        let mut rng = Rng::new(3);
        let trials = 200u64;
        let mut significant = 0u64;
        for t in 0..trials {
            let difficulty: Vec<f64> = (0..20).map(|_| 10.0 * rng.normal()).collect();
            let a = method(&mut rng, &difficulty, 3, 1.0, 0.0);
            let b = method(&mut rng, &difficulty, 3, 1.0, 0.0);
            let p = compare(&a, &b, 1000, t).unwrap();
            significant += u64::from(p.p_value < ALPHA);
            // The interval and the p-value agree on which side of 0 the truth may lie.
            if p.p_value < ALPHA / 2.0 {
                assert!(p.difference.excludes(0.0), "{p:?}");
            }
        }
        // 7 of 200 here; the episode bootstrap alone (runs averaged first) gives 170.
        assert!(
            significant <= trials / 10,
            "{significant} of {trials} significant"
        );
    }

    #[test]
    fn a_shift_larger_than_the_run_spread_is_found() {
        let mut rng = Rng::new(4);
        let difficulty: Vec<f64> = (0..20).map(|_| 10.0 * rng.normal()).collect();
        let better = method(&mut rng, &difficulty, 5, 0.3, 3.0);
        let reference = method(&mut rng, &difficulty, 1, 0.0, 0.0);
        let p = compare(&better, &reference, 10_000, 0).unwrap();
        assert!(p.p_value < 0.01 && p.difference.low > 1.0, "{p:?}");
        // A single run on each side resamples episodes only: the same numbers as the episode
        // bootstrap of the per-episode differences.
        let one = compare(&better[..1], &reference, 10_000, 0).unwrap();
        let diff: Vec<f64> = (0..20).map(|e| better[0][e] - reference[0][e]).collect();
        let zeros = vec![0.0; 20];
        assert_eq!(one, compare(&[diff], &[zeros], 10_000, 0).unwrap());
        assert!(
            compare(
                &[&better[0][..], &better[1][..19]],
                &[&reference[0][..]],
                10,
                0
            )
            .is_err()
        );
    }

    #[test]
    fn holm_steps_down() {
        let mut ps: Vec<Paired> = [0.01, 0.04, 0.03, 0.5]
            .iter()
            .map(|&p| {
                let mut c = compare(&[[1.0]], &[[0.0]], 1, 0).unwrap();
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

    #[test]
    fn no_verdict_while_the_interval_holds_zero_whatever_the_p_value() {
        let mut c = compare(&[[1.0]], &[[0.0]], 1, 0).unwrap();
        c.p_value = 0.001;
        c.difference.low = -0.5;
        holm(&mut [&mut c]);
        assert_eq!(c.verdict, Verdict::NoSignificantDifference, "{c:?}");
        c.difference.low = 0.25;
        holm(&mut [&mut c]);
        assert_eq!(c.verdict, Verdict::Higher, "{c:?}");
    }
}
