//! The placement scenario: bookkeeping against the cluster state, masks, replay departures,
//! determinism and scale.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_env::ScenarioConfig;
use planetgym_env::placement::{PodRequest, fragment_growth, node_fragment};
use planetgym_env::{
    Action, AutoresetMode, PlacementConfig, PlacementObs, PlacementScenario, Scenario, VecEnv,
};

fn config(toml: &str) -> PlacementConfig {
    PlacementConfig::from_toml(toml, "test").unwrap()
}

/// The lowest-numbered node the mask allows.
fn first_allowed(env: &PlacementScenario) -> Action {
    Action::Discrete(env.action_mask().unwrap().iter().position(|&m| m).unwrap())
}

/// Checks the scenario's running totals against a recount of the cluster.
fn check_books(env: &PlacementScenario, obs: &PlacementObs, info: &planetgym_env::Info) {
    let cluster = &obs.cluster;
    let names = env.metric_names();
    let total_gpu = env.total_gpus() * 1000.0;
    let idle: f64 = (0..cluster.len())
        .map(|n| f64::from(cluster.key_of(n).gpu_left_total()))
        .sum();
    let allocation = info.get(names, "gpu_allocation_ratio").unwrap();
    assert!(
        (allocation - (1.0 - idle / total_gpu)).abs() < 1e-9,
        "{allocation}"
    );
    let fragment: f64 = (0..cluster.len())
        .map(|n| node_fragment(&cluster.key_of(n), &obs.typical))
        .sum();
    let rate = info.get(names, "fragmentation_rate").unwrap();
    assert!(
        (rate - (fragment / idle).min(1.0)).abs() < 1e-6,
        "{rate} vs {}",
        fragment / idle
    );
    // The mask is exactly the set of nodes that fit the waiting pod (none once the episode ended).
    if let Some(mask) = env.action_mask().filter(|m| m.iter().any(|&x| x)) {
        for (node, &allowed) in mask.iter().enumerate().step_by(37) {
            assert_eq!(allowed, cluster.key_of(node).fits(&obs.pod), "node {node}");
        }
    }
}

#[test]
fn inflation_books_match_the_cluster_and_stop_at_the_target() {
    let mut env = PlacementScenario::new(config("inflation_target = 0.5")).unwrap();
    assert_eq!((env.nodes(), env.total_gpus()), (1523, 6212.0));
    let mut obs = env.reset(3);
    let mut steps = 0;
    loop {
        let t = env.step(&first_allowed(&env)).unwrap();
        steps += 1;
        if steps % 200 == 0 || t.terminated {
            check_books(&env, &t.obs, &t.info);
        }
        if t.terminated {
            let arrived = t.info.get(env.metric_names(), "arrived_gpu_ratio").unwrap();
            assert!(arrived <= 0.5 && arrived > 0.45, "{arrived}");
            assert!(matches!(
                env.step(&Action::Discrete(0)),
                Err(planetgym_env::EnvError::EpisodeOver)
            ));
            break;
        }
        obs = t.obs;
    }
    assert!(steps > 1000, "{steps} placements");
    drop(obs);
}

#[test]
fn replay_pods_leave_at_their_deletion_times() {
    let mut env = PlacementScenario::new(config("mode = \"replay\"\nreplay_pods = 3000")).unwrap();
    env.reset(5);
    let names = env.metric_names();
    let mut peak = 0.0f64;
    let last = loop {
        let t = env.step(&first_allowed(&env)).unwrap();
        let last = t.info.get(names, "gpu_allocation_ratio").unwrap();
        peak = peak.max(last);
        check_books(&env, &t.obs, &t.info);
        if t.terminated {
            break last;
        }
    };
    assert!(last < peak, "departures free GPUs: peak {peak}, end {last}");
}

#[test]
fn bad_actions_are_refused_without_changing_anything() {
    let mut env = PlacementScenario::new(config("")).unwrap();
    let obs = env.reset(1);
    let blocked = env.action_mask().unwrap().iter().position(|&m| !m);
    if let Some(node) = blocked {
        let err = env.step(&Action::Discrete(node)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid action: action {node} is masked out (illegal in this state)")
        );
    }
    let err = env.step(&Action::Discrete(99_999)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid action: action value 99999 at index 0 is out of range: allowed 0 to 1522 (inclusive)"
    );
    let err = env.step(&Action::Continuous(vec![0.5])).unwrap_err();
    assert!(
        err.to_string().contains("expected a discrete action"),
        "{err}"
    );
    // Nothing moved: the same pod still waits.
    let again = env.step(&first_allowed(&env)).unwrap();
    assert_ne!(
        again.obs.pod,
        PodRequest {
            cpu_milli: 0,
            memory_mib: 0,
            num_gpu: 0,
            gpu_milli: 0,
            allowed_models: 0
        }
    );
    drop(obs);
}

#[test]
fn vector_env_is_identical_on_one_and_two_threads() {
    let run = |threads: usize| {
        let scenario =
            PlacementScenario::new(config("synthetic_nodes = 60\ninflation_target = 0.6")).unwrap();
        let mut env = VecEnv::new(scenario, 3, 11, threads, AutoresetMode::SameStep).unwrap();
        let mut trace = Vec::new();
        for _ in 0..400 {
            let actions: Vec<Action> = (0..3)
                .map(|i| {
                    let mask = env.scenario(i).unwrap().action_mask().unwrap();
                    // The last allowed node: a different habit from first fit.
                    Action::Discrete(mask.iter().rposition(|&m| m).unwrap_or(0))
                })
                .collect();
            env.step(&actions).unwrap();
            trace.extend(env.observations().iter().map(|v| u64::from(v.to_bits())));
            trace.extend(env.rewards().iter().map(|r| r.to_bits()));
        }
        trace
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn a_vector_env_step_updates_the_cluster_in_place() {
    // The typed observation each copy holds shares the scenario's cluster; were it held while
    // stepping, every step would copy the whole cluster (and restart its change log).
    let scenario = PlacementScenario::new(config("synthetic_nodes = 60")).unwrap();
    let mut env = VecEnv::new(scenario, 2, 5, 1, AutoresetMode::SameStep).unwrap();
    for _ in 0..20 {
        let before: Vec<_> = (0..2)
            .map(|i| std::sync::Arc::as_ptr(&env.typed_observation(i).unwrap().cluster))
            .collect();
        let actions: Vec<Action> = (0..2)
            .map(|i| first_allowed(env.scenario(i).unwrap()))
            .collect();
        env.step(&actions).unwrap();
        for (i, &was) in before.iter().enumerate() {
            if env.final_typed_observation(i).is_none() {
                let now = std::sync::Arc::as_ptr(&env.typed_observation(i).unwrap().cluster);
                assert_eq!(now, was, "copy {i}: the step copied the cluster");
            }
        }
    }
}

#[test]
fn a_synthetic_cluster_of_100k_nodes_runs() {
    let mut env = PlacementScenario::new(config("synthetic_nodes = 100000")).unwrap();
    assert_eq!(env.nodes(), 100_000);
    let obs = env.reset(2);
    let classes = obs.cluster.classes().count();
    assert!(
        classes < 50,
        "{classes} node classes at the start: identical nodes share one"
    );
    drop(obs);
    for _ in 0..50 {
        env.step(&first_allowed(&env)).unwrap();
    }
}

#[test]
fn a_mask_asked_for_after_unasked_steps_is_the_full_recount() {
    // Replay: departures move nodes too. Steps pick the last fitting node from the cluster
    // itself, so most steps never build the mask; every 23rd asks for it.
    let mut env = PlacementScenario::new(config("mode = \"replay\"\nreplay_pods = 2500")).unwrap();
    let mut obs = env.reset(5);
    for step in 0.. {
        let cluster = obs.cluster.clone();
        let fitting = |n: &usize| cluster.key_of(*n).fits(&obs.pod);
        if step % 23 == 0 {
            let mask = env.action_mask().unwrap();
            let recount: Vec<bool> = (0..cluster.len()).map(|n| fitting(&n)).collect();
            assert_eq!(mask, recount.as_slice(), "step {step}");
        }
        let node = (0..cluster.len()).rev().find(fitting).unwrap();
        // A node that does not fit is refused without building the mask.
        if let Some(blocked) = (0..cluster.len()).find(|n| !fitting(n)) {
            assert!(env.step(&Action::Discrete(blocked)).is_err());
        }
        drop((cluster, obs));
        let t = env.step(&Action::Discrete(node)).unwrap();
        if t.terminated {
            assert!(step > 1000, "{step} steps");
            break;
        }
        obs = t.obs;
    }
}

#[test]
fn memoised_fragments_encode_like_direct_ones() {
    // Every node row's fragment (its last feature) is the fragment computed directly, whether
    // the memo finds it by class id or by state; `other` is built separately (another
    // typical-workload allocation), so its memo switches workloads to encode `env`'s
    // observations, and must encode them alike.
    let mut env = PlacementScenario::new(config("synthetic_nodes = 60")).unwrap();
    let other = PlacementScenario::new(config("synthetic_nodes = 60")).unwrap();
    let len = env.feature_spec().encoded_len();
    let (mut memoised, mut switched) = (vec![0.0f32; len], vec![0.0f32; len]);
    let (global, features) = (6, 9);
    let mut obs = env.reset(6);
    let mut episodes = 1;
    for step in 0..400 {
        env.encode(&obs, &mut memoised);
        other.encode(&obs, &mut switched);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&memoised), bits(&switched), "step {step}");
        for node in 0..obs.cluster.len() {
            let direct = node_fragment(&obs.cluster.key_of(node), &obs.typical) / 8000.0;
            let encoded = memoised[global + node * features + features - 1];
            assert_eq!(
                encoded.to_bits(),
                (direct as f32).to_bits(),
                "step {step} node {node}"
            );
        }
        // Across episodes too: a new cluster reuses the class ids with other states.
        let t = env.step(&first_allowed(&env)).unwrap();
        obs = if t.terminated {
            episodes += 1;
            env.reset(step)
        } else {
            t.obs
        };
    }
    assert!(episodes > 1, "the second episode was reached");
}

#[test]
fn observed_growth_is_fgd_s_score_of_each_node_and_zero_where_the_pod_does_not_fit() {
    let mut env =
        PlacementScenario::new(config("synthetic_nodes = 60\nobserve_growth = true")).unwrap();
    let plain = PlacementScenario::new(config("synthetic_nodes = 60")).unwrap();
    assert_ne!(env.feature_spec().hash(), plain.feature_spec().hash());
    let (global, features) = (6, 10);
    let len = env.feature_spec().encoded_len();
    assert_eq!(len, plain.feature_spec().encoded_len() + 60);
    let (mut with, mut without) = (
        vec![0.0f32; len],
        vec![0.0f32; plain.feature_spec().encoded_len()],
    );
    let mut obs = env.reset(4);
    let (mut fitting, mut unfit) = (0, 0);
    for step in 0..300 {
        env.encode(&obs, &mut with);
        plain.encode(&obs, &mut without);
        for node in 0..obs.cluster.len() {
            let row = &with[global + node * features..global + (node + 1) * features];
            let key = obs.cluster.key_of(node);
            let expected = if key.fits(&obs.pod) {
                fitting += 1;
                fragment_growth(&key, &obs.pod, &obs.typical) / 8000.0
            } else {
                unfit += 1;
                0.0
            };
            assert_eq!(
                row[9].to_bits(),
                (expected as f32).to_bits(),
                "step {step} node {node}"
            );
            // The other features are the plain encoding's.
            let plain_row = &without[global + node * 9..global + (node + 1) * 9];
            assert_eq!(&row[..9], plain_row, "step {step} node {node}");
        }
        let t = env.step(&first_allowed(&env)).unwrap();
        if t.terminated {
            break;
        }
        obs = t.obs;
    }
    assert!(
        fitting > 1000 && unfit > 100,
        "{fitting} fitting, {unfit} not"
    );
}
