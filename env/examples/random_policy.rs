//! A uniformly random legal policy on every scenario's default config: the smallest program
//! that drives the simulator through the `Scenario` trait.
//!
//! ```sh
//! cargo run --release -p planetgym-env --example random_policy
//! ```

use planetgym_env::rng::Rng;
use planetgym_env::{
    Action, BatchScenario, CapacityScenario, PlacementScenario, Scenario, ScenarioConfig, Space,
    TrafficScenario,
};

/// A random action of `space`, legal under `mask` (one flag per choice, dimension by dimension).
fn random_action(space: &Space, mask: Option<&[bool]>, rng: &mut Rng) -> Action {
    let pick = |options: &[bool], rng: &mut Rng| {
        let legal: Vec<usize> = (0..options.len()).filter(|&i| options[i]).collect();
        legal
            .get(rng.below(legal.len().max(1)))
            .copied()
            .unwrap_or(0)
    };
    match space {
        Space::Discrete { n } => {
            let all = vec![true; *n];
            Action::Discrete(pick(mask.unwrap_or(&all), rng))
        }
        Space::MultiDiscrete { nvec } => {
            let mut at = 0;
            let choices = nvec
                .iter()
                .map(|&n| {
                    let all = vec![true; n];
                    let options = mask.map_or(&all[..], |m| &m[at..at + n]);
                    at += n;
                    pick(options, rng)
                })
                .collect();
            Action::MultiDiscrete(choices)
        }
        Space::Box { low, high } => Action::Continuous(
            low.iter()
                .zip(high)
                .map(|(&l, &h)| rng.uniform_in(f64::from(l), f64::from(h)) as f32)
                .collect(),
        ),
        Space::Simplex { rows, cols } => {
            let mut split = Vec::with_capacity(rows * cols);
            for _ in 0..*rows {
                let row: Vec<f64> = (0..*cols).map(|_| rng.uniform() + 1e-9).collect();
                let sum: f64 = row.iter().sum();
                split.extend(row.iter().map(|w| (w / sum) as f32));
            }
            Action::Continuous(split)
        }
    }
}

/// One episode of random actions; returns (steps, return).
fn episode<S: Scenario>(env: &mut S, seed: u64) -> Result<(usize, f64), planetgym_env::EnvError> {
    let mut rng = Rng::new(seed);
    env.reset(seed);
    let (mut steps, mut total) = (0, 0.0);
    loop {
        let action = random_action(env.action_space(), env.action_mask(), &mut rng);
        let t = env.step(&action)?;
        steps += 1;
        total += t.reward;
        if t.terminated || t.truncated {
            return Ok((steps, total));
        }
    }
}

fn main() -> Result<(), planetgym_env::EnvError> {
    let mut traffic = TrafficScenario::new(ScenarioConfig::from_toml(
        "episode_intervals = 60",
        "example",
    )?)?;
    let mut batch = BatchScenario::new(ScenarioConfig::from_toml("window_jobs = 128", "example")?)?;
    let mut placement = PlacementScenario::new(ScenarioConfig::builtin_default())?;
    let mut capacity = CapacityScenario::new(ScenarioConfig::builtin_default())?;
    for (name, result) in [
        ("traffic", episode(&mut traffic, 0)?),
        ("batch", episode(&mut batch, 0)?),
        ("placement", episode(&mut placement, 0)?),
        ("capacity", episode(&mut capacity, 0)?),
    ] {
        println!("{name:<10} {:>6} steps, return {:.3}", result.0, result.1);
    }
    Ok(())
}
