//! Per-class indexes for recent pod requests, kept current from the cluster's log of touched
//! classes: a lookup costs O(classes changed since that request was last seen) instead of a pass
//! over every class (10,000-50,000 on a 100,000-node cluster). The env counts the classes that
//! can host a pod with it, the placement heuristics rank them by score.

use super::cluster::{ClassKey, Cluster, LogPosition, PodRequest};
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;

/// What one request keeps per node class.
pub trait ClassIndex: Default {
    type Entry;
    /// Sets class `id`'s entry, or removes it (`None`: the class is empty or does not qualify).
    fn set(&mut self, id: usize, entry: Option<Self::Entry>);
}

/// The indexes of at most `max_requests` recent requests, fewer when the cluster has so many
/// class ids that they would hold more than `max_slots` in all; the least recently used goes.
#[derive(Debug, Clone)]
pub struct RequestIndexes<I> {
    indexes: FxHashMap<PodRequest, Kept<I>>,
    max_requests: usize,
    max_slots: usize,
    /// Lookups so far, to find the least recently used index.
    clock: u64,
}

#[derive(Debug, Clone)]
struct Kept<I> {
    index: I,
    position: LogPosition,
    last_used: u64,
}

impl<I: ClassIndex> RequestIndexes<I> {
    pub fn new(max_requests: usize, max_slots: usize) -> Self {
        Self {
            indexes: FxHashMap::default(),
            max_requests,
            max_slots,
            clock: 0,
        }
    }

    pub fn clear(&mut self) {
        self.indexes.clear();
    }

    /// `pod`'s index, up to date with `cluster`; `entry` gives a non-empty class's entry.
    pub fn current(
        &mut self,
        cluster: &Cluster,
        pod: &PodRequest,
        entry: &mut dyn FnMut(&ClassKey) -> Option<I::Entry>,
    ) -> &I {
        self.clock += 1;
        let up_to_date = self.indexes.get_mut(pod).is_some_and(|kept| {
            let Some(touched) = cluster.touched_since(kept.position) else {
                return false;
            };
            for &id in touched {
                let class = cluster.class(id as usize);
                let value = if class.members.is_empty() {
                    None
                } else {
                    entry(&class.key)
                };
                kept.index.set(id as usize, value);
            }
            kept.position = cluster.log_position();
            true
        });
        if !up_to_date && !self.indexes.contains_key(pod) {
            let slots = cluster.classes().map(|(id, _)| id + 1).max().unwrap_or(1);
            if self.indexes.len() >= (self.max_slots / slots).clamp(1, self.max_requests) {
                let oldest = self
                    .indexes
                    .iter()
                    .min_by_key(|(_, k)| k.last_used)
                    .map(|(p, _)| *p);
                oldest.map(|p| self.indexes.remove(&p));
            }
        }
        let build = |entry: &mut dyn FnMut(&ClassKey) -> Option<I::Entry>| {
            let mut index = I::default();
            for (id, class) in cluster.classes() {
                index.set(id, entry(&class.key));
            }
            Kept {
                index,
                position: cluster.log_position(),
                last_used: 0,
            }
        };
        let kept = match self.indexes.entry(*pod) {
            Entry::Occupied(o) if up_to_date => o.into_mut(),
            Entry::Occupied(mut o) => {
                o.insert(build(entry));
                o.into_mut()
            }
            Entry::Vacant(v) => v.insert(build(entry)),
        };
        kept.last_used = self.clock;
        &kept.index
    }
}
