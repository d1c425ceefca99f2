//! Bounded reading of user files and streams: every line has a maximum length and every input
//! (after gzip expansion) a maximum size, so a file with no newline or a gzip bomb is an error
//! with its line number, never a process that takes the machine's memory.
//!
//! Limits come from [`Limits::from_env`]: `PLANETGYM_MAX_LINE_BYTES` (default 16 MiB: a
//! decision record of a large cluster fits) and `PLANETGYM_MAX_INPUT_BYTES` (default a quarter
//! of the memory budget: a parsed trace takes a few times its text).

use crate::bounds::{human_bytes, memory_budget};
use crate::error::EnvError;
use flate2::read::GzDecoder;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use thiserror::Error;

pub const LINE_ENV: &str = "PLANETGYM_MAX_LINE_BYTES";
pub const INPUT_ENV: &str = "PLANETGYM_MAX_INPUT_BYTES";

/// How much one input may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one line, newline excluded.
    pub max_line_bytes: usize,
    /// Bytes of a whole input, after decompression.
    pub max_input_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line_bytes: 16 << 20,
            max_input_bytes: memory_budget() / 4,
        }
    }
}

impl Limits {
    /// The defaults, overridden by the environment variables named in the module doc.
    pub fn from_env() -> Result<Self, EnvError> {
        let mut limits = Self::default();
        if let Some(v) = env_bytes(LINE_ENV)? {
            limits.max_line_bytes = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = env_bytes(INPUT_ENV)? {
            limits.max_input_bytes = v;
        }
        Ok(limits)
    }
}

fn env_bytes(name: &str) -> Result<Option<u64>, EnvError> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(v) if v > 0 => Ok(Some(v)),
            _ => Err(EnvError::config(format!(
                "environment variable {name} = `{}`: must be a positive number of bytes",
                crate::bounds::excerpt(&text, 40)
            ))),
        },
    }
}

/// Why an input was cut off. It travels inside an `io::Error` (kind `InvalidData`) through
/// readers such as `csv`, so every reader reports it with its own context.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LimitExceeded {
    #[error("line {line} is longer than {max} bytes (the line limit; set {LINE_ENV} to raise it)")]
    Line { line: u64, max: usize },
    #[error("input is larger than {} (expanded; set {INPUT_ENV} to raise the limit)", human_bytes(*max as f64))]
    Input { max: u64 },
}

impl LimitExceeded {
    /// The limit an I/O error reports, if it is one.
    pub fn of(error: &io::Error) -> Option<&LimitExceeded> {
        error.get_ref().and_then(|e| e.downcast_ref())
    }
}

/// A `BufRead` that enforces [`Limits`] on what passes through it. After a too-long line it
/// skips the rest of that line, so a caller that reports bad lines and goes on can do so.
pub struct BoundedReader<R> {
    inner: R,
    limits: Limits,
    /// Lines finished so far (the current line is `line + 1`).
    line: u64,
    /// Bytes of the current line passed on so far.
    line_len: usize,
    total: u64,
    /// Discarding the rest of a too-long line.
    skipping: bool,
    /// Length of the slice last returned by `fill_buf`, and whether it ends a line.
    offered: (usize, bool),
}

impl<R> std::fmt::Debug for BoundedReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedReader")
            .field("limits", &self.limits)
            .field("line", &self.line)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> BoundedReader<R> {
    pub fn new(inner: R, limits: Limits) -> Self {
        Self {
            inner,
            limits,
            line: 0,
            line_len: 0,
            total: 0,
            skipping: false,
            offered: (0, false),
        }
    }

    /// Drops bytes up to and including the next newline.
    fn skip_rest_of_line(&mut self) -> io::Result<()> {
        while self.skipping {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                self.skipping = false;
                break;
            }
            let (n, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            self.count(n as u64)?;
            self.inner.consume(n);
            if done {
                self.skipping = false;
                self.line += 1;
                self.line_len = 0;
            }
        }
        Ok(())
    }

    fn count(&mut self, n: u64) -> io::Result<()> {
        self.total = self.total.saturating_add(n);
        if self.total > self.limits.max_input_bytes {
            return Err(limit_error(LimitExceeded::Input {
                max: self.limits.max_input_bytes,
            }));
        }
        Ok(())
    }
}

fn limit_error(limit: LimitExceeded) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, limit)
}

impl<R: BufRead> Read for BoundedReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for BoundedReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.skip_rest_of_line()?;
        let room = self.limits.max_line_bytes - self.line_len.min(self.limits.max_line_bytes);
        let remaining = self.limits.max_input_bytes.saturating_sub(self.total);
        let line = self.line + 1;
        let max = self.limits.max_line_bytes;
        let buf = self.inner.fill_buf()?;
        // Pass on at most the rest of this line's allowance, ending at its newline if in reach.
        let (len, ends_line) = match buf
            .iter()
            .take(room.saturating_add(1))
            .position(|&b| b == b'\n')
        {
            Some(i) => (i + 1, true),
            None => (buf.len().min(room), false),
        };
        if len == 0 && !buf.is_empty() {
            self.skipping = true;
            return Err(limit_error(LimitExceeded::Line { line, max }));
        }
        if len as u64 > remaining {
            return Err(limit_error(LimitExceeded::Input {
                max: self.limits.max_input_bytes,
            }));
        }
        self.offered = (len, ends_line);
        Ok(&buf[..len])
    }

    fn consume(&mut self, n: usize) {
        let (offered, ends_line) = self.offered;
        let n = n.min(offered);
        self.inner.consume(n);
        self.total += n as u64;
        self.offered = (offered - n, ends_line);
        if ends_line && n == offered && n > 0 {
            self.line += 1;
            self.line_len = 0;
        } else {
            self.line_len += n;
        }
    }
}

/// The error for an I/O error `e` met reading `source`: the limit's own message when a limit
/// was hit (it names the line), else the cause, after `line N: ` when the line is known.
pub fn line_error(source: &str, line: Option<usize>, e: &io::Error) -> EnvError {
    match (LimitExceeded::of(e), line) {
        (Some(limit), _) => EnvError::data(source, limit.to_string()),
        (None, Some(line)) => EnvError::data(source, format!("line {line}: {e}")),
        (None, None) => EnvError::data(source, e.to_string()),
    }
}

/// Opens `path` for bounded line reading, decompressing it if it starts with the gzip magic
/// bytes (the limit on the input's size applies to the expanded bytes).
pub fn open(path: &Path) -> Result<BoundedReader<Box<dyn BufRead>>, EnvError> {
    Ok(BoundedReader::new(
        plain_or_gzip(path)?,
        Limits::from_env()?,
    ))
}

/// `path`'s bytes, expanded if it is gzip.
fn plain_or_gzip(path: &Path) -> Result<Box<dyn BufRead>, EnvError> {
    let io = |source| EnvError::Io {
        path: path.display().to_string(),
        source,
    };
    expand(BufReader::new(std::fs::File::open(path).map_err(io)?)).map_err(io)
}

/// `reader`'s bytes, decompressed if they start with the gzip magic bytes.
fn expand(mut reader: impl BufRead + 'static) -> io::Result<Box<dyn BufRead>> {
    let gzip = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(BufReader::new(GzDecoder::new(reader)))
    } else {
        Box::new(reader)
    })
}

/// Bounded line reader over in-memory bytes (the built-in traces), gzip or plain.
pub fn from_bytes(bytes: &'static [u8]) -> Result<BoundedReader<Box<dyn BufRead>>, EnvError> {
    let inner = expand(bytes).map_err(|e| EnvError::data("built-in data", e.to_string()))?;
    Ok(BoundedReader::new(inner, Limits::from_env()?))
}

/// The whole contents of `path` (gzip expanded), within the input limit.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, EnvError> {
    read_bytes_within(path, Limits::from_env()?.max_input_bytes)
}

/// The whole contents of `path` (gzip expanded), at most `max` bytes.
pub fn read_bytes_within(path: &Path, max: u64) -> Result<Vec<u8>, EnvError> {
    let name = path.display().to_string();
    let mut bytes = Vec::new();
    plain_or_gzip(path)?
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| EnvError::Io {
            path: name.clone(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(EnvError::data(
            &name,
            LimitExceeded::Input { max }.to_string(),
        ));
    }
    Ok(bytes)
}

/// `read_bytes` for callers with their own error type: an OS error goes through `io` (which
/// says what the file was for), a limit becomes `E::from(EnvError)`.
pub fn read_bytes_or<E: From<EnvError>>(
    path: &Path,
    io: impl FnOnce(io::Error) -> E,
) -> Result<Vec<u8>, E> {
    read_bytes(path).map_err(|e| match e {
        EnvError::Io { source, .. } => io(source),
        other => E::from(other),
    })
}

/// The whole text of `path` (gzip expanded), within the input limit; a file that is not UTF-8
/// is an error naming the byte where it stops being text. A UTF-8 byte-order mark is dropped.
pub fn read_to_string(path: &Path) -> Result<String, EnvError> {
    text(read_bytes(path)?, &path.display().to_string())
}

/// `bytes` as text, without a leading UTF-8 byte-order mark; `source` names it in errors.
pub fn text(mut bytes: Vec<u8>, source: &str) -> Result<String, EnvError> {
    if bytes.starts_with(b"\xef\xbb\xbf") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        EnvError::data(
            source,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn reader(text: &'static str, line: usize, input: u64) -> BoundedReader<&'static [u8]> {
        BoundedReader::new(
            text.as_bytes(),
            Limits {
                max_line_bytes: line,
                max_input_bytes: input,
            },
        )
    }

    #[test]
    fn lines_within_the_limit_pass_unchanged() {
        let mut r = reader("ab\ncde\n\nf", 3, 100);
        let mut text = String::new();
        r.read_to_string(&mut text).unwrap();
        assert_eq!(text, "ab\ncde\n\nf");
    }

    #[test]
    fn a_long_line_is_an_error_with_its_number_and_reading_goes_on_after_it() {
        let mut r = reader("ok\nmuch too long\nnext\n", 4, 100);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, "ok\n");
        let mut long = Vec::new();
        let err = r.read_until(b'\n', &mut long).unwrap_err();
        assert_eq!(
            LimitExceeded::of(&err),
            Some(&LimitExceeded::Line { line: 2, max: 4 })
        );
        assert!(long.len() <= 4, "only the allowance is buffered");
        line.clear();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, "next\n");
    }

    #[test]
    fn the_input_size_is_bounded() {
        let mut r = reader("0123456789\n0123456789\n", 100, 15);
        let mut text = String::new();
        let err = r.read_to_string(&mut text).unwrap_err();
        assert_eq!(
            LimitExceeded::of(&err),
            Some(&LimitExceeded::Input { max: 15 })
        );
    }

    #[test]
    fn csv_reports_the_limit_through_its_errors() {
        let r = reader("a,b\n1,2\n3,444444444444\n", 8, 100);
        let mut csv = csv::Reader::from_reader(r);
        let rows: Vec<_> = csv.records().collect();
        assert!(rows[0].is_ok());
        let err = rows[1].as_ref().unwrap_err().to_string();
        assert!(err.contains("line 3 is longer than 8 bytes"), "{err}");
    }

    #[test]
    fn gzip_is_bounded_by_its_expanded_size() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.gz");
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&vec![b'0'; 32 << 20]).unwrap();
        let packed = gz.finish().unwrap();
        assert!(packed.len() < 64 << 10, "32 MiB of zeros pack small");
        std::fs::write(&path, packed).unwrap();
        let err = read_bytes_within(&path, 1 << 20).unwrap_err().to_string();
        assert!(
            err.contains("input is larger than 1.0 MiB (expanded"),
            "{err}"
        );
        assert_eq!(read_bytes_within(&path, 64 << 20).unwrap().len(), 32 << 20);
    }

    #[test]
    fn a_byte_order_mark_is_dropped_and_bad_utf8_named() {
        assert_eq!(text(b"\xef\xbb\xbfa,b".to_vec(), "f").unwrap(), "a,b");
        let err = text(b"ab\xff".to_vec(), "f").unwrap_err().to_string();
        assert!(err.contains("invalid byte at offset 2"), "{err}");
    }
}
