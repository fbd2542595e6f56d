//! Why a Proxmox HA log could not be read.

/// An error reading a log. Lines the reader does not understand are not errors (they are
/// counted in `Meta::unrecognised`); only a file whose framing cannot be read is.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("the log is empty: no line to read")]
    Empty,
    #[error(
        "unknown log format: line {line} is `{looked_like}`; accepted formats are \
         pve-simulator (`info    160    node1/crm: …`, the HA simulator's log.expect), \
         journal-short-iso-precise (`journalctl -o short-iso-precise`) and \
         journal-json (`journalctl -o json`)"
    )]
    UnknownFormat { line: u64, looked_like: String },
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
