//! Rollout search on placement (`rollout-RULE@K+H[xS]`): one candidate is its base rule, more
//! beat it, and its forms and bounds are checked by name.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_agents::Policy;
use planetgym_agents::classic::placement::{PlacementHeuristic, PlacementRule};
use planetgym_agents::classic::placement_rollout::PlacementRollout;
use planetgym_agents::evaluate::{ContenderFactory, evaluate, summarise};
use planetgym_agents::registry::RegisteredScenario;
use planetgym_env::{PlacementConfig, PlacementScenario, Scenario, ScenarioConfig};

fn small(extra: &str) -> (PlacementScenario, PlacementConfig) {
    let config = PlacementConfig::from_toml(
        &format!("synthetic_nodes = 300\ninflation_target = 1.0\n{extra}"),
        "test",
    )
    .unwrap();
    (PlacementScenario::new(config.clone()).unwrap(), config)
}

fn named(
    env: &PlacementScenario,
    config: &PlacementConfig,
    name: &str,
) -> Result<ContenderFactory<PlacementScenario>, String> {
    env.baseline_named(config, name).expect("a rollout form")
}

#[test]
fn one_candidate_places_every_pod_where_its_base_rule_does() {
    let (env, config) = small("");
    for rule in [PlacementRule::Fgd, PlacementRule::BestFit] {
        let mut search = PlacementRollout::new(rule, 1, 16, 2, &env, &config).unwrap();
        let mut base = PlacementHeuristic::new(rule);
        let mut env = env.clone();
        let mut obs = env.reset(11);
        search.reset(11);
        base.reset(11);
        for step in 0.. {
            let chosen = search.act(&obs, None).unwrap();
            assert_eq!(
                chosen,
                base.act(&obs, None).unwrap(),
                "{rule:?} step {step}"
            );
            let t = env.step(&chosen).unwrap();
            if t.terminated {
                assert!(step > 500, "{step}");
                break;
            }
            obs = t.obs;
        }
    }
}

#[test]
fn the_search_leaves_fewer_gpus_unallocated_than_fgd() {
    let (env, config) = small("");
    let chosen = vec![
        named(&env, &config, "rollout-fgd@8+16").unwrap(),
        Box::new(|| {
            planetgym_agents::Contender::Fair(Box::new(PlacementHeuristic::new(PlacementRule::Fgd)))
        }) as ContenderFactory<PlacementScenario>,
    ];
    let results = evaluate(&env, &chosen, 6, 21, false, &|| {}).unwrap();
    let rows = summarise(&results, env.metric_names());
    let unallocated = |p: &str| {
        rows.iter()
            .find(|r| r.policy == p && r.metric == "unallocated_gpus")
            .unwrap()
            .mean
    };
    assert!(
        unallocated("rollout-fgd@8+16") < unallocated("fgd"),
        "search {} against fgd {}",
        unallocated("rollout-fgd@8+16"),
        unallocated("fgd")
    );
}

#[test]
fn searches_are_named_and_bounded() {
    let (env, config) = small("");
    let name = |n: &str| named(&env, &config, n).map(|make| make().name());
    assert_eq!(name("rollout-fgd@4+16").unwrap(), "rollout-fgd@4+16");
    assert_eq!(
        name("rollout-best-fit@4+16x3").unwrap(),
        "rollout-best-fit@4+16x3"
    );
    for (bad, says) in [
        ("rollout-first-fit@4+16", "node number"),
        ("rollout-fgdx@4+16", "no base rule"),
        ("rollout-fgd@4", "not rollout-RULE@K+H"),
        ("rollout-fgd@0+16", "candidate count 0"),
        ("rollout-fgd@65+1", "candidate count 65"),
        ("rollout-fgd@4+16x0", "future count 0"),
        ("rollout-fgd@4+-1", "horizon `-1`"),
        ("rollout-fgd@64+64x64", "at most 32768"),
        ("rollout-fgd@4+99999999999999999999", "horizon"),
    ] {
        let err = name(bad).unwrap_err();
        assert!(err.contains(says), "{bad}: {err}");
    }
    assert!(env.baseline_named(&config, "fgd").is_none());
    let (replay, replay_config) = small("mode = \"replay\"\nreplay_pods = 100");
    let err = named(&replay, &replay_config, "rollout-fgd@4+16")
        .map(|_| ())
        .unwrap_err();
    assert!(err.contains("inflation"), "{err}");
}
