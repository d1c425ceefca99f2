//! The routing LP (HiGHS): split every region's demand over sites to minimise the scenario's
//! own cost per request (latency, drops and money, with the reward's weights).
//!
//! Queueing makes latency nonlinear: a site at load `L` with available capacity `a` adds
//! `L x sojourn(L / a)` request-milliseconds, which is convex in `L`. It enters the LP as its
//! piecewise-linear interpolation at fixed utilisation breakpoints (exact at the breakpoints,
//! slightly pessimistic between them). Every request must be routed (a split cannot drop
//! anything on purpose): load beyond a site's capacity goes to an overflow segment priced at the
//! drop weight plus the capped queueing delay, and never below the last segment, so the cost
//! stays convex.
//!
//! Large worlds are solved by column generation: the LP starts with each region's few nearest
//! sites, and every round adds the region-site flows whose reduced cost (from HiGHS's duals) is
//! negative, until there are none. The result is the optimum of the full LP, at a fraction of
//! its size.

use super::quiet_model;
use highs::{ColProblem, HighsModelStatus, Model, Row};
use planetgym_env::traffic::{ServingModel, TrafficConfig};

/// Utilisation breakpoints of the piecewise-linear queueing cost.
const BREAKPOINTS: [f64; 13] = [
    0.0, 0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.96, 0.98, 1.0,
];

/// Reduced costs above this (per request, objective units) do not enter the LP.
const PRICING_TOLERANCE: f64 = 1e-9;

#[derive(Debug, Clone)]
pub struct RoutingLp {
    serving: ServingModel,
    latency_weight: f64,
    drop_weight: f64,
    cost_weight: f64,
    /// Column generation from each region's this-many nearest sites; `None` = the full LP at once.
    initial_candidates: Option<usize>,
}

/// One interval's data, row-major `[regions, sites]` where two-dimensional.
struct Instance<'a> {
    demand: &'a [f64],
    available: &'a [f64],
    rtt_ms: &'a [f64],
    cost_per_million_usd: &'a [f64],
}

impl RoutingLp {
    pub fn new(config: &TrafficConfig) -> Self {
        Self {
            serving: ServingModel {
                service_time_ms: config.latency.service_time_ms,
                max_queue_delay_ms: config.latency.max_queue_delay_ms,
                slo_ms: config.latency.slo_ms,
                interval_s: config.interval_s,
            },
            latency_weight: config.reward.latency_weight,
            drop_weight: config.reward.drop_weight,
            cost_weight: config.reward.cost_weight,
            initial_candidates: None,
        }
    }

    /// Solve by column generation, starting from each region's `k` nearest sites with capacity.
    /// Same optimum, much faster on large worlds.
    pub fn with_column_generation(mut self, k: usize) -> Self {
        self.initial_candidates = Some(k.max(1));
        self
    }

    /// Marginal queueing cost (ms per request) of each utilisation segment.
    fn segment_slopes(&self) -> Vec<f64> {
        let total = |rho: f64| rho * self.serving.sojourn_ms(rho);
        BREAKPOINTS
            .windows(2)
            .map(|w| (total(w[1]) - total(w[0])) / (w[1] - w[0]))
            .collect()
    }

    /// Objective coefficient of one request/s routed from region `r` to site `s` (before the
    /// per-request scaling).
    fn flow_cost(&self, x: &Instance<'_>, r: usize, s: usize) -> f64 {
        let sites = x.available.len();
        self.latency_weight * x.rtt_ms[r * sites + s] + self.cost_weight * x.cost_per_million_usd[s]
    }

    /// Solves for the split `[regions, sites]` (rows sum to 1). `fallback(r)` picks the site of a
    /// region with no demand.
    pub fn solve(
        &self,
        demand: &[f64],
        available: &[f64],
        rtt_ms: &[f64],
        cost_per_million_usd: &[f64],
        fallback: impl Fn(usize) -> usize,
    ) -> Result<Vec<f64>, String> {
        self.solve_with_objective(
            &Instance {
                demand,
                available,
                rtt_ms,
                cost_per_million_usd,
            },
            &fallback,
        )
        .map(|(split, _)| split)
    }

    /// The split and the LP's optimal objective (per request of demand).
    fn solve_with_objective(
        &self,
        x: &Instance<'_>,
        fallback: &dyn Fn(usize) -> usize,
    ) -> Result<(Vec<f64>, f64), String> {
        let (regions, sites) = (x.demand.len(), x.available.len());
        let total: f64 = x.demand.iter().sum();
        let mut split = vec![0.0; regions * sites];
        if total.is_nan() || total <= 0.0 {
            (0..regions).for_each(|r| split[r * sites + fallback(r)] = 1.0);
            return Ok((split, 0.0));
        }
        let open: Vec<usize> = (0..sites).filter(|&s| x.available[s] > 0.0).collect();
        // Candidate sites of each region: all open sites, or its k nearest to start with.
        let candidates: Vec<Vec<usize>> = (0..regions)
            .map(|r| {
                let mut near = if x.demand[r] > 0.0 {
                    open.clone()
                } else {
                    Vec::new()
                };
                if let Some(k) = self.initial_candidates.filter(|&k| k < near.len()) {
                    let row = &x.rtt_ms[r * sites..(r + 1) * sites];
                    near.select_nth_unstable_by(k - 1, |&a, &b| row[a].total_cmp(&row[b]));
                    near.truncate(k);
                }
                near
            })
            .collect();
        let mut lp = self.build(x, &open, &candidates, total)?;
        let mut member = vec![false; regions * sites];
        lp.flows
            .iter()
            .for_each(|&(r, s, _)| member[r * sites + s] = true);
        loop {
            let solved = lp
                .model
                .try_solve()
                .map_err(|e| format!("HiGHS failed: {e:?}"))?;
            if solved.status() != HighsModelStatus::Optimal {
                return Err(format!("HiGHS ended with status {:?}", solved.status()));
            }
            let solution = solved.get_solution();
            let entering = self.entering_flows(x, &open, &member, solution.dual_rows(), total);
            if entering.is_empty() {
                let columns = solution.columns();
                for &(r, s, col) in &lp.flows {
                    split[r * sites + s] = columns[col].max(0.0) / x.demand[r];
                }
                return Ok((
                    normalise_rows(split, sites, fallback),
                    solved.objective_value(),
                ));
            }
            // Warm start: HiGHS keeps its basis when columns are added to a solved model.
            lp.model = Model::from(solved);
            for (r, s) in entering {
                member[r * sites + s] = true;
                lp.model
                    .try_add_column(
                        self.flow_cost(x, r, s) / total,
                        0.0..,
                        [(lp.region_rows[r], 1.0), (lp.site_rows[s], 1.0)],
                    )
                    .map_err(|e| format!("HiGHS could not add a column: {e:?}"))?;
                lp.flows.push((r, s, lp.columns));
                lp.columns += 1;
            }
        }
    }

    /// Region-site flows outside the LP whose reduced cost under the row duals (regions, then
    /// sites) is negative: adding them would lower the objective.
    fn entering_flows(
        &self,
        x: &Instance<'_>,
        open: &[usize],
        member: &[bool],
        duals: &[f64],
        total: f64,
    ) -> Vec<(usize, usize)> {
        let (regions, sites) = (x.demand.len(), x.available.len());
        let (region_price, site_price) = duals.split_at(regions);
        let mut entering = Vec::new();
        for r in (0..regions).filter(|&r| x.demand[r] > 0.0) {
            for &s in open {
                if !member[r * sites + s]
                    && self.flow_cost(x, r, s) / total - region_price[r] - site_price[s]
                        < -PRICING_TOLERANCE
                {
                    entering.push((r, s));
                }
            }
        }
        entering
    }

    /// The LP over the candidate flows, ready to solve.
    fn build(
        &self,
        x: &Instance<'_>,
        open: &[usize],
        candidates: &[Vec<usize>],
        total: f64,
    ) -> Result<RestrictedLp, String> {
        let sites = x.available.len();
        // Objective per request of total demand, so coefficients stay O(1) at any scale.
        let per_request = 1.0 / total;
        let mut pb = ColProblem::default();
        let region_rows: Vec<Row> = x.demand.iter().map(|&d| pb.add_row(d..=d)).collect();
        let site_rows: Vec<Row> = (0..sites).map(|_| pb.add_row(0.0..=0.0)).collect();
        let mut flows = Vec::new();
        let mut columns = 0;
        let mut column = |pb: &mut ColProblem, cost: f64, upper: f64, rows: &[(Row, f64)]| {
            pb.add_column(cost, 0.0..=upper, rows.iter().copied());
            columns += 1;
            columns - 1
        };
        for (r, list) in candidates.iter().enumerate() {
            for &s in list {
                let col = column(
                    &mut pb,
                    self.flow_cost(x, r, s) * per_request,
                    f64::INFINITY,
                    &[(region_rows[r], 1.0), (site_rows[s], 1.0)],
                );
                flows.push((r, s, col));
            }
        }
        let slopes = self.segment_slopes();
        let overflow = (self.drop_weight + self.latency_weight * self.serving.max_queue_delay_ms)
            .max(self.latency_weight * slopes.last().copied().unwrap_or(0.0));
        for &s in open {
            for (w, slope) in BREAKPOINTS.windows(2).zip(&slopes) {
                let width = (w[1] - w[0]) * x.available[s];
                column(
                    &mut pb,
                    self.latency_weight * slope * per_request,
                    width,
                    &[(site_rows[s], -1.0)],
                );
            }
            column(
                &mut pb,
                overflow * per_request,
                f64::INFINITY,
                &[(site_rows[s], -1.0)],
            );
        }
        // A region with demand but no open site still needs a feasible row: its demand is
        // dropped, priced like overflow.
        for (r, list) in candidates.iter().enumerate() {
            if list.is_empty() && x.demand[r] > 0.0 {
                column(
                    &mut pb,
                    overflow * per_request,
                    f64::INFINITY,
                    &[(region_rows[r], 1.0)],
                );
            }
        }
        Ok(RestrictedLp {
            model: quiet_model(pb)?,
            region_rows,
            site_rows,
            flows,
            columns,
        })
    }
}

/// An LP over some of the region-site flows.
struct RestrictedLp {
    model: Model,
    region_rows: Vec<Row>,
    site_rows: Vec<Row>,
    /// (region, site, column index) of every flow column.
    flows: Vec<(usize, usize, usize)>,
    /// Number of columns in the model.
    columns: usize,
}

/// Scales each region's row to sum to 1; a row with nothing routed goes to `fallback(r)`.
fn normalise_rows(
    mut split: Vec<f64>,
    sites: usize,
    fallback: &dyn Fn(usize) -> usize,
) -> Vec<f64> {
    for (r, row) in split.chunks_exact_mut(sites).enumerate() {
        let sum: f64 = row.iter().sum();
        if sum > 0.0 {
            row.iter_mut().for_each(|v| *v /= sum);
        } else {
            // No demand, or no site with capacity: the fallback site takes the row.
            row.fill(0.0);
            row[fallback(r)] = 1.0;
        }
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lp() -> RoutingLp {
        RoutingLp::new(&TrafficConfig::default())
    }

    #[test]
    fn slopes_are_increasing_so_the_lp_is_convex() {
        let slopes = lp().segment_slopes();
        assert!(slopes.windows(2).all(|w| w[1] > w[0]), "{slopes:?}");
        // First segment: from 0 to 0.3 utilisation, sojourn 20 ms -> 28.6 ms.
        assert!((slopes[0] - 0.3 * 20.0 / 0.7 / 0.3).abs() < 1e-9);
    }

    #[test]
    fn spills_to_the_far_site_only_when_the_near_one_fills() {
        // Two regions, two sites; site 0 is near both. Light load: everything to site 0.
        let rtt = [5.0, 100.0, 5.0, 100.0];
        let split = lp()
            .solve(&[10.0, 10.0], &[100.0, 100.0], &rtt, &[0.4, 0.4], |_| 0)
            .unwrap();
        assert!(split[0] > 0.999 && split[2] > 0.999, "{split:?}");
        // Heavy load: site 0 alone would be far past its capacity.
        let split = lp()
            .solve(&[90.0, 90.0], &[100.0, 100.0], &rtt, &[0.4, 0.4], |_| 0)
            .unwrap();
        let to_far = 90.0 * split[1] + 90.0 * split[3];
        assert!(to_far > 70.0 && to_far < 110.0, "{split:?}");
        for row in split.chunks(2) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn reduced_costs_price_out_useless_flows_and_price_in_needed_ones() {
        let lp = lp();
        let rtt = [5.0, 100.0];
        // Only the near site is in the LP; does the far one enter?
        let far_site_enters = |demand: f64| {
            let x = Instance {
                demand: &[demand],
                available: &[100.0, 100.0],
                rtt_ms: &rtt,
                cost_per_million_usd: &[0.4, 0.4],
            };
            let restricted = lp.build(&x, &[0, 1], &[vec![0]], demand).unwrap();
            let solved = restricted.model.try_solve().unwrap();
            !lp.entering_flows(
                &x,
                &[0, 1],
                &[true, false],
                solved.get_solution().dual_rows(),
                demand,
            )
            .is_empty()
        };
        // Light load: the far site would only add latency.
        assert!(!far_site_enters(10.0));
        // The near site alone would overflow: the far site is worth adding.
        assert!(far_site_enters(150.0));
    }

    #[test]
    fn column_generation_reaches_the_full_lp_optimum() {
        let lp = lp();
        for seed in 0..20u64 {
            let mut rng = planetgym_env::rng::Rng::new(seed);
            let (regions, sites) = (1 + rng.below(12), 2 + rng.below(8));
            let demand: Vec<f64> = (0..regions).map(|_| rng.uniform_in(0.0, 300.0)).collect();
            let available: Vec<f64> = (0..sites)
                .map(|_| {
                    if rng.uniform() < 0.15 {
                        0.0
                    } else {
                        rng.uniform_in(50.0, 600.0)
                    }
                })
                .collect();
            let rtt: Vec<f64> = (0..regions * sites)
                .map(|_| rng.uniform_in(2.0, 250.0))
                .collect();
            let cost: Vec<f64> = (0..sites).map(|_| rng.uniform_in(0.3, 0.7)).collect();
            let x = Instance {
                demand: &demand,
                available: &available,
                rtt_ms: &rtt,
                cost_per_million_usd: &cost,
            };
            let (_, full) = lp.solve_with_objective(&x, &|_| 0).unwrap();
            let (split, generated) = lp
                .clone()
                .with_column_generation(1)
                .solve_with_objective(&x, &|_| 0)
                .unwrap();
            assert!(
                (full - generated).abs() <= 1e-7 * full.abs().max(1.0),
                "seed {seed}: {full} vs {generated}"
            );
            for row in split.chunks(sites) {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn failed_sites_get_nothing_and_overload_is_routed_somewhere() {
        let rtt = [5.0, 50.0];
        let split = lp()
            .solve(&[500.0], &[0.0, 100.0], &rtt, &[0.4, 0.4], |_| 0)
            .unwrap();
        assert_eq!(split, vec![0.0, 1.0]);
    }
}
