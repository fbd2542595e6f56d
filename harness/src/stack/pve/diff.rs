//! What changed between two readings of the HA manager's status, as timeline events.
//!
//! Order within one change: quorum, the master, each node (a fence event before the node's
//! state change), each LRM, each service. Decisions worth knowing:
//! - A reading whose master timestamp is stale (more than 30 s old when read) says nothing
//!   new about nodes and services: the file is what a dead master last wrote. Only the loss
//!   of the master is reported (a `daemon` event `crm` `active -> stale`), once; a master
//!   writing again is a `master` event. A timestamp from the future (the API's "time drift")
//!   is a reader whose clock is behind, not a dead master.
//! - Fencing from status alone: a node entering `fence` is fence `started`; leaving `fence`
//!   for `unknown` is fence `acknowledged` (the manager got the node's agent lock, which
//!   is how PVE confirms a self-fence); leaving it for `online` is no fencing at all.
//! - An LRM is reported by state and mode (`daemon` `lrm`), or `stale` when its timestamp
//!   is too old.
//! - The manager's `running` flag becoming true on a node is `service-op running` there;
//!   `stopped` is only reported when the manager says the service stopped or migrated away,
//!   never because a lost node's flag disappeared (that would hide a service still running
//!   on a cut-off node from `never: active-on-two-nodes`).
//! - With no previous reading, everything is new: `from` is empty.

use crate::timeline::{EventData, FencePhase, ServiceOp};

use super::status::{Freshness, HaStatus, LrmEntry, ServiceEntry};

/// A status and when it was read (on the clock its timestamps are written on).
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub status: HaStatus,
    pub at: i64,
}

impl Reading {
    /// Whether the master was still writing when this was read (no timestamp at all, as
    /// in a bare status file, counts as writing; so does a timestamp from the future: the
    /// reader's clock is behind the master's, which says nothing about the master).
    fn master_alive(&self) -> bool {
        !matches!(self.status.freshness(self.at), Freshness::Stale { .. })
    }
}

/// The events that take the cluster from `prev` to `next`.
pub fn diff(prev: Option<&Reading>, next: &Reading) -> Vec<EventData> {
    let mut out = Vec::new();
    let p = prev.map(|r| &r.status);
    let n = &next.status;
    if let Some((node, quorate)) = &n.quorum
        && p.and_then(|p| p.quorum.as_ref()) != Some(&(node.clone(), *quorate))
    {
        out.push(EventData::Quorum { node: node.clone(), quorate: *quorate, members: None });
    }
    let alive = next.master_alive();
    let was_alive = prev.is_some_and(|r| r.master_alive() && r.status.master.is_some());
    if !alive {
        if let Some(m) = &n.master
            && was_alive
        {
            out.push(EventData::Daemon {
                node: m.clone(),
                daemon: "crm".into(),
                from: "active".into(),
                to: "stale".into(),
            });
        }
        lrms(prev, next, &mut out);
        return out;
    }
    if let Some(m) = &n.master
        && (!was_alive || p.and_then(|p| p.master.as_ref()) != Some(m))
    {
        out.push(EventData::Master { node: m.clone() });
    }
    for (name, node) in &n.nodes {
        let before = p.and_then(|p| p.nodes.get(name));
        let was = before.map(|b| b.raw.as_str());
        if node.raw == "fence" && was != Some("fence") {
            out.push(EventData::Fence { node: name.clone(), phase: FencePhase::Started });
        }
        if was == Some("fence") && node.raw == "unknown" {
            out.push(EventData::Fence { node: name.clone(), phase: FencePhase::Acknowledged });
        }
        if was != Some(node.raw.as_str()) {
            out.push(EventData::Node {
                node: name.clone(),
                from: was.unwrap_or_default().to_owned(),
                to: node.raw.clone(),
                from_state: before.and_then(|b| b.state),
                to_state: node.state,
            });
        }
    }
    lrms(prev, next, &mut out);
    for (sid, s) in &n.services {
        service(sid, p.and_then(|p| p.services.get(sid)), s, &mut out);
    }
    // A service removed from HA is no longer tracked; where it runs is unknown from here.
    if let Some(p) = p {
        for sid in p.services.keys().filter(|s| !n.services.contains_key(*s)) {
            out.push(EventData::Tracking {
                service: sid.clone(),
                tracked: false,
                reason: "removed".into(),
                node: None,
            });
        }
    }
    out
}

fn service(sid: &str, before: Option<&ServiceEntry>, s: &ServiceEntry, out: &mut Vec<EventData>) {
    let placed = |e: &ServiceEntry| (e.node.clone(), e.target.clone());
    // Running ends where it ran only when the manager says so: the service is stopped, or
    // a migration away finished. A `running` flag that merely disappears (a lost or fenced
    // node) proves nothing; fencing events speak for those nodes.
    if let Some(b) = before
        && b.running == Some(true)
        && let Some(n) = &b.node
        && (s.raw == "stopped" || (b.node != s.node && matches!(b.raw.as_str(), "migrate" | "relocate")))
    {
        out.push(EventData::ServiceOp {
            service: sid.to_owned(),
            node: n.clone(),
            op: ServiceOp::Stopped,
            target: None,
        });
    }
    if before.is_none_or(|b| b.raw != s.raw || placed(b) != placed(s)) {
        out.push(EventData::Service {
            service: sid.to_owned(),
            from: before.map(|b| b.raw.clone()).unwrap_or_default(),
            to: s.raw.clone(),
            from_state: before.and_then(|b| b.state),
            to_state: s.state,
            node: s.node.clone(),
            target: s.target.clone(),
        });
    }
    if s.running == Some(true)
        && before.is_none_or(|b| b.running != Some(true) || b.node != s.node)
        && let Some(n) = &s.node
    {
        out.push(EventData::ServiceOp {
            service: sid.to_owned(),
            node: n.clone(),
            op: ServiceOp::Running,
            target: None,
        });
    }
}

/// An LRM in one word: its state, its mode when not active, or `stale`.
fn lrm_word(l: &LrmEntry, at: i64) -> String {
    match Freshness::of(l.timestamp, at) {
        Freshness::Stale { .. } => "stale".into(),
        _ => match (l.mode.as_deref(), l.state.as_deref()) {
            (Some(m), _) if m != "active" => format!("{m} mode"),
            (_, Some(s)) => s.to_owned(),
            (_, None) => "unknown".into(),
        },
    }
}

fn lrms(prev: Option<&Reading>, next: &Reading, out: &mut Vec<EventData>) {
    for (node, l) in &next.status.lrms {
        let to = lrm_word(l, next.at);
        let from = prev.and_then(|r| r.status.lrms.get(node).map(|b| lrm_word(b, r.at)));
        if from.as_deref() != Some(to.as_str()) {
            out.push(EventData::Daemon {
                node: node.clone(),
                daemon: "lrm".into(),
                from: from.unwrap_or_default(),
                to,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::pve::parse_manager_status;

    fn reading(json: &str, at: i64) -> Reading {
        Reading { status: parse_manager_status(json).unwrap(), at }
    }

    #[test]
    fn a_finished_migration_stops_on_the_source() {
        let a = reading(
            r#"{"master_node":"node1","timestamp":100,"node_status":{"node1":"online","node2":"online"},
                "service_status":{"vm:101":{"node":"node1","state":"migrate","target":"node2","running":1}}}"#,
            100,
        );
        let b = reading(
            r#"{"master_node":"node1","timestamp":110,"node_status":{"node1":"online","node2":"online"},
                "service_status":{"vm:101":{"node":"node2","state":"started","running":1}}}"#,
            110,
        );
        let ev = diff(Some(&a), &b);
        assert_eq!(
            ev,
            vec![
                EventData::ServiceOp {
                    service: "vm:101".into(),
                    node: "node1".into(),
                    op: ServiceOp::Stopped,
                    target: None
                },
                EventData::Service {
                    service: "vm:101".into(),
                    from: "migrate".into(),
                    to: "started".into(),
                    from_state: Some(crate::timeline::ServiceState::Migrating),
                    to_state: Some(crate::timeline::ServiceState::Started),
                    node: Some("node2".into()),
                    target: None,
                },
                EventData::ServiceOp {
                    service: "vm:101".into(),
                    node: "node2".into(),
                    op: ServiceOp::Running,
                    target: None
                },
            ]
        );
    }

    #[test]
    fn staleness_is_judged_when_read() {
        let json = r#"{"master_node":"node1","timestamp":100,"node_status":{"node1":"online"},"service_status":{}}"#;
        let fresh = reading(json, 110);
        let stale = reading(json, 131);
        assert_eq!(diff(None, &stale), vec![], "a dead master's file says nothing");
        assert_eq!(
            diff(Some(&fresh), &stale),
            vec![EventData::Daemon {
                node: "node1".into(),
                daemon: "crm".into(),
                from: "active".into(),
                to: "stale".into()
            }]
        );
        // Read on a node whose clock is 5 s behind the master's: drift, not death.
        let behind = reading(json, 95);
        assert_eq!(diff(Some(&fresh), &behind), vec![], "drift is no news");
        // Writing again: the master is back.
        let again = reading(r#"{"master_node":"node1","timestamp":140,"node_status":{"node1":"online"}}"#, 141);
        assert_eq!(diff(Some(&stale), &again), vec![EventData::Master { node: "node1".into() }]);
    }

    #[test]
    fn timestamps_at_the_ends_of_i64_are_stale_or_drift_without_overflow() {
        // The age overflowed (found by the fuzzer: an LRM's timestamp of i64::MIN).
        assert_eq!(Freshness::of(Some(i64::MIN), 1_700_000_100), Freshness::Stale { age: i64::MAX });
        assert_eq!(Freshness::of(Some(i64::MAX), -5), Freshness::Drift { ahead: i64::MAX });
        let json = r#"{"master_node":"node1","timestamp":-9223372036854775808,
            "lrm_status":{"node1":{"state":"active","mode":"active","timestamp":-9223372036854775808}}}"#;
        let old = reading(json, 1_700_000_100);
        assert_eq!(old.status.active_master(1_700_000_100), None);
        let lrm_stale =
            EventData::Daemon { node: "node1".into(), daemon: "lrm".into(), from: "".into(), to: "stale".into() };
        assert_eq!(diff(None, &old), vec![lrm_stale], "a dead master's file says nothing, its LRM is stale");
        let future = reading(&json.replace("-9223372036854775808", "9223372036854775807"), -5);
        assert_eq!(future.status.freshness(-5), Freshness::Drift { ahead: i64::MAX });
        assert!(diff(Some(&old), &future).contains(&EventData::Master { node: "node1".into() }));
    }
}
