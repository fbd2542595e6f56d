//! One room per HA stack: what a stack does on a lab of real VMs, behind [`StackSide`], and
//! the registry that picks one for a scenario's `stack:`. The lab driver (`run::LabDriver`)
//! owns everything that is the same for every stack (the run's clock, cancellation, the
//! hypervisor's events, the fault book, faults and actions, the lab's artefacts, teardown); a
//! stack's side owns its set-up, readiness, live observation, collection and artefacts, and
//! its names for faults.
//!
//! Adding a stack: its readers under `stack/<name>/`, its side here (`stacks/<name>.rs`), and
//! one arm in [`side`].

mod pacemaker;
mod pve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::runtime::Handle;

pub use self::pacemaker::{PacemakerSide, WORKLOAD_BIN};
pub use self::pve::{PVE_MIN_MEMORY_MIB, PveSide, TEMPLATE, template_script};
use super::clock::RunClock;
use super::driver::{DriverError, Unready};
use super::lab_common::{FaultBook, Sessions, lock, on_every};
use crate::check::Watched;
use crate::fault::StackFaults;
use crate::lab::Lab;
use crate::scenario::{Plan, StackKind};
use crate::stack::pacemaker::Sabotage;
use crate::timeline::Event;

/// What a stack's side may use of the lab; the driver owns it.
pub struct LabContext<'a> {
    pub lab: &'a Lab,
    pub rt: Handle,
    pub sessions: Arc<Sessions>,
    pub cancel: Arc<AtomicBool>,
    pub clock: Arc<RunClock>,
    /// The cluster's nodes, and the storage VM if the lab has one.
    pub nodes: Vec<String>,
    pub storage: Option<String>,
    pub faults: Arc<Mutex<FaultBook>>,
}

impl LabContext<'_> {
    pub fn t0(&self) -> SystemTime {
        self.clock.t0()
    }

    /// `Err(Interrupted)` once Ctrl-C or SIGTERM arrived.
    pub fn cancelled(&self) -> Result<(), DriverError> {
        if self.cancel.load(Ordering::Relaxed) { Err(DriverError::Interrupted) } else { Ok(()) }
    }

    /// Runs `cmd` on every one of `nodes` at once; the first failure wins.
    pub fn on_every(&self, nodes: &[String], what: &str, cmd: &str, timeout: Duration) -> Result<(), DriverError> {
        on_every(&self.rt, &self.sessions, &self.cancel, nodes, what, cmd, timeout)
    }

    /// The nodes a fault cut off (not asked about the cluster until healed).
    pub fn avoid(&self) -> std::collections::BTreeSet<String> {
        lock(&self.faults).avoid.clone()
    }
}

/// A stack's part of a run on a lab of real VMs.
pub trait StackSide: Send {
    /// What this stack's runs watch beyond the stack's own word.
    fn watched(&self) -> Watched;
    /// The stack's names for faults that name its daemons.
    fn fault_names(&self) -> &'static StackFaults;
    /// How long a fault waits for the steady state before giving up.
    fn ready_before_fault(&self) -> Duration;
    /// Starts the live observation (on `ctx.rt`): t = 0 has just been taken.
    fn start(&mut self, ctx: &LabContext) -> Result<(), DriverError>;
    /// Installs and bootstraps the stack for `plan`; `progress` hears each step.
    fn setup(&mut self, ctx: &LabContext, plan: &Plan, progress: &mut dyn FnMut(&str)) -> Result<(), DriverError>;
    /// Waits until the cluster is in the steady state a fault needs, for at most `within`.
    fn wait_ready(
        &mut self,
        ctx: &LabContext,
        within: Duration,
        progress: &mut dyn FnMut(&str, Duration),
    ) -> Result<(), Unready>;
    /// What is done once the cluster is ready and before the steps (a set-up broken on
    /// purpose).
    fn after_ready(&mut self, _ctx: &LabContext, _plan: &Plan) -> Result<(), DriverError> {
        Ok(())
    }
    /// The stack's events since the last call, on the run's clock.
    fn observe(&mut self, ctx: &LabContext) -> Result<Vec<Event>, DriverError>;
    /// A node the stack last heard from, to ask first.
    fn preferred_node(&self) -> Option<String> {
        None
    }
    /// Ends the live observation; what only the end of the run gives (held-back events, the
    /// workload's record). The journals come after, through [`read_journal`](Self::read_journal).
    fn stop(&mut self, ctx: &LabContext) -> Vec<Event>;
    /// The command that exports a node's journal since `since_unix` (its clock), as JSON.
    fn journal_export(&self, since_unix: i64) -> String;
    /// A node's exported journal (times already on the host's clock) as events; `None` when
    /// this stack read its journals live.
    fn read_journal(&self, ctx: &LabContext, node: &str, export: &[u8]) -> Option<Result<Vec<Event>, String>>;
    /// The stack's part of the artefact bundle in `dir`; what could not be had goes to
    /// `problems`.
    fn write_artefacts(&mut self, ctx: &LabContext, dir: &Path, problems: &mut Vec<String>) -> std::io::Result<()>;
    /// What went wrong on the way that the bundle should say.
    fn take_problems(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// Stops every task (bounded). Idempotent.
    fn close(&mut self, ctx: &LabContext);
}

/// What a stack's side needs from the user and the host.
#[derive(Clone, Debug, Default)]
pub struct StackConfig {
    /// A set-up broken on purpose (Pacemaker).
    pub sabotage: Option<Sabotage>,
    /// The HA workload's binary, copied into the VMs (Pacemaker).
    pub workload: PathBuf,
    /// APT's proxy for the stack's repository, when one is configured (Proxmox VE).
    pub apt_proxy: Option<String>,
    /// The longest the run can take, for remote loops' own limits.
    pub run_limit: Duration,
}

/// The registry: the side of `kind`.
pub fn side(kind: StackKind, config: &StackConfig) -> Box<dyn StackSide> {
    match kind {
        StackKind::Pacemaker => Box::new(PacemakerSide::new(config)),
        StackKind::Pve => Box::new(PveSide::new(config)),
    }
}

/// How long a fresh lab of `kind` may take to answer SSH (before TCG scaling).
pub fn ssh_within(kind: StackKind) -> Duration {
    match kind {
        StackKind::Pacemaker => Duration::from_secs(75),
        // A Proxmox VE node starts a dozen Perl daemons before sshd is of use to anyone.
        StackKind::Pve => Duration::from_secs(150),
    }
}

/// How long a freshly set-up cluster of `kind` may take to become ready.
pub fn ready_within(kind: StackKind) -> Duration {
    match kind {
        // Measured: the service ran 8-60 s after the stack was configured; a cluster that is
        // not ready after 10 min will not be.
        StackKind::Pacemaker => Duration::from_secs(600),
        // The HA manager takes a while to elect a master and start the guests (10 s rounds).
        StackKind::Pve => Duration::from_secs(900),
    }
}

/// Random bytes for keys and passwords.
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, DriverError> {
    use super::driver::Context;
    let mut key = vec![0u8; n];
    let mut f = std::fs::File::open("/dev/urandom").map_err(|e| e.context("/dev/urandom"))?;
    std::io::Read::read_exact(&mut f, &mut key).map_err(|e| e.context("/dev/urandom"))?;
    Ok(key)
}

/// Journal exports keyed by node.
pub type Journals = BTreeMap<String, Vec<u8>>;
