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

use highs::{ColProblem, HighsModelStatus, Sense};
use planetgym_env::traffic::{ServingModel, TrafficConfig};

/// Utilisation breakpoints of the piecewise-linear queueing cost.
const BREAKPOINTS: [f64; 13] = [
    0.0, 0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.96, 0.98, 1.0,
];

#[derive(Debug, Clone)]
pub struct RoutingLp {
    serving: ServingModel,
    latency_weight: f64,
    drop_weight: f64,
    cost_weight: f64,
    /// If set, each region may only use its this-many lowest-RTT sites with capacity: a much
    /// smaller LP for huge worlds, at the price of optimality.
    candidates: Option<usize>,
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
            candidates: None,
        }
    }

    /// The same LP restricted to each region's `k` lowest-RTT sites with capacity.
    pub fn with_candidates(mut self, k: usize) -> Self {
        self.candidates = Some(k.max(1));
        self
    }

    pub fn candidates(&self) -> Option<usize> {
        self.candidates
    }

    /// Marginal queueing cost (ms per request) of each utilisation segment.
    fn segment_slopes(&self) -> Vec<f64> {
        let total = |rho: f64| rho * self.serving.sojourn_ms(rho);
        BREAKPOINTS
            .windows(2)
            .map(|w| (total(w[1]) - total(w[0])) / (w[1] - w[0]))
            .collect()
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
        let (regions, sites) = (demand.len(), available.len());
        let total: f64 = demand.iter().sum();
        let mut split = vec![0.0; regions * sites];
        if total.is_nan() || total <= 0.0 {
            (0..regions).for_each(|r| split[r * sites + fallback(r)] = 1.0);
            return Ok(split);
        }
        // Objective per request of total demand, so coefficients stay O(1) at any scale.
        let per_request = 1.0 / total;
        let mut pb = ColProblem::default();
        let region_rows: Vec<_> = demand.iter().map(|&d| pb.add_row(d..=d)).collect();
        let site_rows: Vec<_> = (0..sites).map(|_| pb.add_row(0.0..=0.0)).collect();
        let mut flow_columns = Vec::new();
        let mut usable: Vec<usize> = Vec::with_capacity(sites);
        for r in 0..regions {
            if demand[r] <= 0.0 {
                continue;
            }
            usable.clear();
            usable.extend((0..sites).filter(|&s| available[s] > 0.0));
            if let Some(k) = self.candidates.filter(|&k| k < usable.len()) {
                let row = &rtt_ms[r * sites..(r + 1) * sites];
                usable.select_nth_unstable_by(k - 1, |&a, &b| row[a].total_cmp(&row[b]));
                usable.truncate(k);
                usable.sort_unstable();
            }
            for &s in &usable {
                let cost = self.latency_weight * rtt_ms[r * sites + s]
                    + self.cost_weight * cost_per_million_usd[s];
                pb.add_column(
                    cost * per_request,
                    0.0..,
                    [(region_rows[r], 1.0), (site_rows[s], 1.0)],
                );
                flow_columns.push((r, s));
            }
        }
        let slopes = self.segment_slopes();
        for s in (0..sites).filter(|&s| available[s] > 0.0) {
            for (w, slope) in BREAKPOINTS.windows(2).zip(&slopes) {
                let width = (w[1] - w[0]) * available[s];
                pb.add_column(
                    self.latency_weight * slope * per_request,
                    0.0..=width,
                    [(site_rows[s], -1.0)],
                );
            }
        }
        let overflow = (self.drop_weight + self.latency_weight * self.serving.max_queue_delay_ms)
            .max(self.latency_weight * slopes.last().copied().unwrap_or(0.0));
        for s in (0..sites).filter(|&s| available[s] > 0.0) {
            pb.add_column(overflow * per_request, 0.0.., [(site_rows[s], -1.0)]);
        }
        let mut model = pb
            .try_optimise(Sense::Minimise)
            .map_err(|e| format!("HiGHS rejected the model: {e:?}"))?;
        model.make_quiet();
        model
            .try_set_option("threads", 1)
            .map_err(|e| format!("HiGHS option: {e:?}"))?;
        let solved = model
            .try_solve()
            .map_err(|e| format!("HiGHS failed: {e:?}"))?;
        if solved.status() != HighsModelStatus::Optimal {
            return Err(format!("HiGHS ended with status {:?}", solved.status()));
        }
        let columns = solved.get_solution().columns().to_vec();
        for (&(r, s), &x) in flow_columns.iter().zip(&columns) {
            split[r * sites + s] = x.max(0.0) / demand[r];
        }
        for r in 0..regions {
            let row = &mut split[r * sites..(r + 1) * sites];
            let sum: f64 = row.iter().sum();
            if sum > 0.0 {
                row.iter_mut().for_each(|v| *v /= sum);
            } else {
                // No demand, or no site with capacity: the fallback site takes the row.
                row.fill(0.0);
                row[fallback(r)] = 1.0;
            }
        }
        Ok(split)
    }
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
    fn candidates_limit_each_region_to_its_nearest_sites() {
        // One region, three sites: the farthest has the cheapest queue (lots of capacity).
        let rtt = [5.0, 10.0, 60.0];
        let full = lp()
            .solve(&[150.0], &[100.0, 100.0, 1000.0], &rtt, &[0.4; 3], |_| 0)
            .unwrap();
        assert!(full[2] > 0.0, "{full:?}");
        let near = lp()
            .with_candidates(2)
            .solve(&[150.0], &[100.0, 100.0, 1000.0], &rtt, &[0.4; 3], |_| 0)
            .unwrap();
        assert_eq!(near[2], 0.0, "{near:?}");
        assert!((near[0] + near[1] - 1.0).abs() < 1e-9);
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
