//! Untrained networks act through the `Policy` trait on every scenario, with valid actions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_agents::Contender;
use planetgym_agents::evaluate::{ContenderFactory, evaluate};
use planetgym_agents::nn::models::Architecture;
use planetgym_agents::nn::policy::{Mode, NeuralPolicy};
use planetgym_env::{
    BatchConfig, BatchScenario, CapacityConfig, CapacityScenario, PlacementConfig,
    PlacementScenario, Scenario, ScenarioConfig, TrafficConfig, TrafficScenario,
};

fn neural<S: Scenario + Clone + 'static>(env: &S) -> Vec<ContenderFactory<S>> {
    [Mode::Greedy, Mode::Sample]
        .into_iter()
        .map(|mode| -> ContenderFactory<S> {
            let env = env.clone();
            Box::new(move || {
                Contender::Fair(Box::new(
                    NeuralPolicy::new(&format!("{mode:?}"), &env, Architecture::plain(32), mode, 7)
                        .unwrap(),
                ))
            })
        })
        .collect()
}

fn runs<S: Scenario + Clone + 'static>(env: S, expected_steps: Option<usize>) {
    let results = evaluate(&env, &neural(&env), 2, 1, false, &|| {}).unwrap();
    for r in results {
        assert!(
            r.steps > 0 && r.reward.is_finite(),
            "{} {}",
            r.policy,
            r.reward
        );
        if let Some(steps) = expected_steps {
            assert_eq!(r.steps, steps);
        }
    }
}

#[test]
fn mlp_and_entity_networks_act_on_every_scenario() {
    let traffic = |extra: &str| {
        TrafficScenario::new(
            TrafficConfig::from_toml(&format!("episode_intervals = 20\n{extra}"), "t").unwrap(),
        )
        .unwrap()
    };
    runs(traffic(""), Some(20));
    runs(traffic("observation = \"pairs\""), Some(20));
    runs(
        BatchScenario::new(BatchConfig::from_toml("window_jobs = 64", "b").unwrap()).unwrap(),
        None,
    );
    runs(
        PlacementScenario::new(PlacementConfig::from_toml("inflation_target = 0.05", "p").unwrap())
            .unwrap(),
        None,
    );
    runs(
        CapacityScenario::new(CapacityConfig::from_toml("episode_periods = 24", "c").unwrap())
            .unwrap(),
        Some(24),
    );
}
