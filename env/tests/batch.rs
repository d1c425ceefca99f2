//! The batch scenario through the vector env: determinism, masks, episode ends.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_env::ScenarioConfig;
use planetgym_env::batch::{Backfill, Simulation};
use planetgym_env::{Action, AutoresetMode, BatchConfig, BatchScenario, Scenario, VecEnv};

/// Picks the visible job with the shortest requested time.
fn shortest(obs: &planetgym_env::BatchObs) -> Action {
    let best = (0..obs.visible().len())
        .min_by_key(|&i| (obs.visible()[i].requested_s, i))
        .unwrap();
    Action::Discrete(best)
}

fn trace(threads: usize) -> Vec<u64> {
    let config = BatchConfig::from_toml("window_jobs = 64\nbackfill = true\n", "test").unwrap();
    let scenario = BatchScenario::new(config).unwrap();
    let mut env = VecEnv::new(scenario, 5, 3, threads, AutoresetMode::SameStep).unwrap();
    let mut out = Vec::new();
    for _ in 0..300 {
        let actions: Vec<Action> = (0..5)
            .map(|i| shortest(env.typed_observation(i).unwrap()))
            .collect();
        env.step(&actions).unwrap();
        out.extend(env.observations().iter().map(|v| u64::from(v.to_bits())));
        out.extend(env.rewards().iter().map(|r| r.to_bits()));
        out.extend(env.terminated().iter().map(|&t| u64::from(t)));
    }
    out
}

#[test]
fn vector_env_is_identical_on_one_and_two_threads() {
    assert_eq!(trace(1), trace(2));
}

#[test]
fn episodes_end_terminated_with_the_reward_at_the_end() {
    let config = BatchConfig::from_toml("window_jobs = 100", "test").unwrap();
    let mut env = BatchScenario::new(config).unwrap();
    let mut obs = env.reset(4);
    let spec = env.feature_spec().clone();
    let mut encoded = vec![0.0; spec.encoded_len()];
    let mut steps = 0;
    loop {
        env.encode(&obs, &mut encoded);
        let parts = spec.entity_parts().unwrap();
        let visible = encoded[parts.mask_offset()..]
            .iter()
            .filter(|&&m| m == 1.0)
            .count();
        assert_eq!(visible, obs.queue.len().min(128));
        assert_eq!(
            env.action_mask().unwrap().iter().filter(|&&m| m).count(),
            visible
        );
        let t = env.step(&shortest(&obs)).unwrap();
        steps += 1;
        assert!(!t.truncated);
        if t.terminated {
            assert!(
                t.reward <= -1.0,
                "minus the average bounded slowdown, which is at least 1"
            );
            assert_eq!(t.info.get(env.metric_names(), "jobs_started"), Some(100.0));
            break;
        }
        assert_eq!(t.reward, 0.0);
        obs = t.obs;
    }
    assert_eq!(steps, 100, "without backfilling every job is one decision");
    assert!(matches!(
        env.step(&Action::Discrete(0)),
        Err(planetgym_env::EnvError::EpisodeOver)
    ));
}

#[test]
fn a_window_longer_than_the_log_is_a_config_error() {
    let config = BatchConfig::from_toml("window_jobs = 20000", "test").unwrap();
    let err = BatchScenario::new(config).unwrap_err();
    assert_eq!(
        err.to_string(),
        "config error: window_jobs = 20000, but builtin:lublin_256 has only 10000 usable jobs"
    );
}

#[test]
fn load_scale_compresses_arrivals() {
    let submits = |scale: f64| {
        let config =
            BatchConfig::from_toml(&format!("window_jobs = 50\nload_scale = {scale}\n"), "test")
                .unwrap();
        let mut env = BatchScenario::new(config).unwrap();
        env.reset(8);
        env.simulation()
            .unwrap()
            .jobs()
            .iter()
            .map(|j| j.submit)
            .collect::<Vec<_>>()
    };
    let (base, double) = (submits(1.0), submits(2.0));
    for (a, b) in base.iter().zip(&double) {
        assert!((a / 2 - b).abs() <= 1, "{a} / 2 vs {b}");
    }
    let err = BatchConfig::from_toml("load_scale = 0", "test").unwrap_err();
    assert_eq!(
        err.to_string(),
        "config error: test: load_scale = 0: must be in [0.01, 100] (inclusive)"
    );
}

/// The jobs (submit, run, requested) of the episode of `seed` under `time_scale`.
fn window_times(time_scale: &str, seed: u64) -> Vec<[i64; 3]> {
    let config = BatchConfig::from_toml(
        &format!("window_jobs = 50\ntime_scale = {time_scale}\n"),
        "test",
    )
    .unwrap();
    let mut env = BatchScenario::new(config).unwrap();
    env.reset(seed);
    env.simulation()
        .unwrap()
        .jobs()
        .iter()
        .map(|j| [j.submit, j.run, j.requested])
        .collect()
}

#[test]
fn time_scale_stretches_every_time_of_the_same_window() {
    let base = window_times("[1.0, 1.0]", 8);
    let half = window_times("[0.5, 0.5]", 8);
    for (a, b) in base.iter().flatten().zip(half.iter().flatten()) {
        assert!((a / 2 - b).abs() <= 1, "{a} / 2 vs {b}");
    }
    // A range draws one factor per episode from its seed: the same seed gives the same window,
    // each episode stays within the range, and different seeds draw different factors.
    let ratios: Vec<f64> = (0..20)
        .map(|seed| {
            let (base, drawn) = (
                window_times("[1.0, 1.0]", seed),
                window_times("[0.25, 4.0]", seed),
            );
            assert_eq!(drawn, window_times("[0.25, 4.0]", seed));
            let total = |w: &[[i64; 3]]| w.iter().map(|j| j[1] as f64).sum::<f64>();
            total(&drawn) / total(&base)
        })
        .collect();
    assert!(
        ratios.iter().all(|r| (0.24..=4.1).contains(r)),
        "{ratios:?}"
    );
    assert!(
        ratios.iter().any(|&r| r < 1.0) && ratios.iter().any(|&r| r > 1.0),
        "{ratios:?}"
    );
    let err = BatchConfig::from_toml("time_scale = [2.0, 1.0]", "test").unwrap_err();
    assert_eq!(
        err.to_string(),
        "config error: test: time_scale = [2, 1]: need finite 0.01 <= low <= high <= 100"
    );
}

#[test]
fn metrics_kept_up_to_date_each_step_equal_a_recount_of_the_schedule() {
    let config = BatchConfig::from_toml("window_jobs = 300\nbackfill = true", "test").unwrap();
    let threshold = config.bounded_slowdown_threshold_s;
    let mut env = BatchScenario::new(config).unwrap();
    let mut obs = env.reset(4);
    loop {
        let t = env.step(&shortest(&obs)).unwrap();
        let sim = env.simulation().unwrap();
        // A recount by job index (a different summation order: equal to rounding).
        let started: Vec<(f64, f64)> = (0..sim.jobs().len())
            .filter_map(|j| {
                let job = sim.jobs()[j];
                let wait = (sim.start_time(j)? - job.submit) as f64;
                Some((wait, job.run as f64))
            })
            .collect();
        let bsld = started
            .iter()
            .map(|&(w, r)| ((w + r) / r.max(threshold)).max(1.0))
            .sum::<f64>()
            / started.len() as f64;
        let wait = started.iter().map(|s| s.0).sum::<f64>() / started.len() as f64;
        let names = env.metric_names();
        let got = |name| t.info.get(names, name).unwrap();
        assert!(
            (got("avg_bounded_slowdown") - bsld).abs() <= 1e-12 * bsld,
            "{bsld}"
        );
        assert_eq!(got("avg_wait_s"), wait, "integer seconds sum exactly");
        assert_eq!(got("jobs_started"), started.len() as f64);
        // A fresh pass over the same start order is the same to the bit.
        assert_eq!(
            sim.metrics(threshold).bounded_slowdown,
            got("avg_bounded_slowdown")
        );
        if t.terminated {
            assert_eq!(t.reward, -got("avg_bounded_slowdown"), "the default reward");
            break;
        }
        obs = t.obs;
    }
}

#[test]
fn observe_start_encodes_when_each_visible_job_could_start() {
    let config = BatchConfig::from_toml("window_jobs = 200\nobserve_start = true", "test").unwrap();
    let mut env = BatchScenario::new(config).unwrap();
    let spec = env.feature_spec().clone();
    let parts = spec.entity_parts().unwrap();
    assert_eq!(parts.entity_features, 5);
    let default = BatchScenario::new(BatchConfig::default()).unwrap();
    assert_ne!(
        spec.hash(),
        default.feature_spec().hash(),
        "a different observation"
    );
    let mut obs = env.reset(2);
    let mut encoded = vec![0.0; spec.encoded_len()];
    let mut waiting = 0;
    while !obs.queue.is_empty() {
        env.encode(&obs, &mut encoded);
        let running: Vec<(i64, u32)> = obs
            .running
            .iter()
            .map(|r| (r.requested_end_s, r.procs))
            .collect();
        for (i, job) in obs.visible().iter().enumerate() {
            // The simulator's own answer: this job alone, chosen next, without backfilling.
            let alone = job.as_requested();
            let mut sim = Simulation::resume(
                obs.now_s,
                obs.total_procs,
                Backfill::Off,
                &running,
                &[alone],
                &[],
            );
            sim.schedule(0);
            let start = sim.start_time(running.len()).unwrap() - obs.now_s;
            let at = parts.entities_offset() + i * parts.entity_features + 4;
            assert_eq!(
                encoded[at],
                (start as f64 / 3600.0) as f32,
                "job {i} at {}",
                obs.now_s
            );
            waiting += usize::from(start > 0);
        }
        let t = env.step(&shortest(&obs)).unwrap();
        if t.terminated {
            break;
        }
        obs = t.obs;
    }
    assert!(waiting > 0, "some visible job had to wait");
}

#[test]
fn observe_log_adds_the_logs_of_what_each_visible_job_shows() {
    let with = |extra: &str| {
        let toml = format!("window_jobs = 200\nobserve_start = true\n{extra}");
        BatchScenario::new(BatchConfig::from_toml(&toml, "test").unwrap()).unwrap()
    };
    let mut plain = with("");
    let mut logs = with("observe_log = true");
    let (plain_parts, log_parts) = (
        plain.feature_spec().entity_parts().unwrap(),
        logs.feature_spec().entity_parts().unwrap(),
    );
    assert_eq!(
        (plain_parts.entity_features, log_parts.entity_features),
        (5, 9)
    );
    assert_ne!(plain.feature_spec().hash(), logs.feature_spec().hash());
    let without_start = BatchConfig::from_toml("observe_log = true", "test").unwrap();
    let without_start = BatchScenario::new(without_start).unwrap();
    assert_eq!(
        without_start
            .feature_spec()
            .entity_parts()
            .unwrap()
            .entity_features,
        7
    );

    let (mut obs, same) = (plain.reset(3), logs.reset(3));
    assert_eq!(
        obs, same,
        "the option changes what is encoded, not the episode"
    );
    let mut a = vec![0.0; plain.feature_spec().encoded_len()];
    let mut b = vec![0.0; logs.feature_spec().encoded_len()];
    let mut checked = 0;
    loop {
        plain.encode(&obs, &mut a);
        logs.encode(&obs, &mut b);
        assert_eq!(a[..4], b[..4], "global features");
        for (i, job) in obs.visible().iter().enumerate() {
            let ra = &a[plain_parts.entities_offset() + i * 5..][..5];
            let rb = &b[log_parts.entities_offset() + i * 9..][..9];
            assert_eq!(ra, &rb[..5], "job {i}: the features without logs stay");
            let start_minutes = f64::from(ra[4]) * 60.0;
            let expected = [
                (job.wait_s as f64 / 60.0).ln_1p(),
                (job.requested_s as f64 / 60.0).ln_1p(),
                f64::from(job.procs).ln(),
                start_minutes.ln_1p(),
            ];
            for (k, want) in expected.into_iter().enumerate() {
                assert!(
                    (f64::from(rb[5 + k]) - want).abs() < 1e-4,
                    "job {i} log {k}"
                );
            }
            checked += 1;
        }
        let t = plain.step(&shortest(&obs)).unwrap();
        let u = logs.step(&shortest(&obs)).unwrap();
        assert_eq!(t.obs, u.obs);
        if t.terminated {
            break;
        }
        obs = t.obs;
    }
    assert!(checked > 1000, "checked {checked} rows");
}

#[test]
fn reward_per_job_gives_each_job_its_share_and_the_same_return() {
    for reward in ["bounded_slowdown", "wait", "turnaround"] {
        let with = |per_job: bool| {
            let toml = format!(
                "window_jobs = 300\nbackfill = true\nreward = \"{reward}\"\nreward_per_job = {per_job}"
            );
            BatchScenario::new(BatchConfig::from_toml(&toml, "test").unwrap()).unwrap()
        };
        let (mut at_end, mut per_job) = (with(false), with(true));
        let mut obs = at_end.reset(5);
        assert_eq!(per_job.reset(5), obs);
        let (mut end_return, mut per_job_return, mut early) = (0.0, 0.0, 0);
        loop {
            let (t, u) = (
                at_end.step(&shortest(&obs)).unwrap(),
                per_job.step(&shortest(&obs)).unwrap(),
            );
            assert_eq!((&t.obs, t.terminated), (&u.obs, u.terminated), "{reward}");
            assert_eq!(
                t.info.values, u.info.values,
                "{reward}: the metrics do not change"
            );
            // Every step starts the chosen job, whose bounded slowdown is at least 1.
            let bsld = reward == "bounded_slowdown";
            assert!(
                u.reward < 0.0 || (!bsld && u.reward == 0.0),
                "{reward}: a cost"
            );
            early += usize::from(!t.terminated && u.reward < 0.0);
            end_return += t.reward;
            per_job_return += u.reward;
            if t.terminated {
                break;
            }
            obs = t.obs;
        }
        assert!(
            early > 40,
            "{reward}: rewards come as jobs start ({early} early)"
        );
        let tolerance = 1e-9 * end_return.abs().max(1.0);
        assert!(
            (end_return - per_job_return).abs() < tolerance,
            "{reward}: {end_return} at the end, {per_job_return} per job"
        );
    }
}

#[test]
fn reward_per_job_is_refused_for_metrics_that_are_not_job_averages() {
    for reward in ["utilisation", "makespan"] {
        let toml = format!("reward = \"{reward}\"\nreward_per_job = true");
        let err = BatchConfig::from_toml(&toml, "b.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("reward_per_job") && err.contains("b.toml"),
            "{err}"
        );
    }
}
