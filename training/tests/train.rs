//! PPO training sessions: files of a run, exact resumption, determinism across thread counts,
//! learning on a real scenario, every action head, and refused bad inputs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_agents::evaluate::run_episode;
use planetgym_agents::nn::policy::Mode;
use planetgym_agents::registry::{
    Built, RegisteredScenario, RegistryError, ScenarioVisitor, with_scenario,
};
use planetgym_training::ppo::{self, TrainConfig};
use planetgym_training::session::{self, SessionResult};
use std::path::Path;

mod common;
use common::try_train;

fn config(text: &str) -> TrainConfig {
    TrainConfig::from_toml(text, "test config").unwrap()
}

fn train(config: &TrainConfig, dir: &Path, resume: bool, stop_after: Option<u64>) -> SessionResult {
    try_train(config, dir, resume, stop_after).unwrap()
}

/// Metrics rows without the wall-clock columns.
fn metrics_without_timing(dir: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            l.split(',')
                .zip(&header)
                .filter(|(_, h)| !h.starts_with("time/") && **h != "charts/sps")
                .map(|(v, _)| v.to_string())
                .collect()
        })
        .collect()
}

const CAPACITY_SMALL: &str = r#"
scenario = "capacity"
seed = 3
total_steps = 1536
num_envs = 4
hidden = 16
checkpoint_every = 1
[env]
episode_periods = 48
[ppo]
rollout_steps = 64
epochs = 2
minibatches = 2
[eval]
episodes = 2
"#;

#[test]
fn a_run_writes_its_files_and_a_resumed_run_continues_as_if_never_stopped() {
    let cfg = config(CAPACITY_SMALL);
    let straight = tempfile::tempdir().unwrap();
    let r = train(&cfg, straight.path(), false, None);
    assert_eq!((r.outcome.updates, r.outcome.env_steps), (6, 1536));
    assert!(!r.outcome.interrupted);
    for f in [
        "config.toml",
        "metrics.csv",
        "checkpoint.json",
        "policy.json",
        "eval.json",
        "eval.csv",
        "curve.png",
    ] {
        assert!(straight.path().join(f).exists(), "{f} missing");
    }
    let events: Vec<_> = std::fs::read_dir(straight.path().join("tb"))
        .unwrap()
        .collect();
    assert_eq!(events.len(), 1);
    let rows = summary_policies(&r);
    assert!(rows.contains(&"ppo".to_string()) && rows.contains(&"reactive@0.8".to_string()));
    assert_eq!(metrics_without_timing(straight.path()).len(), 6);

    // Stopped after 2 updates (mid-episode: 4 x 64 steps per update, 48-step episodes), then
    // resumed: same weights, same optimiser, same metrics as the straight run.
    let split = tempfile::tempdir().unwrap();
    let first = train(&cfg, split.path(), false, Some(2));
    assert!(first.outcome.interrupted && first.evaluation.is_none());
    assert_eq!(first.outcome.updates, 2);
    let second = train(&cfg, split.path(), true, None);
    assert_eq!(second.outcome.updates, 6);
    let policy = |d: &Path| std::fs::read_to_string(d.join("policy.json")).unwrap();
    assert_eq!(policy(straight.path()), policy(split.path()));
    assert_eq!(
        metrics_without_timing(straight.path()),
        metrics_without_timing(split.path())
    );

    // A finished run is not silently overwritten.
    let e = try_train(&cfg, straight.path(), false, None).unwrap_err();
    assert!(e.to_string().contains("already holds a run"), "{e}");
}

fn summary_policies(r: &SessionResult) -> Vec<String> {
    r.evaluation
        .as_ref()
        .unwrap()
        .rows
        .iter()
        .map(|row| row.policy.clone())
        .collect()
}

/// The trained policy file of `cfg` run with `threads` env threads.
fn policy_with_threads(cfg: &TrainConfig, threads: usize) -> String {
    let mut c = cfg.clone();
    c.threads = threads;
    let dir = tempfile::tempdir().unwrap();
    train(&c, dir.path(), false, None);
    std::fs::read_to_string(dir.path().join("policy.json")).unwrap()
}

#[test]
fn results_do_not_depend_on_the_number_of_env_threads() {
    let mut cfg = config(CAPACITY_SMALL);
    cfg.total_steps = 512;
    cfg.eval.episodes = 0;
    assert_eq!(policy_with_threads(&cfg, 1), policy_with_threads(&cfg, 2));
}

#[test]
fn corrupt_or_foreign_checkpoints_are_refused_with_the_reason() {
    let cfg = config(CAPACITY_SMALL);
    let dir = tempfile::tempdir().unwrap();
    train(&cfg, dir.path(), false, Some(1));
    let ck = dir.path().join("checkpoint.json");
    let good = std::fs::read_to_string(&ck).unwrap();
    std::fs::write(&ck, &good[..good.len() / 2]).unwrap();
    let e = try_train(&cfg, dir.path(), true, None).unwrap_err();
    assert!(format!("{e:#}").contains("corrupt"), "{e:#}");
    std::fs::write(&ck, &good).unwrap();
    let mut other = cfg.clone();
    other.ppo.learning_rate = 1e-3;
    let e = try_train(&other, dir.path(), true, None).unwrap_err();
    assert!(e.to_string().contains("another config"), "{e}");
    let e = try_train(&cfg, &dir.path().join("missing"), true, None).unwrap_err();
    assert!(format!("{e:#}").contains("no checkpoint"), "{e:#}");
}

#[test]
fn ppo_learns_capacity_planning() {
    // 40 updates of 1024 steps: the mean training return of the last updates must beat the
    // first updates' by a wide margin (an untrained policy orders and removes at random).
    let cfg = config(
        r#"
scenario = "capacity"
seed = 1
total_steps = 40960
num_envs = 8
hidden = 64
checkpoint_every = 100
[env]
episode_periods = 96
[ppo]
rollout_steps = 128
epochs = 10
gamma = 0.95
entropy_coef = 0.0
learning_rate = 1e-3
[eval]
episodes = 0
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    train(&cfg, dir.path(), false, None);
    let returns = training_returns(dir.path());
    assert_eq!(returns.len(), 40, "every update ends episodes");
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (early, late) = (mean(&returns[..5]), mean(&returns[returns.len() - 5..]));
    assert!(
        late > 0.8 * early,
        "returns {early:.0} -> {late:.0} (costs must fall by 20 %)"
    );
}

/// Small worlds (scenario, `[env]` lines) for every action head and network: traffic's simplex
/// from the entity scorer (pairs) and from the MLP, batch's and placement's masked choices from
/// the entity scorer.
const EVERY_HEAD: [(&str, &str); 4] = [
    ("traffic", "episode_intervals = 16\nobservation = \"pairs\""),
    ("traffic", "episode_intervals = 16"),
    ("batch", "window_jobs = 32"),
    ("placement", "inflation_target = 0.05"),
];

#[test]
fn every_action_head_trains_a_few_updates() {
    for (scenario, env) in EVERY_HEAD {
        let cfg = config(&format!(
            "scenario = \"{scenario}\"\ntotal_steps = 64\nnum_envs = 2\nhidden = 8\n[env]\n{env}\n[ppo]\nrollout_steps = 16\nminibatches = 2\n[eval]\nepisodes = 0\n"
        ));
        let dir = tempfile::tempdir().unwrap();
        let r = train(&cfg, dir.path(), false, None);
        assert_eq!(r.outcome.updates, 2, "{scenario} {env}");
        let policy = ppo::load_policy(dir.path()).unwrap();
        assert_eq!(policy.scenario, scenario);
        assert_eq!(policy.trained_steps, 64);
    }
}

/// One epoch of one minibatch: the update's log-probabilities must be exactly those the rollout
/// recorded (every ratio 1, so the approximate KL and the clip fraction are 0), although the
/// update runs the network over other groupings of rows than collection did.
#[test]
fn the_first_epoch_starts_from_the_recorded_log_probabilities() {
    let capacity = ("capacity", "episode_periods = 48");
    for (scenario, env) in EVERY_HEAD.into_iter().chain([capacity]) {
        let cfg = config(&format!(
            "scenario = \"{scenario}\"\ntotal_steps = 96\nnum_envs = 3\nhidden = 8\n[env]\n{env}\n[ppo]\nrollout_steps = 16\nepochs = 1\nminibatches = 1\n[eval]\nepisodes = 0\n"
        ));
        let dir = tempfile::tempdir().unwrap();
        train(&cfg, dir.path(), false, None);
        let text = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (kl, clipped) = (column("losses/approx_kl"), column("losses/clip_fraction"));
        for line in lines {
            let values: Vec<f64> = line
                .split(',')
                .map(|v| v.parse().unwrap_or(f64::NAN))
                .collect();
            assert_eq!(
                (values[kl], values[clipped]),
                (0.0, 0.0),
                "{scenario} {env}: {line}"
            );
        }
    }
}

/// A small traffic world (54 regions x 12 sites, one-hour episodes) trained for 20 updates.
fn traffic_small(counterfactual_rows: bool) -> TrainConfig {
    config(&format!(
        r#"
scenario = "traffic"
seed = 2
total_steps = 4800
num_envs = 4
hidden = 16
checkpoint_every = 100
[env]
episode_intervals = 60
observation = "pairs"
[ppo]
rollout_steps = 60
learning_rate = 1e-3
gamma = 0.0
entropy_coef = 0.0
initial_log_std = -1.5
counterfactual_rows = {counterfactual_rows}
[eval]
episodes = 0
"#
    ))
}

/// The mean training return of each update that ended episodes, from `metrics.csv`.
fn training_returns(dir: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "charts/episode_return")
        .unwrap();
    lines
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .filter(|r: &f64| r.is_finite())
        .collect()
}

#[test]
fn counterfactual_rows_credit_each_region_and_learn_traffic_faster() {
    // Same seed, same budget: one advantage per step against one per region.
    let last = |counterfactual_rows: bool| {
        let dir = tempfile::tempdir().unwrap();
        train(&traffic_small(counterfactual_rows), dir.path(), false, None);
        let returns = training_returns(dir.path());
        (
            returns[0],
            returns[returns.len() - 3..].iter().sum::<f64>() / 3.0,
        )
    };
    let (first, joint) = last(false);
    let (_, per_row) = last(true);
    // Measured: -369 at first, -329 with one advantage, -218 per region.
    assert!(
        per_row > 0.7 * first && per_row - first > 2.0 * (joint - first),
        "episode returns: first {first:.0}, last with one advantage {joint:.0}, per region {per_row:.0}"
    );
}

#[test]
fn counterfactual_rows_are_deterministic_and_refused_where_actions_have_no_rows() {
    let mut cfg = traffic_small(true);
    cfg.total_steps = 480;
    assert_eq!(policy_with_threads(&cfg, 1), policy_with_threads(&cfg, 2));
    let mut batch = config(CAPACITY_SMALL);
    batch.ppo.counterfactual_rows = true;
    let dir = tempfile::tempdir().unwrap();
    let e = try_train(&batch, dir.path(), false, None).unwrap_err();
    assert!(
        format!("{e:#}").contains("counterfactual_rows") && format!("{e:#}").contains("capacity"),
        "{e:#}"
    );
}

/// Trains `scenario` with `env` (and the top-level `network` fields) for two small updates and
/// loads the policy on `other`.
fn run_on_another_size(
    scenario: &str,
    network: &str,
    env: &str,
    other: &str,
) -> Result<f64, String> {
    let cfg = config(&format!(
        "scenario = \"{scenario}\"\ntotal_steps = 64\nnum_envs = 2\nhidden = 8\n{network}\n[env]\n{env}\n[ppo]\nrollout_steps = 16\nminibatches = 2\n[eval]\nepisodes = 0\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    train(&cfg, dir.path(), false, None);
    let policy = ppo::load_policy(dir.path()).unwrap();
    struct Play<'a>(&'a planetgym_agents::nn::policy::PolicyFile);
    impl ScenarioVisitor for Play<'_> {
        type Output = Result<f64, String>;
        type Error = RegistryError;
        fn visit<S: RegisteredScenario>(
            self,
            built: Built<S>,
        ) -> Result<Self::Output, Self::Error> {
            let make = match session::learned_contender(&built.env, self.0, "ppo", Mode::Greedy) {
                Ok(make) => make,
                Err(e) => return Ok(Err(format!("{e:#}"))),
            };
            let mut env = built.env.clone();
            let r = run_episode(&mut env, &mut make(), 0, 7, false, &|| {}).unwrap();
            Ok(Ok(r.reward))
        }
    }
    with_scenario(scenario, other, "other size", Play(&policy)).unwrap()
}

#[test]
fn entity_policies_run_on_worlds_of_other_sizes() {
    // Trained small, run large: the entity scorer's weights and the observation statistics are
    // per entity feature, and the feature-spec hash describes that schema, not the count.
    let cases = [
        (
            "batch",
            "window_jobs = 32\nvisible_jobs = 8",
            "window_jobs = 64\nvisible_jobs = 48",
        ),
        (
            "placement",
            "synthetic_nodes = 60\ninflation_target = 0.1",
            "synthetic_nodes = 200\ninflation_target = 0.1",
        ),
        (
            "traffic",
            "episode_intervals = 8\nobservation = \"pairs\"\nworld = { kind = \"synthetic\", synthetic = { regions = 6, sites = 3 } }",
            "episode_intervals = 8\nobservation = \"pairs\"\nworld = { kind = \"synthetic\", synthetic = { regions = 12, sites = 6 } }",
        ),
    ];
    for (scenario, small, large) in cases {
        let reward = run_on_another_size(scenario, "", small, large)
            .unwrap_or_else(|e| panic!("{scenario}: {e}"));
        assert!(reward.is_finite(), "{scenario}");
    }
    // A flat observation names every site: another number of sites is refused, with the why.
    let e = run_on_another_size("capacity", "", "sites = 2", "sites = 3").unwrap_err();
    assert!(e.contains("feature spec hash"), "{e}");
}

#[test]
fn column_pooling_is_deterministic_runs_on_other_grids_and_is_refused_elsewhere() {
    let mut cfg = traffic_small(true);
    cfg.total_steps = 480;
    cfg.column_pooling = true;
    let policy = policy_with_threads(&cfg, 1);
    assert_eq!(policy, policy_with_threads(&cfg, 2));
    assert!(policy.contains("column_pooling"), "the policy file says so");
    cfg.column_pooling = false;
    assert_ne!(
        policy,
        policy_with_threads(&cfg, 1),
        "pooling changes the policy"
    );
    // The column weights are per hidden unit, not per site: 6 x 3 trained, 12 x 6 run.
    let (small, large) = (
        "episode_intervals = 8\nobservation = \"pairs\"\nworld = { kind = \"synthetic\", synthetic = { regions = 6, sites = 3 } }",
        "episode_intervals = 8\nobservation = \"pairs\"\nworld = { kind = \"synthetic\", synthetic = { regions = 12, sites = 6 } }",
    );
    let reward = run_on_another_size("traffic", "column_pooling = true", small, large).unwrap();
    assert!(reward.is_finite());
    // Other scenarios' candidates form no grid: refused before training, with the reason.
    let mut batch = config(CAPACITY_SMALL);
    batch.column_pooling = true;
    let dir = tempfile::tempdir().unwrap();
    let e = format!(
        "{:#}",
        try_train(&batch, dir.path(), false, None).unwrap_err()
    );
    assert!(e.contains("column pooling"), "{e}");
}

/// Every number of a policy file's weights, in file order.
fn weights_of(dir: &Path) -> Vec<f64> {
    fn numbers(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Number(n) => out.extend(n.as_f64()),
            serde_json::Value::Array(items) => items.iter().for_each(|i| numbers(i, out)),
            serde_json::Value::Object(map) => map.values().for_each(|i| numbers(i, out)),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(dir.join("policy.json")).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    numbers(&file["weights"], &mut out);
    out
}

/// A run with `init_policy` starts from that policy's weights (one update later it is far
/// nearer to them than the same run from a new network); a policy of another shape, or none
/// at the path, is refused naming `init_policy`, before the run writes anything.
#[test]
fn a_run_can_start_from_a_saved_policy() {
    let mut cfg = config(CAPACITY_SMALL);
    cfg.eval.episodes = 0;
    let saved = tempfile::tempdir().unwrap();
    train(&cfg, saved.path(), false, None);
    let mut one_update = cfg.clone();
    one_update.seed = 99;
    one_update.total_steps = one_update.steps_per_update();
    let fresh = tempfile::tempdir().unwrap();
    train(&one_update, fresh.path(), false, None);
    let mut from_saved = one_update.clone();
    from_saved.init_policy = saved.path().to_str().unwrap().into();
    let tuned = tempfile::tempdir().unwrap();
    train(&from_saved, tuned.path(), false, None);
    let distance = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let (start, fresh, tuned) = (
        weights_of(saved.path()),
        weights_of(fresh.path()),
        weights_of(tuned.path()),
    );
    assert_eq!(start.len(), tuned.len());
    assert!(
        distance(&tuned, &start) * 10.0 < distance(&fresh, &start),
        "{} against {}",
        distance(&tuned, &start),
        distance(&fresh, &start)
    );
    let mut wider = from_saved.clone();
    wider.hidden = 32;
    let dir = tempfile::tempdir().unwrap();
    let e = try_train(&wider, dir.path(), false, None).unwrap_err();
    assert!(e.to_string().contains("init_policy"), "{e}");
    let mut missing = from_saved;
    missing.init_policy = dir.path().join("nothing").to_str().unwrap().into();
    let e = try_train(&missing, dir.path(), false, None).unwrap_err();
    assert!(
        e.to_string().contains("init_policy") && e.to_string().contains("nothing"),
        "{e}"
    );
    assert!(!dir.path().join("config.toml").exists());
}
