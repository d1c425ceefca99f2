//! A network as a `Policy`: it encodes the typed observation with the scenario's own feature
//! spec, runs the network and turns its outputs into a valid action of the scenario's space, so
//! learned policies are evaluated exactly like the baselines.

use super::models::{EntityScorer, MlpActorCritic};
use crate::{Policy, PolicyError};
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Device, Tensor, TensorData};
use planetgym_env::rng::Rng;
use planetgym_env::{Action, Layout, Scenario, Space};

/// The network behind a policy, chosen from the scenario's observation layout.
#[derive(Debug)]
pub enum Network {
    Mlp(MlpActorCritic),
    Entity(EntityScorer),
}

/// How actions are drawn from the network's distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The most likely action (evaluation).
    Greedy,
    /// A sample (exploration), seeded per episode.
    Sample,
}

#[derive(Debug)]
pub struct NeuralPolicy<S: Scenario + Clone> {
    name: String,
    network: Network,
    /// A copy of the scenario, used only for its encoder and spaces.
    scenario: S,
    device: Device,
    mode: Mode,
    rng: Rng,
    buffer: Vec<f32>,
}

impl<S: Scenario + Clone> NeuralPolicy<S> {
    /// A freshly initialised network sized for `scenario`: an MLP for flat observations, an
    /// entity scorer for entity observations (whose actions pick among, or split over, the
    /// entities).
    pub fn new(name: &str, scenario: &S, hidden: usize, mode: Mode) -> Result<Self, PolicyError> {
        let device = super::inference_device();
        let invalid = |message: String| PolicyError::Invalid {
            policy: name.to_string(),
            message,
        };
        let outputs = match scenario.action_space() {
            Space::Discrete { n } => *n,
            Space::MultiDiscrete { nvec } => nvec.iter().sum(),
            Space::Simplex { rows, cols } => rows * cols,
            Space::Box { .. } => {
                return Err(invalid(
                    "Box action spaces are not supported by the neural policy yet".into(),
                ));
            }
        };
        let network = match &scenario.feature_spec().layout {
            Layout::Flat { features } => Network::Mlp(MlpActorCritic::new(
                features.len(),
                outputs,
                hidden,
                &device,
            )),
            Layout::Entity {
                global,
                entity,
                entities,
            } => {
                if *entities != outputs {
                    return Err(invalid(format!(
                        "{entities} entities but {outputs} action outputs: an entity scorer needs one per entity"
                    )));
                }
                Network::Entity(EntityScorer::new(
                    global.len(),
                    entity.len(),
                    hidden,
                    &device,
                ))
            }
        };
        Ok(Self {
            name: name.to_string(),
            network,
            scenario: scenario.clone(),
            device,
            mode,
            rng: Rng::new(0),
            buffer: vec![0.0; scenario.feature_spec().encoded_len()],
        })
    }

    /// Network outputs (one per action parameter) for an encoded observation.
    fn outputs(&self) -> Vec<f32> {
        let d = &self.device;
        let out = match &self.network {
            Network::Mlp(m) => {
                let obs = Tensor::<2>::from_data(
                    TensorData::new(self.buffer.clone(), [1, self.buffer.len()]),
                    d,
                );
                m.forward(obs).0
            }
            Network::Entity(m) => {
                let Some(parts) = self.scenario.feature_spec().entity_parts() else {
                    unreachable!("entity network")
                };
                let (g, e, f) = (parts.global_len, parts.entities, parts.entity_features);
                let global =
                    Tensor::<2>::from_data(TensorData::new(self.buffer[..g].to_vec(), [1, g]), d);
                let rows = self.buffer[parts.entities_offset()..parts.mask_offset()].to_vec();
                let entities = Tensor::<3>::from_data(TensorData::new(rows, [1, e, f]), d);
                let present: Vec<bool> = self.buffer[parts.mask_offset()..]
                    .iter()
                    .map(|&m| m > 0.5)
                    .collect();
                let present = Tensor::<2, Bool>::from_data(TensorData::new(present, [1, e]), d);
                m.forward(global, entities, present).0
            }
        };
        out.into_data().try_to_vec::<f32>().unwrap_or_default()
    }

    /// Index among `logits` (restricted to `legal`), greedy or sampled.
    fn choose(&mut self, logits: &[f32], legal: impl Fn(usize) -> bool) -> Option<usize> {
        let allowed: Vec<usize> = (0..logits.len())
            .filter(|&i| legal(i) && logits[i].is_finite())
            .collect();
        match self.mode {
            Mode::Greedy => allowed
                .into_iter()
                .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a))),
            Mode::Sample => {
                let max = allowed
                    .iter()
                    .map(|&i| logits[i])
                    .fold(f32::NEG_INFINITY, f32::max);
                let weights: Vec<f64> = allowed
                    .iter()
                    .map(|&i| f64::from(logits[i] - max).exp())
                    .collect();
                let mut u = self.rng.uniform() * weights.iter().sum::<f64>();
                for (k, w) in weights.iter().enumerate() {
                    if u < *w {
                        return Some(allowed[k]);
                    }
                    u -= w;
                }
                allowed.last().copied()
            }
        }
    }
}

impl<S: Scenario + Clone> Policy<S> for NeuralPolicy<S> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn reset(&mut self, episode_seed: u64) {
        self.rng = Rng::new(episode_seed ^ 0x00AE_0A11);
    }

    fn act(&mut self, obs: &S::Obs, mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        self.scenario.encode(obs, &mut self.buffer);
        let out = self.outputs();
        let name = self.name.clone();
        let none_legal = || PolicyError::Invalid {
            policy: name.clone(),
            message: "no legal action".into(),
        };
        match self.scenario.action_space().clone() {
            Space::Discrete { .. } => {
                let legal = |i: usize| mask.is_none_or(|m| m.get(i).copied().unwrap_or(false));
                self.choose(&out, legal)
                    .map(Action::Discrete)
                    .ok_or_else(none_legal)
            }
            Space::MultiDiscrete { nvec } => {
                let mut choices = Vec::with_capacity(nvec.len());
                let mut offset = 0;
                for n in nvec {
                    let legal =
                        |i: usize| mask.is_none_or(|m| m.get(offset + i).copied().unwrap_or(false));
                    choices.push(
                        self.choose(&out[offset..offset + n], legal)
                            .ok_or_else(none_legal)?,
                    );
                    offset += n;
                }
                Ok(Action::MultiDiscrete(choices))
            }
            Space::Simplex { cols, .. } => {
                // The split is the row-wise softmax of the outputs (the distribution's mean).
                let logits =
                    Tensor::<1>::from_data(TensorData::new(out.clone(), [out.len()]), &self.device);
                let rows = out.len() / cols.max(1);
                let split = softmax(logits.reshape([rows, cols]), 1)
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap_or_default();
                Ok(Action::Continuous(split))
            }
            Space::Box { .. } => Err(PolicyError::Invalid {
                policy: self.name.clone(),
                message: "Box actions are not supported yet".into(),
            }),
        }
    }
}
