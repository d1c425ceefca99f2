//! Protocol-buffer wire format by hand: the few helpers the TensorBoard writer and the ONNX
//! codec need, instead of a code generator and a protobuf runtime.
//!
//! A message is a sequence of fields, each a key `(field_number << 3) | wire_type` followed by
//! a value: a varint (wire type 0), 8 little-endian bytes (1), a length-prefixed byte string
//! (2, also used for nested messages and packed repeated scalars) or 4 little-endian bytes (5).
//! Wire types 3 and 4 are the deprecated groups, which the reader skips.

use std::fmt;

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_varint_field(out: &mut Vec<u8>, field: u64, v: u64) {
    put_varint(out, field << 3);
    put_varint(out, v);
}

/// An `int64`/`int32` field: negative values go as their 64-bit two's complement (ten bytes),
/// as protobuf does for these types.
pub(crate) fn put_int_field(out: &mut Vec<u8>, field: u64, v: i64) {
    put_varint_field(out, field, v as u64);
}

#[cfg(test)]
pub(crate) fn put_f64(out: &mut Vec<u8>, field: u64, v: f64) {
    put_varint(out, (field << 3) | 1);
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_f32(out: &mut Vec<u8>, field: u64, v: f32) {
    put_varint(out, (field << 3) | 5);
    out.extend_from_slice(&v.to_le_bytes());
}

/// A length-delimited field: bytes, a string or an encoded nested message.
pub(crate) fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Malformed or truncated input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub(crate) String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

fn err<T>(msg: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(msg.into()))
}

/// One field's value, borrowing from the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl<'a> Value<'a> {
    pub(crate) fn varint(self) -> Result<u64, DecodeError> {
        match self {
            Value::Varint(v) => Ok(v),
            other => err(format!("expected a varint, found {other:?}")),
        }
    }

    pub(crate) fn bytes(self) -> Result<&'a [u8], DecodeError> {
        match self {
            Value::Bytes(b) => Ok(b),
            other => err(format!(
                "expected a length-delimited value, found {other:?}"
            )),
        }
    }

    pub(crate) fn fixed32(self) -> Result<u32, DecodeError> {
        match self {
            Value::Fixed32(v) => Ok(v),
            other => err(format!("expected a fixed32, found {other:?}")),
        }
    }
}

/// Appends a repeated varint field's elements: an unpacked element (one varint) or a packed
/// run (a byte string of varints). Parsers must accept both for any repeated scalar.
pub(crate) fn extend_varints(out: &mut Vec<u64>, value: Value<'_>) -> Result<(), DecodeError> {
    match value {
        Value::Varint(v) => out.push(v),
        Value::Bytes(b) => {
            let mut r = Reader::new(b);
            while !r.at_end() {
                out.push(r.varint()?);
            }
        }
        other => return err(format!("expected varints, found {other:?}")),
    }
    Ok(())
}

/// Appends a repeated fixed32 field's elements, unpacked or packed.
pub(crate) fn extend_fixed32(out: &mut Vec<u32>, value: Value<'_>) -> Result<(), DecodeError> {
    match value {
        Value::Fixed32(v) => out.push(v),
        Value::Bytes(b) => {
            if !b.len().is_multiple_of(4) {
                return err(format!("packed fixed32 run of {} bytes", b.len()));
            }
            out.extend(
                b.chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        other => return err(format!("expected fixed32 values, found {other:?}")),
    }
    Ok(())
}

/// Iterates over the fields of one message as `(field_number, value)`. After an error it
/// yields nothing more.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.buf.get(self.pos) else {
                return err("truncated varint");
            };
            self.pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(v);
            }
        }
        err("varint longer than ten bytes")
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], DecodeError> {
        let left = self.buf.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n <= left => {
                let bytes = &self.buf[self.pos..self.pos + n];
                self.pos += n;
                Ok(bytes)
            }
            _ => err(format!("field of {n} bytes, only {left} left")),
        }
    }

    fn key(&mut self) -> Result<(u32, u8), DecodeError> {
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 || field > (1 << 29) - 1 {
            return err(format!("invalid field number {field}"));
        }
        Ok((field as u32, (key & 7) as u8))
    }

    /// Skips a group's contents up to and including its end marker.
    fn skip_group(&mut self, field: u32) -> Result<(), DecodeError> {
        let mut open = vec![field];
        while let Some(&innermost) = open.last() {
            if self.at_end() {
                return err(format!("unterminated group {innermost}"));
            }
            match self.key()? {
                (f, 3) => open.push(f),
                (f, 4) if f == innermost => {
                    open.pop();
                }
                (f, 4) => return err(format!("group {innermost} closed as {f}")),
                (_, wire) => {
                    self.value(wire)?;
                }
            }
        }
        Ok(())
    }

    fn value(&mut self, wire: u8) -> Result<Value<'a>, DecodeError> {
        Ok(match wire {
            0 => Value::Varint(self.varint()?),
            1 => {
                let b = self.take(8)?;
                Value::Fixed64(u64::from_le_bytes([
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                ]))
            }
            2 => {
                let n = self.varint()?;
                Value::Bytes(self.take(n)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            other => return err(format!("unexpected wire type {other}")),
        })
    }

    fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, DecodeError> {
        loop {
            if self.at_end() {
                return Ok(None);
            }
            let (field, wire) = self.key()?;
            if wire == 3 {
                self.skip_group(field)?;
                continue;
            }
            return Ok(Some((field, self.value(wire)?)));
        }
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u32, Value<'a>), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_field() {
            Ok(field) => field.map(Ok),
            Err(e) => {
                self.pos = self.buf.len();
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(bytes: &[u8]) -> Result<Vec<(u32, Value<'_>)>, DecodeError> {
        Reader::new(bytes).collect()
    }

    #[test]
    fn writes_and_reads_every_wire_type() {
        let mut buf = Vec::new();
        put_varint_field(&mut buf, 1, 300);
        put_int_field(&mut buf, 2, -1);
        put_f64(&mut buf, 3, 1.5);
        put_bytes(&mut buf, 4, b"hi");
        put_f32(&mut buf, 536_870_911, -2.0);
        assert_eq!(buf[..3], [0x08, 0xac, 0x02]);
        let got = fields(&buf).unwrap();
        assert_eq!(
            got,
            vec![
                (1, Value::Varint(300)),
                (2, Value::Varint(u64::MAX)),
                (3, Value::Fixed64(1.5f64.to_bits())),
                (4, Value::Bytes(b"hi")),
                (536_870_911, Value::Fixed32((-2.0f32).to_bits())),
            ]
        );
    }

    #[test]
    fn repeated_scalars_packed_or_not() {
        let mut packed = Vec::new();
        for v in [1u64, 150, 0] {
            put_varint(&mut packed, v);
        }
        let mut out = Vec::new();
        extend_varints(&mut out, Value::Varint(7)).unwrap();
        extend_varints(&mut out, Value::Bytes(&packed)).unwrap();
        assert_eq!(out, [7, 1, 150, 0]);
        assert!(extend_varints(&mut out, Value::Bytes(&[0x80])).is_err());

        let mut out = Vec::new();
        extend_fixed32(&mut out, Value::Fixed32(5)).unwrap();
        extend_fixed32(&mut out, Value::Bytes(&[1, 0, 0, 0, 2, 0, 0, 0])).unwrap();
        assert_eq!(out, [5, 1, 2]);
        assert!(extend_fixed32(&mut out, Value::Bytes(&[1, 0, 0])).is_err());
    }

    #[test]
    fn groups_are_skipped() {
        // Field 1 varint, group 2 { field 3 varint, group 4 {} }, field 5 varint.
        let bytes = [0x08, 1, 0x13, 0x18, 9, 0x23, 0x24, 0x14, 0x28, 2];
        let got = fields(&bytes).unwrap();
        assert_eq!(got, vec![(1, Value::Varint(1)), (5, Value::Varint(2))]);
        assert!(fields(&[0x13, 0x18, 9]).is_err());
        assert!(fields(&[0x13, 0x1c]).is_err());
        assert!(fields(&[0x14]).is_err());
    }

    #[test]
    fn malformed_input_is_an_error() {
        for bytes in [
            &[0x08][..],      // key without value
            &[0x08, 0x80],    // truncated varint
            &[0x0a, 5, 1, 2], // length past the end
            &[0x09, 1, 2, 3], // truncated fixed64
            &[0x0d, 1],       // truncated fixed32
            &[0x0e],          // wire type 6
            &[0x00, 1],       // field number 0
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1,
            ],
            &[
                0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
        ] {
            let mut r = Reader::new(bytes);
            assert!(r.any(|f| f.is_err()), "{bytes:?}");
            assert!(r.next().is_none());
        }
    }
}
