//! Proxmox VE HA: its raw states and the reader that turns its logs (the HA simulator's
//! output and journal exports of a real cluster) into a timeline; the bootstrap plan; the
//! status the API reports, read and diffed into timeline events; corosync's view of quorum;
//! the commands and incremental readers of a live observer; when a cluster is ready for a
//! fault.
//!
//! One message grammar (`grammar`), three framings (`simulator`, `journal` short and JSON).
//!
//! The node images and the access settings they need live in `image::pve`; what the command
//! line and the driver use of them is re-exported here under its former paths.

mod bootstrap;
mod diff;
mod error;
mod grammar;
mod journal;
mod live;
mod quorum;
mod read;
mod ready;
mod simulator;
mod states;
mod status;
#[cfg(test)]
mod tests;

pub(crate) use bootstrap::sh_quote;
pub use bootstrap::{
    BootstrapPlan, Capture, ClusterSetup, Command, On, PveVersion, ROOT_PASSWORD, ShutdownPolicy, Storage, Template,
    action_command, bootstrap_plan, parse_pveversion, unsupported,
};
pub use diff::{Reading, diff};
pub use error::{LogError, PlanError, StatusError};
pub use live::{
    CURRENT_STATUS, FAULTS, JournalFrom, JournalReader, MANAGER_STATUS, QUORUMTOOL, QuorumWatch, STACK_UNITS,
    StatusPoller, fault_spec, journal_export, journal_follow, merge_status,
};
pub use quorum::{Member, QuorumView, parse_quorumtool};
pub use read::{LogFormat, detect, parse, read_log};
pub use ready::{unready, unready_from};
// The fuzzer's seeds re-frame the simulator's lines as journal exports.
pub(crate) use simulator::split as simulator_line;
pub use states::{NODE_STATES, SERVICE_STATES, node_state, service_state};
pub use status::{
    CurrentService, CurrentStatus, Freshness, HaStatus, LrmEntry, NodeEntry, STALE_AFTER_S, ServiceEntry,
    parse_current, parse_manager_status,
};
