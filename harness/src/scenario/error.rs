//! Scenario diagnostics: every error names the file, line and column, and says what was
//! expected. Rendered by miette at the edge.

use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};

/// One problem in one scenario file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub struct ScenarioError {
    pub message: String,
    #[source_code]
    pub source_code: NamedSource<Arc<String>>,
    /// None on a line too long to draw (see `validate::MAX_LABEL_COLUMN`).
    #[label("{label}")]
    pub span: Option<SourceSpan>,
    pub label: String,
    #[help]
    pub help: Option<String>,
    pub line: u64,
    pub column: u64,
}

impl ScenarioError {
    /// `file:line:column: message`, for logs and one-line output.
    pub fn short(&self) -> String {
        format!("{}:{}:{}: {}", self.source_code.name(), self.line, self.column, self.message)
    }
}

/// Everything wrong with one file (at least one problem), or a file that could not be read.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    #[diagnostic(code(hadrill::io))]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{} has {} problem{}", path, .errors.len(), if .errors.len() == 1 { "" } else { "s" })]
    #[diagnostic(code(hadrill::scenario::invalid))]
    Invalid {
        path: String,
        #[related]
        errors: Vec<ScenarioError>,
    },
}

impl LoadError {
    pub fn errors(&self) -> &[ScenarioError] {
        match self {
            LoadError::Read { .. } => &[],
            LoadError::Invalid { errors, .. } => errors,
        }
    }
}
