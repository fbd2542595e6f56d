//! Summaries: `summary.md` (for CI job pages, merge requests and issue comments) and the
//! plain-text summary printed on the terminal. Both say the same things: title, verdict,
//! the checks, the key intervals from the first fault, event counts, and where the timeline
//! came from. Both are deterministic: nothing depends on when they were written.

use std::fmt::Write as _;

use super::view::{
    Counts, ReportInput, bound, counts_by_kind, describe, first_fault, fmt_dur, fmt_t, key_events, node_label,
    source_line, span_line, subject_label, verdict_label, verdict_meaning, window,
};
use crate::check::{CheckResult, Verdict};
use crate::timeline::{Event, EventData};

/// More rows than this and a table stops being a summary; the rest is in the HTML and JSONL.
const MD_KEY_ROWS: usize = 40;
const TEXT_KEY_ROWS: usize = 10;

/// Escape text for a Markdown table cell: pipes would split the cell, `<` could open HTML,
/// and emphasis or link characters would reformat names like `*`-globs or `[x]`.
fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '*' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn verdict_word(v: Verdict) -> &'static str {
    v.as_str()
}

fn measured(check: &CheckResult) -> String {
    check.measured.map(fmt_dur).unwrap_or_else(|| "-".into())
}

fn bound_text(check: &CheckResult) -> String {
    bound(check).map(fmt_dur).unwrap_or_else(|| "-".into())
}

/// Key events worth a line in a summary: state changes and what moved them. The first fault
/// itself is the origin and is named in the heading.
fn summary_key_events<'a>(input: &'a ReportInput) -> (Option<&'a Event>, Vec<&'a Event>) {
    let fault = first_fault(input.timeline);
    let (_, events) = key_events(input.timeline);
    let events = events.into_iter().filter(|e| !fault.is_some_and(|f| std::ptr::eq(*e, f))).collect();
    (fault, events)
}

/// For a scenario that marks checks `expected: fail`: whether the run came out as it says.
fn expected_line(ev: &crate::check::Evaluation) -> Option<String> {
    if !ev.expects_failure() {
        return None;
    }
    let marked: Vec<&CheckResult> = ev.checks.iter().filter(|c| c.expected_fail).collect();
    let failed = marked.iter().filter(|c| c.verdict == Verdict::Fail).count();
    Some(match ev.judged() {
        Some(Verdict::Pass) => format!(
            "as expected: the {} check(s) this scenario marks `expected: fail` failed, and every other passed (exit 0)",
            marked.len()
        ),
        judged => format!(
            "NOT as expected: {failed} of the {} check(s) marked `expected: fail` failed; judged {} (exit {})",
            marked.len(),
            verdict_label(judged),
            judged.unwrap_or(Verdict::Inconclusive).exit_code()
        ),
    })
}

/// The Markdown summary.
pub fn summary_md(input: &ReportInput) -> String {
    let ev = input.evaluation;
    let tl = input.timeline;
    let mut md = String::new();
    let _ = writeln!(md, "# hadrill: {}\n", md_cell(&ev.title));
    let _ = writeln!(md, "**Verdict: {}**: {}.\n", verdict_label(ev.verdict), verdict_meaning(ev.verdict));
    if let Some(line) = expected_line(ev) {
        let _ = writeln!(md, "{}\n", md_cell(&line));
    }
    if !ev.checks.is_empty() {
        let _ = writeln!(md, "Checks: {}.\n", Counts::of(&ev.checks).sentence());
    }

    md.push_str("## Checks\n\n");
    if ev.checks.is_empty() {
        md.push_str("No expectations were checked.\n\n");
    } else {
        md.push_str("| # | verdict | expectation | subject | measured | bound | window | message | location |\n");
        md.push_str("|--:|---|---|---|--:|--:|---|---|---|\n");
        for (i, c) in ev.checks.iter().enumerate() {
            let verdict = match c.verdict {
                Verdict::Pass => verdict_word(c.verdict).to_owned(),
                // Bold everything that is not a pass so it stands out in a rendered table.
                v => format!("**{}**", verdict_word(v)),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                i + 1,
                verdict,
                md_cell(&c.name),
                md_cell(&subject_label(&c.subject, &ev.roles)),
                measured(c),
                bound_text(c),
                window(c),
                md_cell(&c.message),
                md_cell(c.location.as_deref().unwrap_or("-")),
            );
        }
        md.push('\n');
    }

    let stood: Vec<&CheckResult> = ev.checks.iter().filter(|c| c.evidence.is_some()).collect();
    if !stood.is_empty() {
        md.push_str("## What the checks stood on\n\n");
        for c in stood {
            let _ = writeln!(md, "- {}: {}", md_cell(&c.name), md_cell(c.evidence.as_deref().unwrap_or_default()));
        }
        md.push('\n');
    }
    if !ev.fences.is_empty() {
        md.push_str("## Fences\n\nEvery fence the stack acknowledged, with the hypervisor's word on it.\n\n");
        for f in &ev.fences {
            let _ = writeln!(md, "- {}", md_cell(&f.describe()));
        }
        md.push('\n');
    }

    md.push_str("## Key intervals\n\n");
    let (fault, events) = summary_key_events(input);
    let origin = fault.map(|f| f.t).unwrap_or_default();
    match fault {
        Some(f) => {
            let _ = writeln!(md, "Counted from the first fault, `{}` at {}.\n", md_cell(&describe(f)), fmt_t(f.t));
        }
        None => md.push_str("No fault was recorded; counted from the start of the timeline.\n\n"),
    }
    if events.is_empty() {
        md.push_str("No state changes were recorded.\n\n");
    } else {
        md.push_str("| t | since | event |\n|--:|--:|---|\n");
        for e in events.iter().take(MD_KEY_ROWS) {
            let _ = writeln!(md, "| {} | +{} | {} |", fmt_t(e.t), fmt_dur(e.t - origin), md_cell(&describe(e)));
        }
        if events.len() > MD_KEY_ROWS {
            let _ = writeln!(md, "\n…and {} more in `timeline.jsonl`.", events.len() - MD_KEY_ROWS);
        }
        md.push('\n');
    }

    md.push_str("## Events\n\n");
    let counts = counts_by_kind(tl);
    if counts.is_empty() {
        md.push_str("The timeline has no events.\n\n");
    } else {
        md.push_str("| kind | count |\n|---|--:|\n");
        for (kind, n) in &counts {
            let _ = writeln!(md, "| {kind} | {n} |");
        }
        let _ = writeln!(md, "| **total** | **{}** |\n", tl.events.len());
    }

    md.push_str("## Source\n\n");
    let _ = writeln!(md, "- log: {}", md_cell(&source_line(tl)));
    let _ = writeln!(md, "- time span: {}", md_cell(&span_line(tl)));
    let _ = writeln!(md, "- lines read: {}, unrecognised: {}", tl.meta.lines, tl.meta.unrecognised);
    if let Some(setup) = &tl.meta.setup {
        let _ = writeln!(md, "- set-up: {}", md_cell(setup));
    }
    if !ev.roles.0.is_empty() {
        let roles: Vec<String> = ev.roles.0.iter().map(|(n, r)| format!("{} = {}", md_cell(n), md_cell(r))).collect();
        let _ = writeln!(md, "- roles: {}", roles.join(", "));
    }
    md
}

/// The plain-text summary for the terminal, without colour codes: the caller colours the
/// verdict words, which always start a line or sit in the first column.
pub fn summary_text(input: &ReportInput) -> String {
    let ev = input.evaluation;
    let tl = input.timeline;
    let mut out = String::new();
    let _ = writeln!(out, "hadrill: {}", ev.title);
    let _ = writeln!(out, "verdict: {}, {}", verdict_label(ev.verdict), verdict_meaning(ev.verdict));
    if let Some(setup) = &tl.meta.setup {
        let _ = writeln!(out, "set-up:  {setup}");
    }
    if let Some(line) = expected_line(ev) {
        let _ = writeln!(out, "{line}");
    }
    if !ev.checks.is_empty() {
        let _ = writeln!(out, "checks:  {}\n", Counts::of(&ev.checks).sentence());
    }
    for c in &ev.checks {
        let numbers = match (c.measured, bound(c)) {
            (Some(m), Some(b)) => format!("  [measured {} / bound {}]", fmt_dur(m), fmt_dur(b)),
            (Some(m), None) => format!("  [measured {}]", fmt_dur(m)),
            (None, Some(b)) => format!("  [bound {}]", fmt_dur(b)),
            (None, None) => String::new(),
        };
        let marked = if c.expected_fail { "  (expected: fail)" } else { "" };
        let _ = writeln!(out, "  {:<12}  {}{numbers}{marked}", verdict_word(c.verdict), c.name);
        // A pass needs no explanation; anything else says why and where it is written.
        if c.verdict != Verdict::Pass {
            let _ = writeln!(out, "  {:<12}  {}", "", c.message);
            if let Some(loc) = &c.location {
                let _ = writeln!(out, "  {:<12}  at {loc}", "");
            }
        }
        if let Some(e) = &c.evidence {
            let _ = writeln!(out, "  {:<12}  stood on {e}", "");
        }
    }
    if !ev.fences.is_empty() {
        out.push_str("\nfences (each acknowledged fence against the hypervisor's record):\n");
        for f in &ev.fences {
            let _ = writeln!(out, "  {}", f.describe());
        }
    }

    out.push('\n');
    let _ = writeln!(out, "source: {}, {} events", source_line(tl), tl.events.len());
    let _ = writeln!(out, "span:   {}", span_line(tl));
    if !ev.roles.0.is_empty() {
        let roles: Vec<String> = ev.roles.0.keys().map(|n| node_label(n, &ev.roles)).collect();
        let _ = writeln!(out, "nodes:  {}", roles.join(", "));
    }

    let (fault, events) = summary_key_events(input);
    // The terminal gets state changes only; the Markdown and HTML have the rest.
    let events: Vec<&Event> = events
        .into_iter()
        .filter(|e| {
            matches!(
                e.data,
                EventData::Service { .. }
                    | EventData::Node { .. }
                    | EventData::Power { .. }
                    | EventData::Recovery { .. }
            )
        })
        .collect();
    match fault {
        Some(f) => {
            let _ = writeln!(out, "first fault at {}: {}", fmt_t(f.t), describe(f));
        }
        None if !events.is_empty() => out.push_str("no fault recorded; state changes from the start:\n"),
        None => {}
    }
    let origin = fault.map(|f| f.t).unwrap_or_default();
    for e in events.iter().take(TEXT_KEY_ROWS) {
        let _ = writeln!(out, "  {:>8}  {}", format!("+{}", fmt_dur(e.t - origin)), describe(e));
    }
    if events.len() > TEXT_KEY_ROWS {
        let _ = writeln!(out, "  {:>8}  ...and {} more (see report.html)", "", events.len() - TEXT_KEY_ROWS);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{basic1_evaluation, basic1_timeline, no_checks, soak_timeline};
    use crate::timeline::Timeline;

    #[test]
    fn basic1_summary_md() {
        let (tl, ev) = (basic1_timeline(), basic1_evaluation());
        insta::assert_snapshot!(summary_md(&ReportInput { timeline: &tl, evaluation: &ev, snapshot: "" }));
    }

    #[test]
    fn basic1_summary_text() {
        let (tl, ev) = (basic1_timeline(), basic1_evaluation());
        let text = summary_text(&ReportInput { timeline: &tl, evaluation: &ev, snapshot: "" });
        let lines = text.lines().count();
        assert!((10..=30).contains(&lines), "{lines} lines:\n{text}");
        assert!(!text.contains('\x1b'), "no colour codes");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn empty_timeline_without_checks() {
        let tl = Timeline::default();
        let ev = no_checks("nothing");
        let input = ReportInput { timeline: &tl, evaluation: &ev, snapshot: "" };
        let md = summary_md(&input);
        let text = summary_text(&input);
        for s in [&md, &text] {
            assert!(s.contains("no expectations were checked"), "{s}");
            assert!(!s.to_lowercase().contains("pass"), "{s}");
        }
        insta::assert_snapshot!("empty_md", md);
        insta::assert_snapshot!("empty_text", text);
    }

    #[test]
    fn three_hours_is_readable() {
        let tl = soak_timeline();
        let ev = no_checks("soak");
        let input = ReportInput { timeline: &tl, evaluation: &ev, snapshot: "" };
        let text = summary_text(&input);
        assert!(text.contains("0s..10800s (3h), t=0 at 2025-03-01T02:00:00Z"), "{text}");
        assert!(text.contains("+380s") && text.contains("+20m35.5s"), "{text}");
        assert!(text.lines().count() <= 30, "{text}");
        // A set-up broken on purpose is said at the top, in both summaries.
        assert_eq!(
            text.lines().nth(2),
            Some("set-up:  broken on purpose (no-sbd): sbd disabled, stonith-enabled=false")
        );
        assert!(summary_md(&input).contains("- set-up: broken on purpose (no-sbd)"));
    }

    #[test]
    fn markdown_cells_are_escaped() {
        assert_eq!(md_cell("a|b <script> *x* [y] `z`\nw"), r"a\|b &lt;script> \*x\* \[y\] \`z\` w");
    }
}
