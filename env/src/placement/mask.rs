//! The feasibility mask of the pod waiting for a decision, built only when asked for.
//!
//! Heuristics score node classes and never read the mask; at 100,000 nodes, rewriting it every
//! step (every node of every class whose feasibility flips when consecutive pods differ in
//! kind) cost more than the rest of a step. When it is asked for, it is rebuilt from the last
//! mask built: only members of classes whose feasibility changed, and nodes that changed class
//! since, are rewritten.

use super::cluster::{Cluster, PodRequest};
use std::sync::{Mutex, MutexGuard, OnceLock};

#[derive(Debug, Default)]
pub(super) struct LazyMask {
    /// The mask for the current pod and cluster, once asked for.
    current: OnceLock<Vec<bool>>,
    /// What the next build starts from (a lock because building happens behind `&self`).
    last: Mutex<LastMask>,
}

#[derive(Debug, Default, Clone)]
struct LastMask {
    mask: Vec<bool>,
    /// Feasibility of each class id for the pod of `mask`; meaningful while `valid`.
    class_fits: Vec<bool>,
    valid: bool,
    /// Nodes that changed class since `mask` was built.
    moved: Vec<usize>,
}

impl Clone for LazyMask {
    fn clone(&self) -> Self {
        Self {
            current: self.current.clone(),
            last: Mutex::new(self.last().clone()),
        }
    }
}

impl LazyMask {
    fn last(&self) -> MutexGuard<'_, LastMask> {
        // Nothing in a build can leave the state half-written, so a poisoned lock is usable.
        self.last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets everything: the next build writes every node.
    pub fn clear(&mut self) {
        self.current.take();
        let last = self.last.get_mut().unwrap_or_else(|p| p.into_inner());
        last.valid = false;
        last.moved.clear();
    }

    /// The pod or the cluster changed: the current mask, if built, is where the next starts.
    pub fn invalidate(&mut self) {
        if let Some(mask) = self.current.take() {
            let last = self.last.get_mut().unwrap_or_else(|p| p.into_inner());
            last.mask = mask;
        }
    }

    /// `node` changed class.
    pub fn moved(&mut self, node: usize, nodes: usize) {
        let last = self.last.get_mut().unwrap_or_else(|p| p.into_inner());
        if last.moved.len() >= nodes {
            // Cheaper to rewrite every node than to remember more.
            last.valid = false;
            last.moved.clear();
        }
        last.moved.push(node);
    }

    /// The mask for `pod` on `cluster`.
    pub fn get(&self, cluster: &Cluster, pod: &PodRequest) -> &[bool] {
        self.current.get_or_init(|| {
            let mut last = self.last();
            let last = &mut *last;
            let ids = cluster.classes().map(|(id, _)| id + 1).max().unwrap_or(0);
            if last.class_fits.len() < ids {
                last.class_fits.resize(ids, false);
            }
            let mut mask = std::mem::take(&mut last.mask);
            if mask.len() != cluster.len() {
                mask = vec![false; cluster.len()];
                last.valid = false;
            }
            for (id, class) in cluster.classes() {
                let fits = class.key.fits(pod);
                if fits != last.class_fits[id] || !last.valid {
                    class.members.iter().for_each(|&m| mask[m as usize] = fits);
                }
                last.class_fits[id] = fits;
            }
            for node in last.moved.drain(..) {
                mask[node] = last.class_fits[cluster.class_of(node)];
            }
            last.valid = true;
            mask
        })
    }
}
