//! Adam with global gradient-norm clipping, on plain parameter vectors.
//!
//! Written out rather than taken from burn so that its whole state (moments, step count) is
//! plain data saved in checkpoints: a resumed run continues exactly where it stopped.

use planetgym_agents::nn::error::NetworkError;
use planetgym_agents::nn::params::Weights;
use serde::{Deserialize, Serialize};

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPSILON: f64 = 1e-5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    pub steps: u64,
    pub m: Vec<Vec<f32>>,
    pub v: Vec<Vec<f32>>,
}

impl Adam {
    pub fn new(params: &Weights) -> Self {
        let zeros: Vec<Vec<f32>> = params.values.iter().map(|p| vec![0.0; p.len()]).collect();
        Self {
            steps: 0,
            m: zeros.clone(),
            v: zeros,
        }
    }

    /// Checks that a saved state fits `params`.
    pub fn check(&self, params: &Weights) -> Result<(), NetworkError> {
        let fits = |state: &Vec<Vec<f32>>| {
            state.len() == params.values.len()
                && state
                    .iter()
                    .zip(&params.values)
                    .all(|(s, p)| s.len() == p.len())
        };
        if fits(&self.m) && fits(&self.v) {
            Ok(())
        } else {
            Err(NetworkError::Mismatch(
                "optimiser state does not match the network's parameters".into(),
            ))
        }
    }

    /// One step on `params` with `grads`, after scaling the gradients down so that their
    /// global L2 norm is at most `max_norm` (0 = no clipping). Returns the norm before clipping.
    pub fn step(&mut self, params: &mut Weights, grads: &Weights, lr: f64, max_norm: f64) -> f64 {
        let norm = grads
            .values
            .iter()
            .flatten()
            .map(|g| f64::from(*g).powi(2))
            .sum::<f64>()
            .sqrt();
        let scale = if max_norm > 0.0 && norm > max_norm {
            max_norm / norm
        } else {
            1.0
        };
        self.steps += 1;
        let t = self.steps as i32;
        let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
        for (((p, g), m), v) in params
            .values
            .iter_mut()
            .zip(&grads.values)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let g = f64::from(*g) * scale;
                let m1 = BETA1 * f64::from(*m) + (1.0 - BETA1) * g;
                let v1 = BETA2 * f64::from(*v) + (1.0 - BETA2) * g * g;
                *m = m1 as f32;
                *v = v1 as f32;
                *p -= (lr * (m1 / c1) / ((v1 / c2).sqrt() + EPSILON)) as f32;
            }
        }
        norm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_a_quadratic_and_clips() {
        let mut p = Weights {
            shapes: vec![vec![2]],
            values: vec![vec![3.0, -2.0]],
        };
        let mut adam = Adam::new(&p);
        for _ in 0..2000 {
            let g = Weights {
                shapes: p.shapes.clone(),
                values: vec![p.values[0].iter().map(|x| 2.0 * x).collect()],
            };
            adam.step(&mut p, &g, 0.01, 1.0);
        }
        assert!(p.values[0].iter().all(|x| x.abs() < 1e-2), "{:?}", p.values);
        // The first step moves each parameter by about lr whatever the gradient scale.
        let mut q = Weights {
            shapes: vec![vec![1]],
            values: vec![vec![0.0]],
        };
        let mut adam = Adam::new(&q);
        let big = Weights {
            shapes: vec![vec![1]],
            values: vec![vec![1e6]],
        };
        assert_eq!(adam.step(&mut q, &big, 0.1, 0.5), 1e6);
        assert!((q.values[0][0] + 0.1).abs() < 1e-3);
    }
}
