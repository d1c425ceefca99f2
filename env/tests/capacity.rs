//! The capacity scenario and its demand series.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_env::ScenarioConfig;
use planetgym_env::capacity::series;
use planetgym_env::{Action, CapacityConfig, CapacityScenario, Scenario};

fn shared(path: &str) -> String {
    format!("{}/../../shared/data/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_real_series_format_loads_and_gaps_are_reported() {
    let google = series::load(&format!(
        "google2019:{}",
        shared("google/cluster2019_aggregated/instance_usage_avg_300s_day01-21.csv")
    ))
    .unwrap();
    assert_eq!((google.values.len(), google.gaps.as_str()), (21 * 288, ""));
    // Alibaba 2018: day 1 has 289 rows and day 2 226, at unknown times: both are dropped and
    // reported, days 3-6 remain.
    let alibaba = series::load(&format!(
        "alibaba2018:{}",
        shared("alibaba/v2018/cluster_avg_machine_usage_300s_day1-6.csv")
    ))
    .unwrap();
    assert_eq!(alibaba.values.len(), 4 * 288);
    assert_eq!(
        alibaba.gaps,
        "day 1 has 289 rows instead of 288: dropped; day 2 has 226 rows instead of 288: dropped"
    );
    let planetlab = series::load(&format!(
        "planetlab:{}:3",
        shared("planetlab/planetlab_cpu_util_20110303.csv")
    ))
    .unwrap();
    assert_eq!(planetlab.values.len(), 288);
    let qps = series::load(&format!("qps:{}", shared("alibaba/v2026_genai/qps.csv"))).unwrap();
    assert!(
        qps.values.len() > 100 && qps.values.iter().all(|v| *v >= 0.0),
        "{}",
        qps.values.len()
    );
    let err = series::load("google2019:/no/such.csv").unwrap_err();
    assert!(
        err.to_string().starts_with("could not read /no/such.csv"),
        "{err}"
    );
}

#[test]
fn additions_arrive_after_the_lead_time_and_removals_are_immediate() {
    let config = CapacityConfig::from_toml(
        "sites = 1\nlead_time_periods = 2\ninitial_units = 10\nnoise_sigma = 0.0",
        "test",
    )
    .unwrap();
    let mut env = CapacityScenario::new(config.clone()).unwrap();
    let obs = env.reset(1);
    assert_eq!(obs.capacity, vec![10]);
    let index = |c: i64| config.changes.iter().position(|&x| x == c).unwrap();
    let t = env.step(&Action::MultiDiscrete(vec![index(3)])).unwrap();
    assert_eq!(
        (t.obs.capacity[0], t.obs.in_flight[0].clone()),
        (10, vec![3, 0])
    );
    let t = env.step(&Action::MultiDiscrete(vec![index(-2)])).unwrap();
    assert_eq!(
        (t.obs.capacity[0], t.obs.in_flight[0].clone()),
        (8 + 3, vec![0, 0])
    );
    // The cost of that period counted 8 units (removal at once, addition not yet there).
    let capacity_cost = t.info.get(env.metric_names(), "capacity_cost").unwrap();
    assert_eq!(capacity_cost, 8.0);
}

#[test]
fn the_mask_enforces_the_bounds_and_bad_actions_are_errors() {
    let config =
        CapacityConfig::from_toml("sites = 2\ninitial_units = 2\nmax_units = 5", "test").unwrap();
    let mut env = CapacityScenario::new(config.clone()).unwrap();
    env.reset(0);
    let mask = env.action_mask().unwrap().to_vec();
    let options = config.changes.len();
    for (k, &c) in config.changes.iter().enumerate() {
        assert_eq!(mask[k], (-2..=3).contains(&c), "change {c}");
    }
    let minus_four = config.changes.iter().position(|&c| c == -4).unwrap();
    let err = env
        .step(&Action::MultiDiscrete(vec![minus_four, 4]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid action: action {minus_four} of dimension 0 is masked out (illegal in this state)"
        )
    );
    let err = env.step(&Action::MultiDiscrete(vec![4])).unwrap_err();
    assert!(err.to_string().contains("needs 2"), "{err}");
    assert_eq!(mask.len(), 2 * options);
}

#[test]
fn episodes_are_seeded() {
    let run = |seed| {
        let mut env = CapacityScenario::new(
            CapacityConfig::from_toml("episode_periods = 24", "test").unwrap(),
        )
        .unwrap();
        let obs = env.reset(seed);
        (obs.history.clone(), obs.forecast.clone())
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}
