//! The raw states of the Proxmox VE HA manager and how they map onto the normalised
//! vocabulary shared by every stack.

use crate::timeline::{NodeState, ServiceState};

/// Every state the PVE CRM can give a service (`$valid_service_states` in
/// `PVE::HA::Manager`), plus `disabled`, which `ha-manager status` shows for a service whose
/// requested state is disabled.
pub const SERVICE_STATES: &[&str] = &[
    "request_start",
    "request_start_balance",
    "started",
    "request_stop",
    "stopped",
    "fence",
    "recovery",
    "migrate",
    "relocate",
    "freeze",
    "error",
    "disabled",
];

/// Every state the PVE CRM can give a node (`$valid_node_states` in `PVE::HA::NodeStatus`).
pub const NODE_STATES: &[&str] = &["online", "maintenance", "unknown", "fence", "gone"];

/// A raw PVE service state, normalised.
pub fn service_state(raw: &str) -> Option<ServiceState> {
    Some(match raw {
        // `request_start_balance` is a start that first picks the best node: not running yet.
        "request_start" | "request_start_balance" => ServiceState::Starting,
        "started" => ServiceState::Started,
        "request_stop" => ServiceState::Stopping,
        "stopped" => ServiceState::Stopped,
        "fence" => ServiceState::Fence,
        "recovery" => ServiceState::Recovery,
        "migrate" | "relocate" => ServiceState::Migrating,
        "freeze" => ServiceState::Frozen,
        "error" => ServiceState::Error,
        "disabled" => ServiceState::Disabled,
        _ => return None,
    })
}

/// A raw PVE node state, normalised. PVE has no "fenced" state: a fenced node goes back to
/// `unknown` once the manager holds its agent lock (see the `fence` events for that instant).
pub fn node_state(raw: &str) -> Option<NodeState> {
    Some(match raw {
        "online" => NodeState::Online,
        "unknown" => NodeState::Lost,
        "fence" => NodeState::Fencing,
        "maintenance" => NodeState::Maintenance,
        "gone" => NodeState::Gone,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_state_is_normalised() {
        for s in SERVICE_STATES {
            assert!(service_state(s).is_some(), "{s}");
        }
        for s in NODE_STATES {
            assert!(node_state(s).is_some(), "{s}");
        }
        assert_eq!(service_state("relocate"), Some(ServiceState::Migrating));
        assert_eq!(service_state("freeze"), Some(ServiceState::Frozen));
        assert_eq!(node_state("unknown"), Some(NodeState::Lost));
        assert_eq!(node_state("fence"), Some(NodeState::Fencing));
        assert_eq!(service_state("ignored"), None);
        assert_eq!(node_state("fenced"), None);
    }
}
