//! Why a Proxmox HA log could not be read.

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

/// Why hadrill cannot install Proxmox VE on the lab nodes: what is missing and how to provide
/// it. The host that runs hadrill may have no route to the Proxmox repository or ISO, so every
/// message names the setting that would fix it.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(
        "no way to install Proxmox VE {release} on the lab nodes: hadrill needs the Proxmox VE \
         ISO or the Proxmox package repository, and has neither.\n\
         This host cannot be assumed to reach the Proxmox repository (download.proxmox.com) or \
         ISO (enterprise.proxmox.com/iso), so provide one of them locally:\n\
         \x20 - the ISO route: set HADRILL_PVE_ISO=/path/to/proxmox-ve_{iso_example}.iso (or `iso:` \
         in {recipe}), downloaded on a machine that can reach https://www.proxmox.com/en/downloads; \
         preparing it needs `proxmox-auto-install-assistant` on PATH (package \
         proxmox-auto-install-assistant from the Proxmox repository) or HADRILL_PVE_ASSISTANT, \
         unless the ISO was already prepared with `--fetch-from partition` \
         (HADRILL_PVE_ISO_PREPARED=1);\n\
         \x20 - the Debian route: set HADRILL_PVE_MIRROR=http://HOST/debian (or `mirror:` in \
         {recipe}), a mirror of http://download.proxmox.com/debian reachable from the lab VMs, \
         and HADRILL_PVE_KEYRING=/path/to/{keyring} (the repository's signing key; \
         {digest_name} {digest}); Ceph additionally needs HADRILL_PVE_APT_PROXY=http://HOST:PORT, \
         an APT proxy that reaches download.proxmox.com (e.g. apt-cacher-ng), because \
         `pveceph install` writes its own sources.\n\
         That is for Proxmox VE {release}; for Proxmox VE {other}, set HADRILL_PVE_RELEASE={other_major} (or \
         `release: {other_major}` in {recipe})."
    )]
    NothingProvided {
        release: &'static str,
        other: &'static str,
        other_major: u32,
        iso_example: &'static str,
        recipe: String,
        keyring: &'static str,
        digest_name: &'static str,
        digest: &'static str,
    },
    #[error(
        "the Proxmox VE ISO {path} (from {from}) does not exist or cannot be read: {source}; set \
         HADRILL_PVE_ISO to the path of proxmox-ve_*.iso"
    )]
    IsoUnreadable {
        path: std::path::PathBuf,
        from: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} (from {from}) is not an ISO 9660 image (no `CD001` volume descriptor at byte \
         32769); set HADRILL_PVE_ISO to the Proxmox VE installer ISO itself"
    )]
    NotAnIso { path: std::path::PathBuf, from: String },
    #[error(
        "the ISO route needs `proxmox-auto-install-assistant` to prepare {iso} for unattended \
         installation, and it is not on PATH{hint}. Install the package \
         proxmox-auto-install-assistant from the Proxmox repository on this host, set \
         HADRILL_PVE_ASSISTANT=/path/to/proxmox-auto-install-assistant, or prepare the ISO \
         elsewhere with `proxmox-auto-install-assistant prepare-iso ISO --fetch-from partition \
         --on-first-boot SCRIPT` (the answer comes from hadrill's PROXMOX-AIS disk and asks for a \
         first-boot script; any that exits 0 will do, hadrill waits for it) and set \
         HADRILL_PVE_ISO_PREPARED=1"
    )]
    NoAssistant { iso: std::path::PathBuf, hint: String },
    #[error("the {what} `{url}` (from {from}) is not usable: {why}; set {var} to {fix}")]
    BadUrl {
        /// "mirror URL" or "APT proxy URL".
        what: &'static str,
        url: String,
        from: String,
        why: &'static str,
        /// The variable that sets it, and what it must be.
        var: &'static str,
        fix: &'static str,
    },
    #[error(
        "the Debian route with the mirror {mirror} needs the repository's signing key, and none \
         was given: set HADRILL_PVE_KEYRING=/path/to/{keyring} (download \
         https://enterprise.proxmox.com/debian/{keyring} on a machine that can; its {digest_name} \
         is {digest})"
    )]
    NoKeyring { mirror: String, keyring: &'static str, digest_name: &'static str, digest: &'static str },
    #[error("the keyring {path} (from {from}) cannot be read: {source}")]
    KeyringUnreadable {
        path: std::path::PathBuf,
        from: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the keyring {path} is not the Proxmox VE {release} repository key: its {digest_name} is \
         {actual}, the documented one is {expected}; download \
         https://enterprise.proxmox.com/debian/{keyring} again"
    )]
    KeyringMismatch {
        path: std::path::PathBuf,
        release: &'static str,
        keyring: &'static str,
        digest_name: &'static str,
        actual: String,
        expected: &'static str,
    },
    #[error("{path}: {message}")]
    Recipe { path: std::path::PathBuf, message: String },
    #[error("{var}=`{value}`: {why}")]
    BadEnv { var: &'static str, value: String, why: &'static str },
}

impl AccessError {
    /// A setting whose value cannot mean anything (a release that is not 8 or 9, a URL that
    /// is not http(s), a settings file that does not parse): bad input, where the rest say
    /// what this host lacks.
    pub fn is_bad_value(&self) -> bool {
        matches!(self, AccessError::BadEnv { .. } | AccessError::BadUrl { .. } | AccessError::Recipe { .. })
    }
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
