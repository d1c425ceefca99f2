//! The machine's attainable f32 arithmetic through the backend the update runs on: a square
//! matrix product on burn's flex device (SIMD gemm, rayon across cores), n = 1024, once on one
//! thread and once on the global pool. Criterion's throughput line reads in GFLOP/s (2 n^3
//! floating-point operations per product). `experiments/bench/train_sps.sh` divides each
//! scenario's FLOPs per gradient step by it.
//!   cargo bench -p planetgym-training --bench matmul

use burn::tensor::{Device, Tensor, TensorData};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use planetgym_env::rng::Rng;
use std::hint::black_box;

const N: usize = 1024;

fn matrix(rng: &mut Rng, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..N * N).map(|_| rng.normal() as f32).collect();
    Tensor::from_data(TensorData::new(values, [N, N]), device)
}

fn bench(c: &mut Criterion) {
    let device = Device::flex();
    let mut rng = Rng::new(1);
    let (a, b) = (matrix(&mut rng, &device), matrix(&mut rng, &device));
    let mut group = c.benchmark_group("matmul_1024");
    group.throughput(Throughput::Elements(2 * (N * N * N) as u64));
    group.sample_size(20);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build();
    if let Ok(pool) = one {
        group.bench_function("1_thread", |bench| {
            pool.install(|| bench.iter(|| black_box(a.clone().matmul(b.clone())).into_data()))
        });
    }
    group.bench_function("all_threads", |bench| {
        bench.iter(|| black_box(a.clone().matmul(b.clone())).into_data())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
