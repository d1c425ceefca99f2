//! A binary classifier for risk prediction: standardised features -> two ReLU layers -> the
//! logit of the probability of failure.

use super::models::linear;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use planetgym_env::rng::Rng;

#[derive(Module, Debug)]
pub struct Classifier {
    hidden1: Linear,
    hidden2: Linear,
    logit: Linear,
}

impl Classifier {
    /// `inputs` features, `hidden` units per layer, weights drawn from `rng`.
    pub fn new(inputs: usize, hidden: usize, rng: &mut Rng, device: &Device) -> Self {
        Self {
            hidden1: linear(inputs, hidden, 1.0, rng, device),
            hidden2: linear(hidden, hidden, 1.0, rng, device),
            logit: linear(hidden, 1, 0.1, rng, device),
        }
    }

    /// Logits `[batch]` of rows `[batch, inputs]`.
    pub fn forward(&self, rows: Tensor<2>) -> Tensor<1> {
        let [batch, _] = rows.dims();
        let h = relu(self.hidden2.forward(relu(self.hidden1.forward(rows))));
        self.logit.forward(h).reshape([batch])
    }
}
