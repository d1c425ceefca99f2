//! Seeded, thread-count-independent bootstrap resampling and percentile intervals.
//!
//! Resamples are drawn in fixed chunks, each from its own generator seeded by (seed, chunk), so
//! the intervals are identical whatever the number of rayon threads.

use planetgym_env::rng::{Rng, derive_seed};
use rayon::prelude::*;

/// Resamples drawn by one generator: the unit of parallel work.
const CHUNK: usize = 256;

/// A point estimate with its percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    pub point: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Half the interval's width.
    pub fn half_width(&self) -> f64 {
        0.5 * (self.high - self.low)
    }

    /// Whether the interval lies strictly on one side of `value`.
    pub fn excludes(&self, value: f64) -> bool {
        self.low > value || self.high < value
    }
}

/// `reps` values of `statistic`, each computed from its own generator; chunk `c` of `CHUNK`
/// resamples uses `derive_seed(seed, [c])`. Returned in resample order.
pub fn replicate<T: Send>(
    reps: usize,
    seed: u64,
    statistic: impl Fn(&mut Rng) -> T + Sync,
) -> Vec<T> {
    let chunks = reps.div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .flat_map_iter(|c| {
            let mut rng = Rng::new(derive_seed(seed, &[0xB007, c as u64]));
            let n = CHUNK.min(reps - c * CHUNK);
            (0..n).map(|_| statistic(&mut rng)).collect::<Vec<T>>()
        })
        .collect()
}

/// The `q`-quantile (0 to 1) of `sorted` values, linearly interpolated (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + frac * (sorted[hi] - sorted[lo])
        }
    }
}

/// The 95 % percentile interval of `replicates` around `point`.
pub fn percentile_interval(point: f64, mut replicates: Vec<f64>) -> Interval {
    replicates.sort_unstable_by(f64::total_cmp);
    Interval {
        point,
        low: quantile(&replicates, 0.025),
        high: quantile(&replicates, 0.975),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // numpy.percentile([1,2,3,4], [2.5, 50, 97.5]) = 1.075, 2.5, 3.925
        assert!((quantile(&v, 0.025) - 1.075).abs() < 1e-12);
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert!((quantile(&v, 0.975) - 3.925).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn same_replicates_for_any_thread_count() {
        let draw = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map(|pool| pool.install(|| replicate(1000, 7, |rng| rng.next_u64())))
        };
        let (one, four) = (draw(1), draw(4));
        assert!(one.is_ok());
        assert_eq!(one.ok(), four.ok());
    }
}
