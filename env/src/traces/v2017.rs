//! Alibaba cluster-trace-v2017 `batch_task`: one row per task of a batch job.
//!
//! Columns: `task_create_time, task_end_time` (s from the trace start; a task may be created
//! before it, and an end before the creation is the trace's mark of a task without an end),
//! `job_id, task_id, instance_num, status` (`Terminated`, `Failed`, `Running`, `Waiting`: the
//! status when the trace was taken), `plan_cpu` (cores x 100 per instance) and `plan_mem`
//! (normalised memory per instance), both empty for tasks never scheduled.

use super::table::{number, read_rows};
use crate::error::EnvError;
use std::io::Read;

/// Latest time (s, either side of the trace start) a task may be created or end: a century.
const MAX_TIME_S: f64 = 100.0 * 366.0 * 86_400.0;
/// Most instances of one task (the trace's largest has 64k).
pub const MAX_INSTANCES: u32 = 10_000_000;
/// Largest planned CPU (cores x 100) or memory per instance: far beyond any machine, so that
/// sums of them stay finite.
pub const MAX_PLAN: f64 = 1e9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Terminated,
    Failed,
    Running,
    Waiting,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchTask {
    pub create_time: f64,
    /// `None` for a task without an end in the trace.
    pub end_time: Option<f64>,
    pub job_id: u64,
    pub task_id: u64,
    pub instances: u32,
    pub status: TaskStatus,
    pub plan_cpu: Option<f64>,
    pub plan_mem: Option<f64>,
}

fn time(value: &str, column: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|t| t.abs() <= MAX_TIME_S)
        .ok_or_else(|| {
            format!("{column} = `{value}` is not a time in s within a century of the trace start")
        })
}

fn plan(value: &str, column: &str) -> Result<Option<f64>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<f64>() {
        Ok(v) if (0.0..=MAX_PLAN).contains(&v) => Ok(Some(v)),
        _ => Err(format!(
            "{column} = `{value}` is not a number in [0, {MAX_PLAN}] (or empty)"
        )),
    }
}

pub fn read_batch_tasks(reader: impl Read, source: &str) -> Result<Vec<BatchTask>, EnvError> {
    let columns = [
        "task_create_time",
        "task_end_time",
        "job_id",
        "task_id",
        "instance_num",
        "status",
        "plan_cpu",
        "plan_mem",
    ];
    read_rows(reader, source, &columns, |f, _| {
        let create_time = time(f[0], "task_create_time")?;
        let end = time(f[1], "task_end_time")?;
        let instances: u32 = number(f[4], "instance_num")?;
        if instances > MAX_INSTANCES {
            return Err(format!(
                "instance_num = {instances}: at most {MAX_INSTANCES}"
            ));
        }
        let status = match f[5] {
            "Terminated" => TaskStatus::Terminated,
            "Failed" => TaskStatus::Failed,
            "Running" => TaskStatus::Running,
            "Waiting" => TaskStatus::Waiting,
            other => {
                return Err(format!(
                    "status = `{}`: expected Terminated, Failed, Running or Waiting",
                    crate::bounds::excerpt(other, 40)
                ));
            }
        };
        Ok(BatchTask {
            create_time,
            end_time: (end >= create_time).then_some(end),
            job_id: number(f[2], "job_id")?,
            task_id: number(f[3], "task_id")?,
            instances,
            status,
            plan_cpu: plan(f[6], "plan_cpu")?,
            plan_mem: plan(f[7], "plan_mem")?,
        })
    })
}

/// The shipped copy (`env/data/alibaba_v2017_batch_task_t0-12h.csv.gz`).
pub const BUILTIN_NAME: &str = "builtin:alibaba_v2017_batch_task_t0-12h.csv.gz";
const BUILTIN: &[u8] = include_bytes!("../../data/alibaba_v2017_batch_task_t0-12h.csv.gz");

/// The shipped copy, read.
pub fn builtin() -> Result<Vec<BatchTask>, EnvError> {
    read_batch_tasks(crate::input::from_bytes(BUILTIN)?, BUILTIN_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "task_create_time,task_end_time,job_id,task_id,instance_num,status,plan_cpu,plan_mem\n";

    #[test]
    fn reads_tasks_with_missing_plans_and_ends() {
        let text = format!(
            "{HEADER}6459,6524,3,4,15740,Terminated,50,0.0079\n16341,0,28,151,61,Running,,\n-5,70,3,5,1,Failed,100,0.5\n"
        );
        let tasks = read_batch_tasks(text.as_bytes(), "tasks.csv").unwrap();
        assert_eq!(tasks.len(), 3);
        assert_eq!(tasks[0].end_time, Some(6524.0));
        assert_eq!((tasks[1].end_time, tasks[1].plan_cpu), (None, None));
        assert_eq!(
            (tasks[2].create_time, tasks[2].status),
            (-5.0, TaskStatus::Failed)
        );
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        for (row, expected) in [
            ("1,2,3,4,5,Lost,1,1", "line 2: status = `Lost`"),
            ("1,2,3,4,-5,Failed,1,1", "line 2: instance_num"),
            ("nan,2,3,4,5,Failed,1,1", "line 2: task_create_time"),
            ("1,2,3,4,5,Failed,-1,1", "line 2: plan_cpu"),
            ("1,2,3,4,99999999999,Failed,1,1", "line 2: instance_num"),
        ] {
            let text = format!("{HEADER}{row}\n");
            let e = read_batch_tasks(text.as_bytes(), "tasks.csv")
                .unwrap_err()
                .to_string();
            assert!(e.contains(expected) && e.contains("tasks.csv"), "{e}");
        }
    }

    #[test]
    fn the_shipped_copy_is_the_whole_first_half_day() {
        let tasks = builtin().unwrap();
        assert_eq!(tasks.len(), 46_587);
        let failed = tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Failed)
            .count();
        assert_eq!(failed, 605);
    }
}
