//! A TensorBoard scalar writer: `Event` protocol buffers framed as TFRecords, the format
//! TensorBoard reads from `events.out.tfevents.*` files.
//!
//! The messages are `prost` derive structs (no code generator): the subset of TensorFlow's
//! `Event`, `Summary` and `Summary.Value` that scalars need. A record is: length (u64 LE), masked
//! CRC-32C of the length, data, masked CRC-32C of the data. Checked against TensorBoard's own
//! reader by a test of the Python package.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

/// `tensorflow.Event`, with the two payloads this writer uses.
#[derive(Clone, PartialEq, Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(oneof = "Payload", tags = "3, 5")]
    payload: Option<Payload>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Payload {
    #[prost(string, tag = "3")]
    FileVersion(String),
    #[prost(message, tag = "5")]
    Summary(Summary),
}

/// `tensorflow.Summary` of scalar values.
#[derive(Clone, PartialEq, Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<SummaryValue>,
}

#[derive(Clone, PartialEq, Message)]
struct SummaryValue {
    #[prost(string, tag = "1")]
    tag: String,
    /// Part of a oneof in TensorFlow's schema: always written, even when 0.
    #[prost(float, optional, tag = "2")]
    simple_value: Option<f32>,
}

#[derive(Debug)]
pub struct EventWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl EventWriter {
    /// Creates a new event file in `dir` (created if missing); `suffix` keeps the names of
    /// several writers in one directory apart.
    pub fn create(dir: &Path, suffix: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let path = dir.join(format!("events.out.tfevents.{now}.planetgym{suffix}"));
        let mut writer = Self {
            out: BufWriter::new(File::create(&path)?),
            path,
        };
        writer.record(&Event {
            wall_time: wall_time(),
            step: 0,
            payload: Some(Payload::FileVersion("brain.Event:2".into())),
        })?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes scalars `(tag, value)` at `step` as one event.
    pub fn scalars(&mut self, step: u64, values: &[(&str, f64)]) -> std::io::Result<()> {
        let summary = Summary {
            value: values
                .iter()
                .map(|(tag, value)| SummaryValue {
                    tag: (*tag).to_string(),
                    simple_value: Some(*value as f32),
                })
                .collect(),
        };
        self.record(&Event {
            wall_time: wall_time(),
            step: i64::try_from(step).unwrap_or(i64::MAX),
            payload: Some(Payload::Summary(summary)),
        })
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// One TFRecord: length, masked CRC-32C of the length, the event, its masked CRC-32C.
    fn record(&mut self, event: &Event) -> std::io::Result<()> {
        let data = event.encode_to_vec();
        let data = data.as_slice();
        let len = (data.len() as u64).to_le_bytes();
        self.out.write_all(&len)?;
        self.out.write_all(&masked_crc(&len).to_le_bytes())?;
        self.out.write_all(data)?;
        self.out.write_all(&masked_crc(data).to_le_bytes())
    }
}

fn wall_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bitwise: records are small and few.
fn masked_crc(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
        .rotate_right(15)
        .wrapping_add(0xa282_ead8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        // The CRC-32C check value of "123456789" (RFC 3720).
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn records_are_framed_with_lengths_and_checksums() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path(), "").unwrap();
        w.scalars(7, &[("loss", 0.5)]).unwrap();
        w.flush().unwrap();
        let bytes = std::fs::read(w.path()).unwrap();
        let mut at = 0;
        let mut records = 0;
        while at < bytes.len() {
            let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
            let len_crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
            assert_eq!(len_crc, masked_crc(&bytes[at..at + 8]));
            let data = &bytes[at + 12..at + 12 + len];
            let data_crc =
                u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap());
            assert_eq!(data_crc, masked_crc(data));
            at += 16 + len;
            records += 1;
        }
        assert_eq!(records, 2);
        assert!(bytes.windows(4).any(|w| w == b"loss"));
    }
}
