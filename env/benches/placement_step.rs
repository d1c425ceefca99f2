//! The default placement scenario (openb, 1,523 nodes) as PPO trains on it: a step placing the
//! pod on a random allowed node, and the encoding of its observation.
//! Run: cargo bench -p planetgym-env --bench placement_step

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use planetgym_env::rng::Rng;
use planetgym_env::{Action, PlacementConfig, PlacementScenario, Scenario};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut env = PlacementScenario::new(PlacementConfig::default()).unwrap();
    let mut rng = Rng::new(7);
    let mut episode = 0;
    let mut obs = Some(env.reset(episode));
    let mut out = vec![0.0f32; env.feature_spec().encoded_len()];
    let mut group = c.benchmark_group("placement");
    group.bench_function("step", |b| {
        b.iter(|| {
            let allowed: Vec<usize> = env
                .action_mask()
                .map(|m| (0..m.len()).filter(|&i| m[i]).collect())
                .unwrap_or_default();
            let node = allowed.get(rng.below(allowed.len().max(1))).copied();
            // Let go of the observation first, as a vector env does: it shares the cluster.
            obs = None;
            obs = Some(match env.step(&Action::Discrete(node.unwrap_or(0))) {
                Ok(t) if !t.terminated => t.obs,
                _ => {
                    episode += 1;
                    env.reset(episode)
                }
            });
        })
    });
    group.bench_function("encode", |b| {
        b.iter(|| env.encode(black_box(obs.as_ref().unwrap()), &mut out));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
