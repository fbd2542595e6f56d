//! Pacemaker (with corosync and sbd): its raw states, crm_mon and fencer-history XML read into
//! a normalised cluster status, the difference between two statuses as timeline events, and
//! the reader that turns the nodes' journals into a timeline.

mod bootstrap;
mod diff;
mod error;
mod fencing;
mod grammar;
mod live;
mod read;
mod sabotage;
mod states;
mod status;
#[cfg(test)]
mod tests;
mod xml;

pub use bootstrap::{
    BootstrapPlan, Command, NodeAddr, NodeFile, On, Profile, SHARED_DIR, bootstrap_plan, configuration_cib,
    corosync_conf, sbd_defaults,
};
pub use diff::diff;
pub use error::PacemakerError;
pub use fencing::{FenceRecord, FenceStatus, parse_fence_history};
pub use live::{
    CRM_MON, FAULTS, FENCE_DEVICES, NodeHealth, STACK_UNITS, StatusPoller, fault_spec, journal_events, journal_export,
    lists_watchdog, stack_entries, unready,
};
pub use read::read_journal;
pub use sabotage::{AfterReady, SHORT_FENCE_SBD_TIMEOUT_S, Sabotage, SabotageError};
pub use states::{NODE_STATES, SERVICE_STATES, node_state, service_state};
pub use status::{ClusterStatus, FailCount, Group, Node, Resource, ServiceView, error_state, parse_crm_mon};
pub use xml::INFINITY;
