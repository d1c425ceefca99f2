//! Cluster state for GPU-sharing placement: nodes with CPU, memory and up to 8 GPUs, each GPU
//! shareable in thousandths ("milli"), and an index that groups nodes in identical states.
//!
//! Two nodes of the same type whose free CPU, free memory and multiset of free GPU shares are
//! equal are interchangeable for every feasibility check and every heuristic score, so both are
//! computed once per group (`NodeClass`) instead of once per node: on a 100,000-node cluster
//! most nodes sit in a few hundred groups.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

pub const MAX_GPUS: usize = 8;
pub const GPU_MILLI: u32 = 1000;

/// Static description of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeSpec {
    pub cpu_milli: u32,
    pub memory_mib: u32,
    pub gpus: u8,
    /// Index into the cluster's model names; `None` for CPU-only nodes.
    pub model: Option<u8>,
}

/// What a pod asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PodRequest {
    pub cpu_milli: u32,
    pub memory_mib: u32,
    /// GPUs wanted: 0 (CPU-only), 1 (a share or one whole GPU) or more (whole GPUs).
    pub num_gpu: u8,
    /// Share of each GPU, 1..=1000 (1000 = whole GPUs); 0 for CPU-only pods.
    pub gpu_milli: u16,
    /// Bit i set = GPU model i allowed; 0 = any model.
    pub allowed_models: u32,
}

impl PodRequest {
    pub fn is_sharing(&self) -> bool {
        self.num_gpu == 1 && u32::from(self.gpu_milli) < GPU_MILLI
    }

    /// Total GPU milli requested.
    pub fn gpu_total(&self) -> u32 {
        u32::from(self.num_gpu) * u32::from(self.gpu_milli)
    }

    /// The pod's tag for GPU clustering: bit 0 = GPU-sharing, bit n = n whole GPUs; 0 for
    /// CPU-only pods.
    pub fn tag(&self) -> u16 {
        match self.num_gpu {
            0 => 0,
            _ if self.is_sharing() => 1,
            n => 1 << n,
        }
    }

    pub fn model_allowed(&self, model: Option<u8>) -> bool {
        match model {
            _ if self.num_gpu == 0 => true,
            None => false,
            Some(m) => self.allowed_models == 0 || self.allowed_models & (1 << m) != 0,
        }
    }
}

/// Free resources of a node; `gpu_left[i]` is the free share of GPU i.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeState {
    pub cpu_left: u32,
    pub memory_left: u32,
    pub gpu_left: [u16; MAX_GPUS],
    /// Pods on the node per tag (see `PodRequest::tag`), for GPU clustering.
    pub tag_counts: [u16; MAX_GPUS + 1],
}

/// A node's state as the index sees it: spec, free CPU and memory, and its free GPU shares
/// sorted (which GPU holds which share does not matter to any score).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClassKey {
    pub spec: NodeSpec,
    pub cpu_left: u32,
    pub memory_left: u32,
    pub gpu_left: [u16; MAX_GPUS],
    /// Tags of the GPU pods on the node (bit set = at least one).
    pub tags: u16,
}

impl ClassKey {
    pub fn gpu_left_total(&self) -> u32 {
        self.gpu_left.iter().map(|&g| u32::from(g)).sum()
    }

    pub fn fully_free_gpus(&self) -> usize {
        self.gpu_left[..usize::from(self.spec.gpus)]
            .iter()
            .filter(|&&g| u32::from(g) == GPU_MILLI)
            .count()
    }

    /// Whether a node in this state can host `pod` now.
    pub fn fits(&self, pod: &PodRequest) -> bool {
        if self.cpu_left < pod.cpu_milli
            || self.memory_left < pod.memory_mib
            || !pod.model_allowed(self.spec.model)
        {
            return false;
        }
        match pod.num_gpu {
            0 => true,
            n => {
                self.gpu_left[..usize::from(self.spec.gpus)]
                    .iter()
                    .filter(|&&g| g >= pod.gpu_milli)
                    .count()
                    >= usize::from(n)
            }
        }
    }

    /// The state after placing `pod`, its share taken from the GPU `gpu` (sharing pods) or from
    /// fully free GPUs (whole-GPU pods); `gpu` indexes `gpu_left` as sorted here.
    pub fn after(&self, pod: &PodRequest, gpu: Option<usize>) -> ClassKey {
        let mut next = *self;
        next.cpu_left -= pod.cpu_milli;
        next.memory_left -= pod.memory_mib;
        if pod.is_sharing() {
            if let Some(g) = gpu {
                next.gpu_left[g] -= pod.gpu_milli;
            }
        } else {
            let mut taken = 0;
            for g in next.gpu_left[..usize::from(self.spec.gpus)].iter_mut() {
                if taken < pod.num_gpu && u32::from(*g) == GPU_MILLI {
                    *g = 0;
                    taken += 1;
                }
            }
        }
        next.gpu_left.sort_unstable_by(|a, b| b.cmp(a));
        next.tags |= pod.tag();
        next
    }

    /// Indices (into the sorted shares) of the distinct GPUs a sharing pod could use.
    pub fn sharing_candidates(&self, pod: &PodRequest) -> impl Iterator<Item = usize> + '_ {
        let gpus = usize::from(self.spec.gpus);
        let milli = pod.gpu_milli;
        (0..gpus).filter(move |&g| {
            self.gpu_left[g] >= milli && (g == 0 || self.gpu_left[g] != self.gpu_left[g - 1])
        })
    }
}

/// Nodes sharing one state.
#[derive(Debug, Clone)]
pub struct NodeClass {
    pub key: ClassKey,
    /// Member nodes, in no particular order.
    pub members: Vec<u32>,
}

/// Entries the log of touched classes keeps before dropping its older half.
const LOG_KEPT: usize = 1 << 14;

/// Identities of cluster values, so that a reader of one cluster's log never applies it to
/// another (a copy starts a log of its own).
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(0);

/// Where a reader stands in a cluster's log of touched classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPosition {
    instance: u64,
    seq: u64,
}

#[derive(Debug)]
pub struct Cluster {
    specs: Vec<NodeSpec>,
    states: Vec<NodeState>,
    class_of: Vec<u32>,
    /// Position of each node in its class's member list.
    slot_of: Vec<u32>,
    classes: Vec<NodeClass>,
    index: HashMap<ClassKey, u32>,
    /// Ids of classes with no members, for reuse.
    free_classes: Vec<u32>,
    /// Class ids that were created or emptied, in order (their key may have changed), from
    /// sequence number `log_base` on: readers keeping per-class indexes (rankings of classes
    /// for a pod) update only these instead of rescanning every class.
    log: Vec<u32>,
    log_base: u64,
    instance: u64,
}

impl Clone for Cluster {
    fn clone(&self) -> Self {
        Self {
            specs: self.specs.clone(),
            states: self.states.clone(),
            class_of: self.class_of.clone(),
            slot_of: self.slot_of.clone(),
            classes: self.classes.clone(),
            index: self.index.clone(),
            free_classes: self.free_classes.clone(),
            // A copy is a new instance, whose readers start afresh: the log is not needed.
            log: Vec::new(),
            log_base: 0,
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl Cluster {
    /// An idle cluster of nodes with the given specs.
    pub fn new(specs: Vec<NodeSpec>) -> Self {
        let states = specs
            .iter()
            .map(|s| {
                let mut gpu_left = [0u16; MAX_GPUS];
                gpu_left[..usize::from(s.gpus)].fill(GPU_MILLI as u16);
                NodeState {
                    cpu_left: s.cpu_milli,
                    memory_left: s.memory_mib,
                    gpu_left,
                    tag_counts: [0; MAX_GPUS + 1],
                }
            })
            .collect();
        let n = specs.len();
        let mut cluster = Self {
            specs,
            states,
            class_of: vec![0; n],
            slot_of: vec![0; n],
            classes: Vec::new(),
            index: HashMap::new(),
            free_classes: Vec::new(),
            log: Vec::new(),
            log_base: 0,
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
        };
        for node in 0..n {
            let key = cluster.key_of(node);
            cluster.insert(node, key);
        }
        cluster
    }

    pub fn len(&self) -> usize {
        self.specs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    pub fn spec(&self, node: usize) -> &NodeSpec {
        &self.specs[node]
    }

    pub fn state(&self, node: usize) -> &NodeState {
        &self.states[node]
    }

    pub fn class_of(&self, node: usize) -> usize {
        self.class_of[node] as usize
    }

    /// Every node's class id, in node order.
    pub fn class_ids(&self) -> &[u32] {
        &self.class_of
    }

    /// Every class id with at least one member, and its class.
    pub fn classes(&self) -> impl Iterator<Item = (usize, &NodeClass)> + Clone {
        self.classes
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.members.is_empty())
    }

    pub fn class(&self, id: usize) -> &NodeClass {
        &self.classes[id]
    }

    pub fn key_of(&self, node: usize) -> ClassKey {
        let s = &self.states[node];
        let mut gpu_left = s.gpu_left;
        gpu_left.sort_unstable_by(|a, b| b.cmp(a));
        let tags = s
            .tag_counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .fold(0u16, |acc, (i, _)| acc | (1 << i));
        ClassKey {
            spec: self.specs[node],
            cpu_left: s.cpu_left,
            memory_left: s.memory_left,
            gpu_left,
            tags,
        }
    }

    /// The reader position after every change so far.
    pub fn log_position(&self) -> LogPosition {
        LogPosition {
            instance: self.instance,
            seq: self.log_base + self.log.len() as u64,
        }
    }

    /// Class ids touched (created or emptied) since `position`, or `None` if `position` is of
    /// another cluster or older than the log keeps: the reader must then rescan every class.
    pub fn touched_since(&self, position: LogPosition) -> Option<&[u32]> {
        if position.instance != self.instance || position.seq < self.log_base {
            return None;
        }
        self.log.get((position.seq - self.log_base) as usize..)
    }

    fn touch(&mut self, id: u32) {
        if self.log.len() >= 2 * LOG_KEPT {
            self.log.drain(..LOG_KEPT);
            self.log_base += LOG_KEPT as u64;
        }
        self.log.push(id);
    }

    fn insert(&mut self, node: usize, key: ClassKey) {
        let id = match self.index.get(&key) {
            Some(&id) => id,
            None => {
                let class = NodeClass {
                    key,
                    members: Vec::new(),
                };
                let id = match self.free_classes.pop() {
                    Some(id) => {
                        self.classes[id as usize] = class;
                        id
                    }
                    None => {
                        self.classes.push(class);
                        (self.classes.len() - 1) as u32
                    }
                };
                self.index.insert(key, id);
                self.touch(id);
                id
            }
        };
        let members = &mut self.classes[id as usize].members;
        self.class_of[node] = id;
        self.slot_of[node] = members.len() as u32;
        members.push(node as u32);
    }

    fn remove(&mut self, node: usize) {
        let id = self.class_of[node] as usize;
        let slot = self.slot_of[node] as usize;
        let members = &mut self.classes[id].members;
        members.swap_remove(slot);
        if let Some(&moved) = members.get(slot) {
            self.slot_of[moved as usize] = slot as u32;
        }
        if members.is_empty() {
            let key = self.classes[id].key;
            self.index.remove(&key);
            self.free_classes.push(id as u32);
            self.touch(id as u32);
        }
    }

    /// Places `pod` on `node`. A sharing pod goes on the node's GPU chosen by `pick_gpu`, which
    /// receives the node's class key and returns an index into its sorted GPU shares. Returns
    /// the GPUs used, or `None` (and changes nothing) if the pod does not fit.
    pub fn place(
        &mut self,
        node: usize,
        pod: &PodRequest,
        pick_gpu: impl Fn(&ClassKey) -> Option<usize>,
    ) -> Option<Vec<u8>> {
        let key = self.key_of(node);
        if !key.fits(pod) {
            return None;
        }
        let state = &mut self.states[node];
        let gpus = usize::from(self.specs[node].gpus);
        let used: Vec<u8> = if pod.is_sharing() {
            let share = key.gpu_left[pick_gpu(&key)?];
            if share < pod.gpu_milli {
                return None;
            }
            // The first GPU holding that share.
            let g = (0..gpus).find(|&g| state.gpu_left[g] == share)?;
            vec![g as u8]
        } else {
            (0..gpus)
                .filter(|&g| u32::from(state.gpu_left[g]) == GPU_MILLI)
                .take(usize::from(pod.num_gpu))
                .map(|g| g as u8)
                .collect()
        };
        state.cpu_left -= pod.cpu_milli;
        state.memory_left -= pod.memory_mib;
        for &g in &used {
            state.gpu_left[usize::from(g)] -= pod.gpu_milli;
        }
        if pod.num_gpu > 0 {
            state.tag_counts[pod.tag().trailing_zeros() as usize] += 1;
        }
        self.remove(node);
        let key = self.key_of(node);
        self.insert(node, key);
        Some(used)
    }

    /// Releases what `pod` holds on `node` (GPUs `used`, as returned by `place`).
    pub fn release(&mut self, node: usize, pod: &PodRequest, used: &[u8]) {
        let state = &mut self.states[node];
        state.cpu_left += pod.cpu_milli;
        state.memory_left += pod.memory_mib;
        for &g in used {
            state.gpu_left[usize::from(g)] += pod.gpu_milli;
        }
        if pod.num_gpu > 0 {
            let count = &mut state.tag_counts[pod.tag().trailing_zeros() as usize];
            *count = count.saturating_sub(1);
        }
        self.remove(node);
        let key = self.key_of(node);
        self.insert(node, key);
    }

    /// The member of class `id` with the lowest node index.
    pub fn lowest_member(&self, id: usize) -> Option<usize> {
        self.classes[id].members.iter().min().map(|&n| n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu_node(gpus: u8) -> NodeSpec {
        NodeSpec {
            cpu_milli: 32_000,
            memory_mib: 65_536,
            gpus,
            model: Some(0),
        }
    }

    fn pod(cpu: u32, num_gpu: u8, gpu_milli: u16) -> PodRequest {
        PodRequest {
            cpu_milli: cpu,
            memory_mib: 1024,
            num_gpu,
            gpu_milli,
            allowed_models: 0,
        }
    }

    #[test]
    fn sharing_whole_and_cpu_pods_fit_by_the_rules() {
        let mut c = Cluster::new(vec![
            gpu_node(2),
            NodeSpec {
                cpu_milli: 8000,
                memory_mib: 8192,
                gpus: 0,
                model: None,
            },
        ]);
        assert_eq!(c.classes().count(), 2);
        let half = pod(1000, 1, 500);
        assert_eq!(
            c.place(0, &half, |k| k.sharing_candidates(&half).last()),
            Some(vec![0])
        );
        // A whole GPU still fits (GPU 1 is free), two whole GPUs do not.
        assert!(c.key_of(0).fits(&pod(1000, 1, 1000)));
        assert!(!c.key_of(0).fits(&pod(1000, 2, 1000)));
        // Another half share fits on GPU 0's remaining 500.
        assert!(c.key_of(0).fits(&pod(1000, 1, 500)));
        assert!(!c.key_of(0).fits(&pod(40_000, 0, 0)), "CPU limit");
        assert!(!c.key_of(1).fits(&half), "CPU-only node takes no GPU pod");
        assert!(c.key_of(1).fits(&pod(1000, 0, 0)));
        let mut typed = half;
        typed.allowed_models = 0b10;
        assert!(!c.key_of(0).fits(&typed), "model 0 not allowed");
        assert_eq!(c.place(0, &pod(1000, 2, 1000), |_| None), None);
    }

    #[test]
    fn identical_nodes_share_a_class_until_they_diverge() {
        let mut c = Cluster::new(vec![gpu_node(4); 5]);
        assert_eq!(c.classes().count(), 1);
        let whole = pod(2000, 1, 1000);
        let used = c.place(3, &whole, |_| None).unwrap();
        assert_eq!(used, vec![0]);
        assert_eq!(c.classes().count(), 2);
        assert_ne!(c.class_of(3), c.class_of(0));
        c.place(1, &whole, |_| None).unwrap();
        assert_eq!(c.class_of(1), c.class_of(3), "same state, same class");
        c.release(3, &whole, &used);
        assert_eq!(c.class_of(3), c.class_of(0));
        let sizes: Vec<usize> = c.classes().map(|(_, k)| k.members.len()).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 5);
        assert_eq!(c.lowest_member(c.class_of(0)), Some(0));
    }

    #[test]
    fn after_matches_place() {
        let mut c = Cluster::new(vec![gpu_node(4)]);
        let share = pod(1000, 1, 300);
        c.place(0, &share, |k| k.sharing_candidates(&share).next())
            .unwrap();
        let key = c.key_of(0);
        let next = pod(500, 1, 600);
        for g in key.sharing_candidates(&next) {
            let predicted = key.after(&next, Some(g));
            let mut copy = c.clone();
            copy.place(0, &next, |_| Some(g)).unwrap();
            assert_eq!(copy.key_of(0), predicted);
        }
        let whole = pod(0, 2, 1000);
        let mut copy = c.clone();
        copy.place(0, &whole, |_| None).unwrap();
        assert_eq!(copy.key_of(0), key.after(&whole, None));
    }

    #[test]
    fn the_log_lists_created_and_emptied_classes_for_this_cluster_only() {
        let mut c = Cluster::new(vec![gpu_node(4); 3]);
        let start = c.log_position();
        assert_eq!(c.touched_since(start), Some(&[][..]));
        let whole = pod(2000, 1, 1000);
        let used = c.place(0, &whole, |_| None).unwrap();
        let new_class = c.class_of(0) as u32;
        assert_eq!(c.touched_since(start), Some(&[new_class][..]), "created");
        let after_first = c.log_position();
        c.place(1, &whole, |_| None).unwrap();
        assert_eq!(
            c.touched_since(after_first),
            Some(&[][..]),
            "joined, nothing new"
        );
        c.release(0, &whole, &used);
        c.release(1, &whole, &used);
        assert_eq!(
            c.touched_since(after_first),
            Some(&[new_class][..]),
            "emptied"
        );
        let copy = c.clone();
        assert_eq!(
            copy.touched_since(after_first),
            None,
            "a copy keeps a log of its own"
        );
        for i in 0..2 * LOG_KEPT {
            let node = i % 3;
            let used = c.place(node, &whole, |_| None).unwrap();
            c.release(node, &whole, &used);
        }
        assert_eq!(c.touched_since(start), None, "older than the log keeps");
        let recent = c.log_position();
        assert_eq!(c.touched_since(recent), Some(&[][..]));
    }
}
