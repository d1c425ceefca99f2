//! The traffic scenario: invariants under random splits, error messages, failures, layouts, scale.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_env::ScenarioConfig;
use planetgym_env::traffic::{Interval, Scratch, ServingModel};
use planetgym_env::{Action, EnvError, Layout, Scenario, TrafficConfig, TrafficScenario};
use proptest::prelude::*;

fn config(extra: &str) -> TrafficConfig {
    TrafficConfig::from_toml(extra, "test").unwrap()
}

fn uniform_split(env: &TrafficScenario) -> Action {
    let s = env.sites().len();
    Action::Continuous(vec![1.0 / s as f32; env.geography().regions.len() * s])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Served + dropped = demand for any split, availability and latency; nothing is NaN.
    #[test]
    fn serving_conserves_requests(
        regions in 1usize..6,
        sites in 1usize..5,
        seed in any::<u64>(),
    ) {
        let mut rng = planetgym_env::rng::Rng::new(seed);
        let demand: Vec<f64> = (0..regions).map(|_| rng.uniform_in(0.0, 1000.0)).collect();
        let available: Vec<f64> = (0..sites).map(|_| if rng.uniform() < 0.2 { 0.0 } else { rng.uniform_in(0.0, 800.0) }).collect();
        let rtt: std::sync::Arc<[f64]> = (0..regions * sites).map(|_| rng.uniform_in(1.0, 300.0)).collect();
        let mut split = Vec::new();
        for _ in 0..regions {
            let w: Vec<f64> = (0..sites).map(|_| if rng.uniform() < 0.3 { 0.0 } else { rng.uniform() }).collect();
            let total: f64 = w.iter().sum();
            if total > 0.0 { split.extend(w.iter().map(|x| x / total)) } else { split.extend((0..sites).map(|j| if j == 0 { 1.0 } else { 0.0 })) }
        }
        let model = ServingModel { service_time_ms: 20.0, max_queue_delay_ms: 2000.0, slo_ms: 150.0, interval_s: 60.0 };
        let o = model.serve(Interval { demand_rps: &demand, split: &split, available_rps: &available, rtt_ms: &rtt, cost_per_request_usd: &vec![1e-6; sites] }, &mut Scratch::default());
        let total: f64 = demand.iter().sum();
        prop_assert!((o.served_rps + o.dropped_rps - total).abs() <= 1e-9 * total.max(1.0));
        prop_assert!(o.dropped_rps >= 0.0 && o.served_rps <= available.iter().sum::<f64>() + 1e-9);
        for v in [o.mean_latency_ms, o.p95_latency_ms, o.slo_violation_fraction, o.cost_usd, o.max_site_utilisation] {
            prop_assert!(v.is_finite() && v >= 0.0);
        }
        prop_assert!(o.slo_violation_fraction <= 1.0);
        if o.served_rps > 0.0 {
            prop_assert!(o.p95_latency_ms + 0.02 >= rtt.iter().copied().fold(f64::INFINITY, f64::min));
        }
    }

    /// Whole episodes under random splits and heavy failures: rows of the applied split sum to
    /// one, requests are conserved, and no observation, reward or metric is NaN.
    #[test]
    fn episodes_keep_their_invariants(seed in any::<u64>(), action_seed in any::<u64>()) {
        let mut env = TrafficScenario::new(config(
            "episode_intervals = 20\n[failures]\nsite_failures_per_day = 100.0\nlink_degradations_per_day = 20.0\n",
        )).unwrap();
        let mut rng = planetgym_env::rng::Rng::new(action_seed);
        let mut obs = env.reset(seed);
        let (r, s) = (obs.regions(), obs.sites());
        let mut encoded = vec![0.0; env.feature_spec().encoded_len()];
        for step in 0..20 {
            let mut split = Vec::with_capacity(r * s);
            for _ in 0..r {
                let w: Vec<f32> = (0..s).map(|_| rng.uniform() as f32).collect();
                let total: f32 = w.iter().sum();
                split.extend(w.iter().map(|x| x / total));
            }
            let t = env.step(&Action::Continuous(split)).unwrap();
            prop_assert!(t.reward.is_finite());
            prop_assert!(t.info.values.iter().all(|v| v.is_finite()), "{:?}", t.info);
            let dropped = t.info.get(env.metric_names(), "dropped_fraction").unwrap();
            prop_assert!((0.0..=1.0 + 1e-12).contains(&dropped));
            env.encode(&t.obs, &mut encoded);
            prop_assert!(encoded.iter().all(|v| v.is_finite()));
            prop_assert_eq!(t.truncated, step == 19);
            obs = t.obs;
        }
        prop_assert!(obs.health.iter().all(|h| (0.0..=1.0).contains(h)));
    }
}

#[test]
fn same_seed_same_trajectory_and_seeds_differ() {
    let run = |seed| {
        let mut env = TrafficScenario::new(config("episode_intervals = 30")).unwrap();
        let mut out = vec![env.reset(seed).demand_rps];
        for _ in 0..30 {
            let a = uniform_split(&env);
            out.push(env.step(&a).unwrap().obs.demand_rps);
        }
        out
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

/// `sites.capacity_draw` scales every site's capacity by one factor per episode, in range, the
/// same for the same seed and different across seeds; the episode's demand and failures are
/// those of the fixed-capacity world, and the scaled capacity is what is served.
#[test]
fn capacity_draw_scales_each_episode_and_leaves_demand_and_failures_alone() {
    let events = "episode_intervals = 40\n[failures]\nsite_failures_per_day = 50.0\n";
    let run = |sites: &str, seed| {
        let mut env = TrafficScenario::new(config(&format!("{events}[sites]\n{sites}"))).unwrap();
        let first = env.reset(seed);
        let mut trace = vec![(first.demand_rps.clone(), first.health.clone())];
        let mut rewards = Vec::new();
        for _ in 0..40 {
            let t = env.step(&uniform_split(&env)).unwrap();
            trace.push((t.obs.demand_rps.clone(), t.obs.health.clone()));
            rewards.push(t.reward);
        }
        (first.capacity_rps.to_vec(), trace, rewards)
    };
    let (base, base_trace, base_rewards) = run("", 9);
    let drawn = "capacity_draw = [0.5, 0.9]";
    let mut factors = Vec::new();
    for seed in [9, 10, 11] {
        let (capacity, trace, rewards) = run(drawn, seed);
        let factor = capacity[0] / base[0];
        assert!((0.5..=0.9).contains(&factor), "factor {factor}");
        for (c, b) in capacity.iter().zip(&base) {
            assert!(
                (c - b * factor).abs() <= 1e-9 * b,
                "one factor for every site"
            );
        }
        assert_eq!(run(drawn, seed).0, capacity, "same seed, same draw");
        if seed == 9 {
            assert_eq!(
                trace, base_trace,
                "demand and failures do not depend on the draw"
            );
            assert!(base_trace.iter().any(|(_, h)| h.iter().any(|&x| x < 1.0)));
            let (served, fixed): (f64, f64) = (rewards.iter().sum(), base_rewards.iter().sum());
            assert!(
                served < fixed,
                "less capacity serves worse: {served} vs {fixed}"
            );
        }
        factors.push(factor);
    }
    assert!(factors[0] != factors[1] && factors[1] != factors[2]);
    assert_eq!(
        run("capacity_draw = [1.0, 1.0]", 9),
        (base, base_trace, base_rewards)
    );
    for bad in ["[0.9, 0.5]", "[0.0, 1.0]", "[1.0, 11.0]", "[nan, 1.0]"] {
        let err = TrafficConfig::from_toml(&format!("[sites]\ncapacity_draw = {bad}"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sites.capacity_draw"), "{bad}: {err}");
    }
}

#[test]
fn bad_actions_are_errors_with_clear_messages_and_leave_the_state_alone() {
    let mut env = TrafficScenario::new(config("")).unwrap();
    let err = env.step(&uniform_split(&env)).unwrap_err();
    assert!(matches!(err, EnvError::NotReset));
    let obs = env.reset(1);
    let (r, s) = (obs.regions(), obs.sites());
    let message = |a: Action, env: &mut TrafficScenario| env.step(&a).unwrap_err().to_string();
    assert_eq!(
        message(Action::Continuous(vec![0.5; 3]), &mut env),
        format!(
            "invalid action: action has 3 values, space Simplex({r}, {s}) needs {}",
            r * s
        )
    );
    let mut nan = vec![1.0 / s as f32; r * s];
    nan[s + 1] = f32::NAN;
    assert_eq!(
        message(Action::Continuous(nan), &mut env),
        format!(
            "invalid action: action value at index {} is not finite (NaN)",
            s + 1
        )
    );
    let mut half = vec![1.0 / s as f32; r * s];
    half[..s].iter_mut().for_each(|v| *v *= 0.5);
    assert_eq!(
        message(Action::Continuous(half), &mut env),
        "invalid action: row 0 (region australiacentral) sums to 0.500000, but each row of a simplex must sum to 1 (tolerance 0.001)"
    );
    assert_eq!(
        message(Action::Discrete(0), &mut env),
        format!(
            "invalid action: expected a continuous action for space Simplex({r}, {s}), got a discrete action"
        )
    );
    // None of that moved the episode on.
    let t = env.step(&uniform_split(&env)).unwrap();
    assert_eq!(t.obs.interval, 1);
}

#[test]
fn episode_end_is_a_truncation_and_stepping_past_it_is_an_error() {
    let mut env = TrafficScenario::new(config("episode_intervals = 3")).unwrap();
    env.reset(0);
    let flags: Vec<(bool, bool)> = (0..3)
        .map(|_| {
            let t = env.step(&uniform_split(&env)).unwrap();
            (t.terminated, t.truncated)
        })
        .collect();
    assert_eq!(flags, vec![(false, false), (false, false), (false, true)]);
    assert!(matches!(
        env.step(&uniform_split(&env)),
        Err(EnvError::EpisodeOver)
    ));
}

#[test]
fn scripted_outage_drops_traffic_sent_to_the_dead_site_and_shows_in_the_observation() {
    let toml = "episode_intervals = 10\n[failures]\nsite_failures_per_day = 0.0\nlink_degradations_per_day = 0.0\n\
                scripted = [{ kind = \"site\", site = \"eastus\", at_minute = 3, minutes = 4, capacity_fraction = 0.0 },\n\
                { kind = \"link\", region = \"eastasia\", site = \"japaneast\", at_minute = 2, minutes = 60, rtt_factor = 3.0 }]\n";
    let mut env = TrafficScenario::new(config(toml)).unwrap();
    let east = (0..env.sites().len())
        .find(|&s| env.site_name(s) == "eastus")
        .unwrap();
    let japan = (0..env.sites().len())
        .find(|&s| env.site_name(s) == "japaneast")
        .unwrap();
    let eastasia = env.geography().index_of("eastasia").unwrap();
    let mut obs = env.reset(3);
    let base_rtt = obs.rtt(eastasia, japan);
    let s = obs.sites();
    // Everything to eastus: dropped exactly while it is down (intervals 3..7).
    let all_east = |r: usize| {
        Action::Continuous(
            (0..r * s)
                .map(|i| if i % s == east { 1.0 } else { 0.0 })
                .collect(),
        )
    };
    let mut dropped = Vec::new();
    for _ in 0..9 {
        let t = env.step(&all_east(obs.regions())).unwrap();
        dropped.push(t.info.get(env.metric_names(), "dropped_fraction").unwrap());
        obs = t.obs;
        let k = obs.interval;
        assert_eq!(
            obs.health[east],
            if (3..7).contains(&k) { 0.0 } else { 1.0 },
            "interval {k}"
        );
        let factor = if k >= 2 { 3.0 } else { 1.0 };
        assert!(
            (obs.rtt(eastasia, japan) - factor * base_rtt).abs() < 1e-9,
            "interval {k}"
        );
    }
    // Step i serves interval i + 1.
    assert_eq!(dropped[2..6], [1.0; 4]);
    assert!(dropped[0] < 1.0 && dropped[1] < 1.0 && dropped[6] < 1.0);
}

#[test]
fn scripted_events_must_name_real_sites() {
    let toml = "[failures]\nscripted = [{ kind = \"site\", site = \"mars\", at_minute = 3, minutes = 4, capacity_fraction = 0.0 }]\n";
    let err = TrafficScenario::new(config(toml)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "config error: failures.scripted[0].site = `mars` is not a site"
    );
}

#[test]
fn pairs_layout_has_one_row_per_region_site_pair() {
    let mut env = TrafficScenario::new(config("observation = \"pairs\"")).unwrap();
    let spec = env.feature_spec().clone();
    let Layout::Entity { entities, .. } = &spec.layout else {
        panic!("expected the entity layout")
    };
    assert_eq!(*entities, 54 * 12);
    let parts = spec.entity_parts().unwrap();
    let obs = env.reset(0);
    let mut out = vec![f32::NAN; spec.encoded_len()];
    env.encode(&obs, &mut out);
    assert!(out.iter().all(|v| v.is_finite()));
    assert!(out[parts.mask_offset()..].iter().all(|&m| m == 1.0));
    // Row of pair (region 1, site 2): its RTT feature is rtt / 100.
    let row = parts.entities_offset() + (12 + 2) * parts.entity_features;
    assert!((f64::from(out[row + 1]) - obs.rtt(1, 2) / 100.0).abs() < 1e-5);
    // Every pair's RTT rank and the load of the regions nearer to its site, the slow way.
    check_rtt_features(&env, &obs);
    // After a step: the pair's share in the applied split and the site's queueing delay at the
    // utilisation that split caused.
    assert_eq!(out[row + 8], 0.0, "nothing routed before the first step");
    let obs = env.step(&uniform_split(&env)).unwrap().obs;
    env.encode(&obs, &mut out);
    assert!((f64::from(out[row + 8]) - 1.0 / 12.0).abs() < 1e-6);
    let delay = env.serving_model().sojourn_ms(obs.utilisation[2]) / 100.0;
    assert!(
        (f64::from(out[row + 9]) - delay).abs() < 1e-5,
        "{} vs {delay}",
        out[row + 9]
    );
    assert!(
        obs.split
            .chunks(12)
            .all(|row| (row.iter().sum::<f64>() - 1.0).abs() < 1e-9)
    );
    let flat = TrafficScenario::new(config("")).unwrap();
    assert_ne!(flat.feature_spec().hash(), spec.hash());
    assert_eq!(flat.feature_spec().encoded_len(), 2 + 54 + 54 * 12 + 4 * 12);
}

#[test]
fn pairs_without_the_share_are_the_pair_rows_less_that_feature() {
    let mut with = TrafficScenario::new(config("observation = \"pairs\"")).unwrap();
    let mut without =
        TrafficScenario::new(config("observation = \"pairs\"\nobserve_share = false")).unwrap();
    let (full, short) = (with.feature_spec().clone(), without.feature_spec().clone());
    let names = |spec: &planetgym_env::FeatureSpec| {
        let Layout::Entity { entity, .. } = &spec.layout else {
            panic!("expected the entity layout")
        };
        entity.iter().map(|f| f.name.clone()).collect::<Vec<_>>()
    };
    let mut expected = names(&full);
    assert_eq!(expected.remove(8), "share");
    assert_eq!(names(&short), expected);
    assert_ne!(
        full.hash(),
        short.hash(),
        "a policy cannot run on the other layout"
    );
    // After a step with a non-uniform split, every row is the full row without its share.
    let (a, b) = (with.reset(3), without.reset(3));
    assert_eq!(a.demand_rps, b.demand_rps);
    let s = with.sites().len();
    let split: Vec<f32> = (0..with.geography().regions.len() * s)
        .map(|k| {
            if k % s == k / s % s {
                0.5
            } else {
                0.5 / (s - 1) as f32
            }
        })
        .collect();
    let (a, b) = (
        with.step(&Action::Continuous(split.clone())).unwrap().obs,
        without.step(&Action::Continuous(split)).unwrap().obs,
    );
    let (mut x, mut y) = (
        vec![f32::NAN; full.encoded_len()],
        vec![f32::NAN; short.encoded_len()],
    );
    with.encode(&a, &mut x);
    without.encode(&b, &mut y);
    let (p, q) = (full.entity_parts().unwrap(), short.entity_parts().unwrap());
    assert_eq!(q.entity_features, p.entity_features - 1);
    assert_eq!(x[..p.entities_offset()], y[..q.entities_offset()]);
    for k in 0..p.entities {
        let mut row =
            x[p.entities_offset() + k * p.entity_features..][..p.entity_features].to_vec();
        assert!(row[8] > 0.0, "pair {k} has a share");
        row.remove(8);
        assert_eq!(
            row,
            y[q.entities_offset() + k * q.entity_features..][..q.entity_features]
        );
    }
    assert!(y[q.mask_offset()..].iter().all(|&m| m == 1.0));
}

/// Every pair's RTT rank and nearer-demand load in `obs`'s encoding, against the slow way.
fn check_rtt_features(env: &TrafficScenario, obs: &planetgym_env::traffic::TrafficObs) {
    let parts = env.feature_spec().entity_parts().unwrap();
    let mut out = vec![f32::NAN; env.feature_spec().encoded_len()];
    env.encode(obs, &mut out);
    let (r, s) = (obs.regions(), obs.sites());
    for (region, site) in (0..r).flat_map(|q| (0..s).map(move |j| (q, j))) {
        let row = parts.entities_offset() + (region * s + site) * parts.entity_features;
        let rtt = obs.rtt(region, site);
        let nearer_sites = (0..s).filter(|&j| obs.rtt(region, j) < rtt).count();
        assert_eq!(out[row + 6], (nearer_sites as f64 / (s - 1) as f64) as f32);
        let nearer: f64 = (0..r)
            .filter(|&q| obs.rtt(q, site) < rtt)
            .map(|q| obs.demand_rps[q])
            .sum();
        let load = (nearer / obs.available_rps(site)).min(10.0);
        let got = f64::from(out[row + 7]);
        assert!(
            (got - load).abs() < 1e-5 * load.max(1.0),
            "pair {region}-{site}: {got} vs {load}"
        );
    }
}

#[test]
fn pair_features_follow_rtt_changes_whatever_order_observations_are_encoded_in() {
    // eastasia -> japaneast is 4x slower for minutes 0-4, then back.
    let toml = "observation = \"pairs\"\nepisode_intervals = 10\n[failures]\nsite_failures_per_day = 0.0\n\
                link_degradations_per_day = 0.0\nscripted = [{ kind = \"link\", region = \"eastasia\", \
                site = \"japaneast\", at_minute = 0, minutes = 5, rtt_factor = 4.0 }]\n";
    let mut env = TrafficScenario::new(config(toml)).unwrap();
    let mut seen = vec![env.reset(0)];
    for _ in 0..7 {
        check_rtt_features(&env, seen.last().unwrap());
        seen.push(env.step(&uniform_split(&env)).unwrap().obs);
    }
    assert_ne!(seen[0].rtt_ms, seen[6].rtt_ms, "the link recovered");
    // Older observations again, slow link and recovered in turn.
    for obs in [&seen[0], &seen[6], &seen[1], &seen[7]] {
        check_rtt_features(&env, obs);
    }
}

#[test]
fn synthetic_world_scales_to_1000_regions_and_200_sites() {
    let mut env = TrafficScenario::new(config(
        "episode_intervals = 2\n[world]\nkind = \"synthetic\"\n",
    ))
    .unwrap();
    assert_eq!(
        (env.geography().regions.len(), env.sites().len()),
        (1000, 200)
    );
    env.reset(1);
    let t = env.step(&uniform_split(&env)).unwrap();
    assert!(t.reward.is_finite());
    let demand = t.info.get(env.metric_names(), "demand_rps").unwrap();
    assert!(demand > 10_000.0, "{demand}");
}

#[test]
fn a_link_slowdown_from_minute_zero_lasts_its_whole_duration() {
    let toml = "episode_intervals = 10\n[failures]\nsite_failures_per_day = 0.0\nlink_degradations_per_day = 0.0\n\
                scripted = [{ kind = \"link\", region = \"eastasia\", site = \"japaneast\", at_minute = 0, minutes = 5, rtt_factor = 4.0 }]\n";
    let mut env = TrafficScenario::new(config(toml)).unwrap();
    let japan = (0..env.sites().len())
        .find(|&s| env.site_name(s) == "japaneast")
        .unwrap();
    let eastasia = env.geography().index_of("eastasia").unwrap();
    let base = env.geography().rtt_ms(eastasia, env.sites()[japan].region);
    let obs = env.reset(0);
    let s = obs.sites();
    assert!((obs.rtt(eastasia, japan) - 4.0 * base).abs() < 1e-9);
    assert!(
        (env.oracle_view().rtt_ms[eastasia * s + japan] - 4.0 * base).abs() < 1e-9,
        "interval 1 is still slow"
    );
    for k in 1..8u64 {
        let t = env.step(&uniform_split(&env)).unwrap();
        let expected = if k < 5 { 4.0 * base } else { base };
        assert!(
            (t.obs.rtt(eastasia, japan) - expected).abs() < 1e-9,
            "interval {k}"
        );
    }
}

fn random_split(env: &TrafficScenario, rng: &mut planetgym_env::rng::Rng, zeros: f64) -> Vec<f32> {
    let s = env.sites().len();
    let mut split = Vec::new();
    for _ in 0..env.geography().regions.len() {
        let w: Vec<f64> = (0..s)
            .map(|_| {
                if rng.uniform() < zeros {
                    0.0
                } else {
                    rng.uniform()
                }
            })
            .collect();
        let total: f64 = w.iter().sum::<f64>().max(1e-12);
        split.extend(w.iter().map(|x| {
            if total > 1e-12 {
                (x / total) as f32
            } else {
                1.0 / s as f32
            }
        }));
    }
    split
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Each region's counterfactual reward equals the reward of stepping the action with that
    /// row swapped (failures, overloads and the overflow guard included), and swapping a row for
    /// itself gives the reward the step then returns.
    #[test]
    fn region_counterfactuals_match_the_step(
        seed in any::<u64>(),
        zeros in 0.0f64..0.9,
        guard in prop_oneof![Just(0.0), 0.5f64..=1.0],
    ) {
        let mut env = TrafficScenario::new(config(&format!(
            "episode_intervals = 10\n[failures]\nsite_failures_per_day = 200.0\n[demand]\nglobal_rate_rps = 180000.0\n[guard]\nmax_utilisation = {guard}\n",
        ))).unwrap();
        let mut rng = planetgym_env::rng::Rng::new(seed);
        env.reset(seed);
        for _ in 0..3 {
            let a = Action::Continuous(random_split(&env, &mut rng, zeros));
            env.step(&a).unwrap();
        }
        let (taken, other) = (random_split(&env, &mut rng, zeros), random_split(&env, &mut rng, zeros));
        let s = env.sites().len();
        let (action, reference) = (Action::Continuous(taken.clone()), Action::Continuous(other.clone()));
        let swapped = env.row_counterfactual_rewards(&action, &reference).unwrap().unwrap();
        let itself = env.row_counterfactual_rewards(&action, &action).unwrap().unwrap();
        prop_assert_eq!(swapped.len(), env.geography().regions.len());
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        for r in [0, 7, swapped.len() - 1] {
            let mut row_swapped = taken.clone();
            row_swapped[r * s..(r + 1) * s].copy_from_slice(&other[r * s..(r + 1) * s]);
            let want = env.clone().step(&Action::Continuous(row_swapped)).unwrap().reward;
            prop_assert!(close(swapped[r], want), "region {}: {} vs {}", r, swapped[r], want);
        }
        let reward = env.step(&action).unwrap().reward;
        prop_assert!(itself.iter().all(|&c| close(c, reward)), "{:?} vs {}", &itself[..3], reward);
    }
}

/// With the guard on, the split a step applies (the one the next observation shows) loads no
/// site above the mark on the demand and health the policy observed, and serving that split
/// unguarded earns the same reward.
#[test]
fn the_overflow_guard_keeps_sites_below_the_mark_on_what_the_policy_saw() {
    let guarded = config("episode_intervals = 20\n[guard]\nmax_utilisation = 0.9\n");
    let mut env = TrafficScenario::new(guarded.clone()).unwrap();
    let mut plain = TrafficScenario::new(TrafficConfig {
        guard: planetgym_env::traffic::config::GuardConfig {
            max_utilisation: 0.0,
        },
        ..guarded
    })
    .unwrap();
    let (mut obs, _) = (env.reset(5), plain.reset(5));
    let (r, s) = (obs.regions(), obs.sites());
    let mut all_to_first = vec![0.0f32; r * s];
    all_to_first.iter_mut().step_by(s).for_each(|x| *x = 1.0);
    let mut moved = 0.0;
    for _ in 0..20 {
        let step = env.step(&Action::Continuous(all_to_first.clone())).unwrap();
        let split = &step.obs.split;
        for row in split.chunks_exact(s) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{row:?}");
        }
        for site in 0..s {
            let load: f64 = (0..r)
                .map(|i| obs.demand_rps[i] * split[i * s + site])
                .sum();
            let mark = 0.9 * obs.available_rps(site);
            assert!(
                load <= mark * (1.0 + 1e-9),
                "site {site}: {load} above {mark}"
            );
        }
        moved += 1.0 - split[0];
        let as_applied = Action::Continuous(split.iter().map(|&x| x as f32).collect());
        let want = plain.step(&as_applied).unwrap().reward;
        assert!(
            (step.reward - want).abs() <= 1e-6 * want.abs(),
            "{} vs {want}",
            step.reward
        );
        obs = step.obs;
    }
    assert!(moved > 1.0, "the guard never moved region 0's demand");
}

#[test]
fn region_counterfactuals_refuse_bad_actions() {
    let mut env = TrafficScenario::new(config("episode_intervals = 3")).unwrap();
    let split = uniform_split(&env);
    assert!(matches!(
        env.row_counterfactual_rewards(&split, &split),
        Some(Err(EnvError::NotReset))
    ));
    env.reset(1);
    let err = env
        .row_counterfactual_rewards(&split, &Action::Continuous(vec![f32::NAN; 3]))
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("values"), "{err}");
}
