//! Patterns, expectations and invariants as words, for reports and check names: `service
//! vm:103 fence on node2 within 2m after step 3`.

use crate::scenario::duration::format_duration;
use crate::scenario::plan::*;
use crate::timeline::PowerState;

/// A pattern as words: `service vm:103 fence on node2`.
pub fn describe_pattern(p: &Pattern) -> String {
    let placement = |on: &Option<Placement>| match on {
        Some(Placement::On(n)) => format!(" on {n}"),
        Some(Placement::NotOn(n)) => format!(" not on {n}"),
        None => String::new(),
    };
    match p {
        Pattern::Fault { fault, node } => format!(
            "fault {}{}",
            fault.map(|f| f.as_str()).unwrap_or("any"),
            node.as_ref().map(|n| format!(" on {n}")).unwrap_or_default()
        ),
        Pattern::Service { service, state, on } => {
            format!("service {service} {}{}", state.as_deref().unwrap_or("changes"), placement(on))
        }
        Pattern::Node { node, state } => format!(
            "node {} {}",
            node.as_ref().map(|n| n.to_string()).unwrap_or_else(|| "any".into()),
            state.as_deref().unwrap_or("changes")
        ),
        Pattern::Power { node, power } => format!(
            "node {} power {}",
            node.as_ref().map(|n| n.to_string()).unwrap_or_else(|| "any".into()),
            power_name(*power)
        ),
    }
}

fn power_name(p: PowerState) -> &'static str {
    p.as_str()
}

fn describe_anchor(a: &Anchor) -> String {
    match a {
        Anchor::Step(s) if s.starts_with('#') => format!("step {}", &s[1..]),
        Anchor::Step(s) | Anchor::Mark(s) => s.clone(),
        Anchor::Pattern(p) => describe_pattern(p),
    }
}

pub(super) fn describe(c: &Pattern, t: &Timing) -> String {
    let what = describe_pattern(c);
    match t {
        Timing::Within { bound, after } => {
            format!("{what} within {} after {}", format_duration(*bound), describe_anchor(after))
        }
        Timing::Eventually { after: Some(a) } => {
            format!("{what} eventually after {}", describe_anchor(a))
        }
        Timing::Eventually { after: None } => format!("{what} eventually"),
        Timing::Final => format!("{what} at the end"),
    }
}

/// The fence-truth invariant as checks name it.
pub const UNCONFIRMED_FENCE: &str = "never: a fence the hypervisor did not confirm";

pub fn describe_never(n: &Never) -> String {
    let svc = |s: &Option<String>| s.clone().unwrap_or_else(|| "any service".into());
    match n {
        Never::ActiveOnTwoNodes { service } => {
            format!("never: {} active on two nodes", svc(service))
        }
        Never::RecoveryBeforeFence { service } => {
            format!("never: {} recovered before its node was fenced", svc(service))
        }
        Never::ServiceState { service, state } => format!("never: {} {state}", svc(service)),
        Never::UnconfirmedFence => UNCONFIRMED_FENCE.into(),
        Never::NodeState { nodes, state } => {
            let who = match nodes {
                NodeSet::One(n) => format!("node {n}"),
                NodeSet::Survivors => "a survivor".into(),
                NodeSet::All => "any node".into(),
            };
            format!("never: {who} {state}")
        }
    }
}
