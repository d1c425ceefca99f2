//! Small helpers shared by the CSV readers: find a column, read a finite number, with the
//! source, line and column in every message.

use crate::bounds::excerpt;
use crate::error::EnvError;
use csv::StringRecord;

/// Index of column `name` in `headers`.
pub fn column(headers: &StringRecord, name: &str, source: &str) -> Result<usize, EnvError> {
    headers.iter().position(|h| h == name).ok_or_else(|| {
        EnvError::data(
            source,
            format!(
                "no column `{name}` (columns: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
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
            format!("line {line}: {what} = {value} is outside [{low}, {high}]"),
        ))
    }
}

/// The physical line (1-based) where `record` starts: right after blank lines and quoted
/// newlines, where a record count would not be.
pub fn line_of(record: &StringRecord) -> usize {
    record.position().map_or(0, |p| p.line() as usize)
}

/// A CSV reading error with the source and the physical line; a hit input limit gives its own
/// message (it names the line).
pub fn csv_error(source: &str, e: &csv::Error) -> EnvError {
    let line = |pos: &Option<csv::Position>| pos.as_ref().map_or(0, csv::Position::line);
    let message = match e.kind() {
        csv::ErrorKind::Io(io) => return crate::input::line_error(source, 0, io),
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
        _ => e.to_string(),
    };
    EnvError::data(source, message)
}

/// A data row with its line number, or what was wrong with it.
pub type Row = Result<(usize, StringRecord), EnvError>;

/// The header and the data rows of CSV `text`, each row with its physical line number (the
/// header is line 1), errors naming `source` and the line.
pub fn rows<'a>(
    text: &'a str,
    source: &'a str,
) -> Result<(StringRecord, impl Iterator<Item = Row> + 'a), EnvError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| csv_error(source, &e))?
        .clone();
    let records = reader.into_records().map(move |record| {
        record
            .map(|r| (line_of(&r), r))
            .map_err(|e| csv_error(source, &e))
    });
    Ok((headers, records))
}
