//! What happens to one interval's requests under a routing split: per-site load, drops above
//! available capacity, M/M/1 queueing delay, latency distribution and cost.

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
    pub rtt_ms: &'a [f64],
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

/// Served request flow on one region-site pair.
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    rps: f64,
    rtt_ms: f64,
    /// Mean sojourn time at the site (exponentially distributed, M/M/1).
    sojourn_ms: f64,
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

    /// Simulates one interval. `flows` is scratch space reused between calls.
    pub fn serve(&self, x: Interval<'_>, flows: &mut Vec<Flow>) -> Outcome {
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
        flows.clear();
        for (r, (row, &d)) in x.split.chunks_exact(sites).zip(x.demand_rps).enumerate() {
            for (s, &share) in row.iter().enumerate() {
                let rps = d * share * served_share[s];
                if rps > 0.0 {
                    flows.push(Flow {
                        rps,
                        rtt_ms: x.rtt_ms[r * sites + s],
                        sojourn_ms: sojourn[s],
                    });
                }
            }
        }
        let demand: f64 = x.demand_rps.iter().sum();
        let served_total: f64 = served.iter().sum();
        let weight: f64 = flows.iter().map(|f| f.rps).sum();
        let (mean_latency_ms, p95_latency_ms, slo_violation_fraction) = if weight > 0.0 {
            let mean = flows
                .iter()
                .map(|f| f.rps * (f.rtt_ms + f.sojourn_ms))
                .sum::<f64>()
                / weight;
            let late = flows
                .iter()
                .map(|f| f.rps * exceed_probability(f, self.slo_ms))
                .sum::<f64>()
                / weight;
            (mean, quantile(flows, weight, 0.95), late)
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
                // Drops hit every flow alike: the served flows carry served / offered of the RTT.
                latency += served / o * rtt_weighted[s] + served * self.sojourn_ms(served / a);
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

/// P(rtt + Exp(sojourn) > limit).
fn exceed_probability(f: &Flow, limit: f64) -> f64 {
    if f.rtt_ms >= limit {
        1.0
    } else {
        (-(limit - f.rtt_ms) / f.sojourn_ms).exp()
    }
}

/// The `q` quantile of the mixture of `rtt + Exp(sojourn)` over flows: Newton steps on its CDF,
/// kept inside a shrinking bracket (bisection when a step would leave it).
fn quantile(flows: &[Flow], weight: f64, q: f64) -> f64 {
    // CDF and density at x, in one pass (one exp per flow).
    let cdf_pdf = |x: f64| {
        let (mut cdf, mut pdf) = (0.0, 0.0);
        for f in flows.iter().filter(|f| x > f.rtt_ms) {
            let tail = (-(x - f.rtt_ms) / f.sojourn_ms).exp();
            cdf += f.rps * (1.0 - tail);
            pdf += f.rps * tail / f.sojourn_ms;
        }
        (cdf / weight, pdf / weight)
    };
    let mut lo = flows.iter().map(|f| f.rtt_ms).fold(f64::INFINITY, f64::min);
    // Every flow has reached its own q quantile here, so the mixture has too.
    let mut hi = flows
        .iter()
        .map(|f| f.rtt_ms - f.sojourn_ms * (1.0 - q).ln())
        .fold(0.0, f64::max);
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

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: ServingModel = ServingModel {
        service_time_ms: 20.0,
        max_queue_delay_ms: 2000.0,
        slo_ms: 150.0,
        interval_s: 60.0,
    };

    #[test]
    fn one_flow_matches_closed_forms() {
        let mut scratch = Vec::new();
        let o = MODEL.serve(
            Interval {
                demand_rps: &[50.0],
                split: &[1.0],
                available_rps: &[100.0],
                rtt_ms: &[30.0],
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
        let mut scratch = Vec::new();
        let o = MODEL.serve(
            Interval {
                demand_rps: &[150.0, 50.0],
                split: &[1.0, 0.0, 0.5, 0.5],
                available_rps: &[100.0, 0.0],
                rtt_ms: &[10.0, 80.0, 60.0, 5.0],
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
        let x = quantile(&flows, 100.0, 0.95);
        let cdf: f64 = flows
            .iter()
            .filter(|f| x > f.rtt_ms)
            .map(|f| f.rps * (1.0 - (-(x - f.rtt_ms) / f.sojourn_ms).exp()))
            .sum::<f64>()
            / 100.0;
        assert!((cdf - 0.95).abs() < 1e-6, "x = {x}, cdf = {cdf}");
    }

    #[test]
    fn nothing_served_gives_zero_latency_not_nan() {
        let mut scratch = Vec::new();
        let o = MODEL.serve(
            Interval {
                demand_rps: &[10.0],
                split: &[1.0],
                available_rps: &[0.0],
                rtt_ms: &[1.0],
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
