//! Node images for the Proxmox VE stack, by either documented route, and the access settings
//! that decide between them:
//!
//! - **ISO** (`iso`): the Proxmox VE installer ISO, prepared once with
//!   `proxmox-auto-install-assistant prepare-iso --fetch-from partition --on-first-boot …`,
//!   installed once unattended from an answer file on a disk labelled `PROXMOX-AIS`, and
//!   converted into the Debian route's image shape.
//! - **Debian** (`debian`): Debian plus the Proxmox VE repository, installed as pve-docs'
//!   "Install Proxmox VE on Debian" describes, by the image recipes `images/pve-debian` and
//!   `images/pve9-debian` (or as one first-boot script).
//!
//! Which route is taken depends on the settings (`access::check_access`; `HADRILL_PVE_*` or
//! `images/pve/pve.yaml`): the ISO route when an ISO is given, else the Debian route with the
//! public repository and its key fetched from Proxmox (`keyring`), or with the mirror, key,
//! key URL and APT proxy given instead. A missing or wrong one is a typed error that says what
//! was tried and how to provide it. What a cluster is made of once the nodes boot is
//! `stack::pve`'s bootstrap plan.

pub mod access;
pub mod debian;
mod error;
pub mod iso;
pub mod keyring;

pub use access::{
    AccessConfig, DigestKind, Install, OFFICIAL_REPOSITORY, Prepare, Provided, RECIPE, RecipeFile, Release,
    check_access, check_ceph,
};
pub use debian::{
    IMAGE_REPOSITORY, ImagePlan, NodeIdentity, Watchdog, apt_proxy_conf, apt_sources, debian_install_script,
    image_repository,
};
pub use error::{AccessError, KeyUnreachable};
pub use iso::{ANSWER_LABEL, InstallAnswer, answer_file, iso_first_boot, prepare_iso_argv};
