//! Proxmox VE HA: its raw states and the reader that turns its logs (the HA simulator's
//! output and journal exports of a real cluster) into a timeline; the node images (ISO with
//! an answer file, or Debian plus the Proxmox repository) and the check that the host was
//! given what they need; the bootstrap plan; the status the API reports, read and diffed
//! into timeline events; corosync's view of quorum; the commands and incremental readers of a
//! live observer; when a cluster is ready for a fault.
//!
//! One message grammar (`grammar`), three framings (`simulator`, `journal` short and JSON).

mod bootstrap;
mod diff;
mod error;
mod grammar;
pub mod iso;
mod journal;
mod live;
mod provision;
mod quorum;
mod read;
mod ready;
mod simulator;
mod states;
mod status;
#[cfg(test)]
mod tests;

pub use bootstrap::{
    BootstrapPlan, Capture, ClusterSetup, Command, On, PveVersion, ROOT_PASSWORD, ShutdownPolicy, Storage, Template,
    action_command, bootstrap_plan, parse_pveversion, unsupported,
};
pub use diff::{Reading, diff};
pub use error::{AccessError, LogError, PlanError, StatusError};
pub use live::{
    CURRENT_STATUS, FAULTS, JournalFrom, JournalReader, MANAGER_STATUS, QUORUMTOOL, QuorumWatch, STACK_UNITS,
    StatusPoller, fault_spec, journal_export, journal_follow, merge_status,
};
pub(crate) use provision::sh_quote;
pub use provision::{
    ANSWER_LABEL, AccessConfig, DigestKind, IMAGE_REPOSITORY, ImagePlan, Install, InstallAnswer, NodeIdentity,
    OFFICIAL_REPOSITORY, Prepare, Provided, RECIPE, RecipeFile, Release, Watchdog, answer_file, apt_proxy_conf,
    apt_sources, check_access, check_ceph, debian_install_script, image_repository, iso_first_boot, prepare_iso_argv,
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
