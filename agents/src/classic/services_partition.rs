//! The `partition` baseline: the call graph cut into as many parts as the load needs, one
//! region each, with METIS (`metis` crate, the reference multilevel k-way partitioner, built
//! from its vendored C sources; a maintained binding, so no home-made partitioner).
//!
//! Vertices are services weighted by their work, edges dependencies weighted by their calls
//! per request (both directions summed). The number of parts is the fewest regions that hold
//! the day's mean work under `LOAD_CAP` of their cores. Parts go to regions greedily, the part
//! with the most first calls first: each to the free region minimising its users' RTT (times
//! its share of first calls) plus the RTT of its calls to the parts already placed. Then
//! residency repair: a shard outside its jurisdiction moves to the allowed region nearest its
//! part's.

use super::services::{LOAD_CAP, best_allowed};
use metis::{Graph, Idx};
use planetgym_env::services::ServicesObs;

/// Largest integer weight of a vertex or an edge (METIS sums them in 32 bits).
const WEIGHT_SCALE: f64 = 1_000.0;

/// One region per service, as a plan (primary only).
pub fn partition_plan(obs: &ServicesObs) -> Result<Vec<Vec<usize>>, String> {
    let w = &obs.world;
    let n = w.catalog.services.len();
    let regions = w.regions();
    // Undirected adjacency (CSR) without self-loops, weights summed over both directions.
    let mut neighbours: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for d in w
        .catalog
        .dependencies
        .iter()
        .filter(|d| d.caller != d.callee)
    {
        for (a, b) in [(d.caller, d.callee), (d.callee, d.caller)] {
            match neighbours[a].iter_mut().find(|(v, _)| *v == b) {
                Some((_, weight)) => *weight += d.calls_per_request,
                None => neighbours[a].push((b, d.calls_per_request)),
            }
        }
    }
    let max_edge = neighbours
        .iter()
        .flatten()
        .map(|(_, w)| *w)
        .fold(0.0, f64::max);
    let work: Vec<f64> = w
        .catalog
        .services
        .iter()
        .map(|s| s.work_ms_per_request)
        .collect();
    let max_work = work.iter().copied().fold(0.0, f64::max);
    let scaled = |v: f64, max: f64| -> Idx {
        if max > 0.0 {
            ((v / max * WEIGHT_SCALE).round() as Idx).max(1)
        } else {
            1
        }
    };
    let mut xadj: Vec<Idx> = vec![0];
    let mut adjncy: Vec<Idx> = Vec::new();
    let mut adjwgt: Vec<Idx> = Vec::new();
    for list in &neighbours {
        for &(v, weight) in list {
            adjncy.push(index(v)?);
            adjwgt.push(scaled(weight, max_edge));
        }
        xadj.push(index(adjncy.len())?);
    }
    let vwgt: Vec<Idx> = work.iter().map(|&v| scaled(v, max_work)).collect();
    let rps: f64 = obs.demand_rps.iter().sum();
    let busy = rps * w.work_ms_per_request / 1000.0;
    let room = LOAD_CAP * obs.cores.iter().copied().fold(0.0, f64::max);
    let parts = if room > 0.0 {
        ((busy / room).ceil() as usize).clamp(1, regions)
    } else {
        1
    };
    let mut part: Vec<Idx> = vec![0; n];
    if parts > 1 && n > parts {
        Graph::new(1, index(parts)?, &xadj, &adjncy)
            .map_err(|e| format!("METIS refused the call graph: {e}"))?
            .set_vwgt(&vwgt)
            .set_adjwgt(&adjwgt)
            .set_option(metis::option::Seed(1))
            .part_kway(&mut part)
            .map_err(|e| format!("METIS failed: {e}"))?;
    } else {
        // Fewer services than parts: one each.
        part.iter_mut()
            .enumerate()
            .for_each(|(s, p)| *p = (s % parts) as Idx);
    }
    let part: Vec<usize> = part.iter().map(|&p| p as usize).collect();
    let region_of = assign_regions(obs, &part, parts);
    Ok((0..n)
        .map(|s| {
            let home = region_of[part[s]];
            vec![best_allowed(w, s, |r| w.hop_ms(home, r))]
        })
        .collect())
}

/// A region per part (see the module's doc).
fn assign_regions(obs: &ServicesObs, part: &[usize], parts: usize) -> Vec<usize> {
    let w = &obs.world;
    let mut entry = vec![0.0; parts];
    let mut calls = vec![vec![0.0; parts]; parts];
    for (s, &p) in part.iter().enumerate() {
        entry[p] += w.entry_share[s];
        for &(callee, rate) in &w.callees[s] {
            calls[p][part[callee]] += rate;
            calls[part[callee]][p] += rate;
        }
    }
    let mut order: Vec<usize> = (0..parts).collect();
    order.sort_by(|&a, &b| entry[b].total_cmp(&entry[a]).then(a.cmp(&b)));
    let mut region_of = vec![usize::MAX; parts];
    let mut taken = vec![false; w.regions()];
    for &p in &order {
        let cost = |r: usize| {
            let users = entry[p] * obs.user_rtt_ms[r];
            let peers: f64 = (0..parts)
                .filter(|&q| region_of[q] != usize::MAX)
                .map(|q| calls[p][q] * w.hop_ms(r, region_of[q]))
                .sum();
            users + peers
        };
        let best = (0..w.regions())
            .filter(|&r| !taken[r])
            .min_by(|&a, &b| cost(a).total_cmp(&cost(b)).then(a.cmp(&b)))
            .unwrap_or(0);
        taken[best] = true;
        region_of[p] = best;
    }
    region_of
}

fn index(v: usize) -> Result<Idx, String> {
    Idx::try_from(v).map_err(|_| format!("{v} is too large for METIS's 32-bit indices"))
}
