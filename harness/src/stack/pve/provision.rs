//! Node images for the Proxmox VE stack, by either documented route:
//!
//! - **ISO**: the Proxmox VE installer ISO, prepared once with
//!   `proxmox-auto-install-assistant prepare-iso --fetch-from partition --on-first-boot …`,
//!   and per node an answer file (`answer.toml`) on a small disk labelled `PROXMOX-AIS`. One
//!   prepared ISO serves every node; only the answer (name, address) differs.
//! - **Debian**: Debian plus the Proxmox VE repository, installed as pve-docs' "Install
//!   Proxmox VE on Debian" describes (hostname resolving to the node's address, the
//!   no-subscription repository and its key, `proxmox-default-kernel`, a reboot, `proxmox-ve`,
//!   removing the Debian kernel and os-prober), as one non-interactive first-boot script.
//!
//! Which route is possible depends on what the host was given (`check_access`): this host may
//! not reach download.proxmox.com, so the ISO, a mirror and the repository key come from
//! settings (`HADRILL_PVE_*` or `images/pve/pve.yaml`), and a missing one is a typed error
//! that says how to provide it.

use std::fmt::Write;
use std::io::Read;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256, Sha512};

use super::error::{AccessError, PlanError};
use crate::stack::pacemaker::NodeFile;

/// The Proxmox repository as Proxmox publishes it.
pub const OFFICIAL_REPOSITORY: &str = "http://download.proxmox.com/debian";

/// Where the access settings live in the repository.
pub const RECIPE: &str = "images/pve/pve.yaml";

/// A Proxmox VE major release and the Debian release under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Proxmox VE 8 on Debian 12 (bookworm): HA groups.
    Pve8,
    /// Proxmox VE 9 on Debian 13 (trixie): HA rules.
    Pve9,
}

/// A digest algorithm, as pve-docs documents it for the repository key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestKind {
    Sha256,
    Sha512,
}

impl DigestKind {
    pub fn name(self) -> &'static str {
        match self {
            DigestKind::Sha256 => "sha256sum",
            DigestKind::Sha512 => "sha512sum",
        }
    }

    fn hex(self, bytes: &[u8]) -> String {
        let digest: Vec<u8> = match self {
            DigestKind::Sha256 => Sha256::digest(bytes).to_vec(),
            DigestKind::Sha512 => Sha512::digest(bytes).to_vec(),
        };
        digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

impl Release {
    pub fn from_major(major: u32) -> Option<Self> {
        match major {
            8 => Some(Release::Pve8),
            9 => Some(Release::Pve9),
            _ => None,
        }
    }

    pub fn major(self) -> u32 {
        match self {
            Release::Pve8 => 8,
            Release::Pve9 => 9,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Release::Pve8 => "8 (Debian 12 bookworm)",
            Release::Pve9 => "9 (Debian 13 trixie)",
        }
    }

    pub fn suite(self) -> &'static str {
        match self {
            Release::Pve8 => "bookworm",
            Release::Pve9 => "trixie",
        }
    }

    /// The key's file name under https://enterprise.proxmox.com/debian/.
    pub fn keyring_file(self) -> &'static str {
        match self {
            Release::Pve8 => "proxmox-release-bookworm.gpg",
            Release::Pve9 => "proxmox-archive-keyring-trixie.gpg",
        }
    }

    /// Where the install guide puts the key on the node.
    pub fn keyring_target(self) -> &'static str {
        match self {
            Release::Pve8 => "/etc/apt/trusted.gpg.d/proxmox-release-bookworm.gpg",
            Release::Pve9 => "/usr/share/keyrings/proxmox-archive-keyring.gpg",
        }
    }

    /// The key's digest as the install guide documents it.
    pub fn keyring_digest(self) -> (DigestKind, &'static str) {
        match self {
            Release::Pve8 => (
                DigestKind::Sha512,
                "7da6fe34168adc6e479327ba517796d4702fa2f8b4f0a9833f5ea6e6b48f6507a6da403a274fe201595edc86a84463d50383d07f64bdde2e3658108db7d6dc87",
            ),
            Release::Pve9 => (DigestKind::Sha256, "136673be77aba35dcce385b28737689ad64fd785a797e57897589aed08db6e45"),
        }
    }

    /// The Debian route's image recipe (`images/<name>`) for this release.
    pub fn image_recipe(self) -> &'static str {
        match self {
            Release::Pve8 => "pve-debian",
            Release::Pve9 => "pve9-debian",
        }
    }

    /// The other supported release, for messages that say how to switch.
    pub fn other(self) -> Self {
        match self {
            Release::Pve8 => Release::Pve9,
            Release::Pve9 => Release::Pve8,
        }
    }

    /// The release whose Debian route builds on `suite`, if any.
    pub fn of_suite(suite: &str) -> Option<Self> {
        [Release::Pve8, Release::Pve9].into_iter().find(|r| r.suite() == suite)
    }

    fn iso_example(self) -> &'static str {
        match self {
            Release::Pve8 => "8.4-1",
            Release::Pve9 => "9.0-1",
        }
    }

    /// The Debian kernel packages the install guide removes once the Proxmox kernel runs.
    fn debian_kernels(self) -> &'static str {
        match self {
            Release::Pve8 => "linux-image-amd64 'linux-image-6.1*'",
            Release::Pve9 => "linux-image-amd64 'linux-image-6.12*'",
        }
    }
}

/// A setting and where it came from (an environment variable or the recipe file), so that
/// an error can say which one to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provided<T> {
    pub value: T,
    pub from: String,
}

/// `images/pve/pve.yaml`: the same settings as the environment; the environment wins.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeFile {
    /// 8 or 9.
    pub release: Option<u32>,
    pub iso: Option<PathBuf>,
    #[serde(default)]
    pub iso_prepared: bool,
    pub assistant: Option<PathBuf>,
    pub mirror: Option<String>,
    pub keyring: Option<PathBuf>,
    pub apt_proxy: Option<String>,
}

/// What the host was given to install Proxmox VE with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessConfig {
    pub release: Release,
    pub iso: Option<Provided<PathBuf>>,
    /// The ISO was already prepared with `--fetch-from partition` and hadrill's first-boot
    /// script, so no assistant is needed here.
    pub iso_prepared: bool,
    pub assistant: Option<Provided<PathBuf>>,
    pub mirror: Option<Provided<String>>,
    pub keyring: Option<Provided<PathBuf>>,
    pub apt_proxy: Option<Provided<String>>,
    /// Where the recipe file is (for messages), whether or not it exists.
    pub recipe: PathBuf,
}

impl AccessConfig {
    /// The settings from `recipe` (when the file exists) overridden by the environment
    /// (`env` looks a variable up; `std::env::var` in the CLI, a map in tests).
    pub fn load(recipe: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Self, AccessError> {
        let file = if recipe.is_file() {
            let text = std::fs::read_to_string(recipe)
                .map_err(|e| AccessError::Recipe { path: recipe.to_owned(), message: e.to_string() })?;
            serde_saphyr::from_str::<RecipeFile>(&text)
                .map_err(|e| AccessError::Recipe { path: recipe.to_owned(), message: e.to_string() })?
        } else {
            RecipeFile::default()
        };
        let from_file = |key: &str| format!("`{key}:` in {}", recipe.display());
        let pick = |var: &'static str, key: &str, file: Option<String>| -> Option<Provided<String>> {
            match env(var).filter(|v| !v.is_empty()) {
                Some(value) => Some(Provided { value, from: var.to_owned() }),
                None => file.map(|value| Provided { value, from: from_file(key) }),
            }
        };
        let path = |p: Option<Provided<String>>| p.map(|p| Provided { value: PathBuf::from(p.value), from: p.from });
        let release = match env("HADRILL_PVE_RELEASE").filter(|v| !v.is_empty()) {
            Some(v) => match v.as_str() {
                "8" => Release::Pve8,
                "9" => Release::Pve9,
                _ => return Err(AccessError::BadEnv { var: "HADRILL_PVE_RELEASE", value: v, why: "expected 8 or 9" }),
            },
            None => match file.release {
                None => Release::Pve8,
                Some(m) => Release::from_major(m).ok_or_else(|| AccessError::Recipe {
                    path: recipe.to_owned(),
                    message: format!("release: {m}: expected 8 or 9"),
                })?,
            },
        };
        let iso_prepared = match env("HADRILL_PVE_ISO_PREPARED").filter(|v| !v.is_empty()) {
            Some(v) => match v.as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => {
                    return Err(AccessError::BadEnv {
                        var: "HADRILL_PVE_ISO_PREPARED",
                        value: v,
                        why: "expected 1 or 0",
                    });
                }
            },
            None => file.iso_prepared,
        };
        let lossy = |p: Option<PathBuf>| p.map(|p| p.to_string_lossy().into_owned());
        Ok(AccessConfig {
            release,
            iso: path(pick("HADRILL_PVE_ISO", "iso", lossy(file.iso))),
            iso_prepared,
            assistant: path(pick("HADRILL_PVE_ASSISTANT", "assistant", lossy(file.assistant))),
            mirror: pick("HADRILL_PVE_MIRROR", "mirror", file.mirror),
            keyring: path(pick("HADRILL_PVE_KEYRING", "keyring", lossy(file.keyring))),
            apt_proxy: pick("HADRILL_PVE_APT_PROXY", "apt_proxy", file.apt_proxy),
            recipe: recipe.to_owned(),
        })
    }
}

/// How the ISO gets its unattended-install settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prepare {
    /// Run this `proxmox-auto-install-assistant`.
    Assistant(PathBuf),
    /// Already done by the user.
    Done,
}

/// The route that is possible, with what it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Install {
    Iso {
        iso: PathBuf,
        prepare: Prepare,
        /// An APT proxy for download.proxmox.com (needed by `pveceph install`), set per run.
        apt_proxy: Option<String>,
    },
    Debian {
        /// A mirror of http://download.proxmox.com/debian (or that itself).
        repository: String,
        /// The repository key, checked against the documented digest.
        keyring: PathBuf,
        /// An APT proxy for download.proxmox.com (needed by `pveceph install`).
        apt_proxy: Option<String>,
    },
}

/// Which route the settings allow: the ISO when one is given (it needs nothing from the
/// network), else the Debian route with a mirror; or an error that says what is missing.
/// `which` finds a program on PATH.
pub fn check_access(cfg: &AccessConfig, which: impl Fn(&str) -> Option<PathBuf>) -> Result<Install, AccessError> {
    let release = cfg.release;
    let (digest_kind, digest) = release.keyring_digest();
    if let Some(iso) = &cfg.iso {
        check_iso(&iso.value, &iso.from)?;
        let prepare = if cfg.iso_prepared {
            Prepare::Done
        } else if let Some(a) = &cfg.assistant {
            if !a.value.is_file() {
                return Err(AccessError::NoAssistant {
                    iso: iso.value.clone(),
                    hint: format!(" ({} names {}, which does not exist)", a.from, a.value.display()),
                });
            }
            Prepare::Assistant(a.value.clone())
        } else {
            match which("proxmox-auto-install-assistant") {
                Some(p) => Prepare::Assistant(p),
                None => return Err(AccessError::NoAssistant { iso: iso.value.clone(), hint: String::new() }),
            }
        };
        let apt_proxy = match &cfg.apt_proxy {
            Some(p) => Some(check_url(&p.value, &p.from, Url::AptProxy)?),
            None => None,
        };
        return Ok(Install::Iso { iso: iso.value.clone(), prepare, apt_proxy });
    }
    let apt_proxy = match &cfg.apt_proxy {
        Some(p) => Some(check_url(&p.value, &p.from, Url::AptProxy)?),
        None => None,
    };
    let repository = match (&cfg.mirror, &apt_proxy) {
        (Some(m), _) => check_url(&m.value, &m.from, Url::Mirror)?,
        // A proxy alone reaches the official repository.
        (None, Some(_)) => OFFICIAL_REPOSITORY.to_owned(),
        (None, None) => {
            return Err(AccessError::NothingProvided {
                release: release.label(),
                other: release.other().label(),
                other_major: release.other().major(),
                iso_example: release.iso_example(),
                recipe: cfg.recipe.display().to_string(),
                keyring: release.keyring_file(),
                digest_name: digest_kind.name(),
                digest,
            });
        }
    };
    let Some(keyring) = &cfg.keyring else {
        return Err(AccessError::NoKeyring {
            mirror: repository,
            keyring: release.keyring_file(),
            digest_name: digest_kind.name(),
            digest,
        });
    };
    let bytes = std::fs::read(&keyring.value).map_err(|source| AccessError::KeyringUnreadable {
        path: keyring.value.clone(),
        from: keyring.from.clone(),
        source,
    })?;
    let actual = digest_kind.hex(&bytes);
    if actual != digest {
        return Err(AccessError::KeyringMismatch {
            path: keyring.value.clone(),
            release: release.label(),
            keyring: release.keyring_file(),
            digest_name: digest_kind.name(),
            actual,
            expected: digest,
        });
    }
    Ok(Install::Debian { repository, keyring: keyring.value.clone(), apt_proxy })
}

/// Ceph is installed by `pveceph install`, which writes sources for download.proxmox.com
/// itself: it needs that host, directly (the official repository given as the mirror) or
/// through an APT proxy, on either route.
pub fn check_ceph(cfg: &AccessConfig) -> Result<(), PlanError> {
    let direct = cfg.mirror.as_ref().is_some_and(|m| m.value.trim_end_matches('/') == OFFICIAL_REPOSITORY);
    if cfg.apt_proxy.is_some() || direct {
        return Ok(());
    }
    let mirror = match (&cfg.mirror, &cfg.iso) {
        (Some(m), _) => format!("the mirror {} from {}", m.value, m.from),
        (None, Some(i)) => format!("the ISO {} from {}", i.value.display(), i.from),
        (None, None) => "nothing".into(),
    };
    Err(PlanError::CephNeedsRepository { mirror })
}

/// An ISO 9660 image has its first volume descriptor at sector 16 (byte 32768): a type byte,
/// then `CD001`.
fn check_iso(path: &Path, from: &str) -> Result<(), AccessError> {
    let unreadable = |source| AccessError::IsoUnreadable { path: path.to_owned(), from: from.to_owned(), source };
    let mut f = std::fs::File::open(path).map_err(unreadable)?;
    let mut head = vec![0u8; 32774];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]).map_err(unreadable)? {
            0 => break,
            n => got += n,
        }
    }
    if got < head.len() || &head[32769..32774] != b"CD001" {
        return Err(AccessError::NotAnIso { path: path.to_owned(), from: from.to_owned() });
    }
    Ok(())
}

/// Which URL of the access settings is checked, for the message.
#[derive(Clone, Copy)]
enum Url {
    Mirror,
    AptProxy,
}

/// An http(s) URL without a trailing slash.
fn check_url(url: &str, from: &str, which: Url) -> Result<String, AccessError> {
    let (what, var, fix) = match which {
        Url::Mirror => (
            "mirror URL",
            "HADRILL_PVE_MIRROR",
            "the http:// or https:// URL of a mirror of http://download.proxmox.com/debian, e.g. http://10.0.0.1:3142/debian",
        ),
        Url::AptProxy => (
            "APT proxy URL",
            "HADRILL_PVE_APT_PROXY",
            "the http:// URL of an APT proxy that reaches download.proxmox.com, e.g. http://10.0.0.1:3142",
        ),
    };
    let bad = |why| AccessError::BadUrl { what, url: url.to_owned(), from: from.to_owned(), why, var, fix };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("not http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad("no host"));
    }
    if url.chars().any(|c| c.is_whitespace() || c == '\'' || c == '"') {
        return Err(bad("contains whitespace or quotes"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The watchdog that `watchdog-mux` arms: softdog (Proxmox's default) or the emulated
/// i6300esb (a reset seen by the hypervisor even when the guest kernel is stuck).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watchdog {
    Softdog,
    I6300esb,
}

/// One node's identity on the cluster network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeIdentity {
    pub name: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    /// The MAC of the cluster NIC: the installer's network filter picks it by this.
    pub mac: String,
}

/// Everything the generated image files depend on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePlan {
    pub release: Release,
    pub domain: String,
    pub gateway: Ipv4Addr,
    pub dns: Ipv4Addr,
    /// The run's root password: the cluster join through the API needs it in clear, so it is
    /// generated per run and never reused.
    pub root_password: String,
    pub ssh_keys: Vec<String>,
    /// The installer's target disk (`vda` with virtio-blk); the second disk is Ceph's.
    pub disk: String,
    pub watchdog: Watchdog,
    pub nodes: Vec<NodeIdentity>,
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A shell word in single quotes.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The answer of the ISO route's one installation, whose disk becomes every node's base image
/// (the nodes' identities come from the lab's kernel command line, as on the Debian route).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallAnswer {
    pub release: Release,
    /// The installed system's name (replaced by each node's at boot).
    pub fqdn: String,
    /// Build-time only: every run sets its own before the cluster is made.
    pub root_password: String,
    /// The build's key, for converting the installed system over SSH.
    pub ssh_key: String,
    /// The installer's static address on the install network (`a.b.c.d/prefix`).
    pub cidr: String,
    pub gateway: Ipv4Addr,
    pub dns: Ipv4Addr,
    /// The MAC of the install NIC: the installer's network filter picks it by this.
    pub mac: String,
    /// The target disk (`vda`: the only virtio disk of the installer's domain).
    pub disk: String,
}

impl InstallAnswer {
    /// The answer with placeholders where each build has its own values: its text is part of
    /// the image's cache key, so a change to the answer's form rebuilds, a new password does not.
    pub fn template(release: Release) -> Self {
        InstallAnswer {
            release,
            fqdn: "<fqdn>".into(),
            root_password: "<build-time root password>".into(),
            ssh_key: "<build-time ssh key>".into(),
            cidr: "<address>/24".into(),
            gateway: Ipv4Addr::UNSPECIFIED,
            dns: Ipv4Addr::UNSPECIFIED,
            mac: "<mac>".into(),
            disk: "vda".into(),
        }
    }
}

/// The answer file (`answer.toml`, kebab-case keys, as the auto-installer of Proxmox VE 8.3
/// and later reads them; `[first-boot]` also needs 8.3).
pub fn answer_file(a: &InstallAnswer) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Written by hadrill: the one installation of Proxmox VE {} that becomes the lab nodes' base image.",
        a.release.major()
    );
    let _ = writeln!(s, "[global]");
    let _ = writeln!(s, "keyboard = \"en-us\"");
    let _ = writeln!(s, "country = \"us\"");
    let _ = writeln!(s, "fqdn = {}", toml_str(&a.fqdn));
    let _ = writeln!(s, "mailto = {}", toml_str(&format!("root@{}", a.fqdn)));
    let _ = writeln!(s, "timezone = \"UTC\"");
    let _ = writeln!(s, "root-password = {}", toml_str(&a.root_password));
    let _ = writeln!(s, "root-ssh-keys = [{}]", toml_str(&a.ssh_key));
    // On an error the installer then stops at a debug shell instead of rebooting as if it had
    // succeeded; hadrill sees the message on the serial console and stops the domain.
    let _ = writeln!(s, "reboot-on-error = false");
    let _ = writeln!(s);
    let _ = writeln!(s, "[network]");
    let _ = writeln!(s, "source = \"from-answer\"");
    let _ = writeln!(s, "cidr = {}", toml_str(&a.cidr));
    let _ = writeln!(s, "dns = {}", toml_str(&a.dns.to_string()));
    let _ = writeln!(s, "gateway = {}", toml_str(&a.gateway.to_string()));
    // udev's ID_NET_NAME_MAC is `enx` and the MAC without colons.
    let _ =
        writeln!(s, "filter.ID_NET_NAME_MAC = {}", toml_str(&format!("*{}", a.mac.replace(':', "").to_lowercase())));
    let _ = writeln!(s);
    let _ = writeln!(s, "[disk-setup]");
    let _ = writeln!(s, "filesystem = \"ext4\"");
    let _ = writeln!(s, "disk-list = [{}]", toml_str(&a.disk));
    // Swap only slows an emulated guest down; guests' disks are on the lab's shared storage,
    // so no thin pool (`local-lvm`): the space goes to the root file system.
    let _ = writeln!(s, "lvm.swapsize = 0");
    let _ = writeln!(s, "lvm.maxvz = 0");
    let _ = writeln!(s);
    let _ = writeln!(s, "[first-boot]");
    let _ = writeln!(s, "source = \"from-iso\"");
    let _ = writeln!(s, "ordering = \"network-online\"");
    s
}

/// `/etc/hosts` lines for every node: pve-cluster needs the node's name to resolve to its
/// cluster address, not to 127.0.1.1.
fn hosts_lines(plan: &ImagePlan) -> String {
    plan.nodes.iter().map(|n| format!("{} {}.{} {}\n", n.ip, n.name, plan.domain, n.name)).collect()
}

/// The APT sources of the no-subscription repository at `repository`.
pub fn apt_sources(release: Release, repository: &str) -> NodeFile {
    match release {
        Release::Pve8 => NodeFile {
            path: "/etc/apt/sources.list.d/pve-install-repo.list",
            mode: 0o644,
            content: format!(
                "# Written by hadrill: the Proxmox VE no-subscription repository.\ndeb [arch=amd64] {repository}/pve {} pve-no-subscription\n",
                release.suite()
            ),
        },
        Release::Pve9 => NodeFile {
            path: "/etc/apt/sources.list.d/pve-install-repo.sources",
            mode: 0o644,
            content: format!(
                "# Written by hadrill: the Proxmox VE no-subscription repository.\nTypes: deb\nURIs: {repository}/pve\nSuites: {}\nComponents: pve-no-subscription\nSigned-By: {}\n",
                release.suite(),
                release.keyring_target()
            ),
        },
    }
}

/// APT's proxy for download.proxmox.com only, so that `pveceph install`, which writes its
/// own sources for that host, works without direct access.
pub fn apt_proxy_conf(proxy: &str) -> NodeFile {
    NodeFile {
        path: "/etc/apt/apt.conf.d/80hadrill-proxmox-proxy",
        mode: 0o644,
        content: format!(
            "// Written by hadrill: reach the Proxmox repository through a proxy.\nAcquire::http::Proxy::download.proxmox.com \"{proxy}\";\n"
        ),
    }
}

/// Common to both routes, run once on the installed system: names, the watchdog module, no
/// enterprise repository (it needs a subscription), no timers that steal CPU from an
/// emulated guest.
fn common_setup(plan: &ImagePlan, s: &mut String) {
    let _ = writeln!(s, "# Every node resolves every other by name; its own name is not 127.0.1.1.");
    let _ = writeln!(s, "sed -i '/^127\\.0\\.1\\.1[[:space:]]/d' /etc/hosts");
    let _ = writeln!(s, "cat >> /etc/hosts <<'HOSTS'\n{}HOSTS", hosts_lines(plan));
    let _ = writeln!(s, "case \"$(hostname -s)\" in");
    for n in &plan.nodes {
        let _ = writeln!(s, "  {}) want={} ;;", n.name, n.ip);
    }
    let _ = writeln!(s, "  *) echo \"hadrill: unknown node name $(hostname -s)\" >&2; exit 1 ;;");
    let _ = writeln!(s, "esac");
    let _ = writeln!(
        s,
        "[ \"$(hostname --ip-address)\" = \"$want\" ] || {{ echo \"hadrill: $(hostname) resolves to $(hostname --ip-address), not $want\" >&2; exit 1; }}"
    );
    let module = match plan.watchdog {
        Watchdog::Softdog => "softdog",
        Watchdog::I6300esb => "i6300esb",
    };
    let _ = writeln!(s, "# watchdog-mux loads this module; the hypervisor sees its reset.");
    let _ = writeln!(s, "echo 'WATCHDOG_MODULE={module}' > /etc/default/pve-ha-manager");
    let _ = writeln!(
        s,
        "rm -f /etc/apt/sources.list.d/pve-enterprise.list /etc/apt/sources.list.d/pve-enterprise.sources /etc/apt/sources.list.d/ceph.list /etc/apt/sources.list.d/ceph.sources"
    );
    let _ = writeln!(
        s,
        "systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer pve-daily-update.timer 2>/dev/null || true"
    );
}

/// The name the node image's recipe (`images/pve-debian`) gives the Proxmox repository.
pub const IMAGE_REPOSITORY: &str = "proxmox";

/// The Proxmox repository as the Debian route's image build takes it: the no-subscription
/// component at `repository` (a mirror, or the official one), signed by `keyring` (checked by
/// [`check_access`]) and kept where the install guide puts it. With the official repository
/// and an APT proxy, the build fetches through the proxy, and the image keeps the setting
/// (`pveceph install` needs it too).
pub fn image_repository(
    release: Release,
    repository: &str,
    keyring: &Path,
    apt_proxy: Option<&str>,
) -> crate::image::ExtraRepository {
    let official = repository.trim_end_matches('/') == OFFICIAL_REPOSITORY;
    crate::image::ExtraRepository {
        name: IMAGE_REPOSITORY.into(),
        uri: format!("{}/pve", repository.trim_end_matches('/')),
        suite: release.suite().into(),
        components: vec!["pve-no-subscription".into()],
        keyring: keyring.to_owned(),
        keyring_target: release.keyring_target().into(),
        proxy: apt_proxy.filter(|_| official).map(str::to_owned),
    }
}

/// The ISO route's first-boot script (`prepare-iso --on-first-boot`), run once by the
/// installed system at its first start, before hadrill converts it into the nodes' base image:
/// what every Proxmox VE node of a lab needs, whoever installed it. Nothing node-specific:
/// one installation serves every node.
pub fn iso_first_boot(release: Release) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Written by hadrill: first boot of the Proxmox VE {} installation that becomes the lab nodes' base image.",
        release.major()
    );
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "# The enterprise repositories need a subscription; without one they break apt-get update.");
    let _ = writeln!(
        s,
        "rm -f /etc/apt/sources.list.d/pve-enterprise.list /etc/apt/sources.list.d/pve-enterprise.sources /etc/apt/sources.list.d/ceph.list /etc/apt/sources.list.d/ceph.sources"
    );
    let _ = writeln!(s, "# Nothing that wakes up on a timer and steals CPU from an emulated guest.");
    let _ = writeln!(
        s,
        "systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer systemd-tmpfiles-clean.timer dpkg-db-backup.timer pve-daily-update.timer 2>/dev/null || true"
    );
    let _ = writeln!(s, "touch /var/lib/hadrill-first-boot-done");
    s
}

/// How to prepare the ISO once (argv of the assistant): answers from a `PROXMOX-AIS`
/// partition, hadrill's first-boot script inside. `tmp` is where the assistant stages its copy
/// of the ISO: by default it uses the input ISO's directory (the output's, before 8.4), which
/// may be read-only or another user's.
pub fn prepare_iso_argv(assistant: &Path, iso: &Path, first_boot: &Path, output: &Path, tmp: &Path) -> Vec<String> {
    [
        assistant.to_string_lossy().as_ref(),
        "prepare-iso",
        iso.to_string_lossy().as_ref(),
        "--fetch-from",
        "partition",
        "--on-first-boot",
        first_boot.to_string_lossy().as_ref(),
        "--output",
        output.to_string_lossy().as_ref(),
        "--tmp",
        tmp.to_string_lossy().as_ref(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The label of the answer disk the prepared installer looks for.
pub const ANSWER_LABEL: &str = "PROXMOX-AIS";

/// The Debian route: one script, run at first boot of a Debian node as root, that follows
/// the install guide step by step and reboots once into the Proxmox kernel (run it again
/// after that reboot: it carries on from where it stopped). The key is expected at
/// `/root/hadrill/<keyring file>`, copied there with the script.
pub fn debian_install_script(plan: &ImagePlan, repository: &str, apt_proxy: Option<&str>) -> String {
    let r = plan.release;
    let (kind, digest) = r.keyring_digest();
    let sources = apt_sources(r, repository);
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Written by hadrill: install Proxmox VE {} on Debian ({}), as pve-docs' \"Install Proxmox VE on Debian\" describes.",
        r.major(),
        r.suite()
    );
    let _ = writeln!(s, "# Run as root; it reboots once into the Proxmox kernel and is run again after.");
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "export DEBIAN_FRONTEND=noninteractive");
    let _ = writeln!(s, "state=/var/lib/hadrill-pve-install");
    let _ = writeln!(s, "if [ ! -e \"$state\" ]; then");
    let _ = writeln!(s, "  . /etc/os-release");
    let _ = writeln!(
        s,
        "  [ \"$VERSION_CODENAME\" = {} ] || {{ echo \"hadrill: Proxmox VE {} needs Debian {}, this is $VERSION_CODENAME\" >&2; exit 1; }}",
        r.suite(),
        r.major(),
        r.suite()
    );
    // Not indented: it holds a here-document, whose end marker must start its line.
    common_setup(plan, &mut s);
    let _ = writeln!(s, "  install -m 0644 /root/hadrill/{} {}", r.keyring_file(), r.keyring_target());
    let _ = writeln!(
        s,
        "  echo '{digest}  {}' | {} -c - || {{ echo 'hadrill: the repository key does not match the documented digest' >&2; exit 1; }}",
        r.keyring_target(),
        kind.name()
    );
    let _ = writeln!(s, "  cat > {} <<'SOURCES'\n{}SOURCES", sources.path, sources.content);
    if let Some(p) = apt_proxy {
        let conf = apt_proxy_conf(p);
        let _ = writeln!(s, "  cat > {} <<'PROXY'\n{}PROXY", conf.path, conf.content);
    }
    // postfix asks how to deliver mail unless debconf already knows.
    let _ = writeln!(s, "  echo 'postfix postfix/main_mailer_type select Local only' | debconf-set-selections");
    let _ = writeln!(s, "  echo \"postfix postfix/mailname string $(hostname --fqdn)\" | debconf-set-selections");
    let _ = writeln!(s, "  apt-get update");
    let _ =
        writeln!(s, "  apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold full-upgrade");
    let _ = writeln!(s, "  apt-get -y install proxmox-default-kernel");
    let _ = writeln!(s, "  echo kernel > \"$state\"");
    let _ = writeln!(s, "  systemctl reboot");
    let _ = writeln!(s, "  exit 0");
    let _ = writeln!(s, "fi");
    let _ = writeln!(s, "if [ \"$(cat \"$state\")\" = kernel ]; then");
    let _ = writeln!(
        s,
        "  uname -r | grep -q -- '-pve$' || {{ echo \"hadrill: running $(uname -r), not the Proxmox kernel\" >&2; exit 1; }}"
    );
    let _ = writeln!(
        s,
        "  apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install proxmox-ve postfix open-iscsi chrony"
    );
    let _ = writeln!(s, "  apt-get -y remove {}", r.debian_kernels());
    let _ = writeln!(s, "  update-grub");
    let _ = writeln!(s, "  # os-prober would add every guest's disk to the boot menu.");
    let _ = writeln!(s, "  apt-get -y remove os-prober");
    // proxmox-ve adds the enterprise repository; without a subscription it breaks apt-get update.
    let _ = writeln!(
        s,
        "  rm -f /etc/apt/sources.list.d/pve-enterprise.list /etc/apt/sources.list.d/pve-enterprise.sources"
    );
    let _ = writeln!(s, "  echo done > \"$state\"");
    let _ = writeln!(s, "fi");
    let _ = writeln!(s, "pveversion");
    s
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    pub(crate) fn plan(release: Release) -> ImagePlan {
        ImagePlan {
            release,
            domain: "hadrill.lab".into(),
            gateway: Ipv4Addr::new(10, 77, 0, 1),
            dns: Ipv4Addr::new(10, 77, 0, 1),
            root_password: "run-secret \"quoted\"".into(),
            ssh_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHadrillTestKey hadrill@run".into()],
            disk: "vda".into(),
            watchdog: Watchdog::Softdog,
            nodes: (1..=3)
                .map(|i| NodeIdentity {
                    name: format!("node{i}"),
                    ip: Ipv4Addr::new(10, 77, 0, 10 + i),
                    prefix: 24,
                    mac: format!("52:54:00:77:00:{:02x}", 10 + i),
                })
                .collect(),
        }
    }

    fn cfg(vars: &[(&str, &str)], dir: &Path) -> Result<AccessConfig, AccessError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AccessConfig::load(&dir.join("pve.yaml"), |k| map.get(k).cloned())
    }

    #[test]
    fn answer_file_snapshot_and_valid_toml_shape() {
        let install = InstallAnswer {
            release: Release::Pve8,
            fqdn: "pve-install.hadrill.lab".into(),
            root_password: "build-secret \"quoted\"".into(),
            ssh_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHadrillTestKey hadrill@build".into(),
            cidr: "10.213.7.10/24".into(),
            gateway: Ipv4Addr::new(10, 213, 7, 1),
            dns: Ipv4Addr::new(10, 213, 7, 1),
            mac: "52:54:00:1A:07:0A".into(),
            disk: "vda".into(),
        };
        let a = answer_file(&install);
        insta::assert_snapshot!(a);
        assert!(a.contains("root-password = \"build-secret \\\"quoted\\\"\""), "quotes are escaped");
        assert!(a.contains("filter.ID_NET_NAME_MAC = \"*5254001a070a\""));
        let template = answer_file(&InstallAnswer::template(Release::Pve8));
        assert!(!template.contains("build-secret") && template.contains("<build-time root password>"));
        for section in ["[global]", "[network]", "[disk-setup]", "[first-boot]"] {
            assert_eq!(a.matches(section).count(), 1, "{section}");
        }
    }

    #[test]
    fn debian_route_scripts() {
        insta::assert_snapshot!(
            "debian_install_pve8",
            debian_install_script(&plan(Release::Pve8), OFFICIAL_REPOSITORY, Some("http://10.0.0.1:3142"))
        );
        let nine = debian_install_script(&plan(Release::Pve9), "http://mirror.lab/debian", None);
        assert!(nine.contains("Suites: trixie\nComponents: pve-no-subscription\nSigned-By: /usr/share/keyrings/proxmox-archive-keyring.gpg"));
        assert!(nine.contains("sha256sum -c"));
        assert!(nine.contains("'linux-image-6.12*'"));
        assert!(!nine.contains("Proxy"), "no proxy configured");
        insta::assert_snapshot!("iso_first_boot", iso_first_boot(Release::Pve8));
        assert!(!iso_first_boot(Release::Pve9).contains("node1"), "one installation serves every node");
    }

    /// `sh -n`: the generated scripts parse (here-documents closed, quotes balanced).
    #[test]
    fn generated_scripts_are_valid_shell() {
        let dir = tempfile::tempdir().unwrap();
        for (name, script) in [
            ("debian8", debian_install_script(&plan(Release::Pve8), OFFICIAL_REPOSITORY, Some("http://p:3142"))),
            ("debian9", debian_install_script(&plan(Release::Pve9), "http://m/debian", None)),
            ("iso", iso_first_boot(Release::Pve8)),
        ] {
            let f = dir.path().join(name);
            std::fs::write(&f, &script).unwrap();
            let out = std::process::Command::new("sh").arg("-n").arg(&f).output().expect("sh runs");
            assert!(out.status.success(), "{name}: {}\n{script}", String::from_utf8_lossy(&out.stderr));
        }
    }

    #[test]
    fn nothing_provided_says_what_is_missing_and_how() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = cfg(&[], dir.path()).unwrap();
        let err = check_access(&cfg, |_| None).unwrap_err();
        assert!(matches!(err, AccessError::NothingProvided { .. }));
        let msg = err.to_string().replace(&dir.path().display().to_string(), "DIR");
        insta::assert_snapshot!(msg);
    }

    #[test]
    fn iso_route_checks_the_image_and_the_assistant() {
        let dir = tempfile::tempdir().unwrap();
        let iso = dir.path().join("pve.iso");
        std::fs::write(&iso, vec![0u8; 40_000]).unwrap();
        let c = cfg(&[("HADRILL_PVE_ISO", iso.to_str().unwrap())], dir.path()).unwrap();
        let err = check_access(&c, |_| None).unwrap_err();
        assert!(matches!(err, AccessError::NotAnIso { .. }), "{err}");
        assert!(err.to_string().contains("HADRILL_PVE_ISO"));

        let mut bytes = vec![0u8; 40_000];
        bytes[32768] = 1;
        bytes[32769..32774].copy_from_slice(b"CD001");
        std::fs::write(&iso, &bytes).unwrap();
        let err = check_access(&c, |_| None).unwrap_err();
        assert!(matches!(err, AccessError::NoAssistant { .. }), "{err}");
        let found = check_access(&c, |p| Some(PathBuf::from("/usr/bin").join(p))).unwrap();
        assert_eq!(
            found,
            Install::Iso {
                iso: iso.clone(),
                prepare: Prepare::Assistant("/usr/bin/proxmox-auto-install-assistant".into()),
                apt_proxy: None,
            }
        );
        let prepared =
            cfg(&[("HADRILL_PVE_ISO", iso.to_str().unwrap()), ("HADRILL_PVE_ISO_PREPARED", "1")], dir.path()).unwrap();
        assert_eq!(
            check_access(&prepared, |_| None).unwrap(),
            Install::Iso { iso: iso.clone(), prepare: Prepare::Done, apt_proxy: None }
        );
        let proxied = cfg(
            &[
                ("HADRILL_PVE_ISO", iso.to_str().unwrap()),
                ("HADRILL_PVE_ISO_PREPARED", "1"),
                ("HADRILL_PVE_APT_PROXY", "http://10.0.0.1:3142/"),
            ],
            dir.path(),
        )
        .unwrap();
        assert!(matches!(
            check_access(&proxied, |_| None).unwrap(),
            Install::Iso { apt_proxy: Some(p), .. } if p == "http://10.0.0.1:3142"
        ));

        let missing = cfg(&[("HADRILL_PVE_ISO", "/nonexistent/pve.iso")], dir.path()).unwrap();
        assert!(matches!(check_access(&missing, |_| None), Err(AccessError::IsoUnreadable { .. })));
    }

    #[test]
    fn debian_route_checks_mirror_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(&[("HADRILL_PVE_MIRROR", "ftp://mirror/debian")], dir.path()).unwrap();
        assert!(matches!(check_access(&c, |_| None), Err(AccessError::BadUrl { .. })));
        let c = cfg(&[("HADRILL_PVE_MIRROR", "http://mirror.lab/debian/")], dir.path()).unwrap();
        let err = check_access(&c, |_| None).unwrap_err();
        assert!(matches!(err, AccessError::NoKeyring { .. }), "{err}");
        assert!(err.to_string().contains("HADRILL_PVE_KEYRING"));

        let key = dir.path().join("key.gpg");
        std::fs::write(&key, b"not the key").unwrap();
        let c = cfg(
            &[("HADRILL_PVE_MIRROR", "http://mirror.lab/debian/"), ("HADRILL_PVE_KEYRING", key.to_str().unwrap())],
            dir.path(),
        )
        .unwrap();
        let err = check_access(&c, |_| None).unwrap_err();
        assert!(matches!(err, AccessError::KeyringMismatch { .. }), "{err}");
    }

    #[test]
    fn recipe_file_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pve.yaml"), "release: 9\nmirror: http://from-file/debian\n").unwrap();
        let c = cfg(&[], dir.path()).unwrap();
        assert_eq!(c.release, Release::Pve9);
        assert_eq!(c.mirror.as_ref().map(|m| m.value.as_str()), Some("http://from-file/debian"));
        assert!(c.mirror.as_ref().unwrap().from.contains("`mirror:` in"));
        let c =
            cfg(&[("HADRILL_PVE_MIRROR", "http://from-env/debian"), ("HADRILL_PVE_RELEASE", "8")], dir.path()).unwrap();
        assert_eq!(c.release, Release::Pve8);
        assert_eq!(c.mirror.unwrap().from, "HADRILL_PVE_MIRROR");
        assert!(matches!(cfg(&[("HADRILL_PVE_RELEASE", "7")], dir.path()), Err(AccessError::BadEnv { .. })));
        std::fs::write(dir.path().join("pve.yaml"), "mirrror: x\n").unwrap();
        assert!(matches!(cfg(&[], dir.path()), Err(AccessError::Recipe { .. })));
    }

    #[test]
    fn ceph_needs_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(&[("HADRILL_PVE_MIRROR", "http://mirror.lab/debian")], dir.path()).unwrap();
        let err = check_ceph(&c).unwrap_err();
        assert!(err.to_string().contains("HADRILL_PVE_APT_PROXY"), "{err}");
        let c = cfg(
            &[("HADRILL_PVE_MIRROR", "http://mirror.lab/debian"), ("HADRILL_PVE_APT_PROXY", "http://p:3142")],
            dir.path(),
        )
        .unwrap();
        assert!(check_ceph(&c).is_ok());
        let c = cfg(&[("HADRILL_PVE_MIRROR", "http://download.proxmox.com/debian/")], dir.path()).unwrap();
        assert!(check_ceph(&c).is_ok(), "direct access to the official repository");
    }

    #[test]
    fn the_repository_recipe_loads() {
        let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join(RECIPE);
        let c = AccessConfig::load(&recipe, |_| None).expect("images/pve/pve.yaml is valid");
        assert_eq!(c.release, Release::Pve8);
    }

    /// The Debian route's image build with a user's mirror and key substituted, for each
    /// release: the mmdebstrap call, with the recipe's directory written `<images>`.
    #[test]
    fn debian_route_image_build_plan() {
        let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("images");
        for release in [Release::Pve8, Release::Pve9] {
            let recipe = crate::image::Recipe::load(&images, release.image_recipe()).unwrap();
            assert_eq!(Release::of_suite(&recipe.file.suite), Some(release), "{} is on the wrong suite", recipe.name());
            let key = Path::new("/var/lib/hadrill").join(release.keyring_file());
            let repo = image_repository(release, "http://mirror.lab:8080/proxmox/debian/", &key, None);
            assert_eq!(repo.host(), "mirror.lab");
            recipe.check_repositories(std::slice::from_ref(&repo)).unwrap();
            let spec = crate::image::mmdebstrap_spec(&recipe, Path::new("/scratch/rootfs"), &[repo]).unwrap();
            let argv = spec.args.join("\n").replace(&images.display().to_string(), "<images>");
            insta::assert_snapshot!(format!("debian_route_image_build_plan_pve{}", release.major()), argv);
            let suite = release.suite();
            for want in [
                "proxmox-ve".to_owned(),
                "postfix".into(),
                "open-iscsi".into(),
                "chrony".into(),
                "proxmox-default-kernel".into(),
                format!(
                    "deb [signed-by={}] http://mirror.lab:8080/proxmox/debian/pve {suite} pve-no-subscription",
                    key.display()
                ),
                format!("upload {} {}", key.display(), release.keyring_target()),
                format!("\n{suite}\n/scratch/rootfs\nhttp://deb.debian.org/debian\n"),
                // The same scripts for both releases (pve9-debian links to pve-debian's).
                "essential-hook=chroot \"$1\" /bin/sh -s < '<images>/".into(),
                "/essential.sh'".into(),
            ] {
                assert!(argv.contains(&want), "{want} missing:\n{argv}");
            }
            assert!(!argv.contains("linux-image-amd64"), "the guide removes the Debian kernel");
            assert!(!argv.contains("Proxy"), "a mirror needs no proxy");
            // debian-ha's identity files first, then pve-debian's (lab-pve), then the key inside
            // the image, then the customize script.
            let order: Vec<usize> =
                ["sync-in <images>/debian-ha/files", "sync-in <images>/pve-debian/files", "sed -i", "customize.sh"]
                    .iter()
                    .map(|w| argv.find(w).unwrap_or_else(|| panic!("{w} missing")))
                    .collect();
            assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
            let scripts = |r: &crate::image::Recipe| {
                (std::fs::read(r.essential_script()).unwrap(), std::fs::read(r.customize_script()).unwrap())
            };
            let pve8 = crate::image::Recipe::load(&images, Release::Pve8.image_recipe()).unwrap();
            assert_eq!(scripts(&recipe), scripts(&pve8));

            // Through a proxy to the official repository: the build and the image use it.
            let proxied = image_repository(release, OFFICIAL_REPOSITORY, &key, Some("http://10.0.0.1:3142"));
            let spec = crate::image::mmdebstrap_spec(&recipe, Path::new("/r"), &[proxied]).unwrap();
            assert!(
                spec.args.contains(
                    &"--aptopt=Acquire::http::Proxy::download.proxmox.com \"http://10.0.0.1:3142\"".to_owned()
                )
            );
            // A recipe asked for a repository it was not given: a typed error, not a build
            // without it.
            assert!(matches!(recipe.check_repositories(&[]), Err(crate::image::ImageError::MissingRepository { .. })));
        }
    }

    #[test]
    fn prepare_argv() {
        let argv = prepare_iso_argv(
            Path::new("/usr/bin/paia"),
            Path::new("/isos/pve.iso"),
            Path::new("/run/fb.sh"),
            Path::new("/run/auto.iso"),
            Path::new("/run/stage"),
        );
        assert_eq!(
            argv.join(" "),
            "/usr/bin/paia prepare-iso /isos/pve.iso --fetch-from partition --on-first-boot /run/fb.sh --output /run/auto.iso --tmp /run/stage"
        );
    }
}
