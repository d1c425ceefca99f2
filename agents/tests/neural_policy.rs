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

/// An ensemble of one network twice acts as that network; of two, it takes the best action of
/// their averaged logits among the allowed ones; members that read other observations are
/// refused, as is an empty ensemble.
#[test]
fn an_ensemble_acts_on_its_members_averaged_logits() {
    use planetgym_agents::Policy;
    use planetgym_env::Action;
    let config = |extra: &str| BatchConfig::from_toml(&format!("window_jobs = 64\n{extra}"), "b");
    let mut env = BatchScenario::new(config("").unwrap()).unwrap();
    let net =
        |seed| NeuralPolicy::new("m", &env, Architecture::plain(32), Mode::Greedy, seed).unwrap();
    let (a, b) = (net(1), net(2));
    let mut twice = NeuralPolicy::ensemble(vec![a.clone(), a.clone()]).unwrap();
    let mut pair = NeuralPolicy::ensemble(vec![a.clone(), b.clone()]).unwrap();
    let mut single = a.clone();
    let mut obs = env.reset(3);
    let mut row = vec![0.0; a.obs_len()];
    let mut differs = 0;
    for _ in 0..40 {
        let mask = env.action_mask().map(<[bool]>::to_vec);
        let mask = mask.as_deref();
        assert_eq!(
            twice.act(&obs, mask).unwrap(),
            single.act(&obs, mask).unwrap()
        );
        env.encode(&obs, &mut row);
        let (la, lb) = (a.outputs(&row).0, b.outputs(&row).0);
        let allowed = |i: &usize| mask.is_none_or(|m| m[*i]);
        let best = (0..la.len())
            .filter(allowed)
            .max_by(|&i, &j| (la[i] + lb[i]).total_cmp(&(la[j] + lb[j])))
            .unwrap();
        let action = pair.act(&obs, mask).unwrap();
        assert_eq!(action, Action::Discrete(best));
        differs += usize::from(action != single.act(&obs, mask).unwrap());
        let step = env.step(&action).unwrap();
        if step.terminated || step.truncated {
            break;
        }
        obs = step.obs;
    }
    assert!(differs > 0, "the second member never changed an action");
    let narrow = BatchScenario::new(config("visible_jobs = 16").unwrap()).unwrap();
    let other = NeuralPolicy::new("m", &narrow, Architecture::plain(32), Mode::Greedy, 1).unwrap();
    let err = NeuralPolicy::ensemble(vec![a, other]).unwrap_err();
    assert!(err.to_string().contains("member 1 reads"), "{err}");
    let err = NeuralPolicy::<BatchScenario>::ensemble(vec![]).unwrap_err();
    assert!(err.to_string().contains("at least one member"), "{err}");
}
