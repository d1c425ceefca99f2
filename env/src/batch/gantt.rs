//! The schedule as a Gantt chart: which processors each started job holds. The simulation
//! counts free processors without naming them; for the picture each job takes the
//! lowest-numbered processors free when it starts. That is a valid assignment because the
//! simulation starts a job only when enough processors are free.

use super::sim::Simulation;
use crate::scene::{Bar, Gantt};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

const SECONDS_PER_HOUR: f64 = 3600.0;

/// The started jobs of `sim` as bars (hours since the window's first submission); job `j` is
/// coloured by `first_id + j`.
pub fn gantt(sim: &Simulation, first_id: u64, title: String) -> Gantt {
    let mut free = vec![(0, sim.total_procs())];
    // (end, job) of the jobs holding processors, and the processors each holds.
    let mut running = BinaryHeap::new();
    let mut held: Vec<Vec<(u32, u32)>> = vec![Vec::new(); sim.jobs().len()];
    let mut bars = Vec::new();
    for &j in sim.start_order() {
        let (Some(start), job) = (sim.start_time(j), sim.jobs()[j]) else {
            continue;
        };
        while let Some(&Reverse((end, done))) = running.peek() {
            if end > start {
                break;
            }
            running.pop();
            for range in std::mem::take(&mut held[done]) {
                release(&mut free, range);
            }
        }
        held[j] = take_lowest(&mut free, job.procs);
        let end = start.saturating_add(job.run);
        running.push(Reverse((end, j)));
        bars.extend(held[j].iter().map(|&rows| Bar {
            job: first_id + j as u64,
            start: start as f64 / SECONDS_PER_HOUR,
            end: end as f64 / SECONDS_PER_HOUR,
            rows,
        }));
    }
    Gantt {
        title,
        time_label: "hours since the window's first submission".into(),
        rows: sim.total_procs(),
        now: sim.now() as f64 / SECONDS_PER_HOUR,
        bars,
    }
}

/// Takes `n` processors from the lowest free ranges (fewer if fewer are free).
fn take_lowest(free: &mut Vec<(u32, u32)>, mut n: u32) -> Vec<(u32, u32)> {
    let mut taken = Vec::new();
    while n > 0 && !free.is_empty() {
        let (lo, hi) = free[0];
        let k = n.min(hi - lo);
        taken.push((lo, lo + k));
        n -= k;
        if lo + k == hi {
            free.remove(0);
        } else {
            free[0].0 = lo + k;
        }
    }
    taken
}

/// Returns `range` to the sorted, disjoint free ranges, merged with its neighbours.
fn release(free: &mut Vec<(u32, u32)>, range: (u32, u32)) {
    let at = free.partition_point(|r| r.0 < range.0);
    free.insert(at, range);
    if at + 1 < free.len() && free[at].1 == free[at + 1].0 {
        free[at].1 = free[at + 1].1;
        free.remove(at + 1);
    }
    if at > 0 && free[at - 1].1 == free[at].0 {
        free[at - 1].1 = free[at].1;
        free.remove(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::sim::Job;

    #[test]
    fn jobs_hold_free_processors_and_never_overlap() {
        let job = |submit, run, procs| Job {
            submit,
            run,
            requested: run,
            procs,
        };
        let jobs = vec![
            job(0, 100, 3),
            job(0, 50, 4),
            job(10, 200, 2),
            job(60, 30, 3),
        ];
        let mut sim = Simulation::new(jobs, 8, false);
        while sim.advance_to_decision() {
            sim.schedule(0);
        }
        let chart = gantt(&sim, 7, "t".into());
        assert_eq!(chart.rows, 8);
        let procs = |id: u64| -> u32 {
            chart
                .bars
                .iter()
                .filter(|b| b.job == id)
                .map(|b| b.rows.1 - b.rows.0)
                .sum()
        };
        assert_eq!((procs(7), procs(8), procs(9), procs(10)), (3, 4, 2, 3));
        for (i, a) in chart.bars.iter().enumerate() {
            assert!(a.rows.1 <= 8 && a.start < a.end);
            for b in &chart.bars[i + 1..] {
                let in_time = a.start < b.end && b.start < a.end;
                let in_rows = a.rows.0 < b.rows.1 && b.rows.0 < a.rows.1;
                assert!(!(in_time && in_rows), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn released_ranges_merge() {
        let mut free = vec![(0, 2), (6, 8)];
        release(&mut free, (2, 6));
        assert_eq!(free, vec![(0, 8)]);
        assert_eq!(take_lowest(&mut free, 3), vec![(0, 3)]);
        assert_eq!(take_lowest(&mut free, 9), vec![(3, 8)]);
        assert!(free.is_empty());
    }
}
