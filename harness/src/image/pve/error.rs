//! Why hadrill cannot install Proxmox VE on the lab nodes with the access settings it was
//! given: each error names what is missing or wrong and the setting that would fix it.

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
    #[error(
        "the mirror URL `{url}` (from {from}) is not usable: {why}; set HADRILL_PVE_MIRROR to \
         the http:// or https:// URL of a mirror of http://download.proxmox.com/debian, e.g. \
         http://10.0.0.1:3142/debian"
    )]
    BadMirror { url: String, from: String, why: &'static str },
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
