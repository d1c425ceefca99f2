//! The services MILP against the heuristics on small worlds (a seeded 10-region planet,
//! applications generated from the Alibaba sample), and how large a MILP HiGHS finishes:
//! per size, the model's columns and rows, HiGHS's status and time, its placement's cost and
//! bound, the LP bound, and each heuristic's cost, all by the model (the baselines table serves
//! the placements hour by hour). A timing run, not a test:
//! cargo bench -p planetgym-agents --bench services_milp -- [TIME_LIMIT_S [SERVICES...]]

#![allow(clippy::unwrap_used, clippy::expect_used)]

use planetgym_agents::classic::services::Planner;
use planetgym_agents::classic::services_milp::Instance;
use planetgym_env::services::{ServicesConfig, ServicesScenario};
use planetgym_env::{Scenario, ScenarioConfig};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let limit: f64 = args.first().map_or(600.0, |a| a.parse().unwrap());
    let sizes: Vec<usize> = if args.len() > 1 {
        args[1..].iter().map(|a| a.parse().unwrap()).collect()
    } else {
        vec![250, 500, 1000, 2000]
    };
    for services in sizes {
        let config = ServicesConfig::from_toml(
            &format!(
                "callgraphs = \"generated:{services}:{}\"\nserving_hours = 24\n[world]\nkind = \"synthetic\"\nsynthetic_regions = 10\n[milp]\nmax_columns = 20000000\ntime_limit_s = {limit}",
                2 * services
            ),
            "bench",
        )
        .unwrap();
        let mut env = ServicesScenario::new(config.clone()).unwrap();
        let obs = env.reset(1);
        let x = Instance::of(&obs, &config);
        let w = &obs.world;
        let lp = x.lp_bound().unwrap();
        let milp = x.milp(limit, config.milp.max_columns);
        print!(
            "{} services ({} kept), {} edges, 10 regions: LP bound {:.1} USD ({:.1} s); ",
            services,
            w.catalog.services.len(),
            w.catalog.dependencies.len(),
            lp.bound,
            lp.seconds
        );
        match &milp {
            Ok(m) => println!(
                "MILP {} columns, {} rows: {} in {:.1} s, placement {:.1} (model), bound {:.1}",
                m.columns, m.rows, m.status, m.seconds, m.objective, m.bound
            ),
            Err(e) => println!("MILP: {e}"),
        }
        for p in Planner::ALL {
            let plan = p.plan(&obs, &config).unwrap();
            println!(
                "  {:<16} {:.1} (model)",
                p.name(),
                x.model_cost(&plan).unwrap()
            );
        }
    }
}
