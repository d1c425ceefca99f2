//! Hostile input through the command line: sizes beyond their bounds, closed pipes, missing
//! files, oversized policies, tampered checkpoints, oversized and malformed log lines. Each
//! must end in a clear error (or a quiet exit for a closed pipe), never a panic or an abort.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::planetgym;

/// Runs planetgym with extra environment variables: (success, stdout, stderr).
fn planetgym_env(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    // Default output files (per-episode rows) go to the temporary directory, not the crate.
    let out = Command::new(env!("CARGO_BIN_EXE_planetgym"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn committed_policy(scenario: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../experiments/policies")
        .join(scenario)
}

#[test]
fn sizes_beyond_their_bounds_are_refused_with_the_bound() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "baselines",
                "--scenario",
                "capacity",
                "--episodes",
                "1000000",
            ],
            "--episodes = 1000000: at most 100000",
        ),
        (
            &[
                "baselines",
                "--scenario",
                "capacity",
                "--threads",
                "1000000",
            ],
            "--threads = 1000000: at most",
        ),
        (
            &[
                "baselines",
                "--scenario",
                "traffic",
                "--set",
                "interval_s=1.2e21",
            ],
            "interval_s = 1.2e21: must be in (0, 86400]",
        ),
        (
            &[
                "baselines",
                "--scenario",
                "batch",
                "--set",
                "visible_jobs=4294967295",
            ],
            "visible_jobs = 4294967295: at most 4096",
        ),
        (
            &[
                "forecast",
                "--series",
                "builtin:azure_vm_v2",
                "--horizon",
                "18446744073709551615",
            ],
            "--horizon = 18446744073709551615: at most 100000",
        ),
        (
            &[
                "shadow-sample",
                "--scenario",
                "capacity",
                "--incumbent",
                "reactive@0.8",
                "--records",
                "18446744073709551615",
            ],
            "records = 18446744073709551615: at most 100000000",
        ),
    ];
    for (args, want) in cases {
        let (ok, _, err) = planetgym(args);
        assert!(!ok && err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn commands_exit_quietly_when_the_reader_closes_the_pipe() {
    let commands: &[&[&str]] = &[
        &["scenarios"],
        &["scenarios", "--show", "traffic"],
        &["shadow", "--schema", "traffic"],
        &["train", "--show-default"],
        &[
            "baselines",
            "--scenario",
            "capacity",
            "--episodes",
            "1",
            "--set",
            "episode_periods=3",
        ],
        &[
            "shadow-sample",
            "--scenario",
            "capacity",
            "--incumbent",
            "reactive@0.8",
            "--records",
            "50",
        ],
        &[
            "forecast",
            "--series",
            "builtin:azure_vm_v2",
            "--horizon",
            "2",
        ],
    ];
    for args in commands {
        let child = Command::new(env!("CARGO_BIN_EXE_planetgym"))
            .args(*args)
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the command writes anything: every write fails.
        let mut child = child;
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {:?} {err}",
            out.status
        );
    }
}

#[test]
fn os_errors_are_named_once() {
    let (ok, _, err) = planetgym(&[
        "baselines",
        "--scenario",
        "batch",
        "--set",
        "trace=/nonexistent/log.swf",
    ]);
    assert!(!ok, "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(err.contains("/nonexistent/log.swf"), "{err}");
}

#[test]
fn a_policy_claiming_a_huge_network_is_refused_before_it_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(committed_policy("capacity").join("policy.json")).unwrap();
    let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (hidden, want) in [
        (1_000_000_000u64, "hidden = 1000000000: at most 4096"),
        (32, "parameter tensor 0: saved shape"),
    ] {
        file["hidden"] = serde_json::Value::from(hidden);
        std::fs::write(dir.path().join("policy.json"), file.to_string()).unwrap();
        for command in ["eval", "export"] {
            let mut args = vec![command];
            match command {
                "eval" => args.extend(["--policy", s(dir.path()), "--episodes", "1"]),
                _ => args.extend(["--run", s(dir.path()), "--out", "/nonexistent/out"]),
            }
            let (ok, _, err) = planetgym(&args);
            assert!(
                !ok && err.contains(want),
                "{command} with hidden {hidden}: {err}"
            );
        }
    }
}

#[test]
fn tampered_or_finished_checkpoints_are_refused_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let config = dir.path().join("train.toml");
    std::fs::write(
        &config,
        "scenario = \"capacity\"\ntotal_steps = 96\nnum_envs = 2\nhidden = 8\ncheckpoint_every = 1\n\
         [env]\nepisode_periods = 12\nhistory_periods = 48\n[ppo]\nrollout_steps = 16\nepochs = 1\nminibatches = 1\n\
         [eval]\nepisodes = 1\n",
    )
    .unwrap();
    let resume = ["train", "--resume", s(&run)];
    let (ok, _, err) = planetgym(&[
        "train",
        "--config",
        s(&config),
        "--run-dir",
        s(&run),
        "--stop-after",
        "1",
    ]);
    assert!(ok, "{err}");
    let checkpoint = run.join("checkpoint.json");
    let good = std::fs::read(&checkpoint).unwrap();
    // A digit changed in the payload (after the header line), and a claim of more updates.
    let newline = good.iter().position(|&b| b == b'\n').unwrap();
    let at = newline
        + 1
        + good[newline + 1..]
            .iter()
            .position(|b| b.is_ascii_digit() && *b != b'9')
            .unwrap();
    let mut flipped = good.clone();
    flipped[at] += 1;
    let text = String::from_utf8(good.clone()).unwrap();
    let claimed = text.replacen("\"updates\":1,", "\"updates\":99,", 1);
    assert_ne!(claimed, text);
    for (bytes, want) in [
        (
            flipped,
            "the file was changed or damaged after it was saved",
        ),
        (
            claimed.into_bytes(),
            "the file was changed or damaged after it was saved",
        ),
        (
            b"{\"format\":1,\"updates\":1}".to_vec(),
            "checkpoint format 1 is not supported (this build reads 2)",
        ),
        (
            b"not json".to_vec(),
            "is corrupt or not a checkpoint: header line",
        ),
    ] {
        std::fs::write(&checkpoint, &bytes).unwrap();
        let (ok, _, err) = planetgym(&resume);
        assert!(!ok && err.contains(want), "{want}: {err}");
    }
    std::fs::write(&checkpoint, &good).unwrap();
    let (ok, _, err) = planetgym(&resume);
    assert!(ok, "{err}");
    let (ok, _, err) = planetgym(&resume);
    assert!(
        !ok && err.contains("nothing to resume: the run has done all its 3 updates"),
        "{err}"
    );
}

/// Decision records for the committed capacity policy's scenario, and its export.
fn capacity_logs(dir: &Path) -> (PathBuf, Vec<String>) {
    let export = dir.join("export");
    let (ok, _, err) = planetgym(&[
        "export",
        "--run",
        s(&committed_policy("capacity")),
        "--out",
        s(&export),
    ]);
    assert!(ok, "{err}");
    let policy: serde_json::Value = serde_json::from_slice(
        &std::fs::read(committed_policy("capacity").join("policy.json")).unwrap(),
    )
    .unwrap();
    let config = dir.join("capacity.toml");
    std::fs::write(&config, policy["scenario_config"].as_str().unwrap()).unwrap();
    let logs = dir.join("logs.jsonl");
    let (ok, _, err) = planetgym(&[
        "shadow-sample",
        "--scenario",
        "capacity",
        "--config",
        s(&config),
        "--incumbent",
        "reactive@0.8",
        "--records",
        "6",
        "--output",
        s(&logs),
    ]);
    assert!(ok, "{err}");
    let lines = std::fs::read_to_string(&logs)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    (export, lines)
}

#[test]
fn shadow_skips_oversized_lines_and_keeps_every_decision_before_a_fatal_error() {
    let dir = tempfile::tempdir().unwrap();
    let (export, good) = capacity_logs(dir.path());
    let limit = good.iter().map(String::len).max().unwrap() + 10;
    // The input limit applies to every file read (the export's too): it must admit those, and
    // the oversized line must pass it.
    let largest_file = std::fs::read_dir(&export)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len() as usize)
        .max()
        .unwrap();
    let input_limit = largest_file + good[..3].iter().map(|l| l.len() + 1).sum::<usize>();
    let huge = "x".repeat(2 * input_limit);
    let input = dir.path().join("input.jsonl");
    let output = dir.path().join("decisions.jsonl");
    let mut text = good[..3].join("\n");
    text.push('\n');
    text.push_str(&huge);
    text.push('\n');
    text.push_str(&good[3..].join("\n"));
    text.push('\n');
    std::fs::write(&input, &text).unwrap();
    let args = [
        "shadow",
        "--policy",
        s(&export),
        "--input",
        s(&input),
        "--output",
        s(&output),
    ];
    let line_limit = limit.to_string();
    let (ok, _, err) = planetgym_env(&args, &[("PLANETGYM_MAX_LINE_BYTES", &line_limit)]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!("line 4: longer than {limit} bytes")),
        "{err}"
    );
    let written = std::fs::read_to_string(&output).unwrap();
    assert_eq!(
        written.lines().count(),
        good.len(),
        "every good record is decided"
    );
    // An input limit is fatal, but the decisions read before it are written first.
    std::fs::remove_file(&output).unwrap();
    let input_limit = input_limit.to_string();
    let (ok, _, err) = planetgym_env(
        &args,
        &[
            ("PLANETGYM_MAX_LINE_BYTES", &line_limit),
            ("PLANETGYM_MAX_INPUT_BYTES", &input_limit),
        ],
    );
    assert!(!ok && err.contains("input is larger than"), "{err}");
    let written = std::fs::read_to_string(&output).unwrap();
    assert_eq!(written.lines().count(), 3, "{written}");
    let (ok, _, err) = planetgym_env(&args, &[("PLANETGYM_MAX_LINE_BYTES", "lots")]);
    assert!(
        !ok && err
            .contains("PLANETGYM_MAX_LINE_BYTES = `lots`: must be a positive number of bytes"),
        "{err}"
    );
}

#[test]
fn shadow_records_with_duplicate_keys_or_bad_timestamps_are_skipped_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let (export, good) = capacity_logs(dir.path());
    let record: serde_json::Value = serde_json::from_str(&good[0]).unwrap();
    let with = |key: &str, value: &str| {
        let mut r = record.clone();
        r.as_object_mut().unwrap().remove(key);
        let text = r.to_string();
        format!("{{\"{key}\": {value}, {}", &text[1..])
    };
    let cases = [
        (
            format!("{{\"timestamp\": 1, {}", &good[0][1..]),
            "field `timestamp` appears twice",
        ),
        (
            with("timestamp", "1767225600000"),
            "timestamp = 1767225600000: seconds since 1970-01-01 must be in",
        ),
        (with("timestamp", "-1"), "timestamp = -1"),
        (
            with("timestamp", "\"2026-02-30T00:00:00Z\""),
            "not an RFC 3339 date-time",
        ),
        (
            with("timestamp", "\"yesterday\""),
            "not an RFC 3339 date-time",
        ),
        (with("id", "{\"a\": 1, \"a\": 2}"), "key `a` appears twice"),
        (with("timestamp", "\"2026-01-01T10:00:00.25+01:00\""), ""),
    ];
    let input: String = cases.iter().map(|(l, _)| format!("{l}\n")).collect();
    let path = dir.path().join("input.jsonl");
    std::fs::write(&path, input).unwrap();
    let (ok, stdout, err) = planetgym(&["shadow", "--policy", s(&export), "--input", s(&path)]);
    assert!(ok, "{err}");
    for (i, (_, want)) in cases.iter().enumerate() {
        if want.is_empty() {
            continue;
        }
        let line = format!("line {}: ", i + 1);
        let found = err.lines().find(|l| l.starts_with(&line)).unwrap_or("");
        assert!(found.contains(want), "{want}: {err}");
    }
    assert_eq!(
        stdout.lines().count(),
        1,
        "the valid record is decided: {stdout}"
    );
}
