//! Reports: everything hadrill writes for a run, from its timeline and the evaluation of its
//! checks: the JSON-lines timeline, JUnit XML for CI, a self-contained HTML page with an SVG
//! timeline, a Markdown summary, the plain-text terminal summary, and the normalised snapshot.

#[cfg(test)]
mod fixtures;
mod html;
mod junit;
mod summary;
mod svg;
mod view;
mod write;

pub use html::html;
pub use junit::{junit_suite, junit_xml};
pub use summary::{summary_md, summary_text};
pub use view::ReportInput;
pub use write::{FILES, ReportError, write_reports};
