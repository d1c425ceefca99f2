//! What a placement costs over a day: the users' waiting (priced), compute, storage and egress,
//! in USD, with the scenario's other metrics, from serving snapshots of demand.

use super::config::ServicesConfig;
use super::serving::{Percentile, Placement, Served, Writes, serve};
use super::world::ServicesWorld;

/// A day's cost and metrics, in `METRICS` order (`values[0]` is the total cost; the p95,
/// `values[6]`, is NaN when `Percentile::Skip` was asked for).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DayCost {
    pub values: [f64; 11],
}

impl DayCost {
    pub fn total(&self) -> f64 {
        self.values[0]
    }
}

/// A placement (replica regions per service; empty: not placed, runs where called) and the
/// cores of each region.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    pub replicas: &'a [Vec<usize>],
    pub cores: &'a [f64],
}

/// Serves `snapshots` (requests/s per region, `hours` each) with `placed`; the last snapshot's
/// serving comes back too. An error names what is wrong with the placement.
pub fn day_cost(
    world: &ServicesWorld,
    config: &ServicesConfig,
    placed: Placed,
    snapshots: &[Vec<f64>],
    hours: f64,
    percentile: Percentile,
) -> Result<(DayCost, Served), String> {
    let c = config;
    let w = world;
    let placement = Placement::partial(placed.replicas, w.regions())?;
    let writes = Writes {
        stateful: &w.stateful,
        fraction: c.data.write_fraction,
        quorum: c.data.write_quorum,
    };
    let replicas: usize = placed.replicas.iter().map(Vec::len).sum();
    let stored_gb: f64 = placed
        .replicas
        .iter()
        .zip(&w.shard_gb)
        .map(|(at, gb)| at.len() as f64 * gb)
        .sum();
    let mut v = [0.0; 11];
    let mut last = None;
    let (mut requests, mut p95_weighted) = (0.0, 0.0);
    for rps in snapshots {
        let served = serve(
            &w.geo,
            &w.catalog,
            placement,
            writes,
            rps,
            placed.cores,
            percentile,
        );
        let seconds = 3600.0 * hours;
        let n = rps.iter().sum::<f64>() * seconds;
        let busy: f64 = served.busy_cores.iter().sum();
        let billed = busy * c.calls.core_headroom + replicas as f64 * c.calls.min_cores_per_replica;
        let gb = served.cross_region_calls_per_s * seconds * c.calls.kb_per_call / 1e6;
        v[1] += n * served.mean_latency_ms / 1000.0 * c.reward.latency_usd_per_request_s;
        v[2] += billed * hours * c.regions.core_hour_usd;
        v[3] += stored_gb * c.regions.storage_gb_month_usd * hours / 730.0;
        v[4] += gb * c.regions.egress_gb_usd;
        v[5] += n * served.mean_latency_ms;
        p95_weighted += n * served.p95_latency_ms;
        v[7] += gb;
        let peak = served
            .busy_cores
            .iter()
            .zip(placed.cores)
            .map(|(b, c)| if *c > 0.0 { b / c } else { 0.0 })
            .fold(0.0, f64::max);
        v[8] = v[8].max(peak);
        requests += n;
        last = Some(served);
    }
    v[0] = v[1] + v[2] + v[3] + v[4];
    if requests > 0.0 {
        v[5] /= requests;
        v[6] = p95_weighted / requests;
    }
    v[9] = replicas as f64;
    v[10] = placed
        .replicas
        .iter()
        .enumerate()
        .map(|(s, at)| at.iter().filter(|&&r| !w.allows(s, r)).count() as f64)
        .sum();
    let served = last.ok_or("no demand snapshot to serve")?;
    Ok((DayCost { values: v }, served))
}
