//! What can go wrong while making the Proxmox VE node image from the ISO: each error says
//! which step failed and where to look (the assistant's output, the domain's console log).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum IsoImageError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Image(#[from] crate::image::ImageError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lab(#[from] crate::lab::LabError),
    #[error("preparing the ISO {iso} for unattended installation: {cause}")]
    #[diagnostic(
        code(hadrill::pve_iso::assistant),
        help(
            "proxmox-auto-install-assistant needs xorriso; or prepare the ISO yourself and set HADRILL_PVE_ISO_PREPARED=1"
        )
    )]
    Assistant { iso: PathBuf, cause: crate::image::ImageError },
    #[error("the assistant exited successfully but wrote no {output}")]
    #[diagnostic(code(hadrill::pve_iso::no_output))]
    NoPreparedIso { output: PathBuf },
    #[error("the Proxmox VE installer failed: {line}\n  its console log (kept): {console}")]
    #[diagnostic(
        code(hadrill::pve_iso::installer_failed),
        help("the answer file is on the answer disk; `proxmox-auto-install-assistant validate-answer` checks one")
    )]
    InstallerFailed { line: String, console: PathBuf },
    #[error(
        "the installer's domain ended without a bootable disk ({bytes} bytes written to it); the \
         installer did not install\n  its console log (kept): {console}"
    )]
    #[diagnostic(code(hadrill::pve_iso::no_disk))]
    InstallerNoDisk { bytes: u64, console: PathBuf },
    #[error("the installer did not finish within {secs} s\n  its console log (kept): {console}")]
    #[diagnostic(code(hadrill::pve_iso::installer_timeout))]
    InstallerTimeout { secs: u64, console: PathBuf },
    #[error("the installed system {what}\n  its console log (kept): {console}\n  the installer's: {installer_console}")]
    #[diagnostic(
        code(hadrill::pve_iso::first_boot),
        help("it boots from its disk with the installer's network configuration at 10.213.x.10")
    )]
    FirstBoot { what: String, console: PathBuf, installer_console: PathBuf },
    #[error("converting the installed system into the nodes' image: {what}")]
    #[diagnostic(code(hadrill::pve_iso::conversion))]
    Conversion {
        what: String,
        #[source]
        source: crate::node::SshError,
    },
    #[error("converting the installed system into the nodes' image: {message}")]
    #[diagnostic(code(hadrill::pve_iso::conversion_output))]
    ConversionOutput { message: String },
    #[error("interrupted")]
    #[diagnostic(code(hadrill::pve_iso::interrupted))]
    Interrupted,
}

impl IsoImageError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IsoImageError::Image(crate::image::ImageError::io(path, source))
    }
}
