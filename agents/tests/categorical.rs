//! The hand-written categorical head (`nn::categorical`, what PPO's collection and update use
//! for `Discrete` heads) against the burn head: the same log-probabilities and entropies, and
//! the same gradient of the logits, with masked actions, a row with one legal action and a
//! row with none; and clear errors for actions that are not choices.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use burn::tensor::{Bool, Tensor, TensorData};
use planetgym_agents::nn::categorical::Categorical;
use planetgym_agents::nn::head::ActionHead;
use planetgym_agents::nn::training_device;
use planetgym_env::rng::Rng;

fn close(name: &str, ours: &[f32], burn: &[f32]) {
    assert_eq!(ours.len(), burn.len(), "{name}: lengths");
    for (i, (a, b)) in ours.iter().zip(burn).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "{name}[{i}]: ours {a} vs burn {b}"
        );
    }
}

#[test]
fn the_categorical_head_matches_burn() {
    // Fewer actions than a SIMD vector holds, and several vectors and a partial one.
    for n in [9, 37] {
        matches_burn(n);
    }
}

fn matches_burn(n: usize) {
    let d = training_device();
    let rows = 6;
    let mut rng = Rng::new(3);
    let logits: Vec<f32> = (0..rows * n).map(|_| 3.0 * rng.normal() as f32).collect();
    let mut legal: Vec<bool> = (0..rows * n).map(|i| i % 4 != 1).collect();
    // Row 4: one legal action; row 5: none (uniform, as burn's masked softmax gives).
    legal[4 * n..5 * n]
        .iter_mut()
        .enumerate()
        .for_each(|(j, l)| *l = j == 2);
    legal[5 * n..].fill(false);
    let raw: Vec<f32> = vec![0.0, 2.0, 8.0, 3.0, 2.0, (n - 5) as f32];
    let d_log_probs: Vec<f32> = (0..rows).map(|_| rng.normal() as f32).collect();
    let d_entropy: Vec<f32> = (0..rows).map(|_| rng.normal() as f32).collect();

    let head = ActionHead::Discrete { n };
    let out = Tensor::<2>::from_data(TensorData::new(logits.clone(), [rows, n]), &d).require_grad();
    let mask = Tensor::<2, Bool>::from_data(TensorData::new(legal.clone(), [rows, n]), &d);
    let actions = Tensor::<2>::from_data(TensorData::new(raw.clone(), [rows, 1]), &d);
    let log_std = Tensor::<1>::from_data(TensorData::new(Vec::<f32>::new(), [0]), &d);
    let (lp, h) = head.log_prob_entropy(out.clone(), log_std, actions, Some(mask), false);
    let weight = |v: &[f32], shape: Vec<usize>| {
        Tensor::<2>::from_data(TensorData::new(v.to_vec(), shape), &d)
    };
    let loss = (lp.clone() * weight(&d_log_probs, vec![rows, 1])).sum()
        + (h.clone().reshape([rows, 1]) * weight(&d_entropy, vec![rows, 1])).sum();
    let grads = loss.backward();
    let flat = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
    let expected_grad = flat(out.grad(&grads).unwrap());

    let ours = Categorical::new(&logits, n, &legal, &raw).unwrap();
    close("log-probabilities", &ours.log_probs, &flat(lp));
    close("entropies", &ours.entropy, &flat(h.reshape([rows, 1])));
    let grad = ours.logit_gradient((&logits, &legal), &d_log_probs, &d_entropy);
    close("logit gradient", &grad, &expected_grad);
    assert!(grad.iter().any(|&g| g != 0.0));

    // Every action legal when no mask is given.
    let open = Categorical::new(&logits[..n], n, &[], &[1.0]).unwrap();
    let all = vec![true; n];
    let masked = Categorical::new(&logits[..n], n, &all, &[1.0]).unwrap();
    assert_eq!(open.log_probs, masked.log_probs);
}

#[test]
fn actions_that_are_not_choices_are_refused() {
    let logits = [0.0f32; 6];
    for (raw, what) in [
        (3.0, "action 3 is not"),
        (-1.0, "action -1"),
        (0.5, "action 0.5"),
        (f32::NAN, "action NaN"),
    ] {
        let err = Categorical::new(&logits, 3, &[], &[0.0, raw]).unwrap_err();
        assert!(err.to_string().contains(what), "{err}");
        assert!(err.to_string().starts_with("row 1"), "{err}");
    }
    let err = Categorical::new(&logits, 3, &[true; 5], &[0.0, 1.0]).unwrap_err();
    assert!(err.to_string().contains("5 mask flags"), "{err}");
}
