//! Every scenario describes its state for pictures (`Scenario::scene`): refused before a
//! reset, and after some steps a scene that holds what happened.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_env::scene::{Panel, PlaceKind};
use planetgym_env::{
    Action, BatchScenario, CapacityScenario, EnvError, PlacementScenario, Scenario, ScenarioConfig,
    Space, TrafficScenario,
};

/// The lowest legal choice per mask row (a `Discrete` space has one row).
fn first_legal(mask: &[bool], options: usize) -> Vec<usize> {
    mask.chunks(options)
        .map(|row| row.iter().position(|&m| m).unwrap())
        .collect()
}

fn before_reset_is_refused<S: Scenario>(env: &S) {
    assert!(
        matches!(env.scene(), Err(EnvError::NotReset)),
        "{}",
        env.name()
    );
}

#[test]
fn the_batch_scene_is_a_gantt_chart_of_the_started_jobs() {
    let mut env = BatchScenario::new(ScenarioConfig::from_toml("", "test").unwrap()).unwrap();
    before_reset_is_refused(&env);
    env.reset(3);
    for _ in 0..50 {
        let Space::Discrete { n } = env.action_space().clone() else {
            unreachable!()
        };
        let pick = first_legal(env.action_mask().unwrap(), n)[0];
        if env.step(&Action::Discrete(pick)).unwrap().terminated {
            break;
        }
    }
    let scene = env.scene().unwrap();
    let [Panel::Gantt(chart)] = &scene.panels[..] else {
        panic!("{scene:?}")
    };
    let jobs: std::collections::HashSet<u64> = chart.bars.iter().map(|b| b.job).collect();
    assert!(jobs.len() >= 50, "{} jobs drawn", jobs.len());
    assert!(
        chart
            .bars
            .iter()
            .all(|b| b.rows.1 <= chart.rows && b.start <= chart.now)
    );
}

#[test]
fn the_placement_scene_shows_every_gpu_and_the_allocation_over_time() {
    let config = ScenarioConfig::from_toml("synthetic_nodes = 200", "test").unwrap();
    let mut env = PlacementScenario::new(config).unwrap();
    before_reset_is_refused(&env);
    env.reset(1);
    let n = match env.action_space() {
        Space::Discrete { n } => *n,
        _ => unreachable!(),
    };
    for _ in 0..100 {
        let pick = first_legal(env.action_mask().unwrap(), n)[0];
        env.step(&Action::Discrete(pick)).unwrap();
    }
    let scene = env.scene().unwrap();
    let [Panel::Heatmap(gpus), Panel::Lines(over_time)] = &scene.panels[..] else {
        panic!("{scene:?}")
    };
    assert_eq!((gpus.rows.len(), gpus.columns.len()), (200, 8));
    assert_eq!(gpus.values.len(), 200 * 8);
    assert!(gpus.values.iter().any(|v| *v > 0.0), "some GPU allocated");
    assert!(gpus.values.iter().any(|v| v.is_nan()) || gpus.values.iter().all(|v| v.is_finite()));
    let allocated = &over_time.series[1].1;
    assert_eq!(allocated.len(), 101, "the reset and every decision");
    assert!(allocated.windows(2).all(|w| w[1].0 > w[0].0));
}

#[test]
fn the_traffic_scene_maps_the_split_and_marks_sites_that_lost_capacity() {
    let drill = "[failures]\nscripted = [{ kind = \"site\", site = \"eastus\", at_minute = 0, minutes = 600, capacity_fraction = 0.0 }]";
    let mut env = TrafficScenario::new(ScenarioConfig::from_toml(drill, "test").unwrap()).unwrap();
    before_reset_is_refused(&env);
    env.reset(5);
    let Space::Simplex { rows, cols } = env.action_space().clone() else {
        unreachable!()
    };
    let even = Action::Continuous(vec![1.0 / cols as f32; rows * cols]);
    for _ in 0..3 {
        env.step(&even).unwrap();
    }
    let scene = env.scene().unwrap();
    let [Panel::Heatmap(split), Panel::Map(map)] = &scene.panels[..] else {
        panic!("{scene:?}")
    };
    assert_eq!((split.rows.len(), split.columns.len()), (rows, cols));
    for row in split.values.chunks(cols) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-6);
    }
    let sites: Vec<_> = map
        .places
        .iter()
        .filter(|p| p.kind == PlaceKind::Site)
        .collect();
    assert_eq!(sites.len(), cols);
    let failed: Vec<&str> = sites
        .iter()
        .filter(|p| p.failed)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(failed, ["eastus"]);
    // An even split sends every region everywhere; flows under 1 % of the largest are left off.
    assert!(
        map.flows.len() > rows * cols / 2,
        "{} flows",
        map.flows.len()
    );
    assert!(map.flows.iter().any(|f| f.share == 1.0));
    assert!(map.flows.iter().all(|f| (0.01..=1.0).contains(&f.share)));
}

#[test]
fn the_capacity_scene_marks_every_order() {
    let mut env = CapacityScenario::new(ScenarioConfig::from_toml("", "test").unwrap()).unwrap();
    before_reset_is_refused(&env);
    env.reset(2);
    let Space::MultiDiscrete { nvec } = env.action_space().clone() else {
        unreachable!()
    };
    let (sites, options) = (nvec.len(), nvec[0]);
    assert!(sites <= 4, "the default has a panel per site");
    let changes = env.config().changes.clone();
    let mut orders = vec![0; sites];
    for t in 0..30 {
        // Rotate through the options, keeping to legal ones.
        let choice: Vec<usize> = env
            .action_mask()
            .unwrap()
            .chunks(options)
            .map(|row| {
                (0..options)
                    .map(|k| (t + k) % options)
                    .find(|&k| row[k])
                    .unwrap()
            })
            .collect();
        for (site, &k) in choice.iter().enumerate() {
            orders[site] += usize::from(changes[k] != 0);
        }
        env.step(&Action::MultiDiscrete(choice)).unwrap();
    }
    let scene = env.scene().unwrap();
    assert_eq!(scene.panels.len(), sites);
    for (site, panel) in scene.panels.iter().enumerate() {
        let Panel::Lines(lines) = panel else {
            panic!("{panel:?}")
        };
        assert_eq!(lines.markers.len(), orders[site], "site {site}");
        assert!(orders[site] > 0);
        let [(_, demand), (_, capacity)] = &lines.series[..] else {
            panic!()
        };
        assert_eq!((demand.len(), capacity.len()), (30, 30));
    }
}
