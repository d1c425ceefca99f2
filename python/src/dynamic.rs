//! Scenarios behind trait objects: Python picks a scenario by name at run time, so the single
//! env, the vector env and loaded policies are built through `registry::with_scenario` and kept
//! as `Box<dyn ...>` with a plain description next to them.

use anyhow::Result;
use planetgym_agents::registry::{Built, RegisteredScenario, ScenarioVisitor};
use planetgym_env::{
    Action, AutoresetMode, EnvError, FeatureSpec, Info, Scenario, Space, Transition, VecEnv,
};

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
}

impl Meta {
    pub(crate) fn of<S: Scenario>(env: &S, resolved_config: String) -> Self {
        Self {
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
}

impl std::fmt::Debug for dyn DynEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DynEnv")
    }
}

struct Live<S: Scenario> {
    scenario: S,
    info: Info,
}

impl<S: Scenario> DynEnv for Live<S> {
    fn reset(&mut self, seed: u64, out: &mut [f32]) {
        let obs = self.scenario.reset(seed);
        self.info = Info::default();
        self.scenario.encode(&obs, out);
    }

    fn step(&mut self, action: &Action, out: &mut [f32]) -> Result<(f64, bool, bool), EnvError> {
        let Transition {
            obs,
            reward,
            terminated,
            truncated,
            info,
        } = self.scenario.step(action)?;
        self.scenario.encode(&obs, out);
        self.info = info;
        Ok((reward, terminated, truncated))
    }

    fn info(&self) -> &Info {
        &self.info
    }

    fn mask(&self) -> Option<&[bool]> {
        self.scenario.action_mask()
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
    fn mask(&self, i: usize) -> Option<&[bool]> {
        self.scenario(i).and_then(Scenario::action_mask)
    }
}

/// Builds a single env.
pub struct MakeEnv;

impl ScenarioVisitor for MakeEnv {
    type Output = (Box<dyn DynEnv>, Meta);
    type Error = anyhow::Error;

    fn visit<S: RegisteredScenario>(self, built: Built<S>) -> Result<Self::Output> {
        let meta = Meta::of(&built.env, built.resolved_config);
        let live = Live {
            scenario: built.env,
            info: Info::default(),
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
