//! Every registered scenario reaches every front end of the command line: listed by
//! `scenarios`, built by `baselines`, `eval`'s table code, `train` and `shadow-sample` (each
//! runs the scenario's own config loader, which names a wrong field), and refused by name when
//! it is not registered. Python's `gymnasium.make` is checked in `python/tests/test_envs.py`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use planetgym_agents::registry::SCENARIOS;

mod common;
use common::planetgym;

/// The error of a config that sets a field no scenario has: proof that the scenario's own
/// loader ran.
fn refuses_the_unknown_field(out: (bool, String, String), what: &str) {
    let (ok, _, err) = out;
    assert!(
        !ok && err.contains("unknown field `no_such_field`"),
        "{what}: {err}"
    );
}

#[test]
fn every_registered_scenario_reaches_every_command() {
    let (ok, listing, _) = planetgym(&["scenarios"]);
    assert!(ok);
    let dir = tempfile::tempdir().unwrap();
    for s in SCENARIOS {
        assert!(
            listing.contains(&format!("{:<10} {}", s.name, s.description)),
            "{} missing from `planetgym scenarios`",
            s.name
        );
        assert!(listing.contains(s.gym_id), "{}", s.gym_id);
        let (ok, shown, _) = planetgym(&["scenarios", "--show", s.name]);
        assert!(ok && shown == s.default_config, "{}", s.name);

        let bad = ["--set", "no_such_field=1"];
        refuses_the_unknown_field(
            planetgym(&[&["baselines", "--scenario", s.name][..], &bad].concat()),
            &format!("baselines {}", s.name),
        );
        refuses_the_unknown_field(
            planetgym(
                &[
                    &["shadow-sample", "--scenario", s.name, "--incumbent", "x"][..],
                    &bad,
                ]
                .concat(),
            ),
            &format!("shadow-sample {}", s.name),
        );
        let config = dir.path().join(format!("{}.toml", s.name));
        std::fs::write(
            &config,
            format!("scenario = \"{}\"\n[env]\nno_such_field = 1\n", s.name),
        )
        .unwrap();
        let run_dir = dir.path().join(s.name);
        refuses_the_unknown_field(
            planetgym(&[
                "train",
                "--config",
                config.to_str().unwrap(),
                "--run-dir",
                run_dir.to_str().unwrap(),
            ]),
            &format!("train {}", s.name),
        );
    }
    let (ok, _, err) = planetgym(&["baselines", "--scenario", "nope"]);
    assert!(!ok && err.contains("unknown scenario `nope`"), "{err}");
}

/// `--set` reaches the scenario config, and the shorthand flags are the same setting.
#[test]
fn set_overrides_a_field_and_shorthands_are_aliases() {
    let (ok, out, err) = planetgym(&[
        "baselines",
        "--scenario",
        "traffic",
        "--episodes",
        "1",
        "--set",
        "episode_intervals=5",
        "--set",
        "world.kind=synthetic",
        "--set",
        "world.synthetic.regions=20",
        "--set",
        "world.synthetic.sites=4",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("20 regions, 4 sites, 5 intervals"), "{out}");
    let (ok, _, err) = planetgym(&["baselines", "--scenario", "traffic", "--set", "interval_s"]);
    assert!(!ok && err.contains("expected key=value"), "{err}");
    let run = |extra: &[&str]| {
        let (ok, out, err) = planetgym(
            &[
                &["baselines", "--scenario", "batch", "--episodes", "1"][..],
                extra,
            ]
            .concat(),
        );
        assert!(ok, "{err}");
        out
    };
    assert_eq!(
        run(&["--jobs", "64", "--backfill"]),
        run(&["--set", "window_jobs=64", "--set", "backfill=true"])
    );
}

/// `train --show-default` prints the documented default training config, which loads as the
/// default, and `--set` changes a training config field.
#[test]
fn train_shows_its_default_config_and_takes_set() {
    use planetgym_training::ppo::TrainConfig;
    let (ok, shown, err) = planetgym(&["train", "--show-default"]);
    assert!(ok, "{err}");
    assert!(
        shown.contains("# Steps per copy between updates."),
        "{shown}"
    );
    assert_eq!(
        TrainConfig::from_toml(&shown, "shown").unwrap(),
        TrainConfig::default()
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "scenario = \"capacity\"\n").unwrap();
    let (ok, _, err) = planetgym(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--set",
        "ppo.gamma=1.5",
    ]);
    assert!(!ok && err.contains("ppo.gamma must be in [0, 1]"), "{err}");
}

/// A reader that stops early (`| head`) ends the command quietly with status 0.
#[test]
fn a_closed_pipe_ends_commands_quietly() {
    use std::process::{Command, Stdio};
    for args in [
        &["scenarios", "--show", "traffic"][..],
        &["shadow", "--schema", "traffic"],
        &[
            "shadow-sample",
            "--scenario",
            "traffic",
            "--incumbent",
            "nearest",
            "--records",
            "200",
        ],
        &["train", "--show-default"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_planetgym"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before the first byte
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
        assert!(
            !err.contains("error") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}
