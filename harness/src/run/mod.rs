//! `hadrill run`: a validated plan driven step by step against a lab with an HA stack,
//! recorded on one timeline and judged by the checks.
//!
//! - [`session`]: the engine entry point of `hadrill run` (prepare, run each scenario on a
//!   fresh lab, judge, write the run directory, tear down);
//! - [`execute`]: a plan's steps against any [`Driver`];
//! - [`LabDriver`]: the driver of a lab of real VMs, with one stack's side ([`stacks`]);
//! - the Proxmox VE cluster over SSH and its live observer (also driven by the replay tests).

mod cancel;
mod clock;
mod driver;
mod error;
mod execute;
mod lab_common;
mod lab_driver;
mod pve_cluster;
mod pve_observer;
mod pve_route;
pub mod session;
pub mod stacks;
#[cfg(test)]
mod tests;

pub use cancel::{Cancel, connect_or_cancel};
pub use clock::RunClock;
pub use driver::{ActionOutput, Context, Driver, DriverError, Unready, action_command};
pub use error::RunError;
pub use execute::{Progress, RunOptions, RunResult, Stop, abandon, execute, fault_kind};
pub use lab_driver::LabDriver;
pub use pve_cluster::{PveCluster, PveClusterOptions};
pub use pve_observer::{HostClocks, NodeClocks, PveObserver, PveObserverOptions};
pub use pve_route::{PveAccess, PveIsoRoute, PveRoute, image_build_options, pve_access, pve_release, pve_route};
pub use stacks::{PVE_MIN_MEMORY_MIB, StackConfig, StackSide, TEMPLATE, WORKLOAD_BIN, template_script};
