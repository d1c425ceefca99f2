//! Acceptance of the traffic baselines on the default scenario (24 h episodes).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_agents::classic::traffic::baselines;
use planetgym_agents::evaluate::{EpisodeResult, evaluate, summarise};
use planetgym_env::ScenarioConfig;
use planetgym_env::{Scenario, TrafficConfig, TrafficScenario};

fn mean_of(rows: &[planetgym_agents::evaluate::SummaryRow], policy: &str, metric: &str) -> f64 {
    rows.iter()
        .find(|r| r.policy.starts_with(policy) && r.metric == metric)
        .map(|r| r.mean)
        .unwrap()
}

#[test]
fn default_scenario_ranks_the_baselines_as_expected() {
    let config = TrafficConfig::default();
    let env = TrafficScenario::new(config.clone()).unwrap();
    let results = evaluate(&env, &baselines(&config, 54 * 12), 3, 11, true, &|| {}).unwrap();
    let rows = summarise(&results, env.metric_names());
    let reward = |p: &str| mean_of(&rows, p, "reward");
    assert!(reward("lp") > reward("nearest"), "{rows:#?}");
    assert!(reward("lp") > reward("capacity-proportional"), "{rows:#?}");
    assert!(reward("lp") > reward("greedy-spillover"), "{rows:#?}");
    // The oracle sees the true next interval: no worse than the LP on any episode.
    let by_episode = |p: &str| -> Vec<f64> {
        results
            .iter()
            .filter(|r| r.policy.starts_with(p))
            .map(|r| r.reward)
            .collect()
    };
    for (oracle, lp) in by_episode("oracle-lp").iter().zip(by_episode("lp")) {
        assert!(*oracle >= lp - 1e-6 * lp.abs(), "oracle {oracle} < lp {lp}");
    }

    // Nearest-site routing overloads: drops concentrated in the busiest intervals.
    let nearest: &EpisodeResult = results
        .iter()
        .find(|r| r.policy == "nearest" && r.episode == 0)
        .unwrap();
    let names = env.metric_names();
    let column = |name: &str| names.iter().position(|n| *n == name).unwrap();
    let (drop_i, demand_i) = (column("dropped_fraction"), column("demand_rps"));
    let mut steps: Vec<(f64, f64)> = nearest
        .trajectory
        .iter()
        .map(|s| (s.metrics[demand_i], s.metrics[drop_i]))
        .collect();
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let q = steps.len() / 4;
    let mean = |s: &[(f64, f64)]| s.iter().map(|x| x.1).sum::<f64>() / s.len() as f64;
    let (quiet, busy) = (mean(&steps[..q]), mean(&steps[steps.len() - q..]));
    assert!(busy > 0.02, "nearest drops {busy} in the busiest quarter");
    assert!(busy > 5.0 * quiet, "busy {busy} vs quiet {quiet}");
    assert!(
        mean_of(&rows, "lp", "dropped_fraction")
            < 0.1 * mean_of(&rows, "nearest", "dropped_fraction")
    );
}

#[test]
fn evaluation_is_identical_for_any_thread_count() {
    let config = TrafficConfig::from_toml("episode_intervals = 60", "test").unwrap();
    let env = TrafficScenario::new(config.clone()).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| evaluate(&env, &baselines(&config, 54 * 12), 2, 5, true, &|| {}).unwrap())
    };
    assert_eq!(run(1), run(2));
}
