//! Policy networks.
//!
//! ReLU rather than tanh: burn's CPU backend evaluates tanh as a serial scalar loop, which
//! halved the update speed in our measurements (see STACK.md).
//!
//! `MlpActorCritic`: flat observation -> shared ReLU trunk -> action parameters and a value.
//! `EntityScorer`: scores every candidate (node, job, site, region-site pair) with the same
//! weights from its own row plus a context of the global features, so one set of weights runs on
//! any number of candidates; masked softmax over candidates; the value reads the mean of the
//! candidates' hidden rows (over present candidates) and the context. With column pooling
//! (for split actions over a grid, e.g. traffic's region-site pairs), each candidate's second
//! layer also reads the mean first-layer row of the present candidates in its column (the pairs
//! sharing its site): one round of message passing, so that a pair's score can depend on how
//! the other regions compete for its site.

use super::fused::{Entity, FusedNetwork, Layers, Mlp};
use super::head::ActionHead;
use super::params;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Bool, Device, IndexingUpdateOp, Int, Tensor, TensorData};
use planetgym_env::features::EntityParts;
use planetgym_env::rng::Rng;

/// A linear layer with weights drawn from `rng` (uniform in +-gain/sqrt(inputs), burn's default
/// bound when gain = 1) and zero biases: initialisation is a function of the seed alone. The
/// action layers use a small gain, so that a fresh policy is close to uniform.
pub(crate) fn linear(
    inputs: usize,
    outputs: usize,
    gain: f64,
    rng: &mut Rng,
    device: &Device,
) -> Linear {
    let bound = gain / (inputs.max(1) as f64).sqrt();
    let weights: Vec<f32> = (0..inputs * outputs)
        .map(|_| rng.uniform_in(-bound, bound) as f32)
        .collect();
    Linear {
        weight: Param::from_data(TensorData::new(weights, [inputs, outputs]), device),
        bias: Some(Param::from_data(
            TensorData::new(vec![0.0f32; outputs], [outputs]),
            device,
        )),
    }
}

/// A linear layer as plain values, `y = x W + b`: for export to other runtimes.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    /// `[inputs, outputs]`, row-major.
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

impl Dense {
    fn of(layer: &Linear) -> Self {
        let [inputs, outputs] = layer.weight.val().dims();
        let values = |t: Tensor<1>| t.into_data().try_into_vec::<f32>().unwrap_or_default();
        Self {
            inputs,
            outputs,
            weight: values(layer.weight.val().reshape([inputs * outputs])),
            bias: layer
                .bias
                .as_ref()
                .map_or_else(|| vec![0.0; outputs], |b| values(b.val())),
        }
    }
}

/// Gain of the layers producing action parameters.
const ACTION_GAIN: f64 = 0.01;

#[derive(Module, Debug)]
pub struct MlpActorCritic {
    hidden1: Linear,
    hidden2: Linear,
    policy: Linear,
    value: Linear,
}

impl MlpActorCritic {
    /// `inputs` features, `outputs` action parameters (logits or means), `hidden` units.
    pub fn new(
        inputs: usize,
        outputs: usize,
        hidden: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        Self {
            hidden1: linear(inputs, hidden, 1.0, rng, device),
            hidden2: linear(hidden, hidden, 1.0, rng, device),
            policy: linear(hidden, outputs, ACTION_GAIN, rng, device),
            value: linear(hidden, 1, 1.0, rng, device),
        }
    }

    /// The layers by name, in the order `forward` applies them.
    pub fn layers(&self) -> [(&'static str, Dense); 4] {
        [
            ("hidden1", Dense::of(&self.hidden1)),
            ("hidden2", Dense::of(&self.hidden2)),
            ("policy", Dense::of(&self.policy)),
            ("value", Dense::of(&self.value)),
        ]
    }

    /// Action parameters `[B, outputs]` and values `[B]` for observations `[B, inputs]`.
    pub fn forward(&self, obs: Tensor<2>) -> (Tensor<2>, Tensor<1>) {
        let [batch, _] = obs.dims();
        let h = relu(self.hidden2.forward(relu(self.hidden1.forward(obs))));
        (
            self.policy.forward(h.clone()),
            self.value.forward(h).reshape([batch]),
        )
    }
}

/// The size and structure of a policy network, as a training config and a policy file state
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Architecture {
    pub hidden: usize,
    /// Entity scorers of split actions over a grid: candidates of a column exchange their mean
    /// first-layer row (see `EntityScorer`).
    pub column_pooling: bool,
}

impl Architecture {
    /// `hidden` units, no column pooling.
    pub fn plain(hidden: usize) -> Self {
        Self {
            hidden,
            column_pooling: false,
        }
    }
}

#[derive(Module, Debug)]
pub struct EntityScorer {
    /// Where the global features, entity rows and presence mask sit in an encoded observation.
    #[module(skip)]
    parts: EntityParts,
    /// With column pooling: the grid's number of columns (candidate `e` is in column
    /// `e % columns`).
    #[module(skip)]
    columns: Option<usize>,
    context: Linear,
    entity1: Linear,
    entity2: Linear,
    score: Linear,
    value: Linear,
    /// With column pooling: `[hidden, hidden]`, from the column's mean first-layer row to the
    /// second layer (no bias: entity2's serves).
    column: Option<Linear>,
}

impl EntityScorer {
    /// A scorer for observations laid out as `parts` (the number of entities there is only
    /// the encoder's maximum: the weights run on any number), pooling over `columns` columns
    /// when given. The column weights are drawn last, so that a seed starts the other layers
    /// from the same weights with and without pooling.
    pub fn new(
        parts: EntityParts,
        hidden: usize,
        columns: Option<usize>,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        Self {
            parts,
            columns,
            context: linear(parts.global_len, hidden, 1.0, rng, device),
            entity1: linear(parts.entity_features, hidden, 1.0, rng, device),
            entity2: linear(hidden, hidden, 1.0, rng, device),
            score: linear(hidden, 1, ACTION_GAIN, rng, device),
            value: linear(2 * hidden, 1, 1.0, rng, device),
            column: columns.map(|_| Linear {
                bias: None,
                ..linear(hidden, hidden, 1.0, rng, device)
            }),
        }
    }

    /// With column pooling: the number of columns and the column layer.
    pub fn column_layer(&self) -> Option<(usize, Dense)> {
        Some((self.columns?, Dense::of(self.column.as_ref()?)))
    }

    /// The layers by name: `context` (global features), `entity1`, `entity2`, `score`, `value`
    /// (over the pooled rows followed by the context).
    pub fn layers(&self) -> [(&'static str, Dense); 5] {
        [
            ("context", Dense::of(&self.context)),
            ("entity1", Dense::of(&self.entity1)),
            ("entity2", Dense::of(&self.entity2)),
            ("score", Dense::of(&self.score)),
            ("value", Dense::of(&self.value)),
        ]
    }

    /// Scores and values for encoded observations `[B, obs_len]` (global features, entity rows,
    /// presence mask, as the encoder lays them out).
    pub fn forward_encoded(&self, obs: Tensor<2>) -> (Tensor<2>, Tensor<1>) {
        let [batch, _] = obs.dims();
        let p = self.parts;
        let (g, e, f) = (p.global_len, p.entities, p.entity_features);
        let global = obs.clone().narrow(1, 0, g);
        let rows = obs.clone().narrow(1, g, e * f).reshape([batch, e, f]);
        let present = obs.narrow(1, p.mask_offset(), e).greater_elem(0.5);
        self.forward(global, rows, present)
    }

    /// Scores `[B, E]` (masked entries at a very low logit) and values `[B]` for global features
    /// `[B, G]`, entity rows `[B, E, F]` and the presence mask `[B, E]`.
    pub fn forward(
        &self,
        global: Tensor<2>,
        entities: Tensor<3>,
        present: Tensor<2, Bool>,
    ) -> (Tensor<2>, Tensor<1>) {
        let [batch, count, _] = entities.dims();
        // Few candidates present (batch queues): run the entity layers on those rows only.
        // Column pooling reads the padded grid.
        let packed = present_rows(&present).filter(|rows| {
            self.columns.is_none()
                && !rows.is_empty()
                && (rows.len() as f64) < PACK_BELOW * (batch * count) as f64
        });
        self.forward_rows(global, entities, present, packed)
    }

    /// `forward`, with the entity layers run on the flat rows `packed` only (all the present
    /// ones) or, for `None`, on every row.
    fn forward_rows(
        &self,
        global: Tensor<2>,
        entities: Tensor<3>,
        present: Tensor<2, Bool>,
        packed: Option<Vec<usize>>,
    ) -> (Tensor<2>, Tensor<1>) {
        let [batch, count, features] = entities.dims();
        let context = relu(self.context.forward(global));
        let [_, hidden] = context.dims();
        let weights = present.clone().float().reshape([batch, count, 1]);
        let counted = weights
            .clone()
            .sum_dim(1)
            .reshape([batch, 1])
            .clamp_min(1.0);
        let (scores, pooled_sum) = match packed {
            Some(rows) => {
                let device = context.device();
                let n = rows.len();
                let of_batch: Vec<i64> = rows.iter().map(|&r| (r / count) as i64).collect();
                let of_batch = Tensor::<1, Int>::from_data(TensorData::new(of_batch, [n]), &device);
                let rows: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
                let rows = Tensor::<1, Int>::from_data(TensorData::new(rows, [n]), &device);
                let packed = entities
                    .reshape([batch * count, features])
                    .select(0, rows.clone());
                let h = relu(
                    self.entity1.forward(packed) + context.clone().select(0, of_batch.clone()),
                );
                let h = relu(self.entity2.forward(h));
                let scores = Tensor::<1>::zeros([batch * count], &device).select_assign(
                    0,
                    rows,
                    self.score.forward(h.clone()).reshape([n]),
                    IndexingUpdateOp::Add,
                );
                let pooled = Tensor::<2>::zeros([batch, hidden], &device).select_assign(
                    0,
                    of_batch,
                    h,
                    IndexingUpdateOp::Add,
                );
                (scores.reshape([batch, count]), pooled)
            }
            None => {
                let rows = relu(
                    self.entity1.forward(entities) + context.clone().reshape([batch, 1, hidden]),
                );
                let second = self.entity2.forward(rows.clone());
                let second = match (self.columns, &self.column) {
                    (Some(columns), Some(layer)) => {
                        second + column_messages(rows, weights.clone(), columns, layer)
                    }
                    _ => second,
                };
                let rows = relu(second);
                let scores = self.score.forward(rows.clone()).reshape([batch, count]);
                (scores, (rows * weights).sum_dim(1).reshape([batch, hidden]))
            }
        };
        let pooled = pooled_sum / counted;
        let value = self
            .value
            .forward(Tensor::cat(vec![pooled, context], 1))
            .reshape([batch]);
        (scores.mask_fill(present.bool_not(), MASKED_SCORE), value)
    }
}

/// For first-layer rows `[B, E, H]` on a grid of `columns` columns (`E` a multiple of it) and
/// presence weights `[B, E, 1]`: each row's column mean over the present rows (over at least
/// one), through `layer`, `[B, E, H]`.
fn column_messages(
    rows: Tensor<3>,
    weights: Tensor<3>,
    columns: usize,
    layer: &Linear,
) -> Tensor<3> {
    let [batch, count, hidden] = rows.dims();
    let grid = [batch, count / columns, columns, hidden];
    let total = (rows * weights.clone()).reshape(grid).sum_dim(1);
    let present = weights
        .reshape([batch, count / columns, columns, 1])
        .sum_dim(1)
        .clamp_min(1.0);
    let message = layer.forward(total / present);
    message
        .expand([batch, count / columns, columns, hidden])
        .reshape([batch, count, hidden])
}

/// The grid's number of columns when `architecture` pools over columns and `head` splits over
/// a grid (`Brain::new` refuses pooling for other heads).
pub(crate) fn pooled_columns(architecture: Architecture, head: &ActionHead) -> Option<usize> {
    match head {
        ActionHead::Simplex { cols, .. } if architecture.column_pooling => Some(*cols),
        _ => None,
    }
}

/// The score of an absent candidate: low enough that a softmax never picks it.
pub(crate) const MASKED_SCORE: f32 = -1.0e9;

/// Below this share of present candidates the entity layers run on the present rows only
/// (gathered, then scattered back): the padding of batch's 128 job slots was most of its
/// update's work.
const PACK_BELOW: f64 = 0.75;

/// Flat indices (`b * count + e`) of the present candidates; `None` if the mask cannot be read.
fn present_rows(present: &Tensor<2, Bool>) -> Option<Vec<usize>> {
    let flags = present.clone().into_data().try_into_vec::<bool>().ok()?;
    Some(
        flags
            .iter()
            .enumerate()
            .filter(|(_, p)| **p)
            .map(|(i, _)| i)
            .collect(),
    )
}

/// The trunk chosen from the observation layout.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per policy, moved rarely: its size does not matter
pub enum Network {
    Mlp(MlpActorCritic),
    Entity(EntityScorer),
}

/// A network plus the state-independent log standard deviations of Gaussian heads (an empty
/// parameter for categorical heads).
#[derive(Module, Debug)]
pub struct ActorCritic {
    pub network: Network,
    pub log_std: Param<Tensor<1>>,
}

impl ActorCritic {
    /// An MLP for flat observations (`parts` = None), an entity scorer otherwise, with the
    /// outputs `head` needs and its log standard deviations starting at `initial_log_std`.
    /// Column pooling applies to entity scorers of split heads only (`pooled_columns`).
    pub fn new(
        obs_len: usize,
        parts: Option<EntityParts>,
        head: &ActionHead,
        architecture: Architecture,
        initial_log_std: f32,
        rng: &mut Rng,
        device: &Device,
    ) -> Self {
        let hidden = architecture.hidden;
        let columns = pooled_columns(architecture, head);
        let network = match parts {
            None => Network::Mlp(MlpActorCritic::new(
                obs_len,
                head.outputs(),
                hidden,
                rng,
                device,
            )),
            Some(p) => Network::Entity(EntityScorer::new(p, hidden, columns, rng, device)),
        };
        Self {
            network,
            log_std: Param::from_tensor(Tensor::<1>::full(
                [head.std_len()],
                initial_log_std,
                device,
            )),
        }
    }

    /// The shapes of the parameters `new` would create, in the order `params::read` lists
    /// them, computed without allocating them: to check saved weights before building.
    pub fn shapes(
        obs_len: usize,
        parts: Option<EntityParts>,
        head: &ActionHead,
        architecture: Architecture,
    ) -> Vec<Vec<usize>> {
        let hidden = architecture.hidden;
        let layers = match parts {
            None => vec![
                (obs_len, hidden),
                (hidden, hidden),
                (hidden, head.outputs()),
                (hidden, 1),
            ],
            Some(p) => vec![
                (p.global_len, hidden),
                (p.entity_features, hidden),
                (hidden, hidden),
                (hidden, 1),
                (2 * hidden, 1),
            ],
        };
        let mut shapes: Vec<Vec<usize>> = layers
            .into_iter()
            .flat_map(|(inputs, outputs)| [vec![inputs, outputs], vec![outputs]])
            .collect();
        if parts.is_some() && pooled_columns(architecture, head).is_some() {
            shapes.push(vec![hidden, hidden]);
        }
        shapes.push(vec![head.std_len()]);
        shapes
    }

    /// Floats per observation that an update keeps for a whole shard of rows: what its
    /// memory traffic per row scales with. The MLP's hidden layers run over all of a shard's
    /// rows; the entity scorer runs its hidden layers a tile of candidates at a time
    /// (`fused`), so only its outputs (one score per candidate, and their gradients) grow with
    /// the rows.
    pub fn activations_per_row(&self) -> usize {
        match &self.network {
            Network::Mlp(m) => m.hidden2.weight.val().dims()[1],
            Network::Entity(m) => m.parts.entities,
        }
    }

    /// The network's shape for the hand-written passes of `fused`.
    pub fn fused(&self) -> FusedNetwork {
        let layers = match &self.network {
            Network::Mlp(m) => {
                let [inputs, hidden] = m.hidden1.weight.val().dims();
                let [_, outputs] = m.policy.weight.val().dims();
                Layers::Mlp(Mlp {
                    inputs,
                    hidden,
                    outputs,
                })
            }
            Network::Entity(m) => Layers::Entity(Entity {
                parts: m.parts,
                hidden: m.entity2.weight.val().dims()[1],
                columns: m.columns,
            }),
        };
        FusedNetwork::new(layers, params::read(self).shapes)
    }

    /// `forward` on row-major observations `[B * obs_len]`, returning plain vectors: action
    /// parameters `[B * outputs]` and values `[B]`.
    pub fn forward_rows(
        &self,
        obs: &[f32],
        obs_len: usize,
        device: &Device,
    ) -> (Vec<f32>, Vec<f32>) {
        let rows = obs.len() / obs_len.max(1);
        let input = Tensor::<2>::from_data(TensorData::new(obs.to_vec(), [rows, obs_len]), device);
        let (out, values) = self.forward(input);
        (
            out.into_data().try_into_vec::<f32>().unwrap_or_default(),
            values.into_data().try_into_vec::<f32>().unwrap_or_default(),
        )
    }

    /// Action parameters `[B, outputs]` and values `[B]` for encoded observations `[B, obs_len]`.
    pub fn forward(&self, obs: Tensor<2>) -> (Tensor<2>, Tensor<1>) {
        match &self.network {
            Network::Mlp(m) => m.forward(obs),
            Network::Entity(m) => m.forward_encoded(obs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn device() -> Device {
        Device::flex()
    }

    fn random(shape: [usize; 3], seed: u64, d: &Device) -> Tensor<3> {
        let mut rng = Rng::new(seed);
        let n = shape.iter().product();
        Tensor::<3>::from_data(
            TensorData::new(
                (0..n).map(|_| rng.normal() as f32).collect::<Vec<f32>>(),
                shape,
            ),
            d,
        )
    }

    #[test]
    fn gradients_flow_and_adam_fits_a_target() {
        use burn::optim::{AdamConfig, GradientsParams};
        let d = crate::nn::training_device();
        let mut model = MlpActorCritic::new(2, 1, 16, &mut Rng::new(1), &d);
        let mut optim = AdamConfig::new().init();
        let obs = Tensor::<2>::from_data(
            TensorData::new(vec![0.0f32, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0], [4, 2]),
            &d,
        );
        let target = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, -1.0, 0.5, 0.0], [4]), &d);
        let loss_of = |m: &MlpActorCritic| {
            let (_, value) = m.forward(obs.clone());
            (value - target.clone()).powf_scalar(2.0).mean()
        };
        let first: f32 = loss_of(&model).into_scalar();
        for _ in 0..200 {
            let loss = loss_of(&model);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(0.01, model, grads);
        }
        let last: f32 = loss_of(&model).into_scalar();
        assert!(last < 0.05 * first, "value loss {first} -> {last}");
    }

    #[test]
    fn mlp_shapes() {
        let d = device();
        let model = MlpActorCritic::new(7, 4, 16, &mut Rng::new(1), &d);
        let (policy, value) = model.forward(Tensor::<2>::zeros([3, 7], &d));
        assert_eq!((policy.dims(), value.dims()), ([3, 4], [3]));
    }

    #[test]
    fn one_entity_scorer_runs_on_any_number_of_candidates_and_respects_order_and_masks() {
        let d = device();
        let parts = EntityParts {
            global_len: 3,
            entities: 1500,
            entity_features: 5,
        };
        let model = EntityScorer::new(parts, 16, None, &mut Rng::new(1), &d);
        let global = Tensor::<2>::zeros([1, 3], &d);
        for count in [500, 1500] {
            let entities = random([1, count, 5], count as u64, &d);
            let present = Tensor::<2, Bool>::from_data(
                TensorData::new(
                    (0..count).map(|i| i % 3 != 0).collect::<Vec<bool>>(),
                    [1, count],
                ),
                &d,
            );
            let (scores, value) = model.forward(global.clone(), entities.clone(), present);
            assert_eq!((scores.dims(), value.dims()), ([1, count], [1]));
            let s = scores.into_data().try_to_vec::<f32>().unwrap();
            assert!(
                s.iter().step_by(3).all(|&v| v <= -1.0e8),
                "masked candidates are never chosen"
            );
            // The same candidate scores the same wherever it sits: swap the first two rows.
            let swapped = Tensor::cat(
                vec![
                    entities.clone().narrow(1, 1, 1),
                    entities.clone().narrow(1, 0, 1),
                    entities.narrow(1, 2, count - 2),
                ],
                1,
            );
            let all =
                Tensor::<2, Bool>::from_data(TensorData::new(vec![true; count], [1, count]), &d);
            let (a, _) = model.forward(
                global.clone(),
                random([1, count, 5], count as u64, &d),
                all.clone(),
            );
            let (b, _) = model.forward(global.clone(), swapped, all);
            let (a, b) = (
                a.into_data().try_to_vec::<f32>().unwrap(),
                b.into_data().try_to_vec::<f32>().unwrap(),
            );
            assert!(
                (a[0] - b[1]).abs() < 1e-5
                    && (a[1] - b[0]).abs() < 1e-5
                    && (a[5] - b[5]).abs() < 1e-5
            );
        }
    }

    #[test]
    fn column_pooling_lets_a_candidate_see_its_column_and_only_it() {
        let d = device();
        let parts = EntityParts {
            global_len: 2,
            entities: 12,
            entity_features: 3,
        };
        // A 4 x 3 grid: candidate e in row e / 3, column e % 3.
        let scores_with = |columns: Option<usize>, changed: usize| {
            let model = EntityScorer::new(parts, 8, columns, &mut Rng::new(3), &d);
            let entities = random([1, 12, 3], 4, &d);
            let bump = Tensor::<3>::from_data(
                TensorData::new(
                    (0..36)
                        .map(|i| if i / 3 == changed { 2.0f32 } else { 0.0 })
                        .collect::<Vec<f32>>(),
                    [1, 12, 3],
                ),
                &d,
            );
            let all = Tensor::<2, Bool>::from_data(TensorData::new(vec![true; 12], [1, 12]), &d);
            let global = Tensor::<2>::zeros([1, 2], &d);
            let run = |e: Tensor<3>| {
                let (scores, _) = model.forward(global.clone(), e, all.clone());
                scores.into_data().try_to_vec::<f32>().unwrap()
            };
            let (before, after) = (run(entities.clone()), run(entities + bump));
            (before[0] - after[0]).abs()
        };
        // Candidate 0 (row 0, column 0); candidate 9 shares its column, candidate 10 does not.
        assert!(scores_with(Some(3), 9) > 1e-6, "a candidate of its column");
        assert!(
            scores_with(Some(3), 10) == 0.0,
            "a candidate of another column"
        );
        assert!(
            scores_with(None, 9) == 0.0,
            "without pooling, candidates are scored alone"
        );
    }

    #[test]
    fn packed_rows_score_and_learn_like_padded_ones() {
        let d = crate::nn::training_device();
        let parts = EntityParts {
            global_len: 3,
            entities: 40,
            entity_features: 5,
        };
        let model = EntityScorer::new(parts, 16, None, &mut Rng::new(2), &d);
        let global = random([1, 6, 3], 7, &d).reshape([6, 3]);
        let entities = random([6, 40, 5], 8, &d);
        // A third present, and one observation with none.
        let flags: Vec<bool> = (0..240).map(|i| i < 200 && i % 3 == 1).collect();
        let rows: Vec<usize> = (0..240).filter(|&i| flags[i]).collect();
        let present = Tensor::<2, Bool>::from_data(TensorData::new(flags, [6, 40]), &d);
        let run = |packed: Option<Vec<usize>>| {
            let (scores, value) =
                model.forward_rows(global.clone(), entities.clone(), present.clone(), packed);
            let loss = (scores.clone().clamp_min(-10.0) * 0.3).sum() + value.clone().sum();
            let grads = loss.backward();
            let flat = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
            let g = model
                .entity1
                .weight
                .grad(&grads)
                .map(|t| t.into_data().try_to_vec::<f32>().unwrap())
                .unwrap();
            (
                flat(scores),
                value.into_data().try_to_vec::<f32>().unwrap(),
                g,
            )
        };
        let (a, b) = (run(None), run(Some(rows)));
        let close = |x: &[f32], y: &[f32]| {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| (p - q).abs() <= 1e-4 * (1.0 + p.abs()))
        };
        assert!(close(&a.0, &b.0), "scores");
        assert!(close(&a.1, &b.1), "values");
        assert!(close(&a.2, &b.2), "entity1 gradient");
        assert!(
            a.2.iter().any(|&v| v != 0.0),
            "the gradient reaches entity1"
        );
        // `forward` packs this mask (a third present) and gives the same scores.
        let (scores, _) = model.forward(global.clone(), entities.clone(), present.clone());
        assert!(close(
            &a.0,
            &scores.into_data().try_to_vec::<f32>().unwrap()
        ));
    }
}
