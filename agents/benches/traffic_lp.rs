//! Time of one per-interval routing LP (HiGHS) at the default size (54 regions x 12 sites) and
//! on a synthetic 1,000 x 200 world. Run: cargo bench -p planetgym-agents --bench traffic_lp

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use planetgym_agents::Policy;
use planetgym_agents::classic::RoutingLp;
use planetgym_agents::classic::traffic::PerIntervalLp;
use planetgym_env::ScenarioConfig;
use planetgym_env::{Scenario, TrafficConfig, TrafficScenario};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("traffic_lp");
    group.sample_size(10);
    let synthetic = "[world]\nkind = \"synthetic\"\n";
    for (name, toml, candidates) in [
        ("azure_54x12", "", None),
        ("synthetic_1000x200", synthetic, None),
        ("synthetic_1000x200_column_generation", synthetic, Some(8)),
    ] {
        let config = TrafficConfig::from_toml(toml, name).unwrap();
        let mut env = TrafficScenario::new(config.clone()).unwrap();
        // An observation a few intervals in, with utilisation from real routing.
        let mut obs = env.reset(0);
        let routing = RoutingLp::new(&config);
        let mut lp = PerIntervalLp::new(match candidates {
            Some(k) => routing.with_column_generation(k),
            None => routing,
        });
        for _ in 0..3 {
            let action = lp.act(&obs, None).unwrap();
            obs = env.step(&action).unwrap().obs;
        }
        group.bench_function(name, |b| {
            b.iter(|| black_box(lp.act(black_box(&obs), None).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
