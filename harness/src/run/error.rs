//! Why `hadrill run` could not run or finish a scenario, typed to the end: each variant keeps
//! its cause as a `#[source]` (the lab's, SSH's, the image builder's, the driver's), says where
//! to look, and maps to one row of the exit-code table (`crate::exit`).

use std::path::PathBuf;

use super::driver::DriverError;
use crate::exit::Outcome;
use crate::image::ImageError;
use crate::image::pve::AccessError;
use crate::image::pve::iso::IsoImageError;
use crate::lab::{LabError, RunId};
use crate::node::SshError;
use crate::report::ReportError;
use crate::scenario::LoadError;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    /// A scenario file that does not load (each problem is its own diagnostic).
    #[error("{} is not a valid scenario", file.display())]
    #[diagnostic(code(hadrill::run::scenario))]
    Scenario {
        file: PathBuf,
        #[source]
        source: Box<LoadError>,
    },
    #[error("{} is written for the {written} stack, not {asked}", file.display())]
    #[diagnostic(code(hadrill::run::stack_mismatch), help("drop --stack, or run a scenario written for {asked}"))]
    StackMismatch { file: PathBuf, written: &'static str, asked: &'static str },
    #[error("{}: no `stack:` in the file", file.display())]
    #[diagnostic(
        code(hadrill::run::no_stack),
        help("add `stack: pacemaker` (or `pve`) to the file, or pass --stack pacemaker")
    )]
    NoStack { file: PathBuf },
    #[error("{}: a scenario for `hadrill run` needs a `cluster:`", file.display())]
    #[diagnostic(
        code(hadrill::run::no_cluster),
        help("add `cluster: {{ nodes: 3, storage: nfs }}`; see `hadrill schema`")
    )]
    NoCluster { file: PathBuf },
    #[error("{}: the drawn chaos schedule cannot be written: {source}", file.display())]
    #[diagnostic(code(hadrill::run::schedule))]
    Schedule {
        file: PathBuf,
        #[source]
        source: crate::scenario::chaos::RenderError,
    },
    #[error("{}: --sabotage breaks a Pacemaker set-up; it has no Proxmox VE form yet", file.display())]
    #[diagnostic(code(hadrill::run::sabotage_stack))]
    SabotageNeedsPacemaker { file: PathBuf },
    /// The Proxmox VE nodes cannot be installed from what this host was given.
    #[error("{}: the Proxmox VE nodes cannot be installed from what this host was given. No lab was made.", file.display())]
    #[diagnostic(code(hadrill::run::pve_access))]
    PveAccess {
        file: PathBuf,
        #[source]
        source: Box<AccessError>,
    },
    /// An ISO is configured, but the Debian route's image was asked for.
    #[error(
        "an ISO is configured ({iso}), so Proxmox VE nodes come from the ISO route's image (`hadrill image build {image}`), not from images/{recipe}"
    )]
    #[diagnostic(
        code(hadrill::run::pve_route),
        help("for the Debian route, unset the ISO and give HADRILL_PVE_MIRROR and HADRILL_PVE_KEYRING")
    )]
    IsoConfigured { iso: String, image: &'static str, recipe: &'static str },
    /// A Proxmox VE recipe on another Debian release than the access settings ask for.
    #[error(
        "recipe {recipe} is Debian {suite}, but the access settings ask for Proxmox VE {release} (HADRILL_PVE_RELEASE or `release:` in {settings})\n  hint: {hint}"
    )]
    #[diagnostic(code(hadrill::run::release_mismatch))]
    ReleaseMismatch { recipe: String, suite: String, release: &'static str, settings: &'static str, hint: String },
    /// A recipe that installs from the Proxmox repository, without access to it.
    #[error("recipe {recipe} needs the Proxmox repository")]
    #[diagnostic(code(hadrill::run::needs_repository))]
    NeedsRepository {
        recipe: String,
        #[source]
        source: Box<RunError>,
    },
    /// The Proxmox VE ISO image was asked for, and no ISO is configured.
    #[error(
        "image {image} is installed from the Proxmox VE ISO, and none is configured: set HADRILL_PVE_ISO=/path/to/proxmox-ve_8.x.iso (or `iso:` in {settings})"
    )]
    #[diagnostic(code(hadrill::run::no_iso))]
    NoIso { image: &'static str, settings: &'static str },
    /// Where the run directories go cannot take them.
    #[error("the run directory {} cannot be written", path.display())]
    #[diagnostic(code(hadrill::run::run_dir), help("pass --out DIR with a writable directory"))]
    RunDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// libvirt does not answer.
    #[error("libvirt at {uri} does not answer")]
    #[diagnostic(
        code(hadrill::run::libvirt),
        help(
            "start libvirtd and virtlogd (`sh ci/host-setup.sh` does), or point --connect / HADRILL_LIBVIRT_URI at one that runs"
        )
    )]
    Libvirt {
        uri: String,
        #[source]
        source: LabError,
    },
    #[error("cannot start the async runtime: {0}")]
    #[diagnostic(code(hadrill::run::runtime))]
    Runtime(#[source] std::io::Error),
    #[error("{} not found: the HA service's binary", path.display())]
    #[diagnostic(
        code(hadrill::run::no_workload),
        help(
            "build it with `cargo build --release -p hadrill-workload` (it goes beside hadrill), or set HADRILL_WORKLOAD_BIN"
        )
    )]
    NoWorkload { path: PathBuf },
    /// An image recipe that does not load: bad input.
    #[error("image recipe {name}")]
    #[diagnostic(code(hadrill::run::recipe))]
    Recipe {
        name: String,
        #[source]
        source: ImageError,
    },
    #[error("building image {name}")]
    #[diagnostic(code(hadrill::run::image))]
    Image {
        name: String,
        #[source]
        source: ImageError,
    },
    #[error("building the Proxmox VE image from the ISO")]
    #[diagnostic(code(hadrill::run::iso_image))]
    IsoImage(#[source] IsoImageError),
    #[error("bringing the lab up")]
    #[diagnostic(
        code(hadrill::run::lab),
        help("`sh ci/host-setup.sh` starts libvirtd; `hadrill gc` removes what a killed run left")
    )]
    Lab(#[source] LabError),
    #[error("SSH did not come up on the lab's VMs")]
    #[diagnostic(code(hadrill::run::ssh), help("the VMs' console logs are in {}", consoles.display()))]
    Ssh {
        consoles: PathBuf,
        #[source]
        source: SshError,
    },
    #[error("starting the run on the lab")]
    #[diagnostic(code(hadrill::run::driver))]
    Driver(#[source] DriverError),
    #[error("writing the run directory")]
    #[diagnostic(code(hadrill::run::reports))]
    Reports(#[source] ReportError),
    #[error("cannot write {}", path.display())]
    #[diagnostic(code(hadrill::run::junit))]
    Junit {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("teardown of run {run} incomplete")]
    #[diagnostic(code(hadrill::run::teardown), help("`hadrill gc` removes the rest"))]
    Teardown {
        run: RunId,
        #[source]
        source: LabError,
    },
    #[error("keeping run {run}")]
    #[diagnostic(code(hadrill::run::keep))]
    Keep {
        run: RunId,
        #[source]
        source: LabError,
    },
    #[error("interrupted")]
    #[diagnostic(code(hadrill::run::interrupted))]
    Interrupted,
}

impl RunError {
    /// The row of the exit-code table this error ends a run with.
    pub fn outcome(&self) -> Outcome {
        use RunError as E;
        match self {
            E::Scenario { .. }
            | E::StackMismatch { .. }
            | E::NoStack { .. }
            | E::NoCluster { .. }
            | E::Schedule { .. }
            | E::SabotageNeedsPacemaker { .. }
            | E::Recipe { .. } => Outcome::InvalidInput,
            E::PveAccess { source, .. } if source.is_bad_value() => Outcome::InvalidInput,
            E::NeedsRepository { source, .. } => source.outcome(),
            E::Interrupted
            | E::Lab(LabError::Interrupted)
            | E::Image { source: ImageError::Interrupted, .. }
            | E::IsoImage(IsoImageError::Interrupted)
            | E::Driver(DriverError::Interrupted) => Outcome::Interrupted,
            _ => Outcome::InfraError,
        }
    }
}
