//! Node images: recipes under `images/` and the builder that turns one into a cached qcow2
//! base plus the kernel and initrd for direct boot; Proxmox VE's two image routes and their
//! access settings (`pve`).

mod build;
mod cache;
mod error;
pub mod pve;
mod recipe;
mod run;
mod scratch;

pub use build::{BuildOptions, build, mmdebstrap_spec};
pub(crate) use build::{progress_style, set_mode};
pub use cache::{BuiltImage, ImageCache, WHOLE_DISK_ROOT};
pub use error::ImageError;
pub use recipe::{ExtraRepository, Recipe, default_recipes_dir};
pub use run::{CommandSpec, run_command};
pub use scratch::{PartialBuild, Scratch, partial_builds};
