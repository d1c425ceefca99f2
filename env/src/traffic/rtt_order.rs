//! What the pair observation needs from the RTT matrix alone (each site's regions by RTT, each
//! pair's rank among its region's sites), kept while the matrix is the same: it changes only
//! when a link degrades or recovers, and sorting it for every encoding was 40 % of the encoding.

use std::cmp::Ordering;
use std::sync::{Arc, Mutex};

/// Regions in order of their RTT to `site` in `rtt_ms` (`[regions, sites]`), ties by region:
/// equal RTTs then come in one order whatever order they came in before.
pub(super) fn by_rtt(
    rtt_ms: &[f64],
    sites: usize,
    site: usize,
) -> impl Fn(&usize, &usize) -> Ordering + '_ {
    let rtt = move |region: usize| rtt_ms[region * sites + site];
    move |&a, &b| rtt(a).total_cmp(&rtt(b)).then(a.cmp(&b))
}

/// Orders of one RTT matrix `[regions, sites]`.
#[derive(Debug)]
pub struct RttOrders {
    /// Per site, the regions by increasing RTT (ties by region).
    pub by_site: Vec<Vec<usize>>,
    /// Per site, where each run of equal RTTs in `by_site` ends (exclusive), in order.
    pub tie_ends: Vec<Vec<usize>>,
    /// Per pair (region-major): how many sites of its region are strictly nearer.
    pub rank: Vec<usize>,
}

impl RttOrders {
    fn new(rtt_ms: &[f64], sites: usize) -> Self {
        let regions = rtt_ms.len().checked_div(sites).unwrap_or(0);
        let rtt = |region: usize, site: usize| rtt_ms[region * sites + site];
        let by_site: Vec<Vec<usize>> = (0..sites)
            .map(|site| {
                let mut order: Vec<usize> = (0..regions).collect();
                order.sort_by(by_rtt(rtt_ms, sites, site));
                order
            })
            .collect();
        let tie_ends = by_site
            .iter()
            .enumerate()
            .map(|(site, order)| {
                let ends = order.windows(2).enumerate();
                let ends = ends.filter(|(_, w)| rtt(w[0], site) != rtt(w[1], site));
                let ends = ends.map(|(k, _)| k + 1);
                ends.chain((!order.is_empty()).then_some(order.len()))
                    .collect()
            })
            .collect();
        let rank = (0..regions * sites)
            .map(|pair| {
                let region = pair / sites;
                (0..sites)
                    .filter(|&j| rtt(region, j) < rtt_ms[pair])
                    .count()
            })
            .collect();
        Self {
            by_site,
            tie_ends,
            rank,
        }
    }
}

/// An RTT matrix and its orders.
type Memoised = (Arc<[f64]>, Arc<RttOrders>);

/// The orders of the last RTT matrix asked for (a scenario copy's own: a clone starts empty).
#[derive(Debug, Default)]
pub struct RttMemo {
    last: Mutex<Option<Memoised>>,
}

impl Clone for RttMemo {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl RttMemo {
    /// The orders of `rtt_ms` (`[regions, sites]`), computed unless they are of this very
    /// matrix (the same allocation, which the memo keeps alive so it cannot be another's).
    pub fn orders(&self, rtt_ms: &Arc<[f64]>, sites: usize) -> Arc<RttOrders> {
        // Nothing in here can leave the memo half-written, so a poisoned lock is usable.
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match &*last {
            Some((matrix, orders)) if Arc::ptr_eq(matrix, rtt_ms) => orders.clone(),
            _ => {
                let orders = Arc::new(RttOrders::new(rtt_ms, sites));
                *last = Some((rtt_ms.clone(), orders.clone()));
                orders
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn orders_follow_the_matrix_they_are_asked_for() {
        // 3 regions x 2 sites.
        let a: Arc<[f64]> = Arc::from(vec![10.0, 5.0, 3.0, 3.0, 7.0, 1.0]);
        let memo = RttMemo::default();
        let first = memo.orders(&a, 2);
        assert_eq!(first.by_site, vec![vec![1, 2, 0], vec![2, 1, 0]]);
        assert_eq!(first.rank, vec![1, 0, 0, 0, 1, 0]);
        assert_eq!(first.tie_ends, vec![vec![1, 2, 3], vec![1, 2, 3]]);
        assert!(Arc::ptr_eq(&first, &memo.orders(&a, 2)));
        // Equal values in another allocation are computed afresh, and so is a changed matrix.
        let same: Arc<[f64]> = Arc::from(a.to_vec());
        assert!(!Arc::ptr_eq(&first, &memo.orders(&same, 2)));
        let changed: Arc<[f64]> = Arc::from(vec![1.0, 5.0, 3.0, 3.0, 7.0, 1.0]);
        let orders = memo.orders(&changed, 2);
        assert_eq!(orders.by_site[0], vec![0, 1, 2]);
        assert_eq!(orders.rank, vec![0, 1, 0, 0, 1, 0]);
        // Ties: site 0 sees RTTs 3, 3, 1 and site 1 sees 1, 2, 2.
        let tied = memo.orders(&Arc::from(vec![3.0, 1.0, 3.0, 2.0, 1.0, 2.0]), 2);
        assert_eq!(tied.by_site, vec![vec![2, 0, 1], vec![0, 1, 2]]);
        assert_eq!(tied.tie_ends, vec![vec![1, 3], vec![1, 3]]);
    }
}
