//! Why hadrill cannot install Proxmox VE on the lab nodes with the access settings it was
//! given: each error names what is missing or wrong and the setting that would fix it.

/// Why hadrill cannot install Proxmox VE on the lab nodes: what is missing or wrong and how to
/// provide it. The host that runs hadrill may have no route to the Proxmox repository or ISO,
/// so every message names the setting that would fix it.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Boxed: the message carries the whole way out, and the other errors stay small.
    #[error(transparent)]
    KeyUnreachable(Box<KeyUnreachable>),
    #[error(
        "the key fetched from {url} is not the Proxmox VE {release} repository key: its \
         {digest_name} is {actual}, the documented one is {expected}; it was not kept. If something \
         between this host and {url} changes what it serves, download \
         https://enterprise.proxmox.com/debian/{keyring} elsewhere, check it, and set \
         HADRILL_PVE_KEYRING=/path/to/{keyring}"
    )]
    FetchedKeyMismatch {
        url: String,
        release: &'static str,
        keyring: &'static str,
        digest_name: &'static str,
        actual: String,
        expected: &'static str,
    },
    #[error(
        "cannot keep the Proxmox VE repository key in {path}: {source}; set HADRILL_STATE_DIR to a writable directory"
    )]
    KeyCache {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the key URL `{url}` (from {from}) is not usable: {why}; set HADRILL_PVE_KEY_URL to the \
         http:// or https:// URL of the Proxmox VE repository key, or leave it unset for \
         https://enterprise.proxmox.com/debian/{keyring}"
    )]
    BadKeyUrl { url: String, from: String, why: &'static str, keyring: &'static str },
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

/// The repository key could not be fetched: what was tried, and how to point hadrill at a
/// mirror or an ISO instead.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot reach the Proxmox VE {release} repository key: tried {url} ({url_from}): {source}; \
     no verified copy in {cache}.\n\
     hadrill installs Proxmox VE from {using}; its packages are signed by that key, which \
     hadrill fetches once from {url}, checks against the {digest_name} the install guide \
     documents, and keeps in {cache}.\n\
     To point hadrill at what this host can reach:\n\
     \x20 - a mirror: set HADRILL_PVE_MIRROR=http://HOST/debian (or `mirror:` in {recipe}), a \
     mirror of http://download.proxmox.com/debian reachable from this host and the lab VMs, and \
     HADRILL_PVE_KEYRING=/path/to/{keyring} (the repository's signing key, downloaded from \
     https://enterprise.proxmox.com/debian/{keyring} on a machine that can; its {digest_name} is \
     {digest}) or HADRILL_PVE_KEY_URL=URL of a copy this host can fetch; Ceph additionally \
     needs HADRILL_PVE_APT_PROXY=http://HOST:PORT, an APT proxy that reaches \
     download.proxmox.com (e.g. apt-cacher-ng), because `pveceph install` writes its own \
     sources;\n\
     \x20 - the ISO route: set HADRILL_PVE_ISO=/path/to/proxmox-ve_{iso_example}.iso (or `iso:` \
     in {recipe}), downloaded on a machine that can reach https://www.proxmox.com/en/downloads; \
     preparing it needs `proxmox-auto-install-assistant` on PATH (package \
     proxmox-auto-install-assistant from the Proxmox repository) or HADRILL_PVE_ASSISTANT, \
     unless the ISO was already prepared with `--fetch-from partition` \
     (HADRILL_PVE_ISO_PREPARED=1).\n\
     That is for Proxmox VE {release}; for Proxmox VE {other}, set HADRILL_PVE_RELEASE={other_major} (or \
     `release: {other_major}` in {recipe})."
)]
pub struct KeyUnreachable {
    pub release: &'static str,
    /// The URL tried, and where it came from (a setting, or the install guide).
    pub url: String,
    pub url_from: String,
    #[source]
    pub source: super::keyring::FetchError,
    pub cache: std::path::PathBuf,
    /// The repository the route would use, in words.
    pub using: String,
    pub recipe: String,
    pub keyring: &'static str,
    pub digest_name: &'static str,
    pub digest: &'static str,
    pub iso_example: &'static str,
    pub other: &'static str,
    pub other_major: u32,
}
