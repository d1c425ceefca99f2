//! Traffic env steps per second: one env, and a VecEnv of 64 copies on 1 and 2 threads; and,
//! with the pair observation PPO trains on, the parts of a training step's env time (the
//! step, the encoding, the per-region counterfactual rewards).
//! Run: cargo bench -p planetgym-env --bench traffic_step

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use planetgym_env::traffic::config::ObservationKind;
use planetgym_env::{Action, AutoresetMode, Scenario, TrafficConfig, TrafficScenario, VecEnv};
use std::hint::black_box;

/// Capacity-proportional split: a realistic action that touches every region-site pair.
fn capacity_split(env: &TrafficScenario) -> Action {
    let total: f64 = env.sites().iter().map(|s| s.capacity_rps).sum();
    let row: Vec<f32> = env
        .sites()
        .iter()
        .map(|s| (s.capacity_rps / total) as f32)
        .collect();
    Action::Continuous(row.repeat(env.geography().regions.len()))
}

fn bench(c: &mut Criterion) {
    let scenario = TrafficScenario::new(TrafficConfig::default()).unwrap();
    let action = capacity_split(&scenario);
    let mut group = c.benchmark_group("traffic_step");

    group.throughput(Throughput::Elements(1));
    let mut env = scenario.clone();
    env.reset(0);
    group.bench_function("single_env", |b| {
        b.iter(|| {
            let t = env.step(black_box(&action)).unwrap();
            if t.truncated {
                env.reset(1);
            }
            black_box(t.reward)
        })
    });

    group.throughput(Throughput::Elements(64));
    for threads in [1, 2] {
        let mut vec =
            VecEnv::new(scenario.clone(), 64, 0, threads, AutoresetMode::SameStep).unwrap();
        let actions = vec![action.clone(); 64];
        group.bench_function(format!("vec_env_64_threads_{threads}"), |b| {
            b.iter(|| {
                vec.step(black_box(&actions)).unwrap();
                black_box(vec.rewards()[0])
            })
        });
    }
    group.finish();
}

fn pairs(c: &mut Criterion) {
    let config = TrafficConfig {
        observation: ObservationKind::Pairs,
        ..TrafficConfig::default()
    };
    let mut env = TrafficScenario::new(config).unwrap();
    let action = capacity_split(&env);
    let mut obs = env.reset(0);
    let mut out = vec![0.0f32; env.feature_spec().encoded_len()];
    let mut group = c.benchmark_group("traffic_pairs");
    group.bench_function("step", |b| {
        b.iter(|| {
            let t = env.step(black_box(&action)).unwrap();
            if t.truncated {
                env.reset(1);
            }
            obs = t.obs;
        })
    });
    group.bench_function("encode", |b| {
        b.iter(|| env.encode(black_box(&obs), &mut out));
    });
    group.bench_function("counterfactuals", |b| {
        b.iter(|| env.row_counterfactual_rewards(black_box(&action), &action))
    });
    group.finish();
}

criterion_group!(benches, bench, pairs);
criterion_main!(benches);
