//! A module's float parameters as plain vectors, in the module's (stable) visiting order: to
//! save and load them, to run the optimiser on them, and to copy weights between the training
//! (autodiff) and inference devices.

use super::error::NetworkError;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Gradients, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Every float parameter: shape and row-major values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    pub shapes: Vec<Vec<usize>>,
    pub values: Vec<Vec<f32>>,
}

impl Weights {
    pub fn len(&self) -> usize {
        self.values.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that these weights fit a module whose parameters have `shapes`.
    pub fn check_shapes(&self, shapes: &[Vec<usize>]) -> Result<(), NetworkError> {
        if self.shapes.len() != shapes.len() {
            return Err(NetworkError::Mismatch(format!(
                "{} parameter tensors saved, the network has {}",
                self.shapes.len(),
                shapes.len()
            )));
        }
        for (i, (saved, want)) in self.shapes.iter().zip(shapes).enumerate() {
            let values = self.values.get(i).map_or(0, Vec::len);
            if saved != want || values != want.iter().product::<usize>() {
                return Err(NetworkError::Mismatch(format!(
                    "parameter tensor {i}: saved shape {saved:?} with {values} values, the network needs {want:?}"
                )));
            }
        }
        Ok(())
    }
}

struct Reader<'a> {
    out: Weights,
    grads: Option<&'a Gradients>,
}

impl ModuleVisitor for Reader<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let shape = value.dims().to_vec();
        let data = match self.grads {
            None => Some(value),
            Some(grads) => value.grad(grads),
        };
        let values = values_or_zeros(data, shape.iter().product());
        self.out.shapes.push(shape);
        self.out.values.push(values);
    }
}

/// A tensor's values as f32, or `len` zeros where there is no tensor (a parameter that got no
/// gradient) or it cannot be read.
pub fn values_or_zeros<const D: usize>(tensor: Option<Tensor<D>>, len: usize) -> Vec<f32> {
    tensor
        .and_then(|t| t.into_data().convert::<f32>().try_into_vec::<f32>().ok())
        .unwrap_or_else(|| vec![0.0; len])
}

/// The module's parameters.
pub fn read<M: Module>(module: &M) -> Weights {
    let mut r = Reader {
        out: Weights {
            shapes: Vec::new(),
            values: Vec::new(),
        },
        grads: None,
    };
    module.visit(&mut r);
    r.out
}

/// The gradients of the module's parameters (zero where a parameter got none).
pub fn read_grads<M: Module>(module: &M, grads: &Gradients) -> Weights {
    let mut r = Reader {
        out: Weights {
            shapes: Vec::new(),
            values: Vec::new(),
        },
        grads: Some(grads),
    };
    module.visit(&mut r);
    r.out
}

struct Writer<'a> {
    weights: &'a Weights,
    next: usize,
}

impl ModuleMapper for Writer<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let i = self.next;
        self.next += 1;
        let values = self.weights.values.get(i).cloned().unwrap_or_default();
        param.map(|t| {
            let shape = t.dims();
            if values.len() != shape.iter().product::<usize>() {
                return t;
            }
            let trainable = t.is_require_grad();
            let fresh = Tensor::<D>::from_data(TensorData::new(values, shape), &t.device());
            if trainable {
                fresh.require_grad()
            } else {
                fresh
            }
        })
    }
}

/// The module with `weights` written into its parameters (checked with `check_shapes` first).
pub fn write<M: Module>(module: M, weights: &Weights) -> Result<M, NetworkError> {
    weights.check_shapes(&read(&module).shapes)?;
    Ok(module.map(&mut Writer { weights, next: 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::models::MlpActorCritic;

    #[test]
    fn weights_round_trip_and_are_checked() {
        let d = crate::nn::inference_device();
        let mut rng = planetgym_env::rng::Rng::new(3);
        let a = MlpActorCritic::new(3, 2, 8, &mut rng, &d);
        let b = MlpActorCritic::new(3, 2, 8, &mut rng, &d);
        let wa = read(&a);
        assert_ne!(wa, read(&b));
        let b = write(b, &wa).unwrap();
        assert_eq!(read(&b), wa);
        let other = MlpActorCritic::new(4, 2, 8, &mut rng, &d);
        assert!(write(other, &wa).unwrap_err().to_string().contains("shape"));
    }
}
