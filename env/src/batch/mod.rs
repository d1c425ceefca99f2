//! The `batch` scenario: which queued job runs next on a cluster of processors.
//!
//! An episode is a window of consecutive jobs from a real log (SWF), starting at a seeded random
//! position, on an initially empty machine. Whenever jobs are queued and the previously chosen
//! job has started, the policy picks one of the first `visible_jobs` queued jobs
//! (`Discrete(visible_jobs)` with a mask). The chosen job starts as soon as enough processors
//! are free; until then nothing else starts, except by EASY backfilling when enabled. The episode
//! ends when every job of the window has started; metrics and the reward come at its end (or,
//! with `reward_per_job`, each job's share of the reward in the step it starts).
//!
//! The observation lists the whole queue: a learned policy sees and picks among its first
//! `visible_jobs` (the action space and mask), while the heuristic baselines choose among every
//! queued job (action `i` is the `i`-th queued job; positions beyond `visible_jobs` are accepted
//! for them), so that they do not inherit a network's input limit.

pub mod config;
mod gantt;
pub mod rlscheduler;
mod sim;

pub use config::{BatchConfig, Convention, RewardMetric};
pub use sim::{Backfill, Job, JobTotals, RunningMetrics, ScheduleMetrics, Simulation};

use crate::config::ScenarioConfig;
use crate::error::{ActionError, EnvError};
use crate::features::{Feature, FeatureSpec, Layout};
use crate::input;
use crate::rng::Rng;
use crate::scenario::{
    Better, Info, Metric, MetricAggregation, Scenario, Transition, metric_names,
};
use crate::spaces::{Action, Space};
use crate::traces::swf::{self, SwfLog, SwfOptions};
use std::sync::Arc;

/// Metrics in every step's `Info` (over the jobs started so far; the whole window at the end).
pub const METRICS: [Metric; 6] = [
    Metric {
        name: "avg_bounded_slowdown",
        unit: "1",
        better: Better::Lower,
        step: "mean bounded slowdown max(1, (wait + run) / max(run, bounded_slowdown_threshold_s)) of the jobs started so far",
    },
    Metric {
        name: "avg_wait_s",
        unit: "s",
        better: Better::Lower,
        step: "mean wait of the jobs started so far",
    },
    Metric {
        name: "avg_turnaround_s",
        unit: "s",
        better: Better::Lower,
        step: "mean wait plus run time of the jobs started so far",
    },
    Metric {
        name: "utilisation",
        unit: "fraction",
        better: Better::Higher,
        step: "processor-seconds of the jobs started so far / (processors x their makespan)",
    },
    Metric {
        name: "makespan_s",
        unit: "s",
        better: Better::Lower,
        step: "from the first submission to the last end among the jobs started so far",
    },
    Metric {
        name: "jobs_started",
        unit: "count",
        better: Better::Neither,
        step: "jobs of the window started so far",
    },
];
pub const METRIC_NAMES: [&str; 6] = metric_names(&METRICS);

/// Logs shipped in the binary: name, gzip bytes.
const BUILTIN_LOGS: [(&str, &[u8]); 3] = [
    (
        "builtin:lublin_256",
        include_bytes!("../../data/lublin_256.swf.gz"),
    ),
    (
        "builtin:lublin_256_new2",
        include_bytes!("../../data/lublin_256_new2.swf.gz"),
    ),
    (
        "builtin:nasa_ipsc",
        include_bytes!("../../data/NASA-iPSC-1993-3.1-cln_part1.swf.gz"),
    ),
];

/// Loads the log named by `trace` (a builtin name or a file path).
pub fn load_log(trace: &str, options: SwfOptions) -> Result<SwfLog, EnvError> {
    match BUILTIN_LOGS.iter().find(|(name, _)| *name == trace) {
        Some((name, bytes)) => swf::parse(input::from_bytes(bytes)?, name, options),
        None if trace.starts_with("builtin:") => Err(EnvError::config(format!(
            "trace = `{trace}`: unknown builtin log; known: {}",
            BUILTIN_LOGS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        None => swf::read(std::path::Path::new(trace), options),
    }
}

/// A queued job as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueuedJob {
    /// The job's number in the log (SWF field 1).
    pub log_id: i64,
    /// Submit time, s since the window's first submission.
    pub submit_s: i64,
    /// Submit time in the log's own clock (the window's first submission plus `submit_s`).
    pub log_submit_s: i64,
    pub wait_s: i64,
    pub requested_s: i64,
    pub procs: u32,
    pub fits_now: bool,
}

impl QueuedJob {
    /// `job` (number `log_id` in the log) queued at `now_s` with `free_procs` processors free,
    /// in a window whose first submission is `origin_s` in the log's clock.
    pub fn at(log_id: i64, job: &Job, origin_s: i64, now_s: i64, free_procs: u32) -> Self {
        Self {
            log_id,
            submit_s: job.submit,
            log_submit_s: origin_s.saturating_add(job.submit),
            wait_s: now_s.saturating_sub(job.submit),
            requested_s: job.requested,
            procs: job.procs,
            fits_now: job.procs <= free_procs,
        }
    }

    /// The job as a scheduler knows it: running for its requested time.
    pub fn as_requested(&self) -> Job {
        Job {
            submit: self.submit_s,
            run: self.requested_s,
            requested: self.requested_s,
            procs: self.procs,
        }
    }
}

/// A running job as a scheduler knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunningJob {
    /// Start plus requested time, s since the window's first submission (the job may end
    /// earlier).
    pub requested_end_s: i64,
    pub procs: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchObs {
    /// s since the window's first submission.
    pub now_s: i64,
    pub free_procs: u32,
    pub total_procs: u32,
    pub queue_len: usize,
    pub running_jobs: usize,
    /// Jobs of the window not started yet (queued or still to arrive).
    pub jobs_left: usize,
    /// Every queued job, oldest first: action `i` picks `queue[i]`.
    pub queue: Vec<QueuedJob>,
    /// How many of them a learned policy sees (`visible()`).
    pub visible_jobs: usize,
    /// Every running job, in no particular order.
    pub running: Vec<RunningJob>,
}

impl BatchObs {
    /// The queued jobs a learned policy sees and may pick: the first `visible_jobs`.
    pub fn visible(&self) -> &[QueuedJob] {
        &self.queue[..self.queue.len().min(self.visible_jobs)]
    }
}

#[derive(Debug, Clone)]
pub struct BatchScenario {
    config: BatchConfig,
    log: Arc<SwfLog>,
    space: Space,
    spec: FeatureSpec,
    sim: Option<Simulation>,
    /// Log time of the current window's first submission.
    origin_s: i64,
    /// Index in the log of the episode window's first job.
    window_first: usize,
    mask: Vec<bool>,
    done: bool,
    /// The current episode's schedule metrics so far.
    metrics: RunningMetrics,
}

impl BatchScenario {
    pub fn new(config: BatchConfig) -> Result<Self, EnvError> {
        config.validate().map_err(EnvError::Config)?;
        let options = SwfOptions {
            lenient: config.lenient,
            machine_procs: (config.processors > 0).then_some(config.processors),
        };
        let log = load_log(&config.trace, options)?;
        Self::with_log(config, Arc::new(log))
    }

    /// A scenario over an already loaded log (shared between copies).
    pub fn with_log(config: BatchConfig, log: Arc<SwfLog>) -> Result<Self, EnvError> {
        config.validate().map_err(EnvError::Config)?;
        if log.jobs.len() < config.window_jobs {
            return Err(EnvError::config(format!(
                "window_jobs = {}, but {} has only {} usable jobs",
                config.window_jobs,
                log.source,
                log.jobs.len()
            )));
        }
        let needed = 2 * config.window_jobs + 2;
        if config.window_draw() == Convention::Rlscheduler && log.jobs.len() < needed {
            return Err(EnvError::config(format!(
                "window_draw = \"rlscheduler\" with window_jobs = {} needs a log of at least {needed} jobs; {} has {}",
                config.window_jobs,
                log.source,
                log.jobs.len()
            )));
        }
        let k = config.visible_jobs;
        Ok(Self {
            space: Space::Discrete { n: k },
            spec: feature_spec(k, config.observe_start, config.observe_log),
            mask: vec![false; k],
            sim: None,
            origin_s: 0,
            window_first: 0,
            done: false,
            metrics: RunningMetrics::default(),
            log,
            config,
        })
    }

    pub fn config(&self) -> &BatchConfig {
        &self.config
    }

    pub fn log(&self) -> &SwfLog {
        &self.log
    }

    /// The simulation of the current episode (after `reset`).
    pub fn simulation(&self) -> Option<&Simulation> {
        self.sim.as_ref()
    }

    fn observation(&self) -> BatchObs {
        let Some(sim) = &self.sim else {
            return BatchObs {
                now_s: 0,
                free_procs: 0,
                total_procs: 0,
                queue_len: 0,
                running_jobs: 0,
                jobs_left: 0,
                queue: Vec::new(),
                visible_jobs: self.config.visible_jobs,
                running: Vec::new(),
            };
        };
        let now = sim.now();
        let queue = sim
            .queue()
            .iter()
            .map(|&j| {
                let log_id = self
                    .log
                    .jobs
                    .get(self.window_first + j)
                    .map_or(-1, |l| l.id);
                QueuedJob::at(log_id, &sim.jobs()[j], self.origin_s, now, sim.free_procs())
            })
            .collect();
        let running: Vec<RunningJob> = sim
            .running_requested_ends()
            .map(|(requested_end_s, procs)| RunningJob {
                requested_end_s,
                procs,
            })
            .collect();
        BatchObs {
            now_s: now,
            free_procs: sim.free_procs(),
            total_procs: sim.total_procs(),
            queue_len: sim.queue().len(),
            running_jobs: sim.running_jobs(),
            jobs_left: sim.jobs().len() - sim.started_jobs(),
            queue,
            visible_jobs: self.config.visible_jobs,
            running,
        }
    }

    fn update_mask(&mut self) {
        let visible = self
            .sim
            .as_ref()
            .map_or(0, |s| s.queue().len().min(self.config.visible_jobs));
        self.mask
            .iter_mut()
            .enumerate()
            .for_each(|(i, m)| *m = i < visible);
    }

    fn info(&self, m: &ScheduleMetrics) -> Info {
        let Some(sim) = &self.sim else {
            return Info::default();
        };
        Info {
            values: vec![
                m.bounded_slowdown,
                m.wait_s,
                m.turnaround_s,
                m.utilisation,
                m.makespan_s,
                sim.started_jobs() as f64,
            ],
        }
    }

    /// The configured reward metric of `m`, signed so that higher is better, in hours where it
    /// is a time.
    fn reward_of(&self, m: &ScheduleMetrics) -> f64 {
        match self.config.reward {
            RewardMetric::BoundedSlowdown => -m.bounded_slowdown,
            RewardMetric::Wait => -m.wait_s / 3600.0,
            RewardMetric::Turnaround => -m.turnaround_s / 3600.0,
            RewardMetric::Utilisation => m.utilisation,
            RewardMetric::Makespan => -m.makespan_s / 3600.0,
        }
    }
}

impl Scenario for BatchScenario {
    type Obs = BatchObs;
    /// The episode's whole simulation: the arrivals to come and the actual run times.
    type OracleView = Option<Simulation>;

    fn name(&self) -> &'static str {
        "batch"
    }

    fn action_space(&self) -> &Space {
        &self.space
    }

    fn feature_spec(&self) -> &FeatureSpec {
        &self.spec
    }

    fn metric_names(&self) -> &'static [&'static str] {
        &METRIC_NAMES
    }

    fn metric_aggregation(&self) -> MetricAggregation {
        MetricAggregation::Final
    }

    fn action_mask(&self) -> Option<&[bool]> {
        Some(&self.mask)
    }

    fn evaluation_seed(&self, seed: u64, episode: usize) -> u64 {
        match self.config.window_draw() {
            Convention::Planetgym => crate::rng::evaluation_seed(seed, episode),
            Convention::Rlscheduler => rlscheduler::evaluation_seed(seed, episode),
        }
    }

    fn check_action(&self, action: &Action) -> Result<(), ActionError> {
        // Heuristics may pick any queued job, beyond the learned policies' visible window.
        let queued = self.sim.as_ref().map_or(0, |s| s.queue().len());
        match action {
            Action::Discrete(i) if *i >= self.config.visible_jobs && *i < queued => Ok(()),
            _ => self
                .action_space()
                .check(action, self.action_mask(), &|_| String::new()),
        }
    }

    fn reset(&mut self, seed: u64) -> BatchObs {
        let n = self.config.window_jobs;
        let first = match self.config.window_draw() {
            Convention::Planetgym => Rng::new(seed).below(self.log.jobs.len() - n + 1),
            Convention::Rlscheduler => {
                let (seed, skip) = rlscheduler::decode_seed(seed);
                let mut rng = rlscheduler::GymNumpyRng::new(seed);
                // `with_log` checked that the log holds RLScheduler's windows.
                (0..=skip)
                    .map(|_| rng.window_start(self.log.jobs.len(), n).unwrap_or(0))
                    .last()
                    .unwrap_or(0)
            }
        };
        let window = &self.log.jobs[first..first + n];
        let t0 = window[0].submit;
        self.origin_s = t0;
        self.window_first = first;
        let time = episode_time_scale(self.config.time_scale, seed);
        let scaled = |s: i64| s as f64 * time;
        let jobs = window
            .iter()
            .map(|j| Job {
                submit: (scaled(j.submit - t0) / self.config.load_scale).round() as i64,
                run: scaled(j.run).round() as i64,
                requested: scaled(j.requested_time).round() as i64,
                procs: j.procs,
            })
            .collect();
        let procs = self.log.machine_procs;
        let mut sim = match self.config.simulator() {
            Convention::Planetgym => Simulation::new(jobs, procs, self.config.backfill),
            Convention::Rlscheduler => Simulation::rlscheduler(jobs, procs, self.config.backfill),
        };
        sim.advance_to_decision();
        self.sim = Some(sim);
        self.done = false;
        self.metrics = RunningMetrics::default();
        self.update_mask();
        self.observation()
    }

    fn step(&mut self, action: &Action) -> Result<Transition<BatchObs>, EnvError> {
        if self.sim.is_none() {
            return Err(EnvError::NotReset);
        }
        if self.done {
            return Err(EnvError::EpisodeOver);
        }
        self.check_action(action)?;
        let (Action::Discrete(position), Some(sim)) = (action, self.sim.as_mut()) else {
            unreachable!("check_action accepts only discrete actions for a discrete space")
        };
        sim.schedule(*position);
        self.done = !sim.advance_to_decision();
        let before = self.metrics.job_totals();
        let metrics = self
            .metrics
            .update(sim, self.config.bounded_slowdown_threshold_s);
        let reward = if self.config.reward_per_job {
            let after = self.metrics.job_totals();
            let jobs = sim.jobs().len().max(1) as f64;
            // Validation admits reward_per_job only for the per-job averages, which are all
            // the totals hold.
            self.reward_of(&after.minus(&before).as_metrics()) / jobs
        } else if self.done {
            self.reward_of(&metrics)
        } else {
            0.0
        };
        self.update_mask();
        Ok(Transition {
            obs: self.observation(),
            reward,
            terminated: self.done,
            truncated: false,
            info: self.info(&metrics),
        })
    }

    fn encode(&self, obs: &BatchObs, out: &mut [f32]) {
        let p = f64::from(obs.total_procs.max(1));
        let k = self.config.visible_jobs;
        let global = [
            f64::from(obs.free_procs) / p,
            obs.queue_len as f64 / k as f64,
            obs.running_jobs as f64 / p,
            obs.jobs_left as f64 / self.config.window_jobs as f64,
        ];
        out[..GLOBAL_FEATURES]
            .iter_mut()
            .zip(global)
            .for_each(|(o, v)| *o = v as f32);
        let per_job = job_features(self.config.observe_start, self.config.observe_log);
        let rows = &mut out[GLOBAL_FEATURES..GLOBAL_FEATURES + k * per_job];
        rows.fill(0.0);
        let starts = self.config.observe_start.then(|| FreeProcessors::of(obs));
        let logs = self.config.observe_log;
        for (row, job) in rows.chunks_exact_mut(per_job).zip(obs.visible()) {
            let start_s = starts.as_ref().map(|s| s.wait_for(job.procs));
            let raw = [
                job.wait_s as f64 / 3600.0,
                job.requested_s as f64 / 3600.0,
                f64::from(job.procs) / p,
                if job.fits_now { 1.0 } else { 0.0 },
            ];
            let log_values = logs.then(|| {
                [
                    ln_minutes(job.wait_s),
                    ln_minutes(job.requested_s),
                    f64::from(job.procs.max(1)).ln(),
                ]
            });
            // In `feature_spec`'s order: raw, earliest start, their logs, the start's log.
            let values = raw
                .into_iter()
                .chain(start_s.map(|s| s as f64 / 3600.0))
                .chain(log_values.into_iter().flatten())
                .chain(start_s.filter(|_| logs).map(ln_minutes));
            row.iter_mut().zip(values).for_each(|(o, v)| *o = v as f32);
        }
        let mask = &mut out[GLOBAL_FEATURES + k * per_job..];
        mask.iter_mut()
            .enumerate()
            .for_each(|(i, m)| *m = if i < obs.visible().len() { 1.0 } else { 0.0 });
    }

    fn oracle_view(&self) -> &Option<Simulation> {
        &self.sim
    }

    /// Row `i` is the `i`-th visible queued job, named by its number in the log.
    fn scene(&self) -> Result<crate::Scene, EnvError> {
        let sim = self.sim.as_ref().ok_or(EnvError::NotReset)?;
        let title = format!(
            "batch: jobs {}-{} of the log, {}/{} started, {} queued",
            self.window_first,
            self.window_first + sim.jobs().len() - 1,
            sim.started_jobs(),
            sim.jobs().len(),
            sim.queue().len()
        );
        let chart = gantt::gantt(sim, self.window_first as u64, "processors over time".into());
        Ok(crate::Scene {
            title,
            panels: vec![crate::scene::Panel::Gantt(chart)],
        })
    }

    fn entity_labels(&self, obs: &BatchObs) -> Vec<String> {
        let mut labels: Vec<String> = obs
            .visible()
            .iter()
            .map(|job| format!("job {}", job.log_id))
            .collect();
        labels.resize(self.config.visible_jobs, String::new());
        labels
    }
}

const GLOBAL_FEATURES: usize = 4;
const JOB_FEATURES: usize = 4;

/// Features per visible job: the four always there, then the optional ones in the order
/// `encode` writes them.
fn job_features(observe_start: bool, observe_log: bool) -> usize {
    let logs = if observe_log {
        3 + usize::from(observe_start)
    } else {
        0
    };
    JOB_FEATURES + usize::from(observe_start) + logs
}

/// ln(1 + seconds / 60): 0 for none, about 7.3 for a day, defined for any wait or runtime.
fn ln_minutes(seconds: i64) -> f64 {
    (seconds.max(0) as f64 / 60.0).ln_1p()
}

/// The factor an episode of `seed` multiplies its times by: drawn log-uniformly in `[low,
/// high]` from its own stream of the seed (the window draw is unchanged), exactly `low` when the
/// two are equal.
fn episode_time_scale([low, high]: [f64; 2], seed: u64) -> f64 {
    if low == high {
        return low;
    }
    let mut rng = Rng::new(crate::rng::derive_seed(seed, &[0x71AE]));
    rng.uniform_in(low.ln(), high.ln()).exp()
}

fn feature_spec(visible_jobs: usize, observe_start: bool, observe_log: bool) -> FeatureSpec {
    let mut entity = vec![
        Feature::new("wait", "s", 3600.0),
        Feature::new("requested_time", "s", 3600.0),
        Feature::new("processors", "fraction of the machine", 1.0),
        Feature::new("fits_now", "0/1", 1.0),
    ];
    if observe_start {
        entity.push(Feature::new("earliest_start", "s from now", 3600.0));
    }
    if observe_log {
        entity.push(Feature::new("ln_wait", "ln(1 + minutes)", 1.0));
        entity.push(Feature::new("ln_requested_time", "ln(1 + minutes)", 1.0));
        entity.push(Feature::new("ln_processors", "ln(processors)", 1.0));
        if observe_start {
            entity.push(Feature::new(
                "ln_earliest_start",
                "ln(1 + minutes from now)",
                1.0,
            ));
        }
    }
    FeatureSpec {
        scenario: "batch".into(),
        layout: Layout::Entity {
            global: vec![
                Feature::new("free_processors", "fraction of the machine", 1.0),
                Feature::new("queue_length", "jobs / visible_jobs", 1.0),
                Feature::new("running_jobs", "jobs / processors", 1.0),
                Feature::new("jobs_left", "fraction of the window", 1.0),
            ],
            entity,
            entities: visible_jobs,
        },
    }
}

/// When processors free up, by the running jobs' requested ends: a job's earliest start if it
/// were chosen next.
struct FreeProcessors {
    free_now: u32,
    /// (requested end - now, processors free from then on), by end.
    later: Vec<(i64, u32)>,
}

impl FreeProcessors {
    fn of(obs: &BatchObs) -> Self {
        let mut ends: Vec<(i64, u32)> = obs
            .running
            .iter()
            .map(|r| (r.requested_end_s.saturating_sub(obs.now_s).max(0), r.procs))
            .collect();
        ends.sort_unstable();
        let mut free = obs.free_procs;
        let later = ends
            .into_iter()
            .map(|(delay, procs)| {
                free = free.saturating_add(procs);
                (delay, free)
            })
            .collect();
        Self {
            free_now: obs.free_procs,
            later,
        }
    }

    /// Seconds until `procs` processors are free (0 when they are now).
    fn wait_for(&self, procs: u32) -> i64 {
        if procs <= self.free_now {
            return 0;
        }
        let at = self.later.partition_point(|&(_, free)| free < procs);
        self.later.get(at).map_or(0, |&(delay, _)| delay)
    }
}
