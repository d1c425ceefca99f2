//! Rollout search guided by a learned policy (issue 20's "search at decision time, with the
//! learned policy as prior"): the policy's K most likely visible jobs are the candidates, and
//! the fair rollout search ([`RolloutScheduler`]) simulates each with its base rule and runs the
//! cheapest. With K = 1 it is the learned policy; the same search over the base rule's own K
//! best jobs (`rollout-RULE@K`) is its ablation: what the learned ranking adds. The union
//! variant (`union-rollout-RULE@K`) keeps the ablation's K candidates and adds the policy's K
//! most likely: the policy can only propose, and wins only where the simulation says its
//! proposal is strictly cheaper (ties go to the base rule's choices).

use super::batch_rollout::RolloutScheduler;
use crate::nn::policy::NeuralPolicy;
use crate::{Policy, PolicyError};
use planetgym_env::batch::BatchObs;
use planetgym_env::{Action, BatchScenario};

#[derive(Clone)]
pub struct GuidedRollout {
    prior: NeuralPolicy<BatchScenario>,
    search: RolloutScheduler,
    /// Also the base rule's own K best (`union-rollout-RULE@K`), ahead of the policy's.
    union: bool,
}

impl std::fmt::Debug for GuidedRollout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl GuidedRollout {
    pub fn new(prior: NeuralPolicy<BatchScenario>, search: RolloutScheduler, union: bool) -> Self {
        Self {
            prior,
            search,
            union,
        }
    }
}

/// The `k` unmasked positions with the highest logits, best first (the earlier on ties).
fn most_likely(logits: &[f32], mask: &[bool], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..logits.len().min(mask.len()))
        .filter(|&i| mask[i])
        .collect();
    order.sort_by(|&i, &j| logits[j].total_cmp(&logits[i]).then(i.cmp(&j)));
    order.truncate(k.max(1));
    order
}

/// `base` (best first), then the positions of `proposed` it lacks, in `proposed`'s order.
fn union(mut base: Vec<usize>, proposed: Vec<usize>) -> Vec<usize> {
    for p in proposed {
        if !base.contains(&p) {
            base.push(p);
        }
    }
    base
}

impl Policy<BatchScenario> for GuidedRollout {
    fn name(&self) -> String {
        let union = if self.union { "union-" } else { "" };
        format!("{}+{union}{}", self.prior.name(), self.search.name())
    }

    fn reset(&mut self, episode_seed: u64) {
        self.prior.reset(episode_seed);
        self.search.reset(episode_seed);
    }

    fn act(&mut self, obs: &BatchObs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let Some(mask) = mask else {
            return Err(PolicyError::Invalid {
                policy: self.name(),
                message: "needs the scenario's action mask (the visible jobs)".into(),
            });
        };
        let logits = self.prior.action_parameters(obs)?;
        let mut candidates = most_likely(&logits, mask, self.search.candidates);
        if self.union {
            candidates = union(self.search.candidates(&obs.queue), candidates);
        }
        self.search.act_among(obs, candidates).map(Action::Discrete)
    }
}

#[cfg(test)]
mod tests {
    use super::{most_likely, union};

    #[test]
    fn candidates_are_the_unmasked_highest_logits_earlier_first_on_ties() {
        let logits = [0.5, 2.0, 3.0, 2.0, -1.0];
        let mask = [true, true, false, true, true];
        assert_eq!(most_likely(&logits, &mask, 3), vec![1, 3, 0]);
        assert_eq!(most_likely(&logits, &mask, 10), vec![1, 3, 0, 4]);
        assert_eq!(most_likely(&logits, &mask, 0), vec![1], "at least one");
    }

    #[test]
    fn a_union_keeps_the_base_order_and_appends_only_new_proposals() {
        assert_eq!(union(vec![4, 0, 2], vec![2, 7, 4, 5]), vec![4, 0, 2, 7, 5]);
        assert_eq!(union(vec![1, 3], vec![3, 1]), vec![1, 3], "nothing new");
    }
}
