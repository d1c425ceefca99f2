//! Imitation before PPO: the network learns an expert baseline's choices (DAgger), resumes
//! exactly, and bad imitation configs are refused with the field named.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_agents::classic::batch::baselines;
use planetgym_agents::nn::policy::Mode;
use planetgym_env::{Action, BatchConfig, BatchScenario, Scenario, ScenarioConfig};
use planetgym_training::ppo::{self, TrainConfig};
use planetgym_training::session::{self, SessionResult};
use std::path::Path;

mod common;

/// Trains the config `text`; its errors (config or training) as text.
fn try_train(
    text: &str,
    dir: &Path,
    resume: bool,
    stop_after: Option<u64>,
) -> Result<SessionResult, String> {
    let config = TrainConfig::from_toml(text, "test config").map_err(|e| e.to_string())?;
    common::try_train(&config, dir, resume, stop_after).map_err(|e| format!("{e:#}"))
}

/// Batch on 48-job windows, 16 visible: `updates` updates of 1024 steps, all imitating SJF
/// when `imitate` (the expert's share of actions falling from 1 to 0), evaluated on 20
/// episodes.
fn batch(updates: u64, imitate: bool) -> String {
    let imitation = if imitate {
        format!("[imitation]\nexpert = \"sjf\"\nupdates = {updates}\nexpert_fraction = 1.0\n")
    } else {
        String::new()
    };
    format!(
        "scenario = \"batch\"\nseed = 4\ntotal_steps = {}\nnum_envs = 8\nhidden = 32\ncheckpoint_every = 100\n\
         [env]\nwindow_jobs = 48\nvisible_jobs = 16\n[ppo]\nrollout_steps = 128\nlearning_rate = 1e-3\n\
         {imitation}[eval]\nepisodes = 20\nseed = 500\n",
        updates * 1024
    )
}

/// Mean evaluation return of `policy` in a session's final table.
fn mean_return(result: &SessionResult, policy: &str) -> f64 {
    let table = result.evaluation.as_ref().unwrap();
    table
        .rows
        .iter()
        .find(|r| r.policy == policy && r.metric == "reward")
        .unwrap_or_else(|| panic!("no {policy} row"))
        .mean
}

/// Jobs the network sees (SJF sees the whole queue).
const VISIBLE_JOBS: usize = 16;

/// How often the trained greedy policy in `dir` picks the job SJF picks, over the states of
/// 10 evaluation episodes that SJF schedules where the network sees two jobs or more and
/// SJF's job is one of them.
fn agreement_with_sjf(dir: &Path) -> f64 {
    let config: BatchConfig =
        ScenarioConfig::from_toml("window_jobs = 48\nvisible_jobs = 16", "test").unwrap();
    let mut env = BatchScenario::new(config.clone()).unwrap();
    let sjf = baselines(&config)
        .into_iter()
        .find(|make| make().name() == "sjf")
        .unwrap();
    let file = ppo::load_policy(dir).unwrap();
    let net = session::learned_contender(&env, &file, "ppo", Mode::Greedy).unwrap();
    let (mut same, mut states) = (0, 0);
    for episode in 0..10 {
        let (mut expert, mut student) = (sjf(), net());
        let mut obs = env.reset(900 + episode);
        loop {
            let action = expert.act(&env, &obs).unwrap();
            // Only real choices count: two or more jobs the network sees.
            let visible = env.action_mask().unwrap().iter().filter(|&&m| m).count();
            let seen = matches!(action, Action::Discrete(i) if i < VISIBLE_JOBS);
            if visible >= 2 && seen {
                same += usize::from(student.act(&env, &obs).unwrap() == action);
                states += 1;
            }
            let t = env.step(&action).unwrap();
            if t.terminated || t.truncated {
                break;
            }
            obs = t.obs;
        }
    }
    same as f64 / states as f64
}

#[test]
fn cloning_sjf_teaches_the_network_sjfs_choices() {
    let dir = tempfile::tempdir().unwrap();
    let (cloned, plain) = (dir.path().join("cloned"), dir.path().join("plain"));
    let result = try_train(&batch(24, true), &cloned, false, None).unwrap();
    try_train(&batch(24, false), &plain, false, None).unwrap();
    let (with, without) = (agreement_with_sjf(&cloned), agreement_with_sjf(&plain));
    eprintln!("agreement with sjf: cloned {with:.3}, ppo alone {without:.3}");
    assert!(
        with > 0.5 && with > without + 0.25,
        "cloned {with:.3}, the same budget of PPO alone {without:.3}"
    );
    // The clone schedules about as well as SJF (returns are minus the bounded slowdown).
    let (sjf, random) = (mean_return(&result, "sjf"), mean_return(&result, "random"));
    let ppo = mean_return(&result, "ppo");
    assert!(
        (sjf - ppo) / (sjf - random) < 0.1,
        "sjf {sjf:.1}, random {random:.1}, cloned {ppo:.1}"
    );
    let metrics = std::fs::read_to_string(cloned.join("metrics.csv")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        25,
        "a header and one row per update"
    );
}

#[test]
fn an_imitating_run_resumes_as_if_never_stopped() {
    let dir = tempfile::tempdir().unwrap();
    // Imitation for 3 of 5 updates, with the expert's share falling: both phases resume.
    let text = batch(5, true)
        .replace("updates = 5", "updates = 3")
        .replace("expert_fraction = 1.0", "expert_fraction = 0.5")
        .replace("episodes = 20", "episodes = 0");
    let straight = dir.path().join("straight");
    try_train(&text, &straight, false, None).unwrap();
    let split = dir.path().join("split");
    try_train(&text, &split, false, Some(2)).unwrap();
    try_train(&text, &split, true, None).unwrap();
    let policy = |d: &Path| std::fs::read_to_string(d.join("policy.json")).unwrap();
    assert_eq!(policy(&straight), policy(&split));
}

#[test]
fn bad_imitation_configs_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (batch(2, true).replace("\"sjf\"", "\"no-such\""), "no-such"),
        (
            batch(2, true).replace("updates = 2", "updates = 3"),
            "imitation.updates",
        ),
        (
            batch(2, true).replace("expert_fraction = 1.0", "expert_fraction = 1.5"),
            "imitation.expert_fraction",
        ),
        (
            batch(2, true).replace("expert = \"sjf\"\n", ""),
            "imitation.expert and imitation.updates",
        ),
    ];
    for (k, (text, expected)) in cases.iter().enumerate() {
        let e = try_train(text, &dir.path().join(k.to_string()), false, None).unwrap_err();
        assert!(e.contains(expected), "{expected}: {e}");
    }
}

/// Traffic (a split per region) on a small world, imitating the per-interval LP for every
/// update.
const TRAFFIC_FROM_LP: &str = r#"
scenario = "traffic"
seed = 1
total_steps = 720
num_envs = 4
hidden = 16
checkpoint_every = 1
[env]
observation = "pairs"
episode_intervals = 30
[env.world]
kind = "synthetic"
[env.world.synthetic]
regions = 6
sites = 3
[ppo]
rollout_steps = 30
learning_rate = 3e-3
gamma = 0.0
[imitation]
expert = "lp"
updates = 6
[eval]
episodes = 0
"#;

#[test]
fn a_split_policy_learns_the_lps_splits_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let straight = dir.path().join("straight");
    try_train(TRAFFIC_FROM_LP, &straight, false, None).unwrap();
    // losses/policy is the cross-entropy between the LP's splits and the network's.
    let log = std::fs::read_to_string(straight.join("metrics.csv")).unwrap();
    let mut lines = log.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == "losses/policy").unwrap();
    let losses: Vec<f64> = lines
        .map(|l| l.split(',').nth(column).unwrap().parse().unwrap())
        .collect();
    assert_eq!(losses.len(), 6);
    assert!(
        losses[5] < 0.8 * losses[0],
        "the cross-entropy to the LP's splits did not fall: {losses:?}"
    );

    let split = dir.path().join("split");
    try_train(TRAFFIC_FROM_LP, &split, false, Some(3)).unwrap();
    try_train(TRAFFIC_FROM_LP, &split, true, None).unwrap();
    let policy = |d: &Path| std::fs::read_to_string(d.join("policy.json")).unwrap();
    assert_eq!(policy(&straight), policy(&split));
}
