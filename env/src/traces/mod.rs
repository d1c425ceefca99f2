//! Trace readers, one module per format. Streaming, with line-numbered errors; gzip supported.

pub mod openb;
pub mod swf;
pub mod table;

use crate::error::EnvError;
use flate2::read::GzDecoder;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Opens `path` for line reading, decompressing it if it starts with the gzip magic bytes.
pub fn open_maybe_gzip(path: &Path) -> Result<Box<dyn BufRead>, EnvError> {
    let io = |source| EnvError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = BufReader::new(std::fs::File::open(path).map_err(io)?);
    let gzip = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(BufReader::new(GzDecoder::new(file)))
    } else {
        Box::new(file)
    })
}

/// Line reader over in-memory bytes, gzip or plain.
pub fn read_bytes_maybe_gzip(bytes: &'static [u8]) -> Box<dyn BufRead> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::new(GzDecoder::new(bytes)))
    } else {
        Box::new(bytes)
    }
}
