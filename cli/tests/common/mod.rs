//! What the command-line tests share.

use std::process::Command;

/// Runs the `planetgym` binary: (success, stdout, stderr).
pub fn planetgym(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_planetgym"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
