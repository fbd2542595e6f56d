//! What the cluster looked like at one instant, rebuilt by folding the timeline's events in
//! order: each service's state, placement and the nodes it is really active on; each node's
//! state and power. Checks step this model through the timeline.

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
    /// Nodes on which it is running or being started, from the nodes' own reports.
    pub active: BTreeSet<String>,
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
                if matches!(state, PowerState::Off | PowerState::Reset) {
                    self.node_died(node);
                }
            }
            EventData::ServiceOp { service, node, op, target } => {
                let v = self.services.entry(service.clone()).or_default();
                match op {
                    ServiceOp::Start | ServiceOp::Running => {
                        v.active.insert(node.clone());
                    }
                    ServiceOp::Stopped => {
                        v.active.remove(node);
                    }
                    ServiceOp::MoveEnd => {
                        v.active.remove(node);
                        if let Some(t) = target {
                            v.active.insert(t.clone());
                        }
                    }
                    ServiceOp::Stop | ServiceOp::MoveBegin | ServiceOp::Failed => {}
                }
            }
            // Tracking begins or ends, or the service moved while untracked: what the nodes
            // reported before no longer says where it runs.
            EventData::Tracking { service, node, .. } => {
                let v = self.services.entry(service.clone()).or_default();
                v.active.clear();
                v.node = node.clone();
            }
            // What a client sees outranks what the stack reports: a live writer is running.
            EventData::Workload { service, node, active, .. } => {
                let v = self.services.entry(service.clone()).or_default();
                if *active {
                    v.active.insert(node.clone());
                } else {
                    v.active.remove(node);
                }
            }
            EventData::Master { node } => self.master = Some(node.clone()),
            EventData::Recovery { service, to: Some(to), .. } => {
                self.services.entry(service.clone()).or_default().node = Some(to.clone());
            }
            _ => {}
        }
    }

    /// Nothing runs on a node that lost power or was fenced.
    fn node_died(&mut self, node: &str) {
        for s in self.services.values_mut() {
            s.active.remove(node);
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
        assert_eq!(m.services["vm:1"].active, BTreeSet::from(["node2".to_owned()]));
        m.apply(&op("vm:1", "node3", ServiceOp::Running, None));
        assert_eq!(m.services["vm:1"].active.len(), 2);
        m.apply(&Event::new(
            Seconds(1.0),
            EventData::Power { node: "node3".into(), state: PowerState::Off, reason: None },
        ));
        assert_eq!(m.services["vm:1"].active, BTreeSet::from(["node2".to_owned()]));
    }
}
