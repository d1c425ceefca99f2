//! The `partition` baseline: the call graph cut into as many parts as the load needs, one
//! region each.
//!
//! The partitioner is written here, single-level: greedy graph growing, then
//! Fiduccia-Mattheyses-style refinement under a balance cap. METIS (the `metis` crate, which
//! builds it from vendored C sources) was tried first and builds here, but its GKlib keeps
//! about 25 KB in thread-local storage of the initial-exec model, more than glibc leaves for
//! libraries loaded at run time: the Python extension, which links the agents crate, then
//! failed to import ("cannot allocate memory in static TLS block").
//!
//! Vertices are services weighted by their work, edges dependencies weighted by their calls
//! per request (both directions summed). The number of parts is the fewest regions that hold
//! the day's mean work under `LOAD_CAP` of their cores. Parts go to regions greedily, the part
//! with the most first calls first: each to the free region minimising its users' RTT (times
//! its share of first calls) plus the RTT of its calls to the parts already placed. Then
//! residency repair: a shard outside its jurisdiction moves to the allowed region nearest its
//! part's.

use super::services::{LOAD_CAP, best_allowed};
use planetgym_env::services::ServicesObs;

/// A part may hold this much more than an even share of the work.
const BALANCE: f64 = 1.05;
/// Refinement passes at most (each visits every vertex once).
const REFINE_PASSES: usize = 10;

/// One region per service, as a plan (primary only).
pub fn partition_plan(obs: &ServicesObs) -> Vec<Vec<usize>> {
    let w = &obs.world;
    let n = w.catalog.services.len();
    // Undirected adjacency without self-loops, weights summed over both directions.
    let mut pairs: Vec<(usize, usize, f64)> = w
        .catalog
        .dependencies
        .iter()
        .filter(|d| d.caller != d.callee)
        .flat_map(|d| {
            [
                (d.caller, d.callee, d.calls_per_request),
                (d.callee, d.caller, d.calls_per_request),
            ]
        })
        .collect();
    pairs.sort_by_key(|p| (p.0, p.1));
    let mut neighbours: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for (a, b, weight) in pairs {
        match neighbours[a].last_mut() {
            Some((v, sum)) if *v == b => *sum += weight,
            _ => neighbours[a].push((b, weight)),
        }
    }
    let work: Vec<f64> = w
        .catalog
        .services
        .iter()
        .map(|s| s.work_ms_per_request)
        .collect();
    let rps: f64 = obs.demand_rps.iter().sum();
    let busy = rps * w.work_ms_per_request / 1000.0;
    let room = LOAD_CAP * obs.cores.iter().copied().fold(0.0, f64::max);
    let parts = if room > 0.0 {
        ((busy / room).ceil() as usize).clamp(1, w.regions())
    } else {
        1
    };
    let cap = BALANCE * work.iter().sum::<f64>() / parts as f64;
    let part = partition(&neighbours, &work, parts, cap);
    let region_of = assign_regions(obs, &part, parts);
    (0..n)
        .map(|s| {
            let home = region_of[part[s]];
            vec![best_allowed(w, s, |r| w.hop_ms(home, r))]
        })
        .collect()
}

/// A part per vertex: vertices in descending order of weighted degree join the part with room
/// (work under `cap`) they are most connected to (the lightest on a tie, or when none has
/// room); then each refinement pass moves every vertex to the part with room it is most
/// connected to, when that is more than to its own.
fn partition(neighbours: &[Vec<(usize, f64)>], work: &[f64], parts: usize, cap: f64) -> Vec<usize> {
    let n = work.len();
    let degree = |v: usize| neighbours[v].iter().map(|(_, w)| w).sum::<f64>();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| degree(b).total_cmp(&degree(a)).then(a.cmp(&b)));
    let mut part = vec![usize::MAX; n];
    let mut load = vec![0.0; parts];
    let mut link = vec![0.0; parts];
    // Per part, the weight of `v`'s edges into it (unassigned neighbours left out).
    let links = |v: usize, part: &[usize], link: &mut [f64]| {
        link.fill(0.0);
        for &(u, weight) in &neighbours[v] {
            if part[u] != usize::MAX {
                link[part[u]] += weight;
            }
        }
    };
    // The part with room most linked to `v` (the lightest on a tie); the lightest if none.
    let best = |v: usize, link: &[f64], load: &[f64], own: Option<usize>| {
        let fits = |p: usize| Some(p) == own || load[p] + work[v] <= cap;
        let lightest = |a: &usize, b: &usize| load[*b].total_cmp(&load[*a]).then(b.cmp(a));
        (0..parts)
            .filter(|&p| fits(p))
            .max_by(|a, b| link[*a].total_cmp(&link[*b]).then(lightest(a, b)))
            .or_else(|| (0..parts).max_by(lightest))
            .unwrap_or(0)
    };
    for &v in &order {
        links(v, &part, &mut link);
        let p = best(v, &link, &load, None);
        part[v] = p;
        load[p] += work[v];
    }
    for _ in 0..REFINE_PASSES {
        let mut moved = false;
        for &v in &order {
            links(v, &part, &mut link);
            let own = part[v];
            let p = best(v, &link, &load, Some(own));
            if p != own && link[p] > link[own] + 1e-12 {
                load[own] -= work[v];
                load[p] += work[v];
                part[v] = p;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    part
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
