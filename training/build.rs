//! Records the source's git commit, and whether tracked files had uncommitted changes, when the
//! crate was built: run directories keep them as the code version (see `provenance`).

use std::path::Path;
use std::process::Command;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // Rebuilt when a commit, checkout or staged change moves the repository, or any source
    // the binaries are made of changes (the dirty flag then changes too).
    for path in [
        ".git/HEAD",
        ".git/index",
        ".git/logs/HEAD",
        "Cargo.lock",
        "env/src",
        "agents/src",
        "training/src",
        "deploy/src",
        "cli/src",
        "python/src",
        "python/planetgym",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    // Empty when the source is not a git checkout (a crate or sdist build).
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .map(|changes| (!changes.is_empty()).to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=PLANETGYM_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=PLANETGYM_GIT_DIRTY={dirty}");
}
