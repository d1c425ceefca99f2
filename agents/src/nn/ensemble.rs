//! Several trained policies acting as one: every member sees the same observation, their action
//! parameters (logits, or a Gaussian's means) are averaged, and the first member's head acts on
//! the average. Averaging logits is a geometric mean of the members' categorical
//! distributions; members trained from different seeds err in different places, so their
//! average errs less (Lakshminarayanan et al. 2017), at the members' inference cost summed.

use super::policy::{Mode, NeuralPolicy};
use crate::{Policy, PolicyError};
use planetgym_env::rng::Rng;
use planetgym_env::{Action, Scenario};

#[derive(Debug, Clone)]
pub struct EnsemblePolicy<S: Scenario + Clone> {
    name: String,
    members: Vec<NeuralPolicy<S>>,
    /// A copy of the scenario, used only for its encoder.
    scenario: S,
    mode: Mode,
    rng: Rng,
    buffer: Vec<f32>,
}

impl<S: Scenario + Clone> EnsemblePolicy<S> {
    /// The ensemble of `members`, each loaded for `scenario` (so their observations match it);
    /// refused when there are none or their observations or masks differ in length.
    pub fn new(
        name: &str,
        scenario: &S,
        members: Vec<NeuralPolicy<S>>,
        mode: Mode,
    ) -> Result<Self, PolicyError> {
        let invalid = |message: String| PolicyError::Invalid {
            policy: name.to_string(),
            message,
        };
        let first = members
            .first()
            .ok_or_else(|| invalid("an ensemble needs at least one member".into()))?;
        let (obs_len, mask_len) = (first.obs_len(), first.mask_len());
        if let Some((k, m)) = members
            .iter()
            .enumerate()
            .find(|(_, m)| m.obs_len() != obs_len || m.mask_len() != mask_len)
        {
            return Err(invalid(format!(
                "member {k} reads {} features and {} mask values, member 0 {obs_len} and {mask_len}",
                m.obs_len(),
                m.mask_len()
            )));
        }
        Ok(Self {
            name: name.to_string(),
            buffer: vec![0.0; obs_len],
            members,
            scenario: scenario.clone(),
            mode,
            rng: Rng::new(0),
        })
    }

    fn invalid(&self, message: String) -> PolicyError {
        PolicyError::Invalid {
            policy: self.name.clone(),
            message,
        }
    }
}

impl<S: Scenario + Clone> Policy<S> for EnsemblePolicy<S> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn reset(&mut self, episode_seed: u64) {
        self.rng = Rng::new(episode_seed ^ 0x00AE_0A11);
    }

    fn act(&mut self, obs: &S::Obs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let mut row = std::mem::take(&mut self.buffer);
        self.scenario.encode(obs, &mut row);
        if let Some(i) = row.iter().position(|v| !v.is_finite()) {
            let value = row[i];
            self.buffer = row;
            return Err(self.invalid(format!(
                "encoded feature {i}: {value} is not a finite number"
            )));
        }
        let (mut params, mut log_std) = (Vec::new(), Vec::new());
        for (k, member) in self.members.iter().enumerate() {
            let (out, _) = member.outputs(&row);
            let std = member.brain().log_std();
            if k == 0 {
                (params, log_std) = (out, std);
            } else if out.len() != params.len() || std.len() != log_std.len() {
                self.buffer = row;
                return Err(self.invalid(format!(
                    "member {k} gives {} action parameters, member 0 {}",
                    out.len(),
                    params.len()
                )));
            } else {
                params.iter_mut().zip(out).for_each(|(p, o)| *p += o);
                log_std.iter_mut().zip(std).for_each(|(l, s)| *l += s);
            }
        }
        self.buffer = row;
        let n = self.members.len() as f32;
        params.iter_mut().chain(&mut log_std).for_each(|v| *v /= n);
        let rng = match self.mode {
            Mode::Greedy => None,
            Mode::Sample => Some(&mut self.rng),
        };
        self.members[0]
            .brain()
            .head
            .act(&params, &log_std, mask, rng)
            .map(|(_, action)| action)
            .map_err(|e| PolicyError::Invalid {
                policy: self.name.clone(),
                message: e.to_string(),
            })
    }
}
