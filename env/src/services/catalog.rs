//! What the `services` scenario knows of the application, rebuilt from call trees: the request
//! types (distinct call trees) with their share of requests, each service's load per request,
//! and the service dependency graph with its call rates.

use crate::traces::callgraph::{Call, CallGraphs};
use std::collections::HashMap;

/// A kind of user request: one call tree (`calls[0]` is the service the user calls; parents
/// precede children), its share of all requests and how many trees of the trace it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestType {
    pub calls: Vec<Call>,
    pub share: f64,
    pub count: usize,
}

/// One edge of the dependency graph: `caller` calls `callee` this many times per request, over
/// the request mix.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    pub caller: usize,
    pub callee: usize,
    pub calls_per_request: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    /// Calls it receives per request, over the request mix.
    pub calls_per_request: f64,
    /// Its own work per request (ms), children excluded.
    pub work_ms_per_request: f64,
    /// It never calls another service: a leaf of every tree it is in. The public sample holds
    /// only `rpc` calls (no database or cache rows), so leaves stand in for the data tier.
    pub leaf: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    pub services: Vec<Service>,
    pub dependencies: Vec<Dependency>,
    /// Most frequent first (ties in order of first appearance).
    pub request_types: Vec<RequestType>,
}

impl Catalog {
    /// Groups `graphs`' trees into request types (trees with the same services in the same
    /// shape; their own times averaged) and sums loads and edges over the mix.
    pub fn from_call_graphs(graphs: &CallGraphs) -> Self {
        let mut types: Vec<RequestType> = Vec::new();
        let mut by_shape: HashMap<Vec<(usize, Option<usize>)>, usize> = HashMap::new();
        for tree in &graphs.trees {
            let shape: Vec<_> = tree.calls.iter().map(|c| (c.service, c.parent)).collect();
            let slot = *by_shape.entry(shape).or_insert_with(|| {
                types.push(RequestType {
                    calls: tree
                        .calls
                        .iter()
                        .map(|c| Call { own_ms: 0.0, ..*c })
                        .collect(),
                    share: 0.0,
                    count: 0,
                });
                types.len() - 1
            });
            let t = &mut types[slot];
            t.count += 1;
            for (sum, call) in t.calls.iter_mut().zip(&tree.calls) {
                sum.own_ms += call.own_ms;
            }
        }
        let total = graphs.trees.len().max(1) as f64;
        for t in &mut types {
            t.share = t.count as f64 / total;
            let n = t.count as f64;
            t.calls.iter_mut().for_each(|c| c.own_ms /= n);
        }
        // Stable: equal counts keep their order of first appearance.
        types.sort_by_key(|t| std::cmp::Reverse(t.count));
        Self::from_types(&graphs.services, types)
    }

    /// The catalog of the `n` most frequent request types (all for 0), their shares
    /// renormalised; services that none of them calls are left out (the others keep their
    /// order).
    pub fn keep_top(self, n: usize) -> Self {
        if n == 0 || n >= self.request_types.len() {
            return self;
        }
        let mut types: Vec<RequestType> = self.request_types.into_iter().take(n).collect();
        let mut used = vec![false; self.services.len()];
        for call in types.iter().flat_map(|t| &t.calls) {
            used[call.service] = true;
        }
        let mut index = vec![usize::MAX; used.len()];
        let mut names = Vec::new();
        for (s, service) in self.services.into_iter().enumerate() {
            if used[s] {
                index[s] = names.len();
                names.push(service.name);
            }
        }
        let total: f64 = types.iter().map(|t| t.share).sum();
        for t in &mut types {
            t.share /= total;
            t.calls
                .iter_mut()
                .for_each(|c| c.service = index[c.service]);
        }
        Self::from_types(&names, types)
    }

    /// Per-service loads and the dependency edges of `types` over the services `names`.
    pub(crate) fn from_types(names: &[String], types: Vec<RequestType>) -> Self {
        let mut services: Vec<Service> = names
            .iter()
            .map(|name| Service {
                name: name.clone(),
                calls_per_request: 0.0,
                work_ms_per_request: 0.0,
                leaf: true,
            })
            .collect();
        let mut edges: HashMap<(usize, usize), f64> = HashMap::new();
        for t in &types {
            for call in &t.calls {
                let s = &mut services[call.service];
                s.calls_per_request += t.share;
                s.work_ms_per_request += t.share * call.own_ms;
                if let Some(p) = call.parent {
                    let caller = t.calls[p].service;
                    services[caller].leaf = false;
                    *edges.entry((caller, call.service)).or_default() += t.share;
                }
            }
        }
        let mut dependencies: Vec<Dependency> = edges
            .into_iter()
            .map(|((caller, callee), calls_per_request)| Dependency {
                caller,
                callee,
                calls_per_request,
            })
            .collect();
        dependencies.sort_by_key(|d| (d.caller, d.callee));
        Self {
            services,
            dependencies,
            request_types: types,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::callgraph::{self, BUILTIN_NAME, BUILTIN_SAMPLE};

    /// A calling B in two traces (one type), C alone in a third.
    fn two_types() -> Catalog {
        let csv = "timestamp,traceid,rpcid,um,dm,rt\n\
                   1,T1,0,USER,A,10\n1,T1,0.1,A,B,4\n\
                   2,T2,0,USER,A,6\n2,T2,0.1,A,B,2\n\
                   3,T3,0,USER,C,1\n";
        Catalog::from_call_graphs(&callgraph::read(csv.as_bytes(), "calls.csv").unwrap())
    }

    #[test]
    fn identical_trees_are_one_request_type_with_loads_over_the_mix() {
        let c = two_types();
        assert_eq!(c.request_types.len(), 2);
        let (ab, only_c) = (&c.request_types[0], &c.request_types[1]);
        assert_eq!((ab.count, only_c.count), (2, 1));
        assert!((ab.share - 2.0 / 3.0).abs() < 1e-12);
        // A's own time: (10 - 4 + 6 - 2) / 2 = 5; B's: (4 + 2) / 2 = 3.
        assert_eq!((ab.calls[0].own_ms, ab.calls[1].own_ms), (5.0, 3.0));
        let a = &c.services[0];
        assert_eq!((a.name.as_str(), a.leaf), ("A", false));
        assert!((a.calls_per_request - 2.0 / 3.0).abs() < 1e-12);
        assert!((a.work_ms_per_request - 5.0 * 2.0 / 3.0).abs() < 1e-12);
        assert!(c.services[1].leaf && c.services[2].leaf);
        assert_eq!(c.dependencies.len(), 1);
        assert_eq!((c.dependencies[0].caller, c.dependencies[0].callee), (0, 1));
    }

    #[test]
    fn keeping_the_top_types_renormalises_and_drops_unused_services() {
        let all = two_types();
        assert_eq!(all.clone().keep_top(0), all);
        let top = all.keep_top(1);
        assert_eq!(top.request_types.len(), 1);
        assert_eq!(top.request_types[0].share, 1.0);
        let names: Vec<&str> = top.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["A", "B"]);
        assert_eq!(top.services[0].calls_per_request, 1.0);
    }

    #[test]
    fn the_builtin_sample_gives_a_heavy_tailed_mix() {
        let g = callgraph::read(BUILTIN_SAMPLE, BUILTIN_NAME).unwrap();
        let c = Catalog::from_call_graphs(&g);
        let shares: f64 = c.request_types.iter().map(|t| t.share).sum();
        assert!((shares - 1.0).abs() < 1e-9);
        let leaves = c.services.iter().filter(|s| s.leaf).count();
        assert_eq!(
            (
                c.request_types.len(),
                c.services.len(),
                leaves,
                c.dependencies.len()
            ),
            (569, 768, 342, 819)
        );
        // The most frequent type is 5 % of requests; 80 % of requests need hundreds of types.
        assert!((0.05..0.06).contains(&c.request_types[0].share));
        let mut covered = 0.0;
        let needed = c
            .request_types
            .iter()
            .take_while(|t| {
                covered += t.share;
                covered - t.share < 0.8
            })
            .count();
        assert_eq!(needed, 283);
    }
}
