//! Placement heuristics of the FGD paper's evaluation (Weng et al., ATC'23), scored once per
//! group of identical nodes (`Cluster` classes) and resolved to the lowest-numbered node of the
//! best group.
//!
//! Definitions follow the authors' simulator (resources: free CPU in milli, free GPU in milli
//! summed over the node's GPUs; `128000` and `8000` are its normalisers):
//! - best fit: least `0.5 (cpu_free - cpu) / 128000 + 0.5 (gpu_free - gpu) / 8000` left over;
//! - worst fit: most `(cpu_free - cpu) + 100 (gpu_free - gpu)` left over;
//! - dot product: least `[cpu_free/128000, gpu_free/8000] . [cpu/128000, gpu/8000]`;
//! - GPU packing: prefer partly used GPUs (the fuller the better), then free GPUs of partly used
//!   nodes, then untouched nodes with fewer GPUs;
//! - GPU clustering: prefer nodes holding only pods of the same kind (sharing, 1, 2, ... GPUs),
//!   then mixed nodes holding that kind, then empty nodes; among them the fuller;
//! - FGD: least growth of the node's expected fragmentation under the target workload;
//! - first fit: lowest-numbered feasible node; random: uniform over feasible nodes.
//!
//! Ties are broken uniformly at random among the tied nodes (seeded), as in the reference
//! simulator.
//!
//! Scores depend only on a class's state and the pod, so each policy keeps, per recent pod
//! request, its feasible classes ranked by score and brings the ranking up to date from the
//! cluster's log of touched classes: a decision costs O(changed classes x log) instead of
//! O(classes) (10,000 classes on a 100,000-node cluster). Departure: the GPU a sharing pod takes inside the chosen node is the scenario's `gpu_selection` for every
//! policy (FGD's own choice is `gpu_selection = "fgd"`).

use super::placement_rollout::PlacementRollout;
use crate::comparison::EpisodeBudget;
use crate::evaluate::ContenderFactory;
use crate::registry::{CurveSpec, OutcomeModel, RegisteredScenario, ReportExtra, holdout_set};
use crate::{Contender, Policy, PolicyError};
use planetgym_env::EnvError;
use planetgym_env::placement::PlacementConfig;
use planetgym_env::placement::{
    ClassIndex, ClassKey, Cluster, FragmentMemo, PodRequest, RequestIndexes, TypicalPod,
    fragment_growth, growth_with,
};
use planetgym_env::rng::Rng;
use planetgym_env::{Action, PlacementObs, PlacementScenario};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementRule {
    FirstFit,
    BestFit,
    WorstFit,
    DotProduct,
    GpuPacking,
    GpuClustering,
    Fgd,
}

impl PlacementRule {
    pub const ALL: [PlacementRule; 7] = [
        PlacementRule::FirstFit,
        PlacementRule::BestFit,
        PlacementRule::WorstFit,
        PlacementRule::DotProduct,
        PlacementRule::GpuPacking,
        PlacementRule::GpuClustering,
        PlacementRule::Fgd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PlacementRule::FirstFit => "first-fit",
            PlacementRule::BestFit => "best-fit",
            PlacementRule::WorstFit => "worst-fit",
            PlacementRule::DotProduct => "dot-product",
            PlacementRule::GpuPacking => "gpu-packing",
            PlacementRule::GpuClustering => "gpu-clustering",
            PlacementRule::Fgd => "fgd",
        }
    }

    /// `cost`, with FGD's node fragments supplied by `fragment` (e.g. memoised).
    pub fn cost_with(
        self,
        key: &ClassKey,
        pod: &PodRequest,
        typical: &[TypicalPod],
        fragment: &mut dyn FnMut(&ClassKey) -> f64,
    ) -> f64 {
        match self {
            PlacementRule::Fgd => growth_with(key, pod, fragment),
            _ => self.cost(key, pod, typical),
        }
    }

    /// Cost of placing `pod` on a node in state `key` (which fits it); the least wins.
    pub fn cost(self, key: &ClassKey, pod: &PodRequest, typical: &[TypicalPod]) -> f64 {
        let cpu_left = f64::from(key.cpu_left) - f64::from(pod.cpu_milli);
        let gpu_free = f64::from(key.gpu_left_total());
        let gpu_left = gpu_free - f64::from(pod.gpu_total());
        match self {
            PlacementRule::FirstFit => 0.0,
            PlacementRule::BestFit => 0.5 * cpu_left / 128_000.0 + 0.5 * gpu_left / 8000.0,
            PlacementRule::WorstFit => -(cpu_left + 100.0 * gpu_left),
            PlacementRule::DotProduct => {
                (f64::from(key.cpu_left) / 128_000.0) * (f64::from(pod.cpu_milli) / 128_000.0)
                    + (gpu_free / 8000.0) * (f64::from(pod.gpu_total()) / 8000.0)
            }
            PlacementRule::GpuPacking => -gpu_packing_score(key, pod),
            PlacementRule::GpuClustering => -gpu_clustering_score(key, pod),
            PlacementRule::Fgd => fragment_growth(key, pod, typical),
        }
    }
}

/// GPU packing's score (higher is better), after the authors' simulator.
fn gpu_packing_score(key: &ClassKey, pod: &PodRequest) -> f64 {
    if pod.num_gpu == 0 {
        return 0.0;
    }
    let gpus = usize::from(key.spec.gpus);
    let fully_free = key.fully_free_gpus();
    if fully_free == gpus {
        return (33 - fully_free as i64).max(fully_free as i64) as f64;
    }
    // The GPUs the pod would take: the fullest that fit.
    let mut fitting: Vec<u16> = key.gpu_left[..gpus]
        .iter()
        .copied()
        .filter(|&g| g >= pod.gpu_milli)
        .collect();
    fitting.sort_unstable();
    let chosen = &fitting[..usize::from(pod.num_gpu).min(fitting.len())];
    let free_used = chosen.iter().filter(|&&g| g == 1000).count() as i64;
    if free_used > 0 {
        (50 - free_used).max(33) as f64
    } else {
        let percent: i64 = chosen.iter().map(|&g| i64::from(g) * 100 / 1000).sum();
        (100 - percent / 10).max(50) as f64
    }
}

/// GPU clustering's score (higher is better), after the authors' simulator.
fn gpu_clustering_score(key: &ClassKey, pod: &PodRequest) -> f64 {
    let tag = pod.tag();
    if tag == 0 {
        return 0.0;
    }
    let base = 25 * (8000 - i64::from(key.gpu_left_total())) / 8000;
    let offset = match key.tags {
        0 => 25,
        t if t == tag => 75,
        t if t & tag != 0 => 50,
        _ => 0,
    };
    (base + offset) as f64
}

/// Class rankings kept for at most this many pod requests at once, fewer on clusters with
/// many classes (8M class slots in all): the openb default trace's 64 most common
/// requests are 97 % of its pods.
const RANKED_ENTRIES: usize = 1 << 23;
const RANKED_REQUESTS: usize = 256;

/// Node fragments memoised at most this many states (long episodes rarely revisit old ones).
const FRAGMENTS_KEPT: usize = 1 << 18;

/// Scores each group of identical feasible nodes by `rule` and picks a node of the best
/// groups: uniformly at random among all tied nodes (seeded by the episode), as the reference
/// simulator breaks ties, or the lowest-numbered one for first fit.
#[derive(Debug, Clone)]
pub struct PlacementHeuristic {
    rule: PlacementRule,
    rng: Rng,
    /// FGD: node fragments by state, computed once per state (node states recur constantly;
    /// the target workload is fixed per scenario, and the memo is cleared every episode).
    fragments: FragmentMemo,
    rankings: RequestIndexes<Ranking>,
    /// The tied best classes of the current decision (kept to reuse its memory).
    tied: Vec<usize>,
    /// The first classes of the current decision's ranking, best first (as many as asked).
    top: Vec<usize>,
}

/// The classes that can host one pod request, by score.
#[derive(Debug, Clone, Default)]
struct Ranking {
    order: BTreeSet<(u64, u32)>,
    /// Score of each class id in `order` (NaN for the others).
    score: Vec<f64>,
}

/// A key that sorts finite floats in their numeric order.
fn sortable(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

impl ClassIndex for Ranking {
    type Entry = f64;

    fn set(&mut self, id: usize, score: Option<f64>) {
        if self.score.len() <= id {
            self.score.resize(id + 1, f64::NAN);
        }
        let old = std::mem::replace(&mut self.score[id], score.unwrap_or(f64::NAN));
        if !old.is_nan() {
            self.order.remove(&(sortable(old), id as u32));
        }
        if let Some(s) = score {
            self.order.insert((sortable(s), id as u32));
        }
    }
}

impl Ranking {
    /// Fills `tied` with the class ids whose score ties with the best, in id order (already
    /// so when they share one score: ties of thousands of classes are common).
    fn best(&self, tied: &mut Vec<usize>) {
        tied.clear();
        let Some(&(_, id)) = self.order.first() else {
            return;
        };
        let best = self.score[id as usize];
        let limit = best + 1e-12 * best.abs().max(1.0);
        tied.extend(
            self.order
                .iter()
                .take_while(|&&(_, id)| self.score[id as usize] <= limit)
                .map(|&(_, id)| id as usize),
        );
        if !tied.is_sorted() {
            tied.sort_unstable();
        }
    }
}

impl PlacementHeuristic {
    pub fn new(rule: PlacementRule) -> Self {
        Self {
            rule,
            rng: Rng::new(0),
            fragments: FragmentMemo::new(FRAGMENTS_KEPT),
            rankings: RequestIndexes::new(RANKED_REQUESTS, RANKED_ENTRIES),
            tied: Vec::new(),
            top: Vec::new(),
        }
    }

    /// Fills `self.tied` with the best classes for the observation's pod, and `self.top` with
    /// the first `top` classes of its ranking, from the ranking brought up to date.
    pub(super) fn find_best(&mut self, obs: &PlacementObs, top: usize) {
        let (rule, pod, typical) = (self.rule, obs.pod, &obs.typical);
        let (rankings, tied, first) = (&mut self.rankings, &mut self.tied, &mut self.top);
        self.fragments.with(typical, |fragment| {
            let mut score = |key: &ClassKey| {
                key.fits(&pod)
                    .then(|| rule.cost_with(key, &pod, typical, fragment))
            };
            let ranking = rankings.current(&obs.cluster, &pod, &mut score);
            ranking.best(tied);
            first.clear();
            first.extend(ranking.order.iter().take(top).map(|&(_, id)| id as usize));
        });
    }

    /// The first classes of the last decision's ranking (`find_best`'s `top`), best first.
    pub(super) fn top(&self) -> &[usize] {
        &self.top
    }

    /// Runs `f` with the memoised node-fragment function for `typical`.
    pub(super) fn with_fragments<R>(
        &self,
        typical: &std::sync::Arc<Vec<TypicalPod>>,
        f: impl FnOnce(&mut dyn FnMut(&ClassKey) -> f64) -> R,
    ) -> R {
        self.fragments.with(typical, f)
    }

    /// A node of the last decision's best classes, picked as the rule picks (uniformly among
    /// the tied nodes, or the lowest-numbered for first fit); with `instead`, a node of that
    /// class alone (which must host the pod), picked the same way.
    pub(super) fn choose(&mut self, cluster: &Cluster, instead: Option<usize>) -> Option<usize> {
        if let Some(id) = instead {
            self.tied.clear();
            self.tied.push(id);
        }
        if self.rule == PlacementRule::FirstFit {
            self.tied
                .iter()
                .filter_map(|&id| cluster.lowest_member(id))
                .min()
        } else {
            let groups = self
                .tied
                .iter()
                .map(|&id| cluster.class(id).members.as_slice());
            pick_uniform(&mut self.rng, groups)
        }
    }

    pub fn rule(&self) -> PlacementRule {
        self.rule
    }
}

impl Policy<PlacementScenario> for PlacementHeuristic {
    fn name(&self) -> String {
        self.rule.name().into()
    }

    fn reset(&mut self, episode_seed: u64) {
        self.rng = Rng::new(episode_seed ^ 0x0070_1ACE);
        self.fragments.clear();
        self.rankings.clear();
    }

    fn uses_mask(&self) -> bool {
        false
    }

    fn act(&mut self, obs: &PlacementObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        self.find_best(obs, 0);
        self.choose(&obs.cluster, None)
            .map(Action::Discrete)
            .ok_or_else(|| PolicyError::Invalid {
                policy: self.name(),
                message: "no node can host the pod".into(),
            })
    }
}

/// A node drawn uniformly from the union of the member lists.
fn pick_uniform<'a>(
    rng: &mut Rng,
    groups: impl Iterator<Item = &'a [u32]> + Clone,
) -> Option<usize> {
    let total: usize = groups.clone().map(|g| g.len()).sum();
    if total == 0 {
        return None;
    }
    let mut pick = rng.below(total);
    for members in groups {
        if pick < members.len() {
            return Some(members[pick] as usize);
        }
        pick -= members.len();
    }
    None
}

/// A uniformly random feasible node (seeded by the episode).
#[derive(Debug, Clone)]
pub struct RandomPlacement {
    rng: Rng,
}

impl Default for RandomPlacement {
    fn default() -> Self {
        Self { rng: Rng::new(0) }
    }
}

impl Policy<PlacementScenario> for RandomPlacement {
    fn name(&self) -> String {
        "random".into()
    }

    fn reset(&mut self, episode_seed: u64) {
        self.rng = Rng::new(episode_seed ^ 0x0070_1ACE);
    }

    fn act(&mut self, obs: &PlacementObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let feasible = obs
            .cluster
            .classes()
            .filter(|(_, c)| c.key.fits(&obs.pod))
            .map(|(_, c)| c.members.as_slice());
        pick_uniform(&mut self.rng, feasible)
            .map(Action::Discrete)
            .ok_or_else(|| PolicyError::Invalid {
                policy: self.name(),
                message: "no node can host the pod".into(),
            })
    }
}

/// Random, then every heuristic.
pub fn baselines() -> Vec<ContenderFactory<PlacementScenario>> {
    let mut all: Vec<ContenderFactory<PlacementScenario>> = vec![Box::new(|| {
        Contender::Fair(Box::new(RandomPlacement::default()))
    })];
    for rule in PlacementRule::ALL {
        all.push(Box::new(move || {
            Contender::Fair(Box::new(PlacementHeuristic::new(rule)))
        }));
    }
    all
}

/// The placement report's curves: the paper's metrics over arrived workload, 0 to 200 % of the
/// cluster's GPUs.
const CURVES: CurveSpec = CurveSpec {
    x_metric: "arrived_gpu_ratio",
    x_max: 2.0,
    x_per_unit: 100.0,
    metrics: &[
        "gpu_allocation_ratio",
        "fragmentation_rate",
        "unallocated_gpu_fraction",
        "failed_pods",
    ],
    title: "GPU allocation vs arrived workload",
    x_label: "arrived GPU requests (% of cluster GPUs)",
    y_label: "allocated GPUs (%)",
};

impl RegisteredScenario for PlacementScenario {
    type Config = PlacementConfig;
    const NAME: &'static str = "placement";
    const DESCRIPTION: &'static str = "service placement: a node for every arriving GPU-sharing pod (Alibaba openb cluster, FGD baselines)";
    const GYM_ID: &'static str = "planetgym/Placement-v0";
    const METRICS: &'static [planetgym_env::Metric] = &planetgym_env::placement::METRICS;
    const REPORT: ReportExtra = ReportExtra::Curves(CURVES);
    const EPISODES: EpisodeBudget = EpisodeBudget {
        pilot: 20,
        max: 200,
    };

    /// The openb workload with 100 % GPU-sharing pods, a mix from the FGD paper that no shared
    /// file holds, on the same nodes.
    fn holdout(dir: &std::path::Path) -> Result<Vec<String>, &'static str> {
        Ok(vec![holdout_set(
            "pods",
            dir,
            "alibaba/gpu_v2023_openb/openb_pod_list_gpushare100.csv",
        )])
    }

    fn build(config: PlacementConfig) -> Result<Self, EnvError> {
        Self::new(config)
    }

    fn baselines(&self, _config: &PlacementConfig) -> Vec<ContenderFactory<Self>> {
        baselines()
    }

    const BASELINE_FORMS: &'static [&'static str] = &[
        "rollout-RULE@K+H or rollout-RULE@K+HxS (rollout search over the base rule RULE's K best node classes, 1 <= K <= 64, simulating H more pods drawn from the pod list, in S futures, 1 <= S <= 64, K x S x (H + 1) <= 32768)",
    ];

    fn baseline_named(
        &self,
        _config: &PlacementConfig,
        name: &str,
    ) -> Option<Result<ContenderFactory<Self>, String>> {
        let (rule, search) = name.strip_prefix("rollout-")?.split_once('@')?;
        let parsed = || -> Result<ContenderFactory<Self>, String> {
            let rule = super::base_rule_named(&PlacementRule::ALL, rule, PlacementRule::name)?;
            let form = || format!("`{name}` is not rollout-RULE@K+H or rollout-RULE@K+HxS");
            let (k, rest) = search.split_once('+').ok_or_else(form)?;
            let (h, s) = rest.split_once('x').unwrap_or((rest, "1"));
            let number = |text: &str, what: &str| {
                text.parse::<usize>()
                    .map_err(|_| format!("{}: the {what} `{text}` is not a whole number", form()))
            };
            let search = PlacementRollout::new(
                rule,
                number(k, "candidate count")?,
                number(h, "horizon")?,
                number(s, "future count")?,
                self,
            )?;
            Ok(Box::new(move || {
                crate::Contender::Fair(Box::new(search.clone()))
            }))
        };
        Some(parsed())
    }

    fn heading(&self, config: &PlacementConfig) -> String {
        format!(
            "scenario placement: {} nodes, {} GPUs, {} trace pods ({}), {:?} arrivals, GPU selection {:?}",
            self.nodes(),
            self.total_gpus(),
            self.trace_pods().len(),
            config.pods,
            config.mode,
            config.gpu_selection
        )
    }

    /// About the pods that fill the cluster once.
    fn steps_per_episode(&self, config: &PlacementConfig) -> usize {
        (self.total_gpus() * config.inflation_target / 0.8) as usize
    }

    fn outcome_model(&self) -> Result<Box<dyn OutcomeModel>, &'static str> {
        Err("placement's reward depends on per-GPU node state that the features summarise")
    }
}
