//! Placements per second (decision + simulator step) of best fit and FGD on the openb cluster
//! (1,523 nodes) and on a synthetic 100,000-node cluster with the same hardware mix, from a
//! cluster already 20 % allocated. Run: cargo bench -p planetgym-agents --bench placement

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use planetgym_agents::Policy;
use planetgym_agents::classic::placement::{PlacementHeuristic, PlacementRule};
use planetgym_env::ScenarioConfig;
use planetgym_env::{PlacementConfig, PlacementScenario, Scenario};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("placement");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    for (name, toml) in [
        ("openb_1523", ""),
        ("synthetic_100k", "synthetic_nodes = 100000"),
    ] {
        let config = PlacementConfig::from_toml(toml, name).unwrap();
        let base = PlacementScenario::new(config).unwrap();
        for rule in [PlacementRule::BestFit, PlacementRule::Fgd] {
            let mut env = base.clone();
            let mut policy = PlacementHeuristic::new(rule);
            policy.reset(1);
            let mut obs = env.reset(1);
            while obs.arrived_gpu_ratio < 0.2 {
                let action = policy.act(&obs, None).unwrap();
                drop(obs);
                obs = env.step(&action).unwrap().obs;
            }
            let mut obs = Some(obs);
            group.bench_function(format!("{name}_{}", rule.name()), |b| {
                b.iter(|| {
                    let current = obs.take().unwrap_or_else(|| env.reset(2));
                    let action = policy.act(&current, None).unwrap();
                    drop(current);
                    let t = env.step(black_box(&action)).unwrap();
                    obs = (!t.terminated).then_some(t.obs);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
