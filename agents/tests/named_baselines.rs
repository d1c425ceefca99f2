//! Baselines chosen by name, parameterised ones included (`reactive@0.7`,
//! `forecast+30%:holt-winters-additive(24)`, `greedy-spillover@0.6`), as the CLI's `--policies`
//! and Python's `evaluate` pick them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_agents::evaluate::{ContenderFactory, evaluate};
use planetgym_agents::registry::{Built, RegisteredScenario, ScenarioVisitor, with_scenario};

/// The rows' names and mean rewards of `names` on 2 episodes, or the selection's error.
struct Run(Vec<&'static str>);

impl ScenarioVisitor for Run {
    type Output = Result<Vec<(String, f64)>, String>;
    type Error = planetgym_agents::registry::RegistryError;
    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Self::Output, Self::Error> {
        let names: Vec<String> = self.0.iter().map(|n| n.to_string()).collect();
        let chosen: Vec<ContenderFactory<S>> = match built.select_baselines(&names) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let results = evaluate(&built.env, &chosen, 2, 5, false, &|| {}).unwrap();
        Ok(Ok(names
            .iter()
            .zip(chosen.iter())
            .map(|(_, make)| {
                let name = make().name();
                let rewards: Vec<f64> = results
                    .iter()
                    .filter(|r| r.policy == name)
                    .map(|r| r.reward)
                    .collect();
                (name, rewards.iter().sum::<f64>() / rewards.len() as f64)
            })
            .collect()))
    }
}

fn run(scenario: &str, config: &str, names: &[&'static str]) -> Result<Vec<(String, f64)>, String> {
    with_scenario(scenario, config, "test", Run(names.to_vec())).unwrap()
}

const CAPACITY: &str = "episode_periods = 24";
const TRAFFIC: &str = "episode_intervals = 12\n[world]\nkind = \"synthetic\"\n[world.synthetic]\nregions = 6\nsites = 3\n";

#[test]
fn parameterised_capacity_baselines_run_under_the_names_given() {
    let rows = run(
        "capacity",
        CAPACITY,
        &[
            "reactive@0.8",
            "reactive@0.5",
            "forecast+30%:holt-winters-additive(24)",
            "forecast+12.5%:seasonal-naive(24)",
            "forecast+20%:moving-average(6)",
        ],
    )
    .unwrap();
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "reactive@0.8",
            "reactive@0.5",
            "forecast+30%:holt-winters-additive(24)",
            "forecast+12.5%:seasonal-naive(24)",
            "forecast+20%:moving-average(6)",
        ]
    );
    // The parameter takes effect: a lower target keeps more capacity, at another cost.
    assert_ne!(rows[0].1, rows[1].1, "{rows:?}");
}

#[test]
fn parameterised_traffic_baselines_run_under_the_names_given() {
    let rows = run(
        "traffic",
        TRAFFIC,
        &["greedy-spillover@0.6", "lp", "greedy-spillover@1"],
    )
    .unwrap();
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["greedy-spillover@0.6", "lp", "greedy-spillover@1"]);
    assert_ne!(rows[0].1, rows[2].1, "{rows:?}");
}

#[test]
fn rollout_batch_baselines_run_under_the_names_given() {
    let config = "window_jobs = 64";
    let names = [
        "sjf",
        "rollout-sjf@1",
        "rollout-saf@8+3h",
        "rollout-f1@4",
        "oracle-rollout-saf@8+3h",
    ];
    let rows = run("batch", config, &names).unwrap();
    let mut expected = names.map(str::to_string);
    expected[4] += " (sees the next 3 h)";
    let got: Vec<&String> = rows.iter().map(|(n, _)| n).collect();
    assert_eq!(got, expected.iter().collect::<Vec<_>>());
    assert_eq!(
        rows[0].1, rows[1].1,
        "one candidate is the base rule: {rows:?}"
    );
    for (names, expected) in [
        (["rollout-sjf@0"], "[1, 64]"),
        (["rollout-sjf@65"], "[1, 64]"),
        (["rollout-lifo@4"], "no base rule `lifo`; known: fcfs, sjf"),
        (["rollout-sjf@4+0h"], "whole hours in [1, 168]"),
        (["rollout-sjf@4+169h"], "whole hours in [1, 168]"),
        (["rollout-sjf@4+3"], "whole hours in [1, 168]"),
        (["oracle-rollout-sjf@4"], "sees the next H hours"),
    ] {
        let e = run("batch", config, &names).unwrap_err();
        assert!(e.contains(expected), "{names:?}: {e}");
    }
    let e = run("batch", config, &["nope"]).unwrap_err();
    assert!(e.contains("rollout-RULE@K"), "the forms are listed: {e}");
}

#[test]
fn bad_names_say_what_is_allowed() {
    let cases: [(&str, &str, &[&'static str], &str); 7] = [
        (
            "capacity",
            CAPACITY,
            &["reactive@1.5"],
            "must be a number in (0, 1]",
        ),
        (
            "capacity",
            CAPACITY,
            &["reactive@nan"],
            "must be a number in (0, 1]",
        ),
        (
            "capacity",
            CAPACITY,
            &["forecast+900%:seasonal-naive(24)"],
            "[0, 500]",
        ),
        (
            "capacity",
            CAPACITY,
            &["forecast+30%:arima(2)"],
            "holt-winters-additive(N)",
        ),
        (
            "capacity",
            CAPACITY,
            &["forecast+30%:seasonal-naive(0)"],
            "1 <= N <= 10000",
        ),
        (
            "traffic",
            TRAFFIC,
            &["nope"],
            "known: nearest, capacity-proportional",
        ),
        ("traffic", TRAFFIC, &["lp", "lp"], "named twice"),
    ];
    for (scenario, config, names, expected) in cases {
        let e = run(scenario, config, names).unwrap_err();
        assert!(e.contains(expected), "{names:?}: {e}");
    }
    let e = run("traffic", TRAFFIC, &["nope"]).unwrap_err();
    assert!(
        e.contains("greedy-spillover@U"),
        "the forms are listed: {e}"
    );
}
