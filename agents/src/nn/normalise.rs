//! Running statistics for observation and reward normalisation, saved with the policy.
//!
//! Observations: one statistic per flat feature; for entity layouts one per global feature and
//! one per entity feature shared by all entities (so the policy stays independent of the
//! number of entities), updated from present rows only; the presence mask is left as is.
//! Rewards: scaled by the standard deviation of the discounted return (as in Stable-Baselines3's
//! `VecNormalize`), not shifted, so the sign of a reward never changes.

use super::error::NetworkError;
use planetgym_env::FeatureSpec;
use serde::{Deserialize, Serialize};

/// Normalised values are clipped to +- this many standard deviations.
pub const CLIP: f32 = 10.0;
const EPSILON: f64 = 1e-8;

/// Per-slot count, mean and sum of squared deviations (Welford).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningStats {
    pub count: Vec<f64>,
    pub mean: Vec<f64>,
    pub m2: Vec<f64>,
}

impl RunningStats {
    pub fn new(slots: usize) -> Self {
        Self {
            count: vec![0.0; slots],
            mean: vec![0.0; slots],
            m2: vec![0.0; slots],
        }
    }

    pub fn push(&mut self, slot: usize, x: f64) {
        self.count[slot] += 1.0;
        let delta = x - self.mean[slot];
        self.mean[slot] += delta / self.count[slot];
        self.m2[slot] += delta * (x - self.mean[slot]);
    }

    /// Folds in statistics gathered elsewhere (Chan et al.'s parallel update): the result is
    /// that of pushing both sets of values, up to rounding.
    pub fn merge(&mut self, other: &RunningStats) {
        for slot in 0..self.count.len().min(other.count.len()) {
            let (na, nb) = (self.count[slot], other.count[slot]);
            if nb == 0.0 {
                continue;
            }
            let n = na + nb;
            let delta = other.mean[slot] - self.mean[slot];
            self.mean[slot] += delta * nb / n;
            self.m2[slot] += other.m2[slot] + delta * delta * na * nb / n;
            self.count[slot] = n;
        }
    }

    /// Variance of `slot` (1 before any data, so early values pass through unscaled).
    pub fn variance(&self, slot: usize) -> f64 {
        if self.count[slot] < 2.0 {
            1.0
        } else {
            self.m2[slot] / self.count[slot]
        }
    }
}

/// Where each encoded value's statistic lives.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slots {
    Flat {
        len: usize,
    },
    Entity {
        global: usize,
        entities: usize,
        features: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObsNormaliser {
    slots: Slots,
    pub stats: RunningStats,
}

impl ObsNormaliser {
    pub fn new(spec: &FeatureSpec) -> Self {
        let slots = match spec.entity_parts() {
            None => Slots::Flat {
                len: spec.encoded_len(),
            },
            Some(p) => Slots::Entity {
                global: p.global_len,
                entities: p.entities,
                features: p.entity_features,
            },
        };
        let n = match slots {
            Slots::Flat { len } => len,
            Slots::Entity {
                global, features, ..
            } => global + features,
        };
        Self {
            slots,
            stats: RunningStats::new(n),
        }
    }

    /// Restores saved statistics; they must match this layout.
    pub fn with_stats(spec: &FeatureSpec, stats: RunningStats) -> Result<Self, NetworkError> {
        let mut n = Self::new(spec);
        let slots = n.stats.mean.len();
        if [stats.count.len(), stats.mean.len(), stats.m2.len()] != [slots; 3] {
            return Err(NetworkError::Mismatch(format!(
                "observation statistics have {} slots, the feature spec needs {slots}",
                stats.mean.len()
            )));
        }
        n.stats = stats;
        Ok(n)
    }

    /// The same layout with no data yet.
    pub fn emptied(&self) -> Self {
        Self {
            slots: self.slots,
            stats: RunningStats::new(self.stats.mean.len()),
        }
    }

    /// Folds observations `[B, obs_len]` into the statistics.
    pub fn update(&mut self, batch: &[f32], obs_len: usize) {
        for obs in batch.chunks(obs_len) {
            match self.slots {
                Slots::Flat { .. } => {
                    for (i, &x) in obs.iter().enumerate() {
                        self.stats.push(i, f64::from(x));
                    }
                }
                Slots::Entity {
                    global,
                    entities,
                    features,
                } => {
                    for (i, &x) in obs[..global].iter().enumerate() {
                        self.stats.push(i, f64::from(x));
                    }
                    let mask = &obs[global + entities * features..];
                    for (e, row) in obs[global..global + entities * features]
                        .chunks(features)
                        .enumerate()
                    {
                        if mask.get(e).is_some_and(|&m| m > 0.5) {
                            for (f, &x) in row.iter().enumerate() {
                                self.stats.push(global + f, f64::from(x));
                            }
                        }
                    }
                }
            }
        }
    }

    /// The standard deviation `apply` divides slot `slot` by.
    fn std(&self, slot: usize) -> f64 {
        (self.stats.variance(slot) + EPSILON).sqrt()
    }

    /// Per-slot means and the standard deviations `apply` divides by; the slots are the flat
    /// features, or the global features followed by the entity features.
    pub fn moments(&self) -> (Vec<f64>, Vec<f64>) {
        let slots = 0..self.stats.mean.len();
        (
            self.stats.mean.clone(),
            slots.map(|i| self.std(i)).collect(),
        )
    }

    /// Normalises observations `[B, obs_len]` in place.
    pub fn apply(&self, batch: &mut [f32], obs_len: usize) {
        // Each slot's mean and standard deviation once per call, not once per value: the
        // square root per value was a quarter of a rollout's time on wide entity observations.
        let (mean, std) = self.moments();
        // `values` are the slots from `first` on.
        let scale = |values: &mut [f32], first: usize| {
            let moments = mean.iter().zip(&std).skip(first);
            for (x, (&mean, &std)) in values.iter_mut().zip(moments) {
                *x = (((f64::from(*x) - mean) / std) as f32).clamp(-CLIP, CLIP);
            }
        };
        for obs in batch.chunks_mut(obs_len) {
            match self.slots {
                Slots::Flat { .. } => scale(obs, 0),
                Slots::Entity {
                    global,
                    entities,
                    features,
                } => {
                    let (head, rows) = obs.split_at_mut(global);
                    scale(head, 0);
                    for row in rows[..entities * features].chunks_mut(features) {
                        scale(row, global);
                    }
                }
            }
        }
    }
}

/// Scales rewards by the running standard deviation of each copy's discounted return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardScaler {
    pub gamma: f64,
    pub returns: Vec<f64>,
    pub stats: RunningStats,
}

impl RewardScaler {
    pub fn new(copies: usize, gamma: f64) -> Self {
        Self {
            gamma,
            returns: vec![0.0; copies],
            stats: RunningStats::new(1),
        }
    }

    /// The scaled reward of copy `i`; `done` ends its running return.
    pub fn scale(&mut self, i: usize, reward: f64, done: bool) -> f32 {
        self.returns[i] = self.returns[i] * self.gamma + reward;
        self.stats.push(0, self.returns[i]);
        if done {
            self.returns[i] = 0.0;
        }
        self.rescale(reward)
    }

    /// `reward` in the units of the last `scale` (without updating the statistics).
    pub fn rescale(&self, reward: f64) -> f32 {
        let std = (self.stats.variance(0) + EPSILON).sqrt();
        ((reward / std) as f32).clamp(-CLIP, CLIP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use planetgym_env::features::{Feature, Layout};

    #[test]
    fn merged_statistics_equal_pushing_every_value() {
        let values = [3.0, -1.0, 4.0, 1.5, 9.0, 2.6, -5.0];
        let mut all = RunningStats::new(1);
        values.iter().for_each(|&x| all.push(0, x));
        for split in 0..=values.len() {
            let (mut a, mut b) = (RunningStats::new(1), RunningStats::new(1));
            values[..split].iter().for_each(|&x| a.push(0, x));
            values[split..].iter().for_each(|&x| b.push(0, x));
            a.merge(&b);
            assert_eq!(a.count, all.count);
            assert!((a.mean[0] - all.mean[0]).abs() < 1e-12, "split {split}");
            assert!((a.m2[0] - all.m2[0]).abs() < 1e-9, "split {split}");
        }
    }

    #[test]
    fn flat_features_end_up_standardised() {
        let spec = FeatureSpec {
            scenario: "t".into(),
            layout: Layout::Flat {
                features: vec![Feature::new("a", "u", 1.0), Feature::new("b", "u", 1.0)],
            },
        };
        let mut n = ObsNormaliser::new(&spec);
        let batch: Vec<f32> = (0..1000)
            .flat_map(|i| [i as f32, 5.0 + (i % 2) as f32])
            .collect();
        n.update(&batch, 2);
        let mut out = batch.clone();
        n.apply(&mut out, 2);
        let mean = |k: usize| out.iter().skip(k).step_by(2).sum::<f32>() / 1000.0;
        assert!(mean(0).abs() < 1e-3 && mean(1).abs() < 1e-3);
        assert!((out[1] + 1.0).abs() < 1e-3 && (out[3] - 1.0).abs() < 1e-3);
    }

    #[test]
    fn entity_rows_share_statistics_ignore_absent_rows_and_keep_the_mask() {
        let spec = FeatureSpec {
            scenario: "t".into(),
            layout: Layout::Entity {
                global: vec![],
                entity: vec![Feature::new("x", "u", 1.0)],
                entities: 3,
            },
        };
        let mut n = ObsNormaliser::new(&spec);
        // Rows 2 and 4 present, the third absent (its 100 must not count).
        let obs = [2.0f32, 4.0, 100.0, 1.0, 1.0, 0.0];
        n.update(&obs, 6);
        assert_eq!(n.stats.mean, vec![3.0]);
        let mut out = obs;
        n.apply(&mut out, 6);
        assert!((out[0] + 1.0).abs() < 1e-4 && (out[1] - 1.0).abs() < 1e-4);
        assert_eq!(out[2], CLIP);
        assert_eq!(&out[3..], &[1.0, 1.0, 0.0]);
    }

    #[test]
    fn reward_scale_keeps_signs() {
        let mut s = RewardScaler::new(1, 0.99);
        for t in 0..100 {
            let r = if t % 2 == 0 { -50.0 } else { 10.0 };
            let scaled = s.scale(0, r, t == 99);
            assert_eq!(scaled.signum(), (r as f32).signum());
        }
    }
}
