//! The Proxmox VE node image by the ISO route, converged onto the Debian route's image shape
//! so that the lab, the driver and the observer are the same for both: the ISO prepared once
//! by `proxmox-auto-install-assistant` (answers from a `PROXMOX-AIS` disk, hadrill's
//! first-boot script inside), one unattended installation into a qcow2 in a domain of its own,
//! the installed system converted over SSH into what `images/pve-debian` makes (identity from
//! the kernel command line, nothing of the one installation that every node would share
//! wrongly), its `-pve` kernel copied out for direct boot, stored as a cached `BuiltImage`
//! whose root device is the installer's LVM volume. What the installer is handed (answer
//! file, first-boot script, the assistant's arguments) is `answer`.

mod answer;
mod build;
mod convert;
mod error;
mod prepare;

pub use answer::{ANSWER_LABEL, InstallAnswer, answer_file, iso_first_boot, prepare_iso_argv};
pub use build::{
    BuildFiles, INSTALLER_CMDLINE, ISO_IMAGE, IsoBuildOptions, build_iso_image, installed_domain, installer_domain,
    installer_failure,
};
pub use convert::{conversion_script, parse_report, write_file_command};
pub use error::IsoImageError;
pub use prepare::{BORROWED, IsoSource, PREPARED, answer_disk, borrowed_files, file_sha256, image_key, prepared_iso};
