//! Training, loaded policies and evaluation, as the Python package calls them.

use crate::actions;
use crate::callable_policy::{CallablePolicy, Shared};
use crate::dynamic::Meta;
use crate::errors::{any_error, value_error};
use anyhow::{Context, Result};
use numpy::{PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use planetgym_agents::comparison;
use planetgym_agents::evaluate::EpisodeResult;
use planetgym_agents::evaluate::fair_names;
use planetgym_agents::nn::policy::{Mode, NeuralPolicy, PolicyFile};
use planetgym_agents::registry::{Built, RegisteredScenario, ScenarioVisitor, with_scenario};
use planetgym_agents::{Policy as _, PolicyError};
use planetgym_env::{Action, Scenario};
use planetgym_training::error::TrainingError;
use planetgym_training::ppo::{self, TrainConfig, UpdateReport};
use planetgym_training::report;
use planetgym_training::session::{self, Request};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

fn report_dict<'py>(py: Python<'py>, r: &UpdateReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("updates", r.updates)?;
    d.set_item("total_updates", r.total_updates)?;
    d.set_item("env_steps", r.env_steps)?;
    d.set_item("total_steps", r.total_steps)?;
    d.set_item("elapsed_s", r.elapsed_s)?;
    // No value (e.g. no episode ended this update) is None, never NaN.
    for (name, value) in r.scalars() {
        d.set_item(name, value.is_finite().then_some(value))?;
    }
    Ok(d)
}

/// Rollouts from a Python function `(policy: bytes, update: int) -> list[bytes]` (one batch per
/// worker; `planetgym.cluster` calls Ray actors holding a `RolloutWorker`). An exception it
/// raises stops the run and is re-raised.
struct PythonRollouts<'a> {
    function: Py<PyAny>,
    raised: &'a Mutex<Option<PyErr>>,
}

impl ppo::RolloutSource for PythonRollouts<'_> {
    fn collect(&mut self, policy: &[u8], update: u64) -> Result<Vec<Vec<u8>>, String> {
        Python::attach(|py| {
            let answer = self
                .function
                .call1(py, (PyBytes::new(py, policy), update))
                .and_then(|list| {
                    list.bind(py)
                        .try_iter()?
                        .map(|item| Ok(item?.extract::<Cow<[u8]>>()?.into_owned()))
                        .collect::<PyResult<Vec<Vec<u8>>>>()
                });
            answer.map_err(|e| {
                let message = format!("the rollout function failed: {e}");
                if let Ok(mut slot) = self.raised.lock() {
                    *slot = Some(e);
                }
                message
            })
        })
    }
}

/// Runs the PPO trainer on `config` (a training TOML) in `run_dir`, with the GIL released.
/// `callback(report: dict)` is called after every update; returning False, raising, or a
/// KeyboardInterrupt stops the run after that update with a checkpoint. Returns a dict with
/// the outcome; an exception raised by the callback is re-raised once the run has stopped.
/// With `rollouts` (see `PythonRollouts`), every rollout comes from remote workers.
#[pyfunction]
#[pyo3(signature = (config, run_dir, origin = "config", resume = false, callback = None, seeds = 1, command = Vec::new(), rollouts = None))]
#[allow(clippy::too_many_arguments)] // a Python signature with keywords
pub fn train<'py>(
    py: Python<'py>,
    config: &str,
    run_dir: PathBuf,
    origin: &str,
    resume: bool,
    callback: Option<Py<PyAny>>,
    seeds: usize,
    command: Vec<String>,
    rollouts: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let config = TrainConfig::from_toml(config, origin).map_err(any_error)?;
    let rollouts_raised = Mutex::new(None);
    let mut source = rollouts.map(|function| PythonRollouts {
        function,
        raised: &rollouts_raised,
    });
    let stop = AtomicBool::new(false);
    let request = Request {
        config,
        origin: origin.to_string(),
        run_dir,
        resume,
        stop: &stop,
        stop_after: None,
        seeds,
        command,
    };
    let mut raised: Option<PyErr> = None;
    let mut interrupted_by_user = false;
    let result = py.detach(|| {
        let source = source.as_mut().map(|s| s as &mut dyn ppo::RolloutSource);
        session::run(&request, source, &mut |report| {
            Python::attach(|py| {
                // A signal (Ctrl-C) first, then the callback's answer: False or an exception
                // stops the run.
                let outcome = py.check_signals().and_then(|()| match &callback {
                    Some(callback) => {
                        let value = callback.call1(py, (report_dict(py, report)?,))?;
                        Ok(!matches!(value.bind(py).extract::<bool>(), Ok(false)))
                    }
                    None => Ok(true),
                });
                match outcome {
                    Ok(true) => return,
                    Ok(false) => {}
                    Err(e) if e.is_instance_of::<PyKeyboardInterrupt>(py) => {
                        interrupted_by_user = true;
                    }
                    Err(e) => raised = Some(e),
                }
                stop.store(true, Ordering::SeqCst);
            });
        })
    });
    if let Some(e) = raised.or_else(|| rollouts_raised.lock().ok().and_then(|mut e| e.take())) {
        return Err(e);
    }
    let result = result.map_err(any_error)?;
    let o = &result.outcome;
    let d = PyDict::new(py);
    d.set_item("run_dir", o.run_dir.display().to_string())?;
    d.set_item("updates", o.updates)?;
    d.set_item("env_steps", o.env_steps)?;
    d.set_item("interrupted", o.interrupted)?;
    d.set_item("keyboard_interrupt", interrupted_by_user)?;
    match &o.last {
        Some(r) => d.set_item("last", report_dict(py, r)?)?,
        None => d.set_item("last", py.None())?,
    }
    let runs: Vec<String> = result
        .runs
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    d.set_item("runs", runs)?;
    match &result.evaluation {
        Some(table) => d.set_item("evaluation", report::to_json(table).map_err(any_error)?)?,
        None => d.set_item("evaluation", py.None())?,
    }
    Ok(d)
}

/// Rollout worker `index` of `workers` of a distributed training run (`config` is the run's
/// training TOML): steps its share of the copies under the policy the learner sends.
#[pyclass(module = "planetgym._core")]
#[derive(Debug)]
pub struct RolloutWorker {
    /// A mutex only to be `Sync` (an expert baseline inside need not be); calls take `&mut`.
    worker: Mutex<Box<dyn ppo::RolloutWork>>,
}

#[pymethods]
impl RolloutWorker {
    #[new]
    #[pyo3(signature = (config, index, workers, origin = "config"))]
    fn new(config: &str, index: usize, workers: usize, origin: &str) -> PyResult<Self> {
        let config = TrainConfig::from_toml(config, origin).map_err(any_error)?;
        let worker = session::rollout_worker(&config, origin, index, workers).map_err(any_error)?;
        Ok(Self {
            worker: Mutex::new(worker),
        })
    }

    /// One rollout under `policy` (the learner's, JSON) for update `update`: the batch the
    /// learner reads (CBOR), collected with the GIL released.
    fn collect<'py>(
        &mut self,
        py: Python<'py>,
        policy: Cow<[u8]>,
        update: u64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        // A borrowed or copied buffer, not a list of ints (`Vec<u8>` reads bytes one by one).
        let policy = policy.into_owned();
        let worker = self
            .worker
            .get_mut()
            .map_err(|_| value_error("the rollout worker failed in an earlier call"))?;
        let batch = py
            .detach(|| worker.collect(&policy, update))
            .map_err(any_error)?;
        Ok(PyBytes::new(py, &batch))
    }
}

/// A policy that acts on encoded observation rows, for any scenario.
trait RowPolicy: Send {
    fn act(&mut self, rows: &[f32], masks: Option<&[bool]>) -> Result<Vec<Action>, PolicyError>;
    fn outputs(&self, rows: &[f32]) -> (Vec<f32>, Vec<f32>);
}

impl std::fmt::Debug for dyn RowPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowPolicy")
    }
}

impl<S: Scenario + Clone> RowPolicy for NeuralPolicy<S> {
    fn act(&mut self, rows: &[f32], masks: Option<&[bool]>) -> Result<Vec<Action>, PolicyError> {
        self.act_encoded(rows, masks)
    }

    fn outputs(&self, rows: &[f32]) -> (Vec<f32>, Vec<f32>) {
        NeuralPolicy::outputs(self, rows)
    }
}

struct LoadPolicy<'a> {
    name: &'a str,
    file: &'a PolicyFile,
    mode: Mode,
    seed: u64,
}

impl ScenarioVisitor for LoadPolicy<'_> {
    type Output = (Box<dyn RowPolicy>, Meta);
    type Error = anyhow::Error;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Self::Output> {
        let mut policy = NeuralPolicy::load(self.name, &built.env, self.file, self.mode)?;
        policy.reset(self.seed);
        let meta = Meta::of(&built.env, built.resolved_config);
        Ok((Box::new(policy), meta))
    }
}

/// A network's action parameters `[B, outputs]` and values `[B]`.
pub type NetworkOutputs<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, numpy::PyArray1<f32>>);

impl Policy {
    /// The rows of `obs` after checking its width against the policy's observations.
    fn rows(&self, obs: &PyReadonlyArray2<'_, f32>) -> PyResult<Vec<f32>> {
        let obs_len = self.meta.spec.encoded_len();
        let [batch, cols] = [obs.shape()[0], obs.shape()[1]];
        if cols != obs_len {
            return Err(value_error(format!(
                "observations have shape [{batch}, {cols}], expected [B, {obs_len}]"
            )));
        }
        Ok(obs.as_slice().map_err(value_error)?.to_vec())
    }
}

/// A trained policy loaded from a run directory (or any directory holding `policy.json`).
#[pyclass(module = "planetgym._core")]
#[derive(Debug)]
pub struct Policy {
    policy: Mutex<Box<dyn RowPolicy>>,
    meta: Meta,
    name: String,
    path: PathBuf,
}

#[pymethods]
impl Policy {
    /// `mode`: "greedy" (the most likely action) or "sample" (drawn, seeded by `seed`). A
    /// directory of several training runs (`run-0`, `run-1`, ...) acts with its first run.
    #[new]
    #[pyo3(signature = (path, name = "ppo", mode = "greedy", seed = 0))]
    fn new(path: PathBuf, name: &str, mode: &str, seed: u64) -> PyResult<Self> {
        let mode = match mode {
            "greedy" => Mode::Greedy,
            "sample" => Mode::Sample,
            other => {
                return Err(value_error(format!(
                    "mode = {other:?}: allowed \"greedy\" or \"sample\""
                )));
            }
        };
        // A directory of several training runs acts with its first run; `evaluate` reads all.
        let first = session::run_dirs(&path)
            .into_iter()
            .next()
            .unwrap_or(path.clone());
        let file = ppo::load_policy(&first).map_err(any_error)?;
        let visitor = LoadPolicy {
            name,
            file: &file,
            mode,
            seed,
        };
        let (policy, meta) = with_scenario(
            &file.scenario,
            &file.scenario_config,
            "the policy's scenario config",
            visitor,
        )
        .map_err(any_error)?;
        Ok(Self {
            policy: Mutex::new(policy),
            meta,
            name: name.to_string(),
            path,
        })
    }

    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    #[getter]
    fn path(&self) -> String {
        self.path.display().to_string()
    }

    /// The scenario the policy was trained on: spaces, features, resolved config.
    fn describe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        crate::envs::describe(py, &self.meta)
    }

    /// The network's raw outputs for encoded observations `[B, obs_len]` (float32): action
    /// parameters `[B, outputs]` and values `[B]`, as burn computes them (the reference for
    /// exported graphs).
    fn forward<'py>(
        &self,
        py: Python<'py>,
        obs: PyReadonlyArray2<'py, f32>,
    ) -> PyResult<NetworkOutputs<'py>> {
        let rows = self.rows(&obs)?;
        let batch = obs.shape()[0];
        let policy = &self.policy;
        let (params, values) = py
            .detach(|| {
                policy
                    .lock()
                    .map(|p| p.outputs(&rows))
                    .map_err(|_| anyhow::anyhow!("the policy was poisoned by an earlier panic"))
            })
            .map_err(any_error)?;
        let per_row = params.len() / batch.max(1);
        Ok((
            numpy::PyArray1::from_vec(py, params).reshape([batch, per_row])?,
            numpy::PyArray1::from_vec(py, values),
        ))
    }

    /// Actions `[B, flat_len]` (float64) for encoded observations `[B, obs_len]` (float32),
    /// with optional masks `[B, mask_len]`; one forward pass, GIL released.
    #[pyo3(signature = (obs, masks = None))]
    fn act_batch<'py>(
        &self,
        py: Python<'py>,
        obs: PyReadonlyArray2<'py, f32>,
        masks: Option<PyReadonlyArray2<'py, bool>>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let mask_len = self.meta.mask_len;
        let rows = self.rows(&obs)?;
        let batch = obs.shape()[0];
        let masks = match &masks {
            Some(m) if m.shape() != [batch, mask_len] => {
                return Err(value_error(format!(
                    "masks have shape {:?}, expected [{batch}, {mask_len}]",
                    m.shape()
                )));
            }
            Some(m) => Some(m.as_slice().map_err(value_error)?.to_vec()),
            None => None,
        };
        let policy = &self.policy;
        let actions = py.detach(|| -> Result<Vec<Action>> {
            let mut policy = policy
                .lock()
                .map_err(|_| anyhow::anyhow!("the policy was poisoned by an earlier panic"))?;
            Ok(policy.act(&rows, masks.as_deref())?)
        });
        let actions = actions.map_err(any_error)?;
        let flat = self.meta.space.flat_len();
        let values: Vec<f64> = actions.iter().flat_map(actions::to_values).collect();
        numpy::PyArray1::from_vec(py, values).reshape([batch, flat])
    }
}

/// Names of `scenario`'s baselines, each with whether it is an oracle (sees hidden information).
#[pyfunction]
#[pyo3(signature = (scenario, config = "", origin = "config"))]
pub fn baselines(
    py: Python<'_>,
    scenario: &str,
    config: &str,
    origin: &str,
) -> PyResult<Vec<(String, bool)>> {
    struct Names;
    impl ScenarioVisitor for Names {
        type Output = Vec<(String, bool)>;
        type Error = anyhow::Error;
        fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Self::Output> {
            Ok(built
                .baselines()
                .iter()
                .map(|make| {
                    let c = make();
                    (c.name(), c.is_oracle())
                })
                .collect())
        }
    }
    py.detach(|| with_scenario(scenario, config, origin, Names))
        .map_err(any_error)
}

/// Steps done and expected so far by an evaluation (the total grows when a pilot is
/// extended), read by the thread that reports progress to Python.
#[derive(Debug, Default)]
struct Steps {
    done: AtomicU64,
    total: AtomicU64,
}

struct Evaluate {
    baselines: Option<Vec<String>>,
    policies: Vec<(String, PathBuf)>,
    /// Exported policies (ONNX + manifest), by row name.
    exports: Vec<(String, PathBuf)>,
    /// Python functions `(obs, mask) -> flat action row`, by row name.
    callables: Vec<(String, Arc<Py<PyAny>>)>,
    /// The decision-time search each trained policy's runs also guide (row `NAME+SEARCH`).
    guide: Option<String>,
    shared: Shared,
    steps: Arc<Steps>,
    /// None: from a pilot (see `visit`).
    episodes: Option<usize>,
    /// The first episode's index (a worker's share of a spread evaluation starts past 0).
    first_episode: usize,
    seed: u64,
    /// The policy the pilot's paired comparisons are sized against (default: the best fair
    /// baseline).
    reference: Option<String>,
}

impl ScenarioVisitor for Evaluate {
    /// The episodes, the scenario's description (its metrics) and the fair baselines that ran.
    type Output = (Vec<EpisodeResult>, Meta, Vec<String>);
    type Error = anyhow::Error;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Self::Output> {
        let contenders = match &self.baselines {
            None => built.baselines(),
            Some(names) => built.select_baselines(names).map_err(anyhow::Error::msg)?,
        };
        let fair = fair_names(&contenders);
        // A directory of several training runs contributes one row per run and episode.
        let mut learned: Vec<session::RunContender<S>> = Vec::new();
        for (name, path) in &self.policies {
            let runs = session::load_runs(path)?;
            for (k, file) in runs.iter().enumerate() {
                let row = session::learned_contender(&built.env, file, name, Mode::Greedy)
                    .with_context(|| format!("policy {name} ({})", path.display()))?;
                learned.push((k, row));
            }
            if let Some(search) = &self.guide {
                learned.extend(
                    session::guided_contenders(&built.env, &runs, 1, name, |prior| {
                        built
                            .env
                            .guided(&built.config, search, prior)
                            .map_err(|e| TrainingError::config(format!("guide={search:?}"), e))
                    })
                    .with_context(|| format!("policy {name} ({})", path.display()))?,
                );
            }
        }
        for (name, dir) in &self.exports {
            let row = planetgym_deploy::export::exported_contender(dir, name, &built.env)
                .with_context(|| format!("policy {name} ({})", dir.display()))?;
            learned.push((0, row));
        }
        for (name, function) in &self.callables {
            let row = CallablePolicy::factory(
                name.clone(),
                function.clone(),
                &built.env,
                self.shared.clone(),
            );
            learned.push((0, row));
        }
        let steps = &self.steps;
        let start = self.first_episode;
        let per_episode = ((contenders.len() + learned.len()) * built.steps_per_episode()) as u64;
        let run = |episodes: std::ops::Range<usize>| {
            steps.total.store(
                (episodes.end - start) as u64 * per_episode,
                Ordering::Relaxed,
            );
            session::evaluate_runs(
                &built.env,
                &contenders,
                &learned,
                episodes,
                self.seed,
                false,
                &|| {
                    steps.done.fetch_add(1, Ordering::Relaxed);
                },
            )
        };
        // Without a number: the scenario's pilot, extended as the paired comparisons need
        // (as `planetgym baselines` does).
        let budget = S::EPISODES;
        let first = self.episodes.unwrap_or(budget.pilot);
        let end = start
            .checked_add(first)
            .ok_or_else(|| anyhow::anyhow!("first_episode + episodes overflows"))?;
        let mut results = run(start..end)?;
        if self.episodes.is_none() {
            let needed = comparison::episodes_after_pilot(
                &results,
                &fair,
                self.reference.as_deref(),
                budget,
            )
            .map_err(anyhow::Error::msg)?;
            if needed > first {
                results.extend(run(first..needed)?);
            }
        }
        Ok((results, Meta::of(&built.env, String::new()), fair))
    }
}

/// Runs baselines (all when `baselines` is None; names may carry parameters, e.g.
/// `reactive@0.7`), trained policies (name, directory) and Python functions (name,
/// `(obs, mask) -> flat float64 action row`) on the same `episodes` seeded episodes (None: the
/// scenario's pilot, extended until the paired comparisons with the best fair baseline are
/// precise enough, as `planetgym baselines` does). With `guide` (a search name, e.g. batch's
/// `rollout-saf@4+3h`), each run of each trained policy NAME also ranks that search's
/// candidates, as rows `NAME+SEARCH` (`eval --guide`). `progress(done, total)` (steps) is called
/// about ten times a second. Returns a dict: `columns` (policy, oracle, run (training run of
/// a multi-seed directory), episode, seed, steps, reward and one per metric), `metrics` (each
/// metric's name, unit, better and episode meaning), `fair_baselines` (those that ran) and
/// `warning` (when every policy scored the same on every episode, else None). An exception a
/// function raised is re-raised as it was. With `episodes`, `first_episode` shifts the episodes
/// to `first_episode..first_episode + episodes` (a worker's share of a spread evaluation: each
/// episode's seed depends on its index only).
#[pyfunction]
#[pyo3(signature = (scenario, config = "", origin = "config", baselines = None, policies = Vec::new(), exports = Vec::new(), callables = Vec::new(), guide = None, episodes = None, first_episode = 0, seed = 0, reference = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate<'py>(
    py: Python<'py>,
    scenario: &str,
    config: &str,
    origin: &str,
    baselines: Option<Vec<String>>,
    policies: Vec<(String, PathBuf)>,
    exports: Vec<(String, PathBuf)>,
    callables: Vec<(String, Py<PyAny>)>,
    guide: Option<String>,
    episodes: Option<usize>,
    first_episode: usize,
    seed: u64,
    reference: Option<String>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    if episodes == Some(0) {
        return Err(value_error("episodes must be at least 1"));
    }
    if episodes.is_none() && first_episode > 0 {
        return Err(value_error(
            "first_episode needs episodes: a pilot (episodes=None) starts at episode 0",
        ));
    }
    let shared = Shared::default();
    let steps = Arc::new(Steps::default());
    let visitor = Evaluate {
        baselines,
        policies,
        exports,
        callables: callables
            .into_iter()
            .map(|(name, f)| (name, Arc::new(f)))
            .collect(),
        guide,
        shared: shared.clone(),
        steps: steps.clone(),
        episodes,
        first_episode,
        seed,
        reference,
    };
    let outcome = py.detach(|| {
        std::thread::scope(|scope| {
            let job = scope.spawn(|| with_scenario(scenario, config, origin, visitor));
            let mut reported = PyResult::Ok(());
            while !job.is_finished() {
                std::thread::sleep(std::time::Duration::from_millis(100));
                if let (Some(progress), Ok(())) = (&progress, &reported) {
                    let (done, total) = (
                        steps.done.load(Ordering::Relaxed),
                        steps.total.load(Ordering::Relaxed),
                    );
                    reported = Python::attach(|py| progress.call1(py, (done, total)).map(drop));
                }
            }
            let result = job
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the evaluation thread panicked")));
            (result, reported)
        })
    });
    let (result, reported) = outcome;
    if let Some(e) = shared.failure.lock().ok().and_then(|mut f| f.take()) {
        return Err(e);
    }
    reported?;
    let (results, meta, fair) = result.map_err(any_error)?;
    let metric_names = &meta.metric_names;
    let out = PyDict::new(py);
    out.set_item("fair_baselines", fair)?;
    out.set_item("warning", comparison::indistinguishable(&results))?;
    out.set_item("metrics", crate::envs::metric_dicts(py, &meta)?)?;
    let d = PyDict::new(py);
    d.set_item(
        "policy",
        results.iter().map(|r| r.policy.clone()).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "oracle",
        results.iter().map(|r| r.oracle).collect::<Vec<_>>(),
    )?;
    d.set_item("run", results.iter().map(|r| r.run).collect::<Vec<_>>())?;
    d.set_item(
        "episode",
        results.iter().map(|r| r.episode).collect::<Vec<_>>(),
    )?;
    d.set_item("seed", results.iter().map(|r| r.seed).collect::<Vec<_>>())?;
    d.set_item("steps", results.iter().map(|r| r.steps).collect::<Vec<_>>())?;
    d.set_item(
        "reward",
        results.iter().map(|r| r.reward).collect::<Vec<_>>(),
    )?;
    for (i, name) in metric_names.iter().enumerate() {
        d.set_item(
            *name,
            results.iter().map(|r| r.metrics[i]).collect::<Vec<_>>(),
        )?;
    }
    out.set_item("columns", d)?;
    Ok(out)
}
