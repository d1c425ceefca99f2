//! One module per subcommand, and what they share: reading scenario configs with `--set`
//! overrides, progress bars, output files.

pub mod baselines;
pub mod curve;
pub mod export;
pub mod forecast;
pub mod render;
pub mod risk;
pub mod scenarios;
pub mod shadow;
pub mod train;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Whether `e` comes from writing to a pipe whose reader has gone.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let broken = Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().map(|io| io.kind()) == broken
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == broken
    })
}

/// A config's text (a scenario's or a training one) and its name for messages: the file if
/// given (else `fallback`, else empty, i.e. the default), with `--set key=value` overrides
/// applied. A file's relative data paths are read from its folder: `scenario` names the
/// scenario of a scenario config, None reads it as a training config.
pub fn config_text(
    path: Option<&Path>,
    fallback: Option<(&str, &str)>,
    sets: &[String],
    scenario: Option<&str>,
) -> Result<(String, String)> {
    let (text, origin) = match (path, fallback) {
        (Some(p), _) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("could not read {}", p.display()))?;
            // Absolute, so that a run directory's saved config works from anywhere.
            let parent = p.parent().unwrap_or(Path::new("."));
            let base = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
            (
                planetgym_agents::registry::rebase_config_paths(scenario, &text, &base),
                p.display().to_string(),
            )
        }
        (None, Some((text, origin))) => (text.to_string(), origin.to_string()),
        (None, None) => (String::new(), "the default config".into()),
    };
    let origin = if sets.is_empty() {
        origin
    } else {
        format!("{origin} with --set {}", sets.join(" --set "))
    };
    let text = planetgym_env::config::apply_overrides(&text, &origin, sets)?;
    Ok((text, origin))
}

/// The shared data's held-out folder: $PLANETGYM_HOLDOUT, default ../shared/data/holdout.
pub fn holdout_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::var_os("PLANETGYM_HOLDOUT").map_or_else(
        || std::path::PathBuf::from("../shared/data/holdout"),
        std::path::PathBuf::from,
    );
    if !dir.is_dir() {
        anyhow::bail!(
            "--holdout: no holdout folder at {} (set PLANETGYM_HOLDOUT to the shared data's holdout/)",
            dir.display()
        );
    }
    Ok(dir)
}

/// A file to write, or standard output.
pub fn output(path: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

/// Seconds between plain progress lines when standard error is not a terminal (logs,
/// notebooks, CI): `PLANETGYM_PROGRESS_SECONDS`, 0 to 3600, default 10.
const PROGRESS_SECONDS: &str = "PLANETGYM_PROGRESS_SECONDS";

/// Progress of long work on standard error: a bar on a terminal, and elsewhere (a log file, a
/// notebook cell, CI) a plain line every few seconds, which a bar cannot give there.
pub struct Progress {
    bar: ProgressBar,
    label: &'static str,
    /// Interval between plain lines and when the next is due (None on a terminal).
    plain: Option<(Duration, Mutex<Instant>)>,
}

impl Progress {
    pub fn new(label: &'static str, total: u64, template: &str) -> Result<Self> {
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        let plain = if std::io::stderr().is_terminal() {
            None
        } else {
            let every = match std::env::var(PROGRESS_SECONDS) {
                Err(_) => 10.0,
                Ok(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| (0.0..=3600.0).contains(s))
                    .with_context(|| {
                        format!("{PROGRESS_SECONDS}={v:?}: expected seconds from 0 to 3600")
                    })?,
            };
            let every = Duration::from_secs_f64(every);
            Some((every, Mutex::new(Instant::now() + every)))
        };
        Ok(Self { bar, label, plain })
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        self.tick();
    }

    pub fn set_length(&self, total: u64) {
        self.bar.set_length(total);
    }

    pub fn set_position(&self, done: u64) {
        self.bar.set_position(done);
        self.tick();
    }

    pub fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// A plain line when one is due (never blocks: a busy lock means another thread prints).
    fn tick(&self) {
        let Some((every, next)) = &self.plain else {
            return;
        };
        let Ok(mut next) = next.try_lock() else {
            return;
        };
        let now = Instant::now();
        if now >= *next {
            *next = now + *every;
            eprintln!("{}", self.line());
        }
    }

    fn line(&self) -> String {
        let (done, total) = (self.bar.position(), self.bar.length().unwrap_or(0));
        let message = self.bar.message();
        format!(
            "{}: {done}/{total} ({:.0}%), {:.0} s elapsed, about {:.0} s left{}",
            self.label,
            100.0 * done as f64 / total.max(1) as f64,
            self.bar.elapsed().as_secs_f64(),
            self.bar.eta().as_secs_f64(),
            if message.is_empty() {
                String::new()
            } else {
                format!("  {message}")
            }
        )
    }

    /// Clears the bar; in plain mode, a last line with the totals.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        if self.plain.is_some() {
            eprintln!("{} (done)", self.line());
        }
    }
}
