//! openb pod failure (`pod_phase = Failed`), predicted when the pod is created from its request
//! and the cluster's state then: the pod list is replayed through the `placement` simulator
//! (pods leave at their deletion times) with FGD placing every pod, and each decision is a row.
//! A pod no node can host gets no decision and no row, nor does a pod without a deletion time
//! (its outcome is unknown); the notes count both. A label is known when the pod is deleted.

use super::dataset::Dataset;
use super::history::{HOUR_S, Timeline, rate_before, smoothed_rate};
use crate::Policy;
use crate::classic::placement::{PlacementHeuristic, PlacementRule};
use planetgym_env::Scenario;
use planetgym_env::placement::{ArrivalMode, PlacementConfig, PlacementScenario};
use planetgym_env::traces::openb::{OpenbNode, OpenbPod};

pub const POD_FEATURES: [&str; 17] = [
    "cpu_cores",
    "memory_gib",
    "gpus",
    "gpu_sharing",
    "gpu_model_constrained",
    "qos_be",
    "qos_ls",
    "qos_burstable",
    "gpu_allocation_ratio",
    "cpu_utilisation",
    "memory_utilisation",
    "feasible_node_fraction",
    "log_created_last_hour",
    "log_deleted_last_hour",
    "log_failed_last_hour",
    "failed_share_last_hour",
    "be_failed_share_so_far",
];

/// Rows for `pods` on `nodes`, marked `holdout` or not, appended to `data`.
pub fn append_replay(
    data: &mut Dataset,
    nodes: &[OpenbNode],
    pods: &[OpenbPod],
    holdout: bool,
) -> Result<(), String> {
    let config = PlacementConfig {
        mode: ArrivalMode::Replay,
        replay_pods: 0,
        ..PlacementConfig::default()
    };
    let mut scenario =
        PlacementScenario::from_trace(config, nodes, pods).map_err(|e| e.to_string())?;
    let failed = |p: &OpenbPod| p.phase == "Failed";
    let known = |p: &OpenbPod| p.deletion_time.map_or(f64::INFINITY, |t| t as f64);
    let creates = Timeline::new(pods.iter().map(|p| (p.creation_time as f64, 1.0)).collect());
    let deletes = Timeline::new(pods.iter().map(|p| (known(p), 1.0)).collect());
    let failures = Timeline::new(
        pods.iter()
            .filter(|p| failed(p))
            .map(|p| (known(p), 1.0))
            .collect(),
    );
    let best_effort = |p: &OpenbPod| p.qos == "BE";
    let be_ended = Timeline::new(
        pods.iter()
            .filter(|p| best_effort(p))
            .map(|p| (known(p), 1.0))
            .collect(),
    );
    let be_failed = Timeline::new(
        pods.iter()
            .filter(|p| best_effort(p) && failed(p))
            .map(|p| (known(p), 1.0))
            .collect(),
    );
    let names = scenario.metric_names();
    let metric =
        |info: &planetgym_env::scenario::Info, name: &str| info.get(names, name).unwrap_or(0.0);
    let mut fgd = PlacementHeuristic::new(PlacementRule::Fgd);
    fgd.reset(0);
    let mut obs = scenario.reset(0);
    let (mut cpu, mut memory) = (0.0, 0.0);
    let mut no_node = 0.0;
    let (mut decisions, mut unknown) = (0, 0);
    while let Some(row) = scenario.current_row() {
        let pod = &pods[row];
        // A pod still alive when the trace was taken has no known outcome: no row.
        if pod.deletion_time.is_none() {
            unknown += 1;
        } else {
            let t = pod.creation_time as f64;
            let mask = scenario.action_mask();
            let feasible = mask.map_or(0, |m| m.iter().filter(|&&ok| ok).count());
            let nodes_count = mask.map_or(1, <[bool]>::len).max(1);
            let deleted_hour = deletes.within(t, HOUR_S);
            let failed_hour = failures.within(t, HOUR_S);
            let prior = rate_before(&failures, &deletes, t);
            let values = [
                f64::from(pod.cpu_milli) / 1000.0,
                f64::from(pod.memory_mib) / 1024.0,
                f64::from(pod.num_gpu),
                f64::from(u8::from(pod.num_gpu == 1 && pod.gpu_milli < 1000)),
                f64::from(u8::from(!pod.gpu_spec.is_empty())),
                f64::from(u8::from(pod.qos == "BE")),
                f64::from(u8::from(pod.qos == "LS")),
                f64::from(u8::from(pod.qos == "Burstable")),
                obs.gpu_allocation_ratio,
                cpu,
                memory,
                feasible as f64 / nodes_count as f64,
                creates.within(t, HOUR_S).ln_1p(),
                deleted_hour.ln_1p(),
                failed_hour.ln_1p(),
                smoothed_rate(failed_hour, deleted_hour, prior, 10.0),
                smoothed_rate(be_failed.before(t), be_ended.before(t), prior, 10.0),
            ];
            data.push(&values, failed(pod), t, known(pod), holdout)?;
            decisions += 1;
        }
        let action = fgd
            .act(&obs, scenario.action_mask())
            .map_err(|e| e.to_string())?;
        let step = scenario.step(&action).map_err(|e| e.to_string())?;
        cpu = metric(&step.info, "cpu_utilisation");
        memory = metric(&step.info, "memory_utilisation");
        no_node = metric(&step.info, "failed_pods");
        obs = step.obs;
        if step.terminated || step.truncated {
            break;
        }
    }
    data.notes.push(format!(
        "{} pods{}: {decisions} placed by FGD in the replay and made rows, {unknown} placed without a known outcome (no deletion time), {no_node} found no node",
        pods.len(),
        if holdout { " (held out)" } else { "" }
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use planetgym_env::placement::{load_nodes, load_pods};

    #[test]
    fn every_pod_of_the_replay_is_a_row_known_at_its_deletion_and_blind_to_later_outcomes() {
        let nodes = load_nodes("builtin:openb").unwrap();
        let mut pods = load_pods("builtin:openb_default").unwrap();
        pods.truncate(1500);
        let build = |pods: &[OpenbPod]| {
            let mut d = Dataset::new("pod-failure", &POD_FEATURES);
            append_replay(&mut d, &nodes, pods, false).unwrap();
            d
        };
        let d = build(&pods);
        assert_eq!(d.rows(), 1500);
        let failed = pods.iter().filter(|p| p.phase == "Failed").count();
        assert_eq!(d.y.iter().filter(|&&y| y).count(), failed);
        assert!(d.notes[0].contains("1500 placed by FGD"), "{:?}", d.notes);
        // Rows follow the replay (creation order); each label is known at the deletion.
        let row =
            d.at.iter()
                .position(|&t| t == pods[700].creation_time as f64)
                .unwrap();
        assert!(d.known[row] >= d.at[row]);
        // Turning the outcome of the last pod created around changes no pod's features: it
        // becomes known after every creation.
        let mut flipped = pods.clone();
        let last = (0..flipped.len())
            .max_by_key(|&k| (flipped[k].creation_time, k))
            .unwrap();
        let turned = if flipped[last].phase == "Failed" {
            "Running"
        } else {
            "Failed"
        };
        flipped[last].phase = turned.into();
        let e = build(&flipped);
        assert_eq!(d.x, e.x);
        assert_ne!(d.y, e.y);
    }
}
