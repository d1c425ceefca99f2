//! Alibaba cluster-trace-gpu-v2023 ("openb", Weng et al. ATC'23): node lists and pod lists.
//!
//! Nodes: `sn, cpu_milli, memory_mib, gpu, model` (model empty for CPU-only nodes).
//! Pods: `name, cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos, pod_phase,
//! creation_time, deletion_time, scheduled_time`; `gpu_milli` is the share of one GPU (x1000)
//! a sharing pod needs, `gpu_spec` the allowed GPU models joined by `|` (empty = any). The
//! columns after `gpu_milli` may be absent, as in the trace's multigpu workload lists, which are
//! meant for inflation: every model allowed, creation at 0, no deletion (a replay of such a list
//! places every pod at once and keeps it).

use super::table::{number, read_rows, read_rows_with};
use crate::error::EnvError;
use std::io::Read;

/// Latest time (s from the trace start) a pod may be created or deleted: a century, far beyond
/// any trace, so that event times cannot overflow.
const MAX_TIME_S: i64 = 100 * 366 * 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenbNode {
    pub name: String,
    pub cpu_milli: u32,
    pub memory_mib: u32,
    pub gpus: u32,
    /// GPU model (`T4`, `V100M16`, ...); empty for CPU-only nodes.
    pub model: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenbPod {
    pub name: String,
    pub cpu_milli: u32,
    pub memory_mib: u32,
    pub num_gpu: u32,
    /// Per-GPU share (x1000) for `num_gpu` = 1; 1000 for whole GPUs; 0 for CPU-only pods.
    pub gpu_milli: u32,
    /// Allowed GPU models; empty = any.
    pub gpu_spec: Vec<String>,
    pub qos: String,
    pub phase: String,
    pub creation_time: i64,
    /// `None` when the pod outlives the trace.
    pub deletion_time: Option<i64>,
}

pub fn read_nodes(reader: impl Read, source: &str) -> Result<Vec<OpenbNode>, EnvError> {
    let columns = ["sn", "cpu_milli", "memory_mib", "gpu", "model"];
    read_rows(reader, source, &columns, |f, _| {
        let node = OpenbNode {
            name: f[0].to_string(),
            cpu_milli: number(f[1], "cpu_milli")?,
            memory_mib: number(f[2], "memory_mib")?,
            gpus: number(f[3], "gpu")?,
            model: f[4].to_string(),
        };
        if node.gpus > 8 {
            return Err(format!(
                "gpu = {}: at most 8 GPUs per node are supported",
                node.gpus
            ));
        }
        if node.gpus > 0 && node.model.is_empty() {
            return Err("a GPU node needs a model".into());
        }
        Ok(node)
    })
}

pub fn read_pods(reader: impl Read, source: &str) -> Result<Vec<OpenbPod>, EnvError> {
    let columns = [
        "name",
        "cpu_milli",
        "memory_mib",
        "num_gpu",
        "gpu_milli",
        "?gpu_spec",
        "?qos",
        "?pod_phase",
        "?creation_time",
        "?deletion_time",
    ];
    read_rows_with(reader, source, &columns, |f, _, present| {
        let num_gpu: u32 = number(f[3], "num_gpu")?;
        let gpu_milli: u32 = number(f[4], "gpu_milli")?;
        if num_gpu > 8 {
            return Err(format!("num_gpu = {num_gpu}: at most 8"));
        }
        if gpu_milli > 1000
            || (num_gpu > 1 && gpu_milli != 1000)
            || (num_gpu == 0) != (gpu_milli == 0)
        {
            return Err(format!(
                "num_gpu = {num_gpu}, gpu_milli = {gpu_milli}: a pod takes a share (1..=1000) of one GPU, or whole GPUs (1000), or none (0, 0)"
            ));
        }
        // Times are seconds from the trace start: a pod cannot start before it or end before
        // it starts (the replay orders events by them).
        // Lists without times are workload lists (inflation only); in a list with times, an
        // empty creation time is an error.
        let creation_time: i64 = if present[8] {
            number(f[8], "creation_time")?
        } else {
            0
        };
        if !(0..=MAX_TIME_S).contains(&creation_time) {
            return Err(format!(
                "creation_time = {creation_time}: must be in [0, {MAX_TIME_S}] (s from the trace start)"
            ));
        }
        let deletion_time = if f[9].is_empty() {
            None
        } else {
            let deletion: i64 = number(f[9], "deletion_time")?;
            if !(creation_time..=MAX_TIME_S).contains(&deletion) {
                return Err(format!(
                    "deletion_time = {deletion}: must be in [creation_time = {creation_time}, {MAX_TIME_S}]"
                ));
            }
            Some(deletion)
        };
        Ok(OpenbPod {
            name: f[0].to_string(),
            cpu_milli: number(f[1], "cpu_milli")?,
            memory_mib: number(f[2], "memory_mib")?,
            num_gpu,
            gpu_milli,
            gpu_spec: f[5]
                .split('|')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            qos: f[6].to_string(),
            phase: f[7].to_string(),
            creation_time,
            deletion_time,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nodes_and_pods_and_names_bad_lines() {
        let nodes = "sn,cpu_milli,memory_mib,gpu,model\nn0,32000,262144,0,\nn1,96000,786432,8,G2\n";
        let nodes = read_nodes(nodes.as_bytes(), "nodes.csv").unwrap();
        assert_eq!(
            nodes[1],
            OpenbNode {
                name: "n1".into(),
                cpu_milli: 96000,
                memory_mib: 786432,
                gpus: 8,
                model: "G2".into()
            }
        );
        let pods = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n\
                    p0,6000,12288,1,460,V100M16|V100M32,LS,Running,10,20,10\np1,1000,100,0,0,,BE,Failed,5,,5\n";
        let pods = read_pods(pods.as_bytes(), "pods.csv").unwrap();
        assert_eq!(pods[0].gpu_spec, vec!["V100M16", "V100M32"]);
        assert_eq!((pods[0].gpu_milli, pods[1].deletion_time), (460, None));
        let bad = "sn,cpu_milli,memory_mib,gpu,model\nn0,lots,1,0,\n";
        let err = read_nodes(bad.as_bytes(), "nodes.csv").unwrap_err();
        assert_eq!(
            err.to_string(),
            "data error in nodes.csv: line 2: cpu_milli = `lots` is not a valid non-negative integer"
        );
        let bad = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time\np,1,1,2,500,,LS,Running,0,1\n";
        assert!(
            read_pods(bad.as_bytes(), "pods.csv")
                .unwrap_err()
                .to_string()
                .contains("line 2: num_gpu = 2, gpu_milli = 500")
        );
        // The multigpu lists have no columns after gpu_milli.
        let short = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,6000,12288,2,1000\n";
        let pods = read_pods(short.as_bytes(), "pods.csv").unwrap();
        assert_eq!(
            (
                pods[0].num_gpu,
                &pods[0].gpu_spec,
                pods[0].creation_time,
                pods[0].deletion_time
            ),
            (2, &Vec::<String>::new(), 0, None)
        );
        // A list with times must give each pod one, whatever the header's quoting.
        let untimed = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time\np,1,1,0,0,,LS,Running,,\n";
        assert!(
            read_pods(untimed.as_bytes(), "pods.csv")
                .unwrap_err()
                .to_string()
                .contains("line 2: creation_time = ``")
        );
        let quoted = "\"name\",\"cpu_milli\",\"memory_mib\",\"num_gpu\",\"gpu_milli\",\"creation_time\"\np,1,1,0,0,42\n";
        assert_eq!(
            read_pods(quoted.as_bytes(), "pods.csv").unwrap()[0].creation_time,
            42
        );
        let bad = "name,cpu_milli\np,1\n";
        assert!(
            read_pods(bad.as_bytes(), "pods.csv")
                .unwrap_err()
                .to_string()
                .contains("no column `memory_mib`")
        );
    }
}
