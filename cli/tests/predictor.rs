//! A risk predictor exported and replayed in shadow mode through the command line: the export
//! (checked against the fitted model), one decision record per logged row, scores on the
//! logged outcomes equal to the exact ones, bad lines skipped, and corrupted or edited exports
//! refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use serde_json::Value;
use std::path::Path;

mod common;
use common::planetgym;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn an_exported_predictor_answers_every_logged_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fleet");
    let (ok, stdout, err) = planetgym(&["risk", "--task", "fleet-failure", "--export", s(&out)]);
    assert!(ok, "{err}");
    assert!(stdout.contains("test AUROC"), "{stdout}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["kind"], "risk-predictor");
    assert!(manifest["max_difference"].as_f64().unwrap() <= 1e-5);
    let threshold = manifest["alarm_threshold"].as_f64().unwrap();

    // The sample records, with two bad lines among them.
    let mut log = std::fs::read_to_string(out.join("test_records.jsonl")).unwrap();
    log.push_str("{\"timestamp\": 1, \"features\": {\"kernel_warnings\": 1}}\nnot json\n");
    let input = dir.path().join("log.jsonl");
    std::fs::write(&input, &log).unwrap();
    let (predictions, report) = (dir.path().join("p.jsonl"), dir.path().join("r.json"));
    let (ok, _, err) = planetgym(&[
        "shadow",
        "--predictor",
        s(&out),
        "--input",
        s(&input),
        "--output",
        s(&predictions),
        "--report",
        s(&report),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("line 5001: features.corrected_memory_errors is missing"),
        "{err}"
    );
    assert!(err.contains("line 5002:"), "{err}");
    let lines: Vec<Value> = std::fs::read_to_string(&predictions)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5000);
    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(
        (report["predictions"].as_u64(), report["skipped"].as_u64()),
        (Some(5000), Some(2))
    );
    // Scores on the outcomes agree with the exact ones from the decision records.
    let p: Vec<f64> = lines
        .iter()
        .map(|l| l["probability"].as_f64().unwrap())
        .collect();
    let y: Vec<bool> = lines
        .iter()
        .map(|l| l["failed"].as_bool().unwrap())
        .collect();
    let exact = planetgym_agents::risk::metrics::auroc(&p, &y);
    let auroc = report["outcomes"]["auroc"].as_f64().unwrap();
    assert!((auroc - exact).abs() < 1e-3, "{auroc} vs {exact}");
    let alarms = lines
        .iter()
        .filter(|l| l["alarm"].as_bool().unwrap())
        .count();
    assert_eq!(report["alarms"].as_u64(), Some(alarms as u64));
    for l in &lines {
        let (p, alarm) = (
            l["probability"].as_f64().unwrap(),
            l["alarm"].as_bool().unwrap(),
        );
        assert!(
            if alarm {
                p >= threshold - 1e-6
            } else {
                p < threshold + 1e-6
            },
            "{l}"
        );
    }

    // An edited threshold or a corrupted graph is refused.
    let edited = dir.path().join("edited");
    std::fs::create_dir_all(&edited).unwrap();
    std::fs::copy(out.join("predictor.onnx"), edited.join("predictor.onnx")).unwrap();
    let mut m = manifest.clone();
    m["alarm_threshold"] = Value::from(0.5);
    std::fs::write(
        edited.join("manifest.json"),
        serde_json::to_vec(&m).unwrap(),
    )
    .unwrap();
    let (ok, _, err) = planetgym(&["shadow", "--predictor", s(&edited), "--input", s(&input)]);
    assert!(!ok && err.contains("alarm_threshold"), "{err}");
    let mut bytes = std::fs::read(out.join("predictor.onnx")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(out.join("predictor.onnx"), bytes).unwrap();
    let (ok, _, err) = planetgym(&["shadow", "--predictor", s(&out), "--input", s(&input)]);
    assert!(!ok && err.contains("SHA-256"), "{err}");
}
