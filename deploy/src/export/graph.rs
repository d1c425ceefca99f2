//! The ONNX graph of a policy network, named value by value, and its inputs from encoded
//! observations.

use super::manifest::{params_output, tensor_specs, value_info};
use crate::onnx::{Attribute, Graph, Node, Tensor};
use planetgym_agents::nn::models::{Dense, Network};
use planetgym_agents::nn::normalise::CLIP;
use planetgym_agents::nn::policy::Brain;
use planetgym_env::features::{Feature, Layout};
use planetgym_env::{FeatureSpec, Space};

/// A graph's inputs by name.
pub type Inputs = Vec<(String, Tensor)>;

/// One named float input.
pub fn input(name: &str, shape: Vec<usize>, values: Vec<f32>) -> (String, Tensor) {
    (name.to_string(), Tensor::f32(shape, values))
}

/// Builds a graph node by node, naming every value after what it holds.
struct Builder {
    nodes: Vec<Node>,
    initializers: Vec<(String, Tensor)>,
}

impl Builder {
    fn constant(&mut self, name: &str, shape: Vec<usize>, values: Vec<f32>) -> String {
        self.initializers
            .push((name.into(), Tensor::f32(shape, values)));
        name.into()
    }

    fn axes(&mut self, name: &str, axes: &[i64]) -> String {
        self.initializers
            .push((name.into(), Tensor::i64(vec![axes.len()], axes.to_vec())));
        name.into()
    }

    fn op(
        &mut self,
        op: &str,
        out: &str,
        inputs: &[&str],
        attributes: Vec<(String, Attribute)>,
    ) -> String {
        self.nodes.push(Node {
            op: op.into(),
            name: out.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec![out.into()],
            attributes,
        });
        out.into()
    }

    /// `x W + b`.
    fn dense(&mut self, x: &str, name: &str, layer: &Dense) -> String {
        let w = self.constant(
            &format!("{name}.weight"),
            vec![layer.inputs, layer.outputs],
            layer.weight.clone(),
        );
        let b = self.constant(
            &format!("{name}.bias"),
            vec![layer.outputs],
            layer.bias.clone(),
        );
        let product = self.op("MatMul", &format!("{name}.matmul"), &[x, &w], vec![]);
        self.op("Add", &format!("{name}.out"), &[&product, &b], vec![])
    }

    /// The mean of `x` over axis 1 (`axes1` names the constant `[1]`) weighted by `weights` (0
    /// or 1, broadcast against `x`) and divided by at least 1, the axis dropped: the mean over
    /// the present entities. Values are named `{name}.*`.
    fn masked_mean(&mut self, name: &str, x: &str, weights: &str, axes1: &str) -> String {
        let keep = || vec![("keepdims".into(), Attribute::Int(0))];
        let present = self.op("Mul", &format!("{name}.present"), &[x, weights], vec![]);
        let total = self.op(
            "ReduceSum",
            &format!("{name}.sum"),
            &[&present, axes1],
            keep(),
        );
        let count = self.op(
            "ReduceSum",
            &format!("{name}.count"),
            &[weights, axes1],
            keep(),
        );
        let one = self.constant(&format!("{name}.one"), vec![], vec![1.0]);
        let count = self.op(
            "Max",
            &format!("{name}.count_at_least_1"),
            &[&count, &one],
            vec![],
        );
        self.op("Div", &format!("{name}.mean"), &[&total, &count], vec![])
    }

    /// `second` (`[B, E, H]`) plus, for each entity, `layer` applied to the mean of `h1`
    /// (`[B, E, H]`) over the present entities (weights `[B, E, 1]`) of its column of a grid
    /// with `columns` columns (entity `e` in column `e % columns`); `axes1` names the constant
    /// `[1]`.
    fn column_pooling(
        &mut self,
        h1: &str,
        second: &str,
        weights: &str,
        columns: usize,
        layer: &Dense,
        axes1: &str,
    ) -> String {
        let hidden = layer.outputs as i64;
        let grid = self.axes("column.grid", &[0, -1, columns as i64, hidden]);
        let grid_weights = self.axes("column.grid_weights", &[0, -1, columns as i64, 1]);
        let rows = self.axes("column.rows", &[0, -1, hidden]);
        let h1 = self.op("Reshape", "column.h1_grid", &[h1, &grid], vec![]);
        let w = self.op(
            "Reshape",
            "column.weights",
            &[weights, &grid_weights],
            vec![],
        );
        let mean = self.masked_mean("column", &h1, &w, axes1);
        let message = self.dense(&mean, "column", layer);
        let message = self.op("Unsqueeze", "column.per_row", &[&message, axes1], vec![]);
        let second = self.op("Reshape", "column.second_grid", &[second, &grid], vec![]);
        let sum = self.op("Add", "column.with_message", &[&second, &message], vec![]);
        self.op("Reshape", "column.second", &[&sum, &rows], vec![])
    }

    fn relu(&mut self, x: &str) -> String {
        self.op("Relu", &format!("{x}.relu"), &[x], vec![])
    }

    /// Features in their units -> the encoder's values (/ scale) -> normalised and clipped as
    /// in training (when the policy normalises), over the last axis.
    fn prepare(
        &mut self,
        x: &str,
        features: &[Feature],
        moments: Option<(&[f64], &[f64])>,
    ) -> String {
        let n = features.len();
        let scale = self.constant(
            &format!("{x}.scale"),
            vec![n],
            features.iter().map(|f| f.scale).collect(),
        );
        let encoded = self.op("Div", &format!("{x}.encoded"), &[x, &scale], vec![]);
        let Some((mean, std)) = moments else {
            return encoded;
        };
        let as_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect();
        let mean = self.constant(&format!("{x}.mean"), vec![n], as_f32(mean));
        let std = self.constant(&format!("{x}.std"), vec![n], as_f32(std));
        let centred = self.op("Sub", &format!("{x}.centred"), &[&encoded, &mean], vec![]);
        let scaled = self.op(
            "Div",
            &format!("{x}.standardised"),
            &[&centred, &std],
            vec![],
        );
        let low = self.constant(&format!("{x}.clip_low"), vec![], vec![-CLIP]);
        let high = self.constant(&format!("{x}.clip_high"), vec![], vec![CLIP]);
        self.op(
            "Clip",
            &format!("{x}.normalised"),
            &[&scaled, &low, &high],
            vec![],
        )
    }
}

/// The ONNX graph of `brain` for observations laid out as `spec`.
pub(super) fn policy_graph(brain: &Brain, spec: &FeatureSpec, space: &Space) -> Graph {
    let mut b = Builder {
        nodes: Vec::new(),
        initializers: Vec::new(),
    };
    let moments = brain.normaliser.as_ref().map(|n| n.moments());
    let params = params_output(space);
    match (&brain.model.network, &spec.layout) {
        (Network::Mlp(mlp), Layout::Flat { features }) => {
            let slots = moments.as_ref().map(|(m, s)| (&m[..], &s[..]));
            let mut x = b.prepare("obs", features, slots);
            let [h1, h2, policy, value] = mlp.layers();
            for (name, layer) in [h1, h2] {
                let out = b.dense(&x, name, &layer);
                x = b.relu(&out);
            }
            let out = b.dense(&x, policy.0, &policy.1);
            b.op("Identity", params, &[&out], vec![]);
            let v = b.dense(&x, value.0, &value.1);
            let axes = b.axes("axes.1", &[1]);
            b.op("Squeeze", "value", &[&v, &axes], vec![]);
        }
        (Network::Entity(scorer), Layout::Entity { global, entity, .. }) => {
            let g = global.len();
            let split = |range: std::ops::Range<usize>| {
                moments
                    .as_ref()
                    .map(|(m, s)| (&m[range.clone()], &s[range]))
            };
            let gx = b.prepare("global", global, split(0..g));
            let ex = b.prepare("entities", entity, split(g..g + entity.len()));
            let [context, entity1, entity2, score, value] = scorer.layers();
            let c = b.dense(&gx, context.0, &context.1);
            let c = b.relu(&c);
            let axes1 = b.axes("axes.1", &[1]);
            let axes2 = b.axes("axes.2", &[2]);
            let c3 = b.op("Unsqueeze", "context.per_entity", &[&c, &axes1], vec![]);
            let half = b.constant("half", vec![], vec![0.5]);
            let present = b.op("Greater", "present", &["entity_mask", &half], vec![]);
            let w = b.op(
                "Cast",
                "present.float",
                &[&present],
                vec![("to".into(), Attribute::Int(1))],
            );
            let w = b.op("Unsqueeze", "present.weights", &[&w, &axes2], vec![]);
            let r = b.dense(&ex, entity1.0, &entity1.1);
            let r = b.op("Add", "entity1.with_context", &[&r, &c3], vec![]);
            let h1 = b.relu(&r);
            let r = b.dense(&h1, entity2.0, &entity2.1);
            let r = match scorer.column_layer() {
                Some((columns, layer)) => b.column_pooling(&h1, &r, &w, columns, &layer, &axes1),
                None => r,
            };
            let rows = b.relu(&r);
            let s = b.dense(&rows, score.0, &score.1);
            let s = b.op("Squeeze", "score.per_entity", &[&s, &axes2], vec![]);
            let pooled = b.masked_mean("rows", &rows, &w, &axes1);
            let both = b.op(
                "Concat",
                "pooled_and_context",
                &[&pooled, &c],
                vec![("axis".into(), Attribute::Int(1))],
            );
            let v = b.dense(&both, value.0, &value.1);
            b.op("Squeeze", "value", &[&v, &axes1], vec![]);
            let masked = b.constant("masked_logit", vec![], vec![-1.0e9]);
            b.op("Where", params, &[&present, &s, &masked], vec![]);
        }
        _ => unreachable!("Brain builds an entity scorer exactly for entity layouts"),
    }
    let (inputs, outputs) = tensor_specs(spec, space);
    Graph {
        name: format!("planetgym_{}_policy", spec.scenario),
        inputs: inputs.iter().map(value_info).collect(),
        outputs: outputs.iter().map(value_info).collect(),
        initializers: b.initializers,
        nodes: b.nodes,
    }
}

/// Encoded observation rows `[B, obs_len]` (the burn network's input) as the graph's named
/// inputs in feature units.
pub(super) fn graph_inputs(spec: &FeatureSpec, rows: &[f32]) -> Inputs {
    let obs_len = spec.encoded_len().max(1);
    let batch = rows.len() / obs_len;
    let unscale = |values: &mut Vec<f32>, features: &[Feature]| {
        for (i, v) in values.iter_mut().enumerate() {
            *v *= features[i % features.len()].scale;
        }
    };
    match &spec.layout {
        Layout::Flat { features } => {
            let mut obs = rows.to_vec();
            unscale(&mut obs, features);
            vec![input("obs", vec![batch, obs_len], obs)]
        }
        Layout::Entity {
            global,
            entity,
            entities,
        } => {
            let (g, f, e) = (global.len(), entity.len(), *entities);
            let (mut gv, mut ev, mut mv) = (Vec::new(), Vec::new(), Vec::new());
            for row in rows.chunks(obs_len) {
                gv.extend_from_slice(&row[..g]);
                ev.extend_from_slice(&row[g..g + e * f]);
                mv.extend_from_slice(&row[g + e * f..]);
            }
            unscale(&mut gv, global);
            unscale(&mut ev, entity);
            vec![
                input("global", vec![batch, g], gv),
                input("entities", vec![batch, e, f], ev),
                input("entity_mask", vec![batch, e], mv),
            ]
        }
    }
}
