//! The services scenario: episodes, masks, residency, rewards that add up to the day's cost.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_env::services::residency::Jurisdiction;
use planetgym_env::services::{METRIC_NAMES, ServicesConfig, ServicesScenario};
use planetgym_env::{Action, Scenario, ScenarioConfig};

/// A small world: the 40 most frequent request types, 6 serving hours.
fn small(extra: &str) -> ServicesScenario {
    let config = ServicesConfig::from_toml(
        &format!("request_types = 40\nserving_hours = 6\n{extra}"),
        "t",
    )
    .unwrap();
    ServicesScenario::new(config).unwrap()
}

/// Plays an episode choosing, at each step, the first allowed region in `preference`, then
/// moving on; returns the rewards and the last step's metrics.
fn play(env: &mut ServicesScenario, seed: u64, preference: &[usize]) -> (Vec<f64>, Vec<f64>) {
    env.reset(seed);
    let regions = env.world().regions();
    let mut rewards = Vec::new();
    loop {
        let mask = env.action_mask().unwrap().to_vec();
        let choice = if mask[regions] {
            regions
        } else {
            *preference.iter().find(|&&r| mask[r]).unwrap()
        };
        let t = env.step(&Action::Discrete(choice)).unwrap();
        rewards.push(t.reward);
        if t.terminated {
            return (rewards, t.info.values);
        }
    }
}

fn metric(values: &[f64], name: &str) -> f64 {
    values[METRIC_NAMES.iter().position(|n| *n == name).unwrap()]
}

#[test]
fn rewards_add_up_to_the_cost_and_the_mask_keeps_shards_at_home() {
    let mut env = small("");
    let geo = &env.world().geo;
    let east = geo.index_of("eastus").unwrap();
    let europe = geo.index_of("westeurope").unwrap();
    // US regions first, then Europe: EU shards must still end up in the EU.
    let mut preference = vec![east, europe];
    preference.extend(0..geo.regions.len());
    let first = env.reset(3);
    let services = env.world().order.len();
    assert_eq!((first.position, first.service().is_some()), (0, true));
    let (rewards, values) = play(&mut env, 3, &preference);
    // One replica each (move on is allowed once a service has one).
    assert_eq!(rewards.len(), 2 * services);
    assert_eq!(metric(&values, "replicas"), services as f64);
    assert_eq!(metric(&values, "residency_violations"), 0.0);
    let w = env.world();
    let eu_shards = w
        .jurisdiction
        .iter()
        .filter(|j| **j == Jurisdiction::Eu)
        .count();
    assert!(eu_shards > 0);
    let parts: f64 = ["latency_usd", "compute_usd", "storage_usd", "egress_usd"]
        .iter()
        .map(|m| metric(&values, m))
        .sum();
    assert!((metric(&values, "cost_usd") - parts).abs() < 1e-6 * parts);
    // The return is the cost of the first state (nothing placed) less the day's cost.
    env.reset(3);
    let start = env.step(&Action::Discrete(east)).unwrap();
    let first_cost = metric(&start.info.values, "cost_usd") + start.reward;
    let total: f64 = rewards.iter().sum();
    let expected = first_cost - metric(&values, "cost_usd");
    assert!(
        (total - expected).abs() < 1e-6 * first_cost,
        "{total} vs {expected}"
    );
    // Same seed, same episode.
    assert_eq!(play(&mut env, 3, &preference).0, rewards);
}

#[test]
fn illegal_actions_are_refused_and_change_nothing() {
    let mut env = small("max_replicas = 2");
    let regions = env.world().regions();
    env.reset(1);
    // Moving on before the first replica, and a region out of range.
    assert!(env.step(&Action::Discrete(regions)).is_err());
    assert!(env.step(&Action::Discrete(regions + 1)).is_err());
    let t = env.step(&Action::Discrete(0)).unwrap();
    assert_eq!(t.obs.replicas, vec![0]);
    // The same region twice is masked; a second one fills the service and moves on.
    assert!(env.step(&Action::Discrete(0)).is_err());
    let t = env.step(&Action::Discrete(1)).unwrap();
    assert_eq!((t.obs.position, t.obs.replicas.len()), (1, 0));
    assert_eq!(t.obs.placement[env.world().order[0]], vec![0, 1]);
}

#[test]
fn observations_encode_to_the_spec_and_stay_finite() {
    let mut env = small("");
    let len = env.feature_spec().encoded_len();
    let obs = env.reset(2);
    let mut out = vec![f32::NAN; len];
    env.encode(&obs, &mut out);
    assert!(out.iter().all(|v| v.is_finite()));
    let t = env.step(&Action::Discrete(5)).unwrap();
    env.encode(&t.obs, &mut out);
    assert!(out.iter().all(|v| v.is_finite()));
    // The region just chosen holds the replica (second row feature of row 5).
    let global = 7;
    let features = 9;
    assert_eq!(out[global + 5 * features + 1], 1.0);
    assert_eq!(env.entity_labels(&t.obs).len(), env.world().regions() + 1);
    assert!(env.scene().is_ok());
}

#[test]
#[ignore = "timing probe: cargo test --release --test services -- --ignored --nocapture"]
fn default_episode_time() {
    let mut env = ServicesScenario::new(ServicesConfig::default()).unwrap();
    let start = std::time::Instant::now();
    let (rewards, values) = play(&mut env, 1, &(0..54).collect::<Vec<_>>());
    eprintln!(
        "{} steps in {:?}: {values:?}",
        rewards.len(),
        start.elapsed()
    );
}
