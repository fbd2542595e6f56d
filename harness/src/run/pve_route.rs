//! How Proxmox VE nodes get their image, from the access settings (`images/pve-access.yaml`
//! and the `HADRILL_PVE_*` environment): the ISO route when an ISO is configured, else the
//! Debian route (the Proxmox repository and its key, checked). Said before anything is built.

use std::path::{Path, PathBuf};

use tracing::info;

use super::error::RunError;
use crate::image::pve::{self, AccessError};
use crate::image::{BuildOptions, ExtraRepository, Recipe};

/// What the Debian route needs from the access settings (checked: the key matches the
/// documented digest).
#[derive(Clone, Debug)]
pub struct PveRoute {
    pub release: pve::Release,
    repository: String,
    keyring: PathBuf,
    apt_proxy: Option<String>,
}

impl PveRoute {
    pub fn repository(&self) -> ExtraRepository {
        pve::image_repository(self.release, &self.repository, &self.keyring, self.apt_proxy.as_deref())
    }
}

/// What the ISO route needs from the access settings (checked: an ISO 9660 image, and the
/// assistant unless it was prepared already).
#[derive(Clone, Debug)]
pub struct PveIsoRoute {
    pub source: pve::iso::IsoSource,
    apt_proxy: Option<String>,
}

/// The route Proxmox VE nodes take.
#[derive(Clone, Debug)]
pub enum PveAccess {
    Debian(PveRoute),
    Iso(PveIsoRoute),
}

impl PveAccess {
    pub fn apt_proxy(&self) -> Option<&str> {
        match self {
            PveAccess::Debian(r) => r.apt_proxy.as_deref(),
            PveAccess::Iso(r) => r.apt_proxy.as_deref(),
        }
    }
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

/// An executable on PATH, as `which` finds it.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p: &PathBuf| p.is_file())
}

/// The Proxmox VE release the access settings ask for.
pub fn pve_release() -> Result<pve::Release, AccessError> {
    pve::AccessConfig::load(Path::new(pve::RECIPE), env).map(|c| c.release)
}

/// The access settings, with the key kept under `state_dir`.
fn settings(state_dir: &Path) -> Result<pve::AccessConfig, AccessError> {
    let mut cfg = pve::AccessConfig::load(Path::new(pve::RECIPE), env)?;
    cfg.key_cache = state_dir.join("keys");
    Ok(cfg)
}

/// The Debian route for a Proxmox VE scenario (`file`, for the log), or why it cannot be taken;
/// a fetched key is kept under `state_dir`.
pub fn pve_route(file: &Path, state_dir: &Path) -> Result<PveRoute, RunError> {
    let access = |source| RunError::PveAccess { file: file.to_owned(), source: Box::new(source) };
    let cfg = settings(state_dir).map_err(access)?;
    match pve::check_access(&cfg, on_path).map_err(access)? {
        pve::Install::Iso { .. } => Err(RunError::IsoConfigured {
            iso: cfg.iso.as_ref().map(|i| i.from.clone()).unwrap_or_else(|| "?".into()),
            image: pve::iso::ISO_IMAGE,
            recipe: cfg.release.image_recipe(),
        }),
        pve::Install::Debian { repository, keyring, apt_proxy } => {
            info!(scenario = %file.display(), repository, release = cfg.release.major(), "Proxmox VE by the Debian route");
            Ok(PveRoute { release: cfg.release, repository, keyring, apt_proxy })
        }
    }
}

/// The route for a Proxmox VE scenario (`file`, for the log): the ISO route when an ISO is
/// configured, else [`pve_route`]'s; or why neither is possible.
pub fn pve_access(file: &Path, state_dir: &Path) -> Result<PveAccess, RunError> {
    let access = |source| RunError::PveAccess { file: file.to_owned(), source: Box::new(source) };
    let cfg = settings(state_dir).map_err(access)?;
    if let pve::Install::Iso { iso, prepare, apt_proxy } = pve::check_access(&cfg, on_path).map_err(access)? {
        info!(scenario = %file.display(), iso = %iso.display(), "Proxmox VE by the ISO route");
        let source = pve::iso::IsoSource { release: cfg.release, iso, prepare };
        return Ok(PveAccess::Iso(PveIsoRoute { source, apt_proxy }));
    }
    pve_route(file, state_dir).map(PveAccess::Debian)
}

/// How to build `recipe`: the Proxmox repository, when it asks for it, comes from the access
/// settings, as for `hadrill run`; without them, what is missing.
pub fn image_build_options(recipe: &Recipe, force: bool, state_dir: &Path) -> Result<BuildOptions, RunError> {
    let mut opts = BuildOptions { force, ..BuildOptions::default() };
    if !recipe.file.repositories.iter().any(|r| r == pve::IMAGE_REPOSITORY) {
        return Ok(opts);
    }
    let name = recipe.name();
    // The repository's suite comes from the release in the access settings; a recipe on
    // another Debian release would mix the two. Said before what access is missing.
    let release =
        pve_release().map_err(|source| RunError::PveAccess { file: PathBuf::from(name), source: Box::new(source) })?;
    if release.suite() != recipe.file.suite {
        let hint = match pve::Release::of_suite(&recipe.file.suite) {
            Some(r) => format!(
                "build {} for Proxmox VE {}, or set HADRILL_PVE_RELEASE={} for this recipe",
                release.image_recipe(),
                release.major(),
                r.major()
            ),
            None => format!("build {} for Proxmox VE {}", release.image_recipe(), release.major()),
        };
        return Err(RunError::ReleaseMismatch {
            recipe: name.to_owned(),
            suite: recipe.file.suite.clone(),
            release: release.label(),
            settings: pve::RECIPE,
            hint,
        });
    }
    let route = pve_route(Path::new(name), state_dir)
        .map_err(|e| RunError::NeedsRepository { recipe: name.to_owned(), source: Box::new(e) })?;
    opts.repositories.push(route.repository());
    Ok(opts)
}
