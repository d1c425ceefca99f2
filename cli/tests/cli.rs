//! The `planetgym` command line, run as a user would.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_env::ScenarioConfig;
use std::process::Command;

mod common;
use common::{planetgym, planetgym_in};

#[test]
fn scenarios_lists_traffic_and_shows_a_default_that_loads_back() {
    let (ok, out, _) = planetgym(&["scenarios"]);
    assert!(ok);
    assert!(
        out.contains("traffic") && out.contains("demand.global_rate_rps"),
        "{out}"
    );
    for metric in [
        "interval_p95_latency_ms [ms, lower is better]",
        "gpu_allocation_ratio [fraction, higher is better]",
        "demand_rps [requests/s]",
    ] {
        assert!(out.contains(metric), "{metric}:\n{out}");
    }
    let (ok, shown, _) = planetgym(&["scenarios", "--show", "traffic"]);
    assert!(ok);
    assert!(
        shown.contains("# Mean global request rate"),
        "the default must be documented"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shown.toml");
    std::fs::write(&path, &shown).unwrap();
    let loaded = planetgym_env::TrafficConfig::from_file(&path).unwrap();
    assert_eq!(loaded, planetgym_env::TrafficConfig::default());
    let (ok, _, err) = planetgym(&["scenarios", "--show", "nope"]);
    assert!(
        !ok && err.contains("unknown scenario `nope`; known: traffic"),
        "{err}"
    );
}

#[test]
fn baselines_prints_the_table_and_writes_json_csv_and_timeseries() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("short.toml");
    std::fs::write(&config, "episode_intervals = 30\n").unwrap();
    let (json, csv, series) = (
        dir.path().join("t.json"),
        dir.path().join("t.csv"),
        dir.path().join("s.csv"),
    );
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    let (ok, out, err) = planetgym(&[
        "baselines",
        "--scenario",
        "traffic",
        "--config",
        &p(&config),
        "--episodes",
        "2",
        "--seed",
        "4",
        "--json",
        &p(&json),
        "--csv",
        &p(&csv),
        "--timeseries",
        &p(&series),
    ]);
    assert!(ok, "{err}");
    for policy in [
        "nearest",
        "capacity-proportional",
        "greedy-spillover@0.8",
        "lp",
        "oracle-lp (sees next interval)",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(policy)),
            "{policy} missing:\n{out}"
        );
    }
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5 * 8, "5 policies x (reward + 7 metrics)");
    assert!(
        rows.iter()
            .all(|r| r["episodes"] == 2 && r["mean"].is_number() && r["ci95"].is_number())
    );
    assert!(
        rows.iter()
            .any(|r| r["policy"] == "lp" && r["metric"] == "reward")
    );
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv.lines().count(), 1 + 40);
    let series = std::fs::read_to_string(&series).unwrap();
    assert!(series.starts_with("policy,episode,step,reward,mean_latency_ms,"));
    assert_eq!(series.lines().count(), 1 + 5 * 2 * 30);
    // Same seed, same table.
    let (_, again, _) = planetgym(&[
        "baselines",
        "--scenario",
        "traffic",
        "--config",
        &p(&config),
        "--episodes",
        "2",
        "--seed",
        "4",
    ]);
    // The same table; only the last line (the files written) differs.
    let table = |text: &str| {
        text.trim_end()
            .rsplit_once('\n')
            .map(|(t, _)| t.to_string())
    };
    assert_eq!(table(&again), table(&out));
    assert!(again.ends_with(
        "no files written: --out DIR keeps the per-episode rows, the table and the plots\n"
    ));
}

#[test]
fn bad_config_and_arguments_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[latency]\nslo_ms = -5\n").unwrap();
    let (ok, _, err) = planetgym(&[
        "baselines",
        "--scenario",
        "traffic",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains(
            "bad.toml: latency.slo_ms = -5: must be in (0, 3600000] (above 0, at most 3600000)"
        ),
        "{err}"
    );
    std::fs::write(&config, "[demand]\nglobal_rate = 5\n").unwrap();
    let (_, _, err) = planetgym(&[
        "baselines",
        "--scenario",
        "traffic",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(
        err.contains("unknown field `demand.global_rate`; allowed here:"),
        "{err}"
    );
    let (ok, _, err) = planetgym(&["baselines", "--scenario", "warp"]);
    assert!(!ok && err.contains("unknown scenario `warp`"), "{err}");
    let (ok, _, err) = planetgym(&[
        "baselines",
        "--scenario",
        "traffic",
        "--config",
        "/no/such.toml",
    ]);
    assert!(!ok && err.contains("could not read /no/such.toml"), "{err}");
}

#[test]
fn committed_experiment_configs_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments/configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml")
            && path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("traffic")
        {
            let mut config = planetgym_env::TrafficConfig::from_file(&path).unwrap();
            // Paths in the configs are relative to the repository root, where the commands run.
            let series = std::path::Path::new(&config.demand.diurnal_series);
            if !config.demand.diurnal_series.starts_with("builtin:") && series.is_relative() {
                config.demand.diurnal_series = dir.join("../..").join(series).display().to_string();
            }
            planetgym_env::TrafficScenario::new(config)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("services") {
            let config = planetgym_env::ServicesConfig::from_file(&path).unwrap();
            planetgym_env::ServicesScenario::new(config)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    assert!(
        seen >= 2,
        "expected the traffic configs in {}",
        dir.display()
    );
}

#[test]
fn batch_baselines_on_a_log_file_with_backfilling() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tiny.swf");
    let mut text = String::from("; MaxProcs: 8\n");
    for i in 0..40 {
        text += &format!(
            "{} {} -1 {} {} -1 -1 -1 -1 -1 1 1 -1 -1 0 -1 -1 -1\n",
            i + 1,
            i * 30,
            100 + (i * 37) % 400,
            1 + i % 8
        );
    }
    text += "41 2000 -1 50 16 -1 -1 -1 -1 -1 1 1 -1 -1 0 -1 -1 -1\n";
    std::fs::write(&log, &text).unwrap();
    let json = dir.path().join("b.json");
    let args = [
        "baselines",
        "--scenario",
        "batch",
        "--trace",
        log.to_str().unwrap(),
        "--jobs",
        "20",
        "--episodes",
        "3",
        "--backfill",
    ];
    let (ok, out, err) = planetgym(&[&args[..], &["--json", json.to_str().unwrap()]].concat());
    assert!(ok, "{err}");
    assert!(
        out.contains("40 jobs, 8 processors") && out.contains("backfilling EASY"),
        "{out}"
    );
    assert!(
        out.contains("1 jobs wider than the machine dropped"),
        "{out}"
    );
    for policy in ["fcfs", "sjf", "saf", "wfp3", "unicep", "f1", "random"] {
        assert!(
            out.lines().any(|l| l.starts_with(policy)),
            "{policy} missing:\n{out}"
        );
    }
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        rows.as_array().unwrap().len(),
        7 * 7,
        "7 policies x (reward + 6 metrics)"
    );

    // A malformed line stops the run with file and line, unless --lenient.
    std::fs::write(
        &log,
        format!("{text}42 2100 -1 oops 1 -1 -1 -1 -1 -1 1 1 -1 -1 0 -1 -1 -1\n"),
    )
    .unwrap();
    let (ok, _, err) = planetgym(&args);
    assert!(
        !ok && err.contains("tiny.swf: line 43: field 4 (run) = `oops` is not a number"),
        "{err}"
    );
    let (ok, out, err) = planetgym(&[&args[..], &["--lenient"]].concat());
    assert!(ok, "{err}");
    assert!(out.contains("1 malformed lines skipped"), "{out}");
    let (ok, _, err) = planetgym(&["baselines", "--scenario", "traffic", "--backfill"]);
    assert!(
        !ok && err.contains("apply to the batch scenario only"),
        "{err}"
    );
}

#[test]
fn placement_baselines_write_curves_and_a_plot() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = dir.path().join("nodes.csv");
    let pods = dir.path().join("pods.csv");
    let mut node_text = String::from("sn,cpu_milli,memory_mib,gpu,model\n");
    for i in 0..20 {
        node_text += &format!(
            "n{i},32000,131072,{},{}\n",
            if i % 5 == 0 { 0 } else { 4 },
            if i % 5 == 0 { "" } else { "T4" }
        );
    }
    std::fs::write(&nodes, node_text).unwrap();
    let mut pod_text = String::from(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n",
    );
    for (i, (gpus, milli)) in [(1, 500), (1, 1000), (0, 0), (1, 250), (2, 1000)]
        .iter()
        .enumerate()
    {
        pod_text += &format!("p{i},4000,8192,{gpus},{milli},,LS,Running,{i},,{i}\n");
    }
    std::fs::write(&pods, pod_text).unwrap();
    let (curves, plot) = (dir.path().join("c.csv"), dir.path().join("a.png"));
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    let (ok, out, err) = planetgym(&[
        "baselines",
        "--scenario",
        "placement",
        "--nodes",
        &p(&nodes),
        "--pods",
        &p(&pods),
        "--episodes",
        "2",
        "--curves",
        &p(&curves),
        "--plot",
        &p(&plot),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("20 nodes, 64 GPUs"), "{out}");
    for policy in [
        "random",
        "first-fit",
        "best-fit",
        "worst-fit",
        "dot-product",
        "gpu-packing",
        "gpu-clustering",
        "fgd",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(policy)),
            "{policy} missing:\n{out}"
        );
    }
    let csv = std::fs::read_to_string(&curves).unwrap();
    assert!(csv.starts_with("policy,arrived_gpu_ratio,gpu_allocation_ratio,fragmentation_rate,unallocated_gpu_fraction,failed_pods\n"));
    assert!(
        csv.lines().any(|l| l.starts_with("fgd,1.2,")),
        "curve reaches 120 % arrived:\n{csv}"
    );
    assert!(std::fs::read(&plot).unwrap().starts_with(b"\x89PNG"));
    let (ok, _, err) = planetgym(&[
        "baselines",
        "--scenario",
        "placement",
        "--pods",
        "/nope.csv",
    ]);
    assert!(!ok && err.contains("could not read /nope.csv"), "{err}");
}

#[test]
fn capacity_baselines_and_forecast_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "episode_periods = 48\nsites = 2\n").unwrap();
    let (ok, out, err) = planetgym(&[
        "baselines",
        "--scenario",
        "capacity",
        "--config",
        config.to_str().unwrap(),
        "--episodes",
        "2",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("oracle-dp (perfect foresight)")
            && out.contains("reactive@0.8")
            && out.contains("gap"),
        "{out}"
    );
    let oracle_gap = out
        .lines()
        .find(|l| l.starts_with("oracle-dp") && l.trim_end().ends_with(']'))
        .unwrap();
    assert!(
        oracle_gap.contains(" 0.0% ") && oracle_gap.ends_with("0.00% [0.00, 0.00]"),
        "{oracle_gap}"
    );
    // The mean-demand oracle is the bound for causal policies: above perfect foresight.
    let mean_gap = out
        .lines()
        .find(|l| l.starts_with("oracle-mean-dp") && l.trim_end().ends_with(']'))
        .unwrap();
    assert!(!mean_gap.contains(" 0.0% "), "{mean_gap}");

    let plot = dir.path().join("f.png");
    let (ok, out, err) = planetgym(&[
        "forecast",
        "--series",
        "builtin:azure_vm_v2",
        "--horizon",
        "6",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    for name in [
        "seasonal-naive(24)",
        "moving-average(6)",
        "holt-winters-additive(24)",
        "holt-winters-multiplicative(24)",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{out}"));
        let numbers: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        assert!(
            numbers.len() == 3 && numbers.iter().all(|v| v.is_finite() && *v > 0.0),
            "{line}"
        );
    }
    assert!(std::fs::read(&plot).unwrap().starts_with(b"\x89PNG"));
    let (ok, _, err) = planetgym(&["forecast", "--series", "nope:x"]);
    assert!(!ok && err.contains("unknown series `nope:x`"), "{err}");
}

const TINY_TRAIN: &str = "scenario = \"capacity\"\ntotal_steps = 1024\nnum_envs = 2\nhidden = 8\ncheckpoint_every = 1\n[env]\nepisode_periods = 24\n[ppo]\nrollout_steps = 64\nminibatches = 2\n[eval]\nepisodes = 2\n";

#[test]
fn train_then_eval_the_run_with_the_same_table_as_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tiny.toml");
    std::fs::write(&config, TINY_TRAIN).unwrap();
    let run = dir.path().join("run");
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    let (ok, out, err) = planetgym(&[
        "train",
        "--config",
        &p(&config),
        "--run-dir",
        &p(&run),
        "--stop-after",
        "3",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("stopped after update 3") && out.contains("--resume"),
        "{out}"
    );
    let (ok, out, err) = planetgym(&["train", "--resume", &p(&run)]);
    assert!(ok, "{err}");
    assert!(
        out.contains("evaluation: 2 episodes") && out.contains("\nppo "),
        "{out}"
    );
    let json = dir.path().join("eval.json");
    let (ok, out, err) = planetgym(&[
        "eval",
        "--policy",
        &p(&run),
        "--episodes",
        "2",
        "--seed",
        "5",
        "--json",
        &p(&json),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("reactive@0.8") && out.contains("\nppo "),
        "{out}"
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(
        rows.iter()
            .any(|r| r["policy"] == "ppo" && r["metric"] == "cost")
    );
    // Mismatches and missing pieces are named.
    let (ok, _, err) = planetgym(&["eval", "--policy", &p(&run), "--scenario", "traffic"]);
    assert!(
        !ok && err.contains("trained on `capacity`, not `traffic`"),
        "{err}"
    );
    let (ok, _, err) = planetgym(&["eval", "--scenario", "capacity"]);
    assert!(!ok && err.contains("--policy"), "{err}");
    let (ok, _, err) = planetgym(&["eval", "--policy", &p(dir.path())]);
    assert!(!ok && err.contains("no policy at"), "{err}");
    std::fs::write(run.join("policy.json"), "{\"format\": 1}").unwrap();
    let (ok, _, err) = planetgym(&["eval", "--policy", &p(&run)]);
    assert!(
        !ok && err.contains("corrupt or not a planetgym policy"),
        "{err}"
    );
}

#[test]
fn ctrl_c_stops_training_cleanly_with_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("long.toml");
    std::fs::write(
        &config,
        TINY_TRAIN.replace("total_steps = 1024", "total_steps = 100000000"),
    )
    .unwrap();
    let run = dir.path().join("run");
    let child = Command::new(env!("CARGO_BIN_EXE_planetgym"))
        .args([
            "train",
            "--config",
            config.to_str().unwrap(),
            "--run-dir",
            run.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let metrics = run.join("metrics.csv");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&metrics)
        .unwrap_or_default()
        .lines()
        .count()
        < 3
    {
        assert!(started.elapsed().as_secs() < 120, "training did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("stopped after update"), "{stdout}");
    // The checkpoint's first line is its integrity header, the second its contents.
    let text = std::fs::read_to_string(run.join("checkpoint.json")).unwrap();
    let ck: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    assert!(ck["updates"].as_u64().unwrap() >= 2);
}

#[test]
fn committed_policies_re_evaluate_in_one_command() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for scenario in ["capacity", "batch", "placement", "traffic"] {
        let policy = root.join("experiments/policies").join(scenario);
        if !policy.exists() {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("e.json");
        let (ok, out, err) = planetgym(&[
            "eval",
            "--policy",
            policy.to_str().unwrap(),
            "--episodes",
            "1",
            "--seed",
            "11",
            "--json",
            json.to_str().unwrap(),
            "--curves",
            dir.path().join("c.csv").to_str().unwrap(),
            "--plot",
            dir.path().join("c.png").to_str().unwrap(),
        ]);
        assert!(ok, "{scenario}: {err}");
        assert!(out.contains("\nppo "), "{scenario}: {out}");
    }
    // The training configs (PPO and imitation) parse and name existing scenarios.
    for entry in std::fs::read_dir(root.join("experiments/configs")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("ppo_") || name.starts_with("bc_") {
            planetgym_training::ppo::TrainConfig::from_file(&path)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[test]
fn a_committed_batch_policy_guides_a_rollout_search() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let policy = root.join("experiments/policies/batch");
    let guided = |guide: &str| {
        planetgym(&[
            "eval",
            "--policy",
            policy.to_str().unwrap(),
            "--jobs",
            "64",
            "--episodes",
            "2",
            "--policies",
            "sjf,rollout-sjf@2",
            "--guide",
            guide,
        ])
    };
    let (ok, out, err) = guided("rollout-sjf@2");
    assert!(ok, "{err}");
    for row in [
        "\nsjf ",
        "\nrollout-sjf@2 ",
        "\nppo ",
        "\nppo+rollout-sjf@2 ",
    ] {
        assert!(out.contains(row), "{row}: {out}");
    }
    let (ok, out, err) = guided("union-rollout-sjf@2");
    assert!(
        ok && out.contains("\nppo+union-rollout-sjf@2 "),
        "{err}{out}"
    );
    let (ok, _, err) = guided("rollout-sjf@99");
    assert!(
        !ok && err.contains("--guide") && err.contains("[1, 64]"),
        "{err}"
    );
    let capacity = root.join("experiments/policies/capacity");
    let (ok, _, err) = planetgym(&[
        "eval",
        "--policy",
        capacity.to_str().unwrap(),
        "--episodes",
        "1",
        "--guide",
        "rollout-sjf@2",
    ]);
    assert!(
        !ok && err.contains("no search guided by a learned policy"),
        "{err}"
    );
    let (ok, _, err) = planetgym(&[
        "baselines",
        "--scenario",
        "batch",
        "--jobs",
        "64",
        "--episodes",
        "1",
        "--guide",
        "rollout-sjf@2",
    ]);
    assert!(!ok && err.contains("pass --policy DIR"), "{err}");
}

#[test]
fn tables_compare_every_policy_with_a_reference_on_the_same_episodes() {
    let dir = tempfile::tempdir().unwrap();
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    let (json, episodes) = (dir.path().join("t.json"), dir.path().join("e.csv"));
    let small = ["--set", "episode_periods=24", "--set", "sites=2"];
    let (ok, out, err) = planetgym(
        &[
            &[
                "baselines",
                "--scenario",
                "capacity",
                "--episodes",
                "12",
                "--json",
                &p(&json),
                "--per-episode",
                &p(&episodes),
            ][..],
            &small,
        ]
        .concat(),
    );
    assert!(ok, "{err}");
    assert!(out.contains("reward, paired against "), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("oracle-dp") && l.ends_with("bound")),
        "oracles are bounds: {out}"
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let reference = rows
        .iter()
        .find_map(|r| r["reference"].as_str())
        .unwrap()
        .to_string();
    for r in rows.iter().filter(|r| r["policy"] != reference.as_str()) {
        let n = ["wins", "ties", "losses"].map(|k| r[k].as_u64().unwrap());
        assert_eq!(n.iter().sum::<u64>(), 12, "{r}");
        assert!(r["difference_low"].as_f64() <= r["difference_high"].as_f64());
        assert!(r["verdict"].is_string() && r["p_holm"].as_f64() >= r["p_value"].as_f64());
    }
    let lines = std::fs::read_to_string(&episodes).unwrap();
    assert!(lines.starts_with("policy,oracle,run,episode,seed,steps,reward,"));
    let policies = rows.iter().filter(|r| r["metric"] == "reward").count();
    assert_eq!(lines.lines().count(), 1 + 12 * policies);
    // A named reference; an oracle is refused as one.
    let (ok, out, _) = planetgym(
        &[
            &[
                "baselines",
                "--scenario",
                "capacity",
                "--episodes",
                "3",
                "--reference",
                "reactive@0.8",
            ][..],
            &small,
        ]
        .concat(),
    );
    assert!(ok && out.contains("paired against reactive@0.8"), "{out}");
    let (ok, _, err) = planetgym(
        &[
            &[
                "baselines",
                "--scenario",
                "capacity",
                "--episodes",
                "2",
                "--reference",
                "oracle-dp (perfect foresight)",
            ][..],
            &small,
        ]
        .concat(),
    );
    assert!(
        !ok && err.contains("oracles are bounds, never the reference"),
        "{err}"
    );
    // Without --episodes, a pilot decides how many.
    let (ok, out, err) =
        planetgym(&[&["baselines", "--scenario", "capacity"][..], &small].concat());
    assert!(ok, "{err}");
    assert!(out.contains("(pilot of 20, then as many as"), "{out}");
}

/// Trains `TINY_TRAIN` (written to DIR/tiny.toml) with two seeds into DIR/seeds, with `extra`
/// arguments: the run directory and what planetgym said.
fn train_two_seeds(
    dir: &std::path::Path,
    extra: &[&str],
) -> (std::path::PathBuf, (bool, String, String)) {
    let config = dir.join("tiny.toml");
    std::fs::write(&config, TINY_TRAIN).unwrap();
    let run = dir.join("seeds");
    let (config_arg, run_arg) = (config.to_str().unwrap(), run.to_str().unwrap());
    let mut args = vec![
        "train",
        "--config",
        config_arg,
        "--run-dir",
        run_arg,
        "--seeds",
        "2",
    ];
    args.extend_from_slice(extra);
    let said = planetgym(&args);
    (run, said)
}

#[test]
fn several_seeds_train_into_run_directories_that_eval_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    let (run, (ok, out, err)) = train_two_seeds(dir.path(), &[]);
    assert!(ok, "{err}");
    assert!(out.contains("reward, paired against "), "{out}");
    for k in 0..2 {
        assert!(run.join(format!("run-{k}/policy.json")).exists());
    }
    assert!(run.join("episodes.csv").exists() && run.join("eval.json").exists());
    let report = dir.path().join("report");
    let (ok, out, err) = planetgym(&[
        "eval",
        "--policy",
        &p(&run),
        "--episodes",
        "4",
        "--report-dir",
        &p(&report),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("2 training runs of ppo and ppo-sampled"),
        "{out}"
    );
    assert!(out.contains("aggregated as rliable does"), "{out}");
    let ppo = out
        .lines()
        .find(|l| l.starts_with("ppo ") && l.contains("2 x 4"))
        .unwrap();
    assert!(ppo.contains('['), "{ppo}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("ppo-sampled ") && l.contains("2 x 4")),
        "{out}"
    );
    for file in [
        "aggregate.json",
        "performance_profile.png",
        "probability_of_improvement.png",
    ] {
        assert!(report.join(file).exists(), "{file}");
    }
    let aggregate: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("aggregate.json")).unwrap())
            .unwrap();
    assert_eq!(aggregate["one"][0], "oracle-dp (perfect foresight)");
    assert!(
        aggregate["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["optimality_gap"].is_number())
    );
    // Both runs as one ensemble: one run of the method; three do not divide two runs.
    let ensemble = |n: &str| {
        planetgym(&[
            "eval",
            "--policy",
            &p(&run),
            "--episodes",
            "4",
            "--ensemble",
            n,
        ])
    };
    let (ok, out, err) = ensemble("2");
    assert!(ok, "{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("ppo ") && l.contains("1 x 4")),
        "{out}"
    );
    let (ok, _, err) = ensemble("3");
    assert!(
        !ok && err.contains("--ensemble") && err.contains("2 training runs"),
        "{err}"
    );
    let (ok, _, err) = planetgym(&["train", "--resume", &p(&run.join("run-0")), "--seeds", "2"]);
    assert!(!ok && err.contains("--seeds"), "{err}");
}

#[test]
fn stop_after_stops_every_run_of_several_seeds_alike() {
    let dir = tempfile::tempdir().unwrap();
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    let (run, (ok, out, err)) = train_two_seeds(dir.path(), &["--stop-after", "2"]);
    assert!(ok, "{err}");
    for k in 0..2 {
        let resume = format!("--resume {}", p(&run.join(format!("run-{k}"))));
        assert!(
            out.lines()
                .any(|l| l.starts_with("stopped after update 2 ") && l.ends_with(&resume)),
            "run {k}: {out}"
        );
    }
    assert!(
        !out.contains("evaluation:") && !out.contains("not started"),
        "{out}"
    );
    let (ok, out, err) = planetgym(&["train", "--resume", &p(&run.join("run-1"))]);
    assert!(ok, "{err}");
    assert!(out.contains("evaluation: 2 episodes"), "{out}");
    // A run stopped before its first update would have nothing to resume.
    let config = p(&dir.path().join("tiny.toml"));
    let (ok, _, err) = planetgym(&["train", "--config", &config, "--stop-after", "0"]);
    assert!(!ok && err.contains("--stop-after"), "{err}");
}

#[test]
fn holdout_evaluates_on_the_shared_holdout_split() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/holdout");
    let (ok, _, err) = planetgym(&[
        "baselines",
        "--scenario",
        "capacity",
        "--holdout",
        "--episodes",
        "1",
    ]);
    // The tests run in a fresh directory: the default ../shared/data/holdout is not there.
    assert!(!ok && err.contains("PLANETGYM_HOLDOUT"), "{err}");
    if !root.exists() {
        return;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_planetgym"))
        .args([
            "baselines",
            "--scenario",
            "capacity",
            "--holdout",
            "--episodes",
            "2",
        ])
        .args([
            "--per-episode",
            std::env::temp_dir().join("holdout_e.csv").to_str().unwrap(),
        ])
        .env("PLANETGYM_HOLDOUT", &root)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("day22-30") && text.contains("(history from builtin:azure_vm_v2)"),
        "the heading names the holdout series and where its history comes from: {text}"
    );
}

#[test]
fn baselines_run_the_chosen_policies_and_write_only_under_out() {
    let cwd = tempfile::tempdir().unwrap();
    let out = cwd.path().join("results");
    let out_arg = out.to_str().unwrap();
    let args = [
        "baselines",
        "--scenario",
        "capacity",
        "--set",
        "episode_periods=24",
        "--episodes",
        "2",
        "--policies",
        "reactive@0.7,forecast+30%:holt-winters-additive(24),oracle-dp (perfect foresight)",
    ];
    let every_step = [("PLANETGYM_PROGRESS_SECONDS", "0")];
    let (ok, stdout, stderr) = planetgym_in(
        cwd.path(),
        &every_step,
        &[&args[..], &["--out", out_arg]].concat(),
    );
    assert!(ok, "{stderr}");
    for policy in [
        "reactive@0.7",
        "forecast+30%:holt-winters-additive(24)",
        "oracle-dp",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(policy)),
            "{policy}:\n{stdout}"
        );
    }
    assert!(!stdout.contains("reactive@0.8"), "{stdout}");
    for file in ["episodes.csv", "table.csv", "table.json"] {
        assert!(out.join(file).exists(), "{file}");
    }
    let episodes = std::fs::read_to_string(out.join("episodes.csv")).unwrap();
    assert_eq!(episodes.lines().count(), 1 + 3 * 2);
    // Plain progress lines in logs (stderr is a pipe here), and a last one when done.
    assert!(
        stderr.contains("evaluating (steps): ") && stderr.contains("(done)"),
        "{stderr}"
    );
    // Nothing lands in the working directory but --out, and nothing at all without it.
    let entries: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
    std::fs::remove_dir_all(&out).unwrap();
    let (ok, stdout, stderr) = planetgym_in(cwd.path(), &[], &args);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("no files written"), "{stdout}");
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);

    let (ok, _, stderr) = planetgym(&[
        "baselines",
        "--scenario",
        "capacity",
        "--policies",
        "reactive@2",
    ]);
    assert!(
        !ok && stderr.contains("--policies: baseline `reactive@2`"),
        "{stderr}"
    );
    let (ok, _, stderr) = planetgym(&[
        "baselines",
        "--scenario",
        "traffic",
        "--policies",
        "lp,nope",
    ]);
    assert!(
        !ok && stderr.contains("no baseline `nope`") && stderr.contains("greedy-spillover@U"),
        "{stderr}"
    );
    let (ok, _, stderr) = planetgym_in(
        cwd.path(),
        &[("PLANETGYM_PROGRESS_SECONDS", "forever")],
        &args,
    );
    assert!(
        !ok && stderr.contains("PLANETGYM_PROGRESS_SECONDS"),
        "{stderr}"
    );
}

#[test]
fn a_configuration_where_every_policy_scores_the_same_is_flagged() {
    // The NASA log's submit times are start times: at its own load no job ever queues.
    let (ok, _, stderr) = planetgym(&[
        "baselines",
        "--scenario",
        "batch",
        "--trace",
        "builtin:nasa_ipsc",
        "--jobs",
        "64",
        "--episodes",
        "3",
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("warning: every policy"), "{stderr}");
}

#[test]
fn relative_data_paths_in_a_config_file_are_read_from_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (data, configs) = (dir.path().join("data"), dir.path().join("configs"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&configs).unwrap();
    let mut nodes = String::from("sn,cpu_milli,memory_mib,gpu,model\n");
    for i in 0..8 {
        nodes += &format!("n{i},32000,131072,4,T4\n");
    }
    std::fs::write(data.join("nodes.csv"), nodes).unwrap();
    let mut pods = String::from(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n",
    );
    for i in 0..6 {
        pods += &format!("p{i},4000,8192,1,500,,LS,Running,{i},,{i}\n");
    }
    std::fs::write(data.join("pods.csv"), pods).unwrap();
    let config = configs.join("placement.toml");
    std::fs::write(
        &config,
        "nodes = \"../data/nodes.csv\"\npods = \"../data/pods.csv\"\n",
    )
    .unwrap();
    // Run from an unrelated working directory: the paths are the config file's.
    let (ok, out, err) = planetgym(&[
        "baselines",
        "--scenario",
        "placement",
        "--config",
        config.to_str().unwrap(),
        "--episodes",
        "1",
        "--policies",
        "best-fit",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("8 nodes, 32 GPUs"), "{out}");
    // A training config's [env] table is a scenario config, read the same way.
    let train = configs.join("train.toml");
    std::fs::write(
        &train,
        "scenario = \"placement\"\ntotal_steps = 64\nnum_envs = 2\nhidden = 8\n[env]\nnodes = \"../data/nodes.csv\"\npods = \"../data/pods.csv\"\n[ppo]\nrollout_steps = 32\n[eval]\nepisodes = 0\n",
    )
    .unwrap();
    let run = dir.path().join("run");
    let (ok, _, err) = planetgym(&[
        "train",
        "--config",
        train.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let scenario = std::fs::read_to_string(run.join("scenario.toml")).unwrap();
    let configs = std::fs::canonicalize(&configs).unwrap();
    assert!(
        scenario.contains(&configs.join("../data/nodes.csv").display().to_string()),
        "{scenario}"
    );
}

#[test]
fn eval_runs_an_onnx_export_like_the_policy_it_came_from() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let policy = root.join("experiments/policies/capacity");
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    let (ok, _, err) = planetgym(&[
        "export",
        "--run",
        policy.to_str().unwrap(),
        "--out",
        export.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let reward_of = |target: &std::path::Path, row: &str| {
        let json = dir.path().join(format!("{row}.json"));
        let (ok, _, err) = planetgym(&[
            "eval",
            "--policy",
            target.to_str().unwrap(),
            "--episodes",
            "2",
            "--seed",
            "3",
            "--policies",
            "reactive@0.8",
            "--json",
            json.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        let rows: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["policy"] == row && r["metric"] == "reward")
            .map(|r| r["mean"].as_f64().unwrap())
            .unwrap()
    };
    let (onnx, ppo) = (reward_of(&export, "onnx"), reward_of(&policy, "ppo"));
    assert!(
        (onnx - ppo).abs() <= 1e-9 * ppo.abs(),
        "onnx {onnx} vs burn {ppo}"
    );
}

#[test]
fn risk_scores_the_baselines_on_a_temporal_split_and_writes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let (ok, out, err) = planetgym(&[
        "risk",
        "--task",
        "batch-task-failure",
        "--resamples",
        "100",
        "--out",
        out_dir,
    ]);
    assert!(ok, "{err}");
    for expected in [
        "purged",
        "test     threshold",
        "test     logistic",
        "- threshold",
    ] {
        assert!(out.contains(expected), "{expected}:\n{out}");
    }
    let task = dir.path().join("batch-task-failure");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(task.join("report.json")).unwrap()).unwrap();
    let auroc = report["scored"][1]["scores"]["auroc"]["point"]
        .as_f64()
        .unwrap();
    assert!(auroc > 0.6, "{auroc}");
    let csv = std::fs::read_to_string(task.join("scores.csv")).unwrap();
    // Four predictors and three paired differences, four metrics each.
    assert_eq!(csv.lines().count(), 1 + 7 * 4, "{csv}");
    assert!(task.join("reliability_test.png").exists());
    // Errors name what was wrong.
    let (ok, _, err) = planetgym(&["risk", "--task", "nope"]);
    assert!(
        !ok && err.contains("batch-task-failure, lora-request-failure"),
        "{err}"
    );
    let (ok, _, err) = planetgym(&["risk", "--resamples", "5"]);
    assert!(!ok && err.contains("resamples = 5"), "{err}");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "gmt_create,predict_type\n1,2\n").unwrap();
    let (ok, _, err) = planetgym(&[
        "risk",
        "--task",
        "lora-request-failure",
        "--data",
        bad.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("no column `predict_status`"), "{err}");
    let (ok, _, err) = planetgym(&["risk", "--holdout"]);
    assert!(!ok && err.contains("PLANETGYM_HOLDOUT"), "{err}");
}
