//! Batch env decisions per second on Lublin-1 (1024-job windows, 128 visible), always running the
//! oldest queued job: the simulator and the observation, no policy cost.
//! Run: cargo bench -p planetgym-env --bench batch_step

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use planetgym_env::{Action, BatchConfig, BatchScenario, Scenario, ScenarioConfig};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let config = BatchConfig::from_toml("window_jobs = 1024\nvisible_jobs = 128", "bench").unwrap();
    let mut env = BatchScenario::new(config).unwrap();
    let mut group = c.benchmark_group("batch_step");
    group.throughput(Throughput::Elements(1));
    let mut episode = 0;
    env.reset(episode);
    let oldest = Action::Discrete(0);
    group.bench_function("single_env", |b| {
        b.iter(|| {
            let t = env.step(black_box(&oldest)).unwrap();
            if t.terminated {
                episode += 1;
                env.reset(episode);
            }
            black_box(t.obs.queue_len)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
