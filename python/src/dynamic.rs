//! Scenarios behind trait objects: Python picks a scenario by name at run time, so the single
//! env, the vector env and loaded policies are built through `registry::with_scenario` and kept
//! as `Box<dyn ...>` with a plain description next to them.

use anyhow::Result;
use planetgym_agents::Contender;
use planetgym_agents::registry::{Built, RegisteredScenario, ScenarioVisitor};
use planetgym_env::{
    Action, AutoresetMode, EnvError, FeatureSpec, Info, Scenario, Space, Transition, VecEnv,
};
use std::sync::Mutex;

/// What Python needs to know about a scenario instance to declare its spaces.
#[derive(Debug, Clone)]
pub struct Meta {
    pub scenario: &'static str,
    pub space: Space,
    pub spec: FeatureSpec,
    pub metric_names: Vec<&'static str>,
    pub resolved_config: String,
    /// Length of the action mask (0 when the scenario publishes none).
    pub mask_len: usize,
    /// Each metric: (name, unit, which way is better, what an episode's value is).
    pub metrics: Vec<(&'static str, &'static str, &'static str, String)>,
}

impl Meta {
    pub(crate) fn of<S: RegisteredScenario>(env: &S, resolved_config: String) -> Self {
        let aggregation = env.metric_aggregation();
        Self {
            metrics: S::METRICS
                .iter()
                .map(|m| (m.name, m.unit, m.better.as_str(), m.episode(aggregation)))
                .collect(),
            scenario: env.name(),
            space: env.action_space().clone(),
            spec: env.feature_spec().clone(),
            metric_names: env.metric_names().to_vec(),
            resolved_config,
            mask_len: env.action_space().mask_len(),
        }
    }
}

/// One scenario with its current observation (gymnasium's single env).
pub trait DynEnv: Send + Sync {
    fn reset(&mut self, seed: u64, out: &mut [f32]);
    /// Steps and writes the new observation into `out`: (reward, terminated, truncated).
    fn step(&mut self, action: &Action, out: &mut [f32]) -> Result<(f64, bool, bool), EnvError>;
    fn info(&self) -> &Info;
    fn mask(&self) -> Option<&[bool]>;
    /// Attaches the baseline `name` (parameters allowed, e.g. `reactive@0.7`) to this env:
    /// (its id for `baseline_act`, its row name, whether it is an oracle).
    fn add_baseline(&mut self, name: &str) -> Result<(usize, String, bool), String>;
    /// Baseline `id`'s action in the current state (an error before the first reset).
    fn baseline_act(&mut self, id: usize) -> Result<Action, String>;
    /// Who each entity row of the current observation is (empty before a reset and for flat
    /// layouts).
    fn entity_labels(&self) -> Vec<String>;
}

impl std::fmt::Debug for dyn DynEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DynEnv")
    }
}

struct Live<S: RegisteredScenario> {
    /// The scenario (`built.env`) with the config its baselines are built from.
    built: Built<S>,
    info: Info,
    /// The current state's typed observation (what baselines read); None before a reset.
    obs: Option<S::Obs>,
    /// Baselines attached with `add_baseline`, reset with every episode (behind a lock only
    /// because a policy object is `Send` but not `Sync`).
    baselines: Mutex<Vec<Contender<S>>>,
}

impl<S: RegisteredScenario> DynEnv for Live<S> {
    fn reset(&mut self, seed: u64, out: &mut [f32]) {
        let obs = self.built.env.reset(seed);
        self.info = Info::default();
        self.built.env.encode(&obs, out);
        self.obs = Some(obs);
        self.baselines().iter_mut().for_each(|b| b.reset(seed));
    }

    fn step(&mut self, action: &Action, out: &mut [f32]) -> Result<(f64, bool, bool), EnvError> {
        let Transition {
            obs,
            reward,
            terminated,
            truncated,
            info,
        } = self.built.env.step(action)?;
        self.built.env.encode(&obs, out);
        self.info = info;
        self.obs = Some(obs);
        Ok((reward, terminated, truncated))
    }

    fn info(&self) -> &Info {
        &self.info
    }

    fn mask(&self) -> Option<&[bool]> {
        self.built.env.action_mask()
    }

    fn add_baseline(&mut self, name: &str) -> Result<(usize, String, bool), String> {
        let make = self
            .built
            .select_baselines(&[name.to_string()])?
            .pop()
            .ok_or("no baseline")?;
        let contender = make();
        let mut baselines = self.baselines();
        let described = (baselines.len(), contender.name(), contender.is_oracle());
        baselines.push(contender);
        Ok(described)
    }

    fn entity_labels(&self) -> Vec<String> {
        self.obs
            .as_ref()
            .map_or_else(Vec::new, |obs| self.built.env.entity_labels(obs))
    }

    fn baseline_act(&mut self, id: usize) -> Result<Action, String> {
        let mut baselines = self
            .baselines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (Some(obs), Some(baseline)) = (&self.obs, baselines.get_mut(id)) else {
            return Err("no state to act on: call reset first".into());
        };
        baseline
            .act(&self.built.env, obs)
            .map_err(|e| e.to_string())
    }
}

impl<S: RegisteredScenario> Live<S> {
    fn baselines(&self) -> std::sync::MutexGuard<'_, Vec<Contender<S>>> {
        self.baselines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A `VecEnv` of any scenario.
pub trait DynVec: Send + Sync {
    fn reset(&mut self, seed: u64);
    fn step(&mut self, actions: &[Action]) -> Result<(), EnvError>;
    fn observations(&self) -> &[f32];
    fn rewards(&self) -> &[f64];
    fn terminated(&self) -> &[bool];
    fn truncated(&self) -> &[bool];
    fn info(&self, i: usize) -> Option<&Info>;
    fn final_observation(&self, i: usize) -> Option<&[f32]>;
    fn final_info(&self, i: usize) -> Option<&Info>;
    fn mask(&self, i: usize) -> Option<&[bool]>;
}

impl std::fmt::Debug for dyn DynVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DynVec")
    }
}

impl<S: Scenario> DynVec for VecEnv<S> {
    fn reset(&mut self, seed: u64) {
        VecEnv::reset(self, seed);
    }
    fn step(&mut self, actions: &[Action]) -> Result<(), EnvError> {
        VecEnv::step(self, actions)
    }
    fn observations(&self) -> &[f32] {
        VecEnv::observations(self)
    }
    fn rewards(&self) -> &[f64] {
        VecEnv::rewards(self)
    }
    fn terminated(&self) -> &[bool] {
        VecEnv::terminated(self)
    }
    fn truncated(&self) -> &[bool] {
        VecEnv::truncated(self)
    }
    fn info(&self, i: usize) -> Option<&Info> {
        VecEnv::info(self, i)
    }
    fn final_observation(&self, i: usize) -> Option<&[f32]> {
        VecEnv::final_observation(self, i)
    }
    fn final_info(&self, i: usize) -> Option<&Info> {
        VecEnv::final_info(self, i)
    }
    /// None for a copy awaiting its next-step reset: its terminal state may have no legal
    /// action, and the action it is given is ignored (callers publish an all-true row).
    fn mask(&self, i: usize) -> Option<&[bool]> {
        if self.awaiting_reset(i) {
            return None;
        }
        self.scenario(i).and_then(Scenario::action_mask)
    }
}

/// Builds a single env.
pub struct MakeEnv;

impl ScenarioVisitor for MakeEnv {
    type Output = (Box<dyn DynEnv>, Meta);
    type Error = anyhow::Error;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Self::Output> {
        let meta = Meta::of(&built.env, built.resolved_config.clone());
        let live = Live {
            built,
            info: Info::default(),
            obs: None,
            baselines: Mutex::new(Vec::new()),
        };
        Ok((Box::new(live), meta))
    }
}

/// Builds a vector env of `num_envs` copies.
pub struct MakeVec {
    pub num_envs: usize,
    pub seed: u64,
    pub threads: usize,
    pub mode: AutoresetMode,
}

impl ScenarioVisitor for MakeVec {
    type Output = (Box<dyn DynVec>, Meta);
    type Error = anyhow::Error;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Self::Output> {
        let meta = Meta::of(&built.env, built.resolved_config);
        let env = VecEnv::new(built.env, self.num_envs, self.seed, self.threads, self.mode)?;
        Ok((Box::new(env), meta))
    }
}
