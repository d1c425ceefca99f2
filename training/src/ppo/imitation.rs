//! Imitation before PPO (DAgger): during the first `imitation.updates` updates every step is
//! labelled with the action an expert baseline takes in that state, the update fits the
//! network to the labels, and the action taken is the expert's with a probability that falls
//! from `imitation.expert_fraction` to 0, else the network's own sample.

use super::config::ImitationConfig;
use crate::error::{Result, TrainingError};
use planetgym_agents::Contender;
use planetgym_agents::evaluate::ContenderFactory;
use planetgym_agents::nn::head::ActionHead;
use planetgym_env::{Action, Scenario, VecEnv};

/// One expert per env copy, each reset with its copy's episode seed.
pub struct Experts<S: Scenario> {
    contenders: Vec<Contender<S>>,
    /// The episode each expert was last reset for.
    episodes: Vec<Option<u64>>,
}

impl<S: Scenario> std::fmt::Debug for Experts<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Experts({} copies)", self.contenders.len())
    }
}

/// An expert's choice for one copy: its raw action under the network's head (None when the
/// head cannot express it, e.g. a job beyond the visible ones), and the action itself.
#[derive(Debug)]
pub struct Label {
    pub raw: Option<Vec<f32>>,
    pub action: Action,
}

impl<S: Scenario> Experts<S> {
    pub fn new(make: &ContenderFactory<S>, copies: usize) -> Self {
        Self {
            contenders: (0..copies).map(|_| make()).collect(),
            episodes: vec![None; copies],
        }
    }

    /// Every copy's label in its current state.
    pub fn label(&mut self, envs: &VecEnv<S>, head: &ActionHead) -> Result<Vec<Label>> {
        let mut labels = Vec::with_capacity(self.contenders.len());
        for (i, expert) in self.contenders.iter_mut().enumerate() {
            let at = || format!("imitation, copy {i}");
            let (Some(scenario), Some(obs)) = (envs.scenario(i), envs.typed_observation(i)) else {
                return Err(TrainingError::run(at(), "no such copy"));
            };
            let episode = envs.episode(i);
            if self.episodes[i] != episode {
                if let Some(seed) = envs.episode_seed_of(i) {
                    expert.reset(seed);
                }
                self.episodes[i] = episode;
            }
            let action = expert
                .act(scenario, obs)
                .map_err(|e| TrainingError::run(at(), e))?;
            labels.push(Label {
                raw: head.raw_of(&action, scenario.action_mask()),
                action,
            });
        }
        Ok(labels)
    }
}

/// The probability that the expert's action is taken at update `update` (counted from 0), or
/// None once imitation is over.
pub fn expert_fraction(config: &ImitationConfig, update: u64) -> Option<f64> {
    (update < config.updates)
        .then(|| config.expert_fraction * (1.0 - update as f64 / config.updates as f64))
}

/// Checks that `head` can learn from labels: discrete, multi-discrete and simplex heads.
pub fn check_head(head: &ActionHead, scenario: &str) -> Result<()> {
    match head {
        ActionHead::Discrete { .. }
        | ActionHead::MultiDiscrete { .. }
        | ActionHead::Simplex { .. } => Ok(()),
        ActionHead::Gaussian { .. } => Err(TrainingError::config(
            "imitation.expert",
            format!(
                "imitation needs discrete, multi-discrete or simplex actions; {scenario}'s box actions have no unique raw action to label"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expert_fraction_falls_to_zero_then_imitation_ends() {
        let config = ImitationConfig {
            expert: "sjf".into(),
            updates: 4,
            expert_fraction: 0.8,
        };
        for (update, expected) in [0.8, 0.6, 0.4, 0.2].into_iter().enumerate() {
            let fraction = expert_fraction(&config, update as u64).unwrap();
            assert!((fraction - expected).abs() < 1e-12, "{update}: {fraction}");
        }
        assert_eq!(
            (expert_fraction(&config, 4), expert_fraction(&config, 5)),
            (None, None)
        );
    }
}
