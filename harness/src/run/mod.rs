//! `hadrill run`: a validated plan driven step by step against a lab with an HA stack,
//! recorded on one timeline and judged by the checks; the drivers of a real lab (Pacemaker,
//! Proxmox VE) and what they share; the live observer of a Proxmox VE cluster.

mod driver;
mod execute;
mod lab_common;
mod lab_driver;
mod pve_cluster;
mod pve_driver;
mod pve_observer;
#[cfg(test)]
mod tests;

pub use driver::{ActionOutput, Driver, DriverError, action_command};
pub use execute::{Progress, RunOptions, RunResult, Stop, abandon, execute, fault_kind};
pub use lab_driver::{LabDriver, LabDriverOptions, WORKLOAD_BIN};
pub use pve_cluster::{PveCluster, PveClusterOptions};
pub use pve_driver::{PVE_MIN_MEMORY_MIB, PveDriverOptions, PveLabDriver, TEMPLATE, template_script};
pub use pve_observer::{HostClocks, NodeClocks, PveObserver, PveObserverOptions};
