//! `hadrill run`: a validated plan driven step by step against a lab with an HA stack,
//! recorded on one timeline and judged by the checks; the live observer of a Proxmox VE
//! cluster.

mod driver;
mod execute;
mod lab_driver;
mod pve_observer;
#[cfg(test)]
mod tests;

pub use driver::{ActionOutput, Driver, DriverError, action_command};
pub use execute::{Progress, RunOptions, RunResult, Stop, abandon, execute, fault_kind};
pub use lab_driver::{LabDriver, LabDriverOptions, WORKLOAD_BIN};
pub use pve_observer::{HostClocks, NodeClocks, PveObserver, PveObserverOptions};
