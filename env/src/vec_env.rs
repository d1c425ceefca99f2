//! `VecEnv`: N scenario copies stepped in parallel into contiguous buffers.
//!
//! Determinism: copy `i` runs episode `k` from the seed `episode_seed(seed, i, k)`, so results
//! are bit-identical for any thread count, and copy `i` equals a single scenario reset with that
//! seed and fed the same actions.
//!
//! Auto-reset modes (see `AutoresetMode`): `SameStep` (Stable-Baselines3 style) resets a copy in
//! the step that ends its episode, returns the new episode's first observation and keeps the final
//! observation and final info aside; `NextStep` (gymnasium >= 1.0 default) returns the final
//! observation and resets on the following step, ignoring that step's action for the copy.

use crate::bounds;
use crate::error::EnvError;
use crate::rng::derive_seed;
use crate::scenario::{Info, Scenario};
use crate::spaces::Action;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Seed of episode `episode` of copy `index` in a vector env reset with `seed`.
pub fn episode_seed(seed: u64, index: usize, episode: u64) -> u64 {
    crate::rng::training_half(derive_seed(seed, &[index as u64, episode]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoresetMode {
    SameStep,
    NextStep,
}

/// Per-copy state that is not part of the contiguous buffers.
#[derive(Debug)]
struct Slot<S: Scenario> {
    scenario: S,
    /// The current typed observation; None only while the copy steps (it may share state with
    /// the scenario, such as placement's Arc'd cluster, which stepping would then copy).
    obs: Option<S::Obs>,
    info: Info,
    episode: u64,
    /// The copy's episode ended on the previous step (`NextStep` mode only).
    needs_reset: bool,
    /// Final observation and info of the episode that ended on the last step, if any.
    final_obs: Option<S::Obs>,
    final_info: Option<Info>,
}

/// N copies of a scenario with contiguous observation, reward and flag buffers.
#[derive(Debug)]
pub struct VecEnv<S: Scenario> {
    copies: Vec<Slot<S>>,
    obs_len: usize,
    seed: u64,
    mode: AutoresetMode,
    workers: Workers,
    obs: Vec<f32>,
    final_obs: Vec<f32>,
    rewards: Vec<f64>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
}

impl<S: Scenario> VecEnv<S> {
    /// Builds a vector env of `copies` clones of `prototype`, stepping on `threads` threads
    /// (0 = one per core), and resets every copy from `seed`. The number of copies and threads
    /// is checked against the machine before anything is allocated.
    pub fn new(
        prototype: S,
        copies: usize,
        seed: u64,
        threads: usize,
        mode: AutoresetMode,
    ) -> Result<Self, EnvError>
    where
        S: Clone,
    {
        let obs_len = prototype.feature_spec().encoded_len();
        Self::check_size(&prototype, copies, threads)?;
        let pool = match threads {
            1 => None,
            _ => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|e| {
                        EnvError::config(format!("could not start {threads} threads: {e}"))
                    })?,
            ),
        };
        let n = copies;
        let copies = vec![prototype; n]
            .into_iter()
            .enumerate()
            .map(|(i, mut scenario)| {
                let obs = scenario.reset(episode_seed(seed, i, 0));
                Slot {
                    scenario,
                    obs: Some(obs),
                    info: Info::default(),
                    episode: 0,
                    needs_reset: false,
                    final_obs: None,
                    final_info: None,
                }
            })
            .collect();
        let mut env = Self {
            copies,
            obs_len,
            seed,
            mode,
            workers: Workers {
                pool,
                last_work_ns: AtomicU64::new(u64::MAX),
                handoff_ns: HANDOFF_WORTH_NS,
            },
            obs: vec![0.0; n * obs_len],
            final_obs: vec![0.0; n * obs_len],
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
        };
        env.encode_all();
        Ok(env)
    }

    /// Checks that `copies` copies of `prototype` on `threads` threads fit this machine: at
    /// most `bounds::MAX_ENV_COPIES`, `bounds::max_threads()`, and an estimate of their memory (each
    /// copy's own state, its typed observation and its rows of the observation buffers) within
    /// the memory budget.
    fn check_size(prototype: &S, copies: usize, threads: usize) -> Result<(), EnvError> {
        let obs_len = prototype.feature_spec().encoded_len();
        let per_copy = std::mem::size_of::<Slot<S>>() as f64 + 4.0 * 8.0 * obs_len as f64;
        bounds::env_copies("num_envs (vector env copies)", copies)
            .and_then(|()| bounds::threads("threads", threads))
            .and_then(|()| {
                bounds::memory(
                    &format!("{copies} copies of {}", prototype.name()),
                    copies as f64 * per_copy,
                )
            })
            .map_err(EnvError::Config)
    }

    pub fn num_envs(&self) -> usize {
        self.copies.len()
    }

    pub fn obs_len(&self) -> usize {
        self.obs_len
    }

    pub fn mode(&self) -> AutoresetMode {
        self.mode
    }

    /// The reset seed of the episode copy `i` is in (a single scenario reset with it plays the
    /// same episode).
    pub fn episode_seed_of(&self, i: usize) -> Option<u64> {
        self.copies
            .get(i)
            .map(|c| episode_seed(self.seed, i, c.episode))
    }

    /// Whether copy `i` ended its episode on the last step and will reset on the next one
    /// (`NextStep` mode), ignoring that step's action.
    pub fn awaiting_reset(&self, i: usize) -> bool {
        self.copies.get(i).is_some_and(|c| c.needs_reset)
    }

    /// Restarts every copy from `seed` (episode counters back to 0).
    pub fn reset(&mut self, seed: u64) {
        self.seed = seed;
        let copies = self.copies.iter_mut().enumerate().collect();
        let _ = self.workers.for_each(copies, |(i, c)| {
            c.episode = 0;
            c.needs_reset = false;
            c.final_obs = None;
            c.final_info = None;
            c.info = Info::default();
            c.obs = Some(c.scenario.reset(episode_seed(seed, i, 0)));
            Ok(())
        });
        self.rewards.fill(0.0);
        self.terminated.fill(false);
        self.truncated.fill(false);
        self.encode_all();
    }

    /// Steps every copy with its action. All actions are checked first: if any is invalid,
    /// nothing is stepped and the error names the copy.
    pub fn step(&mut self, actions: &[Action]) -> Result<(), EnvError> {
        if actions.len() != self.copies.len() {
            return Err(EnvError::WrongBatch {
                expected: self.copies.len(),
                got: actions.len(),
            });
        }
        for (index, (c, a)) in self.copies.iter().zip(actions).enumerate() {
            if !c.needs_reset {
                c.scenario
                    .check_action(a)
                    .map_err(|error| EnvError::InvalidActionAt { index, error })?;
            }
        }
        let (seed, mode, obs_len) = (self.seed, self.mode, self.obs_len);
        let buffers = self
            .obs
            .chunks_mut(obs_len)
            .zip(self.final_obs.chunks_mut(obs_len))
            .zip(self.rewards.iter_mut())
            .zip(self.terminated.iter_mut())
            .zip(self.truncated.iter_mut());
        let work = self
            .copies
            .iter_mut()
            .zip(actions)
            .zip(buffers)
            .enumerate()
            .collect();
        self.workers.for_each(
            work,
            |(i, ((c, a), ((((obs, final_obs), reward), terminated), truncated)))| {
                c.final_obs = None;
                c.final_info = None;
                if c.needs_reset {
                    c.needs_reset = false;
                    c.episode += 1;
                    let first = c.scenario.reset(episode_seed(seed, i, c.episode));
                    c.info = Info::default();
                    (*reward, *terminated, *truncated) = (0.0, false, false);
                    c.scenario.encode(&first, obs);
                    c.obs = Some(first);
                    return Ok(());
                }
                // Actions were checked above, so a step refuses none: let go of the held
                // observation first.
                c.obs = None;
                let t = c.scenario.step(a).map_err(|e| match e {
                    EnvError::InvalidAction(source) => EnvError::InvalidActionAt {
                        index: i,
                        error: source,
                    },
                    other => other,
                })?;
                (*reward, *terminated, *truncated) = (t.reward, t.terminated, t.truncated);
                let done = t.terminated || t.truncated;
                match (done, mode) {
                    (true, AutoresetMode::SameStep) => {
                        c.scenario.encode(&t.obs, final_obs);
                        c.final_obs = Some(t.obs);
                        c.final_info = Some(t.info.clone());
                        c.info = t.info;
                        c.episode += 1;
                        c.obs = Some(c.scenario.reset(episode_seed(seed, i, c.episode)));
                    }
                    (true, AutoresetMode::NextStep) => {
                        c.needs_reset = true;
                        c.obs = Some(t.obs);
                        c.info = t.info;
                    }
                    (false, _) => {
                        c.obs = Some(t.obs);
                        c.info = t.info;
                    }
                }
                if let Some(current) = &c.obs {
                    c.scenario.encode(current, obs);
                }
                Ok(())
            },
        )
    }

    fn encode_all(&mut self) {
        let work = self
            .obs
            .chunks_mut(self.obs_len)
            .zip(&self.copies)
            .collect();
        let _ = self.workers.for_each(work, |(out, c)| {
            if let Some(obs) = &c.obs {
                c.scenario.encode(obs, out);
            }
            Ok(())
        });
    }

    /// Index of the episode copy `i` is in (0 for the first since the last reset).
    pub fn episode(&self, i: usize) -> Option<u64> {
        self.copies.get(i).map(|c| c.episode)
    }

    /// Puts copy `index` back into the state it had after taking `actions` in its episode
    /// `episode` (replayed from that episode's seed: scenarios are deterministic given seed and
    /// actions). Used to resume training exactly where a checkpoint left it.
    pub fn restore(
        &mut self,
        index: usize,
        episode: u64,
        actions: &[Action],
    ) -> Result<(), EnvError> {
        let seed = self.seed;
        let obs_len = self.obs_len;
        let Some(c) = self.copies.get_mut(index) else {
            return Err(EnvError::config(format!("no copy {index} to restore")));
        };
        c.episode = episode;
        c.needs_reset = false;
        c.final_obs = None;
        c.final_info = None;
        c.info = Info::default();
        let mut current = c.scenario.reset(episode_seed(seed, index, episode));
        for (k, a) in actions.iter().enumerate() {
            drop(current);
            let t = c.scenario.step(a)?;
            if t.terminated || t.truncated {
                return Err(EnvError::config(format!(
                    "copy {index}: the episode ended at replayed step {k} of {}",
                    actions.len()
                )));
            }
            current = t.obs;
            c.info = t.info;
        }
        c.scenario.encode(
            &current,
            &mut self.obs[index * obs_len..(index + 1) * obs_len],
        );
        c.obs = Some(current);
        Ok(())
    }

    /// Encoded observations `[N, obs_len]`, row-major.
    pub fn observations(&self) -> &[f32] {
        &self.obs
    }

    /// Typed observation of copy `i` (what heuristics read); None for a copy whose last step
    /// failed.
    pub fn typed_observation(&self, i: usize) -> Option<&S::Obs> {
        self.copies.get(i)?.obs.as_ref()
    }

    pub fn rewards(&self) -> &[f64] {
        &self.rewards
    }

    pub fn terminated(&self) -> &[bool] {
        &self.terminated
    }

    pub fn truncated(&self) -> &[bool] {
        &self.truncated
    }

    /// Info of copy `i`'s last step (for a `SameStep` reset copy: the final step's info).
    pub fn info(&self, i: usize) -> Option<&Info> {
        self.copies.get(i).map(|c| &c.info)
    }

    /// `SameStep` mode: the encoded final observation of copy `i` if its episode ended on the
    /// last step.
    pub fn final_observation(&self, i: usize) -> Option<&[f32]> {
        let c = self.copies.get(i)?;
        c.final_obs.as_ref()?;
        Some(&self.final_obs[i * self.obs_len..(i + 1) * self.obs_len])
    }

    /// `SameStep` mode: the typed final observation of copy `i` if its episode ended last step.
    pub fn final_typed_observation(&self, i: usize) -> Option<&S::Obs> {
        self.copies.get(i)?.final_obs.as_ref()
    }

    /// `SameStep` mode: the final info of copy `i` if its episode ended on the last step.
    pub fn final_info(&self, i: usize) -> Option<&Info> {
        self.copies.get(i)?.final_info.as_ref()
    }

    /// The scenario of copy `i` (read-only: spaces, feature spec, metric names).
    pub fn scenario(&self, i: usize) -> Option<&S> {
        self.copies.get(i).map(|c| &c.scenario)
    }
}

/// A call's work (the copies' own time, summed) below which the copies step on the caller's
/// thread: waking the pool and waiting for it cost about 150 us a call here (2 cores), more than
/// 64 batch copies take to step (100 us).
const HANDOFF_WORTH_NS: u64 = 300_000;

/// Where copies run: in the pool while the previous call's work was worth a handoff, else on
/// the caller's thread (and always there on one thread). Results never depend on it.
#[derive(Debug)]
struct Workers {
    pool: Option<rayon::ThreadPool>,
    last_work_ns: AtomicU64,
    /// `HANDOFF_WORTH_NS` (tests lower it to exercise the pool).
    handoff_ns: u64,
}

impl Workers {
    /// Runs `f` on every item.
    fn for_each<T: Send>(
        &self,
        items: Vec<T>,
        f: impl Fn(T) -> Result<(), EnvError> + Sync + Send,
    ) -> Result<(), EnvError> {
        let work = AtomicU64::new(0);
        let timed = |item| {
            let start = Instant::now();
            let result = f(item);
            let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            work.fetch_add(ns, Ordering::Relaxed);
            result
        };
        let result = match &self.pool {
            Some(pool) if self.last_work_ns.load(Ordering::Relaxed) >= self.handoff_ns => {
                pool.install(|| items.into_par_iter().try_for_each(timed))
            }
            _ => items.into_iter().try_for_each(timed),
        };
        self.last_work_ns
            .store(work.load(Ordering::Relaxed), Ordering::Relaxed);
        result
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::ScenarioConfig;
    use crate::{BatchConfig, BatchScenario};

    /// Observations, rewards and flags of 200 steps of 5 batch copies (first queued job).
    fn run(threads: usize, handoff_ns: u64) -> Vec<u64> {
        let config = BatchConfig::from_toml("window_jobs = 64", "test").unwrap();
        let scenario = BatchScenario::new(config).unwrap();
        let mut env = VecEnv::new(scenario, 5, 3, threads, AutoresetMode::SameStep).unwrap();
        env.workers.handoff_ns = handoff_ns;
        let mut out = Vec::new();
        for _ in 0..200 {
            env.step(&vec![Action::Discrete(0); 5]).unwrap();
            out.extend(env.observations().iter().map(|v| u64::from(v.to_bits())));
            out.extend(env.rewards().iter().map(|r| r.to_bits()));
            out.extend(env.terminated().iter().map(|&t| u64::from(t)));
        }
        out
    }

    #[test]
    fn the_pool_and_the_callers_thread_give_the_same_results() {
        let inline = run(1, HANDOFF_WORTH_NS);
        assert_eq!(inline, run(2, 0), "always in the pool");
        assert_eq!(inline, run(2, u64::MAX), "never in the pool");
        assert_eq!(inline, run(2, HANDOFF_WORTH_NS), "as measured");
    }
}
