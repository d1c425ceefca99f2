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

/// Where each service's replicas are: region indices, any order; the first is the primary
/// (where a data shard takes its writes). In a partial placement a service without replicas is
/// not placed yet: it runs wherever it is called (the user's region for a request's first call).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement<'a> {
    replicas: &'a [Vec<usize>],
}

/// How data shards are written: which services own one, the share of their calls that write,
/// and how many other replicas a write waits for.
#[derive(Debug, Clone, Copy)]
pub struct Writes<'a> {
    pub stateful: &'a [bool],
    pub fraction: f64,
    pub quorum: usize,
}

/// The outcome of serving one snapshot of demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// Request-weighted mean and 95th percentile of latency (ms).
    pub mean_latency_ms: f64,
    pub p95_latency_ms: f64,
    /// Busy cores per region (work in core-seconds per second).
    pub busy_cores: Vec<f64>,
    /// Calls per second that cross regions (user calls and write copies included).
    pub cross_region_calls_per_s: f64,
}

impl<'a> Placement<'a> {
    /// A placement of every service: each has a replica, every replica a region below
    /// `regions`, no region twice.
    pub fn complete(replicas: &'a [Vec<usize>], regions: usize) -> Result<Self, String> {
        if let Some(service) = replicas.iter().position(Vec::is_empty) {
            return Err(format!("service {service} has no replica"));
        }
        Self::partial(replicas, regions)
    }

    /// A placement in progress: services without replicas follow their callers.
    pub fn partial(replicas: &'a [Vec<usize>], regions: usize) -> Result<Self, String> {
        for (service, at) in replicas.iter().enumerate() {
            if let Some(r) = at.iter().find(|&&r| r >= regions) {
                return Err(format!(
                    "service {service}: region {r} does not exist ({regions} regions)"
                ));
            }
            if let Some((k, r)) = at.iter().enumerate().find(|(k, r)| at[..*k].contains(r)) {
                return Err(format!(
                    "service {service}: replica {k} is a second one in region {r}"
                ));
            }
        }
        Ok(Self { replicas })
    }

    pub fn replicas(&self) -> &'a [Vec<usize>] {
        self.replicas
    }

    /// The replica of `service` nearest to `from` (`from` itself when it is not placed).
    fn nearest(&self, geo: &Geography, service: usize, from: usize) -> usize {
        let mut best = (f64::INFINITY, from);
        for &r in &self.replicas[service] {
            let rtt = if r == from { 0.0 } else { geo.rtt_ms(from, r) };
            if rtt < best.0 {
                best = (rtt, r);
            }
        }
        best.1
    }

    /// Round trip from the primary of `service` to the `quorum`-th nearest other replica (all
    /// of them when there are fewer): how long a write waits for its synchronous copies; and
    /// how many of those copies cross regions.
    fn write_sync(&self, geo: &Geography, service: usize, quorum: usize) -> (f64, usize) {
        let at = &self.replicas[service];
        let Some((&primary, others)) = at.split_first() else {
            return (0.0, 0);
        };
        let mut rtts: Vec<f64> = others.iter().map(|&r| geo.rtt_ms(primary, r)).collect();
        rtts.sort_by(f64::total_cmp);
        let copies = quorum.min(rtts.len());
        (copies.checked_sub(1).map_or(0.0, |k| rtts[k]), copies)
    }
}

/// Serves `requests_per_s[u]` requests from each user region `u` (split over the catalog's
/// request types by their shares) with `cores[r]` cores in each region. The placement has a
/// replica list for every service of the catalog, in `geo`'s regions. A shard's call is an
/// expectation over reads (nearest replica) and writes (primary, then the synchronous copies).
pub fn serve(
    geo: &Geography,
    catalog: &Catalog,
    placement: Placement,
    writes: Writes,
    requests_per_s: &[f64],
    cores: &[f64],
) -> Served {
    let regions = geo.regions.len();
    let mut busy = vec![0.0; regions];
    let mut cross = 0.0;
    let hop = |from: usize, to: usize| {
        if from == to {
            0.0
        } else {
            geo.rtt_ms(from, to)
        }
    };
    // A write goes to the primary and waits for its copies; reads go to the nearest replica.
    // Routing does not depend on load: a first pass places the work, a second times it.
    let write_of = |service: usize| {
        (writes.stateful.get(service) == Some(&true) && writes.fraction > 0.0)
            .then(|| placement.replicas[service].first().copied())
            .flatten()
    };
    // Each shard's write wait and crossing copies, once per serve.
    let sync: Vec<(f64, usize)> = (0..placement.replicas.len())
        .map(|s| match write_of(s) {
            Some(_) => placement.write_sync(geo, s, writes.quorum),
            None => (0.0, 0),
        })
        .collect();
    let mut routes: Vec<Vec<usize>> = Vec::with_capacity(catalog.request_types.len() * regions);
    for t in &catalog.request_types {
        for (user, &rate) in requests_per_s.iter().enumerate() {
            let rate = rate * t.share;
            let mut at = Vec::with_capacity(t.calls.len());
            for call in &t.calls {
                let from = call.parent.map_or(user, |p| at[p]);
                let read = placement.nearest(geo, call.service, from);
                let work = rate * call.own_ms / 1000.0;
                match write_of(call.service) {
                    Some(primary) => {
                        let w = writes.fraction;
                        let copies = sync[call.service].1;
                        busy[read] += (1.0 - w) * work;
                        busy[primary] += w * work;
                        cross += rate
                            * ((1.0 - w) * f64::from(u8::from(read != from))
                                + w * (f64::from(u8::from(primary != from)) + copies as f64));
                    }
                    None => {
                        busy[read] += work;
                        cross += rate * f64::from(u8::from(read != from));
                    }
                }
                at.push(read);
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
    let call_time = |service: usize, own_ms: f64, from: usize, read: usize| match write_of(service)
    {
        Some(primary) => {
            let w = writes.fraction;
            (1.0 - w) * (hop(from, read) + own_ms * slowdown[read])
                + w * (hop(from, primary) + own_ms * slowdown[primary] + sync[service].0)
        }
        None => hop(from, read) + own_ms * slowdown[read],
    };
    let mut latencies: Vec<(f64, f64)> = Vec::with_capacity(routes.len());
    let mut route = routes.iter();
    for t in &catalog.request_types {
        for (user, &rate) in requests_per_s.iter().enumerate() {
            let Some(at) = route.next() else { break };
            // Children follow parents: one backward pass adds each call's time to its parent's.
            let mut time: Vec<f64> = vec![0.0; t.calls.len()];
            for k in (0..t.calls.len()).rev() {
                let call = &t.calls[k];
                let from = call.parent.map_or(user, |p| at[p]);
                // The user's own round trip is paid even inside its region.
                let user_rtt = if call.parent.is_none() && at[k] == user {
                    geo.rtt_ms(user, user)
                } else {
                    0.0
                };
                time[k] += user_rtt + call_time(call.service, call.own_ms, from, at[k]);
                if let Some(p) = call.parent {
                    time[p] += time[k];
                }
            }
            latencies.push((time[0], rate * t.share));
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

    const NO_WRITES: Writes = Writes {
        stateful: &[],
        fraction: 0.0,
        quorum: 0,
    };

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
        let all_east = vec![vec![east]; 3];
        let served = serve(
            &geo,
            &catalog,
            Placement::complete(&all_east, n).unwrap(),
            NO_WRITES,
            &demand,
            &cores,
        );
        // 2 ms to the user's own region; 10 + 4 + 2 ms of work, slowed by 1 / (1 - 1.6 / 1000).
        let slow = 1.0 / (1.0 - 1.6 / 1000.0);
        assert!((served.mean_latency_ms - (2.0 + 16.0 * slow)).abs() < 1e-9);
        assert_eq!(served.p95_latency_ms, served.mean_latency_ms);
        assert!((served.busy_cores[east] - 1.6).abs() < 1e-12);
        assert_eq!(served.cross_region_calls_per_s, 0.0);
        // B only in the west: one crossing call per request.
        let mut split = all_east.clone();
        split[1] = vec![west];
        let served = serve(
            &geo,
            &catalog,
            Placement::complete(&split, n).unwrap(),
            NO_WRITES,
            &demand,
            &cores,
        );
        let expected = 2.0
            + geo.rtt_ms(east, west)
            + (10.0 + 2.0) * (1.0 / (1.0 - 1.2 / 1000.0))
            + 4.0 / (1.0 - 0.4 / 1000.0);
        assert!((served.mean_latency_ms - expected).abs() < 1e-9);
        assert_eq!(served.cross_region_calls_per_s, 100.0);
        // Given a replica in the east too, B is called there.
        split[1] = vec![west, east];
        let served = serve(
            &geo,
            &catalog,
            Placement::complete(&split, n).unwrap(),
            NO_WRITES,
            &demand,
            &cores,
        );
        assert_eq!(served.cross_region_calls_per_s, 0.0);
    }

    #[test]
    fn writes_go_to_the_primary_and_wait_for_the_quorum() {
        let geo = Geography::azure(Season::Jan, 2.0).unwrap();
        let n = geo.regions.len();
        let at = |name: &str| geo.index_of(name).unwrap();
        let (east, west, europe) = (at("eastus"), at("westus2"), at("westeurope"));
        let catalog = chain();
        let mut demand = vec![0.0; n];
        demand[east] = 1.0;
        let cores = vec![1e9; n];
        // C is a shard: primary in the west, copies in the east and in Europe.
        let replicas = [vec![east], vec![east], vec![west, east, europe]];
        let placement = Placement::complete(&replicas, n).unwrap();
        let stateful = [false, false, true];
        let writes = |fraction, quorum| Writes {
            stateful: &stateful,
            fraction,
            quorum,
        };
        let reads = serve(&geo, &catalog, placement, writes(0.0, 1), &demand, &cores);
        assert!((reads.mean_latency_ms - (2.0 + 16.0)).abs() < 1e-6);
        let rtt = |a, b| geo.rtt_ms(a, b);
        let quorum1 = rtt(west, east).min(rtt(west, europe));
        let quorum2 = rtt(west, east).max(rtt(west, europe));
        for (quorum, sync, copies) in [(1, quorum1, 1.0), (2, quorum2, 2.0), (5, quorum2, 2.0)] {
            let all = serve(
                &geo,
                &catalog,
                placement,
                writes(1.0, quorum),
                &demand,
                &cores,
            );
            let expected = 2.0 + 16.0 + rtt(east, west) + sync;
            assert!(
                (all.mean_latency_ms - expected).abs() < 1e-6,
                "quorum {quorum}"
            );
            assert!((all.cross_region_calls_per_s - (1.0 + copies)).abs() < 1e-12);
        }
        // A tenth of writes: the expectation in between.
        let mixed = serve(&geo, &catalog, placement, writes(0.1, 1), &demand, &cores);
        let expected = 2.0 + 16.0 + 0.1 * (rtt(east, west) + quorum1);
        assert!((mixed.mean_latency_ms - expected).abs() < 1e-6);
    }

    #[test]
    fn an_unplaced_service_runs_where_it_is_called() {
        let geo = Geography::azure(Season::Jan, 2.0).unwrap();
        let n = geo.regions.len();
        let west = geo.index_of("westus2").unwrap();
        let mut demand = vec![0.0; n];
        demand[west] = 10.0;
        let nothing = vec![vec![]; 3];
        let partial = Placement::partial(&nothing, n).unwrap();
        let served = serve(&geo, &chain(), partial, NO_WRITES, &demand, &vec![1e9; n]);
        assert!((served.mean_latency_ms - 18.0).abs() < 1e-6);
        assert_eq!(served.cross_region_calls_per_s, 0.0);
        assert!(Placement::complete(&[vec![], vec![0]], n).is_err());
    }

    #[test]
    fn load_slows_work_down_to_a_cap() {
        let geo = Geography::azure(Season::Jan, 2.0).unwrap();
        let n = geo.regions.len();
        let catalog = chain();
        let replicas = vec![vec![0]; 3];
        let placement = Placement::complete(&replicas, n).unwrap();
        let mut demand = vec![0.0; n];
        demand[0] = 100.0;
        let served = serve(&geo, &catalog, placement, NO_WRITES, &demand, &vec![1.0; n]);
        // 1.6 busy cores on 1 core: the slowdown is capped at 20x.
        assert!((served.mean_latency_ms - (2.0 + 16.0 * 20.0)).abs() < 1e-9);
    }

    #[test]
    fn a_placement_needs_a_replica_per_service_in_a_real_region() {
        assert_eq!(
            Placement::complete(&[vec![0], vec![]], 3).unwrap_err(),
            "service 1 has no replica"
        );
        assert!(
            Placement::complete(&[vec![3]], 3)
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
