//! Weighted quantiles of request latency: exact for the mixes an episode serves, and a
//! bounded histogram for applications too large to hold every (latency, weight) pair.

/// The `q`-quantile (the smallest value whose cumulative weight, in ascending order, reaches
/// q of the total) of (value, weight) pairs; NaN without weight. Quickselect: expected linear
/// time, as a step may ask for it over every (request type, user region) pair.
pub fn weighted_quantile(pairs: &mut [(f64, f64)], q: f64) -> f64 {
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    if total <= 0.0 || pairs.is_empty() {
        return f64::NAN;
    }
    let mut target = q * total;
    let mut slice = pairs;
    let mut last = f64::NAN;
    loop {
        match slice.len() {
            0 => return last,
            1 => return slice[0].0,
            _ => {}
        }
        let mid = slice.len() / 2;
        slice.select_nth_unstable_by(mid, |a, b| a.0.total_cmp(&b.0));
        let below: f64 = slice[..mid].iter().map(|p| p.1).sum();
        if below >= target {
            slice = &mut slice[..mid];
        } else if below + slice[mid].1 >= target {
            return slice[mid].0;
        } else {
            target -= below + slice[mid].1;
            last = slice[mid].0;
            slice = &mut slice[mid + 1..];
        }
    }
}

/// Mantissa bits a histogram bucket keeps: buckets are 2^-10 of their value wide, so a
/// quantile read at a bucket's middle is within 0.05 % of the exact one.
const MANTISSA_BITS: u32 = 10;
const SHIFT: u32 = f64::MANTISSA_DIGITS - 1 - MANTISSA_BITS;
/// Values below this (ms) share the first bucket, read as 0; values above the last bucket's
/// (about 1.7e7 ms, nearly five hours) share the last one.
const LOWEST: f64 = 1e-3;
const OCTAVES: usize = 34;
const BUCKETS: usize = 1 + (OCTAVES << MANTISSA_BITS);
/// Weights are summed as integers, in units of the expected total over 2^60: sums taken in any
/// order are equal, so a quantile is the same on any number of threads.
const UNITS: f64 = (1u64 << 60) as f64;

/// Latencies bucketed by their leading bits (HDR-histogram style), with weights in fixed
/// point: 280 KB whatever the number of requests, and exactly mergeable.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    counts: Vec<u64>,
    /// Units per unit of weight.
    scale: f64,
}

impl Histogram {
    /// A histogram for weights summing to about `expected_total` (which sets the units; any
    /// positive value works, the sums stay exact up to 16 times it).
    pub fn new(expected_total: f64) -> Self {
        let scale = if expected_total > 0.0 {
            UNITS / expected_total
        } else {
            1.0
        };
        Self {
            counts: vec![0; BUCKETS],
            scale,
        }
    }

    fn lowest_bits() -> u64 {
        LOWEST.to_bits() >> SHIFT
    }

    fn bucket(value: f64) -> usize {
        if value.is_nan() || value < LOWEST {
            return 0;
        }
        let k = (value.to_bits() >> SHIFT) - Self::lowest_bits();
        (1 + k as usize).min(BUCKETS - 1)
    }

    /// The middle of bucket `k` (0 for the first).
    fn middle(k: usize) -> f64 {
        if k == 0 {
            return 0.0;
        }
        let bits = |i: u64| f64::from_bits((Self::lowest_bits() + i) << SHIFT);
        let i = (k - 1) as u64;
        0.5 * (bits(i) + bits(i + 1))
    }

    pub fn add(&mut self, value: f64, weight: f64) {
        // Rounded to the nearest unit (weights are not negative); `as` saturates, so a weight
        // far beyond the expected total cannot wrap around.
        let units = (weight * self.scale + 0.5) as u64;
        let count = &mut self.counts[Self::bucket(value)];
        *count = count.saturating_add(units);
    }

    /// Adds `other`'s counts (both made with the same expected total).
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a = a.saturating_add(*b);
        }
    }

    /// The `q`-quantile, as the middle of the first bucket whose cumulative weight reaches q
    /// of the total; NaN without weight.
    pub fn quantile(&self, q: f64) -> f64 {
        let total: u128 = self.counts.iter().map(|&c| u128::from(c)).sum();
        if total == 0 {
            return f64::NAN;
        }
        let target = q * total as f64;
        let mut seen: u128 = 0;
        for (k, &c) in self.counts.iter().enumerate() {
            seen += u128::from(c);
            if c > 0 && seen as f64 >= target {
                return Self::middle(k);
            }
        }
        Self::middle(BUCKETS - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn the_p95_is_a_weighted_quantile() {
        let mut pairs = vec![(1000.0, 1.0), (10.0, 90.0), (100.0, 9.0)];
        assert_eq!(weighted_quantile(&mut pairs, 0.95), 100.0);
        assert_eq!(weighted_quantile(&mut pairs, 0.5), 10.0);
        assert_eq!(weighted_quantile(&mut pairs, 1.0), 1000.0);
        assert!(weighted_quantile(&mut [], 0.95).is_nan());
        // Against sorting, on many pairs with ties.
        let mut rng = Rng::new(4);
        for q in [0.05, 0.5, 0.95, 0.999] {
            let mut pairs: Vec<(f64, f64)> = (0..2000)
                .map(|_| ((rng.uniform() * 50.0).floor(), rng.uniform()))
                .collect();
            let total: f64 = pairs.iter().map(|p| p.1).sum();
            let mut sorted = pairs.clone();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut seen = 0.0;
            let expected = sorted
                .iter()
                .find(|p| {
                    seen += p.1;
                    seen >= q * total
                })
                .map(|p| p.0)
                .unwrap();
            assert_eq!(weighted_quantile(&mut pairs, q), expected, "q {q}");
        }
    }

    #[test]
    fn the_histogram_quantile_is_within_its_bucket_of_the_exact_one() {
        let mut rng = Rng::new(7);
        // Heavy-tailed latencies from 0.01 ms to hours, with random weights.
        let pairs: Vec<(f64, f64)> = (0..50_000)
            .map(|_| ((rng.uniform() * 20.0).exp() * 0.01, rng.uniform()))
            .collect();
        let total: f64 = pairs.iter().map(|p| p.1).sum();
        let mut histogram = Histogram::new(total);
        pairs.iter().for_each(|&(v, w)| histogram.add(v, w));
        for q in [0.01, 0.5, 0.95, 0.999, 1.0] {
            let exact = weighted_quantile(&mut pairs.clone(), q);
            let read = histogram.quantile(q);
            assert!(
                (read - exact).abs() <= 5e-4 * exact,
                "q {q}: {read} against {exact}"
            );
        }
        assert!(Histogram::new(1.0).quantile(0.95).is_nan());
    }

    #[test]
    fn histograms_merge_exactly_in_any_order() {
        let mut rng = Rng::new(8);
        let pairs: Vec<(f64, f64)> = (0..10_000)
            .map(|_| (rng.uniform() * 300.0, rng.uniform() * 1e-3))
            .collect();
        let total: f64 = pairs.iter().map(|p| p.1).sum();
        let whole = |split: usize| {
            let mut parts: Vec<Histogram> = pairs
                .chunks(split)
                .map(|c| {
                    let mut h = Histogram::new(total);
                    c.iter().for_each(|&(v, w)| h.add(v, w));
                    h
                })
                .collect();
            parts.reverse();
            let mut merged = Histogram::new(total);
            parts.iter().for_each(|p| merged.merge(p));
            merged
        };
        assert_eq!(whole(10_000), whole(7));
        assert_eq!(whole(10_000), whole(333));
    }

    #[test]
    fn extreme_values_fall_into_the_end_buckets() {
        let mut histogram = Histogram::new(3.0);
        histogram.add(0.0, 1.0);
        histogram.add(f64::NAN, 1.0);
        histogram.add(1e30, 1.0);
        assert_eq!(histogram.quantile(0.5), 0.0);
        assert!(histogram.quantile(1.0) > 1e7);
    }
}
