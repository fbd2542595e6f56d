//! Why a Proxmox HA log or a Proxmox VE tool's output could not be read, or a bootstrap plan
//! could not be made.

use crate::stack::journal::FramingError;

/// An error reading a log. Lines the reader does not understand are not errors (they are
/// counted in `Meta::unrecognised`); only a file whose framing cannot be read is.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("the log is empty: no line to read")]
    Empty,
    #[error(
        "unknown log format: line {line} is `{looked_like}`; accepted formats are \
         pve-simulator (`info    160    node1/crm: …`, the HA simulator's log.expect), \
         journal-short-iso-precise (`journalctl -o short-iso-precise`) and \
         journal-json (`journalctl -o json`)"
    )]
    UnknownFormat { line: u64, looked_like: String },
    /// A JSON export whose framing cannot be read (shared by every stack's reader).
    #[error(transparent)]
    Framing(#[from] FramingError),
}

/// Why a bootstrap plan for a Proxmox VE cluster cannot be made from the scenario.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("a Proxmox VE cluster needs at least one node; the scenario's cluster has none")]
    NoNodes,
    #[error("the address of node `{node}` is missing: the lab gave addresses for {given:?}")]
    NoAddress { node: String, given: Vec<String> },
    #[error(
        "resource `{id}` is not a Proxmox VE guest: ids are `ct:N` (container) or `vm:N` \
         (virtual machine) with 100 <= N <= 999999999"
    )]
    BadResourceId { id: String },
    #[error(
        "Ceph storage needs `pveceph install`, which writes its own sources for \
         download.proxmox.com; with {mirror} and no proxy it would fail. Set \
         HADRILL_PVE_APT_PROXY to an APT proxy that reaches download.proxmox.com, set \
         HADRILL_PVE_MIRROR=http://download.proxmox.com/debian when the lab VMs reach it \
         directly, or use NFS"
    )]
    CephNeedsRepository { mirror: String },
    #[error("NFS storage needs the NFS server's address on the storage network; none was given")]
    NoNfsServer,
    #[error("command `{what}` refers to `{{{{{var}}}}}`, which no earlier command captured")]
    MissingVar { what: String, var: String },
}

/// Why the output of a Proxmox VE tool (`pvesh … --output-format json`, `pveversion`,
/// `corosync-quorumtool -s`) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("{what} is not JSON: {source}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{what}: {message}")]
    Shape { what: &'static str, message: String },
    #[error("`pveversion` printed `{output}`; expected `pve-manager/MAJOR.MINOR.PATCH/…`")]
    Version { output: String },
    #[error("`corosync-quorumtool -s` output has no `{field}` line: {hint}")]
    QuorumField { field: &'static str, hint: &'static str },
    #[error("`corosync-quorumtool -s` line {line}: bad {field} `{value}`")]
    QuorumValue { line: usize, field: &'static str, value: String },
}
