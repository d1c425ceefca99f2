//! `planetgym-fuzz run [--seconds N] [--seed S] [--targets a,b] [--corpus DIR] [--artifacts DIR]`
//!
//! For each target, mutates its corpus for N seconds (default 10) and runs every input,
//! counting outcome classes: `ok` (accepted), `error` (refused cleanly), `panic` and `bug`
//! (a non-finite result passed on). Before each execution the input is written to
//! `ARTIFACTS/<target>.current`, so an abort (an allocation beyond the memory limit) or a
//! timeout (one input running past 30 s, reported by a watchdog) leaves the input behind.
//! Inputs that panic are kept as `ARTIFACTS/<target>-panic-<n>`. Exit status: 0 when every
//! execution was `ok` or `error`, 1 otherwise (and the process dies on an abort).

use planetgym_env::rng::{Rng, derive_seed};
use planetgym_fuzz::mutate::mutate;
use planetgym_fuzz::targets::{self, Context, Target};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One input may run this long before the watchdog calls it a hang.
const TIMEOUT: Duration = Duration::from_secs(30);

struct Options {
    seconds: f64,
    seed: u64,
    targets: Vec<Target>,
    corpus: PathBuf,
    artifacts: PathBuf,
}

fn main() {
    match parse_args().and_then(run) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    }
}

fn parse_args() -> Result<Options, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut options = Options {
        seconds: 10.0,
        seed: 0,
        targets: targets::all(),
        corpus: root.join("corpus"),
        artifacts: std::env::temp_dir().join("planetgym-fuzz"),
    };
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("run") {
        return Err(format!(
            "usage: planetgym-fuzz run [--seconds N] [--seed S] [--targets a,b] [--corpus DIR] [--artifacts DIR]\ntargets: {}",
            targets::all()
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => {
                options.seconds = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| (0.0..=86_400.0).contains(s))
                    .ok_or_else(|| format!("--seconds {value}: a number in [0, 86400]"))?;
            }
            "--seed" => {
                options.seed = value
                    .parse()
                    .map_err(|_| format!("--seed {value}: an integer"))?;
            }
            "--targets" => {
                options.targets = value
                    .split(',')
                    .map(|name| {
                        targets::all()
                            .into_iter()
                            .find(|t| t.name == name)
                            .ok_or_else(|| format!("unknown target `{name}`"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--corpus" => options.corpus = PathBuf::from(value),
            "--artifacts" => options.artifacts = PathBuf::from(value),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

/// The corpus entries of `target`, in name order (so runs are reproducible).
fn corpus(dir: &Path, target: &str) -> Result<Vec<Vec<u8>>, String> {
    let folder = dir.join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map_err(|e| format!("corpus {}: {e}", folder.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    if seeds.is_empty() {
        return Err(format!("corpus {} is empty", folder.display()));
    }
    Ok(seeds)
}

fn run(options: Options) -> Result<bool, String> {
    std::fs::create_dir_all(&options.artifacts).map_err(|e| e.to_string())?;
    let scratch = options.artifacts.join("scratch");
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let context = Context { scratch };
    // Panics are counted, not printed: the hook stays quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let started = Arc::new(AtomicU64::new(0));
    let origin = Instant::now();
    watchdog(Arc::clone(&started), origin);
    let mut clean = true;
    println!("target            execs        ok     error   panic     bug  seconds");
    for target in &options.targets {
        let seeds = corpus(&options.corpus, target.name)?;
        let current = options.artifacts.join(format!("{}.current", target.name));
        let mut rng = Rng::new(derive_seed(options.seed, &[target.name.len() as u64]));
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        let begin = Instant::now();
        let mut execs = 0u64;
        while execs < seeds.len() as u64 || begin.elapsed().as_secs_f64() < options.seconds {
            // The corpus itself first, then mutations of it.
            let input = match seeds.get(execs as usize) {
                Some(seed) => seed.clone(),
                None => {
                    let (a, b) = (rng.below(seeds.len()), rng.below(seeds.len()));
                    mutate(&seeds[a], &seeds[b], &mut rng)
                }
            };
            std::fs::write(&current, &input).map_err(|e| e.to_string())?;
            started.store(origin.elapsed().as_millis() as u64 + 1, Ordering::SeqCst);
            let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(&context, &input)));
            started.store(0, Ordering::SeqCst);
            let class = match outcome {
                Ok(Ok(())) => "ok",
                Ok(Err(message)) if message.contains("BUG:") => "bug",
                Ok(Err(_)) => "error",
                Err(_) => "panic",
            };
            if matches!(class, "panic" | "bug") {
                let n = counts.get(class).copied().unwrap_or(0);
                let kept = options
                    .artifacts
                    .join(format!("{}-{class}-{n}", target.name));
                std::fs::write(&kept, &input).map_err(|e| e.to_string())?;
                eprintln!("{}: {class}, input kept at {}", target.name, kept.display());
                clean = false;
            }
            *counts.entry(class).or_default() += 1;
            execs += 1;
        }
        let count = |c: &str| counts.get(c).copied().unwrap_or(0);
        println!(
            "{:<16}{:>7}{:>10}{:>10}{:>8}{:>8}{:>9.1}",
            target.name,
            execs,
            count("ok"),
            count("error"),
            count("panic"),
            count("bug"),
            begin.elapsed().as_secs_f64()
        );
        let _ = std::fs::remove_file(&current);
    }
    println!("outcome: {}", if clean { "clean" } else { "BUGS FOUND" });
    Ok(clean)
}

/// Ends the process (status 3) when one input has run longer than `TIMEOUT`: its input is in
/// the artifacts folder as `<target>.current`.
fn watchdog(started: Arc<AtomicU64>, origin: Instant) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let at = started.load(Ordering::SeqCst);
            if at > 0 && origin.elapsed().as_millis() as u64 > at + TIMEOUT.as_millis() as u64 {
                eprintln!(
                    "timeout: one input ran past {} s; it is kept as <target>.current",
                    TIMEOUT.as_secs()
                );
                std::process::exit(3);
            }
        }
    });
}
