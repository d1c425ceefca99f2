//! How well a score ranks failures first (AUROC, AUPRC, recall at a 1 % false-alarm rate) and
//! how well a probability is calibrated (ECE, reliability bins), with bootstrap intervals.

use crate::stats::bootstrap::{Interval, percentile_interval, replicate};
use serde::Serialize;

/// Indices sorted by score, highest first (ties in index order, which the metrics below treat
/// as one threshold).
fn by_score(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// (false positives, true positives) after each distinct threshold, highest score first.
fn roc_steps(scores: &[f64], labels: &[bool]) -> Vec<(usize, usize)> {
    let order = by_score(scores);
    let mut steps = Vec::new();
    let (mut fp, mut tp) = (0, 0);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            steps.push((fp, tp));
        }
    }
    steps
}

fn counts(labels: &[bool]) -> (usize, usize) {
    let positives = labels.iter().filter(|&&l| l).count();
    (positives, labels.len() - positives)
}

/// Area under the ROC curve: the probability that a random failure scores above a random
/// success (ties count half); NaN with a single class.
pub fn auroc(scores: &[f64], labels: &[bool]) -> f64 {
    let (p, n) = counts(labels);
    if p == 0 || n == 0 {
        return f64::NAN;
    }
    let mut area = 0.0;
    let (mut fp0, mut tp0) = (0usize, 0usize);
    for (fp, tp) in roc_steps(scores, labels) {
        // Trapezoid: ties between the classes count half.
        area += (fp - fp0) as f64 * (tp + tp0) as f64 / 2.0;
        (fp0, tp0) = (fp, tp);
    }
    area / (p * n) as f64
}

/// Average precision (area under the precision-recall curve, as scikit-learn sums it: the
/// precision at each threshold weighted by the recall it adds); NaN without failures.
pub fn auprc(scores: &[f64], labels: &[bool]) -> f64 {
    let (p, _) = counts(labels);
    if p == 0 {
        return f64::NAN;
    }
    let mut area = 0.0;
    let mut tp0 = 0;
    for (fp, tp) in roc_steps(scores, labels) {
        area += (tp - tp0) as f64 / p as f64 * tp as f64 / (tp + fp) as f64;
        tp0 = tp;
    }
    area
}

/// The largest share of failures caught at a threshold whose false-alarm rate (share of
/// successes flagged) is at most `rate`; NaN with a single class.
pub fn recall_at_false_alarm_rate(scores: &[f64], labels: &[bool], rate: f64) -> f64 {
    let (p, n) = counts(labels);
    if p == 0 || n == 0 {
        return f64::NAN;
    }
    roc_steps(scores, labels)
        .into_iter()
        .filter(|&(fp, _)| fp as f64 <= rate * n as f64)
        .map(|(_, tp)| tp as f64 / p as f64)
        .fold(0.0, f64::max)
}

/// Equal-width probability bins of a reliability diagram.
pub const BINS: usize = 10;

/// One bin of a reliability diagram: its rows, their mean predicted probability and the share
/// that failed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bin {
    pub rows: usize,
    pub predicted: f64,
    pub observed: f64,
}

pub fn reliability(probabilities: &[f64], labels: &[bool]) -> Vec<Bin> {
    let mut sums = vec![(0usize, 0.0, 0usize); BINS];
    for (&p, &y) in probabilities.iter().zip(labels) {
        let b = ((p * BINS as f64) as usize).min(BINS - 1);
        sums[b].0 += 1;
        sums[b].1 += p;
        sums[b].2 += usize::from(y);
    }
    sums.into_iter()
        .map(|(rows, p, y)| Bin {
            rows,
            predicted: if rows > 0 { p / rows as f64 } else { f64::NAN },
            observed: if rows > 0 {
                y as f64 / rows as f64
            } else {
                f64::NAN
            },
        })
        .collect()
}

/// Expected calibration error over [`BINS`] equal-width bins: the row-weighted mean gap
/// between predicted probability and observed failure rate.
pub fn ece(probabilities: &[f64], labels: &[bool]) -> f64 {
    let n = labels.len();
    if n == 0 {
        return f64::NAN;
    }
    reliability(probabilities, labels)
        .iter()
        .filter(|b| b.rows > 0)
        .map(|b| b.rows as f64 / n as f64 * (b.predicted - b.observed).abs())
        .sum()
}

/// The score threshold at which at most `rate` of the `rows` that did not fail raise an alarm:
/// just above the highest score that would exceed the budget (ties alarm together).
pub fn threshold_at_false_alarm_rate(
    rows: &[usize],
    labels: &[bool],
    scores: &[f64],
    rate: f64,
) -> f64 {
    let mut negatives: Vec<f64> = rows
        .iter()
        .filter(|&&r| !labels[r])
        .map(|&r| scores[r])
        .collect();
    negatives.sort_by(|a, b| b.total_cmp(a));
    let allowed = (rate * negatives.len() as f64).floor() as usize;
    negatives
        .get(allowed)
        .map_or(f64::NEG_INFINITY, |&s| s.next_up())
}

/// Per onset (its rows before it, with their lead in minutes) whose rows all lie in `part`,
/// its earliest warning: the largest lead among its rows with an alarm (a score of at least
/// `threshold`), minus infinity without one.
pub fn earliest_warnings(
    onsets: &[Vec<(f64, usize)>],
    part: &[usize],
    scores: &[f64],
    threshold: f64,
) -> Vec<f64> {
    let inside: std::collections::HashSet<usize> = part.iter().copied().collect();
    onsets
        .iter()
        .filter(|rows| rows.iter().all(|(_, r)| inside.contains(r)))
        .map(|rows| {
            rows.iter()
                .filter(|&&(_, r)| scores[r] >= threshold)
                .map(|&(lead, _)| lead)
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect()
}

/// The share of onsets warned at least `lead` minutes ahead, for each of `leads`, with a 95 %
/// bootstrap interval (onsets resampled, `reps` times from `seed`); NaN without onsets.
pub fn recall_by_lead(
    warnings: &[f64],
    leads: &[f64],
    reps: usize,
    seed: u64,
) -> Vec<(f64, Interval)> {
    // NaN without onsets (0 / 0).
    let recall = |warned: &[f64], lead: f64| {
        let caught = warned.iter().filter(|&&earliest| earliest >= lead).count();
        caught as f64 / warned.len() as f64
    };
    let n = warnings.len();
    let replicates: Vec<Vec<f64>> = replicate(reps, seed, |rng| {
        let resampled: Vec<f64> = (0..n).map(|_| warnings[rng.below(n)]).collect();
        leads.iter().map(|&lead| recall(&resampled, lead)).collect()
    });
    leads
        .iter()
        .enumerate()
        .map(|(k, &lead)| {
            let point = recall(warnings, lead);
            let values = replicates
                .iter()
                .map(|r| r[k])
                .filter(|v| v.is_finite())
                .collect();
            (lead, percentile_interval(point, values))
        })
        .collect()
}

/// The four scores of one predictor on one part of the data, with 95 % bootstrap intervals
/// (rows resampled with replacement).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Scores {
    pub auroc: Interval,
    pub auprc: Interval,
    pub recall_at_1pct: Interval,
    pub ece: Interval,
}

/// Every metric of `probabilities` against `labels`, as a vector in [`Scores`]' order.
fn all(probabilities: &[f64], labels: &[bool]) -> [f64; 4] {
    [
        auroc(probabilities, labels),
        auprc(probabilities, labels),
        recall_at_false_alarm_rate(probabilities, labels, 0.01),
        ece(probabilities, labels),
    ]
}

/// Resamples of row indices, the same for every predictor scored with the same `seed`, so
/// that differences between predictors are paired.
fn resample_metrics(
    reps: usize,
    seed: u64,
    n: usize,
    metric: impl Fn(&[usize]) -> [f64; 4] + Sync,
) -> Vec<[f64; 4]> {
    replicate(reps, seed, |rng| {
        let rows: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
        metric(&rows)
    })
}

fn intervals(point: [f64; 4], replicates: &[[f64; 4]]) -> Scores {
    let interval = |k: usize| {
        let values: Vec<f64> = replicates
            .iter()
            .map(|r| r[k])
            .filter(|v| v.is_finite())
            .collect();
        percentile_interval(point[k], values)
    };
    Scores {
        auroc: interval(0),
        auprc: interval(1),
        recall_at_1pct: interval(2),
        ece: interval(3),
    }
}

/// [`Scores`] of `probabilities`, with `reps` bootstrap resamples drawn from `seed`.
pub fn score(probabilities: &[f64], labels: &[bool], reps: usize, seed: u64) -> Scores {
    let replicates = resample_metrics(reps, seed, labels.len(), |rows| {
        let p: Vec<f64> = rows.iter().map(|&i| probabilities[i]).collect();
        let y: Vec<bool> = rows.iter().map(|&i| labels[i]).collect();
        all(&p, &y)
    });
    intervals(all(probabilities, labels), &replicates)
}

/// The paired difference `a - b` of every metric on the same rows (the same resamples for
/// both), with its 95 % interval.
pub fn difference(a: &[f64], b: &[f64], labels: &[bool], reps: usize, seed: u64) -> Scores {
    let gap = |x: [f64; 4], y: [f64; 4]| std::array::from_fn(|k| x[k] - y[k]);
    let replicates = resample_metrics(reps, seed, labels.len(), |rows| {
        let pick = |s: &[f64]| rows.iter().map(|&i| s[i]).collect::<Vec<f64>>();
        let y: Vec<bool> = rows.iter().map(|&i| labels[i]).collect();
        gap(all(&pick(a), &y), all(&pick(b), &y))
    });
    intervals(gap(all(a, labels), all(b, labels)), &replicates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use planetgym_env::rng::Rng;

    /// AUROC by brute force over every (failure, success) pair.
    fn pairs_auroc(s: &[f64], y: &[bool]) -> f64 {
        let (mut wins, mut total) = (0.0, 0.0);
        for i in 0..s.len() {
            for j in 0..s.len() {
                if y[i] && !y[j] {
                    total += 1.0;
                    wins += if s[i] > s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        wins / total
    }

    #[test]
    fn ranking_metrics_match_their_definitions() {
        let s = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4];
        let y = [true, false, true, false, false, true];
        // 9 pairs; the failures at 0.9, 0.7, 0.4 beat 3, 2 and 0 successes.
        assert!((auroc(&s, &y) - 5.0 / 9.0).abs() < 1e-12);
        // Precision 1 at recall 1/3, 2/3 at 2/3, 1/2 at 1.
        let ap = (1.0 + 2.0 / 3.0 + 0.5) / 3.0;
        assert!((auprc(&s, &y) - ap).abs() < 1e-12);
        // No false alarm allowed: only the top failure is caught.
        assert!((recall_at_false_alarm_rate(&s, &y, 0.0) - 1.0 / 3.0).abs() < 1e-12);
        assert!((recall_at_false_alarm_rate(&s, &y, 1.0 / 3.0) - 2.0 / 3.0).abs() < 1e-12);
        assert!(auroc(&s, &[true; 6]).is_nan());
        // Random scores with many ties, against the pairwise definition.
        let mut rng = Rng::new(3);
        let s: Vec<f64> = (0..300).map(|_| (rng.uniform() * 8.0).floor()).collect();
        let y: Vec<bool> = s.iter().map(|&v| rng.uniform() < 0.1 + v / 10.0).collect();
        assert!((auroc(&s, &y) - pairs_auroc(&s, &y)).abs() < 1e-12);
        // A constant score ranks nothing: AUROC one half, AP the base rate.
        let flat = vec![0.3; 300];
        let base = y.iter().filter(|&&l| l).count() as f64 / 300.0;
        assert!((auroc(&flat, &y) - 0.5).abs() < 1e-12);
        assert!((auprc(&flat, &y) - base).abs() < 1e-12);
    }

    #[test]
    fn calibration_is_the_weighted_gap_per_bin() {
        // Bin 1 (0.1-0.2): 0.15 predicted, half observed; bin 9: 0.95 predicted, all observed.
        let p = [0.15, 0.15, 0.95, 0.95];
        let y = [true, false, true, true];
        let bins = reliability(&p, &y);
        assert_eq!(bins[1].rows, 2);
        assert!((bins[1].observed - 0.5).abs() < 1e-12);
        assert!((ece(&p, &y) - (0.5 * 0.35 + 0.5 * 0.05)).abs() < 1e-12);
        assert_eq!(bins.len(), BINS);
        assert!(bins[5].predicted.is_nan());
        // Probability 1 falls in the last bin.
        assert_eq!(reliability(&[1.0], &[true])[BINS - 1].rows, 1);
    }

    #[test]
    fn intervals_cover_the_point_and_paired_differences_vanish_for_one_predictor() {
        let mut rng = Rng::new(5);
        let y: Vec<bool> = (0..400).map(|_| rng.uniform() < 0.2).collect();
        let p: Vec<f64> = y
            .iter()
            .map(|&l| (rng.uniform() * 0.6 + if l { 0.3 } else { 0.0 }).min(1.0))
            .collect();
        let s = score(&p, &y, 300, 1);
        assert!(s.auroc.low < s.auroc.point && s.auroc.point < s.auroc.high);
        assert!(s.auroc.point > 0.7);
        assert_eq!(s, score(&p, &y, 300, 1));
        let d = difference(&p, &p, &y, 300, 1);
        assert_eq!((d.auroc.low, d.auroc.high), (0.0, 0.0));
    }

    #[test]
    fn alarms_at_a_false_alarm_rate_and_recall_by_lead() {
        let labels = [false, false, false, false, true, true];
        let scores = [0.1, 0.2, 0.3, 0.9, 0.5, 0.8];
        let rows: Vec<usize> = (0..6).collect();
        // No false alarm allowed: the threshold sits just above the highest negative.
        let t = threshold_at_false_alarm_rate(&rows, &labels, &scores, 0.0);
        assert!(t > 0.9 && t < 0.9 + 1e-12);
        // One in four allowed: just above the second highest.
        let t = threshold_at_false_alarm_rate(&rows, &labels, &scores, 0.25);
        assert!(t > 0.3 && t < 0.31);
        // Two onsets: the first caught 10 minutes ahead (row 5), the second only 5 (row 4).
        let onsets = vec![vec![(10.0, 5), (5.0, 0)], vec![(10.0, 1), (5.0, 4)]];
        let warned = earliest_warnings(&onsets, &rows, &scores, t);
        assert_eq!(warned, vec![10.0, 5.0]);
        let curve = recall_by_lead(&warned, &[5.0, 10.0, 15.0], 200, 1);
        let points: Vec<(f64, f64)> = curve.iter().map(|(l, r)| (*l, r.point)).collect();
        assert_eq!(points, vec![(5.0, 1.0), (10.0, 0.5), (15.0, 0.0)]);
        assert!(curve[1].1.low <= 0.5 && curve[1].1.high >= 0.5);
        // An onset with a row outside the part (row 1 of the second) does not count; an onset
        // without an alarm has no warning.
        assert_eq!(
            earliest_warnings(&onsets, &[0, 4, 5], &scores, t),
            vec![10.0]
        );
        assert_eq!(
            earliest_warnings(&onsets, &rows, &scores, 2.0),
            vec![f64::NEG_INFINITY; 2]
        );
        assert!(recall_by_lead(&[], &[5.0], 100, 1)[0].1.point.is_nan());
    }
}
