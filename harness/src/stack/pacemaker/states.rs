//! Pacemaker's raw node and resource states and how they map onto the normalised vocabulary
//! shared by every stack.

use crate::timeline::{NodeState, ServiceState};

/// Every state a resource instance can show: the `role` crm_mon writes (`role2text`, and
/// `native_pending_state` in `lib/pengine/native.c` for an operation in flight), `FAILED`
/// (crm_mon's word for `failed="true"`), and `Master`/`Slave`, the names Pacemaker < 2.1
/// used for `Promoted`/`Unpromoted`.
pub const SERVICE_STATES: &[&str] = &[
    "Stopped",
    "Started",
    "Promoted",
    "Unpromoted",
    "Starting",
    "Stopping",
    "Migrating",
    "Promoting",
    "Demoting",
    "FAILED",
    "Master",
    "Slave",
];

/// Every state a node can show: crm_mon's node status texts (`node_text_status` in
/// `lib/pengine/pe_output.c`), and the peer states the controller logs (`Node X state is
/// now member|lost`).
pub const NODE_STATES: &[&str] = &[
    "online",
    "OFFLINE",
    "UNCLEAN (online)",
    "UNCLEAN (offline)",
    "UNCLEAN (pending)",
    "pending",
    "standby",
    "standby (on-fail)",
    "standby (with active resources)",
    "OFFLINE (standby)",
    "maintenance",
    "OFFLINE (maintenance)",
    "member",
    "lost",
];

/// A raw resource state, normalised. Roles of a running instance (promoted or not, being
/// promoted or demoted) are all `started`: the service runs. `FAILED` is `recovery`: the
/// scheduler will stop and start it again (a failure it cannot recover from shows as blocked,
/// see `ClusterStatus`). Whether a stopped resource is `disabled` or in `error` depends on more
/// than its role and is decided in `ClusterStatus`.
pub fn service_state(raw: &str) -> Option<ServiceState> {
    Some(match raw {
        "Stopped" => ServiceState::Stopped,
        "Started" | "Promoted" | "Unpromoted" | "Promoting" | "Demoting" | "Master" | "Slave" => ServiceState::Started,
        "Starting" => ServiceState::Starting,
        "Stopping" => ServiceState::Stopping,
        "Migrating" => ServiceState::Migrating,
        "FAILED" => ServiceState::Recovery,
        _ => return None,
    })
}

/// A raw node state, normalised. A node outside the DC's partition (offline, unclean, or not
/// yet joined) is `lost`; standby and maintenance (which both keep the node from running
/// services) are `maintenance`. Pacemaker has no "fenced" node state: fencing shows as a
/// node leaving `UNCLEAN` for `OFFLINE` (see the `fence` events).
pub fn node_state(raw: &str) -> Option<NodeState> {
    Some(match raw {
        "online" | "member" => NodeState::Online,
        "OFFLINE"
        | "OFFLINE (standby)"
        | "OFFLINE (maintenance)"
        | "UNCLEAN (online)"
        | "UNCLEAN (offline)"
        | "UNCLEAN (pending)"
        | "pending"
        | "lost" => NodeState::Lost,
        "standby" | "standby (on-fail)" | "standby (with active resources)" | "maintenance" => NodeState::Maintenance,
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
        assert_eq!(service_state("Promoted"), Some(ServiceState::Started));
        assert_eq!(service_state("FAILED"), Some(ServiceState::Recovery));
        assert_eq!(service_state("started"), None, "Pacemaker's roles are capitalised");
        assert_eq!(node_state("UNCLEAN (online)"), Some(NodeState::Lost));
        assert_eq!(node_state("standby"), Some(NodeState::Maintenance));
        assert_eq!(node_state("Online"), None);
    }
}
