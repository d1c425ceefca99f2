//! libFuzzer entry point: runs the target named by `PLANETGYM_FUZZ_TARGET` (one of
//! `planetgym_fuzz::targets::ENV_TARGETS`) on each input. A clean refusal is a normal outcome;
//! a panic (overflow checks are on) or an abort is a crash libFuzzer keeps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use planetgym_fuzz::targets::{Context, ENV_TARGETS, Target};
use std::sync::LazyLock;

static TARGET: LazyLock<(Target, Context)> = LazyLock::new(|| {
    let name = std::env::var("PLANETGYM_FUZZ_TARGET").unwrap_or_default();
    let Some(target) = ENV_TARGETS.iter().find(|t| t.name == name) else {
        let names: Vec<&str> = ENV_TARGETS.iter().map(|t| t.name).collect();
        eprintln!("set PLANETGYM_FUZZ_TARGET to one of: {}", names.join(", "));
        std::process::exit(2);
    };
    let scratch = std::env::temp_dir().join(format!("planetgym-coverage-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&scratch) {
        eprintln!("cannot create {}: {e}", scratch.display());
        std::process::exit(2);
    }
    (*target, Context { scratch })
});

fuzz_target!(|data: &[u8]| {
    let (target, context) = &*TARGET;
    let _ = (target.run)(context, data);
});
