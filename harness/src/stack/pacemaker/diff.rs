//! What changed between two crm_mon snapshots, as timeline events.
//!
//! Order within one change: quorum, then the DC (`master`), then each node (a fence event
//! before the node's own state change, so that a node leaving `UNCLEAN` after fencing reads
//! as fenced, not as a new loss), then each service (activity ending on a node, the state
//! change, activity beginning on a node).
//!
//! Decisions worth knowing:
//! - Quorum is per node: every online node of the DC's partition shares the DC's view; a
//!   `quorum` event is made for a node whose view (quorate, members) changed.
//! - Fencing from status alone: a node newly UNCLEAN while the partition has quorum and
//!   fencing is enabled is `fence started`; a node leaving UNCLEAN for OFFLINE is `fence
//!   acknowledged` (Pacemaker clears UNCLEAN only once fencing is confirmed). A node coming
//!   back online from UNCLEAN was not fenced and makes no fence event.
//! - Per-node activity of a service is reported as `service-op` `running`/`stopped`, so that
//!   "Started [ node1 node2 ]" shows as active on two nodes.
//! - With no previous snapshot, everything is new: `from` is empty.

use crate::timeline::{EventData, FencePhase, ServiceOp, ServiceState};

use super::status::{ClusterStatus, ServiceView};

/// The events that take a cluster from `prev` (None: nothing known yet) to `next`.
pub fn diff(prev: Option<&ClusterStatus>, next: &ClusterStatus) -> Vec<EventData> {
    let mut out = Vec::new();
    quorum(prev, next, &mut out);
    if let Some(dc) = &next.dc
        && prev.and_then(|p| p.dc.as_ref()) != Some(dc)
    {
        out.push(EventData::Master { node: dc.clone() });
    }
    nodes(prev, next, &mut out);
    for id in next.service_ids() {
        let Some(now) = next.service(id) else { continue };
        let before = prev.and_then(|p| p.service(id));
        service(before.as_ref(), now, &mut out);
    }
    // Services that disappeared from the configuration were stopped where they ran.
    if let Some(p) = prev {
        for id in p.service_ids() {
            if next.service(id).is_none()
                && let Some(before) = p.service(id)
            {
                for n in before.nodes {
                    out.push(EventData::ServiceOp {
                        service: id.to_owned(),
                        node: n,
                        op: ServiceOp::Stopped,
                        target: None,
                    });
                }
            }
        }
    }
    out
}

/// Each online node's view of quorum: the DC's, shared by its partition.
fn views(s: &ClusterStatus) -> Vec<(&str, bool, Vec<String>)> {
    let Some(quorate) = s.have_quorum else {
        return Vec::new();
    };
    let members: Vec<String> = s.nodes.iter().filter(|n| n.online).map(|n| n.name.clone()).collect();
    s.nodes.iter().filter(|n| n.online).map(|n| (n.name.as_str(), quorate, members.clone())).collect()
}

fn quorum(prev: Option<&ClusterStatus>, next: &ClusterStatus, out: &mut Vec<EventData>) {
    let before = prev.map(views).unwrap_or_default();
    for (node, quorate, members) in views(next) {
        let same = before.iter().any(|(n, q, m)| *n == node && *q == quorate && *m == members);
        if !same {
            out.push(EventData::Quorum { node: node.to_owned(), quorate, members: Some(members) });
        }
    }
}

fn nodes(prev: Option<&ClusterStatus>, next: &ClusterStatus, out: &mut Vec<EventData>) {
    let can_fence = next.stonith_enabled && next.have_quorum == Some(true);
    for n in &next.nodes {
        let before = prev.and_then(|p| p.node(&n.name));
        let was_unclean = before.is_some_and(|b| b.unclean);
        if n.unclean && !was_unclean && can_fence {
            out.push(EventData::Fence { node: n.name.clone(), phase: FencePhase::Started });
        }
        // With stonith disabled Pacemaker clears an unclean node on "blind faith": no fence.
        if was_unclean && !n.unclean && !n.online && next.stonith_enabled {
            out.push(EventData::Fence { node: n.name.clone(), phase: FencePhase::Acknowledged });
        }
        if before.map(|b| &b.raw) != Some(&n.raw) {
            out.push(EventData::Node {
                node: n.name.clone(),
                from: before.map(|b| b.raw.clone()).unwrap_or_default(),
                to: n.raw.clone(),
                from_state: before.and_then(|b| b.state),
                to_state: n.state,
            });
        }
    }
}

fn service(before: Option<&ServiceView>, mut now: ServiceView, out: &mut Vec<EventData>) {
    let partly_up = now.state.is_none();
    if partly_up {
        // A group partly up: on its way up when more members run than before, down when
        // fewer; with as many, on from where it was.
        let before_active = before.map_or(0, |b| b.active_members);
        now.state = Some(if now.active_members != before_active {
            if now.active_members > before_active { ServiceState::Starting } else { ServiceState::Stopping }
        } else {
            match before.and_then(|b| b.state) {
                Some(ServiceState::Started | ServiceState::Stopping | ServiceState::Migrating) => {
                    ServiceState::Stopping
                }
                _ => ServiceState::Starting,
            }
        });
    }
    let old_nodes: &[String] = before.map_or(&[], |b| &b.nodes);
    for n in old_nodes.iter().filter(|n| !now.nodes.contains(n)) {
        out.push(EventData::ServiceOp {
            service: now.id.clone(),
            node: n.clone(),
            op: ServiceOp::Stopped,
            target: None,
        });
    }
    let changed = before.is_none_or(|b| {
        // Two partly-up snapshots alike: the state settled for the first still holds.
        let state_changed = b.state != now.state && !(partly_up && b.state.is_none());
        b.raw != now.raw || state_changed || b.nodes.first() != now.nodes.first()
    });
    if changed {
        out.push(EventData::Service {
            service: now.id.clone(),
            from: before.map(|b| b.raw.clone()).unwrap_or_default(),
            to: now.raw.clone(),
            from_state: before.and_then(|b| b.state),
            to_state: now.state,
            node: now.nodes.first().cloned(),
            target: None,
        });
    }
    // A FAILED instance is one whose last operation failed (a start that timed out): Pacemaker
    // does not know it runs and will stop it. The node's own operation results say whether it
    // started; crm_mon's snapshot, read before the stop that follows, must not put it back
    // (measured: storage-break-all, a stale "FAILED on node2" read 70 ms after node2's stop
    // completed and just before node1's start, made the service look active on two nodes).
    let failed = now.raw == "FAILED";
    for n in now.nodes.iter().filter(|n| !failed && !old_nodes.contains(n)) {
        out.push(EventData::ServiceOp {
            service: now.id.clone(),
            node: n.clone(),
            op: ServiceOp::Running,
            target: None,
        });
    }
}
