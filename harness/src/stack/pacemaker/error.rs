//! Why Pacemaker's output (crm_mon or stonith_admin XML, a journal export) could not be read.

use crate::stack::journal::FramingError;

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
    /// A JSON export whose framing cannot be read (shared by every stack's reader).
    #[error(transparent)]
    Framing(#[from] FramingError),
}
