//! Serving a placement: every request is routed through its call tree, each call to the
//! replica of the callee nearest (in RTT) to the caller's region, the user's first call to the
//! replica nearest to the user. A call that crosses regions adds the round trip between them to
//! the caller's wait; calls inside a region add nothing beyond the trace's own times (which
//! include the datacenter network). A call's work is slowed by its region's load, as in an M/M/1
//! queue: by 1 / (1 - utilisation), capped. A request's latency is the user's round trip plus the
//! root's time, a call's time its work plus its children's, one after another (the sample shows
//! 94 % of sibling calls made in sequence).

use super::catalog::{Catalog, RequestType};
use super::quantile::{Histogram, weighted_quantile};
use crate::traces::callgraph::Call;
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

/// Whether [`serve`] also finds the 95th percentile of latency (the mean needs none). It is
/// exact (a weighted quickselect over every (request type, user region) pair) up to
/// [`SMALL_MIX_PAIRS`] pairs, and beyond them read from a [`Histogram`], within 0.05 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Percentile {
    Skip,
    P95,
}

/// A mix with at most this many (request type, user region) pairs and (call, user region)
/// pairs together is served keeping everything: its routes between the two passes of
/// [`serve`] (at most a route per call and user region), and its latencies for an exact p95
/// (tens of MB). A larger one streams: it is routed twice and its p95 read from a histogram.
pub const SMALL_MIX_PAIRS: usize = 1 << 22;

/// What a serve keeps of its latencies, for the p95.
enum Spread {
    Skip,
    Exact(Vec<(f64, f64)>),
    Bucketed(Histogram),
}

impl Spread {
    fn record(&mut self, latency: f64, weight: f64) {
        match self {
            Spread::Skip => {}
            Spread::Exact(pairs) => pairs.push((latency, weight)),
            Spread::Bucketed(histogram) => histogram.add(latency, weight),
        }
    }

    /// Appends `other`'s latencies, which come after this one's.
    fn merge(&mut self, other: Spread) {
        match (self, other) {
            (Spread::Exact(pairs), Spread::Exact(more)) => pairs.extend(more),
            (Spread::Bucketed(histogram), Spread::Bucketed(more)) => histogram.merge(&more),
            // One serve makes one kind: nothing else meets.
            _ => {}
        }
    }

    fn p95(self) -> f64 {
        match self {
            Spread::Skip => f64::NAN,
            Spread::Exact(mut pairs) => weighted_quantile(&mut pairs, 0.95),
            Spread::Bucketed(histogram) => histogram.quantile(0.95),
        }
    }
}

/// Per chunk of request types, in their order, the weighted latency sum and the weight; and
/// the latencies kept.
struct Tally {
    sums: Vec<(f64, f64)>,
    spread: Spread,
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
/// type its groups (type `t`'s are `groups[starts[t]..starts[t + 1]]`), each user's group
/// among them and the groups' routes.
struct Routed {
    busy: Vec<f64>,
    cross: f64,
    groups: Vec<Group>,
    starts: Vec<usize>,
    group_of_user: Vec<usize>,
    routes: Vec<usize>,
}

/// Per service, where its calls go, packed into 8 bytes: routing a large application is
/// bound by fetching these from memory, one per call.
#[derive(Debug, Clone, Copy)]
struct Site {
    /// The region of its only replica; [`NEAREST_ROW`] plus the row of `Router::nearest_rows`
    /// that holds its nearest replica from each region; [`REPLICATED`] (search its replicas)
    /// or [`UNPLACED`].
    read: u32,
    /// Where a write goes (a shard's primary), or [`NO_WRITES`].
    primary: u32,
}

impl Site {
    /// The primary a write goes to, for a shard with writes.
    fn primary(self) -> Option<usize> {
        (self.primary != NO_WRITES).then_some(self.primary as usize)
    }
}

const UNPLACED: u32 = u32::MAX;
const REPLICATED: u32 = u32::MAX - 1;
const NEAREST_ROW: u32 = 1 << 31;
const NO_WRITES: u32 = u32::MAX;
/// Most entries of `Router::nearest_rows` (64 MB); replicated services beyond them are
/// searched call by call.
const MAX_NEAREST_ENTRIES: usize = 1 << 24;

/// Where calls go and what they cost, for one placement.
struct Router<'a> {
    geo: &'a Geography,
    placement: Placement<'a>,
    writes: Writes<'a>,
    /// Users with demand: (region, requests/s).
    users: Vec<(usize, f64)>,
    sites: Vec<Site>,
    /// For replicated services, their nearest replica from each region, a row each.
    nearest_rows: Vec<u32>,
    /// Per service, a shard's write wait and copies (0 otherwise).
    sync: Vec<(f64, usize)>,
}

impl<'a> Router<'a> {
    fn new(
        geo: &'a Geography,
        placement: Placement<'a>,
        writes: Writes<'a>,
        requests_per_s: &[f64],
        max_nearest_entries: usize,
    ) -> Self {
        let writing =
            |service: usize| writes.stateful.get(service) == Some(&true) && writes.fraction > 0.0;
        // Region indices are below `geo`'s count, far below the markers.
        let regions = geo.regions.len();
        let mut nearest_rows: Vec<u32> = Vec::new();
        let sites: Vec<Site> = placement
            .replicas
            .iter()
            .enumerate()
            .map(|(service, at)| Site {
                read: match at[..] {
                    [] => UNPLACED,
                    [only] => only as u32,
                    _ if nearest_rows.len() + regions <= max_nearest_entries => {
                        let row = nearest_rows.len() / regions;
                        nearest_rows.extend(
                            (0..regions).map(|from| placement.nearest(geo, service, from) as u32),
                        );
                        NEAREST_ROW + row as u32
                    }
                    _ => REPLICATED,
                },
                primary: match at.first() {
                    Some(&r) if writing(service) => r as u32,
                    _ => NO_WRITES,
                },
            })
            .collect();
        let sync = sites
            .iter()
            .enumerate()
            .map(|(s, site)| match site.primary {
                NO_WRITES => (0.0, 0),
                _ => placement.write_sync(geo, s, writes.quorum),
            })
            .collect();
        Self {
            geo,
            placement,
            writes,
            users: requests_per_s
                .iter()
                .copied()
                .enumerate()
                .filter(|&(_, rate)| rate > 0.0)
                .collect(),
            sites,
            nearest_rows,
            sync,
        }
    }

    /// Each call's site, fetched together before the calls are followed: the fetches do not
    /// wait for one another, where following the calls' chain would.
    fn gather(&self, calls: &[Call], into: &mut Vec<Site>) {
        into.clear();
        into.extend(calls.iter().map(|c| self.sites[c.service]));
    }

    /// The replica of `service` (at `site`) nearest to `from` (`from` itself when it is not
    /// placed).
    fn nearest(&self, site: Site, service: usize, from: usize) -> usize {
        match site.read {
            UNPLACED => from,
            REPLICATED => self.placement.nearest(self.geo, service, from),
            row if row >= NEAREST_ROW => {
                let regions = self.geo.regions.len();
                self.nearest_rows[(row - NEAREST_ROW) as usize * regions + from] as usize
            }
            only => only as usize,
        }
    }

    /// Puts the work of a call from `from` to `service` (at `site`), served at `read`, into
    /// `busy`; returns the calls per second it sends across regions.
    #[allow(clippy::too_many_arguments)]
    fn place_call(
        &self,
        busy: &mut [f64],
        site: Site,
        service: usize,
        from: usize,
        read: usize,
        rate: f64,
        own: f64,
    ) -> f64 {
        let crossing = |a: usize, b: usize| f64::from(u8::from(a != b));
        let work = rate * own / 1000.0;
        let w = self.writes.fraction;
        match site.primary() {
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
            starts: Vec::with_capacity(types.len() + 1),
            group_of_user: Vec::with_capacity(types.len() * self.users.len()),
            routes: Vec::new(),
        };
        // Per type, the group of each region of a first call (usize::MAX: none yet).
        let mut group_of = vec![usize::MAX; regions];
        let mut sites = Vec::new();
        for t in types {
            self.gather(&t.calls, &mut sites);
            let root = &t.calls[0];
            let start = r.groups.len();
            r.starts.push(start);
            for &(user, rate) in &self.users {
                let rate = rate * t.share;
                let read = self.nearest(sites[0], root.service, user);
                r.cross += self.place_call(
                    &mut r.busy,
                    sites[0],
                    root.service,
                    user,
                    read,
                    rate,
                    root.own_ms,
                );
                if group_of[read] == usize::MAX {
                    group_of[read] = r.groups.len() - start;
                    r.groups.push(Group {
                        root: read,
                        rate: 0.0,
                        offset: 0,
                    });
                }
                r.groups[start + group_of[read]].rate += rate;
                r.group_of_user.push(group_of[read]);
            }
            for g in &mut r.groups[start..] {
                group_of[g.root] = usize::MAX;
                g.offset = r.routes.len();
                r.routes.push(g.root);
                for (call, &site) in t.calls.iter().zip(&sites).skip(1) {
                    let from = call.parent.map_or(g.root, |p| r.routes[g.offset + p]);
                    let read = self.nearest(site, call.service, from);
                    r.cross += self.place_call(
                        &mut r.busy,
                        site,
                        call.service,
                        from,
                        read,
                        g.rate,
                        call.own_ms,
                    );
                    r.routes.push(read);
                }
            }
        }
        r.starts.push(r.groups.len());
        r
    }

    /// Times a routed chunk under the regions' `slowdown`, recording every (latency, weight)
    /// into `spread`; returns the weighted latency sum and the weight.
    fn time(
        &self,
        types: &[RequestType],
        routed: &Routed,
        slowdown: &[f64],
        spread: &mut Spread,
    ) -> (f64, f64) {
        let w = self.writes.fraction;
        // A call's work where it runs, as an expectation over reads and writes (no network).
        let work_time = |site: Site, service: usize, own_ms: f64, read: usize| match site.primary()
        {
            Some(primary) => {
                (1.0 - w) * own_ms * slowdown[read]
                    + w * (own_ms * slowdown[primary] + self.sync[service].0)
            }
            None => own_ms * slowdown[read],
        };
        // The network wait of a call from `from` to `service` served at `read`.
        let network_time = |site: Site, from: usize, read: usize| match site.primary() {
            Some(primary) => {
                (1.0 - w) * hop_ms(self.geo, from, read) + w * hop_ms(self.geo, from, primary)
            }
            None => hop_ms(self.geo, from, read),
        };
        let (mut weighted, mut total) = (0.0, 0.0);
        let (mut time, mut below, mut sites) = (Vec::new(), Vec::new(), Vec::new());
        let mut group_of_user = routed.group_of_user.iter();
        for (t, bounds) in types.iter().zip(routed.starts.windows(2)) {
            let mine = &routed.groups[bounds[0]..bounds[1]];
            self.gather(&t.calls, &mut sites);
            // Per group: its first call's work plus everything below it.
            below.clear();
            below.extend(mine.iter().map(|g| {
                let at = &routed.routes[g.offset..g.offset + t.calls.len()];
                time.clear();
                time.resize(t.calls.len(), 0.0);
                // Children follow parents: one backward pass adds each call's time to its
                // parent's.
                for k in (1..t.calls.len()).rev() {
                    let call = &t.calls[k];
                    let Some(p) = call.parent else { continue };
                    time[k] += network_time(sites[k], at[p], at[k])
                        + work_time(sites[k], call.service, call.own_ms, at[k]);
                    time[p] += time[k];
                }
                time[0] + work_time(sites[0], t.calls[0].service, t.calls[0].own_ms, g.root)
            }));
            for &(user, rate) in &self.users {
                let Some(&k) = group_of_user.next() else {
                    break;
                };
                let root = mine[k].root;
                // The user's leg, paid even inside its region (the matrix's diagonal).
                let leg = match sites[0].primary() {
                    Some(primary) => {
                        (1.0 - w) * self.geo.rtt_ms(user, root) + w * self.geo.rtt_ms(user, primary)
                    }
                    None => self.geo.rtt_ms(user, root),
                };
                let latency = leg + below[k];
                let weight = rate * t.share;
                weighted += latency * weight;
                total += weight;
                spread.record(latency, weight);
            }
        }
        (weighted, total)
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
    let demand = Demand {
        requests_per_s,
        cores,
        percentile,
    };
    serve_mix(geo, catalog, placement, writes, demand, SMALL_MIX_PAIRS)
}

/// What [`serve`] serves a placement.
#[derive(Clone, Copy)]
struct Demand<'a> {
    requests_per_s: &'a [f64],
    cores: &'a [f64],
    percentile: Percentile,
}

/// [`serve`], with mixes of at most `small_mix_pairs` pairs served as small.
fn serve_mix(
    geo: &Geography,
    catalog: &Catalog,
    placement: Placement,
    writes: Writes,
    demand: Demand,
    small_mix_pairs: usize,
) -> Served {
    let Demand {
        requests_per_s,
        cores,
        percentile,
    } = demand;
    let regions = geo.regions.len();
    let router = Router::new(geo, placement, writes, requests_per_s, MAX_NEAREST_ENTRIES);
    let calls: usize = catalog.request_types.iter().map(|t| t.calls.len()).sum();
    let small = catalog
        .request_types
        .len()
        .saturating_add(calls)
        .saturating_mul(router.users.len())
        <= small_mix_pairs;
    // Routing does not depend on load: a first pass finds the work per region, a second times
    // the requests under that load. A large mix keeps only each chunk's work between the two
    // and is routed again, so that its routes take memory for one chunk per thread.
    let chunks: Vec<&[RequestType]> = catalog.request_types.chunks(TYPES_PER_CHUNK).collect();
    let first: Vec<(Vec<f64>, f64, Option<Routed>)> = chunks
        .par_iter()
        .map(|types| {
            let mut r = router.route(types);
            (std::mem::take(&mut r.busy), r.cross, small.then_some(r))
        })
        .collect();
    let mut busy = vec![0.0; regions];
    let mut cross = 0.0;
    for (work, crossing, _) in &first {
        busy.iter_mut().zip(work).for_each(|(b, x)| *b += x);
        cross += crossing;
    }
    let slowdown: Vec<f64> = busy
        .iter()
        .zip(cores)
        .map(|(&b, &c)| {
            let utilisation = if c > 0.0 { b / c } else { f64::INFINITY };
            1.0 / (1.0 - utilisation.min(MAX_UTILISATION))
        })
        .collect();
    let users: f64 = router.users.iter().map(|u| u.1).sum();
    let shares: f64 = catalog.request_types.iter().map(|t| t.share).sum();
    let spread = || match percentile {
        Percentile::Skip => Spread::Skip,
        Percentile::P95 if small => Spread::Exact(Vec::new()),
        Percentile::P95 => Spread::Bucketed(Histogram::new(users * shares)),
    };
    // Rayon's fold and reduce keep the chunks' order, so the sums below are taken in the same
    // order on any number of threads.
    let tally = chunks
        .par_iter()
        .zip(&first)
        .fold(
            || Tally {
                sums: Vec::new(),
                spread: spread(),
            },
            |mut tally, (types, (_, _, kept))| {
                let again;
                let routed = match kept {
                    Some(routed) => routed,
                    None => {
                        again = router.route(types);
                        &again
                    }
                };
                let sums = router.time(types, routed, &slowdown, &mut tally.spread);
                tally.sums.push(sums);
                tally
            },
        )
        .reduce(
            || Tally {
                sums: Vec::new(),
                spread: spread(),
            },
            |mut a, b| {
                a.sums.extend(b.sums);
                a.spread.merge(b.spread);
                a
            },
        );
    let (mut weighted, mut total) = (0.0, 0.0);
    for (w, t) in &tally.sums {
        weighted += w;
        total += t;
    }
    // No demand, no waiting.
    let mean = if total > 0.0 { weighted / total } else { 0.0 };
    let p95 = match percentile {
        Percentile::P95 if total > 0.0 => tally.spread.p95(),
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

    /// A seeded application generated from the shipped call graphs.
    fn generated(services: usize, types: usize, seed: u64) -> Catalog {
        let sample = Catalog::from_call_graphs(
            &callgraph::read(callgraph::BUILTIN_SAMPLE, callgraph::BUILTIN_NAME).unwrap(),
        );
        crate::services::generate::generate(&sample, services, types, seed).unwrap()
    }

    #[test]
    fn replicated_services_route_the_same_with_or_without_their_nearest_rows() {
        let app = generated(300, 2_000, 5);
        let geo = Geography::synthetic(9, 2, 2.0).unwrap();
        let mut rng = crate::rng::Rng::new(3);
        let replicas: Vec<Vec<usize>> = (0..300)
            .map(|_| {
                let mut at: Vec<usize> = (0..1 + rng.below(3)).map(|_| rng.below(9)).collect();
                at.sort_unstable();
                at.dedup();
                at
            })
            .collect();
        let placement = Placement::complete(&replicas, 9).unwrap();
        let stateful: Vec<bool> = app.services.iter().map(|s| s.leaf).collect();
        let writes = Writes {
            stateful: &stateful,
            fraction: 0.3,
            quorum: 1,
        };
        let demand: Vec<f64> = (0..9).map(|r| 10.0 + r as f64).collect();
        // Rows for every replicated service, for some, and for none.
        let routed = |budget: usize| {
            let router = Router::new(&geo, placement, writes, &demand, budget);
            assert_eq!(
                router.nearest_rows.len(),
                budget.min(router.nearest_rows.len())
            );
            let r = router.route(&app.request_types);
            (r.busy, r.cross, r.routes, r.group_of_user)
        };
        let all = routed(MAX_NEAREST_ENTRIES);
        assert_eq!(all, routed(9 * 20));
        assert_eq!(all, routed(0));
    }

    #[test]
    fn a_large_mix_streams_to_the_same_result_but_for_the_histograms_p95() {
        let app = generated(3_000, 20_000, 6);
        let geo = Geography::synthetic(8, 1, 2.0).unwrap();
        let mut rng = crate::rng::Rng::new(1);
        let replicas: Vec<Vec<usize>> = (0..3_000)
            .map(|_| {
                let mut at = vec![rng.below(8), 0];
                at.dedup();
                at
            })
            .collect();
        let placement = Placement::complete(&replicas, 8).unwrap();
        let stateful: Vec<bool> = app.services.iter().map(|s| s.leaf).collect();
        let writes = Writes {
            stateful: &stateful,
            fraction: 0.2,
            quorum: 1,
        };
        let requests_per_s: Vec<f64> = (0..8).map(|r| 50.0 + r as f64).collect();
        let demand = Demand {
            requests_per_s: &requests_per_s,
            cores: &[5.0; 8],
            percentile: Percentile::P95,
        };
        let small = serve_mix(&geo, &app, placement, writes, demand, SMALL_MIX_PAIRS);
        let large = serve_mix(&geo, &app, placement, writes, demand, 0);
        let error = large.p95_latency_ms / small.p95_latency_ms - 1.0;
        assert!(error.abs() <= 5e-4, "{error}");
        assert_eq!(
            Served {
                p95_latency_ms: small.p95_latency_ms,
                ..large
            },
            small
        );
        assert!(small.busy_cores.iter().all(|&b| b > 0.0));
    }
}
