//! Serving a placement: every request is routed through its call tree, each call to the
//! replica of the callee nearest (in RTT) to the caller's region, the user's first call to the
//! replica nearest to the user. A call that crosses regions adds the round trip between them to
//! the caller's wait; calls inside a region add nothing beyond the trace's own times (which
//! include the datacenter network). A call's work is slowed by its region's load, as in an M/M/1
//! queue: by 1 / (1 - utilisation), capped. A request's latency is the user's round trip plus the
//! root's time, a call's time its work plus its children's, one after another (the sample shows
//! 94 % of sibling calls made in sequence).

use super::catalog::{Catalog, RequestType};
use crate::world::geography::Geography;
use rayon::prelude::*;

/// RTT (ms) of a call from region `a` to region `b`: 0 inside a region (the trace's own times
/// include the datacenter network).
pub fn hop_ms(geo: &Geography, a: usize, b: usize) -> f64 {
    if a == b { 0.0 } else { geo.rtt_ms(a, b) }
}

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
/// and how many other replicas a write waits for. Stateful services must be leaves (they call
/// no other service): a call's children are routed from its read replica.
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
    /// Calls per second that cross regions (user calls and every write copy included).
    pub cross_region_calls_per_s: f64,
}

impl<'a> Placement<'a> {
    /// A placement of every service: each has a replica, every replica a region below
    /// `regions`, no region twice.
    #[cfg(test)]
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

    /// The replica of `service` nearest to `from` (`from` itself when it is not placed).
    fn nearest(&self, geo: &Geography, service: usize, from: usize) -> usize {
        let mut best = (f64::INFINITY, from);
        for &r in &self.replicas[service] {
            let rtt = hop_ms(geo, from, r);
            if rtt < best.0 {
                best = (rtt, r);
            }
        }
        best.1
    }

    /// Round trip from the primary of `service` to the `quorum`-th nearest other replica (all
    /// of them when there are fewer): how long a write waits for its synchronous copies; and
    /// how many copies a write sends to other regions (every other replica receives it, the
    /// ones beyond the quorum asynchronously).
    fn write_sync(&self, geo: &Geography, service: usize, quorum: usize) -> (f64, usize) {
        let at = &self.replicas[service];
        let Some((&primary, others)) = at.split_first() else {
            return (0.0, 0);
        };
        let mut rtts: Vec<f64> = others.iter().map(|&r| geo.rtt_ms(primary, r)).collect();
        rtts.sort_by(f64::total_cmp);
        let waited = quorum.min(rtts.len());
        (waited.checked_sub(1).map_or(0.0, |k| rtts[k]), others.len())
    }
}

/// Whether [`serve`] also finds the 95th percentile of latency (a weighted quickselect over
/// every (request type, user region) pair; the mean needs none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Percentile {
    Skip,
    P95,
}

/// Request types routed (and then timed) together, by one thread: fixed-size chunks, so that
/// sums are taken in the same order whatever the number of threads.
const TYPES_PER_CHUNK: usize = 4096;

/// One (request type, region of its first call) pair: every user region whose nearest replica
/// of the first service is `root` shares the rest of the route.
struct Group {
    root: usize,
    /// Requests/s of the type from those users.
    rate: f64,
    /// Where its calls run, in the chunk's `routes`.
    offset: usize,
}

/// What routing a chunk of request types found: its work per region, its crossings, and per
/// type its groups, each user's group and the groups' routes.
struct Routed {
    busy: Vec<f64>,
    cross: f64,
    groups: Vec<Vec<Group>>,
    group_of_user: Vec<usize>,
    routes: Vec<usize>,
}

/// A chunk's weighted latency sum, weight and (for the p95) latencies.
struct Timed {
    weighted: f64,
    total: f64,
    latencies: Vec<(f64, f64)>,
}

/// Where calls go and what they cost, for one placement.
struct Router<'a> {
    geo: &'a Geography,
    placement: Placement<'a>,
    writes: Writes<'a>,
    /// Users with demand: (region, requests/s).
    users: Vec<(usize, f64)>,
    /// Per service, a shard's write wait and copies (0 otherwise).
    sync: Vec<(f64, usize)>,
}

impl Router<'_> {
    /// The primary a write of `service` goes to, for a shard with writes.
    fn write_of(&self, service: usize) -> Option<usize> {
        (self.writes.stateful.get(service) == Some(&true) && self.writes.fraction > 0.0)
            .then(|| self.placement.replicas[service].first().copied())
            .flatten()
    }

    /// Puts the work of a call from `from` to `service`, served at `read`, into `busy`;
    /// returns the calls per second it sends across regions.
    fn place_call(
        &self,
        busy: &mut [f64],
        service: usize,
        from: usize,
        read: usize,
        rate: f64,
        own: f64,
    ) -> f64 {
        let crossing = |a: usize, b: usize| f64::from(u8::from(a != b));
        let work = rate * own / 1000.0;
        let w = self.writes.fraction;
        match self.write_of(service) {
            Some(primary) => {
                busy[read] += (1.0 - w) * work;
                busy[primary] += w * work;
                rate * ((1.0 - w) * crossing(from, read)
                    + w * (crossing(from, primary) + self.sync[service].1 as f64))
            }
            None => {
                busy[read] += work;
                rate * crossing(from, read)
            }
        }
    }

    /// Routes a chunk of request types. After its first call, a request's route depends only
    /// on where that call runs.
    fn route(&self, types: &[RequestType]) -> Routed {
        let regions = self.geo.regions.len();
        let mut r = Routed {
            busy: vec![0.0; regions],
            cross: 0.0,
            groups: Vec::with_capacity(types.len()),
            group_of_user: Vec::with_capacity(types.len() * self.users.len()),
            routes: Vec::new(),
        };
        // Per type, the group of each region of a first call (usize::MAX: none yet).
        let mut group_of = vec![usize::MAX; regions];
        for t in types {
            let root = &t.calls[0];
            let mut mine: Vec<Group> = Vec::new();
            for &(user, rate) in &self.users {
                let rate = rate * t.share;
                let read = self.placement.nearest(self.geo, root.service, user);
                r.cross +=
                    self.place_call(&mut r.busy, root.service, user, read, rate, root.own_ms);
                if group_of[read] == usize::MAX {
                    group_of[read] = mine.len();
                    mine.push(Group {
                        root: read,
                        rate: 0.0,
                        offset: 0,
                    });
                }
                mine[group_of[read]].rate += rate;
                r.group_of_user.push(group_of[read]);
            }
            for g in &mut mine {
                group_of[g.root] = usize::MAX;
                g.offset = r.routes.len();
                r.routes.push(g.root);
                for call in &t.calls[1..] {
                    let from = call.parent.map_or(g.root, |p| r.routes[g.offset + p]);
                    let read = self.placement.nearest(self.geo, call.service, from);
                    r.cross +=
                        self.place_call(&mut r.busy, call.service, from, read, g.rate, call.own_ms);
                    r.routes.push(read);
                }
            }
            r.groups.push(mine);
        }
        r
    }

    /// Times a routed chunk under the regions' `slowdown`.
    fn time(
        &self,
        types: &[RequestType],
        routed: &Routed,
        slowdown: &[f64],
        percentile: Percentile,
    ) -> Timed {
        let w = self.writes.fraction;
        // A call's work where it runs, as an expectation over reads and writes (no network).
        let work_time = |service: usize, own_ms: f64, read: usize| match self.write_of(service) {
            Some(primary) => {
                (1.0 - w) * own_ms * slowdown[read]
                    + w * (own_ms * slowdown[primary] + self.sync[service].0)
            }
            None => own_ms * slowdown[read],
        };
        // The network wait of a call from `from` to `service` served at `read`.
        let network_time = |service: usize, from: usize, read: usize| match self.write_of(service) {
            Some(primary) => {
                (1.0 - w) * hop_ms(self.geo, from, read) + w * hop_ms(self.geo, from, primary)
            }
            None => hop_ms(self.geo, from, read),
        };
        let mut timed = Timed {
            weighted: 0.0,
            total: 0.0,
            latencies: Vec::new(),
        };
        let mut time: Vec<f64> = Vec::new();
        let mut group_of_user = routed.group_of_user.iter();
        for (t, mine) in types.iter().zip(&routed.groups) {
            // Per group: its first call's work plus everything below it.
            let below: Vec<f64> = mine
                .iter()
                .map(|g| {
                    let at = &routed.routes[g.offset..g.offset + t.calls.len()];
                    time.clear();
                    time.resize(t.calls.len(), 0.0);
                    // Children follow parents: one backward pass adds each call's time to its
                    // parent's.
                    for k in (1..t.calls.len()).rev() {
                        let call = &t.calls[k];
                        let Some(p) = call.parent else { continue };
                        time[k] += network_time(call.service, at[p], at[k])
                            + work_time(call.service, call.own_ms, at[k]);
                        time[p] += time[k];
                    }
                    time[0] + work_time(t.calls[0].service, t.calls[0].own_ms, g.root)
                })
                .collect();
            for &(user, rate) in &self.users {
                let Some(&k) = group_of_user.next() else {
                    break;
                };
                let root = mine[k].root;
                // The user's leg, paid even inside its region (the matrix's diagonal).
                let leg = match self.write_of(t.calls[0].service) {
                    Some(primary) => {
                        (1.0 - w) * self.geo.rtt_ms(user, root) + w * self.geo.rtt_ms(user, primary)
                    }
                    None => self.geo.rtt_ms(user, root),
                };
                let latency = leg + below[k];
                let weight = rate * t.share;
                timed.weighted += latency * weight;
                timed.total += weight;
                if percentile == Percentile::P95 {
                    timed.latencies.push((latency, weight));
                }
            }
        }
        timed
    }
}

/// Serves `requests_per_s[u]` requests from each user region `u` (split over the catalog's
/// request types by their shares) with `cores[r]` cores in each region. The placement has a
/// replica list for every service of the catalog, in `geo`'s regions. A shard's call is an
/// expectation over reads (nearest replica) and writes (primary, then the synchronous copies).
/// Without `Percentile::P95`, `p95_latency_ms` is NaN; without demand, latencies are 0.
/// Request types are routed and timed in parallel chunks, with the same result for any
/// number of threads.
pub fn serve(
    geo: &Geography,
    catalog: &Catalog,
    placement: Placement,
    writes: Writes,
    requests_per_s: &[f64],
    cores: &[f64],
    percentile: Percentile,
) -> Served {
    let regions = geo.regions.len();
    let mut router = Router {
        geo,
        placement,
        writes,
        users: requests_per_s
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, rate)| rate > 0.0)
            .collect(),
        sync: Vec::new(),
    };
    router.sync = (0..placement.replicas.len())
        .map(|s| match router.write_of(s) {
            Some(_) => placement.write_sync(geo, s, writes.quorum),
            None => (0.0, 0),
        })
        .collect();
    // Routing does not depend on load: a first pass places the work, a second times it.
    let chunks: Vec<&[RequestType]> = catalog.request_types.chunks(TYPES_PER_CHUNK).collect();
    let routed: Vec<Routed> = chunks.par_iter().map(|types| router.route(types)).collect();
    let mut busy = vec![0.0; regions];
    let mut cross = 0.0;
    for r in &routed {
        busy.iter_mut().zip(&r.busy).for_each(|(b, x)| *b += x);
        cross += r.cross;
    }
    let slowdown: Vec<f64> = busy
        .iter()
        .zip(cores)
        .map(|(&b, &c)| {
            let utilisation = if c > 0.0 { b / c } else { f64::INFINITY };
            1.0 / (1.0 - utilisation.min(MAX_UTILISATION))
        })
        .collect();
    let timed: Vec<Timed> = chunks
        .par_iter()
        .zip(&routed)
        .map(|(types, r)| router.time(types, r, &slowdown, percentile))
        .collect();
    let (mut weighted, mut total) = (0.0, 0.0);
    let mut latencies: Vec<(f64, f64)> = Vec::new();
    for t in timed {
        weighted += t.weighted;
        total += t.total;
        latencies.extend(t.latencies);
    }
    // No demand, no waiting.
    let mean = if total > 0.0 { weighted / total } else { 0.0 };
    let p95 = match percentile {
        Percentile::P95 if total > 0.0 => weighted_quantile(&mut latencies, 0.95),
        Percentile::P95 => 0.0,
        Percentile::Skip => f64::NAN,
    };
    Served {
        mean_latency_ms: mean,
        p95_latency_ms: p95,
        busy_cores: busy,
        cross_region_calls_per_s: cross,
    }
}

/// The `q`-quantile (the smallest value whose cumulative weight, in ascending order, reaches
/// q of the total) of (value, weight) pairs; NaN without weight. Quickselect: expected linear
/// time, as a step may ask for it over every (request type, user region) pair.
fn weighted_quantile(pairs: &mut [(f64, f64)], q: f64) -> f64 {
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    if total <= 0.0 || pairs.is_empty() {
        return f64::NAN;
    }
    let mut target = q * total;
    let mut slice = pairs;
    let mut last = f64::NAN;
    loop {
        match slice.len() {
            0 => return last,
            1 => return slice[0].0,
            _ => {}
        }
        let mid = slice.len() / 2;
        slice.select_nth_unstable_by(mid, |a, b| a.0.total_cmp(&b.0));
        let below: f64 = slice[..mid].iter().map(|p| p.1).sum();
        if below >= target {
            slice = &mut slice[..mid];
        } else if below + slice[mid].1 >= target {
            return slice[mid].0;
        } else {
            target -= below + slice[mid].1;
            last = slice[mid].0;
            slice = &mut slice[mid + 1..];
        }
    }
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
        let served_by = |replicas: &[Vec<usize>]| {
            let placement = Placement::complete(replicas, n).unwrap();
            serve(
                &geo,
                &catalog,
                placement,
                NO_WRITES,
                &demand,
                &cores,
                Percentile::P95,
            )
        };
        let all_east = vec![vec![east]; 3];
        let served = served_by(&all_east);
        // 2 ms to the user's own region; 10 + 4 + 2 ms of work, slowed by 1 / (1 - 1.6 / 1000).
        let slow = 1.0 / (1.0 - 1.6 / 1000.0);
        assert!((served.mean_latency_ms - (2.0 + 16.0 * slow)).abs() < 1e-9);
        assert_eq!(served.p95_latency_ms, served.mean_latency_ms);
        assert!((served.busy_cores[east] - 1.6).abs() < 1e-12);
        assert_eq!(served.cross_region_calls_per_s, 0.0);
        // B only in the west: one crossing call per request.
        let mut split = all_east.clone();
        split[1] = vec![west];
        let served = served_by(&split);
        let expected = 2.0
            + geo.rtt_ms(east, west)
            + (10.0 + 2.0) * (1.0 / (1.0 - 1.2 / 1000.0))
            + 4.0 / (1.0 - 0.4 / 1000.0);
        assert!((served.mean_latency_ms - expected).abs() < 1e-9);
        assert_eq!(served.cross_region_calls_per_s, 100.0);
        // Given a replica in the east too, B is called there.
        split[1] = vec![west, east];
        let served = served_by(&split);
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
        let reads = serve(
            &geo,
            &catalog,
            placement,
            writes(0.0, 1),
            &demand,
            &cores,
            Percentile::P95,
        );
        assert!((reads.mean_latency_ms - (2.0 + 16.0)).abs() < 1e-6);
        let rtt = |a, b| geo.rtt_ms(a, b);
        let quorum1 = rtt(west, east).min(rtt(west, europe));
        let quorum2 = rtt(west, east).max(rtt(west, europe));
        // Every write reaches both other replicas; it waits for the quorum only.
        for (quorum, sync, copies) in [(1, quorum1, 2.0), (2, quorum2, 2.0), (5, quorum2, 2.0)] {
            let all = serve(
                &geo,
                &catalog,
                placement,
                writes(1.0, quorum),
                &demand,
                &cores,
                Percentile::P95,
            );
            let expected = 2.0 + 16.0 + rtt(east, west) + sync;
            assert!(
                (all.mean_latency_ms - expected).abs() < 1e-6,
                "quorum {quorum}"
            );
            assert!((all.cross_region_calls_per_s - (1.0 + copies)).abs() < 1e-12);
        }
        // A tenth of writes: the expectation in between.
        let mixed = serve(
            &geo,
            &catalog,
            placement,
            writes(0.1, 1),
            &demand,
            &cores,
            Percentile::P95,
        );
        let expected = 2.0 + 16.0 + 0.1 * (rtt(east, west) + quorum1);
        assert!((mixed.mean_latency_ms - expected).abs() < 1e-6);
    }

    #[test]
    fn a_shard_called_by_users_splits_their_leg_between_its_replicas() {
        let geo = Geography::azure(Season::Jan, 2.0).unwrap();
        let n = geo.regions.len();
        let (east, west) = (
            geo.index_of("eastus").unwrap(),
            geo.index_of("westus2").unwrap(),
        );
        let csv = "timestamp,traceid,rpcid,um,dm,rt\n1,T1,0,USER,S,5\n";
        let catalog =
            Catalog::from_call_graphs(&callgraph::read(csv.as_bytes(), "calls.csv").unwrap());
        let replicas = [vec![west, east]];
        let placement = Placement::complete(&replicas, n).unwrap();
        let writes = Writes {
            stateful: &[true],
            fraction: 0.5,
            quorum: 1,
        };
        let mut demand = vec![0.0; n];
        demand[east] = 1.0;
        let cores = vec![1e9; n];
        let served = serve(
            &geo,
            &catalog,
            placement,
            writes,
            &demand,
            &cores,
            Percentile::P95,
        );
        // Reads stay in the east (2 ms inside it); writes go west and wait for the east copy.
        let rtt = geo.rtt_ms(east, west);
        let expected = 0.5 * 2.0 + 0.5 * rtt + 5.0 + 0.5 * geo.rtt_ms(west, east);
        assert!((served.mean_latency_ms - expected).abs() < 1e-6);
        // No demand: no waiting, and no NaN.
        let idle = serve(
            &geo,
            &catalog,
            placement,
            writes,
            &vec![0.0; n],
            &cores,
            Percentile::P95,
        );
        assert_eq!((idle.mean_latency_ms, idle.p95_latency_ms), (0.0, 0.0));
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
        let served = serve(
            &geo,
            &chain(),
            partial,
            NO_WRITES,
            &demand,
            &vec![1e9; n],
            Percentile::P95,
        );
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
        let served = serve(
            &geo,
            &catalog,
            placement,
            NO_WRITES,
            &demand,
            &vec![1.0; n],
            Percentile::P95,
        );
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
        let mut pairs = vec![(1000.0, 1.0), (10.0, 90.0), (100.0, 9.0)];
        assert_eq!(weighted_quantile(&mut pairs, 0.95), 100.0);
        assert_eq!(weighted_quantile(&mut pairs, 0.5), 10.0);
        assert_eq!(weighted_quantile(&mut pairs, 1.0), 1000.0);
        assert!(weighted_quantile(&mut [], 0.95).is_nan());
        // Against sorting, on many pairs with ties.
        let mut rng = crate::rng::Rng::new(4);
        for q in [0.05, 0.5, 0.95, 0.999] {
            let mut pairs: Vec<(f64, f64)> = (0..2000)
                .map(|_| ((rng.uniform() * 50.0).floor(), rng.uniform()))
                .collect();
            let total: f64 = pairs.iter().map(|p| p.1).sum();
            let mut sorted = pairs.clone();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut seen = 0.0;
            let expected = sorted
                .iter()
                .find(|p| {
                    seen += p.1;
                    seen >= q * total
                })
                .map(|p| p.0)
                .unwrap();
            assert_eq!(weighted_quantile(&mut pairs, q), expected, "q {q}");
        }
    }
}
