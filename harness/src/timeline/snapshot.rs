//! The normalised snapshot of a timeline: roles instead of node names, order instead of
//! seconds, durations since the last fault bucketed. Two runs of one scenario on two versions
//! of an HA stack give the same snapshot exactly when they behaved alike, so it suits insta
//! and `diff`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::{Event, EventData, NodeState, Seconds, Timeline};

/// Node name → role (`victim`, `survivor-1`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles(pub BTreeMap<String, String>);

impl Roles {
    /// The role of a node, or the node's own name when it has none.
    pub fn name<'a>(&'a self, node: &'a str) -> &'a str {
        self.0.get(node).map(String::as_str).unwrap_or(node)
    }

    /// Complete `bound` for a timeline: the target of each fault that is not yet named
    /// becomes `victim` (then `victim-2`, …) in the order the faults happened (with no fault
    /// at all, the first online node the manager loses); every other node becomes
    /// `survivor-N`, numbered in name order so that the numbering does not depend on timing.
    pub fn infer(timeline: &Timeline, bound: &Roles) -> Roles {
        let mut roles = bound.clone();
        let taken = |roles: &Roles, r: &str| roles.0.values().any(|v| v == r);
        for e in &timeline.events {
            if let EventData::Fault { node, fault, .. } = &e.data {
                if fault.is_heal() || roles.0.contains_key(node) {
                    continue;
                }
                let role = std::iter::once("victim".to_owned())
                    .chain((2..).map(|i| format!("victim-{i}")))
                    .find(|r| !taken(&roles, r))
                    .expect("unbounded");
                roles.0.insert(node.clone(), role);
            }
        }
        // A journal from a real cluster has no fault events: the first node the manager
        // loses is where the trouble was.
        if !timeline.events.iter().any(|e| matches!(&e.data, EventData::Fault { fault, .. } if !fault.is_heal())) {
            let lost = timeline.events.iter().find_map(|e| match &e.data {
                EventData::Node {
                    node, to_state: Some(NodeState::Lost), from_state: Some(NodeState::Online), ..
                } => Some(node.clone()),
                _ => None,
            });
            if let Some(node) = lost
                && !roles.0.contains_key(&node)
                && !taken(&roles, "victim")
            {
                roles.0.insert(node, "victim".to_owned());
            }
        }
        let mut n = 0;
        for node in timeline.nodes() {
            if !roles.0.contains_key(&node) {
                let role = loop {
                    n += 1;
                    let r = format!("survivor-{n}");
                    if !taken(&roles, &r) {
                        break r;
                    }
                };
                roles.0.insert(node, role);
            }
        }
        roles
    }
}

/// Upper bounds (inclusive, seconds) of the duration buckets. They straddle the HA stacks'
/// own timers (PVE: fence_delay 60 s, lock lifetime 120 s) so that a change of a few
/// seconds in a run does not show as a change, but a change of timer does.
const BUCKETS: &[(i64, &str)] = &[
    (0, "0s"),
    (5, "0-5s"),
    (15, "5-15s"),
    (30, "15-30s"),
    (60, "30-60s"),
    (90, "60-90s"),
    (120, "90-120s"),
    (180, "2-3m"),
    (300, "3-5m"),
    (600, "5-10m"),
];

/// The bucket a duration falls into.
pub fn bucket(d: Seconds) -> &'static str {
    let ms = d.millis();
    BUCKETS.iter().find(|(hi, _)| ms <= hi * 1000).map(|(_, name)| *name).unwrap_or(">10m")
}

/// Render the snapshot text. Events that describe the HA behaviour are kept (service,
/// node, fault, fencing, power, watchdog, master, quorum, recovery, service errors,
/// commands); daemon bookkeeping (locks, LRM operations, internal state machines) is left
/// out because it is noise when diffing two versions.
pub fn snapshot(timeline: &Timeline, roles: &Roles) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# hadrill timeline snapshot v1");
    let role_list: Vec<String> =
        roles.0.values().cloned().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let _ = writeln!(out, "# roles: {}", if role_list.is_empty() { "none".to_owned() } else { role_list.join(" ") });
    let services: Vec<String> = timeline.services().into_iter().collect();
    let _ = writeln!(out, "# services: {}", if services.is_empty() { "none".to_owned() } else { services.join(" ") });
    let mut step = 0usize;
    let mut last_t: Option<i64> = None;
    let mut last_fault: Option<Seconds> = None;
    for e in &timeline.events {
        let Some(text) = line(e, roles) else { continue };
        if last_t != Some(e.t.millis()) {
            step += 1;
            last_t = Some(e.t.millis());
        }
        if let EventData::Fault { fault, .. } = &e.data
            && !fault.is_heal()
        {
            last_fault = Some(e.t);
        }
        let when = match last_fault {
            None => "setup".to_owned(),
            Some(f) => format!("+{}", bucket(e.t - f)),
        };
        let _ = writeln!(out, "{step:03} {when:<9} {text}");
    }
    out
}

fn line(e: &Event, roles: &Roles) -> Option<String> {
    let r = |n: &str| roles.name(n).to_owned();
    let opt = |s: &Option<String>| s.as_deref().map(|n| roles.name(n).to_owned());
    Some(match &e.data {
        EventData::Service { service, from, to, node, target, .. } => {
            let mut s = format!("service {service} {from} -> {to}");
            if let Some(n) = opt(node) {
                let _ = write!(s, " on {n}");
            }
            if let Some(t) = opt(target) {
                let _ = write!(s, " target {t}");
            }
            s
        }
        EventData::Node { node, from, to, .. } => format!("node {} {from} -> {to}", r(node)),
        EventData::Fault { node, fault, .. } => format!("fault {} {}", r(node), fault.as_str()),
        EventData::Fence { node, phase } => format!("fence {} {}", r(node), serde_name(phase)),
        EventData::Power { node, state, reason } => {
            format!("power {} {}{}", r(node), state, reason.as_deref().map(|x| format!(" ({x})")).unwrap_or_default())
        }
        EventData::Watchdog { node, action } => format!("watchdog {} {action}", r(node)),
        EventData::Master { node } => format!("master {}", r(node)),
        EventData::Quorum { node, quorate, .. } => {
            format!("quorum {} {}", r(node), if *quorate { "quorate" } else { "lost" })
        }
        EventData::Recovery { service, from, to } => {
            format!("recovery {service} from {} to {}", r(from), opt(to).unwrap_or_else(|| "nowhere".into()))
        }
        EventData::ServiceError { service, node, retry, .. } => {
            format!(
                "service-error {service}{}{}",
                opt(node).map(|n| format!(" on {n}")).unwrap_or_default(),
                retry.map(|n| format!(" retry {n}")).unwrap_or_default()
            )
        }
        // Every service is added at the start; only leaving and re-entering HA is behaviour.
        EventData::Tracking { reason, .. } if reason == "added" => return None,
        EventData::Tracking { service, tracked, reason, node } => {
            let on = opt(node).map(|n| format!(" on {n}")).unwrap_or_default();
            format!("tracking {service} {} ({reason}){on}", if *tracked { "on" } else { "off" })
        }
        EventData::Workload { service, node, active, .. } => {
            format!("workload {service} {} {}", r(node), if *active { "active" } else { "silent" })
        }
        EventData::Command { command, .. } => {
            // Commands name nodes in free text; replace whole words only.
            let words: Vec<String> = command.split(' ').map(|w| roles.name(w).to_owned()).collect();
            format!("command {}", words.join(" "))
        }
        // A beacon says the node ran, which the power and node lines already say as behaviour.
        EventData::Daemon { .. }
        | EventData::Lock { .. }
        | EventData::ServiceOp { .. }
        | EventData::Log { .. }
        | EventData::Liveness { .. } => {
            return None;
        }
    })
}

fn serde_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{FaultKind, Meta};

    #[test]
    fn buckets_are_closed_above() {
        assert_eq!(bucket(Seconds(0.0)), "0s");
        assert_eq!(bucket(Seconds(40.0)), "30-60s");
        assert_eq!(bucket(Seconds(120.0)), "90-120s");
        assert_eq!(bucket(Seconds(120.5)), "2-3m");
        assert_eq!(bucket(Seconds(4000.0)), ">10m");
    }

    #[test]
    fn roles_name_fault_targets_then_survivors_by_name() {
        let ev = |t: f64, d| Event::new(Seconds(t), d);
        let tl = Timeline::new(
            vec![
                ev(0.0, EventData::Fault { node: "b".into(), fault: FaultKind::PowerOn, step: None }),
                ev(1.0, EventData::Fault { node: "c".into(), fault: FaultKind::NetworkOff, step: None }),
                ev(2.0, EventData::Master { node: "a".into() }),
            ],
            Meta::default(),
        );
        let roles = Roles::infer(&tl, &Roles::default());
        assert_eq!(roles.name("c"), "victim");
        assert_eq!(roles.name("a"), "survivor-1");
        assert_eq!(roles.name("b"), "survivor-2");
        let snap = snapshot(&tl, &roles);
        assert!(snap.contains("002 +0s       fault victim network-off"), "{snap}");
        assert!(snap.contains("003 +0-5s     master survivor-1"), "{snap}");
    }
}
