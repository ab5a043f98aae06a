//! Postgres' binary `COPY ... FROM STDIN` format, written by hand for the bulk record insert:
//! a header, one tuple per row (field count, then each field as a length and its bytes in the
//! type's binary send format), and a trailer. COPY skips SQL parsing and array unnesting and lets
//! Postgres batch heap writes, which is what keeps 100k records inside the insert budget.
//!
//! Only the types the records table needs are here; each matches `typsend` of its Postgres type.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Signature, flags and header-extension length that open every binary COPY stream.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Microseconds from the Unix epoch to Postgres' epoch, 2000-01-01 00:00:00 UTC.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A binary COPY stream being built in memory.
#[derive(Debug)]
pub struct BinaryCopy {
    buf: Vec<u8>,
}

impl BinaryCopy {
    /// A stream with its header, with room for about `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.max(HEADER.len() + 2));
        buf.extend_from_slice(HEADER);
        Self { buf }
    }

    /// Starts a tuple of `fields` fields.
    pub fn row(&mut self, fields: i16) -> &mut Self {
        self.buf.extend_from_slice(&fields.to_be_bytes());
        self
    }

    /// Appends one field's raw bytes.
    fn field(&mut self, bytes: &[u8]) -> &mut Self {
        let len = i32::try_from(bytes.len()).expect("a COPY field is under 2 GiB");
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(bytes);
        self
    }

    /// A `uuid`.
    pub fn uuid(&mut self, v: Uuid) -> &mut Self {
        self.field(v.as_bytes())
    }

    /// An `int8`.
    pub fn int8(&mut self, v: i64) -> &mut Self {
        self.field(&v.to_be_bytes())
    }

    /// A `text` (UTF-8, as the database encoding is).
    pub fn text(&mut self, v: &str) -> &mut Self {
        self.field(v.as_bytes())
    }

    /// A `bytea`.
    pub fn bytea(&mut self, v: &[u8]) -> &mut Self {
        self.field(v)
    }

    /// A `timestamptz`, or NULL.
    pub fn timestamptz(&mut self, v: Option<DateTime<Utc>>) -> &mut Self {
        match v {
            Some(t) => self.field(&(t.timestamp_micros() - PG_EPOCH_MICROS).to_be_bytes()),
            None => {
                self.buf.extend_from_slice(&(-1i32).to_be_bytes());
                self
            }
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Takes what was written so far, leaving the stream empty (to send it in pieces).
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Closes the stream with its trailer and returns the rest.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_stream_is_header_tuples_and_trailer_in_network_order() {
        let mut copy = BinaryCopy::with_capacity(0);
        copy.row(3).int8(1).text("é").timestamptz(None);
        let bytes = copy.finish();
        let mut expect = HEADER.to_vec();
        expect.extend_from_slice(&[0, 3]);
        expect.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1]);
        expect.extend_from_slice(&[0, 0, 0, 2, 0xc3, 0xa9]);
        expect.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        expect.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(bytes, expect);
    }

    #[test]
    fn timestamps_count_microseconds_from_the_year_2000() {
        let mut copy = BinaryCopy::with_capacity(0);
        let _ = copy.take();
        copy.timestamptz(Some(Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 1).unwrap()));
        assert_eq!(copy.take(), [0, 0, 0, 8, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40]);
    }
}
