//! Seeded random numbers that never change between versions or platforms.
//!
//! Trajectories must be identical on every machine and thread count, and stay identical when a
//! dependency is upgraded, so the generator (xoshiro256++) and the seed mixing (SplitMix64) are
//! written out here instead of borrowed from a crate whose streams may change.

/// One SplitMix64 step: a strong 64-bit mixer used to derive seeds.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Derives an independent seed from a base seed and a path of indices, e.g.
/// `derive_seed(seed, &[copy, episode])` for episode `episode` of vector-env copy `copy`.
pub fn derive_seed(base: u64, path: &[u64]) -> u64 {
    path.iter().fold(splitmix64(base), |acc, &i| {
        splitmix64(acc ^ splitmix64(i.wrapping_add(0x5851_F42D_4C95_7F2D)))
    })
}

/// The top bit splits episode seeds in two halves: training episodes (vector envs) have it
/// clear, evaluation episodes have it set, so no evaluation seed is ever a training seed,
/// whatever seeds the user picks. (Episodes drawn from the same data, such as a log's windows,
/// can still overlap; holdout splits are for unseen data.)
const EVALUATION_BIT: u64 = 1 << 63;

/// A seed in the training half (top bit clear).
pub fn training_half(seed: u64) -> u64 {
    seed & !EVALUATION_BIT
}

/// A seed in the evaluation half (top bit set).
pub fn evaluation_half(seed: u64) -> u64 {
    seed | EVALUATION_BIT
}

/// Seed of evaluation episode `episode` of an evaluation seeded with `seed` (identical for every
/// policy), in the evaluation half: an evaluation never reuses a training episode's seed.
pub fn evaluation_seed(seed: u64, episode: usize) -> u64 {
    evaluation_half(derive_seed(seed, &[0xE7A1, episode as u64]))
}

/// xoshiro256++ generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut s = [0u64; 4];
        for word in &mut s {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            *word = splitmix64(z);
        }
        Self { s }
    }

    /// The generator's state, to save it (see `from_state`).
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// A generator that continues exactly where the one whose `state()` this is stopped.
    pub fn from_state(s: [u64; 4]) -> Self {
        Self { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [low, high).
    pub fn uniform_in(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.uniform()
    }

    /// Uniform integer in [0, n); `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        // Multiply-shift: unbiased enough for simulation (bias < n / 2^64).
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Standard normal (Box-Muller; one value per call keeps the stream simple to reason about).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.uniform()).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_is_pinned() {
        // Changing the generator silently would change every published result.
        let mut rng = Rng::new(42);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        let mut again = Rng::new(42);
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        assert_ne!(Rng::new(43).next_u64(), first[0]);
    }

    #[test]
    fn moments_are_right() {
        let mut rng = Rng::new(7);
        let n = 200_000;
        let (mut sum_u, mut sum_n, mut sum_n2, mut sum_e) = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..n {
            sum_u += rng.uniform();
            let z = rng.normal();
            sum_n += z;
            sum_n2 += z * z;
            sum_e += rng.exponential(3.0);
        }
        let n = n as f64;
        assert!((sum_u / n - 0.5).abs() < 0.005);
        assert!((sum_n / n).abs() < 0.01);
        assert!((sum_n2 / n - 1.0).abs() < 0.02);
        assert!((sum_e / n - 3.0).abs() < 0.03);
        let mut counts = [0usize; 5];
        for _ in 0..50_000 {
            counts[rng.below(5)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_000..11_000).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn derived_seeds_differ() {
        let a = derive_seed(1, &[0, 0]);
        assert_ne!(a, derive_seed(1, &[0, 1]));
        assert_ne!(a, derive_seed(1, &[1, 0]));
        assert_ne!(a, derive_seed(2, &[0, 0]));
        assert_eq!(a, derive_seed(1, &[0, 0]));
    }
}
