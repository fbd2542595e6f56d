//! The normalised vocabulary shared by every HA stack (see design.md): node, service, power
//! and quorum states. Each stack maps its own raw states onto these and keeps the raw one too.

use serde::{Deserialize, Serialize};

/// What the HA manager thinks of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeState {
    Online,
    /// Not in the quorate partition (PVE `unknown`, Pacemaker UNCLEAN/offline).
    Lost,
    /// Fencing was started against it.
    Fencing,
    /// Fencing is confirmed: the node is known to be dead or reset.
    Fenced,
    Maintenance,
    /// Removed from the cluster configuration.
    Gone,
}

/// What the HA manager thinks of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceState {
    Starting,
    Started,
    Stopping,
    Stopped,
    Fence,
    Recovery,
    Migrating,
    Frozen,
    Error,
    Disabled,
}

/// Power as the hypervisor (or the simulator's hardware) sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PowerState {
    Running,
    Off,
    /// A reset: watchdog expiry or reboot.
    Reset,
    /// Suspended by the hypervisor: frozen with its memory, clocks and watchdog, not off.
    Paused,
}

macro_rules! names {
    ($ty:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$v),*];
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$v => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(<$ty>::$v),)* _ => None }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(NodeState { Online => "online", Lost => "lost", Fencing => "fencing", Fenced => "fenced", Maintenance => "maintenance", Gone => "gone" });
names!(ServiceState { Starting => "starting", Started => "started", Stopping => "stopping", Stopped => "stopped", Fence => "fence", Recovery => "recovery", Migrating => "migrating", Frozen => "frozen", Error => "error", Disabled => "disabled" });
names!(PowerState { Running => "running", Off => "off", Reset => "reset", Paused => "paused" });

impl ServiceState {
    /// Whether a service in this state may be running somewhere (used by the split-brain
    /// invariant together with the per-node activity the LRM reports).
    pub fn may_run(self) -> bool {
        matches!(
            self,
            ServiceState::Started | ServiceState::Starting | ServiceState::Migrating | ServiceState::Stopping
        )
    }
}
