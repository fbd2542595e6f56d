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
        if let Some(last) = events.last() {
            if last.t > meta.end {
                meta.end = last.t;
            }
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
