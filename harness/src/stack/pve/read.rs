//! The entry points: which framing a log is in, and reading it into a timeline.

use crate::timeline::{Meta, Seconds, Timeline};

use super::LogError;
use super::grammar::Sink;
use super::{journal, simulator};

/// The framings of the Proxmox HA message grammar that the reader accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// The HA simulator's `log.expect`: `info    160    node1/crm: …`.
    Simulator,
    /// `journalctl -o short-iso-precise` (plain `short-iso` is read too).
    JournalShort,
    /// `journalctl -o json`: one JSON object per line.
    JournalJson,
}

impl LogFormat {
    pub const ALL: &'static [LogFormat] = &[LogFormat::Simulator, LogFormat::JournalShort, LogFormat::JournalJson];

    /// The name recorded in `Meta::format`.
    pub fn name(&self) -> &'static str {
        match self {
            LogFormat::Simulator => "pve-simulator",
            LogFormat::JournalShort => "journal-short-iso-precise",
            LogFormat::JournalJson => "journal-json",
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The first line that says something about the framing: not blank, not a journal marker
/// (`-- Boot … --`, `-- Journal begins at … --`). With its 1-based number.
fn first_content_line(head: &[u8]) -> Option<(u64, &[u8])> {
    head.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .find(|(_, l)| !l.iter().all(u8::is_ascii_whitespace) && !l.starts_with(b"-- "))
}

/// The framing of a log, from its first lines.
pub fn detect(head: &[u8]) -> Option<LogFormat> {
    let (_, line) = first_content_line(head)?;
    let trimmed = line.trim_ascii_start();
    if trimmed.starts_with(b"{") {
        return Some(LogFormat::JournalJson);
    }
    if journal::looks_short(line) {
        return Some(LogFormat::JournalShort);
    }
    let text = std::str::from_utf8(line).ok()?;
    simulator::split(text).map(|_| LogFormat::Simulator)
}

/// Detect the framing of a log and read it.
pub fn read_log(bytes: &[u8]) -> Result<Timeline, LogError> {
    let Some((line, first)) = first_content_line(bytes) else {
        return Err(LogError::Empty);
    };
    match detect(bytes) {
        Some(format) => parse(bytes, format),
        None => {
            let text = String::from_utf8_lossy(first);
            let mut looked_like: String = text.chars().take(120).collect();
            if text.chars().count() > 120 {
                looked_like.push('…');
            }
            Err(LogError::UnknownFormat { line, looked_like })
        }
    }
}

/// Read a log in a known framing.
pub fn parse(bytes: &[u8], format: LogFormat) -> Result<Timeline, LogError> {
    let mut sink = Sink::default();
    // Most lines of an HA log make an event; reserving up front saves the copies (and page
    // faults) of a growing vector on big exports. JSON entries are about ten times longer.
    let line_len = if format == LogFormat::JournalJson { 1024 } else { 128 };
    sink.events.reserve(bytes.len() / line_len);
    let mut meta = Meta { format: Some(format.name().to_owned()), ..Meta::default() };
    match format {
        LogFormat::Simulator => {
            let (lines, unrecognised, end) = simulator::parse(bytes, &mut sink);
            meta.lines = lines;
            meta.unrecognised = unrecognised;
            meta.end = end;
        }
        LogFormat::JournalShort | LogFormat::JournalJson => {
            let read = match format {
                LogFormat::JournalShort => journal::parse_short(bytes, &mut sink),
                _ => journal::parse_json(bytes, &mut sink)?,
            };
            meta.lines = read.lines;
            meta.unrecognised = read.unrecognised;
            if let (Some(first), Some(last)) = (read.first_us, read.last_us) {
                journal::rebase(&mut sink, first);
                meta.end = Seconds::from_millis((last - first).div_euclid(1000));
                meta.start = jiff::Timestamp::from_microsecond(first).ok().map(|ts| ts.to_string());
            }
        }
    }
    Ok(Timeline::new(sink.events, meta))
}
