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

/// An Azure-format series of hourly steps: sample `k` of hour `h` is `value(h)`.
fn hourly_csv(dir: &std::path::Path, name: &str, hours: usize, value: fn(usize) -> f64) -> String {
    let mut text = String::from("timestamp,cpu_usage\n");
    for slot in 0..hours * 12 {
        text.push_str(&format!("{},{}\n", slot * 300, value(slot / 12)));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    format!("azure_vm_v2:{}", path.display())
}

#[test]
fn history_series_gives_the_history_and_episodes_score_only_the_series() {
    let dir = tempfile::tempdir().unwrap();
    // History hours are below 10 and scored hours are 10 + their index, so each value says
    // where it came from; the scored mean is 14.5, which the scaling keeps.
    let before = hourly_csv(dir.path(), "before.csv", 6, |h| 1.0 + h as f64 / 100.0);
    let series = hourly_csv(dir.path(), "series.csv", 10, |h| 10.0 + h as f64);
    let config = |history: &str| {
        CapacityConfig::from_toml(
            &format!(
                "series = ['{series}']\nhistory_series = [{history}]\nsites = 2\n\
                 site_phase_shift_h = 5\nhistory_periods = 4\nepisode_periods = 3\n\
                 mean_demand_units = 14.5\nnoise_sigma = 0.0"
            ),
            "test",
        )
    };
    let mut env = CapacityScenario::new(config(&format!("'{before}'")).unwrap()).unwrap();
    let mut starts = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let obs = env.reset(seed);
        let demand = &env.oracle_view().demand;
        // Every scored period, of the shifted site too (which wraps past the end), is in the
        // series; the clock counts from the series' start.
        assert!(demand.iter().flatten().all(|&d| d > 9.99), "{demand:?}");
        let start = (demand[0][0] - 10.0).round();
        assert_eq!(obs.hour_of_day, start, "seed {seed}");
        let expected: Vec<f64> = (0..4)
            .map(|i| match start as usize + i {
                k if k < 4 => 1.0 + (k + 2) as f64 / 100.0,
                k => 10.0 + (k - 4) as f64,
            })
            .collect();
        let close = obs.history[0]
            .iter()
            .zip(&expected)
            .all(|(a, b)| (a - b).abs() < 1e-9);
        assert!(
            close,
            "seed {seed}: {:?} against {expected:?}",
            obs.history[0]
        );
        starts.insert(start as usize);
    }
    // 10 series hours leave 7 starts for 3-period episodes; without history_series the 4
    // history periods would come from the series and leave 3.
    assert_eq!(starts, (0..7).collect(), "{starts:?}");
    let err = config(&format!("'{before}', '{before}'")).unwrap_err();
    assert!(
        err.to_string().contains("history_series has 2 entries"),
        "{err}"
    );
    let short = hourly_csv(dir.path(), "short.csv", 3, |_| 1.0);
    let err = CapacityScenario::new(config(&format!("'{short}'")).unwrap()).unwrap_err();
    assert!(
        err.to_string()
            .contains("has 3 periods; need at least history_periods = 4"),
        "{err}"
    );
}
