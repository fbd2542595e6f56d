//! Reading a journal export of Pacemaker cluster nodes into a timeline: the shared journal
//! framing (`stack::journal`), this stack's grammar (`grammar`).
//!
//! The node is the host name, the writer `node/identifier` (`node2/pacemaker-fenced`). `t` is
//! the time since the earliest entry (exports of several nodes may be concatenated), cut to
//! milliseconds; `Meta::start` is that entry's wall-clock time.

use crate::stack::journal::{self, Line};
use crate::timeline::{Meta, Seconds, Timeline};

use super::PacemakerError;
use super::grammar::{At, Level, Sink};

/// Read a journal export (`journalctl -o short-iso-precise` or `journalctl -o json`) of
/// corosync, pacemakerd, the pacemaker-* daemons, sbd and the kernel.
pub fn read_journal(bytes: &[u8]) -> Result<Timeline, PacemakerError> {
    let Some((n, first)) =
        journal::lines(bytes).find(|(_, l)| !l.iter().all(u8::is_ascii_whitespace) && !l.starts_with(b"-- "))
    else {
        return Err(PacemakerError::Empty);
    };
    let mut sink = Sink::default();
    let entry = |sink: &mut Sink, l: &Line| {
        let mut at = At {
            us: l.us,
            line: l.line,
            node: l.host,
            ident: l.ident,
            level: l.priority.and_then(Level::from_priority),
        };
        sink.message(&mut at, l.message)
    };
    let (format, read) = if first.trim_ascii_start().starts_with(b"{") {
        let read = journal::read_json(bytes, |l| entry(&mut sink, l))?;
        ("journal-json", read)
    } else if journal::looks_short(first) {
        ("journal-short-iso-precise", journal::read_short(bytes, |l| entry(&mut sink, l)))
    } else {
        let text = String::from_utf8_lossy(first);
        let mut looked_like: String = text.chars().take(120).collect();
        if text.chars().count() > 120 {
            looked_like.push('…');
        }
        return Err(PacemakerError::UnknownFormat { line: n, looked_like });
    };
    let mut meta =
        Meta { format: Some(format.to_owned()), lines: read.lines, unrecognised: read.unrecognised, ..Meta::default() };
    if let (Some(first), Some(last)) = (read.first_us, read.last_us) {
        for e in &mut sink.events {
            let us = e.t.0 as i64;
            e.t = Seconds::from_millis((us - first).div_euclid(1000));
        }
        meta.end = Seconds::from_millis((last - first).div_euclid(1000));
        meta.start = jiff::Timestamp::from_microsecond(first).ok().map(|ts| ts.to_string());
    }
    Ok(Timeline::new(sink.events, meta))
}
