//! Costing one complete placement of a generated application (`services::generate`, modelled
//! on the Alibaba sample) on a seeded 24-region planet: the time to serve the whole request
//! mix once, at 10k services and at 1M services with 10M dependency edges (the printed line
//! gives the edges and calls). Each service gets a replica in a region drawn at random, the
//! most popular 1 % two more. A timing run, not a test:
//! cargo bench -p planetgym-env --bench services_scale [-- SERVICES TYPES]

#![allow(clippy::unwrap_used, clippy::expect_used)]

use planetgym_env::rng::Rng;
use planetgym_env::services::catalog::Catalog;
use planetgym_env::services::generate::generate;
use planetgym_env::services::serving::{Percentile, Placement, Writes, serve};
use planetgym_env::traces::callgraph::{self, BUILTIN_NAME, BUILTIN_SAMPLE};
use planetgym_env::world::geography::Geography;
use std::time::Instant;

fn run(sample: &Catalog, services: usize, types: usize) {
    let start = Instant::now();
    let app = generate(sample, services, types, 1).unwrap();
    let generated = start.elapsed();
    let calls: usize = app.request_types.iter().map(|t| t.calls.len()).sum();
    let geo = Geography::synthetic(24, 7, 2.0).unwrap();
    let regions = geo.regions.len();
    let mut rng = Rng::new(2);
    // The generator's popular services have the lowest indices: the top 1 % get three
    // replicas, as a latency-minded placement would give them.
    let replicas: Vec<Vec<usize>> = (0..services)
        .map(|s| {
            let mut at = vec![rng.below(regions)];
            while s < services / 100 && at.len() < 3 {
                let r = rng.below(regions);
                if !at.contains(&r) {
                    at.push(r);
                }
            }
            at
        })
        .collect();
    let placement = Placement::partial(&replicas, regions).unwrap();
    let stateful: Vec<bool> = app.services.iter().map(|s| s.leaf).collect();
    let writes = Writes {
        stateful: &stateful,
        fraction: 0.1,
        quorum: 1,
    };
    let demand: Vec<f64> = geo
        .regions
        .iter()
        .map(|r| 2000.0 * r.demand_weight)
        .collect();
    let cores = vec![1e6; regions];
    // Alternated, so that both see the same machine state.
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..3 {
        for (k, percentile) in [Percentile::Skip, Percentile::P95].into_iter().enumerate() {
            let start = Instant::now();
            let served = serve(&geo, &app, placement, writes, &demand, &cores, percentile);
            times[k].push(start.elapsed().as_secs_f64());
            std::hint::black_box(served.mean_latency_ms);
        }
    }
    let show = |t: &[f64]| format!("{:.3} / {:.3} / {:.3} s", t[0], t[1], t[2]);
    println!(
        "{services} services, {} dependency edges, {types} request types ({calls} calls), {regions} regions: generated in {:.2} s; one placement costed in {} (mean latency only), {} (with the p95)",
        app.dependencies.len(),
        generated.as_secs_f64(),
        show(&times[0]),
        show(&times[1])
    );
}

fn main() {
    let sample = Catalog::from_call_graphs(&callgraph::read(BUILTIN_SAMPLE, BUILTIN_NAME).unwrap());
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    match args[..] {
        [services, types] => run(&sample, services, types),
        _ => {
            run(&sample, 10_000, 40_000);
            run(&sample, 1_000_000, 15_000_000);
        }
    }
}
