//! The cluster as a picture: every node's GPUs as a heat-map of the share allocated, and the
//! shares of GPUs arrived and allocated as the episode went.

use super::PlacementScenario;
use super::cluster::{GPU_MILLI, MAX_GPUS};
use crate::Scene;
use crate::scene::{Heatmap, Lines, Panel};

pub fn scene(env: &PlacementScenario) -> Scene {
    let e = &env.episode;
    let cluster = &e.cluster;
    let mut values = Vec::with_capacity(cluster.len() * MAX_GPUS);
    for node in 0..cluster.len() {
        let gpus = usize::from(cluster.spec(node).gpus);
        let left = &cluster.state(node).gpu_left;
        values.extend((0..MAX_GPUS).map(|g| {
            if g < gpus {
                1.0 - f64::from(left[g]) / f64::from(GPU_MILLI)
            } else {
                f64::NAN
            }
        }));
    }
    let g = env.totals.gpu_milli;
    let heatmap = Heatmap {
        title: "GPUs of every node".into(),
        row_label: "node".into(),
        column_label: "GPU".into(),
        rows: env.node_names.to_vec(),
        columns: (0..MAX_GPUS).map(|g| g.to_string()).collect(),
        values,
        range: (0.0, 1.0),
        value_label: "share allocated (grey: no GPU)".into(),
    };
    let percent = |k| {
        e.timeline
            .series(k)
            .into_iter()
            .map(|(x, y)| (x, 100.0 * y))
            .collect()
    };
    let lines = Lines {
        title: "GPUs over the episode".into(),
        x_label: "pods decided".into(),
        y_label: "% of the cluster's GPUs".into(),
        series: vec![
            ("arrived".into(), percent(0)),
            ("allocated".into(), percent(1)),
        ],
        markers: Vec::new(),
    };
    Scene {
        title: format!(
            "placement: {} nodes, {} pods decided, {:.1}% of GPUs allocated, {} pods failed",
            cluster.len(),
            e.decisions,
            100.0 * e.allocated_gpu / g,
            e.failed_pods
        ),
        panels: vec![Panel::Heatmap(heatmap), Panel::Lines(lines)],
    }
}
