//! Export and shadow mode through the command line, on the committed policies: export (which
//! checks the graph against burn), decision logs from the simulator, replay through the
//! exported artifact, bad lines, pipes, and refusal of corrupted or mismatched artifacts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::planetgym;

/// Runs planetgym with `input` on stdin.
fn piped(args: &[&str], input: &[u8]) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_planetgym"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn policy(scenario: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../experiments/policies")
        .join(scenario)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn export(scenario: &str, out: &Path) -> Value {
    let (ok, stdout, err) = planetgym(&["export", "--run", s(&policy(scenario)), "--out", s(out)]);
    assert!(ok, "{scenario}: {err}");
    assert!(stdout.contains("checked against burn"), "{stdout}");
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

/// The scenario config a committed policy was trained on, as a file.
fn scenario_config(scenario: &str, dir: &Path) -> PathBuf {
    let file: Value =
        serde_json::from_slice(&std::fs::read(policy(scenario).join("policy.json")).unwrap())
            .unwrap();
    let path = dir.join(format!("{scenario}.toml"));
    std::fs::write(&path, file["scenario_config"].as_str().unwrap()).unwrap();
    path
}

fn sample(scenario: &str, incumbent: &str, records: &str, out: &Path) {
    let config = scenario_config(scenario, out.parent().unwrap());
    let (ok, _, err) = planetgym(&[
        "shadow-sample",
        "--scenario",
        scenario,
        "--config",
        s(&config),
        "--incumbent",
        incumbent,
        "--records",
        records,
        "--seed",
        "5",
        "--output",
        s(out),
    ]);
    assert!(ok, "{scenario}: {err}");
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every scenario's committed policy exports; replaying logs that the same (burn) policy took
/// through the exported artifact reproduces its decisions; a baseline's logs give a report.
#[test]
fn exported_policies_reproduce_their_own_decisions_in_shadow_mode() {
    for (scenario, baseline) in [
        ("capacity", "reactive@0.8"),
        ("batch", "f1"),
        ("placement", "best-fit"),
        ("traffic", "nearest"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("export");
        let m = export(scenario, &out);
        assert_eq!(m["scenario"], scenario);
        assert!(m["verification"]["observations"].as_u64().unwrap() >= 256);
        // Relative to max(1, |output|). The committed capacity network (526 inputs, 128 hidden,
        // logits up to 20) reaches about 1.2e-5: float32 rounding, as large as either side's own
        // error against a float64 evaluation (about 8e-6); the others stay below 1e-5.
        let tolerance = if scenario == "capacity" { 3e-5 } else { 1e-5 };
        let diff = m["verification"]["max_difference"].as_f64().unwrap();
        assert!(diff <= tolerance, "{scenario}: {}", m["verification"]);
        assert_eq!(m["onnx"]["sha256"].as_str().unwrap().len(), 64);

        // The burn policy as the incumbent: the export must take the same decisions.
        let own = dir.path().join("own.jsonl");
        sample(scenario, s(&policy(scenario)), "150", &own);
        let shadow = dir.path().join("shadow.jsonl");
        let report = dir.path().join("report.json");
        let (ok, _, err) = planetgym(&[
            "shadow",
            "--policy",
            s(&out),
            "--input",
            s(&own),
            "--output",
            s(&shadow),
            "--report",
            s(&report),
        ]);
        assert!(ok, "{scenario}: {err}");
        let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        assert_eq!(r["decisions"], 150, "{scenario}: {r}");
        assert_eq!(r["skipped"], 0, "{scenario}: {r}");
        assert!(
            r["mean_distance"].as_f64().unwrap() < 1e-3,
            "{scenario}: {r}"
        );
        assert_eq!(r["agreement_rate"], 1.0, "{scenario}: {r}");
        assert!(err.contains("decision latency: p50"), "{err}");
        let out_lines = lines(&shadow);
        assert_eq!(out_lines.len(), 150);
        assert_eq!(out_lines[0]["line"], 1);
        assert!(out_lines[0]["latency_us"].as_f64().unwrap() > 0.0);

        // A baseline as the incumbent.
        let logs = dir.path().join("baseline.jsonl");
        sample(scenario, baseline, "60", &logs);
        let (ok, _, err) = planetgym(&[
            "shadow",
            "--policy",
            s(&out),
            "--input",
            s(&logs),
            "--output",
            s(&shadow),
        ]);
        assert!(ok, "{scenario}: {err}");
        assert!(err.contains("60 decisions, 0 skipped"), "{scenario}: {err}");
        let rewards = err.contains("counterfactual one-step reward over 60 records");
        assert_eq!(rewards, scenario == "traffic", "{scenario}: {err}");
    }
}

/// Pipes, bad lines (each reported with its number, the stream goes on), the schema.
#[test]
fn shadow_streams_and_reports_bad_lines_by_number() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export");
    export("placement", &out);
    let logs = dir.path().join("logs.jsonl");
    sample("placement", "best-fit", "5", &logs);
    let good: Vec<String> = std::fs::read_to_string(&logs)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let mut record: Value = serde_json::from_str(&good[0]).unwrap();
    let mut missing = record.clone();
    missing["observation"]["global"]
        .as_object_mut()
        .unwrap()
        .remove("pod_gpus");
    let mut unknown = record.clone();
    unknown["observation"]["entities"][2]["colour"] = Value::from(1.0);
    let mut text = record.clone();
    text["observation"]["global"]["pod_cpu"] = Value::from("NaN");
    let mut illegal = record.clone();
    let n = record["observation"]["entities"].as_array().unwrap().len();
    illegal["incumbent"] = Value::from(n + 3);
    // The incumbent's node marked as padding: it could not have been chosen.
    let mut padded = record.clone();
    let chosen = padded["incumbent"].as_u64().unwrap() as usize;
    let mut present = vec![1; n];
    present[chosen] = 0;
    padded["observation"]["entity_mask"] = Value::from(present);
    let mut no_outcome = record.clone();
    no_outcome["outcome"] = Value::Null;
    record.as_object_mut().unwrap().remove("timestamp");
    let mut input = [
        good[0].clone(),
        "{not json".into(),
        missing.to_string(),
        good[1].clone(),
        unknown.to_string(),
        text.to_string(),
        illegal.to_string(),
        record.to_string(),
        String::new(),
        good[2].clone(),
        padded.to_string(),
    ]
    .join("\n")
    .into_bytes();
    input.extend_from_slice(b"\n{\"timestamp\": \"\xff\xfe\"}\n");
    input.extend_from_slice(no_outcome.to_string().as_bytes());
    let (ok, stdout, err) = piped(&["shadow", "--policy", s(&out)], &input);
    assert!(ok, "{err}");
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    for expected in [
        "line 2: not a JSON object",
        "line 3: observation.global: feature `pod_gpus` (GPUs) is missing",
        "line 5: observation.entities[2]: unknown feature `colour`",
        "line 6: observation.global.pod_cpu: expected a finite number, got \"NaN\"",
        "line 7: incumbent:",
        "line 8: `timestamp`",
        "line 11: incumbent:",
        "line 12: not UTF-8 text (byte 15)",
        "13 lines: 4 decisions, 8 skipped",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in\n{err}");
    }
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["line"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 4, 10, 13]
    );

    // The sampler writes to stdout too, so the two commands pipe together.
    let (ok, sampled, err) = planetgym(&[
        "shadow-sample",
        "--scenario",
        "placement",
        "--config",
        s(&scenario_config("placement", dir.path())),
        "--incumbent",
        "best-fit",
        "--records",
        "4",
    ]);
    assert!(ok, "{err}");
    let (ok, stdout, err) = piped(&["shadow", "--policy", s(&out)], sampled.as_bytes());
    assert!(ok && stdout.lines().count() == 4, "{err}");

    // The schema names every feature, per scenario and per export.
    let (ok, schema, err) = planetgym(&["shadow", "--schema", "placement"]);
    assert!(ok, "{err}");
    let schema: Value = serde_json::from_str(&schema).unwrap();
    let global = &schema["properties"]["observation"]["properties"]["global"]["required"];
    assert!(
        global
            .as_array()
            .unwrap()
            .contains(&Value::from("pod_gpus")),
        "{global}"
    );
    let (ok, exported, _) = planetgym(&["shadow", "--schema", s(&out)]);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<Value>(&exported).unwrap()["properties"]["observation"],
        schema["properties"]["observation"]
    );
    let (ok, _, err) = planetgym(&["shadow", "--schema", "nope"]);
    assert!(!ok && err.contains("unknown scenario `nope`"), "{err}");
    let (ok, _, err) = planetgym(&[
        "shadow-sample",
        "--scenario",
        "placement",
        "--incumbent",
        "magic",
        "--records",
        "1",
    ]);
    assert!(
        !ok && err.contains("no baseline `magic`") && err.contains("best-fit"),
        "{err}"
    );
}

/// Edited manifests, corrupted graphs and artifacts mixed from two exports are refused.
#[test]
fn corrupted_or_mismatched_artifacts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("placement"), dir.path().join("batch"));
    export("placement", &a);
    let other = export("batch", &b);
    let logs = dir.path().join("logs.jsonl");
    sample("placement", "best-fit", "2", &logs);
    let refused = |artifact: &Path, expected: &str| {
        let (ok, _, err) = planetgym(&["shadow", "--policy", s(artifact), "--input", s(&logs)]);
        assert!(
            !ok && err.contains(expected),
            "expected {expected:?}, got: {err}"
        );
    };
    let copy = |name: &str| {
        let to = dir.path().join(name);
        std::fs::create_dir_all(&to).unwrap();
        for f in ["policy.onnx", "manifest.json"] {
            std::fs::copy(a.join(f), to.join(f)).unwrap();
        }
        to
    };
    let manifest = |p: &Path| -> Value {
        serde_json::from_slice(&std::fs::read(p.join("manifest.json")).unwrap()).unwrap()
    };
    let save = |p: &Path, m: &Value| {
        std::fs::write(p.join("manifest.json"), serde_json::to_vec(m).unwrap()).unwrap()
    };

    // One flipped byte in the graph.
    let flipped = copy("flipped");
    let mut bytes = std::fs::read(flipped.join("policy.onnx")).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(flipped.join("policy.onnx"), bytes).unwrap();
    refused(&flipped, "differs from the manifest's");

    // An edited feature name (the hash no longer matches the spec).
    let edited = copy("edited");
    let mut m = manifest(&edited);
    m["feature_spec"]["layout"]["global"][0]["name"] = Value::from("pod_cpu_cores");
    save(&edited, &m);
    refused(&edited, "does not match its feature spec");

    // Another scenario's FeatureSpec hash.
    let foreign = copy("foreign");
    let mut m = manifest(&foreign);
    m["feature_spec_hash"] = other["feature_spec_hash"].clone();
    save(&foreign, &m);
    refused(&foreign, "does not match its feature spec");

    // The other export's graph under this manifest, checksum and all.
    let mixed = copy("mixed");
    std::fs::copy(b.join("policy.onnx"), mixed.join("policy.onnx")).unwrap();
    let mut m = manifest(&mixed);
    m["onnx"]["sha256"] = other["onnx"]["sha256"].clone();
    m["onnx"]["bytes"] = other["onnx"]["bytes"].clone();
    save(&mixed, &m);
    refused(&mixed, "another scenario or feature spec");

    // Not a manifest at all, a manifest from the future, no artifact.
    let garbage = copy("garbage");
    std::fs::write(garbage.join("manifest.json"), "{\"format\": 1").unwrap();
    refused(&garbage, "corrupt or not a planetgym manifest");
    let future = copy("future");
    let mut m = manifest(&future);
    m["format"] = Value::from(99);
    save(&future, &m);
    refused(&future, "manifest format 99 is not supported");
    refused(&dir.path().join("nothing"), "no exported policy");

    // Fields the graph's metadata pins: the action space, log_std, the scenario config.
    for (name, field, value) in [
        (
            "space",
            "action_space",
            serde_json::json!({"kind": "discrete", "n": 3}),
        ),
        ("std", "log_std", serde_json::json!([0.5])),
        (
            "config",
            "scenario_config",
            Value::from("replay_pods = 1\n"),
        ),
    ] {
        let edited = copy(name);
        let mut m = manifest(&edited);
        m[field] = value;
        save(&edited, &m);
        let pinned = if field == "scenario_config" {
            "scenario_config_sha256"
        } else {
            field
        };
        refused(
            &edited,
            &format!("the manifest's `{pinned}` differs from what the graph was exported with"),
        );
    }
    // The graph is always policy.onnx beside the manifest.
    let elsewhere = copy("elsewhere");
    let mut m = manifest(&elsewhere);
    m["onnx"]["file"] = Value::from("../placement/policy.onnx");
    save(&elsewhere, &m);
    refused(&elsewhere, "onnx.file is `../placement/policy.onnx`");
}

/// Traffic records: ragged splits and outcomes are refused, a missing outcome only loses the
/// counterfactual reward, and a bad tolerance is refused up front.
#[test]
fn traffic_records_are_checked_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export");
    export("traffic", &out);
    let logs = dir.path().join("logs.jsonl");
    sample("traffic", "nearest", "1", &logs);
    let record: Value =
        serde_json::from_str(std::fs::read_to_string(&logs).unwrap().trim()).unwrap();
    let mut ragged = record.clone();
    ragged["incumbent"][1].as_array_mut().unwrap().pop();
    let mut short_rtt = record.clone();
    short_rtt["outcome"]["rtt_ms"][0]
        .as_array_mut()
        .unwrap()
        .pop();
    let mut extra = record.clone();
    extra["outcome"]["weather"] = Value::from("rain");
    let mut bare = record.clone();
    bare.as_object_mut().unwrap().remove("outcome");
    let input = [record, ragged, short_rtt, extra, bare]
        .map(|r| r.to_string())
        .join("\n");
    let (ok, stdout, err) = piped(&["shadow", "--policy", s(&out)], input.as_bytes());
    assert!(ok, "{err}");
    for expected in [
        "line 2: incumbent[1]: 11 weights",
        "line 3: outcome.rtt_ms[0]: 11 values, one per site (12) expected",
        "line 4: outcome: unknown field `weather`",
        "5 lines: 2 decisions, 3 skipped",
        "counterfactual one-step reward over 1 records",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in\n{err}");
    }
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines[0]["reward_policy"].is_number() && lines[1].get("reward_policy").is_none());
    let (ok, _, err) = planetgym(&["shadow", "--policy", s(&out), "--tolerance", "NaN"]);
    assert!(
        !ok && err.contains("`NaN` is not a finite number >= 0"),
        "{err}"
    );
}
