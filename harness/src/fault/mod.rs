//! Faults: the catalogue (each fault declared once), a fault against one node as a target
//! does it, and the record of each inject and heal with the host instant it took effect.
//! Hypervisor faults go through the lab (libvirt); guest faults through the node's session;
//! both through the [`FaultTarget`] trait.

mod apply;
mod catalogue;
mod spec;

pub use apply::{FaultError, FaultTarget, SessionTarget, TargetError, apply};
pub use catalogue::{Doer, Entry, entry};
pub use spec::{FaultAction, FaultRecord, FaultSpec, How, StackFaults, UnsafeArgument, by_hypervisor};
