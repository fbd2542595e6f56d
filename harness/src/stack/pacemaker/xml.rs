//! Small helpers over roxmltree for Pacemaker's XML: attributes with errors that say which
//! element, which line and what was expected, and the `<pacemaker-result>` envelope every
//! tool's `--output-as=xml` shares.

use roxmltree::{Document, Node};

use super::PacemakerError;

/// Pacemaker's INFINITY for scores, fail counts and thresholds (`CRM_SCORE_INFINITY`).
pub const INFINITY: u32 = 1_000_000;

pub(crate) fn parse<'a>(text: &'a str, what: &'static str) -> Result<Document<'a>, PacemakerError> {
    Document::parse(text).map_err(|source| PacemakerError::Xml { what, source })
}

pub(crate) fn line(n: Node) -> u32 {
    n.document().text_pos_at(n.range().start).row
}

/// The name of an element as it appears in errors.
fn tag(n: Node) -> String {
    n.tag_name().name().to_owned()
}

/// `<pacemaker-result>` with a `<status code="0">`: the command worked. Returns the root.
pub(crate) fn envelope<'a, 'i>(
    doc: &'a Document<'i>,
    what: &'static str,
    expected: &'static str,
) -> Result<Node<'a, 'i>, PacemakerError> {
    let root = doc.root_element();
    if root.tag_name().name() != "pacemaker-result" {
        return Err(PacemakerError::UnexpectedElement { expected, found: tag(root), line: line(root) });
    }
    if let Some(status) = child(root, "status") {
        let code = status.attribute("code").unwrap_or("");
        if code != "0" {
            let message = status.attribute("message").unwrap_or("").to_owned();
            // The tool's own error lines, when it gave any.
            let errors: Vec<&str> =
                status.descendants().filter(|n| n.has_tag_name("error")).filter_map(|n| n.text()).collect();
            let message = if errors.is_empty() { message } else { format!("{message} ({})", errors.join("; ")) };
            return Err(PacemakerError::CommandFailed { what, code: code.to_owned(), message });
        }
    }
    Ok(root)
}

pub(crate) fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(name))
}

pub(crate) fn children<'a, 'i: 'a>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children().filter(move |c| c.has_tag_name(name))
}

pub(crate) fn attr<'a>(n: Node<'a, '_>, element: &'static str, name: &'static str) -> Result<&'a str, PacemakerError> {
    // Lazily: `line` counts the document's lines up to the node, on every call.
    n.attribute(name).ok_or_else(|| PacemakerError::MissingAttribute { element, attribute: name, line: line(n) })
}

/// `true`/`false`, as `pcmk__btoa` writes them; absent is `default`.
pub(crate) fn flag(n: Node, element: &'static str, name: &'static str, default: bool) -> Result<bool, PacemakerError> {
    match n.attribute(name) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(PacemakerError::BadAttribute {
            element,
            attribute: name,
            value: v.to_owned(),
            line: line(n),
            expected: "`true` or `false`",
        }),
    }
}

/// A count or threshold: a number or `INFINITY`, capped at INFINITY as Pacemaker does.
pub(crate) fn score(n: Node, element: &'static str, name: &'static str) -> Result<Option<u32>, PacemakerError> {
    let Some(v) = n.attribute(name) else {
        return Ok(None);
    };
    let parsed = match v.trim_start_matches('+') {
        "INFINITY" => Some(INFINITY),
        digits => digits.parse::<u64>().ok().map(|x| x.min(u64::from(INFINITY)) as u32),
    };
    parsed.map(Some).ok_or_else(|| PacemakerError::BadAttribute {
        element,
        attribute: name,
        value: v.to_owned(),
        line: line(n),
        expected: "a count or INFINITY",
    })
}
