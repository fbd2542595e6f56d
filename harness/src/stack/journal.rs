//! The systemd journal's export framings, shared by every stack: `journalctl -o
//! short-iso-precise` (plain `short-iso` too) and `journalctl -o json`.
//!
//! This module only frames: it splits lines, reads the timestamp, host, syslog identifier,
//! priority and message of each entry, and hands them to a stack's message grammar through a
//! callback. What a message means is the grammar's business.
//!
//! The hot path borrows: lines are byte slices found with memchr, timestamps are parsed by
//! hand, JSON entries are read into borrowed fields with every other field skipped. The
//! callback is generic so that each stack's grammar is inlined into the loop.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// One journal entry, borrowed from the export.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line<'a> {
    /// Microseconds since the epoch.
    pub us: i64,
    /// 1-based line number in the export.
    pub line: u64,
    pub host: &'a str,
    /// The syslog identifier (`SYSLOG_IDENTIFIER`, or `_COMM` when there is none).
    pub ident: &'a str,
    /// The syslog priority (0–7); `short-iso-precise` does not carry it.
    pub priority: Option<u8>,
    pub message: &'a str,
}

/// What a framing read: line counts and the span of timestamps (µs since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Read {
    pub lines: u64,
    pub unrecognised: u64,
    pub first_us: Option<i64>,
    pub last_us: Option<i64>,
}

impl Read {
    fn new() -> Self {
        Read { lines: 0, unrecognised: 0, first_us: None, last_us: None }
    }

    fn saw(&mut self, us: i64) {
        self.first_us = Some(self.first_us.map_or(us, |f| f.min(us)));
        self.last_us = Some(self.last_us.map_or(us, |l| l.max(us)));
    }
}

/// A JSON export whose framing cannot be read. Each stack wraps it in its own error type.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    #[error("line {line}: not a journal JSON entry: {source}")]
    Json {
        line: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("line {line}: journal entry has no {field}")]
    MissingField { line: u64, field: &'static str },
    #[error("line {line}: bad {field} `{value}`")]
    BadField { line: u64, field: &'static str, value: String },
}

/// Each line of `bytes` with its 1-based number, without the `\n` (nor a `\r` before it).
pub(crate) fn lines(bytes: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    let mut start = 0;
    let mut n = 0u64;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let mut line = &bytes[start..end];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        start = end + 1;
        n += 1;
        Some((n, line))
    })
}

/// Whether a line starts like `short-iso-precise`: an ISO timestamp followed by a space.
pub(crate) fn looks_short(line: &[u8]) -> bool {
    parse_iso(line).is_some_and(|(_, used)| line.get(used) == Some(&b' '))
}

// ---------------------------------------------------------------------------------------
// short-iso-precise

/// Read `journalctl -o short-iso-precise` output, handing each entry to `entry`, which
/// returns whether it recognised the message.
pub(crate) fn read_short(bytes: &[u8], mut entry: impl FnMut(&Line<'_>) -> bool) -> Read {
    let mut read = Read::new();
    for (n, raw) in lines(bytes) {
        read.lines = n;
        if raw.is_empty() || raw.starts_with(b"-- ") {
            // `-- Boot … --`, `-- No entries --`, `-- Journal begins at … --`.
            continue;
        }
        let Some(line) = split_short(raw) else {
            // Continuation lines of multi-line messages, or garbage.
            read.unrecognised += 1;
            continue;
        };
        read.saw(line.us);
        let (host, ident, msg) = (text(line.host), text(line.ident), text(line.msg));
        let line = Line { us: line.us, line: n, host: &host, ident: &ident, priority: None, message: &msg };
        if !entry(&line) {
            read.unrecognised += 1;
        }
    }
    read
}

/// Bytes as text: std's validation is fast, the lossy path (slower) only when it fails.
fn text(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

struct ShortLine<'a> {
    us: i64,
    host: &'a [u8],
    ident: &'a [u8],
    msg: &'a [u8],
}

/// `2026-11-22T12:16:12.123456+01:00 node1 pve-ha-crm[1234]: message`.
fn split_short(line: &[u8]) -> Option<ShortLine<'_>> {
    let (us, used) = parse_iso(line)?;
    let rest = line[used..].strip_prefix(b" ")?;
    let sp = memchr::memchr(b' ', rest)?;
    let host = &rest[..sp];
    let rest = &rest[sp + 1..];
    // The identifier ends at `[pid]: ` or `: `.
    let colon = memchr::memmem::find(rest, b": ").or_else(|| rest.ends_with(b":").then(|| rest.len() - 1))?;
    let tag = &rest[..colon];
    let ident = match memchr::memchr(b'[', tag) {
        Some(i) => &tag[..i],
        None => tag,
    };
    let msg = rest.get(colon + 2..).unwrap_or(b"");
    Some(ShortLine { us, host, ident, msg })
}

/// An ISO 8601 timestamp as journalctl writes it (`2026-11-22T12:16:12.123456+01:00`, also
/// `+0100`, `Z`, or no fraction) → (µs since the epoch, bytes used).
pub(crate) fn parse_iso(b: &[u8]) -> Option<(i64, usize)> {
    fn num(b: &[u8]) -> Option<i64> {
        let mut v = 0i64;
        for &c in b {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    }
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (h, mi, s) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut digits = 0;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            if digits < 6 {
                micros = micros * 10 + i64::from(c - b'0');
            }
            digits += 1;
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        for _ in digits..6 {
            micros *= 10;
        }
    }
    let offset_s = match b.get(i) {
        Some(b'Z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(b.get(i + 1..i + 3)?)?;
            let (om, used) = if b.get(i + 3) == Some(&b':') {
                (num(b.get(i + 4..i + 6)?)?, 6)
            } else {
                (num(b.get(i + 3..i + 5)?)?, 5)
            };
            i += used;
            let off = oh * 3600 + om * 60;
            if sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset_s;
    Some((secs * 1_000_000 + micros, i))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ---------------------------------------------------------------------------------------
// json

/// A journal field: a string (borrowed when it has no escapes), an array of bytes (journald
/// writes non-UTF-8 or binary values so), or null.
#[derive(Default)]
struct Field<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Field<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, an array of bytes or null")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Field(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Field(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Field(Some(Cow::Owned(v))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Field(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Field(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(64));
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                Ok(Field(Some(Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()))))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The fields of a journal entry a grammar needs; every other field is skipped.
#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(rename = "__REALTIME_TIMESTAMP", borrow, default)]
    realtime: Field<'a>,
    #[serde(rename = "_HOSTNAME", borrow, default)]
    hostname: Field<'a>,
    #[serde(rename = "SYSLOG_IDENTIFIER", borrow, default)]
    ident: Field<'a>,
    #[serde(rename = "_COMM", borrow, default)]
    comm: Field<'a>,
    #[serde(rename = "PRIORITY", borrow, default)]
    priority: Field<'a>,
    #[serde(rename = "MESSAGE", borrow, default)]
    message: Field<'a>,
}

/// Read `journalctl -o json` output (one entry per line), handing each entry with a message
/// to `entry`, which returns whether it recognised it. Entries without a message count as
/// unrecognised.
pub(crate) fn read_json(bytes: &[u8], mut entry: impl FnMut(&Line<'_>) -> bool) -> Result<Read, FramingError> {
    let mut read = Read::new();
    for (n, raw) in lines(bytes) {
        read.lines = n;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let e: Entry = serde_json::from_slice(raw).map_err(|source| FramingError::Json { line: n, source })?;
        let Some(realtime) = e.realtime.0 else {
            return Err(FramingError::MissingField { line: n, field: "__REALTIME_TIMESTAMP" });
        };
        // Microseconds since the epoch, unsigned as journald writes them: a negative stamp is
        // as malformed as a word, and would overflow the span between two entries.
        let us: i64 = realtime.parse().ok().filter(|us| *us >= 0).ok_or_else(|| FramingError::BadField {
            line: n,
            field: "__REALTIME_TIMESTAMP",
            value: realtime.to_string(),
        })?;
        read.saw(us);
        let Some(msg) = e.message.0 else {
            read.unrecognised += 1;
            continue;
        };
        // Journald has a host name on every entry; an export without one is from one host.
        let host = e.hostname.0.unwrap_or(Cow::Borrowed("localhost"));
        let ident = e.ident.0.or(e.comm.0).unwrap_or(Cow::Borrowed("unknown"));
        let priority = e.priority.0.and_then(|p| p.parse::<u8>().ok());
        let line = Line { us, line: n, host: &host, ident: &ident, priority, message: &msg };
        if !entry(&line) {
            read.unrecognised += 1;
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps_in_every_offset_form() {
        let base = parse_iso(b"2026-11-22T11:16:12.123456Z").unwrap();
        assert_eq!(base.1, 27);
        assert_eq!(parse_iso(b"2026-11-22T12:16:12.123456+01:00 node1").unwrap(), (base.0, 32));
        assert_eq!(parse_iso(b"2026-11-22T12:16:12.123456+0100").unwrap().0, base.0);
        assert_eq!(parse_iso(b"2026-11-22T10:16:12.123456-01:00").unwrap().0, base.0);
        assert_eq!(parse_iso(b"2026-11-22T11:16:12.123Z").unwrap().0, base.0 - 456);
        assert_eq!(parse_iso(b"2026-11-22T11:16:12Z").unwrap().0, base.0 - 123_456);
        // 2026-11-22T11:16:12Z, checked with `date -u -d … +%s`.
        assert_eq!(base.0, 1_795_346_172_123_456);
        assert_eq!(parse_iso(b"1970-01-01T00:00:00Z").unwrap().0, 0);
        assert!(parse_iso(b"2026-13-22T11:16:12Z").is_none());
        assert!(parse_iso(b"2026-11-22 11:16:12Z").is_none());
        assert!(parse_iso(b"2026-11-22T11:16:12").is_none());
    }

    #[test]
    fn short_lines_split_with_and_without_pid() {
        let l = split_short(b"2026-11-22T12:16:12.123456+01:00 node1 pve-ha-crm[1234]: status change a => b").unwrap();
        assert_eq!((l.host, l.ident, l.msg), (&b"node1"[..], &b"pve-ha-crm"[..], &b"status change a => b"[..]));
        let l =
            split_short(b"2026-11-22T12:16:12.123456+01:00 node1 kernel: softdog: Initiating system reboot").unwrap();
        assert_eq!((l.ident, l.msg), (&b"kernel"[..], &b"softdog: Initiating system reboot"[..]));
        assert!(split_short(b"    continuation of a message").is_none());
    }

    /// An owned copy of a `Line`, to look at after the framing is done.
    #[derive(Debug, PartialEq)]
    struct Owned {
        us: i64,
        line: u64,
        host: String,
        ident: String,
        priority: Option<u8>,
        message: String,
    }

    impl Owned {
        fn of(l: &Line) -> Owned {
            Owned {
                us: l.us,
                line: l.line,
                host: l.host.to_owned(),
                ident: l.ident.to_owned(),
                priority: l.priority,
                message: l.message.to_owned(),
            }
        }
    }

    fn collect_short(bytes: &[u8]) -> (Read, Vec<Owned>) {
        let mut out = Vec::new();
        let read = read_short(bytes, |l| {
            out.push(Owned::of(l));
            !l.message.is_empty()
        });
        (read, out)
    }

    #[test]
    fn short_framing_counts_markers_continuations_and_refusals() {
        let log = b"-- Journal begins at Sun 2026-11-22 --\n\
            2026-11-22T12:00:00.000001+00:00 n1 corosync[9]: [QUORUM] Members[3]: 1 2 3\r\n\
            \tcontinued\n\
            2026-11-22T12:00:02.5Z n2 sbd[7]:\n";
        let (read, out) = collect_short(log);
        assert_eq!(read.lines, 4);
        // The continuation, and the empty message the callback refused.
        assert_eq!(read.unrecognised, 2);
        assert_eq!(read.first_us, Some(out[0].us));
        assert_eq!(read.last_us.unwrap() - read.first_us.unwrap(), 2_499_999);
        assert_eq!(out[0].line, 2);
        assert_eq!((out[0].host.as_str(), out[0].ident.as_str(), out[0].priority), ("n1", "corosync", None));
        assert_eq!(out[0].message, "[QUORUM] Members[3]: 1 2 3");
        assert_eq!((out[1].ident.as_str(), out[1].message.as_str()), ("sbd", ""));
    }

    #[test]
    fn json_framing_reads_priority_comm_and_byte_arrays() {
        let log = br#"{"__REALTIME_TIMESTAMP":"1795346172123456","_HOSTNAME":"n1","SYSLOG_IDENTIFIER":"pacemaker-fenced","PRIORITY":"5","MESSAGE":"hello"}
{"__REALTIME_TIMESTAMP":"1795346173123456","_COMM":"sbd","MESSAGE":[104,105]}
{"__REALTIME_TIMESTAMP":"1795346174123456","_HOSTNAME":"n1"}
"#;
        let mut out = Vec::new();
        let read = read_json(log, |l| {
            out.push(Owned::of(l));
            true
        })
        .unwrap();
        assert_eq!(read.lines, 3);
        assert_eq!(read.unrecognised, 1, "the entry without a message");
        let o = &out[0];
        assert_eq!(
            (o.host.as_str(), o.ident.as_str(), o.priority, o.message.as_str()),
            ("n1", "pacemaker-fenced", Some(5), "hello")
        );
        let o = &out[1];
        assert_eq!(
            (o.host.as_str(), o.ident.as_str(), o.priority, o.message.as_str()),
            ("localhost", "sbd", None, "hi")
        );
        assert_eq!(o.us - out[0].us, 1_000_000);
    }

    #[test]
    fn json_framing_errors_name_the_line_and_field() {
        let e = read_json(b"{}\n", |_| true).unwrap_err();
        assert!(matches!(e, FramingError::MissingField { line: 1, field: "__REALTIME_TIMESTAMP" }), "{e}");
        let e = read_json(b"\n{\"__REALTIME_TIMESTAMP\":\"soon\"}\n", |_| true).unwrap_err();
        assert!(matches!(e, FramingError::BadField { line: 2, .. }), "{e}");
        let e = read_json(b"not json\n", |_| true).unwrap_err();
        assert!(e.to_string().starts_with("line 1: not a journal JSON entry"), "{e}");
        // Journald's stamps are unsigned; i64::MIN overflowed the span to the next entry in
        // both stacks' readers (found by the fuzzer).
        let e = read_json(b"{\"__REALTIME_TIMESTAMP\":\"-9223372036854775808\"}\n", |_| true).unwrap_err();
        assert!(matches!(e, FramingError::BadField { line: 1, .. }), "{e}");
    }

    #[test]
    fn json_framing_reads_the_extreme_stamps() {
        let log = b"{\"__REALTIME_TIMESTAMP\":\"9223372036854775807\",\"MESSAGE\":\"a\"}\n\
            {\"__REALTIME_TIMESTAMP\":\"0\",\"MESSAGE\":\"b\"}\n";
        let read = read_json(log, |_| true).unwrap();
        assert_eq!((read.first_us, read.last_us), (Some(0), Some(i64::MAX)));
    }

    #[test]
    fn short_detection_needs_a_space_after_the_timestamp() {
        assert!(looks_short(b"2026-11-22T12:00:00.000001+00:00 n1 x: y"));
        assert!(!looks_short(b"2026-11-22T12:00:00.000001+00:00"));
        assert!(!looks_short(b"info    160    node1/crm: x"));
    }
}
