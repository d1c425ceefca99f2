//! Compatibility with RLScheduler (Zhang et al., SC'20, DIR-LAB/deep-batch-scheduler): the exact
//! evaluation windows its compare scripts draw.
//!
//! RLScheduler seeds with gym 0.12.5 `seeding.np_random(seed)`, a numpy legacy `RandomState`
//! seeded with a SHA-512 hash of the seed, and draws each window's first job with
//! `randint(window, log_jobs - window - 1)`. Reproducing its numbers needs that stream bit for
//! bit, so the generator (MT19937) and numpy's legacy bounded-integer algorithm are written out
//! here; numpy guarantees the legacy `RandomState` stream never changes.

use crate::error::EnvError;
use sha2::{Digest, Sha512};

const N: usize = 624;
const M: usize = 397;

/// numpy `RandomState` as gym 0.12.5 `seeding.np_random(seed)` seeds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GymNumpyRng {
    mt: Box<[u32; N]>,
    pos: usize,
}

impl GymNumpyRng {
    /// gym 0.12.5: sha512 of `str(seed)`, first 8 bytes as a little-endian integer, split into
    /// 32-bit words (least significant first, trailing zero words dropped) and passed to
    /// `RandomState.seed(list)`, i.e. MT19937 `init_by_array`.
    pub fn new(seed: u64) -> Self {
        let hash = Sha512::digest(seed.to_string().as_bytes());
        let word = |i: usize| u32::from_le_bytes([hash[i], hash[i + 1], hash[i + 2], hash[i + 3]]);
        // `_int_list_from_bigint`: [low] when the high word is zero, [0] for zero.
        let key = match (word(0), word(4)) {
            (low, 0) => vec![low],
            (low, high) => vec![low, high],
        };
        Self::from_key(&key)
    }

    /// MT19937 `init_by_array` (Matsumoto and Nishimura, 2002), as numpy's legacy seeding.
    fn from_key(key: &[u32]) -> Self {
        let mut mt = Box::new([0u32; N]);
        mt[0] = 19_650_218;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        Self { mt, pos: N }
    }

    /// MT19937 `genrand_int32`.
    fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.refill();
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn refill(&mut self) {
        let twist = |upper: u32, lower: u32, far: u32| {
            let y = (upper & 0x8000_0000) | (lower & 0x7fff_ffff);
            far ^ (y >> 1) ^ if y & 1 == 1 { 0x9908_b0df } else { 0 }
        };
        for k in 0..N {
            self.mt[k] = twist(self.mt[k], self.mt[(k + 1) % N], self.mt[(k + M) % N]);
        }
        self.pos = 0;
    }

    /// numpy legacy `RandomState.randint(low, high)` (default int64 dtype): a value in
    /// `[low, high)`, or `None` where numpy raises (`low >= high`). Legacy draws are masked
    /// rejection: the range is masked to the next power of two minus one and redrawn until in
    /// range, with one 32-bit draw each when the range fits 32 bits, else two (high word
    /// first); an empty range (`high == low + 1`) draws nothing.
    pub fn randint(&mut self, low: i64, high: i64) -> Option<i64> {
        if low >= high {
            return None;
        }
        // The span as numpy's unsigned `rng = high - 1 - low`, exact in two's complement.
        let range = (high as u64).wrapping_sub(1).wrapping_sub(low as u64);
        if range == 0 {
            return Some(low);
        }
        let mask = u64::MAX >> (range | 1).leading_zeros();
        let offset = loop {
            let draw = if range <= u64::from(u32::MAX) {
                u64::from(self.next_u32())
            } else {
                (u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())
            };
            if draw & mask <= range {
                break draw & mask;
            }
        };
        Some((low as u64).wrapping_add(offset) as i64)
    }

    /// The first job of RLScheduler's next evaluation window of `window` jobs in a log of
    /// `log_jobs` jobs: `randint(window, log_jobs - window - 1)`, one draw per window, as
    /// `HPCEnv.reset_for_test` (nothing else draws from this generator in its compare scripts).
    pub fn window_start(&mut self, log_jobs: usize, window: usize) -> Result<usize, EnvError> {
        let high = log_jobs.checked_sub(window + 1).filter(|&h| h > window);
        let drawn = high.and_then(|h| self.randint(window as i64, h as i64));
        drawn.map(|s| s as usize).ok_or_else(|| {
            EnvError::config(format!(
                "RLScheduler windows of {window} jobs need a log of at least {} jobs, not {log_jobs}",
                2 * window + 2
            ))
        })
    }
}

/// The first jobs of RLScheduler's `count` evaluation windows for `seed` (0-based positions in
/// the loaded log; each window is the `window` jobs from there).
pub fn rlscheduler_window_starts(
    seed: u64,
    log_jobs: usize,
    window: usize,
    count: usize,
) -> Result<Vec<usize>, EnvError> {
    let mut rng = GymNumpyRng::new(seed);
    (0..count)
        .map(|_| rng.window_start(log_jobs, window))
        .collect()
}

/// Bits of an encoded evaluation seed that hold the episode (MAX_EPISODES < 2^20).
const EPISODE_BITS: u32 = 20;

/// The reset seed of evaluation episode `episode` with seed `seed`, as RLScheduler's compare
/// scripts would draw it: both are kept (the top bit set, as for every evaluation seed) so that
/// `reset` takes the (episode + 1)-th window of `seed`'s generator. Seeds from 2^43 on do not
/// fit and fall back to the usual evaluation seeds (then windows still come from a gym
/// generator, but not the one RLScheduler would seed).
pub fn evaluation_seed(seed: u64, episode: usize) -> u64 {
    if seed >> (63 - EPISODE_BITS) != 0 || episode >> EPISODE_BITS != 0 {
        return crate::rng::evaluation_seed(seed, episode);
    }
    crate::rng::evaluation_half((seed << EPISODE_BITS) | episode as u64)
}

/// The generator seed and the number of windows to skip for a reset seed: (seed, episode) for
/// an encoded evaluation seed; a training seed (top bit clear) takes its own first window.
pub fn decode_seed(reset_seed: u64) -> (u64, usize) {
    if reset_seed == crate::rng::training_half(reset_seed) {
        return (reset_seed, 0);
    }
    let body = crate::rng::training_half(reset_seed);
    (
        body >> EPISODE_BITS,
        (body & ((1 << EPISODE_BITS) - 1)) as usize,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from numpy's RandomState (numpy 2.4.6, legacy stream) seeded by gym
    // 0.12.5's seeding.np_random.

    #[test]
    fn seed_1_gives_rlschedulers_published_windows() {
        assert_eq!(
            rlscheduler_window_starts(1, 10_000, 1024, 10).unwrap(),
            vec![1981, 2756, 4299, 8850, 3316, 2714, 5228, 7762, 4022, 7085]
        );
    }

    #[test]
    fn other_seeds_and_ranges_match_numpy() {
        let cases: [(u64, usize, usize, &[usize]); 4] = [
            (
                0,
                10_000,
                256,
                &[2928, 6734, 7494, 1339, 2493, 1111, 5260, 8499, 1878, 5781],
            ),
            (42, 10_000, 1024, &[8267, 8301, 8125, 1783, 4893]),
            (u64::MAX, 10_000, 1024, &[5826, 4499, 3710, 7605, 5652]),
            (123_456_789, 5000, 100, &[4181, 3162, 4395, 525, 3919]),
        ];
        for (seed, n, w, expected) in cases {
            assert_eq!(
                rlscheduler_window_starts(seed, n, w, expected.len()).unwrap(),
                expected,
                "seed {seed}"
            );
        }
    }

    #[test]
    fn randint_matches_numpy_on_32_and_64_bit_ranges() {
        let mut rng = GymNumpyRng::new(7);
        let got: Vec<i64> = [
            (0, 1),
            (0, 2),
            (-5, 5),
            (0, 1 << 32),
            (0, (1 << 32) + 1),
            (-(1 << 40), 1 << 40),
            (i64::MIN, i64::MAX),
            (10, 11),
            (0, 3),
        ]
        .iter()
        .map(|&(lo, hi)| rng.randint(lo, hi).unwrap())
        .collect();
        assert_eq!(
            got,
            vec![
                0,
                0,
                -5,
                971_626_703,
                3_672_898_063,
                517_623_901_096,
                2_375_969_166_450_618_424,
                10,
                1
            ]
        );
        assert_eq!(rng.randint(3, 3), None);
    }

    #[test]
    fn seeding_uses_gyms_hashed_key() {
        // gym's _int_list_from_bigint(hash_seed(1)); the raw 32-bit outputs of that state.
        assert_eq!(
            GymNumpyRng::new(1),
            GymNumpyRng::from_key(&[2_739_863_373, 598_274_112])
        );
        let mut rng = GymNumpyRng::new(7);
        let raw: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        assert_eq!(raw, vec![1_182_090_800, 2_681_904_411, 3_945_706_192]);
    }

    #[test]
    fn too_short_logs_are_an_error() {
        assert!(rlscheduler_window_starts(1, 2049, 1024, 1).is_err());
        assert!(rlscheduler_window_starts(1, 2050, 1024, 1).is_ok());
    }
}
