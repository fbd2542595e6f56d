//! The ordered list of events of one run or one analysed log, with what is known about
//! where it came from and how far it reaches.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Event, EventData, Seconds};

/// Where a timeline came from and how much of it could be read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The file or run it was read from.
    pub source: Option<String>,
    /// The input format that was detected, e.g. `pve-simulator`.
    pub format: Option<String>,
    /// The wall-clock instant of `t = 0`, when the source has one (RFC 3339).
    pub start: Option<String>,
    /// How far observation reaches: nothing is known about what happened after this.
    pub end: Seconds,
    /// Lines read, and lines that no reader recognised (kept out of the timeline).
    pub lines: u64,
    pub unrecognised: u64,
    /// How the cluster was set up, when that is not the sound default (a sabotage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<String>,
}

/// Events in time order (stable for events at the same instant: source order is kept).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    pub events: Vec<Event>,
    pub meta: Meta,
}

impl Timeline {
    pub fn new(mut events: Vec<Event>, mut meta: Meta) -> Self {
        events.sort_by_key(|e| e.t.millis());
        if let Some(last) = events.last()
            && last.t > meta.end
        {
            meta.end = last.t;
        }
        Timeline { events, meta }
    }

    /// Every node named by any event, sorted.
    pub fn nodes(&self) -> BTreeSet<String> {
        self.events
            .iter()
            .filter(|e| !matches!(e.data, EventData::Command { .. } | EventData::Log { .. }))
            .filter_map(|e| e.data.node().map(str::to_owned))
            .chain(self.events.iter().filter_map(|e| match &e.data {
                EventData::Service { node, target, .. } => node.clone().or(target.clone()),
                EventData::Recovery { to, .. } => to.clone(),
                _ => None,
            }))
            .collect()
    }

    /// Every service named by any event, sorted.
    pub fn services(&self) -> BTreeSet<String> {
        self.events.iter().filter_map(|e| e.data.service().map(str::to_owned)).collect()
    }

    /// How far observation reaches.
    pub fn end(&self) -> Seconds {
        self.meta.end
    }

    /// Whether `bytes` start like hadrill's own JSON-lines timeline (`{"kind":…,"t":…}`).
    pub fn looks_like_jsonl(bytes: &[u8]) -> bool {
        let first = bytes.split(|b| *b == b'\n').find(|l| !l.iter().all(u8::is_ascii_whitespace));
        first.is_some_and(|l| l.starts_with(b"{\"kind\":"))
    }

    /// Read a timeline written by `to_jsonl`.
    pub fn from_jsonl(bytes: &[u8]) -> Result<Timeline, JsonlError> {
        let mut events = Vec::new();
        let mut lines = 0;
        for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            lines += 1;
            let e: Event = serde_json::from_slice(line).map_err(|source| JsonlError { line: i as u64 + 1, source })?;
            events.push(e);
        }
        Ok(Timeline::new(events, Meta { format: Some("hadrill-timeline".into()), lines, ..Meta::default() }))
    }

    /// The timeline as JSON lines, one event per line.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            out.push_str(&serde_json::to_string(e).expect("events always serialise"));
            out.push('\n');
        }
        out
    }
}

/// A line of a JSON-lines timeline that is not an event.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: not a timeline event: {source}")]
pub struct JsonlError {
    pub line: u64,
    #[source]
    pub source: serde_json::Error,
}
