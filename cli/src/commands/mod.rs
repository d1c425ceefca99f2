//! One module per subcommand, and what they share: reading scenario configs with `--set`
//! overrides, progress bars, output files.

pub mod baselines;
pub mod export;
pub mod forecast;
pub mod scenarios;
pub mod shadow;
pub mod train;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

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
/// applied.
pub fn config_text(
    path: Option<&Path>,
    fallback: Option<(&str, &str)>,
    sets: &[String],
) -> Result<(String, String)> {
    let (text, origin) = match (path, fallback) {
        (Some(p), _) => (
            std::fs::read_to_string(p)
                .with_context(|| format!("could not read {}", p.display()))?,
            p.display().to_string(),
        ),
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

/// A file to write, or standard output.
pub fn output(path: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

/// A progress bar on standard error (drawn only on a terminal).
pub fn progress_bar(total: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
