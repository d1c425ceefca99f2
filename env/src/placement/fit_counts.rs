//! How many node classes can host each recent pod request, kept up to date from the cluster's
//! log of touched classes, so that telling whether a pod fails costs O(classes changed since
//! that request was last seen) instead of a scan of every class: late in a 100,000-node
//! episode (50,000 classes) most pods fail and scans were most of the run time.

use super::cluster::{Cluster, LogPosition, PodRequest};
use std::collections::HashMap;

/// Requests remembered at most, fewer on clusters with many classes (16M class flags in all).
const REQUESTS_KEPT: usize = 256;
const FLAGS_KEPT: usize = 1 << 24;

#[derive(Debug, Clone, Default)]
pub(super) struct FitCounts {
    requests: HashMap<PodRequest, FitCount>,
    /// Lookups so far, to find the least recently used request.
    clock: u64,
}

#[derive(Debug, Clone)]
struct FitCount {
    /// Whether each class id can host the request.
    fits: Vec<bool>,
    count: usize,
    position: LogPosition,
    last_used: u64,
}

impl FitCount {
    fn build(cluster: &Cluster, pod: &PodRequest) -> Self {
        let mut entry = Self {
            fits: Vec::new(),
            count: 0,
            position: cluster.log_position(),
            last_used: 0,
        };
        for (id, class) in cluster.classes() {
            entry.set(id, class.key.fits(pod));
        }
        entry
    }

    fn set(&mut self, id: usize, fits: bool) {
        if self.fits.len() <= id {
            self.fits.resize(id + 1, false);
        }
        let old = std::mem::replace(&mut self.fits[id], fits);
        self.count = self.count + usize::from(fits) - usize::from(old);
    }

    /// Re-checks the classes touched since the last update; `false` if the log no longer
    /// reaches back that far.
    fn update(&mut self, cluster: &Cluster, pod: &PodRequest) -> bool {
        let Some(touched) = cluster.touched_since(self.position) else {
            return false;
        };
        for &id in touched {
            let class = cluster.class(id as usize);
            self.set(
                id as usize,
                !class.members.is_empty() && class.key.fits(pod),
            );
        }
        self.position = cluster.log_position();
        true
    }
}

impl FitCounts {
    pub fn clear(&mut self) {
        self.requests.clear();
    }

    /// Whether some node of `cluster` can host `pod`.
    pub fn any_fits(&mut self, cluster: &Cluster, pod: &PodRequest) -> bool {
        self.clock += 1;
        let current = self
            .requests
            .get_mut(pod)
            .is_some_and(|entry| entry.update(cluster, pod));
        if !current {
            let classes = cluster.classes().map(|(id, _)| id + 1).max().unwrap_or(1);
            let kept = (FLAGS_KEPT / classes).clamp(1, REQUESTS_KEPT);
            if !self.requests.contains_key(pod) && self.requests.len() >= kept {
                let oldest = self
                    .requests
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(p, _)| *p);
                oldest.map(|p| self.requests.remove(&p));
            }
            self.requests.insert(*pod, FitCount::build(cluster, pod));
        }
        self.requests.get_mut(pod).is_some_and(|entry| {
            entry.last_used = self.clock;
            entry.count > 0
        })
    }
}
