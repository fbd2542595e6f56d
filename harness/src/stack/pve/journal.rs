//! Journal exports of a Proxmox node (`journalctl -o short-iso-precise` and
//! `journalctl -o json`): pve-ha-crm, pve-ha-lrm, watchdog-mux, corosync, pmxcfs, kernel.
//!
//! The node is the host name; the daemon is the syslog identifier, with `pve-ha-crm` and
//! `pve-ha-lrm` shortened to `crm` and `lrm` so that `by` reads as in the simulator
//! (`node1/crm`). `t` is the time since the earliest entry (exports of several nodes may be
//! concatenated), cut to milliseconds.
//!
//! The hot path borrows: lines are byte slices found with memchr, timestamps are parsed by
//! hand, JSON entries are read into borrowed fields with every other field skipped.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::timeline::Seconds;

use super::LogError;
use super::grammar::{At, By, Level, Sink};

/// What a framing read: line counts and the span of timestamps (µs since the epoch).
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

/// Each line of `bytes` with its 1-based number, without the `\n` (nor a `\r` before it).
fn lines(bytes: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
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

/// `pve-ha-crm` → `crm`, `pve-ha-lrm` → `lrm`, anything else as it is.
fn daemon_of(ident: &str) -> &str {
    match ident {
        "pve-ha-crm" => "crm",
        "pve-ha-lrm" => "lrm",
        other => other,
    }
}

/// Events carry the raw microseconds in `t` while reading (exact in an f64); this puts them
/// on the timeline's clock once the earliest entry is known.
pub(crate) fn rebase(sink: &mut Sink, first_us: i64) {
    for e in &mut sink.events {
        let us = e.t.0 as i64;
        e.t = Seconds::from_millis((us - first_us).div_euclid(1000));
    }
}

// ---------------------------------------------------------------------------------------
// short-iso-precise

/// Parse `journalctl -o short-iso-precise` output.
pub(crate) fn parse_short(bytes: &[u8], sink: &mut Sink) -> Read {
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
        let daemon = daemon_of(&ident);
        let at = At { t: Seconds(line.us as f64), line: n, by: By::Joined(&host, daemon), level: Level::Unknown };
        if !sink.daemon(&at, &host, daemon, &msg) {
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

/// The fields of a journal entry the reader needs; every other field is skipped.
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

/// Parse `journalctl -o json` output: one entry per line.
pub(crate) fn parse_json(bytes: &[u8], sink: &mut Sink) -> Result<Read, LogError> {
    let mut read = Read::new();
    for (n, raw) in lines(bytes) {
        read.lines = n;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry: Entry = serde_json::from_slice(raw).map_err(|source| LogError::Json { line: n, source })?;
        let Some(realtime) = entry.realtime.0 else {
            return Err(LogError::MissingField { line: n, field: "__REALTIME_TIMESTAMP" });
        };
        let us: i64 = realtime.parse().map_err(|_| LogError::BadField {
            line: n,
            field: "__REALTIME_TIMESTAMP",
            value: realtime.to_string(),
        })?;
        read.saw(us);
        let Some(msg) = entry.message.0 else {
            read.unrecognised += 1;
            continue;
        };
        // Journald has a host name on every entry; an export without one is from one host.
        let host = entry.hostname.0.unwrap_or(Cow::Borrowed("localhost"));
        let ident = entry.ident.0.or(entry.comm.0).unwrap_or(Cow::Borrowed("unknown"));
        let level = entry.priority.0.and_then(|p| p.parse::<u8>().ok()).map_or(Level::Unknown, Level::from_priority);
        let daemon = daemon_of(&ident);
        let at = At { t: Seconds(us as f64), line: n, by: By::Joined(&host, daemon), level };
        if !sink.daemon(&at, &host, daemon, &msg) {
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
}
