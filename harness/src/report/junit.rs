//! JUnit XML for CI systems: one `<testsuite>` named after the evaluation's title, one
//! `<testcase>` per check.
//!
//! How the four verdicts map, and why:
//!
//! | verdict        | JUnit element                      | GitLab shows | Jenkins shows          |
//! |----------------|------------------------------------|--------------|------------------------|
//! | pass           | (none: success)                    | passed       | passed                 |
//! | fail           | `<failure type="fail">`            | failed       | failed                 |
//! | inconclusive   | `<error type="inconclusive">`      | error        | failed (build unstable)|
//! | infra-error    | `<error type="infra-error">`       | error        | failed (build unstable)|
//!
//! * `failures` counts exactly the checks where the HA stack did not meet an expectation, so a
//!   non-zero `failures` always means "HA regressed".
//! * `errors` counts the checks that got no answer: the run could not decide (inconclusive) or
//!   the lab broke (infra-error). The `type` attribute and the message prefix
//!   (`INCONCLUSIVE:` / `INFRA-ERROR:`) tell the two apart.
//! * Inconclusive is deliberately not `<skipped>`: GitLab and Jenkins render skipped tests as
//!   neutral and do not mark a build unstable for them, so an undecided check would read as
//!   "fine". In JUnit's own terms a check that could not reach its verdict is an error (the
//!   test did not complete), not a skip (the test was not meant to run).
//! * A run without checks gets one `<skipped>` case saying "no expectations were checked":
//!   visible, and never counted as a pass.
//! * A check the scenario marks `expected: fail` (a known weakness shown on purpose) is a
//!   success when it failed, its output saying `FAILED AS EXPECTED`, and a `<failure
//!   type="unexpected-pass">` when it passed: what CI should go red on is the scenario not
//!   coming out as it says.
//!
//! Every case carries its details (kind, subject, window, seen, measured, location) as
//! `<property>` elements for tools, and as text for people: in the body of `<failure>` /
//! `<error>` (GitLab shows it as the case's output, Jenkins as its stack trace), and in
//! `<system-out>` for passes, which have no such element. Nothing here depends on when the report was written: the
//! suite's `timestamp` is set only from the timeline's wall-clock start (`meta.start`), and
//! its `time` is the observed span of the timeline, not the time the harness took.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::view::{
    ReportInput, bound, fmt_dur, fmt_t, source_line, span_line, subject_label, verdict_label, verdict_meaning, window,
};
use crate::check::{CheckKind, CheckResult, Subject, Verdict};
use crate::timeline::{Roles, Seconds};

/// The JUnit XML report.
pub fn junit_xml(input: &ReportInput) -> String {
    let mut report = Report::new("hadrill");
    report.set_time(duration(input.timeline.end()));
    report.add_test_suite(junit_suite(input));
    // Writing into memory cannot fail; quick-junit's error type only carries I/O errors.
    report.to_string().expect("serialising JUnit XML into memory")
}

/// The evaluation as one JUnit suite, for a report of several (`hadrill run --junit`).
pub fn junit_suite(input: &ReportInput) -> TestSuite {
    let ev = input.evaluation;
    let tl = input.timeline;

    let mut suite = TestSuite::new(ev.title.as_str());
    suite.set_time(duration(tl.end()));
    if let Some(start) = &tl.meta.start {
        // Normalised through jiff so CI parsers get RFC 3339; an unparsable start is still
        // kept as a property rather than dropped silently.
        if let Ok(ts) = start.parse::<jiff::Timestamp>() {
            suite.extra.insert("timestamp".into(), ts.to_string().into());
        }
        suite.add_property(("hadrill.start", start.as_str()));
    }
    suite.add_property(("hadrill.verdict", ev.verdict.map_or("none", Verdict::as_str)));
    suite.add_property(("hadrill.source", source_line(tl).as_str()));
    suite.add_property(("hadrill.span", span_line(tl).as_str()));
    suite.add_property(("hadrill.events", tl.events.len().to_string().as_str()));
    for (node, role) in &ev.roles.0 {
        suite.add_property((format!("hadrill.role.{node}"), role.clone()));
    }

    if ev.checks.is_empty() {
        let mut status = TestCaseStatus::skipped();
        status.set_message("no expectations were checked").set_type("no-checks");
        let mut case = TestCase::new("no expectations were checked", status);
        case.set_classname(classname(&ev.title, &Subject::Cluster, &ev.roles));
        suite.add_test_case(case);
    }
    for check in &ev.checks {
        suite.add_test_case(test_case(&ev.title, &ev.roles, check));
    }
    suite.set_system_out(format!(
        "verdict: {} ({})\nsource: {}\nspan: {}\nevents: {}\n",
        verdict_label(ev.verdict),
        verdict_meaning(ev.verdict),
        source_line(tl),
        span_line(tl),
        tl.events.len()
    ));

    suite
}

fn duration(s: Seconds) -> Duration {
    Duration::from_millis(s.millis().max(0) as u64)
}

/// `title.lane`: Jenkins splits the class name at the last dot into package and class, so
/// cases group by scenario, then by node role or service.
fn classname(title: &str, subject: &Subject, roles: &Roles) -> String {
    let lane = match subject {
        Subject::Node(n) => roles.name(n),
        Subject::Service(s) => s.as_str(),
        Subject::Cluster => "cluster",
    };
    format!("{title}.{lane}")
}

fn kind_str(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Within => "within",
        CheckKind::Eventually => "eventually",
        CheckKind::Never => "never",
        CheckKind::Final => "final",
    }
}

/// The check's message with the numbers that decided it.
fn message_with_numbers(check: &CheckResult) -> String {
    let mut numbers = vec![];
    if let Some(m) = check.measured {
        numbers.push(format!("measured {}", fmt_dur(m)));
    }
    if let Some(b) = bound(check) {
        numbers.push(format!("bound {}", fmt_dur(b)));
    }
    if let Some(seen) = check.seen {
        numbers.push(format!("seen at {}", fmt_t(seen)));
    }
    if numbers.is_empty() { check.message.clone() } else { format!("{} ({})", check.message, numbers.join(", ")) }
}

fn details(check: &CheckResult, roles: &Roles) -> String {
    let mut out = format!("verdict: {}\n", check.verdict);
    out.push_str(&format!("check: {} ({})\n", check.name, kind_str(check.kind)));
    out.push_str(&format!("subject: {}\n", subject_label(&check.subject, roles)));
    out.push_str(&format!("window: {}", window(check)));
    if let Some(b) = bound(check) {
        out.push_str(&format!(" (bound {})", fmt_dur(b)));
    }
    out.push('\n');
    if let Some(seen) = check.seen {
        out.push_str(&format!("seen: {}\n", fmt_t(seen)));
    }
    if let Some(m) = check.measured {
        out.push_str(&format!("measured: {}\n", fmt_dur(m)));
    }
    if let Some(loc) = &check.location {
        out.push_str(&format!("location: {loc}\n"));
    }
    out.push_str(&format!("message: {}\n", check.message));
    out
}

fn test_case(title: &str, roles: &Roles, check: &CheckResult) -> TestCase {
    let status = match (check.expected_fail, check.verdict) {
        (true, Verdict::Fail) => TestCaseStatus::success(),
        (true, Verdict::Pass) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(format!("UNEXPECTED PASS: marked `expected: fail`, but {}", message_with_numbers(check)))
                .set_type("unexpected-pass")
                .set_description(details(check, roles));
            status
        }
        (_, Verdict::Pass) => TestCaseStatus::success(),
        (_, Verdict::Fail | Verdict::Inconclusive | Verdict::InfraError) => {
            let kind = if check.verdict == Verdict::Fail { NonSuccessKind::Failure } else { NonSuccessKind::Error };
            let mut status = TestCaseStatus::non_success(kind);
            status
                .set_message(format!("{}: {}", verdict_label(Some(check.verdict)), message_with_numbers(check)))
                .set_type(check.verdict.as_str())
                .set_description(details(check, roles));
            status
        }
    };
    let mut case = TestCase::new(check.name.as_str(), status);
    case.set_classname(classname(title, &check.subject, roles));
    case.add_property(("hadrill.verdict", check.verdict.as_str()));
    case.add_property(("hadrill.kind", kind_str(check.kind)));
    case.add_property(("hadrill.subject", subject_label(&check.subject, roles).as_str()));
    let instants = [
        ("hadrill.from", check.from),
        ("hadrill.until", check.until),
        ("hadrill.seen", check.seen),
        ("hadrill.measured", check.measured),
        ("hadrill.bound", bound(check)),
    ];
    for (name, value) in instants {
        if let Some(v) = value {
            // Plain seconds, so tools can compare numbers without parsing units.
            case.add_property((name.to_owned(), v.to_string()));
        }
    }
    if let Some(loc) = &check.location {
        case.add_property(("hadrill.location", loc.as_str()));
    }
    if check.expected_fail && check.verdict == Verdict::Fail {
        case.set_system_out(format!("FAILED AS EXPECTED (marked `expected: fail`)\n{}", details(check, roles)));
    } else if check.verdict == Verdict::Pass {
        case.set_system_out(details(check, roles));
    }
    case
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{basic1_evaluation, basic1_timeline, no_checks, soak_timeline};

    #[test]
    fn basic1_junit() {
        let (tl, ev) = (basic1_timeline(), basic1_evaluation());
        let xml = junit_xml(&ReportInput { timeline: &tl, evaluation: &ev, snapshot: "" });
        insta::assert_snapshot!(xml);
    }

    #[test]
    fn counts_split_regressions_from_undecided() {
        let (tl, ev) = (basic1_timeline(), basic1_evaluation());
        let xml = junit_xml(&ReportInput { timeline: &tl, evaluation: &ev, snapshot: "" });
        assert!(xml.contains(r#"tests="5" skipped="0" errors="2" failures="1""#), "{xml}");
        assert!(xml.contains(r#"<error message="INCONCLUSIVE: "#));
        assert!(xml.contains(r#"type="infra-error""#));
        assert!(!xml.contains("timestamp="), "no wall-clock start, so no timestamp");
    }

    #[test]
    fn parses_back_as_junit() {
        let (tl, ev) = (basic1_timeline(), basic1_evaluation());
        let xml = junit_xml(&ReportInput { timeline: &tl, evaluation: &ev, snapshot: "" });
        let report = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
        let suite = &report.test_suites[0];
        assert_eq!(suite.name.as_str(), "network-cut (test-basic1)");
        assert_eq!(suite.test_cases.len(), ev.checks.len());
        assert!(matches!(suite.test_cases[1].status, TestCaseStatus::NonSuccess { kind: NonSuccessKind::Failure, .. }));
        assert!(matches!(suite.test_cases[2].status, TestCaseStatus::NonSuccess { kind: NonSuccessKind::Error, .. }));
    }

    #[test]
    fn no_checks_is_a_visible_skip_not_a_pass() {
        let tl = basic1_timeline();
        let ev = no_checks("empty");
        let xml = junit_xml(&ReportInput { timeline: &tl, evaluation: &ev, snapshot: "" });
        assert!(xml.contains(r#"tests="1" skipped="1""#), "{xml}");
        assert!(xml.contains("no expectations were checked"));
    }

    #[test]
    fn timestamp_only_from_the_timeline() {
        let tl = soak_timeline();
        let ev = no_checks("soak");
        let xml = junit_xml(&ReportInput { timeline: &tl, evaluation: &ev, snapshot: "" });
        assert!(xml.contains(r#"timestamp="2025-03-01T02:00:00Z""#), "{xml}");
        assert!(xml.contains(r#"time="10800.000""#), "{xml}");
    }
}
