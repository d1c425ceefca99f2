//! The Standard Workload Format (SWF) of the Parallel Workloads Archive.
//!
//! One job per line, 18 whitespace-separated fields, `-1` for unknown; header comments start
//! with `;` and may carry `MaxProcs:` / `MaxNodes:`. Reconciliation rules, applied to every job:
//! processors = max(allocated, requested); requested time = run time when unknown; times are
//! rounded to whole seconds. Jobs that cannot be simulated (unknown or non-positive run time or
//! processors) are counted and skipped; jobs wider than the machine are counted and dropped.

use crate::bounds::excerpt;
use crate::error::EnvError;
use crate::input;
use std::io::BufRead;

/// Field names, in SWF order.
pub const FIELDS: [&str; 18] = [
    "job",
    "submit",
    "wait",
    "run",
    "alloc_procs",
    "avg_cpu",
    "used_mem",
    "req_procs",
    "req_time",
    "req_mem",
    "status",
    "user",
    "group",
    "app",
    "queue",
    "partition",
    "prev_job",
    "think_time",
];

/// Fields holding times (s): submit, wait, run, requested time, think time.
const TIME_FIELDS: [usize; 5] = [1, 2, 3, 8, 17];
/// Largest time (s) a log may hold: a century, beyond any archived log.
const MAX_TIME_S: f64 = 100.0 * 366.0 * 86_400.0;
/// Largest whole number an f64 holds exactly.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// A job ready for simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct SwfJob {
    pub id: i64,
    /// Submit time (s since the log start).
    pub submit: i64,
    /// Actual run time (s), positive.
    pub run: i64,
    /// Processors: max(allocated, requested), positive.
    pub procs: u32,
    /// Requested (estimated) run time (s): the field, or the run time when unknown.
    pub requested_time: i64,
    pub user: i64,
    pub status: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SwfLog {
    pub source: String,
    /// Processors of the machine: the config's, else `MaxProcs`, else `MaxNodes`.
    pub machine_procs: u32,
    pub jobs: Vec<SwfJob>,
    /// Malformed lines skipped in lenient mode: (line, reason).
    pub skipped_lines: Vec<(usize, String)>,
    /// Jobs with unknown or non-positive run time or processors.
    pub unusable_jobs: usize,
    /// Jobs needing more processors than the machine has.
    pub too_wide_jobs: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SwfOptions {
    /// Skip and count malformed lines instead of failing on the first one.
    pub lenient: bool,
    /// Machine size; `None` = from the header.
    pub machine_procs: Option<u32>,
}

/// Reads a log; `source` names it in messages.
pub fn parse(reader: impl BufRead, source: &str, options: SwfOptions) -> Result<SwfLog, EnvError> {
    let mut log = SwfLog {
        source: source.to_string(),
        ..SwfLog::default()
    };
    let (mut max_procs, mut max_nodes) = (None, None);
    let mut candidates = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let number = i + 1;
        let line = match line {
            Ok(line) => line,
            Err(e) => match input::LimitExceeded::of(&e) {
                Some(too_long @ input::LimitExceeded::Line { .. }) if options.lenient => {
                    log.skipped_lines.push((number, too_long.to_string()));
                    continue;
                }
                _ => return Err(input::line_error(source, Some(number), &e)),
            },
        };
        // A UTF-8 byte-order mark (first line of a file saved by some editors) is not data.
        let text = line.trim_start_matches('\u{feff}').trim();
        if let Some(comment) = text.strip_prefix(';') {
            if let Some((key, value)) = comment.split_once(':') {
                let value = value.trim().parse::<u32>().ok();
                match key.trim() {
                    "MaxProcs" => max_procs = value,
                    "MaxNodes" => max_nodes = value,
                    _ => {}
                }
            }
            continue;
        }
        if text.is_empty() {
            continue;
        }
        match parse_fields(text) {
            Ok(fields) => match job_from_fields(&fields) {
                Some(job) => candidates.push(job),
                None => log.unusable_jobs += 1,
            },
            Err(reason) if options.lenient => log.skipped_lines.push((number, reason)),
            Err(reason) => return Err(EnvError::data(source, format!("line {number}: {reason}"))),
        }
    }
    log.machine_procs = options.machine_procs.or(max_procs.filter(|&p| p > 0)).or(max_nodes).filter(|&p| p > 0).ok_or_else(|| {
        EnvError::data(source, "no machine size: the header has no MaxProcs or MaxNodes; set the processor count in the config")
    })?;
    let machine = log.machine_procs;
    log.too_wide_jobs = candidates.iter().filter(|j| j.procs > machine).count();
    log.jobs = candidates
        .into_iter()
        .filter(|j| j.procs <= machine)
        .collect();
    if log.jobs.windows(2).any(|w| w[1].submit < w[0].submit) {
        log.jobs.sort_by_key(|j| (j.submit, j.id));
    }
    Ok(log)
}

/// Reads a log from a file (plain or gzip).
pub fn read(path: &std::path::Path, options: SwfOptions) -> Result<SwfLog, EnvError> {
    parse(input::open(path)?, &path.display().to_string(), options)
}

fn parse_fields(text: &str) -> Result<[f64; 18], String> {
    let mut fields = [0.0; 18];
    let mut count = 0;
    for token in text.split_whitespace() {
        if count == 18 {
            return Err(format!("more than 18 fields (`{token}` is the 19th)"));
        }
        let field = || format!("field {} ({})", count + 1, FIELDS[count]);
        let value = token
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{} = `{}` is not a number", field(), excerpt(token, 40)))?;
        // Whole numbers stored as f64 are exact up to 2^53; times beyond MAX_TIME_S would
        // saturate the simulation clock instead of being reported.
        let limit = if TIME_FIELDS.contains(&count) {
            MAX_TIME_S
        } else {
            EXACT
        };
        if value.abs() > limit {
            return Err(format!(
                "{} = {} is out of range: at most {} in magnitude",
                field(),
                crate::bounds::num(value),
                crate::bounds::num(limit)
            ));
        }
        fields[count] = value;
        count += 1;
    }
    if count < 18 {
        return Err(format!("{count} fields, SWF needs 18"));
    }
    Ok(fields)
}

fn job_from_fields(f: &[f64; 18]) -> Option<SwfJob> {
    let seconds = |v: f64| v.round() as i64;
    let procs = f[4].max(f[7]);
    let run = seconds(f[3]);
    if procs < 1.0 || run <= 0 || f[1] < 0.0 || procs > f64::from(u32::MAX) {
        return None;
    }
    let requested = seconds(f[8]);
    Some(SwfJob {
        id: seconds(f[0]),
        submit: seconds(f[1]),
        run,
        procs: procs.round() as u32,
        requested_time: if requested > 0 { requested } else { run },
        user: seconds(f[11]),
        status: seconds(f[10]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "; Version: 2\n; MaxNodes: 64\n; MaxProcs: 32\n\
        1 0 -1 100 4 -1 -1 -1 -1 -1 1 7 -1 -1 0 -1 -1 -1\n\
        2 10 -1 50 -1 -1 -1 8 200 -1 1 7 -1 -1 0 -1 -1 -1\n\
        3 20 -1 -1 4 -1 -1 -1 -1 -1 0 7 -1 -1 0 -1 -1 -1\n\
        4 30 -1 60 64 -1 -1 -1 -1 -1 1 7 -1 -1 0 -1 -1 -1\n\
        5 40 5 70 2 -1 -1 6 90 -1 1 8 -1 -1 0 -1 -1 -1\n";

    fn parse_str(text: &str, options: SwfOptions) -> Result<SwfLog, EnvError> {
        parse(text.as_bytes(), "test.swf", options)
    }

    #[test]
    fn reconciles_fields_and_reports_dropped_jobs() {
        let log = parse_str(LOG, SwfOptions::default()).unwrap();
        assert_eq!(log.machine_procs, 32, "MaxProcs wins over MaxNodes");
        let ids: Vec<i64> = log.jobs.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![1, 2, 5]);
        assert_eq!((log.unusable_jobs, log.too_wide_jobs), (1, 1));
        assert_eq!(
            log.jobs[0].requested_time, 100,
            "unknown request falls back to run time"
        );
        assert_eq!((log.jobs[1].procs, log.jobs[1].requested_time), (8, 200));
        assert_eq!(log.jobs[2].procs, 6, "max of allocated and requested");
        let log = parse_str(
            LOG,
            SwfOptions {
                machine_procs: Some(64),
                ..SwfOptions::default()
            },
        )
        .unwrap();
        assert_eq!((log.jobs.len(), log.too_wide_jobs), (4, 0));
    }

    #[test]
    fn reads_plain_and_gzip_files_alike() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("log.swf");
        std::fs::write(&plain, LOG).unwrap();
        let gz = dir.path().join("log.swf.gz");
        let mut encoder = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        encoder.write_all(LOG.as_bytes()).unwrap();
        encoder.finish().unwrap();
        let (a, b) = (
            read(&plain, SwfOptions::default()).unwrap(),
            read(&gz, SwfOptions::default()).unwrap(),
        );
        assert_eq!(a.jobs, b.jobs);
        assert_eq!(a.jobs.len(), 3);
        let err = read(&dir.path().join("missing.swf"), SwfOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("could not read"), "{err}");
    }

    #[test]
    fn malformed_lines_name_the_file_and_line_or_are_skipped_when_lenient() {
        let bad = format!("{LOG}6 50 -1 abc 2 -1 -1 -1 -1 -1 1 7 -1 -1 0 -1 -1 -1\n7 60 -1 10 2\n");
        let err = parse_str(&bad, SwfOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "data error in test.swf: line 9: field 4 (run) = `abc` is not a number"
        );
        let log = parse_str(
            &bad,
            SwfOptions {
                lenient: true,
                ..SwfOptions::default()
            },
        )
        .unwrap();
        assert_eq!(
            log.skipped_lines,
            vec![
                (9, "field 4 (run) = `abc` is not a number".to_string()),
                (10, "5 fields, SWF needs 18".to_string())
            ]
        );
        assert_eq!(log.jobs.len(), 3);
        let err = parse_str(
            "1 0 -1 100 4 -1 -1 -1 -1 -1 1 7 -1 -1 0 -1 -1 -1\n",
            SwfOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no machine size"), "{err}");
    }
}
