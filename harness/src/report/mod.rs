//! Reports (placeholder until the report module lands).
use std::path::{Path, PathBuf};
pub struct ReportInput<'a> {
    pub timeline: &'a crate::timeline::Timeline,
    pub evaluation: &'a crate::check::Evaluation,
    pub snapshot: &'a str,
}
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("placeholder")]
pub struct ReportError;
pub fn write_reports(_d: &Path, _i: &ReportInput) -> Result<Vec<PathBuf>, ReportError> {
    Err(ReportError)
}
pub fn summary_text(i: &ReportInput) -> String {
    format!("{:#?}\n{:?}\n", i.evaluation.checks, i.evaluation.verdict)
}
