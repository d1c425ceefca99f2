//! A network as a `Policy`: it encodes the typed observation with the scenario's own feature
//! spec, normalises it with the statistics saved at training time, runs the network and turns
//! its outputs into a valid action through the action head, so learned policies are evaluated
//! exactly like the baselines.
//!
//! `PolicyFile` is the saved form (`policy.json`): everything needed to rebuild the policy and
//! to refuse it for a scenario whose observations or actions differ from the training ones.

use super::error::NetworkError;
use super::head::ActionHead;
use super::models::{ActorCritic, Architecture};
use super::normalise::{ObsNormaliser, RunningStats};
use super::params::{self, Weights};
use crate::{Policy, PolicyError};
use burn::tensor::Device;
use planetgym_env::bounds;
use planetgym_env::features::EntityParts;
use planetgym_env::rng::Rng;
use planetgym_env::{Action, Scenario};
use serde::{Deserialize, Serialize};

/// How actions are drawn from the network's distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The most likely action (evaluation).
    Greedy,
    /// A sample (exploration), seeded per episode.
    Sample,
}

/// Version of the `policy.json` layout.
pub const POLICY_FORMAT: u32 = 1;

/// Most hidden units per layer: a `hidden x hidden` layer of 4,096 is 64 MiB of weights (and
/// three times that in training), and the entity scorer applies it to every candidate.
pub const MAX_HIDDEN: usize = 4_096;

/// Checks a network's width (`hidden`, the units per layer).
pub fn check_hidden(hidden: usize) -> Result<(), String> {
    bounds::count(
        "hidden",
        hidden as u64,
        1,
        MAX_HIDDEN as u64,
        "units per layer; hidden x hidden weights per layer",
    )
}

/// Checks a network's width and that its parameters (with gradients and Adam's two moments,
/// four copies in training) fit in the memory budget.
fn check_size(shapes: &[Vec<usize>], hidden: usize) -> Result<(), NetworkError> {
    let parameters: f64 = shapes
        .iter()
        .map(|s| s.iter().map(|&d| d as f64).product::<f64>())
        .sum();
    check_hidden(hidden)
        .and_then(|()| {
            bounds::memory(
                &format!("a network of {parameters} parameters"),
                parameters * 4.0 * 4.0,
            )
        })
        .map_err(NetworkError::Mismatch)
}

/// Whether a policy trained for action space `trained` (as `Display` prints it) acts in
/// `space`: the same space, or for entity layouts the same kind of space (one choice or one
/// split weight per entity), whatever the number of entities.
pub fn same_actions(trained: &str, space: &str, entity_layout: bool) -> bool {
    let kind = |s: &str| s.split('(').next().unwrap_or(s).to_string();
    trained == space || (entity_layout && kind(trained) == kind(space))
}

fn spec_is_entity<S: Scenario>(scenario: &S) -> bool {
    scenario.feature_spec().entity_parts().is_some()
}

/// A trained (or fresh) policy as saved on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyFile {
    pub format: u32,
    pub scenario: String,
    /// The scenario config the policy was trained on (TOML).
    pub scenario_config: String,
    pub feature_spec_hash: String,
    /// The action space, as `Display` prints it (e.g. `Discrete(128)`).
    pub action_space: String,
    pub hidden: usize,
    /// Whether the entity scorer pools over the columns of its split grid (absent in files
    /// written before the option existed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub column_pooling: bool,
    pub weights: Weights,
    /// Observation statistics (None: observations are used as encoded).
    pub obs_stats: Option<RunningStats>,
    /// Environment steps of training behind these weights.
    pub trained_steps: u64,
}

impl PolicyFile {
    /// The network's size and structure.
    pub fn architecture(&self) -> Architecture {
        Architecture {
            hidden: self.hidden,
            column_pooling: self.column_pooling,
        }
    }
}

/// Column pooling needs an entity scorer whose candidates form the grid of a split action
/// (traffic's region-site pairs), whatever its size.
fn check_column_pooling(parts: Option<EntityParts>, head: &ActionHead) -> Result<(), NetworkError> {
    match (parts, head) {
        (Some(p), ActionHead::Simplex { rows, cols }) if p.entities == rows * cols => Ok(()),
        _ => Err(NetworkError::Mismatch(
            "column pooling needs an entity observation whose candidates form the grid of a \
             split action (traffic with observation = \"pairs\")"
                .into(),
        )),
    }
}

/// Network, head and normaliser for one scenario: builds, checks and runs a policy's network.
#[derive(Debug, Clone)]
pub struct Brain {
    pub model: ActorCritic,
    pub head: ActionHead,
    pub normaliser: Option<ObsNormaliser>,
    pub obs_len: usize,
}

impl Brain {
    /// A freshly initialised network on `device`, sized for `scenario`: an MLP for flat
    /// observations, an entity scorer for entity observations (whose actions pick among, or
    /// split over, the entities).
    pub fn new<S: Scenario>(
        scenario: &S,
        architecture: Architecture,
        initial_log_std: f32,
        normalise: bool,
        seed: u64,
        device: &Device,
    ) -> Result<Self, NetworkError> {
        let head = ActionHead::for_space(scenario.action_space());
        let spec = scenario.feature_spec();
        let parts = spec.entity_parts();
        if let Some(p) = parts
            && p.entities != head.outputs()
        {
            return Err(NetworkError::Mismatch(format!(
                "{} entities but {} action outputs: an entity scorer needs one per entity",
                p.entities,
                head.outputs()
            )));
        }
        if architecture.column_pooling {
            check_column_pooling(parts, &head)?;
        }
        check_size(
            &ActorCritic::shapes(spec.encoded_len(), parts, &head, architecture),
            architecture.hidden,
        )?;
        Ok(Self {
            model: ActorCritic::new(
                spec.encoded_len(),
                parts,
                &head,
                architecture,
                initial_log_std,
                &mut Rng::new(seed),
                device,
            ),
            head,
            normaliser: normalise.then(|| ObsNormaliser::new(spec)),
            obs_len: spec.encoded_len(),
        })
    }

    /// The network saved in `file`, on `device`, after checking that it was trained on
    /// observations and actions like `scenario`'s.
    pub fn load<S: Scenario>(
        scenario: &S,
        file: &PolicyFile,
        device: &Device,
    ) -> Result<Self, NetworkError> {
        if file.format != POLICY_FORMAT {
            return Err(NetworkError::Mismatch(format!(
                "policy format {} is not supported (this build reads {POLICY_FORMAT})",
                file.format
            )));
        }
        if file.scenario != scenario.name() {
            return Err(NetworkError::Mismatch(format!(
                "the policy was trained on `{}`, not `{}`",
                file.scenario,
                scenario.name()
            )));
        }
        let hash = scenario.feature_spec().hash();
        if file.feature_spec_hash != hash {
            return Err(NetworkError::Mismatch(format!(
                "feature spec hash {} differs from the scenario's {hash}: the observations (features, order or scales) are not the ones the policy was trained on",
                file.feature_spec_hash
            )));
        }
        let space = scenario.action_space().to_string();
        if !same_actions(&file.action_space, &space, spec_is_entity(scenario)) {
            return Err(NetworkError::Mismatch(format!(
                "the policy acts in {}, the scenario's action space is {space}",
                file.action_space
            )));
        }
        // The saved shapes are checked before anything is built: a policy file claiming a
        // huge network must not allocate it.
        let head = ActionHead::for_space(scenario.action_space());
        let spec = scenario.feature_spec();
        let architecture = file.architecture();
        if architecture.column_pooling {
            check_column_pooling(spec.entity_parts(), &head)?;
        }
        let shapes =
            ActorCritic::shapes(spec.encoded_len(), spec.entity_parts(), &head, architecture);
        check_size(&shapes, file.hidden)?;
        file.weights.check_shapes(&shapes)?;
        let mut brain = Self::new(scenario, architecture, 0.0, false, 0, device)?;
        brain.model = params::write(brain.model, &file.weights)?;
        brain.normaliser = match &file.obs_stats {
            Some(stats) => Some(ObsNormaliser::with_stats(
                scenario.feature_spec(),
                stats.clone(),
            )?),
            None => None,
        };
        Ok(brain)
    }

    /// The saved form of this network.
    pub fn to_file<S: Scenario>(
        &self,
        scenario: &S,
        scenario_config: &str,
        architecture: Architecture,
        trained_steps: u64,
    ) -> PolicyFile {
        PolicyFile {
            format: POLICY_FORMAT,
            scenario: scenario.name().to_string(),
            scenario_config: scenario_config.to_string(),
            feature_spec_hash: scenario.feature_spec().hash(),
            action_space: scenario.action_space().to_string(),
            hidden: architecture.hidden,
            column_pooling: architecture.column_pooling,
            weights: params::read(&self.model),
            obs_stats: self.normaliser.as_ref().map(|n| n.stats.clone()),
            trained_steps,
        }
    }

    /// Normalises encoded observations `[B, obs_len]` in place.
    pub fn normalise(&self, batch: &mut [f32]) {
        if let Some(n) = &self.normaliser {
            n.apply(batch, self.obs_len);
        }
    }

    /// The learned log standard deviations (empty for categorical heads).
    pub fn log_std(&self) -> Vec<f32> {
        self.model
            .log_std
            .val()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct NeuralPolicy<S: Scenario + Clone> {
    name: String,
    brain: Brain,
    /// Further members of an ensemble ([`NeuralPolicy::ensemble`]): the action parameters are
    /// the mean over `brain` and these. Empty for one network.
    others: Vec<Brain>,
    /// A copy of the scenario, used only for its encoder.
    scenario: S,
    device: Device,
    mode: Mode,
    rng: Rng,
    buffer: Vec<f32>,
}

impl<S: Scenario + Clone> NeuralPolicy<S> {
    /// A freshly initialised network sized for `scenario`, its weights drawn from `seed`.
    pub fn new(
        name: &str,
        scenario: &S,
        architecture: Architecture,
        mode: Mode,
        seed: u64,
    ) -> Result<Self, PolicyError> {
        let device = super::inference_device();
        let brain = Brain::new(scenario, architecture, 0.0, false, seed, &device).map_err(|e| {
            PolicyError::Invalid {
                policy: name.to_string(),
                message: e.to_string(),
            }
        })?;
        Ok(Self::from_brain(name, scenario, brain, device, mode))
    }

    /// The policy saved in `file` (checked against `scenario`).
    pub fn load(
        name: &str,
        scenario: &S,
        file: &PolicyFile,
        mode: Mode,
    ) -> Result<Self, PolicyError> {
        let device = super::inference_device();
        let brain = Brain::load(scenario, file, &device).map_err(|e| PolicyError::Invalid {
            policy: name.to_string(),
            message: e.to_string(),
        })?;
        Ok(Self::from_brain(name, scenario, brain, device, mode))
    }

    /// Several policies acting as one: every member sees the same observation, their action
    /// parameters (logits, or a Gaussian's means and log standard deviations) are averaged,
    /// and the first member's head acts on the average. Averaging logits is a geometric mean of
    /// the members' categorical distributions; members trained from different seeds err in
    /// different places, so their average may err less (Lakshminarayanan et al. 2017), at the
    /// members' inference cost summed. The first member's name and mode are the ensemble's;
    /// refused when there are no members or their observations or actions differ.
    pub fn ensemble(members: Vec<Self>) -> Result<Self, PolicyError> {
        let mut members = members.into_iter();
        let mut first = members.next().ok_or_else(|| PolicyError::Invalid {
            policy: "ensemble".into(),
            message: "an ensemble needs at least one member".into(),
        })?;
        for (k, m) in members.enumerate().map(|(k, m)| (k + 1, m)) {
            if m.brain.obs_len != first.brain.obs_len || m.brain.head != first.brain.head {
                return Err(first.invalid(format!(
                    "member {k} reads {} features and acts as {:?}, member 0 {} and {:?}",
                    m.brain.obs_len, m.brain.head, first.brain.obs_len, first.brain.head
                )));
            }
            first.others.push(m.brain);
        }
        Ok(first)
    }

    fn from_brain(name: &str, scenario: &S, brain: Brain, device: Device, mode: Mode) -> Self {
        Self {
            name: name.to_string(),
            buffer: vec![0.0; brain.obs_len],
            brain,
            others: Vec::new(),
            scenario: scenario.clone(),
            device,
            mode,
            rng: Rng::new(0),
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
        let mut row = std::mem::take(&mut self.buffer);
        self.scenario.encode(obs, &mut row);
        let actions = self.act_encoded(&row, mask);
        self.buffer = row;
        actions?
            .pop()
            .ok_or_else(|| self.invalid("no action for one observation".into()))
    }
}

impl<S: Scenario + Clone> NeuralPolicy<S> {
    /// The network, head and normaliser behind this policy.
    pub fn brain(&self) -> &Brain {
        &self.brain
    }

    /// Length of one encoded observation row.
    pub fn obs_len(&self) -> usize {
        self.brain.obs_len
    }

    /// Length of one row's action mask (0 when the space has none).
    pub fn mask_len(&self) -> usize {
        self.brain.head.mask_len()
    }

    /// Actions for `rows` (`[B, obs_len]`, encoded as the scenario's encoder writes them) in one
    /// forward pass; `masks` holds each row's mask one after the other (`[B, mask_len]`).
    pub fn act_encoded(
        &mut self,
        rows: &[f32],
        masks: Option<&[bool]>,
    ) -> Result<Vec<Action>, PolicyError> {
        let (obs_len, mask_len) = (self.brain.obs_len, self.mask_len());
        if obs_len == 0 || !rows.len().is_multiple_of(obs_len) {
            return Err(self.invalid(format!(
                "observations hold {} values, not a multiple of the {obs_len} features of one",
                rows.len()
            )));
        }
        let batch = rows.len() / obs_len;
        if batch == 0 {
            return Ok(Vec::new());
        }
        self.check_finite(rows)?;
        if let Some(m) = masks
            && m.len() != batch * mask_len
        {
            return Err(self.invalid(format!(
                "masks hold {} values; {batch} observations need {}",
                m.len(),
                batch * mask_len
            )));
        }
        let (out, _) = self.outputs(rows);
        let outputs = out.len() / batch;
        let log_std = self.log_std();
        let mut actions = Vec::with_capacity(batch);
        for (b, params) in out.chunks(outputs).enumerate() {
            let mask = masks.map(|m| &m[b * mask_len..(b + 1) * mask_len]);
            let rng = match self.mode {
                Mode::Greedy => None,
                Mode::Sample => Some(&mut self.rng),
            };
            let (_, action) = self
                .brain
                .head
                .act(params, &log_std, mask, rng)
                .map_err(|e| self.invalid(e.to_string()))?;
            actions.push(action);
        }
        Ok(actions)
    }

    /// The network's action parameters `[B, outputs]` and values `[B]` for encoded rows
    /// `[B, obs_len]` (whole rows; normalised first, as when acting).
    pub fn outputs(&self, rows: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let forward = |brain: &Brain| {
            let mut input = rows.to_vec();
            brain.normalise(&mut input);
            brain
                .model
                .forward_rows(&input, brain.obs_len, &self.device)
        };
        if self.others.is_empty() {
            return forward(&self.brain);
        }
        let (outputs, values) = self.members().map(forward).unzip();
        (mean(outputs), mean(values))
    }

    /// The action parameters (a categorical head's logits, a Gaussian's means) for one
    /// observation, as `act` computes them before choosing.
    pub fn action_parameters(&mut self, obs: &S::Obs) -> Result<Vec<f32>, PolicyError> {
        let mut row = std::mem::take(&mut self.buffer);
        self.scenario.encode(obs, &mut row);
        let parameters = self.check_finite(&row).map(|()| self.outputs(&row).0);
        self.buffer = row;
        parameters
    }

    /// A NaN or infinite input gives NaN outputs, which would become action 0 unnoticed.
    fn check_finite(&self, rows: &[f32]) -> Result<(), PolicyError> {
        let obs_len = self.brain.obs_len.max(1);
        match rows.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(i) => Err(self.invalid(format!(
                "observation {}, encoded feature {}: {} is not a finite number",
                i / obs_len,
                i % obs_len,
                rows[i]
            ))),
        }
    }

    /// The log standard deviations of a Gaussian head (the members' mean for an ensemble).
    fn log_std(&self) -> Vec<f32> {
        mean(self.members().map(Brain::log_std).collect())
    }

    /// The networks whose action parameters are averaged: one, or an ensemble's members.
    fn members(&self) -> impl Iterator<Item = &Brain> {
        std::iter::once(&self.brain).chain(&self.others)
    }

    fn invalid(&self, message: String) -> PolicyError {
        PolicyError::Invalid {
            policy: self.name.clone(),
            message,
        }
    }
}

/// The element-wise mean of equally long vectors, summed in order (empty for none).
fn mean(parts: Vec<Vec<f32>>) -> Vec<f32> {
    let n = parts.len() as f32;
    let mut parts = parts.into_iter();
    let mut sum = parts.next().unwrap_or_default();
    for part in parts {
        sum.iter_mut().zip(part).for_each(|(s, v)| *s += v);
    }
    sum.iter_mut().for_each(|v| *v /= n);
    sum
}
