//! One fuzz target per parser or loader a user's bytes reach. A target returns `Ok` when the
//! input was accepted and `Err(message)` when it was refused cleanly; anything else (a panic,
//! an abort, a hang) is a bug the driver reports.

use planetgym_env::capacity::series;
use planetgym_env::input;
use planetgym_env::services::catalog::Catalog;
use planetgym_env::traces::{callgraph, openb, swf};
use std::path::PathBuf;

/// What targets share: a scratch directory for loaders that read files.
#[derive(Debug)]
pub struct Context {
    pub scratch: PathBuf,
}

impl Context {
    /// Writes `data` to the scratch file `name` and returns its path.
    pub fn file(&self, name: &str, data: &[u8]) -> Result<PathBuf, String> {
        let path = self.scratch.join(name);
        std::fs::write(&path, data).map_err(|e| format!("scratch file: {e}"))?;
        Ok(path)
    }
}

pub type Run = fn(&Context, &[u8]) -> Result<(), String>;

/// A fuzz target: its name, what it reaches, and the corpus folder it starts from.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub about: &'static str,
    pub run: Run,
}

/// Targets that need only the simulator crate (the coverage-guided harness builds these).
pub const ENV_TARGETS: &[Target] = &[
    Target {
        name: "swf",
        about: "SWF job logs (strict and lenient), through the bounded reader",
        run: |_, data| {
            for lenient in [false, true] {
                let options = swf::SwfOptions {
                    lenient,
                    machine_procs: None,
                };
                let reader = bounded(data);
                swf::parse(reader, "fuzz.swf", options).map_err(|e| e.chain())?;
            }
            Ok(())
        },
    },
    Target {
        name: "openb_nodes",
        about: "openb node lists (CSV)",
        run: |_, data| {
            let reader = bounded(data);
            openb::read_nodes(reader, "nodes.csv")
                .map(drop)
                .map_err(|e| e.chain())
        },
    },
    Target {
        name: "openb_pods",
        about: "openb pod lists (CSV)",
        run: |_, data| {
            let reader = bounded(data);
            openb::read_pods(reader, "pods.csv")
                .map(drop)
                .map_err(|e| e.chain())
        },
    },
    Target {
        name: "callgraph",
        about: "microservice call graphs (Alibaba v2022 CSV), rebuilt into request types",
        run: |_, data| {
            let reader = bounded(data);
            let graphs = callgraph::read(reader, "calls.csv").map_err(|e| e.chain())?;
            Catalog::from_call_graphs(&graphs);
            Ok(())
        },
    },
    Target {
        name: "series",
        about: "demand series files (Google 2019 and Alibaba 2018 day rows, QPS samples), resampled",
        run: |ctx, data| {
            let path = ctx.file("series.csv", data)?;
            // The header says which format the file is in.
            let header = data.split(|&b| b == b'\n').next().unwrap_or(&[]);
            let has = |column: &str| header.windows(column.len()).any(|w| w == column.as_bytes());
            let kind = if has("avg_cpu") {
                "google2019"
            } else if has("cpu_util_percent") {
                "alibaba2018"
            } else {
                "qps"
            };
            series::load(&format!("{kind}:{}", path.display()))
                .and_then(|s| s.resample(3600.0))
                .map(drop)
                .map_err(|e| e.chain())
        },
    },
];

/// `data` behind the bounded reader, with limits small enough for many executions per second
/// and a memory-limited CI step.
fn bounded(data: &[u8]) -> input::BoundedReader<&[u8]> {
    let limits = input::Limits {
        max_line_bytes: 1 << 20,
        max_input_bytes: 64 << 20,
    };
    input::BoundedReader::new(data, limits)
}

/// Every target: the simulator's, and with the `full` feature those reaching the networks,
/// the trainer and shadow mode.
pub fn all() -> Vec<Target> {
    let mut all = ENV_TARGETS.to_vec();
    #[cfg(feature = "full")]
    all.extend_from_slice(crate::full::FULL_TARGETS);
    all
}
