//! The fault catalogue: every fault declared once, with what the runner, the drivers and the
//! timeline need to know of it. Adding a fault means one variant of `scenario::Fault` (the
//! language), one entry here, its arm in `FaultSpec::from_scenario` and in `spec::ops` (how
//! a target does it).

use crate::scenario::{Fault, NetworkKind};
use crate::timeline::FaultKind;

/// Who does a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doer {
    /// The hypervisor (or another out-of-band target: a BMC, the storage back-end).
    Hypervisor,
    /// A command in the node's own shell.
    Guest,
}

/// What hadrill knows of one fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its name in scenario files and reports.
    pub name: &'static str,
    /// Whether a `heal` step can undo it (a killed process or a reboot cannot be undone).
    pub heals: bool,
    pub by: Doer,
    /// Whether it makes the node a poor place to ask about the cluster (unreachable, or cut
    /// off from the partition that decides).
    pub cuts_off: bool,
    /// Whether the node's SSH session is of no more use after the inject, and after the heal
    /// (a power cycle, a reset, a resume or a link back up): a new one is opened.
    pub drops_session: (bool, bool),
    /// How the timeline records the inject, and the heal.
    pub inject: FaultKind,
    pub heal: FaultKind,
}

/// The catalogue's entry of `fault`.
pub fn entry(fault: &Fault) -> Entry {
    use FaultKind as K;
    let e = |name, heals, by, cuts_off, drops_session, inject, heal| Entry {
        name,
        heals,
        by,
        cuts_off,
        drops_session,
        inject,
        heal,
    };
    match fault {
        Fault::PowerPull => e("power-pull", true, Doer::Hypervisor, true, (true, true), K::PowerOff, K::PowerOn),
        Fault::LinkDown { network: NetworkKind::Cluster } => {
            e("link-down", true, Doer::Hypervisor, true, (false, true), K::NetworkOff, K::NetworkOn)
        }
        // A storage cut leaves the node in the cluster: still a place to ask.
        Fault::LinkDown { network: NetworkKind::Storage } => {
            e("link-down", true, Doer::Hypervisor, false, (false, true), K::StorageOff, K::StorageOn)
        }
        Fault::StorageBreak => {
            e("storage-break", true, Doer::Hypervisor, false, (false, false), K::StorageOff, K::StorageOn)
        }
        Fault::Pause => e("pause", true, Doer::Hypervisor, true, (false, true), K::Pause, K::Resume),
        // Not undone by a heal; the unit the stack names is started again by `from_scenario`'s
        // spec when one is healed by hand.
        Fault::KillProcess { .. } => {
            e("kill-process", false, Doer::Guest, true, (false, false), K::KillProcess, K::StartService)
        }
        Fault::StopService { .. } => {
            e("stop-service", true, Doer::Guest, true, (false, false), K::StopService, K::StartService)
        }
        Fault::FreezeIo => e("freeze-io", true, Doer::Guest, true, (false, false), K::FreezeIo, K::ThawIo),
        Fault::FreezeWatchdog => {
            e("freeze-watchdog", true, Doer::Guest, true, (false, false), K::FreezeWatchdog, K::ThawWatchdog)
        }
        Fault::Reboot => e("reboot", false, Doer::Guest, true, (false, false), K::Reboot, K::Reboot),
    }
}

impl Entry {
    /// The timeline's kind for an inject, or with `heal` for a heal.
    pub fn kind(&self, heal: bool) -> FaultKind {
        if heal { self.heal } else { self.inject }
    }

    /// Whether the node's session is of no more use after this inject or heal.
    pub fn drops_session(&self, heal: bool) -> bool {
        if heal { self.drops_session.1 } else { self.drops_session.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fault's name is the one scenario files use, and what the timeline calls it agrees
    /// with it (the two once disagreed: `freeze-watchdog` and `freeze-watchdog-feeder`).
    #[test]
    fn names_are_the_language_s_and_the_timeline_s() {
        let all = [
            Fault::PowerPull,
            Fault::LinkDown { network: NetworkKind::Cluster },
            Fault::LinkDown { network: NetworkKind::Storage },
            Fault::StorageBreak,
            Fault::KillProcess { process: "sbd".into(), signal: "KILL".into() },
            Fault::StopService { service: "corosync".into() },
            Fault::FreezeIo,
            Fault::FreezeWatchdog,
            Fault::Pause,
            Fault::Reboot,
        ];
        for f in &all {
            let e = entry(f);
            assert_eq!(e.name, f.name());
            assert_eq!(e.heals, f.healable(), "{}", e.name);
        }
        assert_eq!(entry(&Fault::FreezeWatchdog).inject.as_str(), "freeze-watchdog");
        assert_eq!(entry(&Fault::PowerPull).kind(true), FaultKind::PowerOn);
        assert!(entry(&Fault::PowerPull).drops_session(false));
        assert!(!entry(&Fault::StorageBreak).cuts_off);
    }
}
