//! Access settings for installing Proxmox VE on the lab nodes: the release (8 on Debian 12, 9
//! on Debian 13), and what the host was given for either image route (the ISO and the
//! assistant that prepares it; a mirror of the Proxmox repository, its key and an APT proxy),
//! read from `images/pve/pve.yaml` and the `HADRILL_PVE_*` environment (which wins), then
//! checked into the one route that is possible (`Install`) or a typed error that says what is
//! missing and how to provide it.
//!
//! Without settings, the host is taken to have internet access: the Debian route with the
//! public repository (`http://download.proxmox.com/debian/pve`, the release's suite,
//! `pve-no-subscription`) and its key fetched from the location the install guide gives,
//! checked against the digest it documents and kept in the state directory (`keyring`). Each
//! setting overrides its part of that default.

use std::fmt::Write;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256, Sha512};

use super::error::{AccessError, KeyUnreachable};
use super::keyring::{self, ExpectedKey, KeyError};
use crate::stack::pve::PlanError;

/// The Proxmox repository as Proxmox publishes it: the default.
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

    pub(super) fn hex(self, bytes: &[u8]) -> String {
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

    /// The key's file name under <https://enterprise.proxmox.com/debian/>.
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

    /// Where the install guide downloads the key from: the default `HADRILL_PVE_KEY_URL`.
    pub fn key_url(self) -> String {
        format!("https://enterprise.proxmox.com/debian/{}", self.keyring_file())
    }

    /// The key's digest as the install guide documents it:
    /// - Proxmox VE 8: "Install Proxmox VE on Debian 12 Bookworm"
    ///   (<https://pve.proxmox.com/wiki/Install_Proxmox_VE_on_Debian_12_Bookworm>), `sha512sum
    ///   /etc/apt/trusted.gpg.d/proxmox-release-bookworm.gpg` after fetching it from
    ///   enterprise.proxmox.com; the same value as the Proxmox VE 8 admin guide's "SecureApt".
    /// - Proxmox VE 9: "Install Proxmox VE on Debian 13 Trixie"
    ///   (<https://pve.proxmox.com/wiki/Install_Proxmox_VE_on_Debian_13_Trixie>) and the Proxmox
    ///   VE 9 admin guide's "SecureApt" (§3.1.8), which publish a `sha256sum` (md5sum
    ///   77c8b1166d15ce8350102ab1bca2fcbf) for `proxmox-archive-keyring-trixie.gpg`, not a
    ///   sha512sum, and no `proxmox-release-trixie.gpg`.
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
    pub(super) fn debian_kernels(self) -> &'static str {
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
    pub key_url: Option<String>,
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
    /// `None`: the public repository, [`OFFICIAL_REPOSITORY`].
    pub mirror: Option<Provided<String>>,
    /// `None`: the key is fetched from `key_url` into `key_cache`.
    pub keyring: Option<Provided<PathBuf>>,
    /// `None`: [`Release::key_url`], where the install guide downloads it.
    pub key_url: Option<Provided<String>>,
    pub apt_proxy: Option<Provided<String>>,
    /// Where a fetched key is kept: `keys/` in the state directory (`HADRILL_STATE_DIR`, else
    /// the default one; a caller that knows another sets this).
    pub key_cache: PathBuf,
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
            key_url: pick("HADRILL_PVE_KEY_URL", "key_url", file.key_url),
            apt_proxy: pick("HADRILL_PVE_APT_PROXY", "apt_proxy", file.apt_proxy),
            key_cache: env("HADRILL_STATE_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(crate::lab::default_state_dir)
                .join("keys"),
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
        /// A mirror of <http://download.proxmox.com/debian> (or that itself, the default).
        repository: String,
        /// The repository key, checked against the documented digest: the given one, or the
        /// one fetched into the cache.
        keyring: PathBuf,
        /// An APT proxy for download.proxmox.com (needed by `pveceph install`).
        apt_proxy: Option<String>,
    },
}

/// Which route the settings allow: the ISO when one is given (it needs nothing from the
/// network), else the Debian route with the given mirror or the public repository, signed by
/// the given key or by the one fetched (once) from the install guide's location; or an error
/// that says what is missing and how to provide it. `which` finds a program on PATH.
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
    let repository = match &cfg.mirror {
        Some(m) => check_url(&m.value, &m.from, Url::Mirror)?,
        None => OFFICIAL_REPOSITORY.to_owned(),
    };
    let Some(keyring) = &cfg.keyring else {
        let keyring = fetched_key(cfg, &repository, apt_proxy.as_deref())?;
        return Ok(Install::Debian { repository, keyring, apt_proxy });
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

/// No key was given: the verified copy in the cache, fetched first when there is none.
fn fetched_key(cfg: &AccessConfig, repository: &str, apt_proxy: Option<&str>) -> Result<PathBuf, AccessError> {
    let release = cfg.release;
    let (kind, digest) = release.keyring_digest();
    let (url, url_from) = match &cfg.key_url {
        Some(u) => {
            if let Some(why) = url_problem(&u.value) {
                return Err(AccessError::BadKeyUrl {
                    url: u.value.clone(),
                    from: u.from.clone(),
                    why,
                    keyring: release.keyring_file(),
                });
            }
            (u.value.clone(), u.from.clone())
        }
        None => (release.key_url(), "the install guide's location".to_owned()),
    };
    let expected = ExpectedKey { file: release.keyring_file(), kind, digest };
    keyring::cached_or_fetched(&url, expected, &cfg.key_cache).map_err(|e| match e {
        KeyError::Fetch { url, source } => AccessError::KeyUnreachable(Box::new(KeyUnreachable {
            release: release.label(),
            url,
            url_from,
            source,
            cache: cfg.key_cache.clone(),
            using: repository_in_words(cfg, repository, apt_proxy),
            recipe: cfg.recipe.display().to_string(),
            keyring: release.keyring_file(),
            digest_name: kind.name(),
            digest,
            iso_example: release.iso_example(),
            other: release.other().label(),
            other_major: release.other().major(),
        })),
        KeyError::Mismatch { url, actual, .. } => AccessError::FetchedKeyMismatch {
            url,
            release: release.label(),
            keyring: release.keyring_file(),
            digest_name: kind.name(),
            actual,
            expected: digest,
        },
        KeyError::Cache { path, source } => AccessError::KeyCache { path, source },
    })
}

/// The repository the Debian route would install from, for a message.
fn repository_in_words(cfg: &AccessConfig, repository: &str, apt_proxy: Option<&str>) -> String {
    let suite = cfg.release.suite();
    match (&cfg.mirror, apt_proxy) {
        (Some(m), _) => {
            format!("the mirror {repository}/pve (from {}; suite {suite}, component pve-no-subscription)", m.from)
        }
        (None, Some(p)) => format!(
            "the public repository {repository}/pve (suite {suite}, component pve-no-subscription) through the \
             APT proxy {p}"
        ),
        (None, None) => {
            format!(
                "the public repository {repository}/pve (suite {suite}, component pve-no-subscription; the default)"
            )
        }
    }
}

/// Ceph is installed by `pveceph install`, which writes sources for download.proxmox.com
/// itself: it needs that host, directly (no mirror given, as by default, or the official
/// repository given as the mirror) or through an APT proxy, on either route.
pub fn check_ceph(cfg: &AccessConfig) -> Result<(), PlanError> {
    let direct = cfg.mirror.as_ref().is_none_or(|m| m.value.trim_end_matches('/') == OFFICIAL_REPOSITORY);
    if cfg.apt_proxy.is_some() || direct {
        return Ok(());
    }
    let mirror = match &cfg.mirror {
        Some(m) => format!("the mirror {} from {}", m.value, m.from),
        None => "nothing".into(),
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
    if let Some(why) = url_problem(url) {
        return Err(AccessError::BadUrl { what, url: url.to_owned(), from: from.to_owned(), why, var, fix });
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// What keeps `url` from being an http(s) URL that goes into a shell word or an APT source
/// as it is, if anything.
fn url_problem(url: &str) -> Option<&'static str> {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else {
        return Some("not http:// or https://");
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Some("no host");
    }
    if url.chars().any(|c| c.is_whitespace() || c == '\'' || c == '"') {
        return Some("contains whitespace or quotes");
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::image::pve::keyring::tests::{refusing, serve};

    /// The settings from `vars`, the state directory in `dir` and, unless `vars` say
    /// otherwise, the key fetched from a loopback port that refuses: tests send nothing
    /// beyond this host.
    fn cfg(vars: &[(&str, &str)], dir: &Path) -> Result<AccessConfig, AccessError> {
        let mut map: HashMap<String, String> = HashMap::from([
            ("HADRILL_STATE_DIR".to_owned(), dir.display().to_string()),
            ("HADRILL_PVE_KEY_URL".to_owned(), refusing()),
        ]);
        map.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        AccessConfig::load(&dir.join("pve.yaml"), |k| map.get(k).cloned())
    }

    /// No settings: the public repository, with its key fetched. When the key cannot be
    /// fetched, the message says what was tried and how to point hadrill at a mirror.
    #[test]
    fn unreachable_repository_says_what_was_tried_and_how_to_use_a_mirror() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = cfg(&[], dir.path()).unwrap();
        assert_eq!(cfg.key_cache, dir.path().join("keys"));
        let url = cfg.key_url.as_ref().unwrap().value.clone();
        let err = check_access(&cfg, |_| None).unwrap_err();
        let AccessError::KeyUnreachable(unreachable) = &err else { panic!("{err}") };
        // curl's exit code 7: it could not connect. Its wording differs between versions.
        let reason = unreachable.source.to_string();
        assert!(reason.contains("(7)") && reason.contains("127.0.0.1"), "{reason}");
        let port = url.trim_start_matches("http://127.0.0.1:").split('/').next().unwrap().to_owned();
        let msg = err
            .to_string()
            .replace(&reason, "<curl's reason>")
            .replace(&dir.path().display().to_string(), "DIR")
            .replace(&format!("127.0.0.1:{port}"), "127.0.0.1:PORT");
        insta::assert_snapshot!(msg);
        assert!(!dir.path().join("keys").exists(), "nothing kept");
    }

    #[test]
    fn a_fetched_key_with_another_digest_is_refused_and_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let url = serve(b"not the Proxmox key");
        let c = cfg(&[("HADRILL_PVE_KEY_URL", &url)], dir.path()).unwrap();
        let err = check_access(&c, |_| None).unwrap_err();
        assert!(matches!(err, AccessError::FetchedKeyMismatch { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(&url) && msg.contains("sha512sum") && msg.contains("HADRILL_PVE_KEYRING"), "{msg}");
        assert!(msg.contains(&DigestKind::Sha512.hex(b"not the Proxmox key")), "{msg}");
        assert!(!dir.path().join("keys").exists(), "nothing kept");
    }

    /// Each setting overrides its part of the default; a given key needs no network.
    #[test]
    fn settings_override_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.gpg");
        std::fs::write(&key, b"not the key").unwrap();
        // A given key is checked, not fetched (the key URL refuses).
        let c = cfg(&[("HADRILL_PVE_KEYRING", key.to_str().unwrap())], dir.path()).unwrap();
        assert!(c.mirror.is_none());
        assert!(matches!(check_access(&c, |_| None), Err(AccessError::KeyringMismatch { .. })));
        let c = cfg(&[("HADRILL_PVE_KEY_URL", "file:///etc/passwd")], dir.path()).unwrap();
        let err = check_access(&c, |_| None).unwrap_err();
        assert!(matches!(err, AccessError::BadKeyUrl { .. }), "{err}");
        assert!(err.to_string().contains("HADRILL_PVE_KEY_URL"), "{err}");
        // The recipe file's `key_url:`, the environment winning.
        std::fs::write(dir.path().join("pve.yaml"), "key_url: http://127.0.0.1:9/from-file.gpg\n").unwrap();
        let map = HashMap::from([("HADRILL_STATE_DIR", dir.path().display().to_string())]);
        let c = AccessConfig::load(&dir.path().join("pve.yaml"), |k| map.get(k).cloned()).unwrap();
        assert_eq!(c.key_url.as_ref().map(|u| u.value.as_str()), Some("http://127.0.0.1:9/from-file.gpg"));
        assert!(c.key_url.unwrap().from.contains("`key_url:` in"));
        let c = cfg(&[], dir.path()).unwrap();
        assert_eq!(c.key_url.unwrap().from, "HADRILL_PVE_KEY_URL");
        // Without either, the install guide's location.
        assert_eq!(Release::Pve8.key_url(), "https://enterprise.proxmox.com/debian/proxmox-release-bookworm.gpg");
        assert_eq!(Release::Pve9.key_url(), "https://enterprise.proxmox.com/debian/proxmox-archive-keyring-trixie.gpg");
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
        // A mirror without a key: the key is fetched as by default, and the message names the
        // mirror it would have signed.
        let c = cfg(&[("HADRILL_PVE_MIRROR", "http://mirror.lab/debian/")], dir.path()).unwrap();
        let err = check_access(&c, |_| None).unwrap_err();
        assert!(matches!(err, AccessError::KeyUnreachable(_)), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("HADRILL_PVE_KEYRING"), "{msg}");
        assert!(
            msg.contains("the mirror http://mirror.lab/debian/pve (from HADRILL_PVE_MIRROR; suite bookworm"),
            "{msg}"
        );

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
        assert!(check_ceph(&cfg(&[], dir.path()).unwrap()).is_ok(), "the default: the official repository");
    }

    #[test]
    fn the_repository_recipe_loads() {
        let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join(RECIPE);
        let c = AccessConfig::load(&recipe, |_| None).expect("images/pve/pve.yaml is valid");
        assert_eq!(c.release, Release::Pve8);
    }
}
