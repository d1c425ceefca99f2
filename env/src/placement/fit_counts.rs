//! How many node classes can host each recent pod request, so that telling whether a pod fails
//! does not scan every class: late in a 100,000-node episode (50,000 classes) most pods fail and
//! scans were most of the run time.

use super::cluster::{Cluster, PodRequest};
use super::request_index::{ClassIndex, RequestIndexes};

/// Requests remembered at most, fewer on clusters with many classes (16M class flags in all).
const REQUESTS_KEPT: usize = 256;
const FLAGS_KEPT: usize = 1 << 24;

#[derive(Debug, Clone)]
pub(super) struct FitCounts(RequestIndexes<FitCount>);

impl Default for FitCounts {
    fn default() -> Self {
        Self(RequestIndexes::new(REQUESTS_KEPT, FLAGS_KEPT))
    }
}

/// Which class ids can host one request, and how many.
#[derive(Debug, Clone, Default)]
struct FitCount {
    fits: Vec<bool>,
    count: usize,
}

impl ClassIndex for FitCount {
    type Entry = ();

    fn set(&mut self, id: usize, entry: Option<()>) {
        if self.fits.len() <= id {
            self.fits.resize(id + 1, false);
        }
        let fits = entry.is_some();
        let old = std::mem::replace(&mut self.fits[id], fits);
        self.count = self.count + usize::from(fits) - usize::from(old);
    }
}

impl FitCounts {
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Whether some node of `cluster` can host `pod`.
    pub fn any_fits(&mut self, cluster: &Cluster, pod: &PodRequest) -> bool {
        let fits = &mut |key: &super::ClassKey| key.fits(pod).then_some(());
        self.0.current(cluster, pod, fits).count > 0
    }
}
