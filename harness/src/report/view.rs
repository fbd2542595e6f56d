//! What every report is made from, and the wording they share: the input bundle, verdict
//! counts and labels, one-line descriptions of events, time formatting, and the events worth
//! showing as "key intervals". Keeping the wording here means the terminal, Markdown, JUnit
//! and HTML say the same thing in the same words.

use std::collections::BTreeMap;

use crate::check::{CheckKind, CheckResult, Evaluation, Subject, Verdict};
use crate::timeline::{Event, EventData, FencePhase, LockAction, Roles, Seconds, Timeline};

/// Everything a report is written from.
#[derive(Clone, Copy, Debug)]
pub struct ReportInput<'a> {
    pub timeline: &'a Timeline,
    pub evaluation: &'a Evaluation,
    /// The normalised snapshot text, written verbatim to `timeline.snap`.
    pub snapshot: &'a str,
}

/// How many checks ended with each verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub inconclusive: usize,
    pub infra_error: usize,
}

impl Counts {
    pub fn of(checks: &[CheckResult]) -> Self {
        let mut c = Counts::default();
        for check in checks {
            match check.verdict {
                Verdict::Pass => c.pass += 1,
                Verdict::Fail => c.fail += 1,
                Verdict::Inconclusive => c.inconclusive += 1,
                Verdict::InfraError => c.infra_error += 1,
            }
        }
        c
    }

    /// `2 pass, 1 fail, 1 inconclusive` (verdicts with no checks are left out).
    pub fn sentence(&self) -> String {
        let parts: Vec<String> = [
            (self.pass, "pass"),
            (self.fail, "fail"),
            (self.inconclusive, "inconclusive"),
            (self.infra_error, "infra-error"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, name)| format!("{n} {name}"))
        .collect();
        parts.join(", ")
    }
}

/// The run's verdict in capitals; a run without checks is not a pass.
pub(crate) fn verdict_label(verdict: Option<Verdict>) -> &'static str {
    match verdict {
        Some(Verdict::Pass) => "PASS",
        Some(Verdict::Fail) => "FAIL",
        Some(Verdict::Inconclusive) => "INCONCLUSIVE",
        Some(Verdict::InfraError) => "INFRA-ERROR",
        None => "NO CHECKS",
    }
}

/// What the run's verdict means, in one sentence for people who do not know the four verdicts.
pub(crate) fn verdict_meaning(verdict: Option<Verdict>) -> &'static str {
    match verdict {
        Some(Verdict::Pass) => "every expectation was met",
        Some(Verdict::Fail) => "the HA stack did not meet an expectation",
        Some(Verdict::Inconclusive) => "the run could not decide every expectation",
        Some(Verdict::InfraError) => "the lab or the harness broke; nothing can be said about the HA stack",
        None => "no expectations were checked",
    }
}

/// An instant on the timeline, in plain seconds so it can be found in the source log.
pub(crate) fn fmt_t(t: Seconds) -> String {
    format!("{t}s")
}

/// A duration as a person reads it: `40s`, `90s`, `2m30s`, `1h5m`.
pub(crate) fn fmt_dur(d: Seconds) -> String {
    let ms = d.millis();
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.abs();
    // Under ten minutes, seconds read best: they match the HA stack's own timers (fence delay
    // 60 s, lock lifetime 120 s) and the numbers in check messages.
    if ms < 600_000 {
        return format!("{sign}{}s", Seconds::from_millis(ms));
    }
    let (h, m, rest) = (ms / 3_600_000, ms / 60_000 % 60, ms % 60_000);
    let mut out = String::from(sign);
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if rest > 0 {
        out.push_str(&format!("{}s", Seconds::from_millis(rest)));
    }
    out
}

/// The time a check allowed (`within 60s`, or an `eventually` with a deadline), when it had
/// both ends. An invariant's window is the observed run, not a bound, so it has none.
pub(crate) fn bound(check: &CheckResult) -> Option<Seconds> {
    match check.kind {
        CheckKind::Within | CheckKind::Eventually => Some(check.until? - check.from?),
        CheckKind::Never | CheckKind::Final => None,
    }
}

/// The window as text: `120s..180s`, `240s..end`, or `-`.
pub(crate) fn window(check: &CheckResult) -> String {
    match (check.from, check.until) {
        (Some(f), Some(u)) => format!("{}..{}", fmt_t(f), fmt_t(u)),
        (Some(f), None) => format!("{}..end", fmt_t(f)),
        (None, Some(u)) => format!("0s..{}", fmt_t(u)),
        (None, None) => "-".to_owned(),
    }
}

/// `node3 (victim)`, or just the name when the node has no role.
pub(crate) fn node_label(node: &str, roles: &Roles) -> String {
    match roles.0.get(node) {
        Some(role) if role != node => format!("{node} ({role})"),
        _ => node.to_owned(),
    }
}

/// `node node3 (victim)`, `service vm:103`, `cluster`.
pub(crate) fn subject_label(subject: &Subject, roles: &Roles) -> String {
    match subject {
        Subject::Node(n) => format!("node {}", node_label(n, roles)),
        Subject::Service(s) => format!("service {s}"),
        Subject::Cluster => "cluster".to_owned(),
    }
}

/// A raw state with its normalised form beside it when they differ: `unknown [lost]`.
fn state_pair(raw: &str, norm: Option<&str>) -> String {
    match norm {
        Some(n) if n != raw => format!("{raw} [{n}]"),
        _ => raw.to_owned(),
    }
}

/// One line saying what an event was, without its time.
pub(crate) fn describe(e: &Event) -> String {
    match &e.data {
        EventData::Service { service, from, to, from_state, to_state, node, target } => {
            let mut s = format!(
                "service {service}: {} -> {}",
                state_pair(from, from_state.map(|s| s.as_str())),
                state_pair(to, to_state.map(|s| s.as_str()))
            );
            if let Some(n) = node {
                s.push_str(&format!(" on {n}"));
            }
            if let Some(t) = target {
                s.push_str(&format!(" (target {t})"));
            }
            s
        }
        EventData::Node { node, from, to, from_state, to_state } => format!(
            "node {node}: {} -> {}",
            state_pair(from, from_state.map(|s| s.as_str())),
            state_pair(to, to_state.map(|s| s.as_str()))
        ),
        EventData::Fault { node, fault, .. } => format!("fault: {} {node}", fault.as_str()),
        EventData::Fence { node, phase } => {
            let phase = match phase {
                FencePhase::Started => "started",
                FencePhase::Acknowledged => "acknowledged",
                FencePhase::Failed => "failed",
            };
            format!("fencing of {node} {phase}")
        }
        EventData::Power { node, state, reason } => match reason {
            Some(r) => format!("power {node}: {state} ({r})"),
            None => format!("power {node}: {state}"),
        },
        EventData::Watchdog { node, action } => format!("watchdog {node}: {action}"),
        EventData::Master { node } => format!("{node} is the HA master"),
        EventData::Workload { service, node, active, .. } => {
            format!("workload {service} on {node}: {}", if *active { "writing" } else { "silent" })
        }
        EventData::Liveness { node, alive, .. } => {
            format!("liveness beacon of {node}: {}", if *alive { "beating" } else { "last beat" })
        }
        EventData::Tracking { service, tracked, reason, node } => {
            let on = node.as_deref().map(|n| format!(" on {n}")).unwrap_or_default();
            format!("HA {} tracking {service} ({reason}){on}", if *tracked { "starts" } else { "stops" })
        }
        EventData::Daemon { node, daemon, from, to } => format!("{node}/{daemon}: {from} -> {to}"),
        EventData::Lock { node, lock, action } => {
            let action = match action {
                LockAction::Acquired => "acquired",
                LockAction::Released => "released",
                LockAction::Lost => "lost",
            };
            format!("{node} {action} lock {lock}")
        }
        EventData::Quorum { node, quorate, members } => {
            let q = if *quorate { "quorate" } else { "not quorate" };
            match members {
                Some(m) => format!("{node}: {q} (members {})", m.join(", ")),
                None => format!("{node}: {q}"),
            }
        }
        EventData::ServiceOp { service, node, op, target } => {
            let op = serde_json::to_value(op).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            match target {
                Some(t) => format!("{node}: {op} {service} (target {t})"),
                None => format!("{node}: {op} {service}"),
            }
        }
        EventData::Recovery { service, from, to } => match to {
            Some(to) => format!("recover {service} from {from} to {to}"),
            None => format!("recover {service} from {from}: no node available"),
        },
        EventData::ServiceError { service, node, message, retry } => {
            let mut s = format!("service {service} error");
            if let Some(n) = node {
                s.push_str(&format!(" on {n}"));
            }
            s.push_str(&format!(": {message}"));
            if let Some(r) = retry {
                s.push_str(&format!(" (retry {r})"));
            }
            s
        }
        EventData::Command { command, node } => match node {
            Some(n) => format!("command on {n}: {command}"),
            None => format!("command: {command}"),
        },
        EventData::Log { level, message } => format!("{level}: {message}"),
    }
}

/// Where an event came from: `node1/crm, line 52`.
pub(crate) fn origin(e: &Event) -> Option<String> {
    match (&e.by, e.line) {
        (Some(by), Some(line)) => Some(format!("{by}, line {line}")),
        (Some(by), None) => Some(by.clone()),
        (None, Some(line)) => Some(format!("line {line}")),
        (None, None) => None,
    }
}

/// The first injected fault (heals do not count): the instant the key intervals count from.
pub(crate) fn first_fault(tl: &Timeline) -> Option<&Event> {
    tl.events.iter().find(|e| matches!(&e.data, EventData::Fault { fault, .. } if !fault.is_heal()))
}

/// Events a person follows when reading what the cluster did: state changes, fencing, power,
/// recovery, errors and faults. Daemon chatter, locks and logs stay in the full timeline.
pub(crate) fn is_key_event(e: &Event) -> bool {
    matches!(
        e.data,
        EventData::Service { .. }
            | EventData::Node { .. }
            | EventData::Fault { .. }
            | EventData::Fence { .. }
            | EventData::Power { .. }
            | EventData::Watchdog { .. }
            | EventData::Recovery { .. }
            | EventData::ServiceError { .. }
    )
}

/// Key events from the first fault on (from the start when there was no fault), with the
/// instant they count from.
pub(crate) fn key_events(tl: &Timeline) -> (Seconds, Vec<&Event>) {
    let origin = first_fault(tl).map(|e| e.t).unwrap_or(Seconds::ZERO);
    let events = tl.events.iter().filter(|e| e.t >= origin && is_key_event(e)).collect();
    (origin, events)
}

/// Events per kind, by kind name (sorted, so reports are deterministic).
pub(crate) fn counts_by_kind(tl: &Timeline) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for e in &tl.events {
        *m.entry(e.data.kind()).or_insert(0) += 1;
    }
    m
}

/// `test-basic1/log.expect (pve-simulator)`, or what is known of it.
pub(crate) fn source_line(tl: &Timeline) -> String {
    let source = tl.meta.source.as_deref().unwrap_or("unknown source");
    match tl.meta.format.as_deref() {
        Some(f) => format!("{source} (format {f})"),
        None => source.to_owned(),
    }
}

/// `0s..720s (12m)`, plus the wall-clock start when there is one.
pub(crate) fn span_line(tl: &Timeline) -> String {
    let mut s = format!("{}..{} ({})", fmt_t(Seconds::ZERO), fmt_t(tl.end()), fmt_dur(tl.end()));
    if let Some(start) = &tl.meta.start {
        s.push_str(&format!(", t=0 at {start}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(fmt_dur(Seconds(40.0)), "40s");
        assert_eq!(fmt_dur(Seconds(40.5)), "40.5s");
        assert_eq!(fmt_dur(Seconds(120.0)), "120s");
        assert_eq!(fmt_dur(Seconds(599.0)), "599s");
        assert_eq!(fmt_dur(Seconds(720.0)), "12m");
        assert_eq!(fmt_dur(Seconds(10800.0)), "3h");
        assert_eq!(fmt_dur(Seconds(3725.0)), "1h2m5s");
        assert_eq!(fmt_dur(Seconds(-30.0)), "-30s");
        assert_eq!(fmt_dur(Seconds(1235.5)), "20m35.5s");
    }

    #[test]
    fn no_checks_is_never_called_a_pass() {
        assert_eq!(verdict_label(None), "NO CHECKS");
        assert_eq!(verdict_meaning(None), "no expectations were checked");
        assert_eq!(Counts::of(&[]).sentence(), "");
    }
}
