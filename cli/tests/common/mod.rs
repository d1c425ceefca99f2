//! What the command-line tests share.

use std::process::Command;

/// Runs the `planetgym` binary in a fresh working directory (files it writes by default, such
/// as per-episode rows, land there): (success, stdout, stderr).
pub fn planetgym(args: &[&str]) -> (bool, String, String) {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_planetgym"))
        .args(args)
        .current_dir(cwd.path())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
