//! Rollout storage and generalised advantage estimation.

/// One rollout: `steps x copies` transitions, stored step-major (index = step * copies + copy).
#[derive(Debug, Clone)]
pub struct Rollout {
    pub copies: usize,
    pub obs_len: usize,
    pub raw_len: usize,
    pub mask_len: usize,
    /// Normalised observations.
    pub obs: Vec<f32>,
    pub raw_actions: Vec<f32>,
    /// Legal-action masks (empty for continuous heads).
    pub masks: Vec<bool>,
    pub log_probs: Vec<f32>,
    pub values: Vec<f32>,
    /// Rewards as trained on (scaled, with the bootstrapped value of truncated episodes added).
    pub rewards: Vec<f32>,
    /// The episode ended with this transition.
    pub dones: Vec<bool>,
}

impl Rollout {
    pub fn new(copies: usize, obs_len: usize, raw_len: usize, mask_len: usize) -> Self {
        Self {
            copies,
            obs_len,
            raw_len,
            mask_len,
            obs: Vec::new(),
            raw_actions: Vec::new(),
            masks: Vec::new(),
            log_probs: Vec::new(),
            values: Vec::new(),
            rewards: Vec::new(),
            dones: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gae_matches_a_hand_computation_and_stops_at_episode_ends() {
        let mut r = Rollout::new(1, 1, 1, 0);
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
}
