//! Steps per second of the sequential services env (place one replica, or move on, per step)
//! on generated applications of 10k and 1M services over a seeded 24-region planet. Every step
//! re-serves the day's mean demand through the whole request mix (the step's reward is the
//! change in the placement's cost), so a step costs about one placement's costing. A timing
//! run, not a test:
//! cargo bench -p planetgym-env --bench services_step [-- SERVICES TYPES STEPS]

#![allow(clippy::unwrap_used, clippy::expect_used)]

use planetgym_env::services::{ServicesConfig, ServicesScenario};
use planetgym_env::{Action, Scenario, ScenarioConfig};
use std::time::Instant;

fn run(services: usize, types: usize, steps: usize) {
    let config = ServicesConfig::from_toml(
        &format!(
            "callgraphs = \"generated:{services}:{types}\"\nserving_hours = 24\n[world]\nkind = \"synthetic\"\nsynthetic_regions = 24"
        ),
        "bench",
    )
    .unwrap();
    let start = Instant::now();
    let mut env = ServicesScenario::new(config).unwrap();
    let built = start.elapsed().as_secs_f64();
    let start = Instant::now();
    env.reset(1);
    let reset = start.elapsed().as_secs_f64();
    let regions = env.world().regions();
    let start = Instant::now();
    for k in 0..steps {
        // A replica in an allowed region (turning over the regions), then move on.
        let mask = env.action_mask().unwrap();
        let choice = if mask[regions] {
            regions
        } else {
            (0..regions)
                .map(|r| (r + k) % regions)
                .find(|&r| mask[r])
                .unwrap_or(regions)
        };
        let t = env.step(&Action::Discrete(choice)).unwrap();
        std::hint::black_box(t.reward);
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{services} services, {types} request types, {regions} regions: world built in {built:.2} s, reset in {reset:.2} s, {steps} steps in {seconds:.2} s = {:.1} steps/s",
        steps as f64 / seconds
    );
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    match args[..] {
        [services, types, steps] => run(services, types, steps),
        _ => {
            run(10_000, 40_000, 200);
            run(1_000_000, 4_000_000, 4);
        }
    }
}
