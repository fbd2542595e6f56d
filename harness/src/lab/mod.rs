//! The lab: isolated libvirt networks, a storage VM and N nodes on qcow2 overlays, each
//! marked as hadrill's; hypervisor events; teardown that survives Ctrl-C, panics and
//! `kill -9` (through `gc`, which removes what [`inventory`] finds).

mod accel;
mod error;
mod events;
mod hypervisor;
mod leftovers;
mod owner;
mod procfs;
mod run;
mod state;
mod xml;

pub use accel::{describe as describe_accel, kvm_usable, scaled as scaled_wait, slowdown};
pub use error::LabError;
pub use events::{DomainEvents, HvEvent, HvEventKind, Lifecycle, WatchdogAction, ensure_event_loop};
pub use hypervisor::{Hypervisor, OwnedDomain, OwnedNetwork, Removed, RunState};
pub use leftovers::{
    DNSMASQ_DIR, GcReport, HostPaths, Inventory, Kind as LeftoverKind, Leftover, QEMU_LOG_DIR, Spared, gc, inventory,
    remove_libvirt_files,
};
pub use owner::{DomainOwner, NAMESPACE, NetRole, RunId, VmRole};
pub use procfs::{HostProcess, mounts_under, remove_tree};
pub use run::{Lab, LabConfig, RunSummary, VmStatus, free_subnet, list_runs, qemu_rss};
pub use state::{LabRecord, NetRecord, RunDir, VmRecord, default_state_dir, holder_alive, holder_token, now_secs};
pub use xml::{Accel, BuildBoot, BuildDomainSpec, DomainSpec, NetworkSpec, NicSpec, NodeWatchdog};
