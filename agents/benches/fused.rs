//! The hand-written entity network passes (`nn::fused`) at the shapes the PPO update runs them:
//! one thread's shard of a minibatch (forward then backward) for the committed traffic config
//! (648 region-site pairs of 10 features, hidden 32, 180 rows) and placement config (1,523 nodes
//! of 9 features, hidden 16, 256 rows), every candidate present; and the traffic shard with
//! column pooling over its 54 x 12 grid (`traffic_column_pooled`). Criterion's throughput line
//! reads in GFLOP/s (forward x 3, the count `experiments/bench/train_sps.sh` uses), to set
//! against the matmul limit (`cargo bench -p planetgym-training --bench matmul`, 1_thread).
//!   cargo bench -p planetgym-agents --bench fused

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use planetgym_agents::nn::fused::Tape;
use planetgym_agents::nn::head::ActionHead;
use planetgym_agents::nn::models::{ActorCritic, Architecture};
use planetgym_agents::nn::{params, training_device};
use planetgym_env::features::EntityParts;
use planetgym_env::rng::Rng;
use std::hint::black_box;

struct Case {
    name: &'static str,
    parts: EntityParts,
    hidden: usize,
    rows: usize,
    /// Column pooling over a grid of (rows, columns) candidates.
    pooled_grid: Option<(usize, usize)>,
}

const TRAFFIC: EntityParts = EntityParts {
    global_len: 3,
    entities: 648,
    entity_features: 10,
};

const CASES: [Case; 3] = [
    Case {
        name: "traffic",
        parts: TRAFFIC,
        hidden: 32,
        rows: 180,
        pooled_grid: None,
    },
    Case {
        name: "traffic_column_pooled",
        parts: TRAFFIC,
        hidden: 32,
        rows: 180,
        pooled_grid: Some((54, 12)),
    },
    Case {
        name: "placement",
        parts: EntityParts {
            global_len: 6,
            entities: 1523,
            entity_features: 9,
        },
        hidden: 16,
        rows: 256,
        pooled_grid: None,
    },
];

fn bench(c: &mut Criterion) {
    let device = training_device();
    let mut group = c.benchmark_group("entity_forward_backward");
    group.sample_size(20);
    for case in CASES {
        let (p, h) = (case.parts, case.hidden);
        let obs_len = p.mask_offset() + p.entities;
        let head = match case.pooled_grid {
            Some((rows, cols)) => ActionHead::Simplex { rows, cols },
            None => ActionHead::Discrete { n: p.entities },
        };
        let architecture = Architecture {
            hidden: h,
            column_pooling: case.pooled_grid.is_some(),
        };
        let mut rng = Rng::new(1);
        let model = ActorCritic::new(
            obs_len,
            Some(p),
            &head,
            architecture,
            -0.5,
            &mut rng,
            &device,
        );
        let (net, weights) = (model.fused(), params::read(&model));
        let mut obs: Vec<f32> = (0..case.rows * obs_len)
            .map(|_| rng.normal() as f32)
            .collect();
        for row in obs.chunks_mut(obs_len) {
            row[p.mask_offset()..].fill(1.0);
        }
        let rows: Vec<&[f32]> = obs.chunks(obs_len).collect();
        let d_out: Vec<f32> = (0..case.rows * p.entities)
            .map(|_| rng.normal() as f32)
            .collect();
        let d_values = vec![1.0; case.rows];
        let per_candidate = 2 * (p.entity_features * h + h * h + h);
        let flops = 3 * case.rows * (2 * p.global_len * h + p.entities * per_candidate);
        group.throughput(Throughput::Elements(flops as u64));
        let mut tape = Tape::default();
        group.bench_function(case.name, |b| {
            b.iter(|| {
                let forward = net.forward(&weights, &rows, &mut tape);
                let grads = net.backward(&weights, &rows, &mut tape, &d_out, &d_values);
                black_box((forward.is_ok(), grads.is_ok()))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
