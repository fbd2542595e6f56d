//! The fault catalogue: each fault has an inject and a heal and is recorded with the host
//! instant it took effect. Hypervisor faults go through the lab (libvirt); guest faults go
//! through the node's SSH session.

mod apply;
mod spec;

pub use apply::{FaultError, apply, apply_guest, apply_hypervisor};
pub use spec::{FaultAction, FaultRecord, FaultSpec, StackFaults, cuts_off};
