//! Everything about a services world that stays fixed across episodes: regions and their RTT,
//! the application rebuilt from call graphs, the order in which services are placed, each
//! service's callers and callees, and the data shards with their jurisdictions.

use super::catalog::Catalog;
use super::config::{MAX_SERVICES, ServicesConfig, generated_size};
use super::generate::generate;
use super::residency::Jurisdiction;
use super::serving;
use crate::error::EnvError;
use crate::rng::Rng;
use crate::traces::callgraph;
use crate::world::geography::Geography;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct ServicesWorld {
    pub geo: Geography,
    pub catalog: Catalog,
    /// Services in the order the episode places them: nearest the users first (by the
    /// shallowest depth at which any request calls them), then the most called.
    pub order: Vec<usize>,
    /// Per service: the fewest calls between a user and it in any request (0 = the first call).
    pub depth: Vec<usize>,
    /// Per service: (caller, calls per request) and (callee, calls per request).
    pub callers: Vec<Vec<(usize, f64)>>,
    pub callees: Vec<Vec<(usize, f64)>>,
    /// Per service: the share of requests whose first call it takes.
    pub entry_share: Vec<f64>,
    /// Per service: it owns a data shard (a leaf service), of this many GB.
    pub stateful: Vec<bool>,
    pub shard_gb: Vec<f64>,
    /// Per service: where its replicas may be (Anywhere for a stateless service).
    pub jurisdiction: Vec<Jurisdiction>,
    /// Own work of one request over all its calls (ms), over the request mix.
    pub work_ms_per_request: f64,
}

impl ServicesWorld {
    pub fn build(config: &ServicesConfig) -> Result<Self, EnvError> {
        let w = &config.world;
        let geo = Geography::of_kind(
            w.kind,
            w.season,
            w.intra_region_rtt_ms,
            (w.synthetic_regions, w.synthetic_seed),
        )?;
        let builtin = || callgraph::read(callgraph::BUILTIN_SAMPLE, callgraph::BUILTIN_NAME);
        let catalog = if let Some(size) = generated_size(&config.callgraphs) {
            let (services, types) = size.map_err(|e| EnvError::data(&config.callgraphs, e))?;
            let sample = Catalog::from_call_graphs(&builtin()?);
            generate(&sample, services, types, config.data.seed)
                .map_err(|e| EnvError::data(&config.callgraphs, e))?
        } else if config.callgraphs == super::BUILTIN_CALLGRAPHS {
            Catalog::from_call_graphs(&builtin()?)
        } else {
            let path = config
                .callgraphs
                .strip_prefix("alibaba_v2022:")
                .unwrap_or(&config.callgraphs);
            Catalog::from_call_graphs(&callgraph::read(
                crate::input::open(Path::new(path))?,
                path,
            )?)
        };
        let catalog = catalog.keep_top(config.request_types);
        let n = catalog.services.len();
        if n == 0 || n > MAX_SERVICES {
            return Err(EnvError::data(
                &config.callgraphs,
                format!("{n} services: need 1 to {MAX_SERVICES}"),
            ));
        }
        let mut depth = vec![usize::MAX; n];
        let mut entry_share = vec![0.0; n];
        for t in &catalog.request_types {
            let mut at = Vec::with_capacity(t.calls.len());
            for call in &t.calls {
                let d = call.parent.map_or(0, |p: usize| at[p] + 1);
                depth[call.service] = depth[call.service].min(d);
                at.push(d);
            }
            if let Some(root) = t.calls.first() {
                entry_share[root.service] += t.share;
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            depth[a].cmp(&depth[b]).then(
                catalog.services[b]
                    .calls_per_request
                    .total_cmp(&catalog.services[a].calls_per_request),
            )
        });
        let mut callers = vec![Vec::new(); n];
        let mut callees = vec![Vec::new(); n];
        for d in &catalog.dependencies {
            callers[d.callee].push((d.caller, d.calls_per_request));
            callees[d.caller].push((d.callee, d.calls_per_request));
        }
        let stateful: Vec<bool> = catalog.services.iter().map(|s| s.leaf).collect();
        let (shard_gb, jurisdiction) = shards(config, &stateful, &geo)?;
        let work_ms_per_request = catalog.services.iter().map(|s| s.work_ms_per_request).sum();
        Ok(Self {
            geo,
            catalog,
            order,
            depth,
            callers,
            callees,
            entry_share,
            stateful,
            shard_gb,
            jurisdiction,
            work_ms_per_request,
        })
    }

    pub fn regions(&self) -> usize {
        self.geo.regions.len()
    }

    /// RTT (ms) of a call from region `a` to region `b` ([`serving::hop_ms`]).
    pub fn hop_ms(&self, a: usize, b: usize) -> f64 {
        serving::hop_ms(&self.geo, a, b)
    }

    /// Per region, the RTT (ms) of a call from the users to it, weighted by `demand` (any unit,
    /// per user region); 0 without demand.
    pub fn user_rtt_ms(&self, demand: &[f64]) -> Vec<f64> {
        let total: f64 = demand.iter().sum();
        if total <= 0.0 {
            return vec![0.0; self.regions()];
        }
        (0..self.regions())
            .map(|r| {
                demand
                    .iter()
                    .enumerate()
                    .map(|(u, d)| d / total * self.hop_ms(u, r))
                    .sum()
            })
            .collect()
    }

    /// Whether `service` may have a replica in `region`.
    pub fn allows(&self, service: usize, region: usize) -> bool {
        self.jurisdiction[service].allows(&self.geo.regions[region])
    }
}

/// Per service its shard size (0 for stateless ones) and jurisdiction, drawn with `data.seed`:
/// sizes log-uniform in `data.shard_gb`, and each residency rule owning its share of the shards.
fn shards(
    config: &ServicesConfig,
    stateful: &[bool],
    geo: &Geography,
) -> Result<(Vec<f64>, Vec<Jurisdiction>), EnvError> {
    let mut rng = Rng::new(config.data.seed);
    let [low, high] = config.data.shard_gb;
    let rules: Vec<(Jurisdiction, f64)> = config
        .residency
        .rules
        .iter()
        .map(|r| {
            let j = Jurisdiction::parse(&r.jurisdiction).ok_or_else(|| {
                EnvError::config(format!(
                    "residency: unknown jurisdiction `{}`",
                    r.jurisdiction
                ))
            })?;
            if r.share > 0.0 && !geo.regions.iter().any(|region| j.allows(region)) {
                return Err(EnvError::config(format!(
                    "residency: no region of this world is in {}",
                    r.jurisdiction
                )));
            }
            Ok((j, r.share))
        })
        .collect::<Result<_, _>>()?;
    let mut sizes = Vec::with_capacity(stateful.len());
    let mut owners = Vec::with_capacity(stateful.len());
    for &s in stateful {
        if !s {
            sizes.push(0.0);
            owners.push(Jurisdiction::Anywhere);
            continue;
        }
        sizes.push((low.ln() + rng.uniform() * (high / low).ln()).exp());
        let mut draw = rng.uniform();
        let owner = rules.iter().find_map(|(j, share)| {
            draw -= share;
            (draw < 0.0).then(|| j.clone())
        });
        owners.push(owner.unwrap_or(Jurisdiction::Anywhere));
    }
    Ok((sizes, owners))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScenarioConfig;

    #[test]
    fn the_default_world_places_callers_first_and_owns_shards_by_rule() {
        let world = ServicesWorld::build(&ServicesConfig::default()).unwrap();
        assert_eq!((world.regions(), world.catalog.services.len()), (54, 768));
        let entry_total: f64 = world.entry_share.iter().sum();
        assert!((entry_total - 1.0).abs() < 1e-9);
        // Services nearer the users come first, and every service once.
        let depths: Vec<usize> = world.order.iter().map(|&s| world.depth[s]).collect();
        assert!(depths.windows(2).all(|w| w[0] <= w[1]));
        let mut seen = world.order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..768).collect::<Vec<_>>());
        let shards = world.stateful.iter().filter(|&&s| s).count();
        let eu = world
            .jurisdiction
            .iter()
            .filter(|j| **j == Jurisdiction::Eu)
            .count();
        // About 20 % of the shards are the EU's.
        assert!(
            (0.15..0.25).contains(&(eu as f64 / shards as f64)),
            "{eu} of {shards}"
        );
        assert!(
            world
                .jurisdiction
                .iter()
                .zip(&world.stateful)
                .all(|(j, &s)| s || *j == Jurisdiction::Anywhere)
        );
        assert!(
            world
                .shard_gb
                .iter()
                .zip(&world.stateful)
                .all(|(&gb, &s)| if s {
                    (1.0..=200.0).contains(&gb)
                } else {
                    gb == 0.0
                })
        );
    }

    #[test]
    fn a_jurisdiction_without_regions_is_refused() {
        let config = ServicesConfig::from_toml(
            "[world]\nkind = \"synthetic\"\nsynthetic_regions = 2\nsynthetic_seed = 1\n[residency]\nrules = [{ jurisdiction = \"Qatar\", share = 0.5 }]",
            "s.toml",
        )
        .unwrap();
        let err = ServicesWorld::build(&config).unwrap_err().to_string();
        assert!(err.contains("no region of this world is in Qatar"), "{err}");
    }
}
