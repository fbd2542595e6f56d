//! One fault against one node as the run does it: the scenario's fault, the node, and how a
//! target does it (power, link, pause, or commands in the guest), with the stack's names
//! filled in; and the record of one inject or heal.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::catalogue::{Doer, Entry, entry};
use crate::lab::NetRole;
use crate::scenario::{Fault, NetworkKind};
use crate::timeline::EventData;

/// What a stack says about faults that name its daemons.
#[derive(Clone, Copy, Debug)]
pub struct StackFaults {
    /// The process that feeds the watchdog (sbd, watchdog-mux).
    pub watchdog_feeder: &'static str,
    /// The systemd unit that brings a killed process back, if any.
    pub unit_of: fn(&str) -> Option<&'static str>,
}

/// How a target does a fault: the inject, and its undoing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum How {
    /// Power off (`virsh destroy`); heal: power on.
    Power,
    /// One NIC's link down; heal: up.
    Link { net: NetRole },
    /// Freeze the whole VM (`virsh suspend`); heal: resume.
    Pause,
    /// A command in the node's shell; heal: another, if anything can be undone.
    Guest { inject: String, heal: Option<String> },
}

/// A fault against one node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    #[serde(skip)]
    pub fault: Option<Fault>,
    /// The catalogue's name.
    pub name: String,
    pub node: String,
    pub how: How,
}

/// A fault argument that is not a plain word (it goes into a shell command).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("`{value}` is not a safe {what}")]
#[diagnostic(code(hadrill::fault::argument))]
pub struct UnsafeArgument {
    pub what: &'static str,
    pub value: String,
}

fn safe_word(what: &'static str, s: &str) -> Result<(), UnsafeArgument> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@:/".contains(&b));
    if ok { Ok(()) } else { Err(UnsafeArgument { what, value: s.to_owned() }) }
}

impl FaultSpec {
    /// The scenario's fault on `node`, with `stack`'s names (its watchdog feeder, the units
    /// that bring its daemons back).
    pub fn from_scenario(fault: &Fault, node: &str, stack: &StackFaults) -> Result<FaultSpec, UnsafeArgument> {
        let guest = |inject: String, heal: Option<String>| How::Guest { inject, heal };
        let how = match fault {
            Fault::PowerPull => How::Power,
            Fault::LinkDown { network: NetworkKind::Cluster } => How::Link { net: NetRole::Cluster },
            Fault::LinkDown { network: NetworkKind::Storage } | Fault::StorageBreak => {
                How::Link { net: NetRole::Storage }
            }
            Fault::Pause => How::Pause,
            Fault::KillProcess { process, signal } => {
                safe_word("process name", process)?;
                safe_word("signal", signal)?;
                // A killed daemon comes back by starting its unit, when the stack names one.
                let unit = (stack.unit_of)(process);
                guest(format!("pkill -{signal} -x {process}"), unit.map(|u| format!("systemctl start {u}")))
            }
            Fault::StopService { service } => {
                safe_word("unit", service)?;
                guest(format!("systemctl stop {service}"), Some(format!("systemctl start {service}")))
            }
            // The local disk: NFS cannot be frozen, and the root file system is where the node's
            // own state (journal, cluster configuration) lives.
            Fault::FreezeIo => guest("fsfreeze --freeze /".into(), Some("fsfreeze --unfreeze /".into())),
            Fault::FreezeWatchdog => {
                let p = stack.watchdog_feeder;
                guest(format!("pkill -STOP -x {p}"), Some(format!("pkill -CONT -x {p}")))
            }
            // Scheduled a second ahead so that the command returns before the session drops.
            Fault::Reboot => guest("systemd-run --on-active=1 systemctl reboot".into(), None),
        };
        Ok(FaultSpec { fault: Some(fault.clone()), name: entry(fault).name.to_owned(), node: node.to_owned(), how })
    }

    /// A hypervisor fault without a scenario (the lab's own tests): power or link.
    pub fn hypervisor(fault: Fault, node: &str) -> FaultSpec {
        let none = StackFaults { watchdog_feeder: "-", unit_of: |_| None };
        FaultSpec::from_scenario(&fault, node, &none).unwrap_or_else(|_| unreachable!("no arguments"))
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// The catalogue's entry; `None` for a spec read back from JSON.
    pub fn entry(&self) -> Option<Entry> {
        self.fault.as_ref().map(entry)
    }

    /// Whether the hypervisor (or another out-of-band target) does it.
    pub fn is_hypervisor(&self) -> bool {
        !matches!(self.how, How::Guest { .. })
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

    /// The timeline's `fault` event, as the catalogue names it (a cut cluster link is
    /// `network-off` and a cut storage link `storage-off`, as the HA stack experiences them).
    pub fn to_event_data(&self) -> Option<EventData> {
        let e = self.spec.entry()?;
        let fault = e.kind(self.action == FaultAction::Heal);
        Some(EventData::Fault { node: self.spec.node().to_owned(), fault, step: None })
    }
}

/// Whether the catalogue says `fault` is done by the hypervisor.
pub fn by_hypervisor(fault: &Fault) -> bool {
    entry(fault).by == Doer::Hypervisor
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::FaultKind;

    const PCMK: StackFaults = StackFaults {
        watchdog_feeder: "sbd",
        unit_of: |p| if p.starts_with("pacemaker") { Some("pacemaker") } else { None },
    };

    #[test]
    fn records_map_onto_timeline_faults() {
        let rec = |spec, action| FaultRecord {
            spec,
            action,
            issued: UNIX_EPOCH,
            at: UNIX_EPOCH + std::time::Duration::from_millis(2500),
            detail: String::new(),
        };
        let pull = rec(FaultSpec::hypervisor(Fault::PowerPull, "node1"), FaultAction::Inject);
        assert_eq!(
            pull.to_event_data(),
            Some(EventData::Fault { node: "node1".into(), fault: FaultKind::PowerOff, step: None })
        );
        assert_eq!(pull.seconds_since(UNIX_EPOCH + std::time::Duration::from_secs(1)), 1.5);
        let up =
            rec(FaultSpec::hypervisor(Fault::LinkDown { network: NetworkKind::Cluster }, "node2"), FaultAction::Heal);
        assert_eq!(
            up.to_event_data(),
            Some(EventData::Fault { node: "node2".into(), fault: FaultKind::NetworkOn, step: None })
        );
        let cut = rec(FaultSpec::hypervisor(Fault::StorageBreak, "n"), FaultAction::Inject);
        assert_eq!(
            cut.to_event_data(),
            Some(EventData::Fault { node: "n".into(), fault: FaultKind::StorageOff, step: None })
        );
        let json =
            serde_json::to_string(&FaultSpec::hypervisor(Fault::LinkDown { network: NetworkKind::Storage }, "node2"))
                .unwrap();
        assert_eq!(json, r#"{"name":"link-down","node":"node2","how":{"op":"link","net":"storage"}}"#);
    }

    #[test]
    fn guest_commands_are_built_and_checked() {
        let kill = Fault::KillProcess { process: "pacemakerd".into(), signal: "KILL".into() };
        let spec = FaultSpec::from_scenario(&kill, "n", &PCMK).unwrap();
        assert_eq!(
            spec.how,
            How::Guest { inject: "pkill -KILL -x pacemakerd".into(), heal: Some("systemctl start pacemaker".into()) }
        );
        let feeder = FaultSpec::from_scenario(&Fault::FreezeWatchdog, "n", &PCMK).unwrap();
        assert_eq!(
            feeder.how,
            How::Guest { inject: "pkill -STOP -x sbd".into(), heal: Some("pkill -CONT -x sbd".into()) }
        );
        assert_eq!(feeder.name, "freeze-watchdog");
        let evil = Fault::StopService { service: "x; reboot".into() };
        assert_eq!(FaultSpec::from_scenario(&evil, "n", &PCMK).unwrap_err().what, "unit");
        let other = Fault::KillProcess { process: "x".into(), signal: "TERM".into() };
        assert!(matches!(FaultSpec::from_scenario(&other, "n", &PCMK).unwrap().how, How::Guest { heal: None, .. }));
        assert!(FaultSpec::hypervisor(Fault::PowerPull, "n").is_hypervisor());
        assert!(by_hypervisor(&Fault::Pause) && !by_hypervisor(&Fault::Reboot));
    }
}
