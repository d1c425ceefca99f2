//! Small helpers shared by the CSV readers: find a column, read a finite number, with the
//! source, line and column in every message.

use crate::bounds::{excerpt, num};
use crate::error::EnvError;
use csv::StringRecord;
use std::io::Read;

/// Index of column `name` in `headers`.
pub fn column(headers: &StringRecord, name: &str, source: &str) -> Result<usize, EnvError> {
    headers.iter().position(|h| h == name).ok_or_else(|| {
        EnvError::data(
            source,
            format!(
                "no column `{name}` (columns: {})",
                excerpt(&headers.iter().collect::<Vec<_>>().join(", "), 200)
            ),
        )
    })
}

/// The finite number in `record[column]`; `what` names the field in the message.
pub fn finite(
    record: &StringRecord,
    column: usize,
    line: usize,
    source: &str,
    what: &str,
) -> Result<f64, EnvError> {
    let cell = record.get(column).unwrap_or("");
    cell.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            EnvError::data(
                source,
                format!(
                    "line {line}: {what} `{}` is not a finite number",
                    excerpt(cell, 40)
                ),
            )
        })
}

/// The finite number in `record[column]`, in `[low, high]` (inclusive).
pub fn number_in(
    record: &StringRecord,
    column: usize,
    (line, source): (usize, &str),
    what: &str,
    [low, high]: [f64; 2],
) -> Result<f64, EnvError> {
    let value = finite(record, column, line, source, what)?;
    if (low..=high).contains(&value) {
        Ok(value)
    } else {
        Err(EnvError::data(
            source,
            format!(
                "line {line}: {what} = {} is outside [{}, {}]",
                num(value),
                num(low),
                num(high)
            ),
        ))
    }
}

/// A CSV reading error in `text` with the source and the physical line; a hit input limit gives its own
/// message (it names the line).
pub fn csv_error(source: &str, e: &csv::Error, text: &str) -> EnvError {
    let line = |pos: &Option<csv::Position>| pos.as_ref().map_or(0, |p| line_at(text, p.byte()));
    let message = match e.kind() {
        csv::ErrorKind::Io(io) => return crate::input::line_error(source, None, io),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {}: {len} fields, the lines before have {expected_len}",
            line(pos)
        ),
        csv::ErrorKind::Utf8 { pos, err } => format!(
            "line {}: field {} is not UTF-8 text",
            line(pos),
            err.field() + 1
        ),
        _ => match e.position() {
            Some(p) => format!("line {}: {e}", line_at(text, p.byte())),
            None => e.to_string(),
        },
    };
    EnvError::data(source, message)
}

/// A data row with its line number, or what was wrong with it.
pub type Row = Result<(usize, StringRecord), EnvError>;

/// The header and the data rows of CSV `text`, each row with its physical line number (the
/// header is line 1; blank lines and quoted newlines count), errors naming `source` and the
/// line.
pub fn rows<'a>(
    text: &'a str,
    source: &'a str,
) -> Result<(StringRecord, impl Iterator<Item = Row> + 'a), EnvError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| csv_error(source, &e, text))?
        .clone();
    // The csv crate's line numbers skip blank lines: count newlines up to where each record
    // starts instead, incrementally so that the whole text is scanned once.
    let mut seen = (0usize, 1usize);
    let records = reader.into_records().map(move |record| {
        let record = record.map_err(|e| csv_error(source, &e, text))?;
        let byte = record_start(text, record.position());
        let (from, line) = seen;
        let line = line
            + text.as_bytes()[from.min(byte)..byte]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        seen = (byte, line);
        Ok((line, record))
    });
    Ok((headers, records))
}

/// The physical line (1-based) where `record`, read from `text`, starts.
pub fn line_of(record: &StringRecord, text: &str) -> usize {
    line_at(text, record_start(text, record.position()) as u64)
}

/// The byte where a record at `position` starts: csv's position includes the blank lines it
/// skipped before the record.
fn record_start(text: &str, position: Option<&csv::Position>) -> usize {
    let from = position.map_or(0, |p| p.byte() as usize).min(text.len());
    from + text.as_bytes()[from..]
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .count()
}

/// The physical line (1-based) of byte `offset` of `text`.
fn line_at(text: &str, offset: u64) -> usize {
    let end = (offset as usize).min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// Reads a CSV with the named columns (`?name`: optional), calling `row(fields, line)` for each
/// data line (line numbers are physical). The input is read whole first: its size is bounded by the reader.
pub fn read_rows<T>(
    reader: impl Read,
    source: &str,
    columns: &[&str],
    mut row: impl FnMut(&[&str], usize) -> Result<T, String>,
) -> Result<Vec<T>, EnvError> {
    read_rows_with(reader, source, columns, |fields, line, _| row(fields, line))
}

/// `read_rows`, also telling `row` which of `columns` the header has (`present[i]`: false only
/// for an absent optional column, whose fields read as empty).
pub fn read_rows_with<T>(
    mut reader: impl Read,
    source: &str,
    columns: &[&str],
    mut row: impl FnMut(&[&str], usize, &[bool]) -> Result<T, String>,
) -> Result<Vec<T>, EnvError> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| crate::input::line_error(source, None, &e))?;
    let text = crate::input::text(bytes, source)?;
    let (headers, rows) = rows(&text, source)?;
    // A column named `?name` may be absent: its fields then read as empty.
    let index: Vec<Option<usize>> = columns
        .iter()
        .map(|c| match c.strip_prefix('?') {
            Some(optional) => Ok(headers.iter().position(|h| h == optional)),
            None => column(&headers, c, source).map(Some),
        })
        .collect::<Result<_, _>>()?;
    let present: Vec<bool> = index.iter().map(Option::is_some).collect();
    let mut out = Vec::new();
    for record in rows {
        let (line, record) = record?;
        let fields: Vec<&str> = index
            .iter()
            .map(|c| c.and_then(|c| record.get(c)).unwrap_or("").trim())
            .collect();
        out.push(
            row(&fields, line, &present)
                .map_err(|m| EnvError::data(source, format!("line {line}: {m}")))?,
        );
    }
    Ok(out)
}

/// `value` parsed as a `T`; the message names `column`.
pub fn number<T: std::str::FromStr>(value: &str, column: &str) -> Result<T, String> {
    value.parse::<T>().map_err(|_| {
        format!(
            "{column} = `{}` is not a valid non-negative integer",
            excerpt(value, 40)
        )
    })
}
