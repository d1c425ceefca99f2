//! The prediction tasks ([`TASKS`]). Here: which batch task will fail (Alibaba v2017) and
//! which image-generation request will fail (Alibaba v2026 LoRA requests), each predicted when
//! it arrives from what was known then. Items whose outcome the trace does not know (tasks
//! still `Running` or `Waiting` when it was taken, requests `PENDING` or `PROCESSING`) are not
//! rows, but their arrivals still count in the history features of later rows. The openb pod
//! task is in [`super::pod_failure`], the simulated SLO-breach task in [`super::telemetry`].

use super::dataset::Dataset;
use super::fleet_failure::fleet_failure;
use super::history::{HOUR_S, Timeline, rate_before, smoothed_rate};
use super::pod_failure::{POD_FEATURES, append_replay};
use super::telemetry::{Precursors, slo_breach};
use planetgym_env::error::EnvError;
use planetgym_env::input::{self, BoundedReader};
use planetgym_env::placement::{load_nodes, load_pods};
use planetgym_env::traces::lora::{self, LoraRequest, LoraStatus};
use planetgym_env::traces::v2017::{self, BatchTask, TaskStatus};
use std::collections::HashMap;
use std::path::Path;

fn ln1p(x: f64) -> f64 {
    x.max(0.0).ln_1p()
}

/// Per key (a job, a group, a model), a timeline of its items' events.
fn timelines<K: std::hash::Hash + Eq>(
    events: impl Iterator<Item = (K, f64, f64)>,
) -> HashMap<K, Timeline> {
    let mut by_key: HashMap<K, Vec<(f64, f64)>> = HashMap::new();
    for (key, time, weight) in events {
        by_key.entry(key).or_default().push((time, weight));
    }
    by_key
        .into_iter()
        .map(|(k, events)| (k, Timeline::new(events)))
        .collect()
}

pub const BATCH_TASK_FEATURES: [&str; 11] = [
    "log_instances",
    "plan_cpu_cores",
    "plan_mem",
    "log_job_tasks_so_far",
    "log_job_age_s",
    "log_job_failed_before",
    "log_running_tasks",
    "log_running_instances",
    "log_ended_last_hour",
    "log_failed_last_hour",
    "failed_share_last_hour",
];

/// Batch task failure, predicted when the task is created. `tasks` are the trace, `holdout`
/// its held-out continuation (scored only; the history of its rows includes `tasks`).
pub fn batch_task_failure(tasks: &[BatchTask], holdout: &[BatchTask]) -> Result<Dataset, String> {
    let all: Vec<(&BatchTask, bool)> = tasks
        .iter()
        .map(|t| (t, false))
        .chain(holdout.iter().map(|t| (t, true)))
        .collect();
    let creates = Timeline::new(all.iter().map(|(t, _)| (t.create_time, 1.0)).collect());
    let create_instances = Timeline::new(
        all.iter()
            .map(|(t, _)| (t.create_time, f64::from(t.instances)))
            .collect(),
    );
    let ended: Vec<(&BatchTask, f64)> = all
        .iter()
        .filter_map(|(t, _)| t.end_time.map(|e| (*t, e)))
        .collect();
    let ends = Timeline::new(ended.iter().map(|&(_, e)| (e, 1.0)).collect());
    let end_instances = Timeline::new(
        ended
            .iter()
            .map(|&(t, e)| (e, f64::from(t.instances)))
            .collect(),
    );
    let failed = |t: &BatchTask| t.status == TaskStatus::Failed;
    let failures = Timeline::new(
        ended
            .iter()
            .filter(|(t, _)| failed(t))
            .map(|&(_, e)| (e, 1.0))
            .collect(),
    );
    let job_creates = timelines(all.iter().map(|(t, _)| (t.job_id, t.create_time, 1.0)));
    let job_failures = timelines(
        ended
            .iter()
            .filter(|(t, _)| failed(t))
            .map(|&(t, e)| (t.job_id, e, 1.0)),
    );
    let first_create: HashMap<u64, f64> = all.iter().fold(HashMap::new(), |mut m, (t, _)| {
        let first = m.entry(t.job_id).or_insert(t.create_time);
        *first = first.min(t.create_time);
        m
    });
    let mut data = Dataset::new("batch-task-failure", &BATCH_TASK_FEATURES);
    for &(task, held_out) in &all {
        let label = match task.status {
            TaskStatus::Failed => true,
            TaskStatus::Terminated => false,
            TaskStatus::Running | TaskStatus::Waiting => continue,
        };
        let Some(end) = task.end_time else { continue };
        let t = task.create_time;
        let none = Timeline::new(Vec::new());
        let ended_hour = ends.within(t, HOUR_S);
        let failed_hour = failures.within(t, HOUR_S);
        let values = [
            ln1p(f64::from(task.instances)),
            task.plan_cpu.unwrap_or(0.0) / 100.0,
            task.plan_mem.unwrap_or(0.0),
            ln1p(job_creates.get(&task.job_id).map_or(0.0, |j| j.until(t))),
            ln1p(t - first_create.get(&task.job_id).copied().unwrap_or(t)),
            ln1p(job_failures.get(&task.job_id).unwrap_or(&none).before(t)),
            // A task ending the second it starts is running: its own end is not known yet.
            ln1p(creates.until(t) - ends.before(t)),
            ln1p(create_instances.until(t) - end_instances.before(t)),
            ln1p(ended_hour),
            ln1p(failed_hour),
            smoothed_rate(
                failed_hour,
                ended_hour,
                rate_before(&failures, &ends, t),
                10.0,
            ),
        ];
        data.push(&values, label, t, end, held_out)?;
    }
    Ok(data)
}

pub const LORA_REQUEST_FEATURES: [&str; 16] = [
    "img2img",
    "inpainting",
    "log_prompt_length",
    "prompt_missing",
    "log_negative_prompt_length",
    "negative_prompt_missing",
    "log_images",
    "log_steps",
    "loras",
    "log_group_known_before",
    "group_failure_rate",
    "log_group_last_hour",
    "model_failure_rate",
    "log_requests_last_hour",
    "log_failures_last_hour",
    "hour_of_day_cos",
];

/// Request failure, predicted when the request arrives; its outcome is known when it ends.
pub fn lora_request_failure(
    requests: &[LoraRequest],
    holdout: &[LoraRequest],
) -> Result<Dataset, String> {
    let all: Vec<(&LoraRequest, bool)> = requests
        .iter()
        .map(|r| (r, false))
        .chain(holdout.iter().map(|r| (r, true)))
        .collect();
    let start = |r: &LoraRequest| r.created_s as f64;
    let end = |r: &LoraRequest| r.created_s as f64 + r.exec_s;
    let done: Vec<&LoraRequest> = all
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| r.status != LoraStatus::Unfinished)
        .collect();
    let failed: Vec<&LoraRequest> = done
        .iter()
        .copied()
        .filter(|r| r.status == LoraStatus::Failed)
        .collect();
    let arrivals = Timeline::new(all.iter().map(|(r, _)| (start(r), 1.0)).collect());
    let failures = Timeline::new(failed.iter().map(|r| (end(r), 1.0)).collect());
    let group_arrivals = timelines(all.iter().map(|(r, _)| (r.group.as_str(), start(r), 1.0)));
    let group_done = timelines(done.iter().map(|r| (r.group.as_str(), end(r), 1.0)));
    let group_failed = timelines(failed.iter().map(|r| (r.group.as_str(), end(r), 1.0)));
    let model_done = timelines(done.iter().map(|r| (r.model.as_str(), end(r), 1.0)));
    let model_failed = timelines(failed.iter().map(|r| (r.model.as_str(), end(r), 1.0)));
    let none = Timeline::new(Vec::new());
    let before =
        |m: &HashMap<&str, Timeline>, key: &str, t: f64| m.get(key).unwrap_or(&none).before(t);
    let finished = Timeline::new(done.iter().map(|r| (end(r), 1.0)).collect());
    let mut data = Dataset::new("lora-request-failure", &LORA_REQUEST_FEATURES);
    for &(r, held_out) in &all {
        let label = match r.status {
            LoraStatus::Failed => true,
            LoraStatus::Succeeded => false,
            LoraStatus::Unfinished => continue,
        };
        let t = start(r);
        let group_known = before(&group_done, &r.group, t);
        let model_known = before(&model_done, &r.model, t);
        // The failure share of every request finished so far: the prior of the group's and
        // the model's rates.
        let prior = rate_before(&failures, &finished, t);
        let hour = (r.created_s.rem_euclid(86_400) as f64) / 86_400.0;
        let values = [
            f64::from(u8::from(r.kind == "IMG_2_IMG")),
            f64::from(u8::from(r.kind == "INPAINTING")),
            ln1p(r.prompt_length.unwrap_or(0.0)),
            f64::from(u8::from(r.prompt_length.is_none())),
            ln1p(r.negative_prompt_length.unwrap_or(0.0)),
            f64::from(u8::from(r.negative_prompt_length.is_none())),
            ln1p(r.images.unwrap_or(0.0)),
            ln1p(r.steps.unwrap_or(0.0)),
            f64::from(r.loras),
            ln1p(group_known),
            smoothed_rate(before(&group_failed, &r.group, t), group_known, prior, 5.0),
            ln1p(
                group_arrivals
                    .get(r.group.as_str())
                    .unwrap_or(&none)
                    .within(t, HOUR_S),
            ),
            smoothed_rate(before(&model_failed, &r.model, t), model_known, prior, 5.0),
            ln1p(arrivals.within(t, HOUR_S)),
            ln1p(failures.within(t, HOUR_S)),
            (2.0 * std::f64::consts::PI * hour).cos(),
        ];
        data.push(&values, label, t, end(r), held_out)?;
    }
    Ok(data)
}

/// A prediction task: its name, the held-out continuation of its trace (under the shared
/// data's `holdout/`; none for a simulated task) and how its dataset is built from the shipped
/// trace or a file.
#[derive(Debug)]
pub struct Task {
    pub name: &'static str,
    pub holdout: Option<&'static str>,
    pub about: &'static str,
    build: fn(Option<&Path>, Option<&Path>) -> Result<Dataset, String>,
}

impl Task {
    /// The dataset from `data` (the shipped copy when None), with `holdout`'s rows appended.
    pub fn dataset(&self, data: Option<&Path>, holdout: Option<&Path>) -> Result<Dataset, String> {
        (self.build)(data, holdout)
    }
}

/// The trace at `data` (the shipped copy when None) and the held-out rows at `holdout` (none
/// when None).
fn trace_and_holdout<T>(
    data: Option<&Path>,
    holdout: Option<&Path>,
    builtin: impl Fn() -> Result<Vec<T>, EnvError>,
    reader: impl Fn(BoundedReader<Box<dyn std::io::BufRead>>, &str) -> Result<Vec<T>, EnvError>,
) -> Result<(Vec<T>, Vec<T>), String> {
    let file = |p: &Path| input::open(p).and_then(|r| reader(r, &p.display().to_string()));
    let trace = data
        .map_or_else(&builtin, file)
        .map_err(|e| e.to_string())?;
    let held = holdout.map(file).transpose().map_err(|e| e.to_string())?;
    Ok((trace, held.unwrap_or_default()))
}

pub const TASKS: [Task; 7] = [
    Task {
        name: "batch-task-failure",
        holdout: Some("alibaba/v2017_batch_task/batch_task_2017_t12h-end.csv"),
        about: "Alibaba v2017 batch task fails, predicted at its creation",
        build: |data, holdout| {
            let (tasks, held) =
                trace_and_holdout(data, holdout, v2017::builtin, v2017::read_batch_tasks)?;
            batch_task_failure(&tasks, &held)
        },
    },
    Task {
        name: "lora-request-failure",
        holdout: Some("alibaba/v2026_genai/lora_request_trace_2024-12-01_to_12-08.csv"),
        about: "Alibaba v2026 LoRA image-generation request fails, predicted at its arrival",
        build: |data, holdout| {
            let (requests, held) =
                trace_and_holdout(data, holdout, lora::builtin, lora::read_lora_requests)?;
            lora_request_failure(&requests, &held)
        },
    },
    Task {
        name: "pod-failure",
        holdout: Some("alibaba/gpu_v2023_openb/openb_pod_list_gpushare100.csv"),
        about: "openb GPU pod ends Failed, predicted at its creation from its request and the replayed cluster",
        build: |data, holdout| {
            let pods = |p: &Path| load_pods(&p.display().to_string());
            let nodes = load_nodes("builtin:openb").map_err(|e| e.to_string())?;
            let trace = data
                .map_or_else(|| load_pods("builtin:openb_default"), pods)
                .map_err(|e| e.to_string())?;
            let mut dataset = Dataset::new("pod-failure", &POD_FEATURES);
            append_replay(&mut dataset, &nodes, &trace, false)?;
            if let Some(p) = holdout {
                let held = pods(p).map_err(|e| e.to_string())?;
                append_replay(&mut dataset, &nodes, &held, true)?;
            }
            Ok(dataset)
        },
    },
    Task {
        name: "slo-breach-15m",
        holdout: None,
        about: "a traffic site breaches its SLO (overloaded, or under half its capacity) within 15 minutes, from its telemetry",
        build: |data, holdout| slo_breach_task(data, holdout, 15.0),
    },
    Task {
        name: "slo-breach-30m",
        holdout: None,
        about: "a traffic site breaches its SLO (overloaded, or under half its capacity) within 30 minutes, from its telemetry",
        build: |data, holdout| slo_breach_task(data, holdout, 30.0),
    },
    Task {
        name: "slo-breach-60m",
        holdout: None,
        about: "a traffic site breaches its SLO (overloaded, or under half its capacity) within 60 minutes, from its telemetry",
        build: |data, holdout| slo_breach_task(data, holdout, 60.0),
    },
    Task {
        name: "fleet-failure",
        holdout: None,
        about: "a host of the risk scenario's fleet fails within 12 hours (its horizon_hours), from its telemetry (simulated weeks, left alone)",
        build: |data, holdout| {
            simulated(
                data,
                holdout,
                "fleet-failure is simulated (30 weeks of the risk fleet)",
            )?;
            fleet_failure()
        },
    },
];

/// A simulated task reads no trace and has no holdout file: its last stretch is its test.
fn simulated(data: Option<&Path>, holdout: Option<&Path>, what: &str) -> Result<(), String> {
    if data.is_some() || holdout.is_some() {
        return Err(format!(
            "{what}: it reads no trace and has no holdout file; its last stretch of time is its test"
        ));
    }
    Ok(())
}

/// 20 simulated days of traffic telemetry, the last 4 testing, predicting `horizon_minutes`
/// ahead.
fn slo_breach_task(
    data: Option<&Path>,
    holdout: Option<&Path>,
    horizon_minutes: f64,
) -> Result<Dataset, String> {
    simulated(
        data,
        holdout,
        "slo-breach is simulated (20 days of the traffic world)",
    )?;
    slo_breach(20, horizon_minutes, Precursors::default(), 0)
}

/// The task called `name`.
pub fn task(name: &str) -> Result<&'static Task, String> {
    TASKS.iter().find(|t| t.name == name).ok_or_else(|| {
        let names: Vec<&str> = TASKS.iter().map(|t| t.name).collect();
        format!("no risk task `{name}` (tasks: {})", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(create: f64, end: f64, job: u64, status: TaskStatus) -> BatchTask {
        BatchTask {
            create_time: create,
            end_time: Some(end),
            job_id: job,
            task_id: 0,
            instances: 2,
            status,
            plan_cpu: Some(100.0),
            plan_mem: Some(0.5),
        }
    }

    #[test]
    fn batch_features_see_only_the_past_and_skip_unknown_outcomes() {
        let mut tasks = vec![
            task(0.0, 100.0, 1, TaskStatus::Failed),
            task(50.0, 80.0, 1, TaskStatus::Terminated),
            task(200.0, 300.0, 1, TaskStatus::Terminated),
            task(200.0, 250.0, 2, TaskStatus::Running),
        ];
        let d = batch_task_failure(&tasks, &[]).unwrap();
        assert_eq!(d.rows(), 3);
        let f = |row: usize, name: &str| {
            let value = d.row(row)[BATCH_TASK_FEATURES.iter().position(|n| *n == name).unwrap()];
            // Counts, back from their log.
            (value.exp() - 1.0).round()
        };
        // At 50 s nothing has ended; at 200 s both earlier tasks have, one failed.
        assert_eq!(f(1, "log_job_failed_before"), 0.0);
        assert_eq!(f(2, "log_job_failed_before"), 1.0);
        assert_eq!(f(2, "log_running_tasks"), 2.0);
        assert_eq!(f(2, "log_job_tasks_so_far"), 3.0);
        assert_eq!(d.known[0], 100.0);
        // A later outcome changes no earlier row: no leak from the future.
        tasks[2].status = TaskStatus::Failed;
        tasks.push(task(500.0, 600.0, 1, TaskStatus::Failed));
        let later = batch_task_failure(&tasks, &[]).unwrap();
        for row in 0..3 {
            assert_eq!(later.row(row), d.row(row));
        }
    }

    #[test]
    fn held_out_rows_follow_the_trace_with_its_history() {
        let tasks = vec![task(0.0, 10.0, 1, TaskStatus::Failed)];
        let holdout = vec![task(20.0, 30.0, 1, TaskStatus::Terminated)];
        let d = batch_task_failure(&tasks, &holdout).unwrap();
        assert_eq!(d.holdout, vec![false, true]);
        assert_eq!(d.row(1)[5], 1f64.ln_1p());
    }

    fn request(created_s: i64, group: &str, status: LoraStatus) -> LoraRequest {
        LoraRequest {
            created_s,
            kind: "TXT_2_IMG".into(),
            status,
            exec_s: 10.0,
            group: group.into(),
            prompt_length: Some(50.0),
            negative_prompt_length: None,
            images: Some(1.0),
            steps: Some(30.0),
            model: "M0".into(),
            loras: 0,
        }
    }

    #[test]
    fn a_groups_failure_counts_once_it_has_ended() {
        let requests = vec![
            request(0, "G1", LoraStatus::Failed),
            request(5, "G1", LoraStatus::Succeeded),
            request(20, "G1", LoraStatus::Succeeded),
            request(30, "G2", LoraStatus::Unfinished),
        ];
        let d = lora_request_failure(&requests, &[]).unwrap();
        assert_eq!(d.rows(), 3);
        let k = LORA_REQUEST_FEATURES
            .iter()
            .position(|n| *n == "group_failure_rate")
            .unwrap();
        // At 5 s the failure (ending at 10 s) is not known yet; at 20 s it is.
        // The prior is the share of all requests known to have failed (none at 5 s, half at
        // 20 s).
        assert!(d.row(1)[k].abs() < 1e-12);
        assert!((d.row(2)[k] - (1.0 + 0.5 * 5.0) / (2.0 + 5.0)).abs() < 1e-12);
        assert_eq!(d.known[0], 10.0);
        assert_eq!(d.row(0)[5], 1.0);
    }
}
