//! GPU fragmentation as defined by Weng et al. (ATC'23, "FGD") and their simulator.
//!
//! For one "typical" GPU pod, the free GPU share of a node counts as fragment when the pod
//! could not use it: all of it if the pod cannot run on the node (GPU model not allowed, not
//! enough GPU, not enough CPU), else the shares of the GPUs too small for the pod. A node's
//! fragmentation is the popularity-weighted sum over the target workload's typical pods; the
//! cluster's fragmentation rate is fragment / idle GPU share. Memory plays no part (as in the
//! reference simulator).
//!
//! Departure: CPU-only pods are left out of the typical workload. In the reference simulator
//! they count every idle GPU of every node as fragment, which shifts all nodes alike (no effect
//! on FGD's choices) but inflates the reported rate.

use super::cluster::{ClassKey, PodRequest};
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A pod shape of the target workload and its share of the GPU pods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TypicalPod {
    pub pod: PodRequest,
    pub weight: f64,
}

/// The most popular GPU pod shapes (cpu, GPU count, share, allowed models) covering
/// `coverage` of the GPU pods, weights renormalised to sum to 1 (the reference simulator keeps
/// shapes up to 95 %).
pub fn typical_pods(pods: &[PodRequest], coverage: f64) -> Vec<TypicalPod> {
    let mut counts: HashMap<(u32, u8, u16, u32), usize> = HashMap::new();
    for p in pods.iter().filter(|p| p.num_gpu > 0) {
        *counts
            .entry((p.cpu_milli, p.num_gpu, p.gpu_milli, p.allowed_models))
            .or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let mut shapes: Vec<((u32, u8, u16, u32), usize)> = counts.into_iter().collect();
    shapes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut kept = Vec::new();
    let mut covered = 0usize;
    for ((cpu_milli, num_gpu, gpu_milli, allowed_models), count) in shapes {
        if total > 0 && covered as f64 >= coverage * total as f64 {
            break;
        }
        covered += count;
        let pod = PodRequest {
            cpu_milli,
            memory_mib: 0,
            num_gpu,
            gpu_milli,
            allowed_models,
        };
        kept.push(TypicalPod {
            pod,
            weight: count as f64,
        });
    }
    let sum: f64 = kept.iter().map(|t| t.weight).sum();
    kept.iter_mut().for_each(|t| t.weight /= sum);
    kept
}

/// Fragment (GPU milli) of a node in state `key` for one typical pod.
pub fn fragment_for(key: &ClassKey, pod: &PodRequest) -> f64 {
    let gpus = usize::from(key.spec.gpus);
    let idle: u32 = key.gpu_left[..gpus].iter().map(|&g| u32::from(g)).sum();
    if idle == 0 {
        return 0.0;
    }
    let hostable = pod.model_allowed(key.spec.model)
        && key.gpu_left[..gpus]
            .iter()
            .filter(|&&g| g >= pod.gpu_milli)
            .count()
            >= usize::from(pod.num_gpu)
        && key.cpu_left >= pod.cpu_milli;
    if hostable {
        key.gpu_left[..gpus]
            .iter()
            .filter(|&&g| g < pod.gpu_milli)
            .map(|&g| f64::from(g))
            .sum()
    } else {
        f64::from(idle)
    }
}

/// Expected fragment (GPU milli) of a node under the typical workload.
pub fn node_fragment(key: &ClassKey, typical: &[TypicalPod]) -> f64 {
    typical
        .iter()
        .map(|t| t.weight * fragment_for(key, &t.pod))
        .sum()
}

/// Growth of a node's expected fragmentation if it takes the pod (sharing pods on their best
/// GPU for it, as FGD scores them): FGD's score, the least wins.
pub fn fragment_growth(key: &ClassKey, pod: &PodRequest, typical: &[TypicalPod]) -> f64 {
    growth_with(key, pod, &mut |k| node_fragment(k, typical))
}

/// `fragment_growth` with the node fragment supplied by `fragment` (e.g. memoised).
pub fn growth_with(
    key: &ClassKey,
    pod: &PodRequest,
    fragment: &mut dyn FnMut(&ClassKey) -> f64,
) -> f64 {
    let before = fragment(key);
    let after = if pod.is_sharing() {
        key.sharing_candidates(pod)
            .map(|g| fragment(&key.after(pod, Some(g))))
            .fold(f64::INFINITY, f64::min)
    } else {
        fragment(&key.after(pod, None))
    };
    after - before
}

/// Node fragments memoised by node state, for the typical workload last asked for (node states
/// recur constantly: observations encode every class's fragment at every step, FGD scores every
/// class's). Copies start empty; the memo is dropped whole when it passes its bound, or when
/// asked for another workload.
#[derive(Debug)]
pub struct FragmentMemo {
    kept: usize,
    memo: Mutex<Memo>,
}

#[derive(Debug, Default)]
struct Memo {
    typical: Option<Arc<Vec<TypicalPod>>>,
    fragments: FxHashMap<ClassKey, f64>,
    /// By class id, the key last asked for under that id and its fragment: a class keeps its
    /// key until its nodes change, so asking class by class is mostly a comparison, not a hash.
    by_class: Vec<Option<(ClassKey, f64)>>,
}

impl Clone for FragmentMemo {
    fn clone(&self) -> Self {
        Self::new(self.kept)
    }
}

impl FragmentMemo {
    /// A memo of at most `kept` node states.
    pub fn new(kept: usize) -> Self {
        Self {
            kept,
            memo: Mutex::new(Memo::default()),
        }
    }

    pub fn clear(&mut self) {
        *self.memo.get_mut().unwrap_or_else(|p| p.into_inner()) = Memo::default();
    }

    /// Runs `f` with a memoised node-fragment function for `typical`.
    pub fn with<R>(
        &self,
        typical: &Arc<Vec<TypicalPod>>,
        f: impl FnOnce(&mut dyn FnMut(&ClassKey) -> f64) -> R,
    ) -> R {
        let mut memo = self.lock(typical);
        f(&mut |k| memo.fragment(k, typical))
    }

    /// Runs `f` with a memoised fragment function of a cluster's classes (class id and key)
    /// for `typical`. Class ids must be those of one cluster's `classes()` (so at most its
    /// number of nodes).
    pub fn with_classes<R>(
        &self,
        typical: &Arc<Vec<TypicalPod>>,
        f: impl FnOnce(&mut dyn FnMut(usize, &ClassKey) -> f64) -> R,
    ) -> R {
        let mut memo = self.lock(typical);
        f(&mut |id, k| {
            if let Some(Some((key, fragment))) = memo.by_class.get(id)
                && key == k
            {
                return *fragment;
            }
            let fragment = memo.fragment(k, typical);
            if memo.by_class.len() <= id {
                memo.by_class.resize(id + 1, None);
            }
            memo.by_class[id] = Some((*k, fragment));
            fragment
        })
    }

    /// The memo, emptied first if it is of another workload or past its bound.
    fn lock(&self, typical: &Arc<Vec<TypicalPod>>) -> std::sync::MutexGuard<'_, Memo> {
        // Nothing in here can leave the memo half-written, so a poisoned lock is usable.
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        let other = !memo
            .typical
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(t, typical));
        if other || memo.fragments.len() > self.kept {
            *memo = Memo {
                typical: Some(typical.clone()),
                ..Memo::default()
            };
        }
        memo
    }
}

impl Memo {
    fn fragment(&mut self, k: &ClassKey, typical: &[TypicalPod]) -> f64 {
        *self
            .fragments
            .entry(*k)
            .or_insert_with(|| node_fragment(k, typical))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::cluster::{MAX_GPUS, NodeSpec};

    fn key(cpu_left: u32, shares: &[u16]) -> ClassKey {
        let mut gpu_left = [0u16; MAX_GPUS];
        gpu_left[..shares.len()].copy_from_slice(shares);
        gpu_left.sort_unstable_by(|a, b| b.cmp(a));
        ClassKey {
            spec: NodeSpec {
                cpu_milli: 64_000,
                memory_mib: 1,
                gpus: shares.len() as u8,
                model: Some(0),
            },
            cpu_left,
            memory_left: 1,
            gpu_left,
            tags: 0,
        }
    }

    fn gpu_pod(cpu: u32, num_gpu: u8, milli: u16) -> PodRequest {
        PodRequest {
            cpu_milli: cpu,
            memory_mib: 0,
            num_gpu,
            gpu_milli: milli,
            allowed_models: 0,
        }
    }

    #[test]
    fn fragment_cases_follow_the_paper() {
        let node = key(8000, &[1000, 600, 200, 0]);
        // Hostable half-GPU pod: only the 200 share is too small for it.
        assert_eq!(fragment_for(&node, &gpu_pod(1000, 1, 500)), 200.0);
        // Whole-GPU pod: the 600 and 200 shares are fragment.
        assert_eq!(fragment_for(&node, &gpu_pod(1000, 1, 1000)), 800.0);
        // Two whole GPUs cannot run: every idle share is fragment.
        assert_eq!(fragment_for(&node, &gpu_pod(1000, 2, 1000)), 1800.0);
        // Not enough CPU: everything is fragment.
        assert_eq!(fragment_for(&node, &gpu_pod(16_000, 1, 100)), 1800.0);
        // Model not allowed: everything is fragment.
        let typed = PodRequest {
            allowed_models: 0b10,
            ..gpu_pod(1000, 1, 100)
        };
        assert_eq!(fragment_for(&node, &typed), 1800.0);
        // A full node has no fragment.
        assert_eq!(
            fragment_for(&key(8000, &[0, 0]), &gpu_pod(1000, 1, 500)),
            0.0
        );
    }

    #[test]
    fn typical_pods_cover_the_most_popular_shapes() {
        let a = gpu_pod(1000, 1, 500);
        let b = gpu_pod(2000, 1, 1000);
        let c = gpu_pod(4000, 8, 1000);
        let cpu = gpu_pod(1000, 0, 0);
        let mut pods = vec![a; 6];
        pods.extend([b; 3]);
        pods.push(c);
        pods.extend([cpu; 50]);
        let t = typical_pods(&pods, 0.9);
        assert_eq!(
            t.len(),
            2,
            "a (60 %) + b (30 %) reach 90 %: c is left out; CPU pods never count"
        );
        assert!((t[0].weight - 6.0 / 9.0).abs() < 1e-12 && t[0].pod == a);
        let all = typical_pods(&pods, 1.0);
        assert_eq!(all.len(), 3);
        let node = key(8000, &[1000, 300]);
        let expected = 0.6 * 300.0 + 0.3 * 300.0 + 0.1 * 1300.0;
        assert!((node_fragment(&node, &all) - expected).abs() < 1e-9);
    }
}
