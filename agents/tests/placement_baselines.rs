//! Placement heuristics: choices and fragmentation worked out by hand on a tiny cluster, and
//! the FGD paper's finding on the real openb cluster; rollout search over them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_agents::Policy;
use planetgym_agents::classic::placement::{PlacementHeuristic, PlacementRule, baselines};
use planetgym_agents::classic::placement_rollout::PlacementRollout;
use planetgym_agents::evaluate::{ContenderFactory, EpisodeResult, evaluate, summarise};
use planetgym_agents::registry::RegisteredScenario;
use planetgym_env::ScenarioConfig;
use planetgym_env::placement::{fragment_growth, node_fragment};
use planetgym_env::rng::Rng;
use planetgym_env::traces::openb::{read_nodes, read_pods};
use planetgym_env::{Action, PlacementConfig, PlacementObs, PlacementScenario, Scenario};

/// Three T4 nodes (2, 2 and 4 GPUs) and three pods in creation order:
/// A = (2 CPU, 0.7 GPU), B = (1 CPU, 0.3 GPU), C = (4 CPU, 1 whole GPU).
fn tiny() -> PlacementScenario {
    let nodes = "sn,cpu_milli,memory_mib,gpu,model\nn0,16000,65536,2,T4\nn1,16000,65536,2,T4\nn2,16000,65536,4,T4\n";
    let pods = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time\n\
                a,2000,1024,1,700,,LS,Running,0,\nb,1000,1024,1,300,,LS,Running,1,\nc,4000,1024,1,1000,,LS,Running,2,\n";
    let config = PlacementConfig::from_toml("mode = \"replay\"", "test").unwrap();
    PlacementScenario::from_trace(
        config,
        &read_nodes(nodes.as_bytes(), "n").unwrap(),
        &read_pods(pods.as_bytes(), "p").unwrap(),
    )
    .unwrap()
}

/// A on n0 (its GPU 0 keeps 300), then the observation for B.
fn deciding_b(env: &mut PlacementScenario) -> PlacementObs {
    env.reset(0);
    env.step(&Action::Discrete(0)).unwrap().obs
}

#[test]
fn fragmentation_matches_the_hand_computation() {
    let mut env = tiny();
    let obs = deciding_b(&mut env);
    let typical = &obs.typical;
    assert_eq!(typical.len(), 3, "three shapes, weight 1/3 each");
    // n0 = free shares {1000, 300}, 14 CPUs: for A the 300 share is a fragment (< 700), for B
    // nothing, for C the 300 share: (300 + 0 + 300) / 3 = 200.
    let n0 = obs.cluster.key_of(0);
    assert!((node_fragment(&n0, typical) - 200.0).abs() < 1e-9);
    // B on n0's 300 share empties it: fragment 0, growth -200. B on a free node leaves a 700
    // share: a fragment for C only, 700 / 3.
    assert!((fragment_growth(&n0, &obs.pod, typical) + 200.0).abs() < 1e-9);
    assert!(
        (fragment_growth(&obs.cluster.key_of(1), &obs.pod, typical) - 700.0 / 3.0).abs() < 1e-9
    );
    assert!(
        (fragment_growth(&obs.cluster.key_of(2), &obs.pod, typical) - 700.0 / 3.0).abs() < 1e-9
    );
}

#[test]
fn every_heuristic_picks_the_node_worked_out_by_hand() {
    // For B (1 CPU, 0.3 GPU): best fit leaves least (n0: 0.113 < 0.165 < 0.290); worst fit most
    // (n2); dot product aligns least with n0 (0.0069 < 0.0104 < 0.0197); packing scores n0's
    // shared GPU 97 against 31 and 29 for untouched nodes; clustering scores n0 (holds only
    // sharing pods) 95 against 43 and 37 for empty nodes; FGD: -200 < 233; first fit: n0.
    let mut env = tiny();
    let obs = deciding_b(&mut env);
    let expected = [
        (PlacementRule::FirstFit, 0),
        (PlacementRule::BestFit, 0),
        (PlacementRule::WorstFit, 2),
        (PlacementRule::DotProduct, 0),
        (PlacementRule::GpuPacking, 0),
        (PlacementRule::GpuClustering, 0),
        (PlacementRule::Fgd, 0),
    ];
    for (rule, node) in expected {
        let mut policy = PlacementHeuristic::new(rule);
        assert_eq!(
            policy.act(&obs, env.action_mask()).unwrap(),
            Action::Discrete(node),
            "{rule:?}"
        );
    }
    // B then goes onto n0's 300 share (the fullest GPU that fits), leaving n0 {1000, 0}.
    let t = env.step(&Action::Discrete(0)).unwrap();
    assert_eq!(t.obs.cluster.key_of(0).gpu_left[..2], [1000, 0]);
    // A GPU pod that fits nowhere fails and is counted; C still fits.
    assert_eq!(t.info.get(env.metric_names(), "failed_pods"), Some(0.0));
    assert_eq!(env.action_mask().unwrap(), &[true, true, true]);
}

/// Each policy's mean unallocated GPUs over `results`.
fn mean_unallocated(env: &PlacementScenario, results: &[EpisodeResult]) -> impl Fn(&str) -> f64 {
    let rows = summarise(results, env.metric_names());
    move |p: &str| {
        rows.iter()
            .find(|r| r.policy == p && r.metric == "unallocated_gpus")
            .unwrap()
            .mean
    }
}

#[test]
fn fgd_leaves_fewer_unallocated_gpus_than_the_packing_baselines_on_openb() {
    let env = PlacementScenario::new(
        PlacementConfig::from_toml("inflation_target = 1.0", "test").unwrap(),
    )
    .unwrap();
    let results = evaluate(&env, &baselines(), 3, 0, false, &|| {}).unwrap();
    let unallocated = mean_unallocated(&env, &results);
    for other in [
        "best-fit",
        "dot-product",
        "gpu-packing",
        "gpu-clustering",
        "random",
        "worst-fit",
    ] {
        assert!(
            unallocated("fgd") < unallocated(other),
            "fgd {} vs {other} {}",
            unallocated("fgd"),
            unallocated(other)
        );
    }
}

#[test]
fn an_episode_with_nothing_to_place_ends_at_its_first_step() {
    let nodes = "sn,cpu_milli,memory_mib,gpu,model\nn0,16000,65536,4,T4\n";
    let pods = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time\n\
                big,2000,1024,8,1000,,LS,Running,0,\n";
    let (nodes, pods) = (
        read_nodes(nodes.as_bytes(), "n").unwrap(),
        read_pods(pods.as_bytes(), "p").unwrap(),
    );
    let config = PlacementConfig::from_toml("mode = \"replay\"", "test").unwrap();
    let env = PlacementScenario::from_trace(config, &nodes, &pods).unwrap();
    let results = evaluate(&env, &baselines(), 1, 0, false, &|| {}).unwrap();
    for r in &results {
        assert_eq!(
            (r.steps, r.metrics[5]),
            (1, 1.0),
            "{}: one step, one failed pod",
            r.policy
        );
    }
    let mut env = env;
    env.reset(0);
    assert!(env.action_mask().is_none());
    assert!(env.step(&Action::Discrete(0)).unwrap().terminated);
    assert!(env.step(&Action::Discrete(0)).is_err());
    // Inflation stops on requested GPUs, so a list of CPU-only pods is refused up front.
    let cpu_only = read_pods("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time\np,1,1,0,0,,LS,Running,0,\n".as_bytes(), "p").unwrap();
    let err =
        PlacementScenario::from_trace(PlacementConfig::default(), &nodes, &cpu_only).unwrap_err();
    assert!(err.to_string().contains("needs GPU pods"), "{err}");
}

/// The heuristic's choice by scanning every class (the definition the rankings must equal).
fn scanned(rule: PlacementRule, obs: &PlacementObs, rng: &mut Rng) -> usize {
    let scored: Vec<(f64, usize)> = obs
        .cluster
        .classes()
        .filter(|(_, c)| c.key.fits(&obs.pod))
        .map(|(id, c)| (rule.cost(&c.key, &obs.pod, &obs.typical), id))
        .collect();
    let best = scored.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let tied: Vec<usize> = scored
        .iter()
        .filter(|s| s.0 <= best + 1e-12 * best.abs().max(1.0))
        .map(|s| s.1)
        .collect();
    if rule == PlacementRule::FirstFit {
        return tied
            .iter()
            .filter_map(|&id| obs.cluster.lowest_member(id))
            .min()
            .unwrap();
    }
    let members: Vec<u32> = tied
        .iter()
        .flat_map(|&id| obs.cluster.class(id).members.iter().copied())
        .collect();
    members[rng.below(members.len())] as usize
}

#[test]
fn ranked_classes_choose_exactly_what_a_scan_of_every_class_chooses() {
    // Replay with departures on a 4,000-node cluster (hundreds of classes). For the first half
    // the observation is held while stepping, so the cluster is copied every step and the
    // rankings must notice they face another cluster and rebuild.
    let config = PlacementConfig::from_toml(
        "mode = \"replay\"\nreplay_pods = 1500\nsynthetic_nodes = 4000",
        "test",
    )
    .unwrap();
    let base = PlacementScenario::new(config).unwrap();
    for rule in PlacementRule::ALL {
        let mut env = base.clone();
        let mut policy = PlacementHeuristic::new(rule);
        let mut obs = env.reset(9);
        policy.reset(9);
        let mut reference = Rng::new(9 ^ 0x0070_1ACE);
        for step in 0.. {
            let Action::Discrete(node) = policy.act(&obs, None).unwrap() else {
                unreachable!()
            };
            assert_eq!(
                node,
                scanned(rule, &obs, &mut reference),
                "{rule:?} step {step}"
            );
            let held = (step < 700).then(|| obs.clone());
            let t = env.step(&Action::Discrete(node)).unwrap();
            drop(held);
            if t.terminated {
                assert!(step > 1000, "{step}");
                break;
            }
            obs = t.obs;
        }
    }
}

// Rollout search (`rollout-RULE@K+H[xS]`): one candidate is its base rule, more beat it, and
// its forms and bounds are checked by name.

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
    let (env, _) = small("");
    for rule in [PlacementRule::Fgd, PlacementRule::BestFit] {
        let mut search = PlacementRollout::new(rule, 1, 16, 2, &env).unwrap();
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
    let unallocated = mean_unallocated(&env, &results);
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
