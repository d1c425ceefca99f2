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
    /// Baseline `id`'s action in the current state, as a batch of one (an error before the
    /// first reset).
    fn baseline_act(&mut self, id: usize) -> Result<Vec<Action>, String>;
    /// Who each entity row of the current observation is (empty before a reset and for flat
    /// layouts).
    fn entity_labels(&self) -> Vec<String>;
    /// What the episode looks like now (`Scenario::scene`).
    fn scene(&self) -> Result<planetgym_env::Scene, EnvError>;
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
    /// The seed of the current episode (None before a reset).
    seed: Option<u64>,
    /// Baselines attached with `add_baseline` (behind a lock only because a policy object is
    /// `Send` but not `Sync`).
    baselines: Mutex<Vec<Attached<S>>>,
}

/// A baseline attached to an env: one contender per copy, with the episode seed it was last
/// reset for (so that it is reset, with that seed, whenever its copy starts an episode).
type Attached<S> = Vec<(Contender<S>, Option<u64>)>;

/// Baseline `name` of `built` for `copies` copies: (the contenders, row name, is_oracle).
fn attach<S: RegisteredScenario>(
    built: &Built<S>,
    name: &str,
    copies: usize,
) -> Result<(Attached<S>, String, bool), String> {
    let make = built
        .select_baselines(&[name.to_string()])?
        .pop()
        .ok_or("no baseline")?;
    let attached: Attached<S> = (0..copies.max(1)).map(|_| (make(), None)).collect();
    let (name, oracle) = (attached[0].0.name(), attached[0].0.is_oracle());
    Ok((attached, name, oracle))
}

/// The action of one copy's contender in `scenario`'s state `obs`, reset first when the copy
/// is in another episode (`seed`) than the contender last saw.
fn act_in<S: Scenario>(
    slot: &mut (Contender<S>, Option<u64>),
    seed: u64,
    scenario: &S,
    obs: &S::Obs,
) -> Result<Action, String> {
    if slot.1 != Some(seed) {
        slot.0.reset(seed);
        slot.1 = Some(seed);
    }
    slot.0.act(scenario, obs).map_err(|e| e.to_string())
}

/// Adds `attached` to `list`; its id.
fn push<S: Scenario>(list: &Mutex<Vec<Attached<S>>>, attached: Attached<S>) -> usize {
    let mut all = list
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    all.push(attached);
    all.len() - 1
}

impl<S: RegisteredScenario> DynEnv for Live<S> {
    fn reset(&mut self, seed: u64, out: &mut [f32]) {
        let obs = self.built.env.reset(seed);
        self.info = Info::default();
        self.built.env.encode(&obs, out);
        self.obs = Some(obs);
        self.seed = Some(seed);
        // A new episode even when its seed repeats: every baseline starts it afresh.
        let all = self
            .baselines
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        all.iter_mut().flatten().for_each(|slot| slot.1 = None);
    }

    fn step(&mut self, action: &Action, out: &mut [f32]) -> Result<(f64, bool, bool), EnvError> {
        // The held observation may share state with the scenario (placement's Arc'd cluster):
        // let go of it before stepping so that the step does not copy that state. A refused
        // action is refused first, so the observation is kept whenever the state is.
        self.built.env.check_action(action)?;
        self.obs = None;
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
        let (attached, name, oracle) = attach(&self.built, name, 1)?;
        Ok((push(&self.baselines, attached), name, oracle))
    }

    fn entity_labels(&self) -> Vec<String> {
        self.obs
            .as_ref()
            .map_or_else(Vec::new, |obs| self.built.env.entity_labels(obs))
    }

    fn scene(&self) -> Result<planetgym_env::Scene, EnvError> {
        self.built.env.scene()
    }

    fn baseline_act(&mut self, id: usize) -> Result<Vec<Action>, String> {
        let all = self
            .baselines
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = all
            .get_mut(id)
            .and_then(|a| a.first_mut())
            .ok_or("no such baseline")?;
        let (Some(obs), Some(seed)) = (&self.obs, self.seed) else {
            return Err("no state to act on: call reset first".into());
        };
        Ok(vec![act_in(slot, seed, &self.built.env, obs)?])
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
    /// The reset seed of the episode copy `i` is in.
    fn episode_seed(&self, i: usize) -> Option<u64>;
    /// Who each entity row of copy `i`'s observation is (empty for flat layouts).
    fn entity_labels(&self, i: usize) -> Vec<String>;
    /// Attaches baseline `name` to every copy: (id, row name, is_oracle).
    fn add_baseline(&mut self, name: &str) -> Result<(usize, String, bool), String>;
    /// Baseline `id`'s action for every copy in its current state (a copy awaiting its
    /// next-step reset, whose action is ignored, gets all zeros).
    fn baseline_act(&mut self, id: usize) -> Result<Vec<Action>, String>;
}

impl std::fmt::Debug for dyn DynVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DynVec")
    }
}

/// A vector env with the scenario its baselines are built from, and the baselines attached to
/// it: one contender per copy, with the episode seed it was last reset for.
struct LiveVec<S: RegisteredScenario> {
    env: VecEnv<S>,
    built: Built<S>,
    baselines: Mutex<Vec<Attached<S>>>,
}

impl<S: RegisteredScenario> DynVec for LiveVec<S> {
    fn reset(&mut self, seed: u64) {
        self.env.reset(seed);
    }
    fn step(&mut self, actions: &[Action]) -> Result<(), EnvError> {
        self.env.step(actions)
    }
    fn observations(&self) -> &[f32] {
        self.env.observations()
    }
    fn rewards(&self) -> &[f64] {
        self.env.rewards()
    }
    fn terminated(&self) -> &[bool] {
        self.env.terminated()
    }
    fn truncated(&self) -> &[bool] {
        self.env.truncated()
    }
    fn info(&self, i: usize) -> Option<&Info> {
        self.env.info(i)
    }
    fn final_observation(&self, i: usize) -> Option<&[f32]> {
        self.env.final_observation(i)
    }
    fn final_info(&self, i: usize) -> Option<&Info> {
        self.env.final_info(i)
    }
    /// None for a copy awaiting its next-step reset: its terminal state may have no legal
    /// action, and the action it is given is ignored (callers publish an all-true row).
    fn mask(&self, i: usize) -> Option<&[bool]> {
        if self.env.awaiting_reset(i) {
            return None;
        }
        self.env.scenario(i).and_then(Scenario::action_mask)
    }
    fn episode_seed(&self, i: usize) -> Option<u64> {
        self.env.episode_seed_of(i)
    }

    fn entity_labels(&self, i: usize) -> Vec<String> {
        match (self.env.scenario(i), self.env.typed_observation(i)) {
            (Some(scenario), Some(obs)) => scenario.entity_labels(obs),
            _ => Vec::new(),
        }
    }

    fn add_baseline(&mut self, name: &str) -> Result<(usize, String, bool), String> {
        let (attached, name, oracle) = attach(&self.built, name, self.env.num_envs())?;
        Ok((push(&self.baselines, attached), name, oracle))
    }

    fn baseline_act(&mut self, id: usize) -> Result<Vec<Action>, String> {
        let all = self
            .baselines
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let attached = all.get_mut(id).ok_or("no such baseline")?;
        let space = self.built.env.action_space();
        let ignored = crate::actions::from_values(space, &vec![0.0; space.flat_len()])?;
        let env = &self.env;
        attached
            .iter_mut()
            .enumerate()
            .map(|(i, slot)| {
                if env.awaiting_reset(i) {
                    return Ok(ignored.clone());
                }
                match (
                    env.episode_seed_of(i),
                    env.scenario(i),
                    env.typed_observation(i),
                ) {
                    (Some(seed), Some(scenario), Some(obs)) => {
                        act_in(slot, seed, scenario, obs).map_err(|e| format!("copy {i}: {e}"))
                    }
                    _ => Err(format!("no copy {i}")),
                }
            })
            .collect()
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
            seed: None,
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
        let meta = Meta::of(&built.env, built.resolved_config.clone());
        let env = VecEnv::new(
            built.env.clone(),
            self.num_envs,
            self.seed,
            self.threads,
            self.mode,
        )?;
        let live = LiveVec {
            env,
            built,
            baselines: Mutex::new(Vec::new()),
        };
        Ok((Box::new(live), meta))
    }
}
