//! The `placement` scenario: a node for every arriving GPU-sharing pod.
//!
//! Pods come from the Alibaba openb trace, either by Monte-Carlo workload inflation (sampled
//! with replacement until the requested GPUs pass a multiple of the cluster's, none leaving: the
//! FGD paper's evaluation; the pod that would pass the target is not placed) or by trace replay (pods leave at their deletion times). Each pod
//! with at least one feasible node is a decision: `Discrete(nodes)` with the feasibility mask,
//! entity observation with one row per node. Pods with no feasible node fail and are counted.

pub mod cluster;
pub mod config;
mod fit_counts;
pub mod frag;
mod mask;
pub mod request_index;
mod scene;

pub use cluster::{ClassKey, Cluster, LogPosition, NodeSpec, PodRequest};
pub use config::{ArrivalMode, GpuSelection, PlacementConfig};
pub use frag::{
    FragmentMemo, TypicalPod, fragment_growth, growth_with, node_fragment, typical_pods,
};
pub use request_index::{ClassIndex, RequestIndexes};

use crate::config::ScenarioConfig;
use crate::error::ActionError;
use crate::error::EnvError;
use crate::features::{Feature, FeatureSpec, Layout};
use crate::input;
use crate::rng::Rng;
use crate::scenario::{
    Better, Info, Metric, MetricAggregation, Scenario, Transition, metric_names,
};
use crate::scene::Timeline;
use crate::spaces::{Action, Space};
use crate::traces::openb::{self, OpenbNode, OpenbPod};
use fit_counts::FitCounts;
use mask::LazyMask;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// Metrics in every step's `Info` (the cluster after that step, arrivals counting the pod now
/// waiting for a decision; the episode's are the last step's).
pub const METRICS: [Metric; 9] = [
    Metric {
        name: "arrived_gpu_ratio",
        unit: "fraction",
        better: Better::Neither,
        step: "GPUs requested by the pods arrived so far / the cluster's GPUs",
    },
    Metric {
        name: "gpu_allocation_ratio",
        unit: "fraction",
        better: Better::Higher,
        step: "GPUs allocated / the cluster's GPUs",
    },
    Metric {
        name: "fragmentation_rate",
        unit: "fraction",
        better: Better::Lower,
        step: "fragmented GPU capacity (FGD's measure against the target workload) / idle GPU capacity",
    },
    Metric {
        name: "unallocated_gpus",
        unit: "GPUs",
        better: Better::Lower,
        step: "idle GPU capacity in whole GPUs",
    },
    Metric {
        name: "unallocated_gpu_fraction",
        unit: "fraction",
        better: Better::Lower,
        step: "idle GPU capacity / the cluster's GPUs",
    },
    Metric {
        name: "failed_pods",
        unit: "count",
        better: Better::Lower,
        step: "pods that no node could host",
    },
    Metric {
        name: "failed_gpu_ratio",
        unit: "fraction",
        better: Better::Lower,
        step: "GPUs requested by the pods that failed / the cluster's GPUs",
    },
    Metric {
        name: "cpu_utilisation",
        unit: "fraction",
        better: Better::Higher,
        step: "CPU allocated / the cluster's CPU",
    },
    Metric {
        name: "memory_utilisation",
        unit: "fraction",
        better: Better::Higher,
        step: "memory allocated / the cluster's memory",
    },
];
pub const METRIC_NAMES: [&str; 9] = metric_names(&METRICS);

const BUILTIN_NODES: &[u8] = include_bytes!("../../data/openb_node_list_all_node.csv.gz");
const BUILTIN_PODS: &[u8] = include_bytes!("../../data/openb_pod_list_default.csv.gz");

/// The node list `source`: `builtin:openb` (the shipped copy) or a path.
pub fn load_nodes(source: &str) -> Result<Vec<OpenbNode>, EnvError> {
    match source {
        "builtin:openb" => openb::read_nodes(input::from_bytes(BUILTIN_NODES)?, source),
        path => openb::read_nodes(input::open(std::path::Path::new(path))?, path),
    }
}

/// The pod list `source`: `builtin:openb_default` (the shipped copy) or a path.
pub fn load_pods(source: &str) -> Result<Vec<OpenbPod>, EnvError> {
    match source {
        "builtin:openb_default" => openb::read_pods(input::from_bytes(BUILTIN_PODS)?, source),
        path => openb::read_pods(input::open(std::path::Path::new(path))?, path),
    }
}

/// A pod of the trace, as the simulator uses it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TracePod {
    /// Its row in the pod list (0 = the first after the header).
    pub row: usize,
    pub request: PodRequest,
    pub creation: i64,
    pub deletion: Option<i64>,
}

/// What the policy sees: the pod to place and the whole cluster (shared, not copied).
#[derive(Debug, Clone)]
pub struct PlacementObs {
    pub pod: PodRequest,
    pub cluster: Arc<Cluster>,
    /// The target workload fragmentation is measured against.
    pub typical: Arc<Vec<TypicalPod>>,
    pub arrived_gpu_ratio: f64,
    pub gpu_allocation_ratio: f64,
}

impl PartialEq for PlacementObs {
    fn eq(&self, other: &Self) -> bool {
        self.pod == other.pod
            && self.arrived_gpu_ratio == other.arrived_gpu_ratio
            && self.gpu_allocation_ratio == other.gpu_allocation_ratio
            && (0..self.cluster.len()).all(|n| {
                other.cluster.len() == self.cluster.len()
                    && self.cluster.state(n) == other.cluster.state(n)
            })
    }
}

#[derive(Debug, Clone)]
pub struct PlacementScenario {
    config: PlacementConfig,
    models: Arc<Vec<String>>,
    specs: Arc<Vec<NodeSpec>>,
    /// Each node's name in the node list (a synthetic node: its index and the node it copies).
    node_names: Arc<Vec<String>>,
    pods: Arc<Vec<TracePod>>,
    typical: Arc<Vec<TypicalPod>>,
    fragments: FragmentMemo,
    totals: Totals,
    space: Space,
    spec: FeatureSpec,
    episode: Episode,
}

/// Cluster capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Totals {
    gpu_milli: f64,
    cpu_milli: f64,
    memory_mib: f64,
}

/// A placed pod's leaving: (deletion time, node, pod index, GPUs it holds).
type Departure = (i64, usize, usize, Vec<u8>);

/// The state of one episode.
#[derive(Debug, Clone)]
struct Episode {
    started: bool,
    rng: Rng,
    cluster: Arc<Cluster>,
    /// Replay: next pod index and end of the window. Inflation: unused.
    next_pod: usize,
    end_pod: usize,
    /// The pod waiting for a decision.
    current: Option<usize>,
    /// Pods placed in replay mode, by deletion time: (time, node, pod, GPUs used).
    departures: BinaryHeap<Reverse<Departure>>,
    arrived_gpu: f64,
    allocated_gpu: f64,
    allocated_cpu: f64,
    allocated_memory: f64,
    fragment: f64,
    failed_pods: usize,
    failed_gpu: f64,
    mask: LazyMask,
    fit_counts: FitCounts,
    /// The reset found nothing to decide: the next step ends the episode.
    pending_end: bool,
    /// Pods decided so far, and the GPU shares arrived and allocated after each decision.
    decisions: usize,
    timeline: Timeline,
}

impl PlacementScenario {
    pub fn new(config: PlacementConfig) -> Result<Self, EnvError> {
        config.validate().map_err(EnvError::Config)?;
        let nodes = load_nodes(&config.nodes)?;
        let pods = load_pods(&config.pods)?;
        Self::from_trace(config, &nodes, &pods)
    }

    /// A scenario over already loaded node and pod lists.
    pub fn from_trace(
        config: PlacementConfig,
        nodes: &[OpenbNode],
        pods: &[OpenbPod],
    ) -> Result<Self, EnvError> {
        config.validate().map_err(EnvError::Config)?;
        if nodes.is_empty() || pods.is_empty() {
            return Err(EnvError::config(
                "the node list and the pod list must not be empty",
            ));
        }
        let mut models: Vec<String> = Vec::new();
        for n in nodes.iter().filter(|n| !n.model.is_empty()) {
            if !models.contains(&n.model) {
                models.push(n.model.clone());
            }
        }
        // Model sets are 32-bit masks; bit 31 and above mark "no model of this cluster".
        if models.len() > 31 {
            return Err(EnvError::config(format!(
                "{} GPU models: at most 31 are supported",
                models.len()
            )));
        }
        models.sort();
        let model_id = |name: &str| models.iter().position(|m| m == name).map(|i| i as u8);
        let mut specs: Vec<NodeSpec> = nodes
            .iter()
            .map(|n| NodeSpec {
                cpu_milli: n.cpu_milli,
                memory_mib: n.memory_mib,
                gpus: n.gpus as u8,
                model: model_id(&n.model),
            })
            .collect();
        let mut node_names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
        if config.synthetic_nodes > 0 {
            let mut rng = Rng::new(config.synthetic_seed);
            let copied: Vec<usize> = (0..config.synthetic_nodes)
                .map(|_| rng.below(specs.len()))
                .collect();
            specs = copied.iter().map(|&k| specs[k]).collect();
            node_names = copied
                .iter()
                .enumerate()
                .map(|(i, &k)| format!("node {i} (as {})", nodes[k].name))
                .collect();
        }
        let mut trace: Vec<TracePod> = pods
            .iter()
            .enumerate()
            .map(|(row, p)| {
                let allowed = p
                    .gpu_spec
                    .iter()
                    .filter_map(|m| model_id(m))
                    .fold(0u32, |acc, m| acc | (1 << m));
                // A spec naming only models this cluster lacks can never be placed: keep it
                // impossible rather than "any model".
                let allowed = if !p.gpu_spec.is_empty() && allowed == 0 {
                    u32::MAX << models.len()
                } else {
                    allowed
                };
                TracePod {
                    row,
                    request: PodRequest {
                        cpu_milli: p.cpu_milli,
                        memory_mib: p.memory_mib,
                        num_gpu: p.num_gpu as u8,
                        gpu_milli: p.gpu_milli as u16,
                        allowed_models: allowed,
                    },
                    creation: p.creation_time,
                    deletion: p.deletion_time,
                }
            })
            .collect();
        trace.sort_by_key(|p| p.creation);
        let requests: Vec<PodRequest> = trace.iter().map(|p| p.request).collect();
        let typical = typical_pods(&requests, config.typical_coverage);
        let totals = Totals {
            gpu_milli: specs.iter().map(|s| f64::from(s.gpus) * 1000.0).sum(),
            cpu_milli: specs.iter().map(|s| f64::from(s.cpu_milli)).sum(),
            memory_mib: specs.iter().map(|s| f64::from(s.memory_mib)).sum(),
        };
        if totals.gpu_milli <= 0.0 {
            return Err(EnvError::config("the cluster has no GPU"));
        }
        // Inflation stops on requested GPUs: a pod list without GPU pods would never stop.
        if config.mode == ArrivalMode::Inflation && trace.iter().all(|p| p.request.num_gpu == 0) {
            return Err(EnvError::config(
                "mode = \"inflation\" needs GPU pods in the pod list; use mode = \"replay\"",
            ));
        }
        let n = specs.len();
        let cluster = Arc::new(Cluster::new(specs.clone()));
        Ok(Self {
            space: Space::Discrete { n },
            spec: feature_spec(n, config.observe_growth),
            episode: Episode {
                started: false,
                rng: Rng::new(0),
                cluster,
                next_pod: 0,
                end_pod: 0,
                current: None,
                departures: BinaryHeap::new(),
                arrived_gpu: 0.0,
                allocated_gpu: 0.0,
                allocated_cpu: 0.0,
                allocated_memory: 0.0,
                fragment: 0.0,
                failed_pods: 0,
                failed_gpu: 0.0,
                mask: LazyMask::default(),
                fit_counts: FitCounts::default(),
                pending_end: false,
                decisions: 0,
                timeline: Timeline::new(2),
            },
            models: Arc::new(models),
            specs: Arc::new(specs),
            node_names: Arc::new(node_names),
            pods: Arc::new(trace),
            typical: Arc::new(typical),
            fragments: FragmentMemo::new(FRAGMENTS_KEPT),
            totals,
            config,
        })
    }

    pub fn config(&self) -> &PlacementConfig {
        &self.config
    }

    pub fn models(&self) -> &[String] {
        &self.models
    }

    pub fn nodes(&self) -> usize {
        self.specs.len()
    }

    pub fn trace_pods(&self) -> &[TracePod] {
        &self.pods
    }

    pub fn typical(&self) -> &[TypicalPod] {
        &self.typical
    }

    /// The pod-list row of the pod waiting for a decision (None at the end of the episode).
    pub fn current_row(&self) -> Option<usize> {
        self.episode.current.map(|i| self.pods[i].row)
    }

    /// The cluster's total GPUs.
    pub fn total_gpus(&self) -> f64 {
        self.totals.gpu_milli / 1000.0
    }

    /// The pod after the current one, or `None` at the end of the episode.
    fn draw_pod(&mut self) -> Option<usize> {
        let e = &mut self.episode;
        match self.config.mode {
            ArrivalMode::Inflation => {
                let i = e.rng.below(self.pods.len());
                let gpu = f64::from(self.pods[i].request.gpu_total());
                (e.arrived_gpu + gpu <= self.config.inflation_target * self.totals.gpu_milli)
                    .then_some(i)
            }
            ArrivalMode::Replay => (e.next_pod < e.end_pod).then(|| {
                e.next_pod += 1;
                e.next_pod - 1
            }),
        }
    }

    /// Releases replayed pods that have left by `time`.
    fn depart_until(&mut self, time: i64) {
        while let Some(Reverse((t, node, pod, used))) = self.episode.departures.peek().cloned() {
            if t > time {
                break;
            }
            self.episode.departures.pop();
            let request = self.pods[pod].request;
            let before = node_fragment(&self.episode.cluster.key_of(node), &self.typical);
            let cluster = Arc::make_mut(&mut self.episode.cluster);
            cluster.release(node, &request, &used);
            let after = node_fragment(&cluster.key_of(node), &self.typical);
            self.book(&request, -1.0, after - before);
            self.episode.mask.moved(node, self.specs.len());
        }
    }

    /// Adds (sign +1) or removes (-1) a pod's resources from the allocation totals.
    fn book(&mut self, pod: &PodRequest, sign: f64, fragment_change: f64) {
        let e = &mut self.episode;
        e.allocated_gpu += sign * f64::from(pod.gpu_total());
        e.allocated_cpu += sign * f64::from(pod.cpu_milli);
        e.allocated_memory += sign * f64::from(pod.memory_mib);
        e.fragment += fragment_change;
    }

    /// Moves to the next pod that some node can host, failing those none can. Returns the GPU
    /// milli of the pods that failed on the way; `current` is `None` at the end of the episode.
    fn advance_to_decision(&mut self) -> f64 {
        let mut failed = 0.0;
        self.episode.current = None;
        self.episode.mask.invalidate();
        while let Some(i) = self.draw_pod() {
            let pod = self.pods[i];
            if self.config.mode == ArrivalMode::Replay {
                self.depart_until(pod.creation);
            }
            self.episode.arrived_gpu += f64::from(pod.request.gpu_total());
            if self.any_fits(&pod.request) {
                self.episode.current = Some(i);
                break;
            }
            self.episode.failed_pods += 1;
            self.episode.failed_gpu += f64::from(pod.request.gpu_total());
            failed += f64::from(pod.request.gpu_total());
        }
        failed
    }

    /// Whether some node can host `pod` (the mask itself is built only when asked for).
    fn any_fits(&mut self, pod: &PodRequest) -> bool {
        let e = &mut self.episode;
        e.fit_counts.any_fits(&e.cluster, pod)
    }

    fn observation(&self) -> PlacementObs {
        let e = &self.episode;
        PlacementObs {
            pod: e
                .current
                .map(|i| self.pods[i].request)
                .unwrap_or(PodRequest {
                    cpu_milli: 0,
                    memory_mib: 0,
                    num_gpu: 0,
                    gpu_milli: 0,
                    allowed_models: 0,
                }),
            cluster: e.cluster.clone(),
            typical: self.typical.clone(),
            arrived_gpu_ratio: e.arrived_gpu / self.totals.gpu_milli,
            gpu_allocation_ratio: e.allocated_gpu / self.totals.gpu_milli,
        }
    }

    /// Adds the shares of GPUs arrived and allocated to the episode's timeline.
    fn record(&mut self) {
        let e = &mut self.episode;
        let g = self.totals.gpu_milli;
        e.timeline.push(
            e.decisions as f64,
            &[e.arrived_gpu / g, e.allocated_gpu / g],
        );
    }

    fn info(&self) -> Info {
        let e = &self.episode;
        let g = self.totals.gpu_milli;
        let idle = g - e.allocated_gpu;
        Info {
            values: vec![
                e.arrived_gpu / g,
                e.allocated_gpu / g,
                if idle > 0.0 {
                    (e.fragment / idle).clamp(0.0, 1.0)
                } else {
                    0.0
                },
                idle / 1000.0,
                idle / g,
                e.failed_pods as f64,
                e.failed_gpu / g,
                e.allocated_cpu / self.totals.cpu_milli.max(1.0),
                e.allocated_memory / self.totals.memory_mib.max(1.0),
            ],
        }
    }
}

impl GpuSelection {
    /// Index (into the sorted shares of `key`) of the GPU a sharing pod takes.
    pub fn pick(self, key: &ClassKey, pod: &PodRequest, typical: &[TypicalPod]) -> Option<usize> {
        match self {
            // Shares are sorted largest first: the last that fits is the fullest GPU.
            GpuSelection::Best => key.sharing_candidates(pod).last(),
            GpuSelection::Fgd => key
                .sharing_candidates(pod)
                .map(|g| (g, node_fragment(&key.after(pod, Some(g)), typical)))
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
                .map(|(g, _)| g),
        }
    }
}

impl Scenario for PlacementScenario {
    type Obs = PlacementObs;
    type OracleView = ();

    fn name(&self) -> &'static str {
        "placement"
    }

    fn action_space(&self) -> &Space {
        &self.space
    }

    fn feature_spec(&self) -> &FeatureSpec {
        &self.spec
    }

    fn metric_names(&self) -> &'static [&'static str] {
        &METRIC_NAMES
    }

    fn metric_aggregation(&self) -> MetricAggregation {
        MetricAggregation::Final
    }

    fn action_mask(&self) -> Option<&[bool]> {
        // No mask once nothing waits: the step that follows an empty reset ends the episode.
        let pod = &self.pods[self.episode.current?].request;
        Some(self.episode.mask.get(&self.episode.cluster, pod))
    }

    /// The mask's check without building the mask: the node's class must fit the pod.
    fn check_action(&self, action: &Action) -> Result<(), ActionError> {
        self.space.check(action, None, &|_| String::new())?;
        match (action, self.episode.current) {
            (Action::Discrete(node), Some(i))
                if !self
                    .episode
                    .cluster
                    .key_of(*node)
                    .fits(&self.pods[i].request) =>
            {
                Err(ActionError::Masked { action: *node })
            }
            _ => Ok(()),
        }
    }

    fn reset(&mut self, seed: u64) -> PlacementObs {
        let mut rng = Rng::new(seed);
        let (next_pod, end_pod) = match (self.config.mode, self.config.replay_pods) {
            (ArrivalMode::Replay, 0) => (0, self.pods.len()),
            (ArrivalMode::Replay, n) => {
                let n = n.min(self.pods.len());
                let start = rng.below(self.pods.len() - n + 1);
                (start, start + n)
            }
            (ArrivalMode::Inflation, _) => (0, 0),
        };
        let e = &mut self.episode;
        e.started = true;
        e.rng = rng;
        e.cluster = Arc::new(Cluster::new(self.specs.to_vec()));
        e.mask.clear();
        e.fit_counts.clear();
        (e.next_pod, e.end_pod, e.current) = (next_pod, end_pod, None);
        e.departures.clear();
        (
            e.arrived_gpu,
            e.allocated_gpu,
            e.allocated_cpu,
            e.allocated_memory,
        ) = (0.0, 0.0, 0.0, 0.0);
        (e.failed_pods, e.failed_gpu) = (0, 0.0);
        e.fragment = e
            .cluster
            .classes()
            .map(|(_, c)| c.members.len() as f64 * node_fragment(&c.key, &self.typical))
            .sum();
        self.advance_to_decision();
        self.episode.pending_end = self.episode.current.is_none();
        self.episode.decisions = 0;
        self.episode.timeline.clear();
        self.record();
        self.observation()
    }

    fn step(&mut self, action: &Action) -> Result<Transition<PlacementObs>, EnvError> {
        if !self.episode.started {
            return Err(EnvError::NotReset);
        }
        let Some(pod_index) = self.episode.current else {
            // A reset with nothing to decide (no pod of the episode fits anywhere): the first
            // step, whatever node it names, ends the episode; later steps are errors.
            if std::mem::take(&mut self.episode.pending_end) {
                self.check_action(action)?;
                return Ok(Transition {
                    obs: self.observation(),
                    reward: 0.0,
                    terminated: true,
                    truncated: false,
                    info: self.info(),
                });
            }
            return Err(EnvError::EpisodeOver);
        };
        self.check_action(action)?;
        let Action::Discrete(node) = *action else {
            unreachable!("check_action accepts only discrete actions for a discrete space")
        };
        let pod = self.pods[pod_index];
        let fragment_before = self.episode.fragment;
        let key = self.episode.cluster.key_of(node);
        let gpu = if pod.request.is_sharing() {
            self.config
                .gpu_selection
                .pick(&key, &pod.request, &self.typical)
        } else {
            None
        };
        let cluster = Arc::make_mut(&mut self.episode.cluster);
        let used = cluster.place(node, &pod.request, |_| gpu).ok_or_else(|| {
            EnvError::data(
                "placement",
                format!("node {node} passed the mask but cannot host the pod"),
            )
        })?;
        let node_after = node_fragment(&cluster.key_of(node), &self.typical);
        self.episode.mask.moved(node, self.specs.len());
        self.book(
            &pod.request,
            1.0,
            node_after - node_fragment(&key, &self.typical),
        );
        if let (ArrivalMode::Replay, Some(t)) = (self.config.mode, pod.deletion) {
            self.episode
                .departures
                .push(Reverse((t, node, pod_index, used)));
        }
        let failed = self.advance_to_decision();
        self.episode.decisions += 1;
        self.record();
        let w = &self.config.reward;
        let reward = 100.0 / self.totals.gpu_milli
            * (w.allocation_weight * f64::from(pod.request.gpu_total())
                - w.fragmentation_weight * (self.episode.fragment - fragment_before)
                - w.failure_weight * failed);
        Ok(Transition {
            obs: self.observation(),
            reward,
            terminated: self.episode.current.is_none(),
            truncated: false,
            info: self.info(),
        })
    }

    fn scene(&self) -> Result<crate::Scene, EnvError> {
        if !self.episode.started {
            return Err(EnvError::NotReset);
        }
        Ok(scene::scene(self))
    }

    fn encode(&self, obs: &PlacementObs, out: &mut [f32]) {
        let pod = &obs.pod;
        let global = [
            f64::from(pod.cpu_milli) / 64_000.0,
            f64::from(pod.memory_mib) / 262_144.0,
            f64::from(pod.num_gpu) / 8.0,
            f64::from(pod.gpu_milli) / 1000.0,
            obs.arrived_gpu_ratio,
            obs.gpu_allocation_ratio,
        ];
        out[..GLOBAL_FEATURES]
            .iter_mut()
            .zip(global)
            .for_each(|(o, v)| *o = v as f32);
        let cluster = &obs.cluster;
        // Per class once, then copied to its member rows.
        let mut rows = vec![
            [0.0f32; NODE_FEATURES + 1];
            cluster.classes().map(|(id, _)| id + 1).max().unwrap_or(0)
        ];
        if self.config.observe_growth {
            self.fragments.with(&obs.typical, |fragment| {
                for (id, class) in cluster.classes().filter(|(_, c)| c.key.fits(pod)) {
                    rows[id][NODE_FEATURES] =
                        (growth_with(&class.key, pod, fragment) / 8000.0) as f32;
                }
            });
        }
        self.fragments.with_classes(&obs.typical, |fragment| {
            for (id, class) in cluster.classes() {
                let k = &class.key;
                let gpus = f64::from(k.spec.gpus);
                let values = [
                    f64::from(k.cpu_left) / f64::from(k.spec.cpu_milli.max(1)),
                    f64::from(k.memory_left) / f64::from(k.spec.memory_mib.max(1)),
                    if gpus > 0.0 {
                        f64::from(k.gpu_left_total()) / (1000.0 * gpus)
                    } else {
                        0.0
                    },
                    gpus / 8.0,
                    k.fully_free_gpus() as f64 / 8.0,
                    f64::from(k.gpu_left[0]) / 1000.0,
                    if pod.num_gpu > 0 && pod.model_allowed(k.spec.model) {
                        1.0
                    } else {
                        0.0
                    },
                    if k.fits(pod) { 1.0 } else { 0.0 },
                    fragment(id, k) / 8000.0,
                ];
                rows[id]
                    .iter_mut()
                    .zip(values)
                    .for_each(|(o, v)| *o = v as f32);
            }
        });
        let (n, width) = (
            cluster.len(),
            NODE_FEATURES + usize::from(self.config.observe_growth),
        );
        let body = &mut out[GLOBAL_FEATURES..GLOBAL_FEATURES + n * width];
        for (row, &class) in body.chunks_exact_mut(width).zip(cluster.class_ids()) {
            row.copy_from_slice(&rows[class as usize][..width]);
        }
        out[GLOBAL_FEATURES + n * width..].fill(1.0);
    }

    fn oracle_view(&self) -> &() {
        &()
    }

    /// Row `i` is node `i` of the node list, in every state.
    fn entity_labels(&self, _obs: &PlacementObs) -> Vec<String> {
        self.node_names.to_vec()
    }
}

/// Node states whose fragment the observation encoder memoises at most.
const FRAGMENTS_KEPT: usize = 1 << 16;

const GLOBAL_FEATURES: usize = 6;
const NODE_FEATURES: usize = 9;

fn feature_spec(nodes: usize, observe_growth: bool) -> FeatureSpec {
    let mut entity = vec![
        Feature::new("cpu_free", "fraction of the node", 1.0),
        Feature::new("memory_free", "fraction of the node", 1.0),
        Feature::new("gpu_free", "fraction of the node's GPUs", 1.0),
        Feature::new("gpus", "GPUs", 8.0),
        Feature::new("fully_free_gpus", "GPUs", 8.0),
        Feature::new("largest_gpu_share_free", "milli-GPU", 1000.0),
        Feature::new("gpu_model_allowed", "0/1", 1.0),
        Feature::new("fits", "0/1", 1.0),
        Feature::new("fragment", "milli-GPU", 8000.0),
    ];
    if observe_growth {
        entity.push(Feature::new("fragment_growth", "milli-GPU", 8000.0));
    }
    FeatureSpec {
        scenario: "placement".into(),
        layout: Layout::Entity {
            global: vec![
                Feature::new("pod_cpu", "milli-CPU", 64_000.0),
                Feature::new("pod_memory", "MiB", 262_144.0),
                Feature::new("pod_gpus", "GPUs", 8.0),
                Feature::new("pod_gpu_share", "milli-GPU per GPU", 1000.0),
                Feature::new("arrived_gpu_ratio", "fraction of cluster GPUs", 1.0),
                Feature::new("gpu_allocation_ratio", "fraction of cluster GPUs", 1.0),
            ],
            entity,
            entities: nodes,
        },
    }
}
