//! A TensorBoard writer of scalars and hyper-parameters: `Event` protocol buffers framed as
//! TFRecords, the format TensorBoard reads from `events.out.tfevents.*` files.
//!
//! The messages are `prost` derive structs (no code generator): the subset of TensorFlow's
//! `Event`, `Summary` and `Summary.Value` that scalars need, and the hparams plugin's
//! `HParamsPluginData` with a `SessionStartInfo` (its dashboard then lists the run's
//! hyper-parameters next to its metrics). A record is: length (u64 LE), masked
//! CRC-32C of the length, data, masked CRC-32C of the data. Checked against TensorBoard's own
//! reader by a test of the Python package.

use std::collections::HashMap;
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
    /// Part of a oneof in TensorFlow's schema: always written for scalars, even when 0.
    #[prost(float, optional, tag = "2")]
    simple_value: Option<f32>,
    #[prost(message, optional, tag = "9")]
    metadata: Option<SummaryMetadata>,
}

#[derive(Clone, PartialEq, Message)]
struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    plugin_data: Option<PluginData>,
}

#[derive(Clone, PartialEq, Message)]
struct PluginData {
    #[prost(string, tag = "1")]
    plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    content: Vec<u8>,
}

/// `tensorboard.hparams.HParamsPluginData` holding a session's start (version 0).
#[derive(Clone, PartialEq, Message)]
struct HParamsPluginData {
    #[prost(int32, tag = "1")]
    version: i32,
    #[prost(message, optional, tag = "3")]
    session_start_info: Option<SessionStartInfo>,
}

#[derive(Clone, PartialEq, Message)]
struct SessionStartInfo {
    #[prost(map = "string, message", tag = "1")]
    hparams: HashMap<String, ProtoValue>,
    #[prost(double, tag = "5")]
    start_time_secs: f64,
}

/// `google.protobuf.Value`, the kinds a hyper-parameter takes.
#[derive(Clone, PartialEq, Message)]
struct ProtoValue {
    #[prost(oneof = "HParam", tags = "2, 3, 4")]
    kind: Option<HParam>,
}

/// A hyper-parameter's value.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum HParam {
    #[prost(double, tag = "2")]
    Number(f64),
    #[prost(string, tag = "3")]
    Text(String),
    #[prost(bool, tag = "4")]
    Flag(bool),
}

/// The tag the hparams plugin reads a session's start from.
const SESSION_START_TAG: &str = "_hparams_/session_start_info";

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

    /// Writes scalars `(tag, value)` at `step` as one event. Values that are not finite (no
    /// value at this step, e.g. no episode ended) are left out: the tag has no point there.
    pub fn scalars(&mut self, step: u64, values: &[(&str, f64)]) -> std::io::Result<()> {
        let summary = Summary {
            value: values
                .iter()
                .filter(|(_, value)| value.is_finite())
                .map(|(tag, value)| SummaryValue {
                    tag: (*tag).to_string(),
                    simple_value: Some(*value as f32),
                    metadata: None,
                })
                .collect(),
        };
        self.record(&Event {
            wall_time: wall_time(),
            step: i64::try_from(step).unwrap_or(i64::MAX),
            payload: Some(Payload::Summary(summary)),
        })
    }

    /// Writes the session's hyper-parameters for TensorBoard's hparams dashboard.
    pub fn hparams(&mut self, values: Vec<(String, HParam)>) -> std::io::Result<()> {
        let data = HParamsPluginData {
            version: 0,
            session_start_info: Some(SessionStartInfo {
                hparams: values
                    .into_iter()
                    .map(|(name, v)| (name, ProtoValue { kind: Some(v) }))
                    .collect(),
                start_time_secs: wall_time(),
            }),
        };
        let value = SummaryValue {
            tag: SESSION_START_TAG.into(),
            simple_value: None,
            metadata: Some(SummaryMetadata {
                plugin_data: Some(PluginData {
                    plugin_name: "hparams".into(),
                    content: data.encode_to_vec(),
                }),
            }),
        };
        self.record(&Event {
            wall_time: wall_time(),
            step: 0,
            payload: Some(Payload::Summary(Summary { value: vec![value] })),
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
        w.scalars(7, &[("loss", 0.5), ("no_value", f64::NAN)])
            .unwrap();
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
        assert!(!bytes.windows(8).any(|w| w == b"no_value"));
    }
}
