//! `_core.Env` and `_core.VecEnv`: the Rust scenarios as the Python package's gymnasium envs
//! see them. Every array handed back is new and owned by the caller.

use crate::actions::{self, Illegal};
use crate::dynamic::{DynEnv, DynVec, MakeEnv, MakeVec, Meta};
use crate::errors::{any_error, env_error, value_error};
use numpy::{
    PyArray1, PyArray2, PyArray3, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use planetgym_agents::registry::with_scenario;
use planetgym_env::{Action, AutoresetMode, Info, Layout, Space};
use planetgym_training::plot::render;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Each metric as `{name, unit, better, episode}`.
pub(crate) fn metric_dicts<'py>(py: Python<'py>, meta: &Meta) -> PyResult<Vec<Bound<'py, PyDict>>> {
    meta.metrics
        .iter()
        .map(|(name, unit, better, episode)| {
            let m = PyDict::new(py);
            m.set_item("name", name)?;
            m.set_item("unit", unit)?;
            m.set_item("better", better)?;
            m.set_item("episode", episode)?;
            Ok(m)
        })
        .collect()
}

/// Builds the description Python declares spaces from.
pub(crate) fn describe<'py>(py: Python<'py>, meta: &Meta) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("scenario", meta.scenario)?;
    d.set_item("resolved_config", &meta.resolved_config)?;
    d.set_item("metric_names", &meta.metric_names)?;
    d.set_item("metrics", metric_dicts(py, meta)?)?;
    d.set_item("obs_len", meta.spec.encoded_len())?;
    d.set_item("mask_len", meta.mask_len)?;
    d.set_item("feature_spec_hash", meta.spec.hash())?;
    let space = PyDict::new(py);
    match &meta.space {
        Space::Discrete { n } => {
            space.set_item("kind", "discrete")?;
            space.set_item("n", n)?;
        }
        Space::MultiDiscrete { nvec } => {
            space.set_item("kind", "multi_discrete")?;
            space.set_item("nvec", nvec)?;
        }
        Space::Box { low, high } => {
            space.set_item("kind", "box")?;
            space.set_item("low", low)?;
            space.set_item("high", high)?;
        }
        Space::Simplex { rows, cols } => {
            space.set_item("kind", "simplex")?;
            space.set_item("rows", rows)?;
            space.set_item("cols", cols)?;
        }
    }
    d.set_item("space", space)?;
    let features = |list: &[planetgym_env::Feature]| -> Vec<(String, String, f32)> {
        list.iter()
            .map(|f| (f.name.clone(), f.unit.clone(), f.scale))
            .collect()
    };
    let layout = PyDict::new(py);
    match &meta.spec.layout {
        Layout::Flat { features: list } => {
            layout.set_item("kind", "flat")?;
            layout.set_item("features", features(list))?;
        }
        Layout::Entity {
            global,
            entity,
            entities,
        } => {
            layout.set_item("kind", "entity")?;
            layout.set_item("global", features(global))?;
            layout.set_item("entity", features(entity))?;
            layout.set_item("entities", entities)?;
        }
    }
    d.set_item("layout", layout)?;
    Ok(d)
}

fn build<V: planetgym_agents::registry::ScenarioVisitor<Error = anyhow::Error>>(
    scenario: &str,
    config: &str,
    origin: &str,
    visitor: V,
) -> PyResult<V::Output> {
    with_scenario(scenario, config, origin, visitor).map_err(any_error)
}

/// A baseline's actions (from `act`, run with the GIL released) as flat rows.
fn baseline_rows<'py>(
    py: Python<'py>,
    started: bool,
    space: &Space,
    act: impl Send + FnOnce() -> Result<Vec<Action>, String>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    if !started {
        return Err(before_reset("a baseline's act"));
    }
    let actions = py.detach(act).map_err(value_error)?;
    let values: Vec<f64> = actions.iter().flat_map(actions::to_values).collect();
    PyArray1::from_vec(py, values).reshape([actions.len(), space.flat_len()])
}

/// Metric values of `info` in name order, NaN where the step reported none (first step).
fn metric_values(info: Option<&Info>, count: usize) -> impl Iterator<Item = f64> + '_ {
    (0..count).map(move |i| {
        info.and_then(|info| info.values.get(i).copied())
            .unwrap_or(f64::NAN)
    })
}

/// One scenario instance, stepped one action at a time.
#[pyclass(module = "planetgym._core")]
#[derive(Debug)]
pub struct Env {
    env: Box<dyn DynEnv>,
    meta: Meta,
    illegal: Illegal,
    /// `reset` was called: before it there is no state to step or mask, in every scenario.
    started: bool,
}

/// The error for `what` (a method) called before the first `reset`, the same for single and
/// vector envs.
fn before_reset(what: &str) -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err(format!(
        "{what} called before reset: call reset first"
    ))
}

#[pymethods]
impl Env {
    #[new]
    #[pyo3(signature = (scenario, config = "", origin = "config", illegal_actions = "remap"))]
    fn new(scenario: &str, config: &str, origin: &str, illegal_actions: &str) -> PyResult<Self> {
        let illegal = Illegal::parse(illegal_actions).map_err(value_error)?;
        let (env, meta) = build(scenario, config, origin, MakeEnv)?;
        Ok(Self {
            env,
            meta,
            illegal,
            started: false,
        })
    }

    /// Scenario description: spaces, features, metrics, resolved config.
    fn describe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        describe(py, &self.meta)
    }

    /// Starts an episode from `seed`; returns the encoded observation.
    fn reset<'py>(&mut self, py: Python<'py>, seed: u64) -> Bound<'py, PyArray1<f32>> {
        let mut obs = vec![0.0; self.meta.spec.encoded_len()];
        self.env.reset(seed, &mut obs);
        self.started = true;
        PyArray1::from_vec(py, obs)
    }

    /// Steps with one flat action row; returns (obs, reward, terminated, truncated, metrics,
    /// remapped).
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        action: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<(Bound<'py, PyArray1<f32>>, f64, bool, bool, Vec<f64>, bool)> {
        if !self.started {
            return Err(before_reset("step"));
        }
        let values = action.as_slice().map_err(value_error)?;
        let mut action = actions::from_values(&self.meta.space, values).map_err(value_error)?;
        let remapped = self.illegal == Illegal::Remap
            && actions::remap(&mut action, &self.meta.space, self.env.mask());
        let mut obs = vec![0.0; self.meta.spec.encoded_len()];
        let (reward, terminated, truncated) =
            self.env.step(&action, &mut obs).map_err(env_error)?;
        let metrics = metric_values(Some(self.env.info()), self.meta.metric_names.len()).collect();
        Ok((
            PyArray1::from_vec(py, obs),
            reward,
            terminated,
            truncated,
            metrics,
            remapped,
        ))
    }

    /// The legal-action mask of the current state (None when the scenario has none).
    fn action_mask<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyArray1<bool>>>> {
        if !self.started {
            return Err(before_reset("action_masks()"));
        }
        Ok(self.env.mask().map(|m| PyArray1::from_slice(py, m)))
    }

    /// Who each entity row of the current observation is (a job, a node, a region-site pair;
    /// "" for an empty row); empty for flat layouts.
    fn entity_labels(&self) -> PyResult<Vec<String>> {
        if !self.started {
            return Err(before_reset("entity_labels()"));
        }
        Ok(self.env.entity_labels())
    }

    /// The current state drawn as an RGB image, `uint8` of shape (height, width, 3).
    fn render<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray3<u8>>> {
        if !self.started {
            return Err(before_reset("render()"));
        }
        let drawing = render::draw(&self.env.scene().map_err(env_error)?);
        let shape = [drawing.height as usize, drawing.width as usize, 3];
        PyArray1::from_vec(py, drawing.rgb()).reshape(shape)
    }

    /// Attaches baseline `name` to this env: (id, row name, is_oracle).
    fn add_baseline(&mut self, name: &str) -> PyResult<(usize, String, bool)> {
        self.env.add_baseline(name).map_err(value_error)
    }

    /// Baseline `id`'s action in the current state, as flat float64 rows `[1, flat_len]`.
    fn baseline_act<'py>(
        &mut self,
        py: Python<'py>,
        id: usize,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let env = &mut self.env;
        baseline_rows(py, self.started, &self.meta.space, || env.baseline_act(id))
    }
}

/// N copies of a scenario stepped together in Rust (threads, GIL released).
#[pyclass(module = "planetgym._core")]
#[derive(Debug)]
pub struct VecEnv {
    env: Box<dyn DynVec>,
    meta: Meta,
    illegal: Illegal,
    num_envs: usize,
    /// `reset` was called (the copies are built reset, but the caller has not seen them yet).
    started: bool,
}

/// What one batched step returns (see `VecEnv.step`).
type VecStep<'py> = (
    Bound<'py, PyArray2<f32>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray1<bool>>,
    Option<(Bound<'py, PyArray2<f32>>, Bound<'py, PyArray2<f64>>)>,
);

/// Copies of the vector env's buffers, taken with the GIL released.
struct StepOut {
    obs: Vec<f32>,
    rewards: Vec<f64>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    metrics: Vec<f64>,
    /// `SameStep` mode: final observations and metrics of the episodes that just ended (zeros
    /// and NaN for the other copies).
    finals: Option<(Vec<f32>, Vec<f64>)>,
}

#[pymethods]
impl VecEnv {
    #[new]
    #[pyo3(signature = (scenario, num_envs, config = "", origin = "config", seed = 0, threads = 0, autoreset = "next_step", illegal_actions = "remap"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        scenario: &str,
        num_envs: usize,
        config: &str,
        origin: &str,
        seed: u64,
        threads: usize,
        autoreset: &str,
        illegal_actions: &str,
    ) -> PyResult<Self> {
        let illegal = Illegal::parse(illegal_actions).map_err(value_error)?;
        let mode = match autoreset {
            "next_step" => AutoresetMode::NextStep,
            "same_step" => AutoresetMode::SameStep,
            other => {
                return Err(value_error(format!(
                    "autoreset = {other:?}: allowed \"next_step\" or \"same_step\""
                )));
            }
        };
        let visitor = MakeVec {
            num_envs,
            seed,
            threads,
            mode,
        };
        let (env, meta) = py.detach(|| build(scenario, config, origin, visitor))?;
        Ok(Self {
            env,
            meta,
            illegal,
            num_envs,
            started: false,
        })
    }

    fn describe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        describe(py, &self.meta)
    }

    #[getter]
    fn num_envs(&self) -> usize {
        self.num_envs
    }

    /// Restarts every copy (copy i's episode k runs from a seed derived from `seed`, i, k);
    /// returns the observations `[N, obs_len]`.
    fn reset<'py>(&mut self, py: Python<'py>, seed: u64) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let env = &mut self.env;
        let obs = py.detach(|| {
            env.reset(seed);
            env.observations().to_vec()
        });
        self.started = true;
        self.rows(py, obs)
    }

    /// Steps every copy with its row of `actions` (`[N, flat_len]`). Returns (obs, rewards,
    /// terminated, truncated, metrics `[N, M]` (NaN where a copy reported none), remapped,
    /// finals): `finals` is, in same-step mode, (final observations, final metrics) of the
    /// episodes that ended, else None.
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        actions: PyReadonlyArray2<'py, f64>,
    ) -> PyResult<VecStep<'py>> {
        if !self.started {
            return Err(before_reset("step"));
        }
        let flat = self.meta.space.flat_len();
        let shape = actions.shape();
        if shape != [self.num_envs, flat] {
            return Err(value_error(format!(
                "actions have shape {shape:?}, expected [{}, {flat}] (one row per env)",
                self.num_envs
            )));
        }
        let values = actions.as_slice().map_err(value_error)?.to_vec();
        let (n, m) = (self.num_envs, self.meta.metric_names.len());
        let (env, meta, illegal) = (&mut self.env, &self.meta, self.illegal);
        let (out, remapped) = py.detach(|| -> PyResult<(StepOut, Vec<bool>)> {
            let mut batch: Vec<Action> = Vec::with_capacity(n);
            let mut remapped = vec![false; n];
            for (i, row) in values.chunks(flat).enumerate() {
                let mut action = actions::from_values(&meta.space, row)
                    .map_err(|e| value_error(format!("actions[{i}]: {e}")))?;
                if illegal == Illegal::Remap {
                    remapped[i] = actions::remap(&mut action, &meta.space, env.mask(i));
                }
                batch.push(action);
            }
            env.step(&batch).map_err(env_error)?;
            let metrics = (0..n).flat_map(|i| metric_values(env.info(i), m)).collect();
            let finals = (0..n).any(|i| env.final_info(i).is_some()).then(|| {
                let len = meta.spec.encoded_len();
                let mut obs = vec![0.0f32; n * len];
                for (i, row) in obs.chunks_mut(len).enumerate() {
                    if let Some(f) = env.final_observation(i) {
                        row.copy_from_slice(f);
                    }
                }
                let metrics = (0..n)
                    .flat_map(|i| metric_values(env.final_info(i), m))
                    .collect();
                (obs, metrics)
            });
            let out = StepOut {
                obs: env.observations().to_vec(),
                rewards: env.rewards().to_vec(),
                terminated: env.terminated().to_vec(),
                truncated: env.truncated().to_vec(),
                metrics,
                finals,
            };
            Ok((out, remapped))
        })?;
        let finals = match out.finals {
            Some((obs, metrics)) => Some((self.rows(py, obs)?, self.table(py, metrics, m)?)),
            None => None,
        };
        Ok((
            self.rows(py, out.obs)?,
            PyArray1::from_vec(py, out.rewards),
            PyArray1::from_vec(py, out.terminated),
            PyArray1::from_vec(py, out.truncated),
            self.table(py, out.metrics, m)?,
            PyArray1::from_vec(py, remapped),
            finals,
        ))
    }

    /// The reset seed of the episode each copy is in (a single env reset with it plays the
    /// same episode).
    fn episode_seeds(&self) -> PyResult<Vec<u64>> {
        if !self.started {
            return Err(before_reset("episode_seeds()"));
        }
        Ok((0..self.num_envs)
            .filter_map(|i| self.env.episode_seed(i))
            .collect())
    }

    /// Who each entity row of copy `i`'s current observation is ("" for an empty row); empty
    /// for flat layouts.
    fn entity_labels(&self, i: usize) -> PyResult<Vec<String>> {
        if !self.started {
            return Err(before_reset("entity_labels()"));
        }
        if i >= self.num_envs {
            return Err(value_error(format!(
                "copy {i}: the vector env has {} copies (0 to {})",
                self.num_envs,
                self.num_envs - 1
            )));
        }
        Ok(self.env.entity_labels(i))
    }

    /// Attaches baseline `name` to every copy: (id, row name, is_oracle).
    fn add_baseline(&mut self, name: &str) -> PyResult<(usize, String, bool)> {
        self.env.add_baseline(name).map_err(value_error)
    }

    /// Baseline `id`'s actions for every copy, as flat float64 rows `[N, flat_len]`.
    fn baseline_act<'py>(
        &mut self,
        py: Python<'py>,
        id: usize,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let env = &mut self.env;
        baseline_rows(py, self.started, &self.meta.space, || env.baseline_act(id))
    }

    /// Legal-action masks `[N, mask_len]` (None when the scenario has none).
    fn action_masks<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyArray2<bool>>>> {
        if !self.started {
            return Err(before_reset("action_masks()"));
        }
        let len = self.meta.mask_len;
        if len == 0 {
            return Ok(None);
        }
        let mut out = vec![true; self.num_envs * len];
        for (i, row) in out.chunks_mut(len).enumerate() {
            if let Some(m) = self.env.mask(i).filter(|m| m.len() == len) {
                row.copy_from_slice(m);
            }
        }
        Ok(Some(
            PyArray1::from_vec(py, out).reshape([self.num_envs, len])?,
        ))
    }
}

impl VecEnv {
    fn rows<'py>(&self, py: Python<'py>, obs: Vec<f32>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let len = self.meta.spec.encoded_len();
        PyArray1::from_vec(py, obs).reshape([self.num_envs, len])
    }

    fn table<'py>(
        &self,
        py: Python<'py>,
        values: Vec<f64>,
        cols: usize,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        PyArray1::from_vec(py, values).reshape([self.num_envs, cols])
    }
}
