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
