//! Batch scheduling heuristics: each ranks every queued job (not only the `visible_jobs` a
//! network sees) by a priority score and picks the best (ties go to the oldest). Backfilling is
//! the scenario's, so every rule runs with and without it.
//!
//! Definitions (r = requested time, n = processors, w = wait so far, s = submit time, all in
//! seconds; smaller score first):
//! - FCFS: s. SJF: r. SAF (smallest area): r x n.
//! - WFP3 (Tang et al.): -(w / r)^3 x n. UNICEP (Tang et al.): -w / (log2(n) x r).
//! - F1 (Carastan-Santos & de Camargo, SC'17): log10(r) x n + 870 x log10(s).
//!
//! Departures from RLScheduler's code (SC'20), on purpose; `priority_wait = "rlscheduler"` and
//! `f1_submit_time = "rlscheduler"` (or `compat = "rlscheduler"`) restore its versions:
//! - RLScheduler computes the wait of WFP3 and UNICEP as `scheduled_time - submit_time` on
//!   queued jobs whose `scheduled_time` is still -1, i.e. `-1 - s` with the absolute log time;
//!   here the wait is the real one (now - submit), as the rules' authors define it.
//! - UNICEP's log2(n) is 0 for one-processor jobs; n is floored at 2 there (log2 = 1) so that
//!   the score stays finite, instead of RLScheduler's 1e-15 offsets.
//! - F1's s is the submit time relative to the window's first job, floored at 0.1 s as in
//!   RLScheduler (which uses absolute log times).

use super::batch_guided::GuidedRollout;
use super::batch_rollout::{MAX_CANDIDATES, MAX_HORIZON_H, RolloutOracle, RolloutScheduler};
use crate::comparison::EpisodeBudget;
use crate::evaluate::ContenderFactory;
use crate::nn::policy::NeuralPolicy;
use crate::registry::{OutcomeModel, RegisteredScenario, ReportExtra, holdout_set};
use crate::{Policy, PolicyError};
use planetgym_env::batch::{BatchConfig, BatchObs, Convention, QueuedJob};
use planetgym_env::rng::Rng;
use planetgym_env::{Action, BatchScenario, EnvError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorityRule {
    Fcfs,
    Sjf,
    Saf,
    Wfp3,
    Unicep,
    F1,
}

impl PriorityRule {
    pub const ALL: [PriorityRule; 6] = [
        PriorityRule::Fcfs,
        PriorityRule::Sjf,
        PriorityRule::Saf,
        PriorityRule::Wfp3,
        PriorityRule::Unicep,
        PriorityRule::F1,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PriorityRule::Fcfs => "fcfs",
            PriorityRule::Sjf => "sjf",
            PriorityRule::Saf => "saf",
            PriorityRule::Wfp3 => "wfp3",
            PriorityRule::Unicep => "unicep",
            PriorityRule::F1 => "f1",
        }
    }

    /// Priority score of a queued job under planetgym's conventions; the smallest runs first.
    pub fn score(self, job: &QueuedJob) -> f64 {
        self.score_with(job, Conventions::default())
    }

    /// Priority score of a queued job under `conventions`; the smallest runs first.
    pub fn score_with(self, job: &QueuedJob, conventions: Conventions) -> f64 {
        let r = job.requested_s as f64;
        let n = f64::from(job.procs);
        let (rls_wait, rls_f1) = (conventions.rlscheduler_wait, conventions.log_submit_time);
        let w = if rls_wait {
            -1.0 - job.log_submit_s as f64
        } else {
            job.wait_s as f64
        };
        let s = if rls_f1 {
            job.log_submit_s as f64
        } else {
            job.submit_s as f64
        };
        match self {
            PriorityRule::Fcfs => s,
            PriorityRule::Sjf => r,
            PriorityRule::Saf => r * n,
            PriorityRule::Wfp3 => -(w / r).powi(3) * n,
            PriorityRule::Unicep if rls_wait => -(w + 1e-15) / ((n + 1e-15).log2() * r),
            PriorityRule::Unicep => -w / (n.max(2.0).log2() * r),
            PriorityRule::F1 => r.max(0.1).log10() * n + 870.0 * s.max(0.1).log10(),
        }
    }
}

/// Which of RLScheduler's conventions the priority scores follow (see the module comment).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conventions {
    /// WFP3 and UNICEP wait = -1 - absolute submit time (`priority_wait = "rlscheduler"`).
    pub rlscheduler_wait: bool,
    /// F1's s is the absolute log time (`f1_submit_time = "rlscheduler"`).
    pub log_submit_time: bool,
}

impl Conventions {
    pub fn of(config: &BatchConfig) -> Self {
        Self {
            rlscheduler_wait: config.priority_wait() == Convention::Rlscheduler,
            log_submit_time: config.f1_submit_time() == Convention::Rlscheduler,
        }
    }
}

/// A heuristic scheduler: the queued job with the smallest score of its rule, among the whole
/// queue.
#[derive(Debug, Clone, Copy)]
pub struct PriorityScheduler {
    pub rule: PriorityRule,
    pub conventions: Conventions,
}

impl PriorityScheduler {
    pub fn new(rule: PriorityRule) -> Self {
        Self {
            rule,
            conventions: Conventions::default(),
        }
    }
}

impl Policy<BatchScenario> for PriorityScheduler {
    fn name(&self) -> String {
        self.rule.name().into()
    }

    fn act(&mut self, obs: &BatchObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let score = |job| self.rule.score_with(job, self.conventions);
        let best = obs
            .queue
            .iter()
            .enumerate()
            .min_by(|(i, a), (j, b)| score(a).total_cmp(&score(b)).then(i.cmp(j)))
            .map(|(i, _)| i)
            .ok_or_else(|| PolicyError::Invalid {
                policy: self.name(),
                message: "asked to act on an empty queue".into(),
            })?;
        Ok(Action::Discrete(best))
    }
}

/// Picks a queued job uniformly at random (seeded by the episode).
#[derive(Debug, Clone)]
pub struct RandomScheduler {
    rng: Rng,
}

impl Default for RandomScheduler {
    fn default() -> Self {
        Self { rng: Rng::new(0) }
    }
}

impl Policy<BatchScenario> for RandomScheduler {
    fn name(&self) -> String {
        "random".into()
    }

    fn reset(&mut self, episode_seed: u64) {
        self.rng = Rng::new(episode_seed ^ 0x005E_ED0F_4A4D);
    }

    fn act(&mut self, obs: &BatchObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        if obs.queue.is_empty() {
            return Err(PolicyError::Invalid {
                policy: self.name(),
                message: "asked to act on an empty queue".into(),
            });
        }
        Ok(Action::Discrete(self.rng.below(obs.queue.len())))
    }
}

/// Every batch heuristic (with `config`'s conventions), then random.
pub fn baselines(config: &BatchConfig) -> Vec<ContenderFactory<BatchScenario>> {
    let conventions = Conventions::of(config);
    let mut all: Vec<ContenderFactory<BatchScenario>> = PriorityRule::ALL
        .iter()
        .map(|&rule| -> ContenderFactory<BatchScenario> {
            let scheduler = PriorityScheduler { rule, conventions };
            Box::new(move || crate::Contender::Fair(Box::new(scheduler)))
        })
        .collect();
    all.push(Box::new(|| {
        crate::Contender::Fair(Box::new(RandomScheduler::default()))
    }));
    all
}

/// The fair rollout search `search` names (`rollout-RULE@K[+Hh]`): None when it has another
/// form, an error saying what is allowed when its parameters are malformed or out of range.
fn rollout_named(config: &BatchConfig, search: &str) -> Option<Result<RolloutScheduler, String>> {
    let (rule, k) = search.strip_prefix("rollout-")?.split_once('@')?;
    let (k, horizon) = match k.split_once('+') {
        Some((k, horizon)) => (k, Some(horizon)),
        None => (k, None),
    };
    let parsed = || -> Result<RolloutScheduler, String> {
        let rule = super::base_rule_named(&PriorityRule::ALL, rule, PriorityRule::name)?;
        let candidates = match k.parse::<usize>() {
            Ok(k) if (1..=MAX_CANDIDATES).contains(&k) => k,
            _ => {
                return Err(format!(
                    "the candidate count `{k}` must be a whole number in [1, {MAX_CANDIDATES}]"
                ));
            }
        };
        let horizon_h = match horizon.map(|h| h.strip_suffix('h').map(str::parse::<u32>)) {
            None => 0,
            Some(Some(Ok(h))) if (1..=MAX_HORIZON_H).contains(&h) => h,
            Some(_) => {
                return Err(format!(
                    "the forecast horizon `{}` must be whole hours in [1, {MAX_HORIZON_H}], e.g. 6h",
                    horizon.unwrap_or_default()
                ));
            }
        };
        Ok(RolloutScheduler::new(rule, candidates, horizon_h, config))
    };
    Some(parsed())
}

impl RegisteredScenario for BatchScenario {
    type Config = BatchConfig;
    const NAME: &'static str = "batch";
    const DESCRIPTION: &'static str = "batch job scheduling: pick which queued HPC job runs next (real SWF logs, EASY backfilling)";
    const GYM_ID: &'static str = "planetgym/Batch-v0";
    const METRICS: &'static [planetgym_env::Metric] = &planetgym_env::batch::METRICS;
    const REPORT: ReportExtra = ReportExtra::None;
    const EPISODES: EpisodeBudget = EpisodeBudget {
        pilot: 50,
        max: 1000,
    };

    /// The later part of the NASA iPSC/860 log (the built-in log is its first part), at
    /// `load_scale = 2` as `experiments/configs/batch_nasa_backfill.toml` runs the first part:
    /// the log's submit times are really start times, so at 1.0 nothing ever queues. The shared
    /// holdout has no Lublin split: Lublin logs are model-generated, and a policy trained on
    /// them meets a real machine here.
    fn holdout(dir: &std::path::Path) -> Result<Vec<String>, &'static str> {
        Ok(vec![
            holdout_set("trace", dir, "hpc_swf/NASA-iPSC-1993-3.1-cln_part2.swf"),
            "load_scale=2.0".into(),
        ])
    }

    fn build(config: BatchConfig) -> Result<Self, EnvError> {
        Self::new(config)
    }

    fn baselines(&self, config: &BatchConfig) -> Vec<ContenderFactory<Self>> {
        baselines(config)
    }

    const BASELINE_FORMS: &'static [&'static str] = &[
        "rollout-RULE@K or rollout-RULE@K+Hh (rollout search over the base rule RULE's K best jobs, 1 <= K <= 64, the last H hours of submissions replayed as arrivals, 1 <= H <= 168)",
    ];

    fn baseline_named(
        &self,
        config: &BatchConfig,
        name: &str,
    ) -> Option<Result<ContenderFactory<Self>, String>> {
        let (oracle, search) = match name.strip_prefix("oracle-") {
            Some(search) => (true, search),
            None => (false, name),
        };
        let parsed = rollout_named(config, search)?.and_then(|scheduler| {
            if !oracle {
                return Ok(
                    Box::new(move || crate::Contender::Fair(Box::new(scheduler.clone())))
                        as ContenderFactory<Self>,
                );
            }
            if scheduler.horizon_s == 0 {
                return Err(
                    "an oracle rollout sees the next H hours: oracle-rollout-RULE@K+Hh".into(),
                );
            }
            Ok(Box::new(move || {
                crate::Contender::Oracle(Box::new(RolloutOracle(scheduler.clone())))
            }))
        });
        Some(parsed)
    }

    fn guided(
        &self,
        config: &BatchConfig,
        name: &str,
        prior: NeuralPolicy<Self>,
    ) -> Result<ContenderFactory<Self>, String> {
        let (union, search) = match name.strip_prefix("union-") {
            Some(search) => (true, search),
            None => (false, name),
        };
        let search = rollout_named(config, search).unwrap_or_else(|| {
            Err(format!(
                "`{name}` is not of the form [union-]rollout-RULE@K[+Hh]"
            ))
        })?;
        let guided = GuidedRollout::new(prior, search, union);
        Ok(Box::new(move || {
            crate::Contender::Fair(Box::new(guided.clone()))
        }))
    }

    fn heading(&self, config: &BatchConfig) -> String {
        let log = self.log();
        let mut heading = format!(
            "scenario batch: {} ({} jobs, {} processors), windows of {} jobs, backfilling {}",
            log.source,
            log.jobs.len(),
            log.machine_procs,
            config.window_jobs,
            if config.backfill { "EASY" } else { "off" }
        );
        for (count, what) in [
            (log.skipped_lines.len(), "malformed lines skipped"),
            (
                log.unusable_jobs,
                "jobs without run time or processors skipped",
            ),
            (log.too_wide_jobs, "jobs wider than the machine dropped"),
        ] {
            if count > 0 {
                heading += &format!("\n  {count} {what}");
            }
        }
        heading
    }

    fn steps_per_episode(&self, config: &BatchConfig) -> usize {
        config.window_jobs
    }

    fn outcome_model(&self) -> Result<Box<dyn OutcomeModel>, &'static str> {
        Err("batch rewards come when a whole window has run, not per decision")
    }
}
