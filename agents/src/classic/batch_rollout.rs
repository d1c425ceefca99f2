//! Rollout policy improvement (Bertsekas) on batch: decision-time search with the simulator.
//!
//! For each of the base rule's K best queued jobs, simulate running it next and then following
//! the base rule until every queued and expected job has started; run the job whose lookahead
//! gives the smallest total bounded slowdown (ties go to the base rule's order, so K = 1 is the
//! base rule).
//!
//! It sees only what a deployed scheduler sees: the queue, the running jobs' requested ends and
//! the submissions it has seen so far. Future arrivals are forecast by replaying the last H
//! hours of seen submissions H hours later (none when H = 0); run times are the requested
//! times (exact on the Lublin model logs, whose requests are the run times; an overestimate on
//! real logs). With an exact model (every job known, runs as requested) it is never worse than
//! its base rule, which is sequentially consistent; otherwise that is measured, not promised.

use super::batch::{Conventions, PriorityRule, PriorityScheduler};
use crate::{Oracle, Policy, PolicyError};
use planetgym_env::batch::{Backfill, BatchConfig, BatchObs, Job, QueuedJob, Simulation};
use planetgym_env::{Action, BatchScenario};

/// The most candidates a rollout scheduler may simulate per decision (a union search,
/// `union-rollout-RULE@K`, simulates up to twice its K: the rule's and the policy's).
pub const MAX_CANDIDATES: usize = 64;

/// The longest forecast horizon, h.
pub const MAX_HORIZON_H: u32 = 168;

#[derive(Debug, Clone)]
pub struct RolloutScheduler {
    pub base: PriorityScheduler,
    /// How many of the base rule's best queued jobs are simulated (1..=MAX_CANDIDATES).
    pub candidates: usize,
    /// Seconds of seen submissions replayed as the next arrivals (0: none).
    pub horizon_s: i64,
    /// Submissions seen this episode (in submit order) and their log ids.
    seen: Vec<Job>,
    seen_ids: std::collections::HashSet<i64>,
    /// The backfilling the lookahead simulates (the scenario's).
    pub backfill: Backfill,
    pub bounded_slowdown_threshold_s: f64,
}

impl RolloutScheduler {
    pub fn new(
        rule: PriorityRule,
        candidates: usize,
        horizon_h: u32,
        config: &BatchConfig,
    ) -> Self {
        Self {
            base: PriorityScheduler {
                rule,
                conventions: Conventions::of(config),
            },
            candidates,
            horizon_s: i64::from(horizon_h.min(MAX_HORIZON_H)) * 3600,
            seen: Vec::new(),
            seen_ids: std::collections::HashSet::new(),
            backfill: config.backfill.into(),
            bounded_slowdown_threshold_s: config.bounded_slowdown_threshold_s,
        }
    }

    /// Records the queued jobs not seen before and returns the forecast arrivals: the
    /// submissions of the last `horizon_s` seconds, `horizon_s` later.
    fn forecast(&mut self, obs: &BatchObs) -> Vec<Job> {
        for q in &obs.queue {
            if self.seen_ids.insert(q.log_id) {
                let job = q.as_requested();
                let at = self.seen.partition_point(|s| s.submit <= job.submit);
                self.seen.insert(at, job);
            }
        }
        if self.horizon_s == 0 {
            return Vec::new();
        }
        // Only submissions up to now: a replayed episode must not see its own future.
        let since = obs.now_s.saturating_sub(self.horizon_s);
        let from = self.seen.partition_point(|s| s.submit <= since);
        let to = self.seen.partition_point(|s| s.submit <= obs.now_s);
        self.seen[from..to]
            .iter()
            .map(|s| Job {
                submit: s.submit.saturating_add(self.horizon_s),
                ..*s
            })
            .collect()
    }

    fn score(&self, job: &QueuedJob) -> f64 {
        self.base.rule.score_with(job, self.base.conventions)
    }

    /// Total bounded slowdown of the queued (and expected) jobs when `first` (a queue
    /// position) runs next and the base rule picks every later job. Jobs from `offset` on are
    /// the queue's; `origin` is the log time of submit time 0.
    fn lookahead(&self, mut sim: Simulation, offset: usize, origin: i64, first: usize) -> f64 {
        sim.schedule(first);
        while sim.advance_to_decision() {
            let now = sim.now();
            let position = sim
                .queue()
                .iter()
                .map(|&j| {
                    let job = QueuedJob::at(-1, &sim.jobs()[j], origin, now, sim.free_procs());
                    self.score(&job)
                })
                .enumerate()
                .min_by(|(i, a), (j, b)| a.total_cmp(b).then(i.cmp(j)))
                .map_or(0, |(i, _)| i);
            sim.schedule(position);
        }
        let threshold = self.bounded_slowdown_threshold_s;
        (offset..sim.jobs().len())
            .map(|j| {
                let job = sim.jobs()[j];
                let start = sim.start_time(j).unwrap_or(sim.now());
                let run = job.run as f64;
                (((start - job.submit) as f64 + run) / run.max(threshold)).max(1.0)
            })
            .sum()
    }

    /// The base rule's `candidates` best queue positions, best first.
    pub(super) fn candidates(&self, queue: &[QueuedJob]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..queue.len()).collect();
        order.sort_by(|&i, &j| {
            self.score(&queue[i])
                .total_cmp(&self.score(&queue[j]))
                .then(i.cmp(&j))
        });
        order.truncate(self.candidates.max(1));
        order
    }

    /// The queue position to run next among `candidates` (best first): the one whose
    /// lookahead from the simulation `resume` builds of (running, queued, arriving) costs
    /// least, the first on ties.
    fn search(
        &self,
        obs: &BatchObs,
        candidates: Vec<usize>,
        running: &[(i64, u32)],
        queued: &[Job],
        arriving: &[Job],
    ) -> Result<usize, PolicyError> {
        let (Some(&first), Some(seen)) = (candidates.first(), obs.queue.first()) else {
            return Err(PolicyError::Invalid {
                policy: Policy::name(self),
                message: "asked to act on an empty queue".into(),
            });
        };
        if candidates.len() == 1 {
            return Ok(first);
        }
        let now = Simulation::resume(
            obs.now_s,
            obs.total_procs,
            self.backfill,
            running,
            queued,
            arriving,
        );
        let origin = seen.log_submit_s - seen.submit_s;
        let mut best = (f64::INFINITY, first);
        for c in candidates {
            let cost = self.lookahead(now.clone(), running.len(), origin, c);
            if cost < best.0 {
                best = (cost, c);
            }
        }
        Ok(best.1)
    }

    fn horizon_label(&self) -> String {
        match self.horizon_s {
            0 => String::new(),
            s => format!("+{}h", s / 3600),
        }
    }
}

impl Policy<BatchScenario> for RolloutScheduler {
    fn name(&self) -> String {
        let rule = self.base.rule.name();
        format!("rollout-{rule}@{}{}", self.candidates, self.horizon_label())
    }

    fn reset(&mut self, _episode_seed: u64) {
        self.seen.clear();
        self.seen_ids.clear();
    }

    fn uses_mask(&self) -> bool {
        false
    }

    fn act(&mut self, obs: &BatchObs, _mask: Option<&[bool]>) -> Result<Action, PolicyError> {
        let candidates = self.candidates(&obs.queue);
        self.act_among(obs, candidates).map(Action::Discrete)
    }
}

impl RolloutScheduler {
    /// The fair search's choice among `candidates` (queue positions, best first, ties going
    /// to the earlier), whoever ranked them: the base rule, or a learned policy
    /// ([`super::batch_guided::GuidedRollout`]).
    pub fn act_among(
        &mut self,
        obs: &BatchObs,
        candidates: Vec<usize>,
    ) -> Result<usize, PolicyError> {
        let arriving = self.forecast(obs);
        let running: Vec<(i64, u32)> = obs
            .running
            .iter()
            .map(|r| (r.requested_end_s, r.procs))
            .collect();
        let queued: Vec<Job> = obs.queue.iter().map(QueuedJob::as_requested).collect();
        self.search(obs, candidates, &running, &queued, &arriving)
    }
}

/// The same search with a perfect model, as a bound: the true run times, and the true arrivals
/// of the next `horizon_s` instead of a forecast. Its row tells how much the forecast and the
/// requested times cost the fair search.
#[derive(Debug, Clone)]
pub struct RolloutOracle(pub RolloutScheduler);

impl Oracle<BatchScenario> for RolloutOracle {
    fn name(&self) -> String {
        format!(
            "oracle-{} (sees the next {} h)",
            Policy::name(&self.0),
            self.0.horizon_s / 3600
        )
    }

    fn act(&mut self, obs: &BatchObs, view: &Option<Simulation>) -> Result<Action, PolicyError> {
        let Some(sim) = view else {
            return Err(PolicyError::Invalid {
                policy: Oracle::name(self),
                message: "asked to act before the episode started".into(),
            });
        };
        let running: Vec<(i64, u32)> = sim.running_ends().collect();
        let queued: Vec<Job> = sim.queue().iter().map(|&j| sim.jobs()[j]).collect();
        let until = sim.now().saturating_add(self.0.horizon_s);
        let upcoming = sim.upcoming();
        let arriving = &upcoming[..upcoming.partition_point(|j| j.submit <= until)];
        let candidates = self.0.candidates(&obs.queue);
        let position = self
            .0
            .search(obs, candidates, &running, &queued, arriving)?;
        Ok(Action::Discrete(position))
    }
}
