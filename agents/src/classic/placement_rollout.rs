//! Rollout policy improvement (Bertsekas) on placement: decision-time search with a model of
//! the arriving workload.
//!
//! For each of the base rule's K best node classes for the pod, simulate placing it there and
//! then H more pods by the base rule, and place it on the class whose simulations earn the most
//! of the scenario's reward (GPUs placed - fragment growth - GPUs of failed pods, by the
//! config's weights). The H pods are drawn from the pod list as inflation draws them, up to the
//! inflation target; S such futures are drawn per decision and every candidate meets the same
//! ones. Ties go to the base rule's order, so K = 1 is the base rule.
//!
//! It sees what FGD sees: the cluster, the pod and the workload pods are drawn from. Its
//! futures come from a generator of its own, never the scenario's, so it does not see the
//! pods that will really come.
//!
//! The simulation works on node classes (identical nodes counted, not listed): every base
//! rule scores a node by its class key alone, except first fit, which is refused.

use super::placement::{PlacementHeuristic, PlacementRule};
use crate::{Policy, PolicyError};
use planetgym_env::placement::{
    ArrivalMode, ClassKey, Cluster, GpuSelection, PodRequest, TypicalPod,
};
use planetgym_env::rng::Rng;
use planetgym_env::{Action, PlacementObs, PlacementScenario};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// The most candidate classes a rollout may simulate per decision.
pub const MAX_CANDIDATES: usize = 64;

/// The most futures drawn per decision.
pub const MAX_FUTURES: usize = 64;

/// The most pods simulated per decision (candidates x futures x (horizon + 1)): a bound on
/// decision time (about 2.4 us per simulated pod on the openb cluster, one thread).
pub const MAX_SIMULATED: usize = 1 << 15;

/// Base-rule costs memoised at most this many (class, pod) pairs (cleared past it).
const COSTS_KEPT: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct PlacementRollout {
    base: PlacementHeuristic,
    candidates: usize,
    horizon: usize,
    futures: usize,
    /// The pods of the pod list, which inflation draws uniformly.
    workload: Arc<Vec<PodRequest>>,
    /// A future ends at the draw that would take arrived GPU milli past this.
    target_gpu_milli: f64,
    total_gpu_milli: f64,
    selection: GpuSelection,
    weights: [f64; 3],
    rng: Rng,
    /// The base rule's cost of each (class, pod) the simulations met, for pods that fit.
    costs: FxHashMap<(ClassKey, PodRequest), f64>,
}

impl PlacementRollout {
    /// `rollout-RULE@K+H` or `rollout-RULE@K+HxS` on `env`: checked against the bounds above.
    pub fn new(
        rule: PlacementRule,
        candidates: usize,
        horizon: usize,
        futures: usize,
        env: &PlacementScenario,
    ) -> Result<Self, String> {
        let config = env.config();
        if rule == PlacementRule::FirstFit {
            return Err("first fit picks by node number, which the class-level simulation does not keep; use another base rule".into());
        }
        if config.mode != ArrivalMode::Inflation {
            return Err("rollout search draws future pods as inflation does; the scenario's mode must be \"inflation\"".into());
        }
        if !(1..=MAX_CANDIDATES).contains(&candidates) {
            return Err(format!(
                "the candidate count {candidates} must be in [1, {MAX_CANDIDATES}]"
            ));
        }
        if !(1..=MAX_FUTURES).contains(&futures) {
            return Err(format!(
                "the future count {futures} must be in [1, {MAX_FUTURES}]"
            ));
        }
        let simulated = candidates
            .saturating_mul(futures)
            .saturating_mul(horizon.saturating_add(1));
        if simulated > MAX_SIMULATED {
            return Err(format!(
                "candidates x futures x (horizon + 1) = {simulated} pods simulated per decision; at most {MAX_SIMULATED}"
            ));
        }
        let total_gpu_milli = env.total_gpus() * 1000.0;
        let w = &config.reward;
        Ok(Self {
            base: PlacementHeuristic::new(rule),
            candidates,
            horizon,
            futures,
            workload: Arc::new(env.trace_pods().iter().map(|p| p.request).collect()),
            target_gpu_milli: config.inflation_target * total_gpu_milli,
            total_gpu_milli,
            selection: config.gpu_selection,
            weights: [
                w.allocation_weight,
                w.fragmentation_weight,
                w.failure_weight,
            ],
            rng: Rng::new(0),
            costs: FxHashMap::default(),
        })
    }

    /// `futures` draws of up to `horizon` pods each, as inflation would draw them from here.
    fn draw_futures(&mut self, arrived_gpu_milli: f64) -> Vec<Vec<PodRequest>> {
        (0..self.futures)
            .map(|_| {
                let mut arrived = arrived_gpu_milli;
                let mut future = Vec::with_capacity(self.horizon);
                while future.len() < self.horizon && !self.workload.is_empty() {
                    let pod = self.workload[self.rng.below(self.workload.len())];
                    arrived += f64::from(pod.gpu_total());
                    if arrived > self.target_gpu_milli {
                        break;
                    }
                    future.push(pod);
                }
                future
            })
            .collect()
    }
}

/// A cluster as counts of node classes, changed by placements that can be undone.
#[derive(Debug, Default)]
struct ClassCounts {
    keys: Vec<ClassKey>,
    counts: Vec<u32>,
    index: FxHashMap<ClassKey, usize>,
    /// Placements to undo: (class left, class entered, whether the latter was created).
    moves: Vec<(usize, usize, bool)>,
}

impl ClassCounts {
    fn of(cluster: &Cluster) -> Self {
        let mut counts = Self::default();
        for (_, class) in cluster.classes() {
            counts.index.insert(class.key, counts.keys.len());
            counts.keys.push(class.key);
            counts.counts.push(class.members.len() as u32);
        }
        counts
    }

    /// Moves one node of class `from` into state `to`.
    fn apply(&mut self, from: usize, to: ClassKey) {
        let (id, created) = match self.index.get(&to) {
            Some(&id) => (id, false),
            None => {
                self.index.insert(to, self.keys.len());
                self.keys.push(to);
                self.counts.push(0);
                (self.keys.len() - 1, true)
            }
        };
        self.counts[from] -= 1;
        self.counts[id] += 1;
        self.moves.push((from, id, created));
    }

    /// Undoes every placement since the counts were made.
    fn undo_all(&mut self) {
        while let Some((from, to, created)) = self.moves.pop() {
            self.counts[to] -= 1;
            self.counts[from] += 1;
            if created {
                self.counts.pop();
                if let Some(key) = self.keys.pop() {
                    self.index.remove(&key);
                }
            }
        }
    }
}

/// One simulation's surroundings: the scenario's rules and the base rule's memoised costs.
struct Simulator<'a> {
    rule: PlacementRule,
    selection: GpuSelection,
    weights: [f64; 3],
    typical: &'a [TypicalPod],
    fragment: &'a mut dyn FnMut(&ClassKey) -> f64,
    costs: &'a mut FxHashMap<(ClassKey, PodRequest), f64>,
}

impl Simulator<'_> {
    /// The class the base rule places `pod` on (ties: the first), or `None` if none fits.
    fn base_choice(&mut self, counts: &ClassCounts, pod: &PodRequest) -> Option<usize> {
        if self.costs.len() > COSTS_KEPT {
            self.costs.clear();
        }
        let mut best: Option<(f64, usize)> = None;
        for (id, (key, &count)) in counts.keys.iter().zip(&counts.counts).enumerate() {
            if count == 0 || !key.fits(pod) {
                continue;
            }
            let cost = match self.costs.get(&(*key, *pod)) {
                Some(&cost) => cost,
                None => {
                    let cost = self.rule.cost_with(key, pod, self.typical, self.fragment);
                    self.costs.insert((*key, *pod), cost);
                    cost
                }
            };
            if best.is_none_or(|(b, _)| cost < b) {
                best = Some((cost, id));
            }
        }
        best.map(|(_, id)| id)
    }

    /// Places `pod` on a node of class `id` (which fits it), as the scenario would; returns
    /// the reward (unscaled: GPU milli).
    fn place(&mut self, counts: &mut ClassCounts, id: usize, pod: &PodRequest) -> f64 {
        let key = counts.keys[id];
        let gpu = if pod.is_sharing() {
            self.selection.pick(&key, pod, self.typical)
        } else {
            None
        };
        let after = key.after(pod, gpu);
        let growth = (self.fragment)(&after) - (self.fragment)(&key);
        counts.apply(id, after);
        self.weights[0] * f64::from(pod.gpu_total()) - self.weights[1] * growth
    }

    /// The reward of placing `pod` on class `id`, then `future` by the base rule.
    fn rollout(
        &mut self,
        counts: &mut ClassCounts,
        id: usize,
        pod: &PodRequest,
        future: &[PodRequest],
    ) -> f64 {
        let mut reward = self.place(counts, id, pod);
        for next in future {
            reward += match self.base_choice(counts, next) {
                Some(at) => self.place(counts, at, next),
                None => -self.weights[2] * f64::from(next.gpu_total()),
            };
        }
        counts.undo_all();
        reward
    }
}

impl Policy<PlacementScenario> for PlacementRollout {
    fn name(&self) -> String {
        let mut name = format!(
            "rollout-{}@{}+{}",
            self.base.rule().name(),
            self.candidates,
            self.horizon
        );
        if self.futures > 1 {
            name += &format!("x{}", self.futures);
        }
        name
    }

    fn reset(&mut self, episode_seed: u64) {
        self.base.reset(episode_seed);
        // A stream apart from the scenario's (seeded by the episode seed itself), so the
        // drawn futures are not the pods that will come.
        self.rng = Rng::new(episode_seed ^ 0x5EA2_C4F0_7E11_0A57);
        self.costs.clear();
    }

    fn uses_mask(&self) -> bool {
        false
    }

    fn act(&mut self, obs: &PlacementObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        self.base.find_best(obs, self.candidates);
        let candidates = self.base.top().to_vec();
        let mut instead = None;
        if candidates.len() > 1 {
            let futures = self.draw_futures(obs.arrived_gpu_ratio * self.total_gpu_milli);
            let mut counts = ClassCounts::of(&obs.cluster);
            // (class in the cluster, class in the counts): every candidate is in both.
            let ids: Vec<(usize, usize)> = candidates
                .iter()
                .filter_map(|&class| {
                    let id = counts.index.get(&obs.cluster.class(class).key)?;
                    Some((class, *id))
                })
                .collect();
            let (rule, selection, weights) = (self.base.rule(), self.selection, self.weights);
            let costs = &mut self.costs;
            let scores: Vec<f64> = self.base.with_fragments(&obs.typical, |fragment| {
                let mut sim = Simulator {
                    rule,
                    selection,
                    weights,
                    typical: &obs.typical,
                    fragment,
                    costs,
                };
                ids.iter()
                    .map(|&(_, id)| {
                        futures
                            .iter()
                            .map(|f| sim.rollout(&mut counts, id, &obs.pod, f))
                            .sum::<f64>()
                    })
                    .collect()
            });
            // The first best keeps the base rule's order on ties.
            let best = scores
                .iter()
                .enumerate()
                .fold(0, |b, (i, &s)| if s > scores[b] { i } else { b });
            instead = ids.get(best).map(|&(class, _)| class);
        }
        self.base
            .choose(&obs.cluster, instead)
            .map(Action::Discrete)
            .ok_or_else(|| PolicyError::Invalid {
                policy: self.name(),
                message: "no node can host the pod".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

    use super::*;
    use planetgym_env::placement::PlacementConfig;
    use planetgym_env::{Scenario, ScenarioConfig};

    fn small() -> PlacementScenario {
        let config = "synthetic_nodes = 200\ninflation_target = 1.0";
        PlacementScenario::new(PlacementConfig::from_toml(config, "test").unwrap()).unwrap()
    }

    #[test]
    fn one_placement_simulated_earns_what_the_scenario_pays_and_is_undone() {
        let mut env = small();
        let search = PlacementRollout::new(PlacementRule::Fgd, 8, 0, 1, &env).unwrap();
        let mut fgd = PlacementHeuristic::new(PlacementRule::Fgd);
        let mut obs = env.reset(3);
        fgd.reset(3);
        let (mut checked, mut failed_so_far) = (0, 0.0);
        for _ in 0..300 {
            let mut counts = ClassCounts::of(&obs.cluster);
            let (keys, numbers) = (counts.keys.clone(), counts.counts.clone());
            for (class, c) in obs.cluster.classes().filter(|(_, c)| c.key.fits(&obs.pod)) {
                let mut costs = FxHashMap::default();
                let mut fragment =
                    |k: &ClassKey| planetgym_env::placement::node_fragment(k, &obs.typical);
                let mut sim = Simulator {
                    rule: PlacementRule::Fgd,
                    selection: search.selection,
                    weights: search.weights,
                    typical: &obs.typical,
                    fragment: &mut fragment,
                    costs: &mut costs,
                };
                let id = counts.index[&c.key];
                let simulated = sim.rollout(&mut counts, id, &obs.pod, &[]);
                assert_eq!((&counts.keys, &counts.counts), (&keys, &numbers), "undone");
                assert_eq!(counts.index.len(), keys.len());
                let node = c.members[0] as usize;
                let t = env.clone().step(&Action::Discrete(node)).unwrap();
                if t.info.get(env.metric_names(), "failed_pods") == Some(failed_so_far) {
                    let paid = t.reward * search.total_gpu_milli / 100.0;
                    assert!(
                        (simulated - paid).abs() < 1e-6 * paid.abs().max(1.0),
                        "class {class}: simulated {simulated}, paid {paid}"
                    );
                    checked += 1;
                }
            }
            let Action::Discrete(node) = fgd.act(&obs, None).unwrap() else {
                unreachable!()
            };
            let t = env.step(&Action::Discrete(node)).unwrap();
            failed_so_far = t.info.get(env.metric_names(), "failed_pods").unwrap();
            if t.terminated {
                break;
            }
            obs = t.obs;
        }
        assert!(checked > 1000, "{checked}");
    }
}
