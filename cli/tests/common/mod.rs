//! What the command-line tests share.

use std::path::Path;
use std::process::Command;

/// Runs the `planetgym` binary in a fresh working directory: (success, stdout, stderr).
pub fn planetgym(args: &[&str]) -> (bool, String, String) {
    let cwd = tempfile::tempdir().unwrap();
    planetgym_in(cwd.path(), &[], args)
}

/// Runs the `planetgym` binary in `cwd` with extra environment variables.
#[allow(dead_code)] // each test binary compiles this module; not all of them use this
pub fn planetgym_in(cwd: &Path, envs: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_planetgym"))
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
