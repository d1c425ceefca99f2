//! Rollout storage and generalised advantage estimation.

use serde::{Deserialize, Serialize};

/// One rollout: `steps x copies` transitions, stored step-major (index = step * copies + copy).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rollout {
    pub copies: usize,
    pub obs_len: usize,
    pub raw_len: usize,
    pub mask_len: usize,
    /// Parts of an action with their own log-probability and advantage (1, or the rows of a
    /// simplex with counterfactual baselines).
    pub parts: usize,
    /// Normalised observations.
    pub obs: Vec<f32>,
    pub raw_actions: Vec<f32>,
    /// Legal-action masks (empty for continuous heads).
    pub masks: Vec<bool>,
    /// Per part (`parts` per step).
    pub log_probs: Vec<f32>,
    pub values: Vec<f32>,
    /// Per part, when `parts` > 1: the (scaled) reward had only that part taken its mean action.
    pub counterfactuals: Vec<f32>,
    /// Rewards as trained on (scaled, with the bootstrapped value of truncated episodes added).
    pub rewards: Vec<f32>,
    /// The episode ended with this transition.
    pub dones: Vec<bool>,
    /// Imitation updates: per step, 1 when `raw_actions` holds the expert's label, 0 when the
    /// expert's choice could not be expressed (the step only trains the value). Empty in PPO
    /// updates.
    pub label_weights: Vec<f32>,
}

impl Rollout {
    pub fn new(
        copies: usize,
        obs_len: usize,
        raw_len: usize,
        mask_len: usize,
        parts: usize,
    ) -> Self {
        Self {
            copies,
            obs_len,
            raw_len,
            mask_len,
            parts,
            obs: Vec::new(),
            raw_actions: Vec::new(),
            masks: Vec::new(),
            log_probs: Vec::new(),
            values: Vec::new(),
            counterfactuals: Vec::new(),
            rewards: Vec::new(),
            dones: Vec::new(),
            label_weights: Vec::new(),
        }
    }

    /// Room for `steps` more steps of every copy, so that a rollout is allocated once instead
    /// of copied on every doubling (observations alone can be over 100 MB).
    pub fn reserve(&mut self, steps: usize) {
        let n = steps * self.copies;
        self.obs.reserve(n * self.obs_len);
        self.raw_actions.reserve(n * self.raw_len);
        self.masks.reserve(n * self.mask_len);
        self.log_probs.reserve(n * self.parts);
        self.values.reserve(n);
        if self.parts > 1 {
            self.counterfactuals.reserve(n * self.parts);
        }
        self.rewards.reserve(n);
        self.dones.reserve(n);
    }

    /// Whether `other` holds steps of the same widths.
    pub fn same_shape(&self, other: &Rollout) -> bool {
        (
            self.copies,
            self.obs_len,
            self.raw_len,
            self.mask_len,
            self.parts,
        ) == (
            other.copies,
            other.obs_len,
            other.raw_len,
            other.mask_len,
            other.parts,
        )
    }

    /// Empties every array, keeping its memory. (Every field is named, so that an array added
    /// later cannot carry one rollout's steps into the next.)
    pub fn clear(&mut self) {
        let Rollout {
            copies: _,
            obs_len: _,
            raw_len: _,
            mask_len: _,
            parts: _,
            obs,
            raw_actions,
            masks,
            log_probs,
            values,
            counterfactuals,
            rewards,
            dones,
            label_weights,
        } = self;
        for v in [
            obs,
            raw_actions,
            log_probs,
            values,
            counterfactuals,
            rewards,
            label_weights,
        ] {
            v.clear();
        }
        masks.clear();
        dones.clear();
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Checks that every array holds `len()` transitions of the declared widths (a rollout
    /// from another process is read before anything trusts it).
    pub fn check(&self) -> Result<(), String> {
        let n = self.len();
        let optional = |len: usize, per: usize| len == 0 || len == n * per;
        let ok = self.copies > 0
            && n.is_multiple_of(self.copies)
            && self.obs.len() == n * self.obs_len
            && self.raw_actions.len() == n * self.raw_len
            && self.masks.len() == n * self.mask_len
            && self.log_probs.len() == n * self.parts
            && optional(self.counterfactuals.len(), self.parts)
            && self.rewards.len() == n
            && self.dones.len() == n
            && optional(self.label_weights.len(), 1);
        if ok {
            Ok(())
        } else {
            Err(format!(
                "a rollout of {n} transitions over {} copies has arrays of the wrong lengths",
                self.copies
            ))
        }
    }

    /// Appends `other`'s transitions (another worker's copies) after this rollout's.
    pub fn append(&mut self, other: Rollout) -> Result<(), String> {
        other.check()?;
        let widths = |r: &Rollout| (r.obs_len, r.raw_len, r.mask_len, r.parts);
        if widths(self) != widths(&other)
            || self.counterfactuals.is_empty() != other.counterfactuals.is_empty()
            || self.label_weights.is_empty() != other.label_weights.is_empty()
        {
            return Err("its rollout has other widths than the first worker's".into());
        }
        self.copies += other.copies;
        self.obs.extend(other.obs);
        self.raw_actions.extend(other.raw_actions);
        self.masks.extend(other.masks);
        self.log_probs.extend(other.log_probs);
        self.values.extend(other.values);
        self.counterfactuals.extend(other.counterfactuals);
        self.rewards.extend(other.rewards);
        self.dones.extend(other.dones);
        self.label_weights.extend(other.label_weights);
        Ok(())
    }

    /// Advantages and returns (advantage + value) by GAE(lambda), bootstrapping the rollout's
    /// end with `last_values` (one per copy).
    pub fn advantages(&self, last_values: &[f32], gamma: f64, lambda: f64) -> (Vec<f32>, Vec<f32>) {
        let n = self.copies;
        let steps = self.len() / n.max(1);
        let mut adv = vec![0.0f32; self.len()];
        for (c, &last) in last_values.iter().enumerate().take(n) {
            let mut running = 0.0f64;
            for t in (0..steps).rev() {
                let i = t * n + c;
                let next_value = if t + 1 == steps {
                    last
                } else {
                    self.values[i + n]
                };
                let live = if self.dones[i] { 0.0 } else { 1.0 };
                let delta = f64::from(self.rewards[i]) + gamma * f64::from(next_value) * live
                    - f64::from(self.values[i]);
                running = delta + gamma * lambda * live * running;
                adv[i] = running as f32;
            }
        }
        let returns = adv.iter().zip(&self.values).map(|(a, v)| a + v).collect();
        (adv, returns)
    }

    /// Advantages per part (`parts` per step) from the steps' advantages `adv`: the same
    /// advantage for a single part; with counterfactuals, the value baseline swapped for each
    /// part's counterfactual reward, A + V - C (r - C plus the discounted future).
    pub fn part_advantages(&self, adv: &[f32]) -> Vec<f32> {
        if self.counterfactuals.is_empty() {
            return adv.to_vec();
        }
        self.counterfactuals
            .chunks_exact(self.parts)
            .zip(adv.iter().zip(&self.values))
            .flat_map(|(c, (a, v))| c.iter().map(move |c| a + v - c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gae_matches_a_hand_computation_and_stops_at_episode_ends() {
        let mut r = Rollout::new(1, 1, 1, 0, 1);
        r.values = vec![0.5, 1.0, 2.0];
        r.rewards = vec![1.0, 0.0, 3.0];
        r.dones = vec![false, true, false];
        let (adv, ret) = r.advantages(&[4.0], 0.9, 0.8);
        // t=2: 3 + 0.9*4 - 2 = 4.6. t=1 ends its episode: 0 - 1 = -1.
        // t=0: delta = 1 + 0.9*1 - 0.5 = 1.4; + 0.9*0.8*(-1) = 0.68.
        let want = [0.68f32, -1.0, 4.6];
        for (a, w) in adv.iter().zip(want) {
            assert!((a - w).abs() < 1e-5, "{adv:?}");
        }
        assert!((ret[2] - 6.6).abs() < 1e-5);
        // Lambda 1, gamma 1, no ends: advantages are the remaining reward sums minus values.
        let (adv, _) = r.advantages(&[0.0], 1.0, 1.0);
        assert!((adv[1] + 1.0).abs() < 1e-6);
    }

    #[test]
    fn counterfactual_parts_replace_the_value_baseline() {
        let mut r = Rollout::new(1, 1, 2, 0, 2);
        r.values = vec![0.5, 1.0];
        r.rewards = vec![1.0, 2.0];
        r.dones = vec![false, true];
        // Two rows per step: had row 0 (1) taken its mean action, the reward would be 0.25 (1.5).
        r.counterfactuals = vec![0.25, 1.5, 3.0, 2.5];
        // gamma 0: each part's advantage is r - C, whatever the values.
        let (adv, _) = r.advantages(&[7.0], 0.0, 0.9);
        let parts = r.part_advantages(&adv);
        let want = [0.75f32, -0.5, -1.0, -0.5];
        assert!(
            parts.iter().zip(want).all(|(a, w)| (a - w).abs() < 1e-6),
            "{parts:?}"
        );
        // gamma > 0 adds the same discounted future to every part of a step: at step 0,
        // r - C + gamma (V(s1) + A(s1)) with A(s1) = 2 - 1 (the episode ends there).
        let (adv, _) = r.advantages(&[7.0], 0.5, 1.0);
        let parts = r.part_advantages(&adv);
        assert!(
            (parts[0] - (0.75 + 0.5 * (1.0 + 1.0))).abs() < 1e-6,
            "{parts:?}"
        );
        assert!((parts[0] - parts[1] - 1.25).abs() < 1e-6);
        assert_eq!(
            Rollout::new(1, 1, 1, 0, 1).part_advantages(&[0.5]),
            vec![0.5]
        );
    }
}
