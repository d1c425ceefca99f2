//! The placement MILP and an LP relaxation of it (HiGHS): a lower bound on the day's cost of
//! every placement the `services` scenario accepts, and the placement that minimises the model.
//!
//! The scenario's cost is not linear (queueing, nearest-replica routing, write quorums), so
//! the model relaxes it: for every placement its cost is at most what the scenario charges
//! (tested). Hence the MILP's optimum (or HiGHS's bound on it) and the LP's bound every
//! policy's cost from below. What the model relaxes:
//! - routing: each dependency's calls may flow between any replicas of caller and callee (the
//!   scenario routes each call to the callee's replica nearest its caller, the caller being
//!   where the parent call ran), and each service's work may run at any of its replicas;
//! - queueing: a region's work `b` costs `b / (1 - b / cores)` request-seconds per second in
//!   the scenario (capped at a 20x slowdown); the model charges the maximum of tangents of that
//!   curve with slopes up to 20, which lie below it everywhere, at the day's mean work (by
//!   Jensen's inequality, below the mean of the hours' convex costs);
//! - writes: a write's wait for its synchronous copies is left out (it is never negative).
//!
//! Everything else is exact: compute (busy work is the same wherever it runs; each replica
//! holds its minimum cores), storage, write copies sent to the other replicas, egress and RTT
//! of every crossing call, and the users' round trips. With one replica per service, no
//! writes and no queueing, the model's cost is the scenario's (tested).
//!
//! The MILP has a flow column per (dependency, caller region, callee region): 3.2M columns on
//! the default 54-region world, so it is for small worlds (10 regions). The bound's LP drops
//! the dependency flows (their cost is never negative): its fractional replicas would spread
//! every service alike over the regions and pay nothing for its calls anyway (the full LP
//! relaxation, solved by column generation, gave 343 USD on the default world in 210 s). It
//! keeps instead, for the services taking the most first calls, rows per user region: the
//! users of region u reach region b at most in proportion to the service's replica there.
use super::quiet_model;
use highs::{ColProblem, HighsModelStatus, Model, Row, SolvedModel};
use planetgym_env::services::config::MAX_MILP_COLUMNS;
use planetgym_env::services::world::ServicesWorld;
use planetgym_env::services::{ServicesConfig, ServicesObs};
use std::collections::HashMap;
use std::time::Instant;

/// Utilisations at which the queueing curve `rho / (1 - rho)` (per core) is bounded by its
/// tangent. The last has slope 20, the capped curve's slope beyond 95 % utilisation: a steeper
/// tangent would rise above the cap.
const TANGENTS: [f64; 8] = [0.0, 0.2, 0.35, 0.5, 0.6, 0.68, 0.74, 0.776_393_202_250_021];
/// The slowdown cap (1 / (1 - 0.95)).
const MAX_SLOWDOWN: f64 = 20.0;

/// What the MILP or LP found. `bound` is a lower bound on the day's cost of every placement
/// (USD); `objective` the model's cost of `plan` (MILP only: the best placement found).
#[derive(Debug, Clone, PartialEq)]
pub struct Solved {
    pub bound: f64,
    pub objective: f64,
    /// Replica regions per service, primary (the replica given the most work) first; empty for
    /// the LP.
    pub plan: Vec<Vec<usize>>,
    /// Optimal, or the time limit's status.
    pub status: String,
    pub columns: usize,
    pub rows: usize,
    pub seconds: f64,
}

/// Prices of the instance, per unit of each column (USD per day).
#[derive(Debug)]
struct Prices {
    /// Per call/s of a dependency from region a to b (ms priced, plus egress when crossing).
    hop: Vec<f64>,
    /// Per request/s of users in region u reaching a first call in region b.
    user: Vec<f64>,
    /// Per core-second/second of queueing-weighted work.
    work: f64,
    /// Per replica of each service (minimum cores, storage, write copies).
    replica: Vec<f64>,
    /// Cost that no placement changes.
    constant: f64,
}

/// One placement problem: the world, the day's mean demand per region, cores per region and
/// the hours served.
#[derive(Debug)]
pub struct Instance<'a> {
    world: &'a ServicesWorld,
    config: &'a ServicesConfig,
    demand: &'a [f64],
    cores: &'a [f64],
    /// Requests/s over all regions, and each service's work (busy cores) at that rate.
    total_rps: f64,
    work: Vec<f64>,
    prices: Prices,
}

impl<'a> Instance<'a> {
    /// The instance an episode starts from (the first observation).
    pub fn of(obs: &'a ServicesObs, config: &'a ServicesConfig) -> Self {
        Self::new(
            &obs.world,
            config,
            &obs.demand_rps,
            &obs.cores,
            config.serving_hours as f64,
        )
    }

    pub fn new(
        world: &'a ServicesWorld,
        config: &'a ServicesConfig,
        demand: &'a [f64],
        cores: &'a [f64],
        hours: f64,
    ) -> Self {
        let total_rps: f64 = demand.iter().sum();
        let work: Vec<f64> = world
            .catalog
            .services
            .iter()
            .map(|s| total_rps * s.work_ms_per_request / 1000.0)
            .collect();
        let c = config;
        let seconds = 3600.0 * hours;
        let latency = seconds * c.reward.latency_usd_per_request_s / 1000.0;
        let egress = seconds * c.calls.kb_per_call / 1e6 * c.regions.egress_gb_usd;
        let n = world.regions();
        let crossing = |a: usize, b: usize| if a == b { 0.0 } else { egress };
        let hop = (0..n * n)
            .map(|k| latency * world.hop_ms(k / n, k % n) + crossing(k / n, k % n))
            .collect();
        let user = (0..n * n)
            .map(|k| latency * world.geo.rtt_ms(k / n, k % n) + crossing(k / n, k % n))
            .collect();
        // A write sends a copy to every other replica: per replica beyond the first.
        let writes = |s: usize| {
            if world.stateful[s] {
                c.data.write_fraction * total_rps * world.catalog.services[s].calls_per_request
            } else {
                0.0
            }
        };
        let replica = (0..world.catalog.services.len())
            .map(|s| {
                let storage = if world.stateful[s] {
                    world.shard_gb[s] * c.regions.storage_gb_month_usd * hours / 730.0
                } else {
                    0.0
                };
                c.calls.min_cores_per_replica * hours * c.regions.core_hour_usd
                    + storage
                    + writes(s) * egress
            })
            .collect();
        let busy: f64 = work.iter().sum();
        let copies: f64 = (0..world.catalog.services.len()).map(writes).sum();
        let constant =
            busy * c.calls.core_headroom * hours * c.regions.core_hour_usd - copies * egress;
        let prices = Prices {
            hop,
            user,
            work: seconds * c.reward.latency_usd_per_request_s,
            replica,
            constant,
        };
        Self {
            world,
            config,
            demand,
            cores,
            total_rps,
            work,
            prices,
        }
    }

    fn regions(&self) -> usize {
        self.world.regions()
    }

    /// Columns of the full MILP (its size).
    pub fn full_columns(&self) -> usize {
        full_columns(self.world, self.demand.iter().filter(|&&d| d > 0.0).count())
    }

    /// The LP relaxation's optimum: a lower bound on the day's cost of every placement.
    /// Refused beyond `MAX_MILP_COLUMNS` columns (HiGHS holds the model in memory).
    pub fn lp_bound(&self) -> Result<Solved, String> {
        let users = self.demand.iter().filter(|&&d| d > 0.0).count();
        let columns = full_columns(self.world, users) - flow_columns(self.world);
        if columns > MAX_MILP_COLUMNS {
            return Err(format!(
                "the bound's LP has {columns} columns, over the limit of {MAX_MILP_COLUMNS}"
            ));
        }
        self.solve_lp(None)
    }

    /// The model's cost of `plan` (replica regions per service): at most the scenario's cost
    /// of the same placement.
    pub fn model_cost(&self, plan: &[Vec<usize>]) -> Result<f64, String> {
        let w = self.world;
        if plan.len() != w.catalog.services.len() {
            return Err(format!(
                "a plan for {} services, the world has {}",
                plan.len(),
                w.catalog.services.len()
            ));
        }
        for (s, at) in plan.iter().enumerate() {
            if let Some(r) = at.iter().find(|&&r| r >= w.regions() || !w.allows(s, r)) {
                return Err(format!("service {s} may not have a replica in region {r}"));
            }
        }
        self.solve_lp(Some(plan)).map(|solved| solved.bound)
    }

    /// The LP: the bound's relaxation, or the model with its replicas fixed to `plan`.
    fn solve_lp(&self, plan: Option<&[Vec<usize>]>) -> Result<Solved, String> {
        let start = Instant::now();
        let form = match plan {
            Some(_) => Form::MODEL,
            None => Form::bound(self.config.milp.bound_user_rows),
        };
        let (model, size) = self.build(form, plan)?;
        let solved = model
            .try_solve()
            .map_err(|e| format!("HiGHS failed on the LP: {e:?}"))?;
        if solved.status() != HighsModelStatus::Optimal {
            return Err(format!("HiGHS ended the LP with {:?}", solved.status()));
        }
        Ok(Solved {
            bound: solved.objective_value() + self.prices.constant,
            objective: f64::NAN,
            plan: Vec::new(),
            status: "optimal".into(),
            columns: size.columns,
            rows: size.rows,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// The MILP, solved for at most `time_limit_s` seconds: the best placement found (by the
    /// model's cost) and HiGHS's bound. Refused when the model has more than `max_columns`
    /// columns.
    pub fn milp(&self, time_limit_s: f64, max_columns: usize) -> Result<Solved, String> {
        let columns = self.full_columns();
        if columns > max_columns {
            return Err(format!(
                "the MILP has {columns} columns, over the limit of {max_columns}"
            ));
        }
        let start = Instant::now();
        let (mut model, size) = self.build(Form::MILP, None)?;
        model
            .try_set_option("time_limit", time_limit_s)
            .map_err(|e| format!("HiGHS option time_limit: {e:?}"))?;
        let solved = model
            .try_solve()
            .map_err(|e| format!("HiGHS failed on the MILP: {e:?}"))?;
        let status = solved.status();
        let finished = match status {
            HighsModelStatus::Optimal => true,
            HighsModelStatus::ReachedTimeLimit => false,
            other => return Err(format!("HiGHS ended the MILP with {other:?}")),
        };
        let bound = dual_bound(&solved)? + self.prices.constant;
        let objective = solved.objective_value() + self.prices.constant;
        let columns_found = solved.get_solution();
        let values = columns_found.columns();
        if !objective.is_finite()
            || values.len() != size.columns
            || !values.iter().all(|v| v.is_finite())
        {
            return Err(format!(
                "the MILP found no placement in {time_limit_s} s (its bound: {bound:.2} USD)"
            ));
        }
        Ok(Solved {
            bound,
            objective,
            plan: size.plan(values),
            status: if finished {
                "optimal".into()
            } else {
                format!("time limit, gap {:.2} %", 100.0 * solved.mip_gap())
            },
            columns: size.columns,
            rows: size.rows,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// The model `form` asks for; its replicas integer, or continuous in [0, 1], or fixed to
    /// `plan`'s (columns only where `plan` has replicas).
    fn build(&self, form: Form, plan: Option<&[Vec<usize>]>) -> Result<(Model, Size), String> {
        let w = self.world;
        let n = self.regions();
        let services = w.catalog.services.len();
        // Each service's candidate regions: its plan's, or every allowed one.
        let at: Vec<Vec<usize>> = match plan {
            Some(plan) => plan.to_vec(),
            None => (0..services)
                .map(|s| (0..n).filter(|&r| w.allows(s, r)).collect())
                .collect(),
        };
        let max = self.config.max_replicas as f64;
        let mut pb = Rows::default();
        let inf = f64::INFINITY;
        let replicas: Vec<Row> = (0..services).map(|_| pb.add(1.0, max)).collect();
        let work: Vec<Row> = self.work.iter().map(|&v| pb.add(v, v)).collect();
        let work_cap: Vec<Row> = (0..services * n).map(|_| pb.add(-inf, 0.0)).collect();
        let busy: Vec<Row> = (0..n).map(|_| pb.add(0.0, 0.0)).collect();
        let tangent: Vec<Row> = (0..n)
            .flat_map(|r| self.tangents(r))
            .map(|(alpha, _)| pb.add(alpha, inf))
            .collect();
        let deps = if form.flows {
            &w.catalog.dependencies[..]
        } else {
            &[]
        };
        let rate = |e: usize| self.total_rps * deps[e].calls_per_request;
        let flow: Vec<Row> = (0..deps.len()).map(|e| pb.add(rate(e), rate(e))).collect();
        let flow_out: Vec<Row> = (0..deps.len() * n).map(|_| pb.add(-inf, 0.0)).collect();
        let flow_in: Vec<Row> = (0..deps.len() * n).map(|_| pb.add(-inf, 0.0)).collect();
        // The users of each region reach a service's replicas: all of them, and those reaching
        // region b at most the service's replica there (per user region for the services taking
        // the most first calls, within form.user_rows rows; summed over user regions for the
        // others: a weaker relaxation, as exact with integer replicas).
        let entry = |s: usize, u: usize| w.entry_share[s] * self.demand[u];
        let with_demand: Vec<usize> = (0..n).filter(|&u| self.demand[u] > 0.0).collect();
        let mut entries: Vec<usize> = (0..services).filter(|&s| w.entry_share[s] > 0.0).collect();
        entries.sort_by(|&a, &b| {
            w.entry_share[b]
                .total_cmp(&w.entry_share[a])
                .then(a.cmp(&b))
        });
        let mut users = HashMap::new();
        let mut reach = HashMap::new();
        let mut budget = form.user_rows;
        for &s in &entries {
            let per_user = with_demand.len() * at[s].len();
            let split = per_user <= budget;
            budget = budget.saturating_sub(if split { per_user } else { 0 });
            for &u in &with_demand {
                let d = entry(s, u);
                users.insert((s, u), pb.add(d, d));
            }
            for &b in &at[s] {
                if split {
                    for &u in &with_demand {
                        reach.insert((s, u, b), (pb.add(-inf, 0.0), entry(s, u)));
                    }
                } else {
                    let d: f64 = with_demand.iter().map(|&u| entry(s, u)).sum();
                    reach.insert((s, ALL_USERS, b), (pb.add(-inf, 0.0), d));
                }
            }
        }
        let reach_of = |s: usize, u: usize, b: usize| {
            reach
                .get(&(s, u, b))
                .or_else(|| reach.get(&(s, ALL_USERS, b)))
                .map(|&(row, _)| row)
        };
        let mut size = Size {
            n,
            rows: pb.next,
            columns: 0,
            x: vec![None; services * n],
            y: vec![None; services * n],
        };
        let mut pb = pb.problem;
        let mut out_of: Vec<Vec<usize>> = vec![Vec::new(); services];
        let mut into: Vec<Vec<usize>> = vec![Vec::new(); services];
        for (e, d) in deps.iter().enumerate() {
            out_of[d.caller].push(e);
            into[d.callee].push(e);
        }
        // Each service's replica (x) and work (y) per region.
        for s in 0..services {
            for &r in &at[s] {
                let mut x = vec![(replicas[s], 1.0), (work_cap[s * n + r], -self.work[s])];
                x.extend(
                    with_demand
                        .iter()
                        .filter_map(|&u| reach.get(&(s, u, r)))
                        .chain(reach.get(&(s, ALL_USERS, r)))
                        .map(|&(row, d)| (row, -d)),
                );
                x.extend(out_of[s].iter().map(|&e| (flow_out[e * n + r], -rate(e))));
                x.extend(into[s].iter().map(|&e| (flow_in[e * n + r], -rate(e))));
                let bounds = if plan.is_some() { 1.0..=1.0 } else { 0.0..=1.0 };
                let cost = self.prices.replica[s];
                if form.integer {
                    pb.add_integer_column(cost, bounds, x);
                } else {
                    pb.add_column(cost, bounds, x);
                }
                size.x[s * n + r] = Some(size.columns);
                let y = [(work[s], 1.0), (work_cap[s * n + r], 1.0), (busy[r], -1.0)];
                pb.add_column(0.0, 0.0.., y);
                size.y[s * n + r] = Some(size.columns + 1);
                size.columns += 2;
            }
        }
        // Each region's work (b) and its queueing cost (t, above every tangent).
        for r in 0..n {
            let rows = &tangent[r * TANGENTS.len()..(r + 1) * TANGENTS.len()];
            let slopes = self.tangents(r).map(|(_, beta)| beta);
            let b: Vec<(Row, f64)> = rows.iter().zip(slopes).map(|(&t, b)| (t, -b)).collect();
            pb.add_column(0.0, 0.0.., b.into_iter().chain([(busy[r], 1.0)]));
            pb.add_column(self.prices.work, 0.0.., rows.iter().map(|&t| (t, 1.0)));
            size.columns += 2;
        }
        // Calls of each dependency between any replicas of caller and callee.
        for (e, d) in deps.iter().enumerate() {
            for &a in &at[d.caller] {
                for &b in &at[d.callee] {
                    let rows = [flow[e], flow_out[e * n + a], flow_in[e * n + b]];
                    pb.add_column(self.prices.hop[a * n + b], 0.0.., rows.map(|r| (r, 1.0)));
                    size.columns += 1;
                }
            }
        }
        // Users reaching each entry service's replicas.
        for &s in &entries {
            for &u in &with_demand {
                for &b in &at[s] {
                    let mut rows = vec![(users[&(s, u)], 1.0)];
                    rows.extend(reach_of(s, u, b).map(|r| (r, 1.0)));
                    pb.add_column(self.prices.user[u * n + b], 0.0.., rows);
                    size.columns += 1;
                }
            }
        }
        Ok((quiet_model(pb)?, size))
    }

    /// (intercept, slope) of each tangent of region `r`'s queueing cost in busy cores.
    fn tangents(&self, r: usize) -> impl Iterator<Item = (f64, f64)> + use<> {
        let cores = self.cores.get(r).copied().unwrap_or(0.0);
        TANGENTS.into_iter().map(move |rho| {
            if cores > 0.0 {
                let slope = 1.0 / ((1.0 - rho) * (1.0 - rho));
                (cores * rho / (1.0 - rho) - slope * rho * cores, slope)
            } else {
                (0.0, MAX_SLOWDOWN)
            }
        })
    }
}

/// Columns of the full MILP of `world` with demand in `users` regions.
pub fn full_columns(world: &ServicesWorld, users: usize) -> usize {
    let w = world;
    let services: usize = (0..w.catalog.services.len())
        .map(|s| {
            let entry = if w.entry_share[s] > 0.0 { users } else { 0 };
            allowed(w, s) * (2 + entry)
        })
        .sum();
    services + flow_columns(w) + 2 * w.regions()
}

/// Regions `service` may have a replica in.
fn allowed(w: &ServicesWorld, service: usize) -> usize {
    (0..w.regions()).filter(|&r| w.allows(service, r)).count()
}

/// Flow columns of the full MILP: per dependency, its caller's times its callee's regions.
fn flow_columns(w: &ServicesWorld) -> usize {
    w.catalog
        .dependencies
        .iter()
        .map(|d| allowed(w, d.caller) * allowed(w, d.callee))
        .sum()
}

/// Which model `build` makes.
#[derive(Debug, Clone, Copy)]
struct Form {
    integer: bool,
    /// With the dependencies' calls (the bound leaves them out: they cost nothing less).
    flows: bool,
    /// Rows for the users' reach per user region, at most.
    user_rows: usize,
}

impl Form {
    const MILP: Form = Form {
        integer: true,
        flows: true,
        user_rows: usize::MAX,
    };
    const MODEL: Form = Form {
        integer: false,
        flows: true,
        user_rows: usize::MAX,
    };
    const fn bound(user_rows: usize) -> Form {
        Form {
            integer: false,
            flows: false,
            user_rows,
        }
    }
}

/// The users' reach summed over user regions (see `Instance::build`).
const ALL_USERS: usize = usize::MAX;

/// The model's rows, added in order.
#[derive(Default)]
struct Rows {
    problem: ColProblem,
    next: usize,
}

impl Rows {
    fn add(&mut self, lower: f64, upper: f64) -> Row {
        self.next += 1;
        self.problem.add_row(lower..=upper)
    }
}

/// A built model's size and where its replica and work columns are.
struct Size {
    n: usize,
    rows: usize,
    columns: usize,
    x: Vec<Option<usize>>,
    y: Vec<Option<usize>>,
}

impl Size {
    /// The placement of a MILP solution: each service's regions with a replica, the one with
    /// the most work first.
    fn plan(&self, values: &[f64]) -> Vec<Vec<usize>> {
        let n = self.n;
        let value = |c: Option<usize>| c.map_or(0.0, |c| values[c]);
        (0..self.x.len() / n)
            .map(|s| {
                let mut at: Vec<usize> =
                    (0..n).filter(|&r| value(self.x[s * n + r]) > 0.5).collect();
                at.sort_by(|&a, &b| {
                    value(self.y[s * n + b])
                        .total_cmp(&value(self.y[s * n + a]))
                        .then(a.cmp(&b))
                });
                at
            })
            .collect()
    }
}

/// HiGHS's bound on the MILP's optimum (its objective when solved to optimality).
fn dual_bound(solved: &SolvedModel) -> Result<f64, String> {
    let bound = solved
        .double_info_value(c"mip_dual_bound")
        .map_err(|e| format!("HiGHS has no MIP bound: {e:?}"))?;
    if bound.is_finite() {
        Ok(bound)
    } else {
        Err("HiGHS's MIP bound is not finite: no bound within the time limit".into())
    }
}
