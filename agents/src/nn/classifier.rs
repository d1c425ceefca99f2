//! A binary classifier for risk prediction: standardised features -> two ReLU layers -> the
//! logit of the probability of failure. With `recurrent` units, a GRU first reads the row's
//! recent history (a window of some of its features over time) and its last state joins the
//! features.

use super::models::linear;
use burn::module::Module;
use burn::nn::{GateController, Gru, GruConfig, Linear};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use planetgym_env::rng::Rng;

#[derive(Module, Debug)]
pub struct Classifier {
    gru: Option<Gru>,
    hidden1: Linear,
    hidden2: Linear,
    logit: Linear,
}

/// A GRU of `hidden` units over `inputs` channels, its weights drawn from `rng` (burn's own
/// initialisers would draw from a generator that the seed does not control).
fn gru(inputs: usize, hidden: usize, rng: &mut Rng, device: &Device) -> Gru {
    let mut gru = GruConfig::new(inputs, hidden, true).init(device);
    let mut gate = || GateController {
        input_transform: linear(inputs, hidden, 1.0, rng, device),
        hidden_transform: linear(hidden, hidden, 1.0, rng, device),
    };
    gru.update_gate = gate();
    gru.reset_gate = gate();
    gru.new_gate = gate();
    gru
}

impl Classifier {
    /// `inputs` features, `hidden` units per layer and, with `sequence` = (channels, units), a
    /// GRU over windows of `channels` values per step; weights drawn from `rng`.
    pub fn new(
        inputs: usize,
        hidden: usize,
        sequence: Option<(usize, usize)>,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        let gru = sequence.map(|(channels, units)| gru(channels, units, rng, device));
        let recurrent = sequence.map_or(0, |(_, units)| units);
        Self {
            gru,
            hidden1: linear(inputs + recurrent, hidden, 1.0, rng, device),
            hidden2: linear(hidden, hidden, 1.0, rng, device),
            logit: linear(hidden, 1, 0.1, rng, device),
        }
    }

    /// Logits `[batch]` of rows `[batch, inputs]` with, for a recurrent classifier, their
    /// windows `[batch, steps, channels]` (oldest first).
    pub fn forward(&self, rows: Tensor<2>, windows: Option<Tensor<3>>) -> Tensor<1> {
        let [batch, _] = rows.dims();
        let x = match (&self.gru, windows) {
            (Some(gru), Some(w)) => {
                let [_, steps, _] = w.dims();
                let states = gru.forward(w, None);
                let [_, _, units] = states.dims();
                let last = states.slice([0..batch, steps - 1..steps, 0..units]);
                Tensor::cat(vec![rows, last.reshape([batch, units])], 1)
            }
            _ => rows,
        };
        let h = relu(self.hidden2.forward(relu(self.hidden1.forward(x))));
        self.logit.forward(h).reshape([batch])
    }
}
