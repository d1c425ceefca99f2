//! Batch scheduling decisions per second on Lublin-1 (1024-job windows), per heuristic, with
//! and without EASY backfilling. Run: cargo bench -p planetgym-agents --bench batch_schedule

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use planetgym_agents::Contender;
use planetgym_agents::classic::batch::{PriorityRule, PriorityScheduler};
use planetgym_agents::evaluate::run_episode;
use planetgym_env::ScenarioConfig;
use planetgym_env::{BatchConfig, BatchScenario};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch_schedule");
    for backfill in [false, true] {
        let config = BatchConfig::from_toml(
            &format!("window_jobs = 1024\nbackfill = {backfill}\n"),
            "bench",
        )
        .unwrap();
        let env = BatchScenario::new(config).unwrap();
        for rule in [PriorityRule::Fcfs, PriorityRule::F1] {
            let mut contender = Contender::Fair(Box::new(PriorityScheduler::new(rule)));
            let decisions = run_episode(&mut env.clone(), &mut contender, 0, 1, false, &|| {})
                .unwrap()
                .steps;
            group.throughput(Throughput::Elements(decisions as u64));
            let name = format!(
                "{}_{}",
                rule.name(),
                if backfill { "easy" } else { "plain" }
            );
            group.bench_function(name, |b| {
                let mut env = env.clone();
                b.iter(|| {
                    black_box(
                        run_episode(&mut env, &mut contender, 0, 1, false, &|| {})
                            .unwrap()
                            .reward,
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
