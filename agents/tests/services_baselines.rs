//! Service-placement baselines: full episodes within residency, and local search never worse
//! than the plan it starts from.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_agents::classic::services::{Planner, baselines};
use planetgym_agents::evaluate::evaluate;
use planetgym_env::services::cost::{Placed, day_cost};
use planetgym_env::services::serving::Percentile;
use planetgym_env::{Scenario, ScenarioConfig, ServicesConfig, ServicesScenario};

fn small() -> (ServicesConfig, ServicesScenario) {
    // The MILP is left out (tested with its model in services_milp.rs).
    let config = ServicesConfig::from_toml(
        "request_types = 40\nserving_hours = 4\n[milp]\nmax_columns = 0",
        "t",
    )
    .unwrap();
    (config.clone(), ServicesScenario::new(config).unwrap())
}

#[test]
fn every_baseline_places_every_service_within_residency() {
    let (config, env) = small();
    let names = env.metric_names();
    let metric =
        |values: &[f64], name: &str| values[names.iter().position(|n| *n == name).unwrap()];
    let services = env.world().order.len() as f64;
    let listed = baselines(env.world(), &config);
    assert_eq!(listed.len(), Planner::ALL.len());
    let results = evaluate(&env, &listed, 2, 5, false, &|| {}).unwrap();
    assert_eq!(results.len(), 2 * Planner::ALL.len());
    for r in &results {
        assert_eq!(
            metric(&r.metrics, "residency_violations"),
            0.0,
            "{}",
            r.policy
        );
        assert!(metric(&r.metrics, "replicas") >= services, "{}", r.policy);
        assert!(r.reward.is_finite());
    }
    // Shards are replicated by replicate-data only.
    let replicas = |policy: &str| {
        let r = results.iter().find(|r| r.policy == policy).unwrap();
        metric(&r.metrics, "replicas")
    };
    assert_eq!(replicas("single-region"), services);
    assert!(replicas("replicate-data") > services);
}

#[test]
fn local_search_is_never_worse_than_any_plan_it_starts_from() {
    let (config, mut env) = small();
    let obs = env.reset(11);
    let cost = |plan: &[Vec<usize>]| {
        let placed = Placed {
            replicas: plan,
            cores: &obs.cores,
        };
        let snapshot = [obs.demand_rps.to_vec()];
        day_cost(
            &obs.world,
            &config,
            placed,
            &snapshot,
            4.0,
            Percentile::Skip,
        )
        .unwrap()
        .0
        .total()
    };
    let searched = cost(&Planner::LocalSearch.plan(&obs, &config).unwrap());
    for planner in [
        Planner::SingleRegion,
        Planner::ReplicateData,
        Planner::NearestCaller,
        Planner::Volley,
        Planner::Partition,
    ] {
        let start = cost(&planner.plan(&obs, &config).unwrap());
        assert!(
            searched <= start + 1e-9,
            "{}: {start} < {searched}",
            planner.name()
        );
    }
}

#[test]
fn partition_cuts_fewer_calls_than_a_random_split_over_the_same_regions() {
    let (config, mut env) = small();
    let obs = env.reset(2);
    let w = &obs.world;
    let plan = Planner::Partition.plan(&obs, &config).unwrap();
    let region: Vec<usize> = plan.iter().map(|at| at[0]).collect();
    let mut used: Vec<usize> = region.clone();
    used.sort_unstable();
    used.dedup();
    // The load needs more than one region at 80 % of its cores.
    assert!(used.len() > 1, "{used:?}");
    let cut = |region: &[usize]| -> f64 {
        w.catalog
            .dependencies
            .iter()
            .filter(|d| region[d.caller] != region[d.callee])
            .map(|d| d.calls_per_request)
            .sum()
    };
    let mut rng = planetgym_env::rng::Rng::new(3);
    let random: Vec<usize> = (0..region.len())
        .map(|s| {
            let allowed: Vec<usize> = used.iter().copied().filter(|&r| w.allows(s, r)).collect();
            if allowed.is_empty() {
                region[s]
            } else {
                allowed[rng.below(allowed.len())]
            }
        })
        .collect();
    assert!(
        cut(&region) < 0.5 * cut(&random),
        "partition cuts {} calls per request, a random split {}",
        cut(&region),
        cut(&random)
    );
}
