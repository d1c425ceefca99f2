//! Training configs (`planetgym train --config FILE`): the scenario, its config overrides, the
//! PPO hyper-parameters and the final evaluation. Every field has a default, unknown fields are
//! errors, and the resolved config is written to the run directory.

use crate::error::{Result, TrainingError};
use crate::tensorboard::HParam;
use planetgym_agents::nn::models::Architecture;
use planetgym_agents::nn::policy::check_hidden;
use planetgym_agents::registry;
use planetgym_env::bounds;
use serde::{Deserialize, Serialize};

/// The default config, every field documented (`planetgym train --show-default`). A test keeps
/// it equal to `TrainConfig::default()`.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// `traffic`, `batch`, `placement` or `capacity`.
    pub scenario: String,
    /// Seeds the network initialisation, the action sampling and the training episodes.
    pub seed: u64,
    /// Environment steps to train for (rounded up to whole updates).
    pub total_steps: u64,
    /// Scenario copies stepped in parallel.
    pub num_envs: usize,
    /// Threads stepping the copies (0 = one per core).
    pub threads: usize,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Entity scorers of split actions over a grid (traffic's region-site pairs): each
    /// candidate's second layer also reads the mean first-layer row of its column (the pairs
    /// sharing its site).
    pub column_pooling: bool,
    /// Save a checkpoint every this many updates (and at the end, and on Ctrl-C).
    pub checkpoint_every: u64,
    /// The folder of a saved policy (its `policy.json`) whose weights and observation statistics
    /// a fresh run starts from instead of a new network; empty for none.
    pub init_policy: String,
    /// Scenario config fields that differ from the scenario's default (its documented TOML).
    pub env: toml::Table,
    pub ppo: PpoConfig,
    pub imitation: ImitationConfig,
    pub eval: EvalConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PpoConfig {
    /// Steps per copy between updates.
    pub rollout_steps: usize,
    pub epochs: usize,
    pub minibatches: usize,
    pub learning_rate: f64,
    /// Decay the learning rate linearly to 0 over the run.
    pub anneal_lr: bool,
    pub gamma: f64,
    pub gae_lambda: f64,
    /// Policy ratio clip range.
    pub clip: f64,
    /// Value clip range around the rollout's values (0 = unclipped value loss).
    pub clip_value: f64,
    pub value_coef: f64,
    pub entropy_coef: f64,
    /// Global gradient-norm clip (0 = none).
    pub max_grad_norm: f64,
    /// Stop an update's epochs once the approximate KL divergence exceeds this (0 = never);
    /// with `counterfactual_rows`, the mean KL of a row.
    pub target_kl: f64,
    pub normalise_advantages: bool,
    pub normalise_obs: bool,
    pub normalise_reward: bool,
    /// Starting log standard deviation of Gaussian (Box and Simplex) heads.
    pub initial_log_std: f64,
    /// Give each row of a simplex action (a traffic region's split) its own advantage: the
    /// state-value baseline is replaced by the reward the step would have earned had that row
    /// taken its mean action, the other rows keeping their sampled ones (a counterfactual
    /// baseline, still unbiased), and PPO clips each row's probability ratio. One reward
    /// otherwise credits hundreds of noisy logits at once. Needs a scenario that computes
    /// these rewards (traffic does).
    pub counterfactual_rows: bool,
}

/// Imitation before PPO: the first `updates` updates learn the expert's choices (DAgger).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImitationConfig {
    /// The baseline imitated (a name `planetgym baselines` knows); empty = no imitation.
    pub expert: String,
    /// Updates that imitate before PPO takes over.
    pub updates: u64,
    /// Probability that the expert's action is the one taken, at the first imitation update;
    /// it falls linearly to 0 at the last (DAgger's mixing: later rollouts visit the states
    /// the network's own choices lead to, still labelled by the expert).
    pub expert_fraction: f64,
}

impl Default for ImitationConfig {
    fn default() -> Self {
        Self {
            expert: String::new(),
            updates: 0,
            expert_fraction: 1.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Episodes of the final evaluation against the baselines (0 = skip it).
    pub episodes: usize,
    pub seed: u64,
    /// Evaluate the greedy policy every this many updates (and after the last) on
    /// `during_episodes` fixed held-out episodes (seeds from `seed`, never trained on), and
    /// keep the one with the best mean return in `best/` (0 = never).
    pub every: u64,
    pub during_episodes: usize,
}

impl TrainConfig {
    /// The policy network's size and structure.
    pub fn architecture(&self) -> Architecture {
        Architecture {
            hidden: self.hidden,
            column_pooling: self.column_pooling,
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            scenario: "traffic".into(),
            seed: 0,
            total_steps: 100_000,
            num_envs: 8,
            threads: 0,
            hidden: 64,
            column_pooling: false,
            checkpoint_every: 10,
            init_policy: String::new(),
            env: toml::Table::new(),
            ppo: PpoConfig::default(),
            imitation: ImitationConfig::default(),
            eval: EvalConfig::default(),
        }
    }
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            rollout_steps: 128,
            epochs: 4,
            minibatches: 4,
            learning_rate: 3e-4,
            anneal_lr: true,
            gamma: 0.99,
            gae_lambda: 0.95,
            clip: 0.2,
            clip_value: 0.2,
            value_coef: 0.5,
            entropy_coef: 0.01,
            max_grad_norm: 0.5,
            target_kl: 0.05,
            normalise_advantages: true,
            normalise_obs: true,
            normalise_reward: true,
            initial_log_std: -0.5,
            counterfactual_rows: false,
        }
    }
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            episodes: 5,
            seed: 1000,
            every: 0,
            during_episodes: 5,
        }
    }
}

impl TrainConfig {
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let bytes = planetgym_env::input::read_bytes_or(
            path,
            TrainingError::io(format!("cannot read {}", path.display())),
        )?;
        let text = planetgym_env::input::text(bytes, &path.display().to_string())?;
        let parent = path.parent().unwrap_or(std::path::Path::new("."));
        let base = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
        let text = registry::rebase_config_paths(None, &text, &base);
        Self::from_toml(&text, &path.display().to_string())
    }

    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let config: Self =
            toml::from_str(text).map_err(|e| TrainingError::config(origin, e.to_string()))?;
        config
            .validate()
            .map_err(|message| TrainingError::config(origin, message))?;
        Ok(config)
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self)
            .map_err(|e| TrainingError::config("the resolved config", e.to_string()))
    }

    /// Every field as a TensorBoard hyper-parameter, by dotted name (`ppo.learning_rate`,
    /// `env.window_jobs`, ...); arrays and other non-scalar values as their TOML text.
    pub fn hparams(&self) -> Result<Vec<(String, HParam)>> {
        fn walk(table: &toml::Table, prefix: &str, out: &mut Vec<(String, HParam)>) {
            for (key, value) in table {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                let param = match value {
                    toml::Value::Table(inner) => {
                        walk(inner, &name, out);
                        continue;
                    }
                    toml::Value::Integer(i) => HParam::Number(*i as f64),
                    toml::Value::Float(x) => HParam::Number(*x),
                    toml::Value::Boolean(b) => HParam::Flag(*b),
                    toml::Value::String(s) => HParam::Text(s.clone()),
                    other => HParam::Text(other.to_string()),
                };
                out.push((name, param));
            }
        }
        let table = toml::Table::try_from(self)
            .map_err(|e| TrainingError::config("the resolved config", e.to_string()))?;
        let mut out = Vec::new();
        walk(&table, "", &mut out);
        Ok(out)
    }

    /// Environment steps collected between two updates (every copy's rollout).
    pub fn steps_per_update(&self) -> u64 {
        (self.ppo.rollout_steps as u64).saturating_mul(self.num_envs as u64)
    }

    /// Updates in the whole run: enough rollouts to reach `total_steps`.
    pub fn total_updates(&self) -> u64 {
        self.total_steps.div_ceil(self.steps_per_update())
    }

    /// The `[env]` table as the scenario's own TOML.
    pub fn env_toml(&self) -> Result<String> {
        toml::to_string(&self.env).map_err(|e| TrainingError::config("[env]", e.to_string()))
    }

    /// Checks every range; the message names the field and what is allowed.
    fn validate(&self) -> Result<(), String> {
        let p = &self.ppo;
        let checks: [(bool, &str); 14] = [
            (self.total_steps > 0, "total_steps must be at least 1"),
            (self.num_envs > 0, "num_envs must be at least 1"),
            (self.hidden > 0, "hidden must be at least 1"),
            (
                self.checkpoint_every > 0,
                "checkpoint_every must be at least 1",
            ),
            (p.rollout_steps > 0, "ppo.rollout_steps must be at least 1"),
            (p.epochs > 0, "ppo.epochs must be at least 1"),
            (
                p.minibatches > 0 && p.minibatches as u64 <= self.steps_per_update(),
                "ppo.minibatches must be in [1, rollout_steps x num_envs]",
            ),
            (
                p.learning_rate > 0.0 && p.learning_rate.is_finite(),
                "ppo.learning_rate must be positive",
            ),
            (
                (0.0..=1.0).contains(&p.gamma),
                "ppo.gamma must be in [0, 1]",
            ),
            (
                (0.0..=1.0).contains(&p.gae_lambda),
                "ppo.gae_lambda must be in [0, 1]",
            ),
            (
                p.clip > 0.0 && p.clip.is_finite(),
                "ppo.clip must be positive",
            ),
            (
                p.clip_value >= 0.0 && p.value_coef >= 0.0 && p.entropy_coef >= 0.0,
                "ppo.clip_value, ppo.value_coef and ppo.entropy_coef must be >= 0",
            ),
            (
                p.max_grad_norm >= 0.0 && p.target_kl >= 0.0,
                "ppo.max_grad_norm and ppo.target_kl must be >= 0",
            ),
            (
                p.initial_log_std.is_finite() && p.initial_log_std.abs() <= 5.0,
                "ppo.initial_log_std must be in [-5, 5]",
            ),
        ];
        if let Some((_, message)) = checks.iter().find(|(ok, _)| !ok) {
            return Err(message.to_string());
        }
        check_hidden(self.hidden)?;
        bounds::env_copies("num_envs", self.num_envs)?;
        bounds::threads("threads", self.threads)?;
        bounds::count(
            "total_steps",
            self.total_steps,
            1,
            1_000_000_000_000,
            "a trillion environment steps is years on any machine",
        )?;
        bounds::count(
            "ppo.rollout_steps x num_envs",
            self.steps_per_update(),
            1,
            10_000_000,
            "every update keeps that many observations in memory",
        )?;
        bounds::count(
            "eval.episodes",
            self.eval.episodes as u64,
            0,
            bounds::MAX_EPISODES as u64,
            "each episode is simulated in full for every policy; 0 skips the final evaluation",
        )?;
        bounds::count(
            "eval.during_episodes",
            self.eval.during_episodes as u64,
            1,
            bounds::MAX_EPISODES as u64,
            "each is simulated in full at every evaluation during training",
        )?;
        bounds::count(
            "imitation.updates",
            self.imitation.updates,
            0,
            self.total_updates(),
            "imitation updates are part of the run's updates (total_steps / (rollout_steps x num_envs))",
        )?;
        if !(0.0..=1.0).contains(&self.imitation.expert_fraction) {
            return Err("imitation.expert_fraction must be in [0, 1]".into());
        }
        if self.imitation.expert.is_empty() != (self.imitation.updates == 0) {
            return Err(
                "imitation.expert and imitation.updates go together: name the expert and give at least 1 update, or neither"
                    .into(),
            );
        }
        bounds::count(
            "eval.every",
            self.eval.every,
            0,
            1_000_000_000,
            "updates between evaluations during training; 0 never evaluates during training",
        )?;
        if registry::find(&self.scenario).is_none() {
            return Err(format!(
                "unknown scenario `{}`; known: {}",
                self.scenario,
                registry::names()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The documented default is the default, and documents every field.
    #[test]
    fn the_documented_default_is_the_default() {
        assert_eq!(
            TrainConfig::from_toml(DEFAULT_TOML, "default.toml").unwrap(),
            TrainConfig::default()
        );
        let documented = registry::config_fields(DEFAULT_TOML);
        let serialised = TrainConfig::default().to_toml().unwrap();
        for field in registry::config_fields(&serialised) {
            assert!(
                documented.contains(&field),
                "{field} is not in default.toml"
            );
        }
    }

    #[test]
    fn defaults_fill_in_and_mistakes_are_named() {
        let c = TrainConfig::from_toml("scenario = \"batch\"\n[ppo]\nepochs = 2", "t").unwrap();
        assert_eq!((c.ppo.epochs, c.ppo.rollout_steps), (2, 128));
        let e = TrainConfig::from_toml("[ppo]\nepoch = 2", "cfg.toml").unwrap_err();
        assert!(e.to_string().contains("cfg.toml") && e.to_string().contains("epoch"));
        let e = TrainConfig::from_toml("[ppo]\ngamma = 1.5", "t").unwrap_err();
        assert!(e.to_string().contains("gamma"));
        let e = TrainConfig::from_toml("scenario = \"nope\"", "t").unwrap_err();
        assert!(e.to_string().contains("nope"));
        let round = TrainConfig::from_toml(&c.to_toml().unwrap(), "r").unwrap();
        assert_eq!(round, c);
    }

    #[test]
    fn sizes_that_drive_memory_or_time_are_bounded() {
        for (toml, want) in [
            ("hidden = 1000000000", "hidden = 1000000000: at most 4096"),
            (
                "num_envs = 1000000000",
                "num_envs = 1000000000: at most 65536",
            ),
            ("threads = 1000000", "threads = 1000000: at most"),
            (
                "total_steps = 9223372036854775807",
                "total_steps = 9223372036854775807: at most",
            ),
            (
                "num_envs = 4096\n[ppo]\nrollout_steps = 100000",
                "ppo.rollout_steps x num_envs = 409600000: at most 10000000",
            ),
            (
                "[eval]\nepisodes = 1000000",
                "eval.episodes = 1000000: at most 100000",
            ),
        ] {
            let e = TrainConfig::from_toml(toml, "t.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{toml}: {e}");
        }
    }
}
