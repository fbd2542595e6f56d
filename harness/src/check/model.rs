//! What the cluster looked like at one instant, rebuilt by folding the timeline's events in
//! order: each service's state, placement and the nodes it is really active on; each node's
//! state and power. Checks step this model through the timeline.
//!
//! Evidence is ranked (the first promise: never pass a broken cluster):
//! 1. what the storage server saw: a writer whose heartbeats arrive (`workload` events);
//! 2. what a node reports about itself (its resource manager's operations);
//! 3. what the stack's managers claim (states, fence acknowledgements).
//!
//! A claim may add activity (a reported start); it never removes a writer the server still
//! sees. A fence acknowledgement or a power-off drops what the stack reported on that node,
//! but only the server's record ends a writer.

use std::collections::{BTreeMap, BTreeSet};

use crate::timeline::{Event, EventData, FencePhase, NodeState, PowerState, ServiceOp, ServiceState};

/// One service as the HA manager and the nodes report it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceView {
    /// The manager's state, raw and normalised.
    pub raw: String,
    pub state: Option<ServiceState>,
    /// Where the manager places it.
    pub node: Option<String>,
    /// Nodes whose writer the storage server sees live (rank 1): only `workload` events
    /// change this.
    pub writers: BTreeSet<String>,
    /// Nodes on which the stack reports it running or being started (ranks 2 and 3).
    pub reported: BTreeSet<String>,
}

impl ServiceView {
    /// Every node it is active on: the server's live writers and what the stack reports.
    pub fn active(&self) -> BTreeSet<&String> {
        self.writers.iter().chain(self.reported.iter()).collect()
    }
}

/// One node as the HA manager and the hypervisor report it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeView {
    pub raw: String,
    pub state: Option<NodeState>,
    pub power: Option<PowerState>,
    /// Lost (not in the quorate partition) and not yet fenced since.
    pub unfenced_loss: bool,
}

/// The cluster at one instant.
#[derive(Clone, Debug, Default)]
pub struct ClusterModel {
    pub services: BTreeMap<String, ServiceView>,
    pub nodes: BTreeMap<String, NodeView>,
    /// The HA manager's master (PVE) or DC (Pacemaker), when known.
    pub master: Option<String>,
}

impl ClusterModel {
    /// Apply one event.
    pub fn apply(&mut self, e: &Event) {
        match &e.data {
            EventData::Service { service, to, to_state, node, .. } => {
                let v = self.services.entry(service.clone()).or_default();
                v.raw = to.clone();
                v.state = *to_state;
                if let Some(n) = node {
                    v.node = Some(n.clone());
                }
            }
            EventData::Node { node, from, to, to_state, .. } => {
                let v = self.nodes.entry(node.clone()).or_default();
                // PVE moves a fenced node from `fence` back to `unknown` only once fencing
                // succeeded: that is not a new loss. The log may start with the node already
                // in `fence` (restored from manager_status), so trust the event's own `from`.
                let after_fence = v.state == Some(NodeState::Fenced) || from == "fence";
                v.raw = to.clone();
                v.state = *to_state;
                match to_state {
                    Some(NodeState::Lost) if after_fence => {}
                    Some(NodeState::Lost) | Some(NodeState::Fencing) => v.unfenced_loss = true,
                    Some(_) => v.unfenced_loss = false,
                    None => {}
                }
            }
            EventData::Fence { node, phase } => {
                let v = self.nodes.entry(node.clone()).or_default();
                match phase {
                    FencePhase::Started => v.state = Some(NodeState::Fencing),
                    FencePhase::Acknowledged => {
                        v.state = Some(NodeState::Fenced);
                        v.unfenced_loss = false;
                        self.node_died(node);
                    }
                    FencePhase::Failed => {}
                }
            }
            EventData::Power { node, state, .. } => {
                self.nodes.entry(node.clone()).or_default().power = Some(*state);
                // A paused node is frozen, not dead: it resumes with its services running.
                if matches!(state, PowerState::Off | PowerState::Reset) {
                    self.node_died(node);
                }
            }
            EventData::ServiceOp { service, node, op, target } => {
                let v = self.services.entry(service.clone()).or_default();
                match op {
                    ServiceOp::Start | ServiceOp::Running => {
                        v.reported.insert(node.clone());
                    }
                    ServiceOp::Stopped => {
                        v.reported.remove(node);
                    }
                    ServiceOp::MoveEnd => {
                        v.reported.remove(node);
                        if let Some(t) = target {
                            v.reported.insert(t.clone());
                        }
                    }
                    ServiceOp::Stop | ServiceOp::MoveBegin | ServiceOp::Failed => {}
                }
            }
            // Tracking begins or ends, or the service moved while untracked: what the nodes
            // reported before no longer says where it runs (the server's record still does).
            EventData::Tracking { service, node, .. } => {
                let v = self.services.entry(service.clone()).or_default();
                v.reported.clear();
                v.node = node.clone();
            }
            // What the storage server sees outranks what the stack reports: a live writer is
            // running, whatever the stack says.
            EventData::Workload { service, node, active, .. } => {
                let v = self.services.entry(service.clone()).or_default();
                if *active {
                    v.writers.insert(node.clone());
                } else {
                    v.writers.remove(node);
                }
            }
            EventData::Master { node } => self.master = Some(node.clone()),
            EventData::Recovery { service, to: Some(to), .. } => {
                self.services.entry(service.clone()).or_default().node = Some(to.clone());
            }
            _ => {}
        }
    }

    /// What the stack reported running on a node that lost power or was said to be fenced
    /// no longer counts; a writer the server still sees there does (rank 1 over rank 3).
    fn node_died(&mut self, node: &str) {
        for s in self.services.values_mut() {
            s.reported.remove(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Seconds;

    fn op(service: &str, node: &str, op: ServiceOp, target: Option<&str>) -> Event {
        Event::new(
            Seconds(0.0),
            EventData::ServiceOp { service: service.into(), node: node.into(), op, target: target.map(Into::into) },
        )
    }

    #[test]
    fn activity_follows_the_nodes_reports_and_dies_with_the_node() {
        let mut m = ClusterModel::default();
        m.apply(&op("vm:1", "node1", ServiceOp::Start, None));
        m.apply(&op("vm:1", "node1", ServiceOp::MoveEnd, Some("node2")));
        assert_eq!(m.services["vm:1"].active(), BTreeSet::from([&"node2".to_owned()]));
        m.apply(&op("vm:1", "node3", ServiceOp::Running, None));
        assert_eq!(m.services["vm:1"].active().len(), 2);
        m.apply(&Event::new(
            Seconds(1.0),
            EventData::Power { node: "node3".into(), state: PowerState::Off, reason: None },
        ));
        assert_eq!(m.services["vm:1"].active(), BTreeSet::from([&"node2".to_owned()]));
    }

    fn writer(node: &str, active: bool, seq: u64) -> Event {
        Event::new(
            Seconds(0.0),
            EventData::Workload { service: "svc".into(), node: node.into(), active, seq: Some(seq) },
        )
    }

    /// The false PASS found on real VMs: a fence acknowledgement for node2 (by watchdog
    /// assumption) while node2's writer was still live dropped that writer from the model, so
    /// node1's new writer looked like the only one.
    #[test]
    fn a_fence_acknowledgement_never_drops_a_live_writer() {
        let mut m = ClusterModel::default();
        m.apply(&writer("node2", true, 1));
        m.apply(&op("svc", "node2", ServiceOp::Running, None));
        m.apply(&Event::new(Seconds(1.0), EventData::Fence { node: "node2".into(), phase: FencePhase::Acknowledged }));
        // The stack's own report of node2 is gone; the server's record of its writer is not.
        assert!(m.services["svc"].reported.is_empty());
        assert_eq!(m.services["svc"].writers, BTreeSet::from(["node2".to_owned()]));
        m.apply(&writer("node1", true, 0));
        assert_eq!(m.services["svc"].active().len(), 2, "both writers are live");
        m.apply(&writer("node2", false, 80));
        assert_eq!(m.services["svc"].active(), BTreeSet::from([&"node1".to_owned()]));
    }
}
