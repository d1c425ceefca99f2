//! Every bound on a size, count, rate or weight, and every refusal of a bad value in a trace, as
//! a table: the input, and what the error must say. A bound that is not here is not tested.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use planetgym_env::traces::{openb, swf};
use planetgym_env::{
    AutoresetMode, BatchConfig, CapacityConfig, PlacementConfig, ScenarioConfig, TrafficConfig,
    TrafficScenario, VecEnv,
};

/// Each `(config, expected fragment of the error)` is refused with that message.
fn all_refused<C: ScenarioConfig + std::fmt::Debug>(cases: &[(&str, &str)]) {
    for (toml, want) in cases {
        let err = C::from_toml(toml, "t.toml")
            .expect_err(&format!("{toml} should be refused"))
            .to_string();
        assert!(err.contains(want), "{toml}: {err}");
    }
}

#[test]
fn scenario_configs_bound_every_size_rate_and_weight() {
    // (config, expected fragment of the message)
    let traffic: &[(&str, &str)] = &[
        (
            "interval_s = 1.2e21",
            "interval_s = 1.2e21: must be in (0, 86400]",
        ),
        (
            "interval_s = nan",
            "interval_s = NaN: must be in (0, 86400]",
        ),
        (
            "episode_intervals = 0",
            "episode_intervals = 0: must be at least 1",
        ),
        (
            "interval_s = 86400\nepisode_intervals = 400",
            "at most a year of simulated time",
        ),
        (
            "[failures]\nlink_degradations_per_day = 16384",
            "failures.link_degradations_per_day = 16384: must be in [0, 1440]",
        ),
        (
            "[failures]\nsite_failures_per_day = inf",
            "failures.site_failures_per_day = inf",
        ),
        (
            "[failures]\nmean_link_minutes = 1e300",
            "failures.mean_link_minutes = 1e300: must be in (0, 527040]",
        ),
        (
            "[demand]\nflash_crowds_per_region_day = 1e9",
            "demand.flash_crowds_per_region_day = 1000000000",
        ),
        (
            "[demand]\nflash_crowd_minutes = [1.0, 1e300]",
            "demand.flash_crowd_minutes = [1, 1e300]",
        ),
        (
            "[demand]\nglobal_rate_rps = 1e300",
            "demand.global_rate_rps = 1e300",
        ),
        (
            "[reward]\ncost_weight = 1e308",
            "reward.cost_weight = 1e308: must be in [0, 1000000]",
        ),
        (
            "[sites]\ncarbon_price_usd_per_tonne = -1",
            "sites.carbon_price_usd_per_tonne = -1: must be in [0, 1000000] (inclusive)",
        ),
        (
            "[world]\nkind = \"synthetic\"\n[world.synthetic]\nregions = 100000000\nsites = 10",
            "world.synthetic: 100000000 regions x 10 sites would need about",
        ),
        (
            "[latency]\nservice_time_ms = 20\nmax_queue_delay_ms = 20",
            "max_queue_delay_ms = 20: must exceed service_time_ms",
        ),
    ];
    all_refused::<TrafficConfig>(traffic);
    let batch: &[(&str, &str)] = &[
        (
            "visible_jobs = 4294967295",
            "visible_jobs = 4294967295: at most 4096 (each decision encodes and scores every visible job)",
        ),
        ("visible_jobs = 0", "visible_jobs = 0: must be at least 1"),
        (
            "window_jobs = 100000000",
            "window_jobs = 100000000: at most 10000000",
        ),
        (
            "processors = 4000000000",
            "processors = 4000000000: at most 10000000",
        ),
        (
            "load_scale = 0.001",
            "load_scale = 0.001: must be in [0.01, 100] (inclusive)",
        ),
        (
            "time_scale = [0.001, 1.0]",
            "time_scale = [0.001, 1]: need finite 0.01 <= low <= high <= 100",
        ),
        (
            "bounded_slowdown_threshold_s = -1",
            "bounded_slowdown_threshold_s = -1",
        ),
    ];
    all_refused::<BatchConfig>(batch);
    let placement: &[(&str, &str)] = &[
        (
            "synthetic_nodes = 10000000",
            "synthetic_nodes = 10000000: at most 100000",
        ),
        (
            "inflation_target = 1e9",
            "inflation_target = 1000000000: must be in (0, 10]",
        ),
        (
            "[reward]\nfailure_weight = nan",
            "reward.failure_weight = NaN",
        ),
    ];
    all_refused::<PlacementConfig>(placement);
    let capacity: &[(&str, &str)] = &[
        (
            "[cost]\nchange_per_unit = 1e308",
            "cost.change_per_unit = 1e308: must be in [0, 1000000]",
        ),
        (
            "site_phase_shift_h = nan",
            "site_phase_shift_h = NaN: must be in [0, 8784] (inclusive)",
        ),
        (
            "episode_periods = 9223372036854775807",
            "episode_periods = 9223372036854775807: at most 100000",
        ),
        (
            "history_periods = 1000000",
            "history_periods = 1000000: at most 100000",
        ),
        ("sites = 65", "sites = 65: at most 64"),
        (
            "period_s = 1e300",
            "period_s = 1e300: must be in (0, 2592000]",
        ),
        ("max_units = 10000000", "need 0 <= min < max <= 1000000"),
        ("changes = [0, 100]", "no change larger than max_units (60)"),
        ("lead_time_periods = 9", "lead_time_periods = 9: at most 8"),
        (
            "[forecast]\nseason_periods = 100000",
            "forecast.season_periods = 100000: at most 10000",
        ),
    ];
    all_refused::<CapacityConfig>(capacity);
}

#[test]
fn vector_env_copies_and_threads_are_bounded_before_anything_is_built() {
    let scenario =
        TrafficScenario::new(TrafficConfig::from_toml("episode_intervals = 2", "t").unwrap())
            .unwrap();
    for (copies, threads, want) in [
        (0, 0, "num_envs (vector env copies) = 0: must be at least 1"),
        (
            1 << 62,
            0,
            "num_envs (vector env copies) = 4611686018427387904: at most 65536",
        ),
        (2, 1_000_000, "threads = 1000000: at most"),
    ] {
        let err = VecEnv::new(
            scenario.clone(),
            copies,
            0,
            threads,
            AutoresetMode::SameStep,
        )
        .expect_err("refused")
        .to_string();
        assert!(
            err.contains(want),
            "{copies} copies, {threads} threads: {err}"
        );
    }
    assert!(VecEnv::new(scenario, 2, 0, 2, AutoresetMode::SameStep).is_ok());
}

#[test]
fn csv_errors_give_the_physical_line_and_short_excerpts() {
    let long = "9".repeat(20_000_000);
    let header = "sn,cpu_milli,memory_mib,gpu,model\n";
    let cases = [
        // Blank lines and a quoted newline before the bad row: it starts on line 5 (not record 1 + 2).
        (
            format!("{header}n0,1,1,0,\n\n\n\"n\n1\",lots,1,0,\n"),
            "line 5: cpu_milli = `lots`",
        ),
        (
            format!("{header}n0,{long},1,0,\n"),
            "cpu_milli = `9999999999999999999999999999999999999999... (20000000 bytes in all)`",
        ),
        (
            format!("\u{feff}{header}n0,x,1,0,\n"),
            "line 2: cpu_milli = `x`",
        ),
        (
            format!("{header}n0,1,1\n"),
            "line 2: 3 fields, the lines before have 5",
        ),
    ];
    for (text, want) in &cases {
        let err = openb::read_nodes(text.as_bytes(), "nodes.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(want),
            "{want}: {}",
            planetgym_env::bounds::excerpt(&err, 200)
        );
        assert!(err.len() < 300, "messages stay short: {} bytes", err.len());
    }
}

#[test]
fn openb_times_must_be_ordered_and_non_negative() {
    let header = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time\n";
    for (row, want) in [
        (
            "p,1,1,0,0,,LS,Running,-5,10",
            "creation_time = -5: must be in [0, ",
        ),
        (
            "p,1,1,0,0,,LS,Running,50,10",
            "deletion_time = 10: must be in [creation_time = 50, ",
        ),
        (
            "p,1,1,0,0,,LS,Running,99999999999999,",
            "creation_time = 99999999999999",
        ),
    ] {
        let err = openb::read_pods(format!("{header}{row}\n").as_bytes(), "pods.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("line 2: {want}")), "{row}: {err}");
    }
}

#[test]
fn swf_values_that_would_saturate_are_reported() {
    let head = "; MaxProcs: 8\n";
    for (line, want) in [
        (
            "1 1e30 -1 100 4 -1 -1 -1 -1 -1 1 7 -1 -1 0 -1 -1 -1",
            "field 2 (submit) = 1e30 is out of range: at most 3162240000 in magnitude",
        ),
        (
            "1e300 0 -1 100 4 -1 -1 -1 -1 -1 1 7 -1 -1 0 -1 -1 -1",
            "field 1 (job) = 1e300 is out of range",
        ),
        (
            "1 0 -1 1e12 4 -1 -1 -1 -1 -1 1 7 -1 -1 0 -1 -1 -1",
            "field 4 (run) = 1000000000000 is out of range",
        ),
    ] {
        let err = swf::parse(
            format!("{head}{line}\n").as_bytes(),
            "log.swf",
            Default::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(&format!("line 2: {want}")), "{line}: {err}");
    }
    let with_bom = "\u{feff}; MaxProcs: 8\n1 0 -1 100 4 -1 -1 -1 -1 -1 1 7 -1 -1 0 -1 -1 -1\n";
    let log = swf::parse(with_bom.as_bytes(), "bom.swf", Default::default()).unwrap();
    assert_eq!(
        (log.machine_procs, log.jobs.len()),
        (8, 1),
        "a byte-order mark is not data"
    );
}

#[test]
fn demand_series_refuse_negative_huge_and_shuffled_values() {
    let dir = tempfile::tempdir().unwrap();
    let day = |values: &dyn Fn(usize) -> String| {
        let mut text = String::from("day,row_in_day,avg_cpu\n");
        for i in 0..288 {
            text.push_str(&format!("1,{},{}\n", i, values(i)));
        }
        text
    };
    let shuffled = {
        let mut text = day(&|_| "1.0".into());
        text = text
            .replacen("1,3,", "1,X,", 1)
            .replacen("1,2,", "1,3,", 1)
            .replacen("1,X,", "1,2,", 1);
        text
    };
    for (name, text, want) in [
        (
            "negative",
            day(&|i| if i == 7 { "-3".into() } else { "1.0".into() }),
            "line 9: avg_cpu = -3 is outside [0, 1000000000000]",
        ),
        (
            "outlier",
            day(&|i| if i == 7 { "1e308".into() } else { "1.0".into() }),
            "line 9: avg_cpu = 1e308 is outside",
        ),
        ("shuffled", shuffled, "row_in_day = 2 after 3 in day 1"),
    ] {
        let path = dir.path().join(format!("{name}.csv"));
        std::fs::write(&path, text).unwrap();
        let spec = format!("google2019:{}", path.display());
        let err = planetgym_env::capacity::series::load(&spec)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{name}: {err}");
    }
}

#[test]
fn a_missing_file_names_the_os_error_once() {
    let err = planetgym_env::input::read_to_string(std::path::Path::new("/nonexistent/x.csv"))
        .unwrap_err();
    assert_eq!(err.to_string(), "could not read /nonexistent/x.csv");
    assert_eq!(
        err.chain(),
        "could not read /nonexistent/x.csv: No such file or directory (os error 2)"
    );
}
