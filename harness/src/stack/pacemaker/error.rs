//! Why Pacemaker's output (crm_mon or stonith_admin XML, a journal export) could not be read.

/// An error reading Pacemaker's output. Journal lines the reader does not understand are not
/// errors (they are counted in `Meta::unrecognised`); only output whose structure cannot be
/// read is.
#[derive(Debug, thiserror::Error)]
pub enum PacemakerError {
    #[error("{what} is not well-formed XML: {source}")]
    Xml {
        what: &'static str,
        #[source]
        source: roxmltree::Error,
    },
    #[error("expected {expected}, found <{found}> at line {line}")]
    UnexpectedElement { expected: &'static str, found: String, line: u32 },
    #[error("{what}: the command failed with code {code}: {message}")]
    CommandFailed { what: &'static str, code: String, message: String },
    #[error("<{element}> at line {line} has no `{attribute}` attribute")]
    MissingAttribute { element: &'static str, attribute: &'static str, line: u32 },
    #[error("<{element} {attribute}=\"{value}\"> at line {line}: expected {expected}")]
    BadAttribute { element: &'static str, attribute: &'static str, value: String, line: u32, expected: &'static str },
    #[error("the journal export is empty: no line to read")]
    Empty,
    #[error(
        "unknown journal format: line {line} is `{looked_like}`; accepted formats are \
         journal-short-iso-precise (`journalctl -o short-iso-precise`) and journal-json \
         (`journalctl -o json`)"
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
