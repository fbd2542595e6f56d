//! Diagnostics for what the YAML parser rejects, and source spans: serde-saphyr's errors
//! said the way a scenario author thinks, each pointing at its line and column.

use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
use serde_saphyr::Location;

use crate::scenario::error::ScenarioError;

/// A serde-saphyr error as a diagnostic at its location.
pub(super) fn yaml_error(file: &str, src: &Arc<String>, e: &serde_saphyr::Error) -> ScenarioError {
    let loc = e.location();
    let plain = e.without_snippet().to_string();
    // The message carries its own " at line L, column C"; we show the location ourselves.
    let message = match loc {
        Some(l) => plain.trim_end_matches(&format!(" at line {}, column {}", l.line(), l.column())).to_owned(),
        None => plain,
    };
    let message = readable(message);
    let help = yaml_help(&message);
    let label = short_label(&message);
    diagnostic(file, src, loc.as_ref(), message, label, help)
}

/// A problem at `loc`. On a line too long to draw (no label), the message says where.
pub(super) fn diagnostic(
    file: &str,
    src: &Arc<String>,
    loc: Option<&Location>,
    message: String,
    label: String,
    help: Option<String>,
) -> ScenarioError {
    let (span, line, column) = span_of(loc, src);
    let message = match span {
        Some(_) => message,
        None => format!("{message} (line {line}, column {column}; the line is too long to show)"),
    };
    ScenarioError { message, source_code: NamedSource::new(file, src.clone()), span, label, help, line, column }
}

/// serde's terse type errors, said the way a scenario author thinks.
fn readable(message: String) -> String {
    match message.as_str() {
        "invalid u32" | "invalid u64" | "invalid u8" | "invalid u16" => "expected a whole number (0 or more)".into(),
        "invalid i32" | "invalid i64" => "expected a whole number".into(),
        "invalid bool" | "invalid boolean" => "expected true or false".into(),
        "expected mapping start" => "expected `key: value` pairs here".into(),
        _ => message,
    }
}

fn yaml_help(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        // "unknown field `stepz`, expected one of name, about, …" (or "expected `a` or `b`").
        let (word, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected =
            expected.strip_prefix(", expected one of ").or(expected.strip_prefix(", expected ")).unwrap_or("");
        let known = expected.split([',', ' ']).map(|w| w.trim_matches('`')).filter(|w| !w.is_empty() && *w != "or");
        let checked = "keys are checked: a misspelt key is an error, not ignored";
        Some(match super::suggest(word, known) {
            Some(guess) => format!("{guess} ({checked})"),
            None => checked.into(),
        })
    } else if message.starts_with("missing field `name`") {
        Some("every scenario starts with `name: SHORT-NAME`".into())
    } else if message.starts_with("unknown variant") && message.contains("power-pull") {
        Some("a fault is written as `fault: { KIND: { node: TARGET } }`".into())
    } else {
        None
    }
}

/// The label under the caret: the message up to its first comma, kept short.
fn short_label(message: &str) -> String {
    match message.split_once(", expected") {
        Some((head, _)) => head.to_owned(),
        None => message.to_owned(),
    }
}

/// Past this many bytes into its line, a problem is reported without its label: miette pads
/// the line under the excerpt up to the label's column with a format width, and a width past
/// 65 535 panics (a byte is at most 4 columns, for a tab).
const MAX_LABEL_COLUMN: usize = 16_000;

pub(super) fn span_of(loc: Option<&Location>, src: &str) -> (Option<SourceSpan>, u64, u64) {
    let Some(loc) = loc.filter(|l| l.line() > 0) else {
        return (Some((0, 0).into()), 1, 1);
    };
    let offset =
        loc.span().byte_offset().map(|o| o as usize).unwrap_or_else(|| line_col_offset(src, loc.line(), loc.column()));
    let len = loc.span().byte_len().map(|l| l as usize).unwrap_or(1).max(1);
    let len = len.min(src.len().saturating_sub(offset)).max(usize::from(offset < src.len()));
    let head = &src.as_bytes()[..offset.min(src.len())];
    let line_start = memchr::memrchr(b'\n', head).map_or(0, |i| i + 1);
    let span = (offset - line_start <= MAX_LABEL_COLUMN).then(|| (offset, len).into());
    (span, loc.line(), loc.column())
}

fn line_col_offset(src: &str, line: u64, col: u64) -> usize {
    let start: usize = src.split_inclusive('\n').take(line.saturating_sub(1) as usize).map(str::len).sum();
    (start + col.saturating_sub(1) as usize).min(src.len())
}
