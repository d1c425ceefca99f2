//! Event-driven cluster simulation: arrivals, completions, a chosen job waiting for processors,
//! and backfilling. Time jumps from event to event; there is no per-second loop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A job of an episode, times in seconds relative to the window's first submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    pub submit: i64,
    /// Actual run time (> 0): decides when the job ends.
    pub run: i64,
    /// Requested run time (> 0): what the scheduler knows, used for backfilling decisions.
    pub requested: i64,
    pub procs: u32,
}

/// Averages over the jobs of an episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduleMetrics {
    pub bounded_slowdown: f64,
    pub wait_s: f64,
    pub turnaround_s: f64,
    pub utilisation: f64,
    pub makespan_s: f64,
}

/// Which queued jobs may start while the chosen job waits for processors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backfill {
    /// None: the chosen job holds everything back.
    #[default]
    Off,
    /// EASY, reservation recomputed at every event: a job that fits now starts if it ends by
    /// the chosen job's reservation or only uses processors the chosen job will not need.
    Easy,
    /// RLScheduler's rule: the reservation (shadow) is computed once, when the chosen job is
    /// found not to fit; a job that fits now starts only if `now + requested < shadow`.
    RlScheduler,
}

/// `true` is EASY, the backfilling of the `backfill = true` config.
impl From<bool> for Backfill {
    fn from(on: bool) -> Self {
        if on { Self::Easy } else { Self::Off }
    }
}

/// A running job in the completion heap: ordered by (end, start order), which is unique; it
/// carries what schedulers read of it, so that reading every running job touches only the heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    end: i64,
    order: usize,
    job: usize,
    requested_end: i64,
    procs: u32,
}

#[derive(Debug, Clone)]
pub struct Simulation {
    jobs: Vec<Job>,
    total_procs: u32,
    free_procs: u32,
    backfill: Backfill,
    /// RLScheduler's event order: one event at a time (see `rlscheduler`).
    one_event_at_a_time: bool,
    now: i64,
    next_arrival: usize,
    /// Indices of queued jobs, oldest first.
    queue: Vec<usize>,
    /// Running jobs, earliest end first; jobs ending together
    /// leave in the order they started.
    running: BinaryHeap<Reverse<InFlight>>,
    start: Vec<Option<i64>>,
    /// Started jobs, in the order they started.
    start_order: Vec<usize>,
}

impl Simulation {
    /// A cluster of `total_procs` processors, empty at the first submission. Every job must
    /// fit (`procs <= total_procs`) and `jobs` must be sorted by submit time. All events of a
    /// second happen together: a decision sees every job submitted and every processor freed
    /// by then.
    pub fn new(jobs: Vec<Job>, total_procs: u32, backfill: impl Into<Backfill>) -> Self {
        let mut sim = Self::empty(jobs, total_procs, backfill.into(), false);
        sim.advance_to(sim.now);
        sim
    }

    /// RLScheduler's simulator (`HPCSimPickJobs.py`), event for event: backfilling is
    /// `Backfill::RlScheduler` or off, and events happen one at a time: the next arrival if it
    /// is submitted no later than the next completion, else that completion (jobs ending
    /// together in start order). A decision is due as soon as one job is queued, so it may see
    /// only the first of several jobs submitted in the same second; a waiting chosen job starts
    /// at the first event after which it fits; backfilling is tried after every event.
    pub fn rlscheduler(jobs: Vec<Job>, total_procs: u32, backfill: bool) -> Self {
        let backfill = if backfill {
            Backfill::RlScheduler
        } else {
            Backfill::Off
        };
        let mut sim = Self::empty(jobs, total_procs, backfill, true);
        sim.next_single_event();
        sim
    }

    fn empty(
        jobs: Vec<Job>,
        total_procs: u32,
        backfill: Backfill,
        one_event_at_a_time: bool,
    ) -> Self {
        let n = jobs.len();
        Self {
            now: jobs.first().map_or(0, |j| j.submit),
            jobs,
            total_procs,
            free_procs: total_procs,
            backfill,
            one_event_at_a_time,
            next_arrival: 0,
            queue: Vec::new(),
            running: BinaryHeap::new(),
            start: vec![None; n],
            start_order: Vec::with_capacity(n),
        }
    }

    /// The simulation a scheduler can build from what it knows at `now`: `running` jobs as
    /// (requested end, processors), each taken to end at its requested end (at least a second
    /// from now), `queued` jobs (oldest first; `run` is the scheduler's estimate) and the jobs
    /// it expects to `arrive` (sorted by submit time, all after `now`). Lookahead search runs it
    /// forward; its queue positions are `queued`'s, and job `running.len() + k` is `queued[k]`
    /// (then the arrivals).
    pub fn resume(
        now: i64,
        total_procs: u32,
        backfill: Backfill,
        running: &[(i64, u32)],
        queued: &[Job],
        arriving: &[Job],
    ) -> Self {
        let in_flight = running.iter().map(|&(end, procs)| {
            let left = end.saturating_sub(now).max(1);
            Job {
                submit: now,
                run: left,
                requested: left,
                procs,
            }
        });
        let jobs: Vec<Job> = in_flight
            .chain(queued.iter().copied())
            .chain(arriving.iter().copied())
            .collect();
        let mut sim = Self::empty(jobs, total_procs, backfill, false);
        sim.now = now;
        for j in 0..running.len() {
            sim.start_job(j);
        }
        sim.next_arrival = running.len() + queued.len();
        sim.queue = (running.len()..sim.next_arrival).collect();
        sim
    }

    /// Every running job as (actual end, processors): what only an oracle knows.
    pub fn running_ends(&self) -> impl Iterator<Item = (i64, u32)> + '_ {
        self.running.iter().map(|Reverse(r)| (r.end, r.procs))
    }

    /// The jobs still to be submitted, in submit order.
    pub fn upcoming(&self) -> &[Job] {
        &self.jobs[self.next_arrival..]
    }

    /// Every running job as (requested end, processors), in no particular order: what a
    /// scheduler knows of when processors free up.
    pub fn running_requested_ends(&self) -> impl Iterator<Item = (i64, u32)> + '_ {
        self.running
            .iter()
            .map(|Reverse(r)| (r.requested_end, r.procs))
    }

    pub fn now(&self) -> i64 {
        self.now
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    pub fn total_procs(&self) -> u32 {
        self.total_procs
    }

    pub fn free_procs(&self) -> u32 {
        self.free_procs
    }

    /// Queued jobs (indices into `jobs()`), oldest first.
    pub fn queue(&self) -> &[usize] {
        &self.queue
    }

    pub fn running_jobs(&self) -> usize {
        self.running.len()
    }

    pub fn started_jobs(&self) -> usize {
        self.start_order.len()
    }

    /// Started jobs, in the order they started.
    pub fn start_order(&self) -> &[usize] {
        &self.start_order
    }

    /// Start time of job `j`, once started.
    pub fn start_time(&self, j: usize) -> Option<i64> {
        self.start[j]
    }

    pub fn all_started(&self) -> bool {
        self.start_order.len() == self.jobs.len()
    }

    /// Moves time forward until a job is queued (a decision is due) or every job has started.
    /// Returns whether a decision is due.
    pub fn advance_to_decision(&mut self) -> bool {
        loop {
            if !self.queue.is_empty() {
                return true;
            }
            if self.one_event_at_a_time {
                if self.next_arrival == self.jobs.len() {
                    return false;
                }
                self.next_single_event();
                continue;
            }
            match self.next_event() {
                Some(t) if !self.all_started() => self.advance_to(t),
                _ => return false,
            }
        }
    }

    /// Runs the queued job at `position` next: it starts as soon as it fits; meanwhile no other
    /// job starts, except by backfilling.
    pub fn schedule(&mut self, position: usize) {
        let chosen = self.queue.remove(position);
        // RLScheduler fixes the reservation once, when the chosen job is found not to fit.
        let shadow = (self.backfill == Backfill::RlScheduler
            && self.jobs[chosen].procs > self.free_procs)
            .then(|| self.shadow_time(chosen));
        while self.jobs[chosen].procs > self.free_procs {
            match (self.backfill, shadow) {
                (Backfill::Easy, _) => self.backfill_around(chosen),
                (Backfill::RlScheduler, Some(shadow)) => self.backfill_before(shadow),
                _ => {}
            }
            // Some job is running (the chosen one fits an empty machine), so an event exists.
            if self.one_event_at_a_time {
                if !self.next_single_event() {
                    break;
                }
            } else {
                let Some(t) = self.next_event() else { break };
                self.advance_to(t);
            }
        }
        self.start_job(chosen);
    }

    /// RLScheduler's reservation for `chosen`: walking running jobs by requested end, the end
    /// at which enough processors would be free (no clamp to now: a job ending now but not yet
    /// released gives a shadow of now, which backfills nothing).
    fn shadow_time(&self, chosen: usize) -> i64 {
        let mut ends: Vec<(i64, u32)> = self.running_requested_ends().collect();
        ends.sort_unstable();
        let (mut free, mut shadow) = (self.free_procs, self.now);
        for (end, procs) in ends {
            free += procs;
            shadow = end;
            if free >= self.jobs[chosen].procs {
                break;
            }
        }
        shadow
    }

    /// RLScheduler's backfilling pass: each queued job (oldest first) starts now if it fits
    /// and its requested end is strictly before `shadow`.
    fn backfill_before(&mut self, shadow: i64) {
        let mut i = 0;
        while i < self.queue.len() {
            let j = self.queue[i];
            let job = self.jobs[j];
            if job.procs <= self.free_procs && self.now.saturating_add(job.requested) < shadow {
                self.queue.remove(i);
                self.start_job(j);
            } else {
                i += 1;
            }
        }
    }

    /// EASY: the chosen job's reservation is the earliest time enough processors are free,
    /// assuming running jobs end at their requested times. A queued job (oldest first) may
    /// start now if it fits and either ends by then or only uses processors the chosen job
    /// will not need.
    fn backfill_around(&mut self, chosen: usize) {
        let need = self.jobs[chosen].procs;
        let mut ends: Vec<(i64, u32)> = self
            .running_requested_ends()
            .map(|(end, procs)| (end.max(self.now), procs))
            .collect();
        ends.sort_unstable();
        let (mut available, mut shadow) = (self.free_procs, self.now);
        for (end, procs) in ends {
            if available >= need {
                break;
            }
            available += procs;
            shadow = end;
        }
        let mut extra = available.saturating_sub(need);
        let mut i = 0;
        while i < self.queue.len() {
            let j = self.queue[i];
            let job = self.jobs[j];
            let ends_in_time = self.now.saturating_add(job.requested) <= shadow;
            if job.procs <= self.free_procs && (ends_in_time || job.procs <= extra) {
                if !ends_in_time {
                    extra -= job.procs;
                }
                self.queue.remove(i);
                self.start_job(j);
            } else {
                i += 1;
            }
        }
    }

    fn start_job(&mut self, j: usize) {
        // Saturating: a resumed simulation's running jobs come from a caller's observation.
        self.free_procs = self.free_procs.saturating_sub(self.jobs[j].procs);
        self.start[j] = Some(self.now);
        self.start_order.push(j);
        let job = self.jobs[j];
        self.running.push(Reverse(InFlight {
            end: self.now.saturating_add(job.run),
            order: self.start_order.len(),
            job: j,
            requested_end: self.now.saturating_add(job.requested),
            procs: job.procs,
        }));
    }

    /// One event in RLScheduler's order: queue the next arrival if it is submitted no later
    /// than the next completion, else release that completion. Returns whether one happened.
    fn next_single_event(&mut self) -> bool {
        let arrival = self.jobs.get(self.next_arrival).map(|j| j.submit);
        let completion = self.running.peek().map(|Reverse(r)| r.end);
        if let Some(a) = arrival.filter(|&a| completion.is_none_or(|c| a <= c)) {
            self.now = self.now.max(a);
            self.queue.push(self.next_arrival);
            self.next_arrival += 1;
        } else if let Some(Reverse(r)) = self.running.pop() {
            self.now = self.now.max(r.end);
            self.free_procs += r.procs;
        } else {
            return false;
        }
        true
    }

    fn next_event(&self) -> Option<i64> {
        let arrival = self.jobs.get(self.next_arrival).map(|j| j.submit);
        let completion = self.running.peek().map(|Reverse(r)| r.end);
        match (arrival, completion) {
            (Some(a), Some(c)) => Some(a.min(c)),
            (a, c) => a.or(c),
        }
    }

    /// Sets the clock to `t`, releasing jobs that end by then and queueing jobs submitted by then.
    fn advance_to(&mut self, t: i64) {
        self.now = self.now.max(t);
        while let Some(Reverse(r)) = self.running.peek().copied() {
            if r.end > self.now {
                break;
            }
            self.running.pop();
            self.free_procs += r.procs;
        }
        while self
            .jobs
            .get(self.next_arrival)
            .is_some_and(|j| j.submit <= self.now)
        {
            self.queue.push(self.next_arrival);
            self.next_arrival += 1;
        }
    }

    /// Metrics over the started jobs (all of them at the end of an episode).
    pub fn metrics(&self, bsld_threshold_s: f64) -> ScheduleMetrics {
        RunningMetrics::default().update(self, bsld_threshold_s)
    }
}

/// The sums behind `ScheduleMetrics`, brought up to date with the jobs started since the last
/// update (in start order): O(new starts) per step instead of a pass over the whole window,
/// which was most of a step on 1024-job windows.
#[derive(Debug, Clone)]
pub struct RunningMetrics {
    counted: usize,
    bsld: f64,
    wait: f64,
    turnaround: f64,
    work: f64,
    first: i64,
    last: i64,
}

impl Default for RunningMetrics {
    fn default() -> Self {
        Self {
            counted: 0,
            bsld: 0.0,
            wait: 0.0,
            turnaround: 0.0,
            work: 0.0,
            first: i64::MAX,
            last: i64::MIN,
        }
    }
}

/// Per-job metrics summed over the jobs started so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobTotals {
    pub bounded_slowdown: f64,
    pub wait_s: f64,
    pub turnaround_s: f64,
}

impl JobTotals {
    pub fn minus(&self, earlier: &Self) -> Self {
        Self {
            bounded_slowdown: self.bounded_slowdown - earlier.bounded_slowdown,
            wait_s: self.wait_s - earlier.wait_s,
            turnaround_s: self.turnaround_s - earlier.turnaround_s,
        }
    }

    /// The totals in the metrics' fields; utilisation and makespan, not sums over jobs, are 0.
    pub fn as_metrics(&self) -> ScheduleMetrics {
        ScheduleMetrics {
            bounded_slowdown: self.bounded_slowdown,
            wait_s: self.wait_s,
            turnaround_s: self.turnaround_s,
            utilisation: 0.0,
            makespan_s: 0.0,
        }
    }
}

impl RunningMetrics {
    pub fn job_totals(&self) -> JobTotals {
        JobTotals {
            bounded_slowdown: self.bsld,
            wait_s: self.wait,
            turnaround_s: self.turnaround,
        }
    }

    /// The metrics of `sim` (the simulation every earlier update saw, further on).
    pub fn update(&mut self, sim: &Simulation, bsld_threshold_s: f64) -> ScheduleMetrics {
        for &j in &sim.start_order[self.counted.min(sim.start_order.len())..] {
            let (job, start) = (&sim.jobs[j], sim.start[j].unwrap_or(sim.now));
            let (w, r) = ((start - job.submit) as f64, job.run as f64);
            self.bsld += ((w + r) / r.max(bsld_threshold_s)).max(1.0);
            self.wait += w;
            self.turnaround += w + r;
            self.work += r * f64::from(job.procs);
            self.first = self.first.min(job.submit);
            self.last = self.last.max(start.saturating_add(job.run));
        }
        self.counted = sim.start_order.len();
        if self.counted == 0 {
            return ScheduleMetrics {
                bounded_slowdown: 0.0,
                wait_s: 0.0,
                turnaround_s: 0.0,
                utilisation: 0.0,
                makespan_s: 0.0,
            };
        }
        let makespan = (self.last - self.first).max(1) as f64;
        let n = self.counted as f64;
        ScheduleMetrics {
            bounded_slowdown: self.bsld / n,
            wait_s: self.wait / n,
            turnaround_s: self.turnaround / n,
            utilisation: self.work / (f64::from(sim.total_procs) * makespan),
            makespan_s: makespan,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(submit: i64, run: i64, procs: u32) -> Job {
        Job {
            submit,
            run,
            requested: run,
            procs,
        }
    }

    /// Runs to the end, always picking queue position `pick(queue, sim)`.
    fn run(sim: &mut Simulation, pick: impl Fn(&Simulation) -> usize) -> Vec<i64> {
        while sim.advance_to_decision() {
            let p = pick(sim);
            sim.schedule(p);
        }
        (0..sim.jobs().len())
            .map(|j| sim.start_time(j).unwrap())
            .collect()
    }

    #[test]
    fn a_blocked_choice_holds_everything_back_without_backfilling() {
        // 10 processors. Job 0 (8 procs, 100 s) runs; job 1 needs 5 and must wait until 100;
        // job 2 (1 proc) arrives at 1 but FCFS keeps it behind job 1.
        let jobs = vec![job(0, 100, 8), job(0, 50, 5), job(1, 10, 1)];
        let starts = run(&mut Simulation::new(jobs, 10, false), |_| 0);
        assert_eq!(starts, vec![0, 100, 100]);
    }

    #[test]
    fn easy_backfills_jobs_that_end_before_the_reservation() {
        let jobs = vec![job(0, 100, 8), job(0, 50, 5), job(1, 10, 1)];
        let starts = run(&mut Simulation::new(jobs, 10, true), |_| 0);
        // Job 2 fits in the 2 free processors and ends (11) before job 1's reservation (100).
        assert_eq!(starts, vec![0, 100, 1]);
    }

    #[test]
    fn backfilling_never_delays_the_reservation() {
        // Job 1 (9 procs) is reserved for 100, when 1 processor will be spare. Job 2 fits now
        // but would run past 100 on processors job 1 needs: it must wait.
        let jobs = vec![job(0, 100, 8), job(0, 50, 9), job(1, 500, 2)];
        let starts = run(&mut Simulation::new(jobs.clone(), 10, true), |_| 0);
        assert_eq!(starts, vec![0, 100, 150]);
        // With 4 spare processors at the reservation (13 - 9 = 4 >= 2), it may run past it.
        let starts = run(&mut Simulation::new(jobs, 13, true), |_| 0);
        assert_eq!(starts, vec![0, 100, 1]);
    }

    #[test]
    fn reservation_uses_requested_times_and_jobs_end_at_actual_times() {
        // Job 0 requested 1000 s but ends at 100. Job 2 (requested 500) ends before the
        // reservation computed from the request (1000), so it backfills; job 1 starts at 100.
        let jobs = vec![
            Job {
                submit: 0,
                run: 100,
                requested: 1000,
                procs: 8,
            },
            job(0, 50, 5),
            Job {
                submit: 1,
                run: 500,
                requested: 500,
                procs: 2,
            },
        ];
        let starts = run(&mut Simulation::new(jobs, 10, true), |_| 0);
        assert_eq!(starts, vec![0, 100, 1]);
    }

    #[test]
    fn rlscheduler_backfills_only_jobs_ending_strictly_before_the_shadow() {
        // Job 1 (9 procs) is reserved for 100. Job 2 fits now; EASY lets it run past 100 on the
        // 4 spare processors, RLScheduler has no spare-processor clause.
        let jobs = vec![job(0, 100, 8), job(0, 50, 9), job(1, 500, 2)];
        let starts = run(&mut Simulation::rlscheduler(jobs.clone(), 13, true), |_| 0);
        assert_eq!(starts, vec![0, 100, 100]);
        let starts = run(&mut Simulation::new(jobs, 13, Backfill::RlScheduler), |_| 0);
        assert_eq!(starts, vec![0, 100, 100]);
        // Job 2 would end exactly at the shadow (1 + 99 = 100): EASY backfills it, RLScheduler
        // does not (strict).
        let jobs = vec![job(0, 100, 8), job(0, 50, 5), job(1, 99, 1)];
        let easy = run(
            &mut Simulation::new(jobs.clone(), 10, Backfill::Easy),
            |_| 0,
        );
        let rls = run(&mut Simulation::rlscheduler(jobs, 10, true), |_| 0);
        assert_eq!((easy, rls), (vec![0, 100, 1], vec![0, 100, 100]));
    }

    #[test]
    fn rlscheduler_keeps_the_first_shadow_when_jobs_end_early() {
        // Job 1 requested 1000 s but ends at 10, so job 2's shadow (1000) is stale from then on.
        // RLScheduler still backfills job 3 (ends 220 < 1000), delaying job 2 to 220; EASY
        // recomputes the shadow (100) and holds job 3 back.
        let jobs = vec![
            job(0, 100, 6),
            Job {
                submit: 0,
                run: 10,
                requested: 1000,
                procs: 3,
            },
            job(0, 50, 8),
            job(20, 200, 4),
        ];
        let rls = run(&mut Simulation::rlscheduler(jobs.clone(), 10, true), |_| 0);
        assert_eq!(rls, vec![0, 0, 220, 20]);
        let easy = run(&mut Simulation::new(jobs, 10, true), |_| 0);
        assert_eq!(easy, vec![0, 0, 100, 150]);
    }

    #[test]
    fn rlscheduler_handles_one_event_at_a_time_arrivals_first() {
        // Job 4 arrives at 50, when job 0 ends. RLScheduler queues it first and backfills it
        // into the 2 free processors, then releases job 0; job 3 (5 procs) waits for job 4.
        // Handling both events together lets job 3 take the freed processors first.
        let jobs = vec![
            job(0, 50, 4),
            job(0, 1000, 4),
            job(0, 10, 10),
            job(1, 20, 5),
            job(50, 20, 2),
        ];
        let rls = run(&mut Simulation::rlscheduler(jobs.clone(), 10, true), |_| 0);
        assert_eq!(rls, vec![0, 0, 1000, 70, 50]);
        let batched = run(&mut Simulation::new(jobs, 10, Backfill::RlScheduler), |_| 0);
        assert_eq!(batched, vec![0, 0, 1000, 50, 70]);
    }

    #[test]
    fn rlscheduler_decides_as_soon_as_one_job_is_queued() {
        let jobs = vec![job(0, 10, 4), job(0, 5, 4)];
        let mut sim = Simulation::rlscheduler(jobs.clone(), 8, false);
        assert!(sim.advance_to_decision());
        assert_eq!(sim.queue(), &[0]);
        sim.schedule(0);
        assert!(sim.advance_to_decision());
        assert_eq!((sim.queue(), sim.now()), (&[1][..], 0));
        sim.schedule(0);
        assert!(!sim.advance_to_decision());
        assert_eq!(Simulation::new(jobs, 8, false).queue(), &[0, 1]);
    }

    #[test]
    fn idle_gaps_jump_to_the_next_arrival_and_metrics_are_exact() {
        let jobs = vec![job(0, 5, 4), job(1000, 20, 4)];
        let mut sim = Simulation::new(jobs, 4, false);
        assert_eq!(run(&mut sim, |_| 0), vec![0, 1000]);
        let m = sim.metrics(10.0);
        assert_eq!(m.bounded_slowdown, 1.0);
        assert_eq!(
            (m.wait_s, m.turnaround_s, m.makespan_s),
            (0.0, 12.5, 1020.0)
        );
        assert!((m.utilisation - 25.0 / 1020.0).abs() < 1e-12);
    }

    /// Picks the shortest queued job (a rule that works on both simulations).
    fn shortest(sim: &Simulation) -> usize {
        let q = sim.queue();
        (0..q.len())
            .min_by_key(|&i| (sim.jobs()[q[i]].run, i))
            .unwrap_or(0)
    }

    #[test]
    fn a_resumed_simulation_continues_the_schedule_from_what_is_observed() {
        // Runs are the requests and every job has arrived by the resume point, so the model a
        // scheduler rebuilds from the running jobs' requested ends and the queue is exact.
        for backfill in [Backfill::Off, Backfill::Easy] {
            let jobs: Vec<Job> = (0..12)
                .map(|i| job(i % 3, 10 + (i * 37) % 90, 1 + (i as u32 * 5) % 7))
                .collect();
            let mut real = Simulation::new(jobs.clone(), 8, backfill);
            for _ in 0..3 {
                assert!(real.advance_to_decision());
                let p = shortest(&real);
                real.schedule(p);
            }
            assert!(real.advance_to_decision());
            let running: Vec<(i64, u32)> = real.running_requested_ends().collect();
            let queued: Vec<Job> = real.queue().iter().map(|&j| jobs[j]).collect();
            let mut resumed = Simulation::resume(real.now(), 8, backfill, &running, &queued, &[]);
            assert_eq!(resumed.free_procs(), real.free_procs(), "{backfill:?}");
            let offset = running.len();
            let queued_ids = real.queue().to_vec();
            let real_starts = run(&mut real, shortest);
            let resumed_starts = run(&mut resumed, shortest);
            for (k, &j) in queued_ids.iter().enumerate() {
                assert_eq!(
                    resumed_starts[offset + k],
                    real_starts[j],
                    "{backfill:?} job {j}"
                );
            }
        }
    }

    #[test]
    fn a_resumed_simulation_queues_the_expected_arrivals_in_time() {
        let mut sim = Simulation::resume(
            100,
            4,
            Backfill::Off,
            &[(150, 4)],
            &[job(90, 10, 2)],
            &[job(120, 5, 1)],
        );
        assert_eq!((sim.queue(), sim.free_procs()), (&[1][..], 0));
        // Job 1 waits for the running job's processors; job 2, queued at 120, fits beside it.
        assert_eq!(run(&mut sim, |_| 0), vec![100, 150, 150]);
    }

    #[test]
    fn bounded_slowdown_uses_the_threshold() {
        // Job 1 (run 2 s) waits 100 s: (100 + 2) / max(2, 10) = 10.2.
        let jobs = vec![job(0, 100, 1), job(0, 2, 1)];
        let mut sim = Simulation::new(jobs, 1, false);
        run(&mut sim, |_| 0);
        assert!((sim.metrics(10.0).bounded_slowdown - (1.0 + 10.2) / 2.0).abs() < 1e-12);
    }
}
