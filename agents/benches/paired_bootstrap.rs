//! Cost of the statistics added to every results table: paired comparisons of 10 policies
//! against a reference over 1,000 episodes with 10,000 bootstrap resamples each (the issue's
//! bound: well under a second), and rliable's IQM interval over 5 runs x 1,000 episodes.

use criterion::{Criterion, criterion_group, criterion_main};
use planetgym_agents::stats::aggregate::{ScoreMatrix, interval, iqm};
use planetgym_agents::stats::paired::{compare, holm};
use planetgym_env::rng::Rng;
use std::hint::black_box;

const EPISODES: usize = 1_000;
const POLICIES: usize = 10;
const RESAMPLES: usize = 10_000;

fn episodes(rng: &mut Rng, shift: f64) -> Vec<f64> {
    (0..EPISODES).map(|_| shift + rng.normal()).collect()
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng::new(5);
    let reference = episodes(&mut rng, 0.0);
    let policies: Vec<Vec<f64>> = (0..POLICIES)
        .map(|p| episodes(&mut rng, 0.01 * p as f64))
        .collect();
    let mut group = c.benchmark_group("statistics");
    group.sample_size(10);
    group.bench_function("paired_10x1000_10k", |b| {
        b.iter(|| {
            let mut all: Vec<_> = policies
                .iter()
                .filter_map(|x| compare(&[x], &[&reference], RESAMPLES, 1).ok())
                .collect();
            holm(&mut all.iter_mut().collect::<Vec<_>>());
            black_box(all)
        })
    });
    let rows: Vec<Vec<f64>> = (0..5).map(|_| episodes(&mut rng, 0.0)).collect();
    if let Ok(m) = ScoreMatrix::from_rows(&rows) {
        group.bench_function("iqm_5x1000_10k", |b| {
            b.iter(|| black_box(interval(&m, iqm, RESAMPLES, 1, true)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
