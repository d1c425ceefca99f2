//! Serving a placement: every request is routed through its call tree, each call to the
//! replica of the callee nearest (in RTT) to the caller's region, the user's first call to the
//! replica nearest to the user. A call that crosses regions adds the round trip between them to
//! the caller's wait; calls inside a region add nothing beyond the trace's own times (which
//! include the datacenter network). A call's work is slowed by its region's load, as in an M/M/1
//! queue: by 1 / (1 - utilisation), capped. A request's latency is the user's round trip plus the
//! root's time, a call's time its work plus its children's, one after another (the sample shows
//! 94 % of sibling calls made in sequence).

use super::catalog::Catalog;
use crate::world::geography::Geography;

/// Utilisation at which the slowdown stops growing (a 20x slowdown).
pub const MAX_UTILISATION: f64 = 0.95;

/// Where each service's replicas are: region indices, any order, at least one per service.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    replicas: Vec<Vec<usize>>,
}

/// The outcome of serving one snapshot of demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// Request-weighted mean and 95th percentile of latency (ms).
    pub mean_latency_ms: f64,
    pub p95_latency_ms: f64,
    /// Busy cores per region (work in core-seconds per second).
    pub busy_cores: Vec<f64>,
    /// Calls per second that cross regions (user calls included).
    pub cross_region_calls_per_s: f64,
}

impl Placement {
    /// Checks that every service has a replica and every replica a region below `regions`.
    pub fn new(replicas: Vec<Vec<usize>>, regions: usize) -> Result<Self, String> {
        for (service, at) in replicas.iter().enumerate() {
            if at.is_empty() {
                return Err(format!("service {service} has no replica"));
            }
            if let Some(r) = at.iter().find(|&&r| r >= regions) {
                return Err(format!(
                    "service {service}: region {r} does not exist ({regions} regions)"
                ));
            }
        }
        Ok(Self { replicas })
    }

    pub fn replicas(&self) -> &[Vec<usize>] {
        &self.replicas
    }

    /// The replica of `service` nearest to `from`.
    fn nearest(&self, geo: &Geography, service: usize, from: usize) -> usize {
        let mut best = (f64::INFINITY, usize::MAX);
        for &r in &self.replicas[service] {
            let rtt = if r == from { 0.0 } else { geo.rtt_ms(from, r) };
            if rtt < best.0 {
                best = (rtt, r);
            }
        }
        best.1
    }
}

/// Serves `requests_per_s[u]` requests from each user region `u` (split over the catalog's
/// request types by their shares) with `cores[r]` cores in each region. The placement has a
/// replica list for every service of the catalog, in `geo`'s regions.
pub fn serve(
    geo: &Geography,
    catalog: &Catalog,
    placement: &Placement,
    requests_per_s: &[f64],
    cores: &[f64],
) -> Served {
    let regions = geo.regions.len();
    let mut busy = vec![0.0; regions];
    let mut cross = 0.0;
    // Where each call of each (request type, user region) runs: routing does not depend on load.
    let mut routes: Vec<Vec<usize>> = Vec::new();
    for t in &catalog.request_types {
        for (user, &rate) in requests_per_s.iter().enumerate() {
            let mut at = Vec::with_capacity(t.calls.len());
            for call in &t.calls {
                let from = call.parent.map_or(user, |p| at[p]);
                let region = placement.nearest(geo, call.service, from);
                cross += rate * t.share * f64::from(u8::from(region != from));
                busy[region] += rate * t.share * call.own_ms / 1000.0;
                at.push(region);
            }
            routes.push(at);
        }
    }
    let slowdown: Vec<f64> = busy
        .iter()
        .zip(cores)
        .map(|(&b, &c)| {
            let utilisation = if c > 0.0 { b / c } else { f64::INFINITY };
            1.0 / (1.0 - utilisation.min(MAX_UTILISATION))
        })
        .collect();
    let mut latencies: Vec<(f64, f64)> = Vec::with_capacity(routes.len());
    let mut route = routes.iter();
    for t in &catalog.request_types {
        for (user, &rate) in requests_per_s.iter().enumerate() {
            let Some(at) = route.next() else { break };
            // Children follow parents: one backward pass adds each call's time to its parent's.
            let mut time: Vec<f64> = t
                .calls
                .iter()
                .zip(at)
                .map(|(c, &r)| c.own_ms * slowdown[r])
                .collect();
            for k in (1..t.calls.len()).rev() {
                if let Some(p) = t.calls[k].parent {
                    let hop = if at[k] == at[p] {
                        0.0
                    } else {
                        geo.rtt_ms(at[p], at[k])
                    };
                    time[p] += hop + time[k];
                }
            }
            latencies.push((geo.rtt_ms(user, at[0]) + time[0], rate * t.share));
        }
    }
    let (mean, p95) = weighted_mean_and_quantile(&mut latencies, 0.95);
    Served {
        mean_latency_ms: mean,
        p95_latency_ms: p95,
        busy_cores: busy,
        cross_region_calls_per_s: cross,
    }
}

/// Weighted mean and `q`-quantile (the smallest value whose cumulative weight reaches q) of
/// (value, weight) pairs; NaN without weight.
fn weighted_mean_and_quantile(pairs: &mut [(f64, f64)], q: f64) -> (f64, f64) {
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    if total <= 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = pairs.iter().map(|p| p.0 * p.1).sum::<f64>() / total;
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut seen = 0.0;
    for &(value, weight) in pairs.iter() {
        seen += weight;
        if seen >= q * total {
            return (mean, value);
        }
    }
    (mean, pairs.last().map_or(f64::NAN, |p| p.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::callgraph;
    use crate::world::geography::Season;

    /// A (10 ms own) calls B (4 ms), then C (2 ms); every request is that one type.
    fn chain() -> Catalog {
        let csv = "timestamp,traceid,rpcid,um,dm,rt\n\
                   1,T1,0,USER,A,16\n1,T1,0.1,A,B,4\n1,T1,0.2,A,C,2\n";
        Catalog::from_call_graphs(&callgraph::read(csv.as_bytes(), "calls.csv").unwrap())
    }

    #[test]
    fn latency_is_the_user_round_trip_plus_work_plus_crossings() {
        let geo = Geography::azure(Season::Jan, 2.0).unwrap();
        let (east, west) = (
            geo.index_of("eastus").unwrap(),
            geo.index_of("westus2").unwrap(),
        );
        let catalog = chain();
        let n = geo.regions.len();
        let mut demand = vec![0.0; n];
        demand[east] = 100.0;
        let cores = vec![1000.0; n];
        let all_east = Placement::new(vec![vec![east]; 3], n).unwrap();
        let served = serve(&geo, &catalog, &all_east, &demand, &cores);
        // 2 ms to the user's own region; 10 + 4 + 2 ms of work, slowed by 1 / (1 - 1.6 / 1000).
        let slow = 1.0 / (1.0 - 1.6 / 1000.0);
        assert!((served.mean_latency_ms - (2.0 + 16.0 * slow)).abs() < 1e-9);
        assert_eq!(served.p95_latency_ms, served.mean_latency_ms);
        assert!((served.busy_cores[east] - 1.6).abs() < 1e-12);
        assert_eq!(served.cross_region_calls_per_s, 0.0);
        // B only in the west: one crossing call per request.
        let mut split = all_east.clone();
        split.replicas[1] = vec![west];
        let served = serve(&geo, &catalog, &split, &demand, &cores);
        let expected = 2.0
            + geo.rtt_ms(east, west)
            + (10.0 + 2.0) * (1.0 / (1.0 - 1.2 / 1000.0))
            + 4.0 / (1.0 - 0.4 / 1000.0);
        assert!((served.mean_latency_ms - expected).abs() < 1e-9);
        assert_eq!(served.cross_region_calls_per_s, 100.0);
        // Given a replica in the east too, B is called there.
        split.replicas[1] = vec![west, east];
        let served = serve(&geo, &catalog, &split, &demand, &cores);
        assert_eq!(served.cross_region_calls_per_s, 0.0);
    }

    #[test]
    fn load_slows_work_down_to_a_cap() {
        let geo = Geography::azure(Season::Jan, 2.0).unwrap();
        let n = geo.regions.len();
        let catalog = chain();
        let placement = Placement::new(vec![vec![0]; 3], n).unwrap();
        let mut demand = vec![0.0; n];
        demand[0] = 100.0;
        let served = serve(&geo, &catalog, &placement, &demand, &vec![1.0; n]);
        // 1.6 busy cores on 1 core: the slowdown is capped at 20x.
        assert!((served.mean_latency_ms - (2.0 + 16.0 * 20.0)).abs() < 1e-9);
    }

    #[test]
    fn a_placement_needs_a_replica_per_service_in_a_real_region() {
        assert_eq!(
            Placement::new(vec![vec![0], vec![]], 3).unwrap_err(),
            "service 1 has no replica"
        );
        assert!(
            Placement::new(vec![vec![3]], 3)
                .unwrap_err()
                .contains("region 3")
        );
    }

    #[test]
    fn the_p95_is_a_weighted_quantile() {
        let mut pairs = vec![(10.0, 90.0), (100.0, 9.0), (1000.0, 1.0)];
        let (mean, p95) = weighted_mean_and_quantile(&mut pairs, 0.95);
        assert!((mean - 28.0).abs() < 1e-12);
        assert_eq!(p95, 100.0);
        assert!(weighted_mean_and_quantile(&mut [], 0.95).0.is_nan());
    }
}
