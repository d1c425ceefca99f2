//! A seeded application at any scale, with the sample's per-request statistics: every
//! generated request type is one of the sample's call trees (its shape, depth, fan-out and
//! per-call work), drawn in proportion to its share, with its services relabelled to services
//! of the larger application drawn by a Zipf popularity (exponent 1), so that degree and load
//! stay heavy-tailed. Type shares follow a Zipf law too. For benchmarks at 1M services.

use super::catalog::{Catalog, RequestType};
use crate::bounds;
use crate::rng::Rng;
use crate::traces::callgraph::Call;

/// Most services and request types generated.
pub const MAX_SERVICES: usize = 10_000_000;
pub const MAX_TYPES: usize = 20_000_000;

/// A Zipf(1) sampler over 0..n by inverting the continuous approximation of its CDF
/// (ln(1 + k) / ln(1 + n)): O(1) per draw and no table, for any n.
struct Zipf {
    log_n: f64,
    n: usize,
}

impl Zipf {
    fn new(n: usize) -> Self {
        Self {
            log_n: (1.0 + n as f64).ln(),
            n,
        }
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let k = (rng.uniform() * self.log_n).exp() - 1.0;
        (k as usize).min(self.n - 1)
    }
}

/// `types` request types over `services` services, modelled on `sample`'s types, seeded.
pub fn generate(
    sample: &Catalog,
    services: usize,
    types: usize,
    seed: u64,
) -> Result<Catalog, String> {
    bounds::count(
        "services",
        services as u64,
        1,
        MAX_SERVICES as u64,
        "one row each",
    )?;
    bounds::count(
        "types",
        types as u64,
        1,
        MAX_TYPES as u64,
        "one call tree each",
    )?;
    let templates = &sample.request_types;
    if templates.is_empty() {
        return Err("the sample has no request types to model".into());
    }
    let mean_calls = templates
        .iter()
        .map(|t| t.share * t.calls.len() as f64)
        .sum::<f64>();
    bounds::memory(
        "the generated call trees",
        types as f64 * (mean_calls * std::mem::size_of::<Call>() as f64 + 64.0),
    )?;
    // Templates by cumulative share, for drawing in proportion to it.
    let mut cumulative = Vec::with_capacity(templates.len());
    let mut total = 0.0;
    for t in templates {
        total += t.share;
        cumulative.push(total);
    }
    let mut rng = Rng::new(seed);
    let popularity = Zipf::new(services);
    let mut generated = Vec::with_capacity(types);
    let mut relabel: Vec<(usize, usize)> = Vec::new();
    for k in 0..types {
        let u = rng.uniform() * total;
        let pick = cumulative
            .partition_point(|&c| c < u)
            .min(templates.len() - 1);
        let template = &templates[pick];
        // The same sample service in one tree stays one service; distinct ones stay distinct.
        relabel.clear();
        let mut calls = Vec::with_capacity(template.calls.len());
        for call in &template.calls {
            let service = match relabel.iter().find(|(from, _)| *from == call.service) {
                Some(&(_, to)) => to,
                None => {
                    let mut to = popularity.draw(&mut rng);
                    // Next free service; with fewer services than the tree has, reuse one.
                    let mut tries = 0;
                    while tries < services && relabel.iter().any(|(_, taken)| *taken == to) {
                        to = (to + 1) % services;
                        tries += 1;
                    }
                    relabel.push((call.service, to));
                    to
                }
            };
            calls.push(Call { service, ..*call });
        }
        generated.push(RequestType {
            calls,
            share: 1.0 / (k as f64 + 1.0),
            count: 1,
        });
    }
    let shares: f64 = generated.iter().map(|t| t.share).sum();
    generated.iter_mut().for_each(|t| t.share /= shares);
    let names: Vec<String> = (0..services).map(|s| format!("s{s}")).collect();
    Ok(Catalog::from_types(&names, generated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::callgraph::{self, BUILTIN_NAME, BUILTIN_SAMPLE};

    fn sample() -> Catalog {
        Catalog::from_call_graphs(&callgraph::read(BUILTIN_SAMPLE, BUILTIN_NAME).unwrap())
    }

    #[test]
    fn a_generated_application_keeps_the_samples_shapes_and_is_seeded() {
        let sample = sample();
        let big = generate(&sample, 20_000, 50_000, 3).unwrap();
        assert_eq!(big, generate(&sample, 20_000, 50_000, 3).unwrap());
        assert_ne!(big, generate(&sample, 20_000, 50_000, 4).unwrap());
        assert_eq!(
            (big.services.len(), big.request_types.len()),
            (20_000, 50_000)
        );
        let shares: f64 = big.request_types.iter().map(|t| t.share).sum();
        assert!((shares - 1.0).abs() < 1e-9);
        // Calls per type as in the sample (2.6), within sampling error.
        let mean = |c: &Catalog| {
            c.request_types.iter().map(|t| t.calls.len()).sum::<usize>() as f64
                / c.request_types.len() as f64
        };
        let weighted = |c: &Catalog| {
            c.request_types
                .iter()
                .map(|t| t.share * t.calls.len() as f64)
                .sum::<f64>()
        };
        assert!((mean(&big) - weighted(&sample)).abs() < 0.1 * weighted(&sample));
        // Heavy-tailed popularity: the top 1 % of services take a large share of the calls.
        let mut calls: Vec<f64> = big.services.iter().map(|s| s.calls_per_request).collect();
        calls.sort_by(|a, b| b.total_cmp(a));
        let top: f64 = calls[..200].iter().sum();
        let all: f64 = calls.iter().sum();
        assert!(top / all > 0.2, "{}", top / all);
        // Every tree keeps its parents before its children.
        assert!(big.request_types.iter().all(|t| {
            t.calls[0].parent.is_none()
                && t.calls
                    .iter()
                    .enumerate()
                    .skip(1)
                    .all(|(k, c)| c.parent.is_some_and(|p| p < k))
        }));
    }

    #[test]
    fn serving_a_large_application_gives_the_same_result_on_any_number_of_threads() {
        use crate::services::serving::{Percentile, Placement, Writes, serve};
        use crate::world::geography::Geography;
        let app = generate(&sample(), 5_000, 20_000, 9).unwrap();
        let geo = Geography::synthetic(8, 1, 2.0).unwrap();
        let mut rng = Rng::new(1);
        let replicas: Vec<Vec<usize>> = (0..5_000).map(|_| vec![rng.below(8), 0]).collect();
        let replicas: Vec<Vec<usize>> = replicas
            .into_iter()
            .map(|mut at| {
                at.dedup();
                at
            })
            .collect();
        let stateful: Vec<bool> = app.services.iter().map(|s| s.leaf).collect();
        let writes = Writes {
            stateful: &stateful,
            fraction: 0.2,
            quorum: 1,
        };
        let demand: Vec<f64> = geo
            .regions
            .iter()
            .map(|r| 100.0 * r.demand_weight)
            .collect();
        let served = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let placement = Placement::partial(&replicas, 8).unwrap();
                serve(
                    &geo,
                    &app,
                    placement,
                    writes,
                    &demand,
                    &[5.0; 8],
                    Percentile::P95,
                )
            })
        };
        let one = served(1);
        assert_eq!(one, served(2));
        assert_eq!(one, served(3));
        assert!(one.mean_latency_ms > 0.0 && one.p95_latency_ms >= one.mean_latency_ms * 0.5);
    }

    #[test]
    fn sizes_are_bounded() {
        let sample = sample();
        assert!(
            generate(&sample, 0, 10, 1)
                .unwrap_err()
                .contains("services = 0")
        );
        assert!(
            generate(&sample, 10, MAX_TYPES + 1, 1)
                .unwrap_err()
                .contains("types")
        );
    }
}
