//! The services MILP and LP: the model's cost equals the scenario's where the scenario is
//! linear, never exceeds it elsewhere, and its optima bound every placement from below.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_agents::classic::services::{Planner, baselines};
use planetgym_agents::classic::services_milp::Instance;
use planetgym_agents::evaluate::evaluate;
use planetgym_env::rng::Rng;
use planetgym_env::services::cost::{Placed, day_cost};
use planetgym_env::services::serving::Percentile;
use planetgym_env::services::{METRIC_NAMES, ServicesConfig, ServicesObs, ServicesScenario};
use planetgym_env::{Action, Scenario, ScenarioConfig};

/// 30 request types on a seeded 6-region planet, 6 serving hours.
fn small(extra: &str) -> (ServicesScenario, ServicesConfig) {
    let config = ServicesConfig::from_toml(
        &format!(
            "request_types = 30\nserving_hours = 6\n[world]\nkind = \"synthetic\"\nsynthetic_regions = 6\n{extra}"
        ),
        "t",
    )
    .unwrap();
    (ServicesScenario::new(config.clone()).unwrap(), config)
}

/// A placement with 1 to `max` replicas per service, in allowed regions.
fn random_plan(obs: &ServicesObs, max: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let w = &obs.world;
    (0..w.catalog.services.len())
        .map(|s| {
            let allowed: Vec<usize> = (0..w.regions()).filter(|&r| w.allows(s, r)).collect();
            let k = 1 + rng.below(max.min(allowed.len()));
            let mut at = Vec::new();
            while at.len() < k {
                let r = allowed[rng.below(allowed.len())];
                if !at.contains(&r) {
                    at.push(r);
                }
            }
            at
        })
        .collect()
}

/// The day's cost of `plan` played through an episode from `seed` (served hour by hour).
fn played(env: &mut ServicesScenario, seed: u64, plan: &[Vec<usize>]) -> f64 {
    let mut obs = env.reset(seed);
    let move_on = env.world().regions();
    loop {
        let service = obs.service().unwrap();
        let next = plan[service].iter().find(|r| !obs.replicas.contains(r));
        let choice = next.copied().unwrap_or(move_on);
        let t = env.step(&Action::Discrete(choice)).unwrap();
        if t.terminated {
            let cost = METRIC_NAMES.iter().position(|n| *n == "cost_usd").unwrap();
            return t.info.values[cost];
        }
        obs = t.obs;
    }
}

#[test]
fn without_queueing_or_writes_the_model_costs_one_replica_plans_exactly() {
    let (mut env, config) = small("[data]\nwrite_fraction = 0.0");
    let obs = env.reset(1);
    // Cores so many that no region queues.
    let cores = vec![1e12; obs.world.regions()];
    let hours = config.serving_hours as f64;
    let x = Instance::new(&obs.world, &config, &obs.demand_rps, &cores, hours);
    let mut rng = Rng::new(5);
    for _ in 0..3 {
        let plan = random_plan(&obs, 1, &mut rng);
        let placed = Placed {
            replicas: &plan,
            cores: &cores,
        };
        let mean = std::slice::from_ref(&*obs.demand_rps);
        let (cost, _) =
            day_cost(&obs.world, &config, placed, mean, hours, Percentile::Skip).unwrap();
        let model = x.model_cost(&plan).unwrap();
        assert!(
            (model - cost.total()).abs() < 1e-6 * cost.total(),
            "model {model} vs scenario {}",
            cost.total()
        );
    }
}

#[test]
fn the_bounds_lie_below_every_placement_and_the_milp_below_the_heuristics() {
    let (mut env, config) = small("");
    let seed = 4;
    let obs = env.reset(seed);
    let x = Instance::of(&obs, &config);
    let lp = x.lp_bound().unwrap();
    let milp = x.milp(60.0, 1_000_000).unwrap();
    assert_eq!(milp.status, "optimal");
    assert!(
        lp.bound <= milp.bound + 1e-6 * milp.bound,
        "{lp:?} {milp:?}"
    );
    assert!(
        (milp.objective - milp.bound).abs() <= 1e-3 * milp.bound,
        "{milp:?}"
    );
    let mut rng = Rng::new(9);
    let mut plans: Vec<Vec<Vec<usize>>> = Planner::ALL
        .iter()
        .map(|p| p.plan(&obs, &config).unwrap())
        .collect();
    plans.extend((0..3).map(|_| random_plan(&obs, config.max_replicas, &mut rng)));
    plans.push(milp.plan.clone());
    for plan in &plans {
        let model = x.model_cost(plan).unwrap();
        let day = played(&mut env, seed, plan);
        // The MILP's placement is the model's cheapest; the model never exceeds the scenario.
        assert!(
            milp.objective <= model + 1e-6 * model,
            "{} > {model}",
            milp.objective
        );
        assert!(
            model <= day + 1e-6 * day,
            "model {model} > the day's cost {day}"
        );
    }
    // The MILP's own placement, costed by the model, is its objective.
    let own = x.model_cost(&milp.plan).unwrap();
    assert!(
        (own - milp.objective).abs() <= 1e-3 * own,
        "{own} vs {milp:?}"
    );
}

#[test]
fn the_milp_baseline_is_listed_on_small_worlds_and_plays_its_placement() {
    let (env, config) = small("");
    let listed = baselines(env.world(), &config);
    assert_eq!(listed.len(), Planner::ALL.len() + 1);
    let results = evaluate(&env, &listed[Planner::ALL.len()..], 1, 3, false, &|| {}).unwrap();
    let names = env.metric_names();
    let metric = |name: &str| names.iter().position(|n| *n == name).unwrap();
    assert_eq!(results[0].policy, "milp");
    assert_eq!(results[0].metrics[metric("residency_violations")], 0.0);
    assert!(results[0].metrics[metric("cost_usd")] > 0.0);
}

#[test]
fn oversized_milps_and_foreign_plans_are_refused_with_their_size() {
    let (mut env, config) = small("");
    let obs = env.reset(1);
    let x = Instance::of(&obs, &config);
    let err = x.milp(1.0, 10).unwrap_err();
    assert!(err.contains("columns, over the limit of 10"), "{err}");
    let err = x.model_cost(&[vec![0]]).unwrap_err();
    assert!(err.contains("a plan for 1 services"), "{err}");
    let mut plan = vec![vec![0]; obs.world.catalog.services.len()];
    plan[0] = vec![99];
    let err = x.model_cost(&plan).unwrap_err();
    assert!(
        err.contains("service 0 may not have a replica in region 99"),
        "{err}"
    );
}
