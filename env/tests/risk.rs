//! The risk scenario: costs add up, illegal actions change nothing, and labels follow the
//! censoring rule (a mitigated failure is never observed; the truth keeps it).
#![allow(clippy::unwrap_used)]

use planetgym_env::risk::FaultKind;
use planetgym_env::{Action, RiskConfig, RiskScenario, Scenario, ScenarioConfig};

fn env(text: &str) -> RiskScenario {
    RiskScenario::new(RiskConfig::from_toml(text, "test").unwrap()).unwrap()
}

fn pass(env: &RiskScenario) -> Action {
    Action::Discrete(3 * env.config().hosts)
}

/// Runs an episode, migrating each host the oracle view says fails within `lead` hours.
fn run(env: &mut RiskScenario, seed: u64, lead: Option<usize>) -> (f64, Vec<f64>) {
    env.reset(seed);
    let mut ret = 0.0;
    loop {
        let mask = env.action_mask().unwrap().to_vec();
        let migrate = lead.and_then(|lead| {
            env.oracle_view()
                .next_fault
                .iter()
                .enumerate()
                .find(|(h, f)| matches!(f, Some((due, _)) if *due < lead) && mask[3 * h + 2])
                .map(|(h, _)| 3 * h + 2)
        });
        let t = env
            .step(&migrate.map_or_else(|| pass(env), Action::Discrete))
            .unwrap();
        ret += t.reward;
        if t.terminated {
            return (ret, t.info.values);
        }
    }
}

#[test]
fn the_return_is_minus_the_total_cost_and_runs_repeat() {
    let mut e = env("");
    let (ret, info) = run(&mut e, 3, Some(2));
    assert!(
        (ret + info[0]).abs() < 1e-6 * info[0].max(1.0),
        "{ret} {info:?}"
    );
    assert!((info[0] - info[1] - info[2]).abs() < 1e-9);
    assert!(
        info[5] > 0.0,
        "the oracle-led migrations avert faults: {info:?}"
    );
    assert_eq!(run(&mut e, 3, Some(2)), (ret, info));
    let (idle, idle_info) = run(&mut e, 3, None);
    assert_eq!(idle_info[6], 0.0);
    assert!(idle_info[3] > 0.0);
    assert_ne!(idle, ret);
}

#[test]
fn illegal_actions_are_errors_that_change_nothing() {
    let mut e = env("max_mitigations_per_hour = 1\ncontrol_share = 0.25");
    assert!(e.step(&Action::Discrete(0)).is_err(), "before reset");
    e.reset(1);
    let before = (e.action_mask().unwrap().to_vec(), e.labelled_rows());
    for bad in [
        Action::Discrete(3 * 32 + 1),
        Action::Discrete(0), // host 0 is in the control group
        Action::Continuous(vec![0.0]),
    ] {
        assert!(e.step(&bad).is_err(), "{bad:?}");
        assert_eq!(
            (e.action_mask().unwrap().to_vec(), e.labelled_rows()),
            before
        );
    }
    e.step(&Action::Discrete(3 * 31)).unwrap(); // block the last host
    let mask = e.action_mask().unwrap();
    assert!(mask[..3 * 32].iter().all(|m| !m), "one mitigation per hour");
    assert!(mask[3 * 32]);
}

/// Hosts migrated before their fault is due never show it as observed, but the truth keeps
/// it; control hosts are never mitigated, so their observed labels are the truth.
#[test]
fn mitigated_failures_are_censored_and_the_truth_is_kept() {
    let mut e = env("control_share = 0.25\nmax_mitigations_per_hour = 96");
    run(&mut e, 11, Some(3));
    let rows = e.labelled_rows();
    assert!(!rows.is_empty());
    let censored = rows.iter().filter(|r| r.truth && !r.observed).count();
    assert!(censored > 0);
    assert!(
        rows.iter().all(|r| !r.observed || r.truth),
        "observed implies true"
    );
    assert!(
        rows.iter()
            .filter(|r| r.truth && !r.observed)
            .all(|r| r.mitigated && !r.control)
    );
    let control: Vec<_> = rows.iter().filter(|r| r.control).collect();
    assert!(control.iter().any(|r| r.truth));
    assert!(
        control
            .iter()
            .all(|r| r.observed == r.truth && !r.mitigated)
    );
    // Time order: no row's horizon runs past the hours simulated.
    let horizon = e.config().horizon_hours;
    assert!(rows.iter().all(|r| r.hour + horizon <= 168));
}

/// A reboot clears a software fault and leaves a hardware one.
#[test]
fn reboots_fix_software_faults_only() {
    let mut e = env("[faults]\nper_host_week = 3.0\nannounced_share = 1.0");
    e.reset(2);
    let mut seen = [false; 2];
    for _ in 0..168 {
        let active: Vec<(usize, FaultKind)> = e
            .oracle_view()
            .next_fault
            .iter()
            .enumerate()
            .filter_map(|(h, f)| f.filter(|(due, _)| *due <= 2).map(|(_, k)| (h, k)))
            .filter(|(h, _)| e.action_mask().unwrap()[3 * h + 1])
            .collect();
        if let Some(&(h, kind)) = active.first() {
            e.step(&Action::Discrete(3 * h + 1)).unwrap();
            let left = e.oracle_view().next_fault[h];
            let still = left.is_some_and(|(due, k)| due <= 2 && k == kind);
            match kind {
                FaultKind::Soft => assert!(!still, "a reboot fixes a software fault"),
                FaultKind::Hard => assert!(still, "a reboot leaves a hardware fault"),
            }
            seen[usize::from(kind == FaultKind::Hard)] = true;
        }
        if e.step(&pass(&e)).unwrap().terminated {
            break;
        }
    }
    assert_eq!(seen, [true, true]);
}

#[test]
fn observations_encode_finite_and_in_shape() {
    let mut e = env("hosts = 5");
    let obs = e.reset(4);
    let mut out = vec![f32::NAN; e.feature_spec().encoded_len()];
    e.encode(&obs, &mut out);
    assert!(out.iter().all(|v| v.is_finite()));
    assert_eq!(e.entity_labels(&obs).len(), 16);
    assert!(e.scene().is_ok());
}
