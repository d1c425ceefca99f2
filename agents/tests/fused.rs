//! The hand-written network passes (`nn::fused`, what the PPO update runs) against burn's
//! modules and autodiff: the same outputs and the same gradient of every parameter, for the MLP
//! and for the entity scorer (with absent candidates, an observation with none, and both the
//! packed and the padded burn paths, and with column pooling over a split grid); and clear
//! errors for inputs that do not fit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use burn::tensor::{Tensor, TensorData};
use planetgym_agents::nn::fused::Tape;
use planetgym_agents::nn::head::ActionHead;
use planetgym_agents::nn::models::{ActorCritic, Architecture};
use planetgym_agents::nn::{params, training_device};
use planetgym_env::features::EntityParts;
use planetgym_env::rng::Rng;

fn normal(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

fn close(name: &str, fused: &[f32], burn: &[f32]) {
    assert_eq!(fused.len(), burn.len(), "{name}: lengths");
    let scale = 1.0 + burn.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in fused.iter().zip(burn).enumerate() {
        assert!(
            (a - b).abs() <= 2e-5 * scale,
            "{name}[{i}]: fused {a} vs burn {b}"
        );
    }
}

/// Runs both implementations on `obs` (`rows` rows) with random output gradients.
fn agree(model: &ActorCritic, obs: Vec<f32>, rows: usize, seed: u64) {
    let d = training_device();
    let net = model.fused();
    let weights = params::read(model);
    let (obs_len, outputs) = (net.obs_len(), net.outputs());
    let mut rng = Rng::new(seed);
    let d_out = normal(rows * outputs, &mut rng);
    let d_values = normal(rows, &mut rng);

    let input = Tensor::<2>::from_data(TensorData::new(obs.clone(), [rows, obs_len]), &d);
    let (out, values) = model.forward(input);
    let weighted = |v: &[f32], shape: Vec<usize>| {
        Tensor::<2>::from_data(TensorData::new(v.to_vec(), shape), &d)
    };
    let loss = (out.clone() * weighted(&d_out, vec![rows, outputs])).sum()
        + (values.clone().reshape([rows, 1]) * weighted(&d_values, vec![rows, 1])).sum();
    let expected = params::read_grads(model, &loss.backward());
    let flat = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();

    let mut tape = Tape::default();
    let obs_rows: Vec<&[f32]> = obs.chunks(obs_len).collect();
    let (o, v) = net.forward(&weights, &obs_rows, &mut tape).unwrap();
    close("outputs", &o, &flat(out));
    close("values", &v, &flat(values.reshape([rows, 1])));
    let grads = net
        .backward(&weights, &obs_rows, &mut tape, &d_out, &d_values)
        .unwrap();
    assert_eq!(grads.len() + 1, expected.values.len(), "all but log_std");
    for (i, (g, e)) in grads.iter().zip(&expected.values).enumerate() {
        close(&format!("gradient of parameter {i}"), g, e);
        assert!(g.iter().any(|&x| x != 0.0), "parameter {i} gets a gradient");
    }
}

#[test]
fn the_mlp_passes_match_burn() {
    let d = training_device();
    for (nvec, hidden) in [(vec![3, 4], 24), (vec![8, 8], 16), (vec![16, 16], 32)] {
        let head = ActionHead::MultiDiscrete { nvec };
        let model = ActorCritic::new(
            11,
            None,
            &head,
            Architecture::plain(hidden),
            -0.5,
            &mut Rng::new(1),
            &d,
        );
        let mut rng = Rng::new(2);
        let mut obs = normal(9 * 11, &mut rng);
        obs.iter_mut().step_by(4).for_each(|x| *x = 0.0);
        agree(&model, obs, 9, 3);
    }
}

fn entity_obs(parts: EntityParts, rows: usize, present: impl Fn(usize, usize) -> bool) -> Vec<f32> {
    let mut rng = Rng::new(5);
    let mut obs = Vec::new();
    for r in 0..rows {
        obs.extend(normal(parts.mask_offset(), &mut rng));
        obs.extend((0..parts.entities).map(|e| if present(r, e) { 1.0 } else { 0.0 }));
    }
    obs
}

#[test]
fn the_entity_passes_match_burn_packed_and_padded() {
    let d = training_device();
    let parts = EntityParts {
        global_len: 4,
        entities: 13,
        entity_features: 6,
    };
    let head = ActionHead::Discrete { n: 13 };
    // Hidden sizes that are and are not whole SIMD vectors (8 or 16 lanes).
    for hidden in [20, 16, 32] {
        let model = ActorCritic::new(
            parts.mask_offset() + 13,
            Some(parts),
            &head,
            Architecture::plain(hidden),
            -0.5,
            &mut Rng::new(7),
            &d,
        );
        // A third present (burn packs the rows), one observation with none.
        let sparse = entity_obs(parts, 6, |r, e| r != 2 && (r + e) % 3 == 0);
        agree(&model, sparse, 6, 8);
        // Nearly all present (burn runs the padded rows).
        let dense = entity_obs(parts, 5, |r, e| (r * 13 + e) % 11 != 0);
        agree(&model, dense, 5, 9);
        // More present candidates than one tile of the fused passes (256), the last tile partial.
        let many = entity_obs(parts, 31, |r, e| (r + 2 * e) % 7 != 0);
        agree(&model, many, 31, 10);
    }
}

#[test]
fn the_column_pooled_entity_passes_match_burn() {
    let d = training_device();
    // A split over a grid of 4 rows by 3 columns, as traffic's region-site pairs.
    let head = ActionHead::Simplex { rows: 4, cols: 3 };
    let parts = EntityParts {
        global_len: 4,
        entities: 12,
        entity_features: 6,
    };
    let pooled = Architecture {
        hidden: 16,
        column_pooling: true,
    };
    for hidden in [20, 16] {
        let architecture = Architecture { hidden, ..pooled };
        let model = ActorCritic::new(
            parts.mask_offset() + 12,
            Some(parts),
            &head,
            architecture,
            -0.5,
            &mut Rng::new(7),
            &d,
        );
        // Absent pairs, a column with none present, an observation with none.
        let sparse = entity_obs(parts, 6, |r, e| r != 2 && e % 3 != 1 && (r + e) % 4 != 0);
        agree(&model, sparse, 6, 8);
        // Columns whose pairs lie in several tiles of the fused passes (256 candidates).
        let many = entity_obs(parts, 40, |r, e| (r + 2 * e) % 7 != 0);
        agree(&model, many, 40, 10);
    }
}

#[test]
fn inputs_that_do_not_fit_are_refused() {
    let d = training_device();
    let head = ActionHead::Discrete { n: 3 };
    let model = ActorCritic::new(
        5,
        None,
        &head,
        Architecture::plain(8),
        -0.5,
        &mut Rng::new(1),
        &d,
    );
    let net = model.fused();
    let mut weights = params::read(&model);
    let mut tape = Tape::default();
    let err = net
        .forward(&weights, &[&[0.0; 5], &[0.0; 2]], &mut tape)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("row 1 has 2 values, the network reads 5"),
        "{err}"
    );
    let obs: [&[f32]; 2] = [&[0.5; 5], &[0.5; 5]];
    net.forward(&weights, &obs, &mut tape).unwrap();
    let err = net
        .backward(&weights, &obs, &mut tape, &[0.0; 5], &[0.0; 2])
        .unwrap_err();
    assert!(err.to_string().contains("6 expected"), "{err}");
    let err = net
        .backward(&weights, &obs, &mut tape, &[0.0; 6], &[0.0; 1])
        .unwrap_err();
    assert!(err.to_string().contains("1 value gradients"), "{err}");
    let err = net
        .backward(&weights, &obs[..1], &mut tape, &[0.0; 6], &[0.0; 2])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("1 observation rows with a tape of 2"),
        "{err}"
    );
    weights.values[2].pop();
    let err = net.forward(&weights, &[&[0.5; 5]], &mut tape).unwrap_err();
    assert!(err.to_string().contains("parameter tensor 2"), "{err}");
}
