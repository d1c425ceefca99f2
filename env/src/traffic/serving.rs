//! What happens to one interval's requests under a routing split: per-site load, drops above
//! available capacity, M/M/1 queueing delay, latency distribution and cost.

use std::ops::Range;
use std::sync::Arc;

/// Latency and cost model parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServingModel {
    pub service_time_ms: f64,
    pub max_queue_delay_ms: f64,
    pub slo_ms: f64,
    pub interval_s: f64,
}

/// The inputs of one interval, all row-major over `regions x sites` where two-dimensional.
#[derive(Debug, Clone, Copy)]
pub struct Interval<'a> {
    pub demand_rps: &'a [f64],
    pub split: &'a [f64],
    pub available_rps: &'a [f64],
    /// Shared, so that the order of its RTTs is worked out once per matrix (see `Scratch`).
    pub rtt_ms: &'a Arc<[f64]>,
    pub cost_per_request_usd: &'a [f64],
}

/// What one interval produced. Latency statistics are over served requests (0 if none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub demand_rps: f64,
    pub served_rps: f64,
    pub dropped_rps: f64,
    pub mean_latency_ms: f64,
    pub p95_latency_ms: f64,
    pub slo_violation_fraction: f64,
    pub cost_usd: f64,
    /// Offered load / available capacity per site (`f64::INFINITY` for load on a failed site).
    pub utilisation: Vec<f64>,
    /// Highest utilisation over sites with capacity left.
    pub max_site_utilisation: f64,
    pub served_per_site_rps: Vec<f64>,
}

impl Outcome {
    /// Dropped share of the demand (0 without demand).
    pub fn dropped_fraction(&self) -> f64 {
        if self.demand_rps > 0.0 {
            self.dropped_rps / self.demand_rps
        } else {
            0.0
        }
    }
}

/// Scratch space of `serve`, reused between calls.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    /// `(rtt, served rps)` of every region-site pair, site-major: each site's flows are read in
    /// RTT order, which jumps between regions, from one contiguous row.
    pairs: Vec<(f64, f64)>,
    by_rtt: RttOrder,
    mixture: Mixture,
}

impl ServingModel {
    /// Mean M/M/1 sojourn time (queueing + service) at utilisation `rho`, capped.
    pub fn sojourn_ms(&self, rho: f64) -> f64 {
        if rho >= 1.0 {
            self.max_queue_delay_ms
        } else {
            (self.service_time_ms / (1.0 - rho)).min(self.max_queue_delay_ms)
        }
    }

    /// Simulates one interval. `scratch` is reused between calls (it caches RTT orders).
    pub fn serve(&self, x: Interval<'_>, scratch: &mut Scratch) -> Outcome {
        let sites = x.available_rps.len();
        let mut offered = vec![0.0; sites];
        for (row, &d) in x.split.chunks_exact(sites).zip(x.demand_rps) {
            for (o, &share) in offered.iter_mut().zip(row) {
                *o += d * share;
            }
        }
        let served: Vec<f64> = offered
            .iter()
            .zip(x.available_rps)
            .map(|(&o, &a)| o.min(a))
            .collect();
        let utilisation: Vec<f64> = offered
            .iter()
            .zip(x.available_rps)
            .map(|(&o, &a)| {
                if a > 0.0 {
                    o / a
                } else if o > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let sojourn: Vec<f64> = served
            .iter()
            .zip(x.available_rps)
            .map(|(&s, &a)| if a > 0.0 { self.sojourn_ms(s / a) } else { 0.0 })
            .collect();
        // Fraction of each site's offered load that is served (drops hit every flow alike).
        let served_share: Vec<f64> = served
            .iter()
            .zip(&offered)
            .map(|(&s, &o)| if o > 0.0 { s / o } else { 0.0 })
            .collect();
        // Regions with both a demand and a split row.
        let regions = x.demand_rps.len().min(x.split.len() / sites);
        let pairs = &mut scratch.pairs;
        pairs.resize(regions * sites, (0.0, 0.0));
        let (mut weight, mut latency) = (0.0, 0.0);
        for (r, (row, &d)) in x.split.chunks_exact(sites).zip(x.demand_rps).enumerate() {
            for (s, &share) in row.iter().enumerate() {
                let (rps, rtt) = (d * share * served_share[s], x.rtt_ms[r * sites + s]);
                pairs[s * regions + r] = (rtt, rps);
                if rps > 0.0 {
                    weight += rps;
                    latency += rps * (rtt + sojourn[s]);
                }
            }
        }
        let demand: f64 = x.demand_rps.iter().sum();
        let served_total: f64 = served.iter().sum();
        let (mean_latency_ms, p95_latency_ms, slo_violation_fraction) = if weight > 0.0 {
            let by_rtt = scratch.by_rtt.of(x.rtt_ms, regions, sites);
            let mixture = &mut scratch.mixture;
            mixture.clear();
            let sites_rows = pairs.chunks_exact(regions).zip(by_rtt);
            for ((row, order), &sojourn_ms) in sites_rows.zip(&sojourn) {
                let flows = order.iter().map(|&r| row[r]);
                mixture.push_site(sojourn_ms, flows.filter(|&(_, rps)| rps > 0.0));
            }
            (
                latency / weight,
                quantile(mixture, weight, 0.95),
                mixture.fraction_above(self.slo_ms),
            )
        } else {
            (0.0, 0.0, 0.0)
        };
        let cost_usd = served
            .iter()
            .zip(x.cost_per_request_usd)
            .map(|(s, c)| s * c)
            .sum::<f64>()
            * self.interval_s;
        let max_site_utilisation = utilisation
            .iter()
            .copied()
            .filter(|u| u.is_finite())
            .fold(0.0, f64::max);
        Outcome {
            demand_rps: demand,
            served_rps: served_total,
            dropped_rps: offered.iter().zip(&served).map(|(o, s)| o - s).sum(),
            mean_latency_ms,
            p95_latency_ms,
            slo_violation_fraction,
            cost_usd,
            utilisation,
            max_site_utilisation,
            served_per_site_rps: served,
        }
    }
}

/// Each site's regions by increasing RTT (ties by region). Kept between calls because RTTs
/// rarely change: for the same matrix nothing is done, for a changed one sorting is nearly only
/// a check.
#[derive(Debug, Clone, Default)]
struct RttOrder {
    by_site: Vec<Vec<usize>>,
    /// The matrix `by_site` is the order of, kept alive so that no other can take its address.
    of: Option<Arc<[f64]>>,
}

impl RttOrder {
    /// Each site's first `regions` regions by RTT in `rtt_ms`, sorted unless they already are
    /// for this very matrix.
    fn of(&mut self, rtt_ms: &Arc<[f64]>, regions: usize, sites: usize) -> &[Vec<usize>] {
        let shaped = self.by_site.len() == sites && self.by_site.iter().all(|o| o.len() == regions);
        if shaped && self.of.as_ref().is_some_and(|m| Arc::ptr_eq(m, rtt_ms)) {
            return &self.by_site;
        }
        if !shaped {
            self.by_site = vec![(0..regions).collect(); sites];
        }
        for (site, order) in self.by_site.iter_mut().enumerate() {
            let by_rtt = super::rtt_order::by_rtt(rtt_ms, sites, site);
            if !order.is_sorted_by(|a, b| by_rtt(a, b).is_le()) {
                // Stable sort: fast on an order that a few RTT changes left nearly sorted.
                order.sort_by(by_rtt);
            }
        }
        self.of = Some(rtt_ms.clone());
        &self.by_site
    }
}

/// What one interval's reward needs, from per-site totals alone: with `offered_rps` and
/// `rtt_weighted` (sum over regions of demand x share x RTT) per site, the mean latency of the
/// served requests, the dropped and the served request rates and the cost rate (USD/s). Equal to
/// `serve`'s statistics up to rounding, in O(sites): counterfactuals that change one region's
/// row update the totals instead of re-serving every flow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteTotals {
    pub mean_latency_ms: f64,
    pub dropped_rps: f64,
    pub cost_usd_per_s: f64,
}

impl ServingModel {
    pub fn site_totals(
        &self,
        offered_rps: &[f64],
        rtt_weighted: &[f64],
        available_rps: &[f64],
        cost_per_request_usd: &[f64],
    ) -> SiteTotals {
        let (mut latency, mut served_total, mut dropped, mut cost) = (0.0, 0.0, 0.0, 0.0);
        for s in 0..offered_rps.len() {
            let (o, a) = (offered_rps[s], available_rps[s]);
            if o <= 0.0 {
                continue;
            }
            let served = o.min(a);
            dropped += o - served;
            if served > 0.0 {
                // Drops hit every flow alike: the served flows carry served / offered of the RTT
                // (all of it without drops: 1 x w is w, so no division is needed for the bits).
                let rtt = if served == o {
                    rtt_weighted[s]
                } else {
                    served / o * rtt_weighted[s]
                };
                latency += rtt + served * self.sojourn_ms(served / a);
                served_total += served;
                cost += served * cost_per_request_usd[s];
            }
        }
        SiteTotals {
            mean_latency_ms: if served_total > 0.0 {
                latency / served_total
            } else {
                0.0
            },
            dropped_rps: dropped,
            cost_usd_per_s: cost,
        }
    }
}

/// The `q` quantile of `mixture` (of total rps `weight`).
fn quantile(mixture: &Mixture, weight: f64, q: f64) -> f64 {
    let (lo, hi) = mixture.bracket(q);
    solve_quantile(lo, hi, q, |x| {
        let (cdf, pdf) = mixture.cdf_pdf(x);
        (cdf / weight, pdf / weight)
    })
}

/// The `q` quantile of a CDF (with density) `cdf_pdf` between `lo` and `hi`: Newton steps, kept
/// inside a shrinking bracket (bisection when a step would leave it).
fn solve_quantile(mut lo: f64, mut hi: f64, q: f64, cdf_pdf: impl Fn(f64) -> (f64, f64)) -> f64 {
    let mut x = 0.5 * (lo + hi);
    for _ in 0..100 {
        let (cdf, pdf) = cdf_pdf(x);
        if (cdf - q).abs() < 1e-9 || hi - lo < 1e-3 {
            break;
        }
        if cdf < q {
            lo = x
        } else {
            hi = x
        }
        let newton = x - (cdf - q) / pdf;
        x = if pdf > 0.0 && newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
    }
    x
}

/// The latency mixture of `rtt + Exp(s)` over served flows, grouped by site. A site's flows share
/// its sojourn s, so up to x they add `sum rps x (1 - exp(-(x - rtt) / s))` over RTTs below x,
/// which is `weight - exp(-(x - r) / s) x decayed` at the last such RTT r (see `Step`): one
/// binary search and one exp per site and evaluation instead of one exp per flow.
#[derive(Debug, Clone, Default)]
struct Mixture {
    /// Sojourn time of each site with flows, and the range of its steps.
    groups: Vec<(f64, Range<usize>)>,
    steps: Vec<Step>,
}

/// One distinct RTT of a site, with sums over the site's flows up to it.
#[derive(Debug, Clone, Copy)]
struct Step {
    rtt_ms: f64,
    /// Total rps.
    weight: f64,
    /// `sum rps x exp(-(rtt_ms - rtt) / s)`. Relative to the largest RTT below x rather than to
    /// a fixed origin (`exp(rtt / s)` overflows for RTTs far above s), no exponent is positive:
    /// nothing overflows, and a term only underflows when negligible next to this step's rps.
    decayed: f64,
}

impl Mixture {
    fn clear(&mut self) {
        self.groups.clear();
        self.steps.clear();
    }

    /// Adds a site with sojourn `s` and its flows, `(rtt, rps)` by increasing RTT.
    #[inline]
    fn push_site(&mut self, s: f64, flows: impl Iterator<Item = (f64, f64)>) {
        let start = self.steps.len();
        for (rtt_ms, rps) in flows {
            match self.steps[start..].last_mut() {
                // Equal RTTs merge, so gaps are positive: no 0 / 0 when s is 0.
                Some(last) if last.rtt_ms == rtt_ms => {
                    last.weight += rps;
                    last.decayed += rps;
                }
                last => {
                    let (weight, decayed) = last.map_or((0.0, 0.0), |l| {
                        (l.weight, l.decayed * (-(rtt_ms - l.rtt_ms) / s).exp())
                    });
                    self.steps.push(Step {
                        rtt_ms,
                        weight: weight + rps,
                        decayed: decayed + rps,
                    });
                }
            }
        }
        if self.steps.len() > start {
            self.groups.push((s, start..self.steps.len()));
        }
    }

    /// Where the `q` quantile lies: from the smallest RTT to where every flow has reached its
    /// own q quantile (so the mixture has too).
    fn bracket(&self, q: f64) -> (f64, f64) {
        let ends = self.groups.iter().map(|(s, range)| {
            let (first, last) = (self.steps[range.start], self.steps[range.end - 1]);
            (first.rtt_ms, last.rtt_ms - s * (1.0 - q).ln())
        });
        ends.fold((f64::INFINITY, 0.0), |(lo, hi), (a, b)| {
            (lo.min(a), hi.max(b))
        })
    }

    /// CDF and density at x, times the total rps (`rtt + Exp` has no mass up to its RTT).
    fn cdf_pdf(&self, x: f64) -> (f64, f64) {
        let (mut cdf, mut pdf) = (0.0, 0.0);
        for (s, range) in &self.groups {
            let steps = &self.steps[range.clone()];
            let below = steps.partition_point(|p| p.rtt_ms < x);
            if let Some(p) = below.checked_sub(1).map(|i| steps[i]) {
                let tail = (-(x - p.rtt_ms) / s).exp() * p.decayed;
                cdf += p.weight - tail;
                pdf += tail / s;
            }
        }
        (cdf, pdf)
    }

    /// The share of the rps whose latency exceeds `x`: per site, every flow at an RTT of `x`
    /// or more and the tails of those below. Summed from what lies above `x` rather than as one
    /// minus the CDF, so that a tiny share keeps its digits and is never negative; capped at 1
    /// against rounding. 0 without flows.
    fn fraction_above(&self, x: f64) -> f64 {
        let (mut above, mut all) = (0.0, 0.0);
        for (s, range) in &self.groups {
            let steps = &self.steps[range.clone()];
            let below = steps.partition_point(|p| p.rtt_ms < x);
            let total = steps.last().map_or(0.0, |p| p.weight);
            above += match below.checked_sub(1).map(|i| steps[i]) {
                Some(p) => total - p.weight + (-(x - p.rtt_ms) / s).exp() * p.decayed,
                None => total,
            };
            all += total;
        }
        if all > 0.0 {
            (above / all).min(1.0)
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A served flow: its rps, RTT and the sojourn time of its site.
    #[derive(Debug, Clone, Copy)]
    struct Flow {
        rps: f64,
        rtt_ms: f64,
        sojourn_ms: f64,
    }

    /// The mixture of `flows`, one site per distinct sojourn time.
    fn mixture(flows: &[Flow]) -> Mixture {
        let mut flows = flows.to_vec();
        flows.sort_by(|a, b| {
            (a.sojourn_ms.total_cmp(&b.sojourn_ms)).then(a.rtt_ms.total_cmp(&b.rtt_ms))
        });
        let mut mixture = Mixture::default();
        for site in flows.chunk_by(|a, b| a.sojourn_ms == b.sojourn_ms) {
            mixture.push_site(site[0].sojourn_ms, site.iter().map(|f| (f.rtt_ms, f.rps)));
        }
        mixture
    }

    /// The CDF and density of `flows` at x the way the solver computed them before `Mixture`:
    /// one exp per flow.
    fn per_flow_cdf_pdf(flows: &[Flow], weight: f64, x: f64) -> (f64, f64) {
        let (mut cdf, mut pdf) = (0.0, 0.0);
        for f in flows.iter().filter(|f| x > f.rtt_ms) {
            let tail = (-(x - f.rtt_ms) / f.sojourn_ms).exp();
            cdf += f.rps * (1.0 - tail);
            pdf += f.rps * tail / f.sojourn_ms;
        }
        (cdf / weight, pdf / weight)
    }

    const MODEL: ServingModel = ServingModel {
        service_time_ms: 20.0,
        max_queue_delay_ms: 2000.0,
        slo_ms: 150.0,
        interval_s: 60.0,
    };

    #[test]
    fn one_flow_matches_closed_forms() {
        let mut scratch = Scratch::default();
        let o = MODEL.serve(
            Interval {
                demand_rps: &[50.0],
                split: &[1.0],
                available_rps: &[100.0],
                rtt_ms: &Arc::from([30.0]),
                cost_per_request_usd: &[1e-6],
            },
            &mut scratch,
        );
        // rho = 0.5: sojourn 40 ms; latency 30 + Exp(40).
        assert!((o.mean_latency_ms - 70.0).abs() < 1e-9);
        let p95 = 30.0 + 40.0 * 20f64.ln();
        assert!(
            (o.p95_latency_ms - p95).abs() < 0.02,
            "{}",
            o.p95_latency_ms
        );
        assert!((o.slo_violation_fraction - (-120.0f64 / 40.0).exp()).abs() < 1e-12);
        assert_eq!(o.dropped_rps, 0.0);
        assert!((o.cost_usd - 50.0 * 60.0 * 1e-6).abs() < 1e-12);
        assert_eq!(o.max_site_utilisation, 0.5);
    }

    #[test]
    fn overload_drops_and_failed_sites_drop_everything() {
        let mut scratch = Scratch::default();
        let o = MODEL.serve(
            Interval {
                demand_rps: &[150.0, 50.0],
                split: &[1.0, 0.0, 0.5, 0.5],
                available_rps: &[100.0, 0.0],
                rtt_ms: &Arc::from([10.0, 80.0, 60.0, 5.0]),
                cost_per_request_usd: &[0.0, 0.0],
            },
            &mut scratch,
        );
        // Site 0 offered 175, serves 100; site 1 failed, drops its 25.
        assert!((o.served_rps - 100.0).abs() < 1e-9);
        assert!((o.dropped_rps - 100.0).abs() < 1e-9);
        assert_eq!(o.utilisation[1], f64::INFINITY);
        assert!((o.max_site_utilisation - 1.75).abs() < 1e-12);
        // Served flows: region 0 -> site 0 (150/175 of 100) and region 1 -> site 0 (25/175 of 100).
        let mean = (100.0 * 150.0 / 175.0 * 10.0 + 100.0 * 25.0 / 175.0 * 60.0) / 100.0 + 2000.0;
        assert!((o.mean_latency_ms - mean).abs() < 1e-9);
    }

    #[test]
    fn p95_of_a_mixture_has_cdf_095() {
        let flows = [
            Flow {
                rps: 30.0,
                rtt_ms: 10.0,
                sojourn_ms: 25.0,
            },
            Flow {
                rps: 60.0,
                rtt_ms: 140.0,
                sojourn_ms: 400.0,
            },
            Flow {
                rps: 10.0,
                rtt_ms: 80.0,
                sojourn_ms: 2000.0,
            },
        ];
        let x = quantile(&mixture(&flows), 100.0, 0.95);
        let (cdf, _) = per_flow_cdf_pdf(&flows, 100.0, x);
        assert!((cdf - 0.95).abs() < 1e-6, "x = {x}, cdf = {cdf}");
    }

    /// The solver on the per-flow CDF, as before `Mixture`, on random mixtures with the edge
    /// cases: one flow, equal RTTs, sojourns of 0, tiny, huge and infinite next to the RTTs, q
    /// near 0 and 1. Both agree within the solver's tolerance: bit for bit, or within the 1e-3
    /// bracket, or at a point where the per-flow CDF is within 1e-9 of q (up to rounding).
    #[test]
    fn mixture_quantile_matches_the_per_flow_one() {
        let mut rng = crate::rng::Rng::new(11);
        for case in 0..5_000 {
            let sojourns: Vec<f64> = (0..1 + rng.below(6))
                .map(|_| match rng.below(8) {
                    0 => 0.0,
                    1 => 1e-3,
                    2 => 1e9,
                    3 => f64::INFINITY,
                    4 => 2000.0,
                    _ => rng.uniform_in(20.0, 2000.0),
                })
                .collect();
            let spread = [0.0, 1.0, 300.0, 1e5][case % 4];
            let flows: Vec<Flow> = (0..1 + rng.below(if case % 5 == 0 { 1 } else { 60 }))
                .map(|_| Flow {
                    rps: rng.uniform_in(1e-3, 1e3),
                    // Few distinct RTTs: ties within a site.
                    rtt_ms: 1.0 + (rng.uniform() * 8.0).floor() / 8.0 * spread,
                    sojourn_ms: sojourns[rng.below(sojourns.len())],
                })
                .collect();
            let weight: f64 = flows.iter().map(|f| f.rps).sum();
            let q: f64 = [0.95, 0.5, 1e-7, 1.0 - 1e-7][rng.below(4)];
            let lo = flows.iter().map(|f| f.rtt_ms).fold(f64::INFINITY, f64::min);
            let hi = flows
                .iter()
                .map(|f| f.rtt_ms - f.sojourn_ms * (1.0 - q).ln())
                .fold(0.0, f64::max);
            let expected = solve_quantile(lo, hi, q, |x| per_flow_cdf_pdf(&flows, weight, x));
            let got = quantile(&mixture(&flows), weight, q);
            let (cdf, _) = per_flow_cdf_pdf(&flows, weight, got);
            assert!(
                got.to_bits() == expected.to_bits()
                    || (got - expected).abs() < 2e-3
                    || (cdf - q).abs() < 1e-9 + 1e-12,
                "{got} vs {expected}, q = {q}, CDF {cdf}: {flows:?}"
            );
        }
    }

    /// The SLO-violation share from the mixture equals the per-flow sum of
    /// `P(rtt + Exp(sojourn) > x)` (one exp per flow, the way `serve` computed it before),
    /// across ties, zero and infinite sojourns, and limits below, among and above the RTTs.
    #[test]
    fn fraction_above_matches_the_per_flow_sum() {
        let mut rng = crate::rng::Rng::new(12);
        for case in 0..5_000 {
            let sojourns = [0.0, 1e-3, 40.0, 2000.0, f64::INFINITY];
            let flows: Vec<Flow> = (0..1 + rng.below(60))
                .map(|_| Flow {
                    rps: rng.uniform_in(1e-3, 1e3),
                    rtt_ms: 1.0 + (rng.uniform() * 8.0).floor() * 40.0,
                    sojourn_ms: sojourns[rng.below(sojourns.len())],
                })
                .collect();
            let x = [0.5, 1.0, 150.0, 161.0, 1e4][case % 5];
            let weight: f64 = flows.iter().map(|f| f.rps).sum();
            let above: f64 = flows
                .iter()
                .map(|f| match f.rtt_ms >= x {
                    true => f.rps,
                    false => f.rps * (-(x - f.rtt_ms) / f.sojourn_ms).exp(),
                })
                .sum();
            let (expected, got) = (above / weight, mixture(&flows).fraction_above(x));
            assert!(
                (got - expected).abs() <= 1e-12 + 1e-9 * expected && got <= 1.0,
                "{got} vs {expected} at {x}: {flows:?}"
            );
        }
        assert_eq!(Mixture::default().fraction_above(150.0), 0.0);
    }

    /// The cached RTT order is kept for the same matrix, re-sorted for another, and ties are
    /// broken by region: a reused scratch gives what a fresh one gives, bit for bit.
    #[test]
    fn reused_scratch_serves_like_a_fresh_one() {
        let mut rng = crate::rng::Rng::new(5);
        let mut reused = Scratch::default();
        let (mut regions, mut sites) = (0, 0);
        let mut rtt: Arc<[f64]> = Arc::from([]);
        for round in 0..1000 {
            if round % 20 == 0 {
                (regions, sites) = (1 + rng.below(8), 1 + rng.below(4));
            }
            // A new matrix with each shape and now and then, else the same one again.
            if round % 20 == 0 || rng.below(3) == 0 {
                rtt = (0..regions * sites)
                    .map(|_| 10.0 * (1 + rng.below(4)) as f64)
                    .collect();
            }
            let demand: Vec<f64> = (0..regions).map(|_| rng.uniform_in(0.0, 100.0)).collect();
            let split: Vec<f64> = (0..regions)
                .flat_map(|_| {
                    let row: Vec<f64> = (0..sites).map(|_| rng.uniform()).collect();
                    let total: f64 = row.iter().sum();
                    row.into_iter().map(move |w| w / total)
                })
                .collect();
            let available: Vec<f64> = (0..sites).map(|_| rng.uniform_in(0.0, 300.0)).collect();
            let x = Interval {
                demand_rps: &demand,
                split: &split,
                available_rps: &available,
                rtt_ms: &rtt,
                cost_per_request_usd: &vec![0.0; sites],
            };
            assert_eq!(
                MODEL.serve(x, &mut reused),
                MODEL.serve(x, &mut Scratch::default())
            );
        }
    }

    #[test]
    fn nothing_served_gives_zero_latency_not_nan() {
        let mut scratch = Scratch::default();
        let o = MODEL.serve(
            Interval {
                demand_rps: &[10.0],
                split: &[1.0],
                available_rps: &[0.0],
                rtt_ms: &Arc::from([1.0]),
                cost_per_request_usd: &[0.0],
            },
            &mut scratch,
        );
        assert_eq!(
            (o.mean_latency_ms, o.p95_latency_ms, o.dropped_rps),
            (0.0, 0.0, 10.0)
        );
    }
}
