//! Small helpers shared by the CSV readers: find a column, read a finite number, with the
//! source, line and column in every message.

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
                format!("line {line}: {what} `{cell}` is not a finite number"),
            )
        })
}

/// A data row with its line number, or what was wrong with it.
pub type Row = Result<(usize, StringRecord), EnvError>;

/// The header and the data rows of CSV `text`, each row with its line number (the header is
/// line 1), errors naming `source` and the line.
pub fn rows<'a>(
    text: &'a str,
    source: &'a str,
) -> Result<(StringRecord, impl Iterator<Item = Row> + 'a), EnvError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| EnvError::data(source, e.to_string()))?
        .clone();
    let records = reader.into_records().enumerate().map(move |(i, record)| {
        let line = i + 2;
        record
            .map(|r| (line, r))
            .map_err(|e| EnvError::data(source, format!("line {line}: {e}")))
    });
    Ok((headers, records))
}
