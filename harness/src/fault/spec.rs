//! What a fault is, and the record of one inject or heal.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::lab::NetRole;
use crate::scenario::{Fault, NetworkKind};
use crate::timeline::{EventData, FaultKind};

/// What a stack says about faults that name its daemons.
#[derive(Clone, Copy, Debug)]
pub struct StackFaults {
    /// The process that feeds the watchdog (sbd, watchdog-mux).
    pub watchdog_feeder: &'static str,
    /// The systemd unit that brings a killed process back, if any.
    pub unit_of: fn(&str) -> Option<&'static str>,
}

impl FaultSpec {
    /// The catalogue's fault for a scenario's fault on `node`, with `stack`'s names.
    pub fn from_scenario(fault: &Fault, node: &str, stack: &StackFaults) -> FaultSpec {
        let node = node.to_owned();
        match fault {
            Fault::PowerPull => FaultSpec::PowerPull { node },
            Fault::LinkDown { network } => FaultSpec::LinkDown {
                node,
                net: match network {
                    NetworkKind::Cluster => NetRole::Cluster,
                    NetworkKind::Storage => NetRole::Storage,
                },
            },
            Fault::StorageBreak => FaultSpec::StorageBreak { node },
            Fault::KillProcess { process, signal } => FaultSpec::KillProcess {
                node,
                process: process.clone(),
                signal: signal.clone(),
                unit: (stack.unit_of)(process).map(str::to_owned),
            },
            Fault::StopService { service } => FaultSpec::StopService { node, unit: service.clone() },
            // The local disk: NFS cannot be frozen, and the root file system is where the node's
            // own state (journal, cluster configuration) lives.
            Fault::FreezeIo => FaultSpec::FreezeIo { node, path: "/".into() },
            Fault::FreezeWatchdog => {
                FaultSpec::FreezeWatchdogFeeder { node, process: stack.watchdog_feeder.to_owned() }
            }
            Fault::Pause => FaultSpec::Pause { node },
            Fault::Reboot => FaultSpec::Reboot { node },
        }
    }
}

/// Whether a fault makes a node a poor place to ask about the cluster (unreachable, or cut
/// off from the partition that decides): all but a storage cut.
pub fn cuts_off(fault: &Fault) -> bool {
    !matches!(fault, Fault::StorageBreak | Fault::LinkDown { network: NetworkKind::Storage })
}

/// A fault against one node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum FaultSpec {
    /// Pull the power (`virsh destroy`); heal: power on.
    PowerPull { node: String },
    /// Cut one NIC's link (`virsh domif-setlink ... down`); heal: link up.
    LinkDown { node: String, net: NetRole },
    /// Cut the node's path to storage while the others keep theirs; heal: restore it.
    StorageBreak { node: String },
    /// Freeze the whole VM (`virsh suspend`): watchdogs freeze too, expected to be unsafe.
    Pause { node: String },
    /// `kill -SIGNAL` every process with this exact name; heal: start `unit` again if given.
    KillProcess { node: String, process: String, signal: String, unit: Option<String> },
    /// `systemctl stop UNIT`; heal: `systemctl start UNIT`.
    StopService { node: String, unit: String },
    /// `fsfreeze --freeze PATH`: writes under PATH block; heal: `fsfreeze --unfreeze`.
    FreezeIo { node: String, path: String },
    /// `kill -STOP` the watchdog feeder (sbd, watchdog-mux); heal: `kill -CONT`.
    FreezeWatchdogFeeder { node: String, process: String },
    /// `systemctl reboot`, as an operator does; the node comes back by itself.
    Reboot { node: String },
}

impl FaultSpec {
    pub fn node(&self) -> &str {
        match self {
            FaultSpec::PowerPull { node }
            | FaultSpec::LinkDown { node, .. }
            | FaultSpec::StorageBreak { node }
            | FaultSpec::Pause { node }
            | FaultSpec::KillProcess { node, .. }
            | FaultSpec::StopService { node, .. }
            | FaultSpec::FreezeIo { node, .. }
            | FaultSpec::FreezeWatchdogFeeder { node, .. }
            | FaultSpec::Reboot { node } => node,
        }
    }

    /// The fault's name, as in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            FaultSpec::PowerPull { .. } => "power-pull",
            FaultSpec::LinkDown { .. } => "link-down",
            FaultSpec::StorageBreak { .. } => "storage-break",
            FaultSpec::Pause { .. } => "pause",
            FaultSpec::KillProcess { .. } => "kill-process",
            FaultSpec::StopService { .. } => "stop-service",
            FaultSpec::FreezeIo { .. } => "freeze-io",
            FaultSpec::FreezeWatchdogFeeder { .. } => "freeze-watchdog-feeder",
            FaultSpec::Reboot { .. } => "reboot",
        }
    }

    /// Whether the hypervisor does it (as opposed to a command inside the guest).
    pub fn is_hypervisor(&self) -> bool {
        matches!(
            self,
            FaultSpec::PowerPull { .. }
                | FaultSpec::LinkDown { .. }
                | FaultSpec::StorageBreak { .. }
                | FaultSpec::Pause { .. }
        )
    }
}

/// Inject or heal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    Inject,
    Heal,
}

/// One inject or heal as it was done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    pub spec: FaultSpec,
    pub action: FaultAction,
    /// Host clock when the action was issued.
    pub issued: SystemTime,
    /// Host clock when the action had taken effect (the call returned).
    pub at: SystemTime,
    /// What was done, e.g. the command run in the guest.
    pub detail: String,
}

impl FaultRecord {
    /// Seconds of `at` since `t0` (the run's start), for the timeline.
    pub fn seconds_since(&self, t0: SystemTime) -> f64 {
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        secs(self.at) - secs(t0)
    }

    /// The timeline's `fault` event. A cut cluster link is `network-off` and a cut storage
    /// link `storage-off`, as the HA stack experiences them.
    pub fn to_event_data(&self) -> Option<EventData> {
        use FaultKind as K;
        let (inject, heal) = match &self.spec {
            FaultSpec::PowerPull { .. } => (K::PowerOff, K::PowerOn),
            FaultSpec::LinkDown { net: NetRole::Cluster, .. } => (K::NetworkOff, K::NetworkOn),
            FaultSpec::LinkDown { net: NetRole::Storage, .. } | FaultSpec::StorageBreak { .. } => {
                (K::StorageOff, K::StorageOn)
            }
            FaultSpec::Pause { .. } => (K::Pause, K::Resume),
            FaultSpec::KillProcess { .. } => (K::KillProcess, K::StartService),
            FaultSpec::StopService { .. } => (K::StopService, K::StartService),
            FaultSpec::FreezeIo { .. } => (K::FreezeIo, K::ThawIo),
            FaultSpec::FreezeWatchdogFeeder { .. } => (K::FreezeWatchdog, K::ThawWatchdog),
            FaultSpec::Reboot { .. } => (K::Reboot, K::Reboot),
        };
        let fault = if self.action == FaultAction::Heal { heal } else { inject };
        Some(EventData::Fault { node: self.spec.node().to_owned(), fault, step: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_map_onto_timeline_faults() {
        let rec = |spec, action| FaultRecord {
            spec,
            action,
            issued: UNIX_EPOCH,
            at: UNIX_EPOCH + std::time::Duration::from_millis(2500),
            detail: String::new(),
        };
        let pull = rec(FaultSpec::PowerPull { node: "node1".into() }, FaultAction::Inject);
        assert_eq!(
            pull.to_event_data(),
            Some(EventData::Fault { node: "node1".into(), fault: FaultKind::PowerOff, step: None })
        );
        assert_eq!(pull.seconds_since(UNIX_EPOCH + std::time::Duration::from_secs(1)), 1.5);
        let up = rec(FaultSpec::LinkDown { node: "node2".into(), net: NetRole::Cluster }, FaultAction::Heal);
        assert_eq!(
            up.to_event_data(),
            Some(EventData::Fault { node: "node2".into(), fault: FaultKind::NetworkOn, step: None })
        );
        let cut = rec(FaultSpec::StorageBreak { node: "n".into() }, FaultAction::Inject);
        assert_eq!(
            cut.to_event_data(),
            Some(EventData::Fault { node: "n".into(), fault: FaultKind::StorageOff, step: None })
        );
        let json = serde_json::to_string(&FaultSpec::LinkDown { node: "node2".into(), net: NetRole::Storage }).unwrap();
        assert_eq!(json, r#"{"fault":"link-down","node":"node2","net":"storage"}"#);
    }
}
