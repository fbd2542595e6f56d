//! What the runner needs from a lab with an HA stack on it, as one trait: a clock, the
//! events observed so far, faults, and operator actions. The real driver is libvirt + SSH +
//! a stack adapter; tests use a scripted cluster.

use std::time::Duration;

use crate::check::Watched;
use crate::fault::FaultError;
use crate::lab::LabError;
use crate::node::SshError;
use crate::scenario::{Action, Fault};
use crate::timeline::{Event, Seconds};

/// A driver's failure, split the way verdicts are: the lab broke (every variant but
/// `ActionFailed`), or an operator action the scenario asked for did not succeed. Each infra
/// variant keeps its cause as a `#[source]`, for the diagnostic's chain.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DriverError {
    /// Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted,
    #[error("{what}: {source}")]
    #[diagnostic(
        code(hadrill::run::ssh),
        help("the console logs of the lab's VMs are in the run's artefacts/console/")
    )]
    Ssh {
        what: String,
        #[source]
        source: SshError,
    },
    #[error("{what}: {source}")]
    #[diagnostic(code(hadrill::run::lab))]
    Lab {
        what: String,
        #[source]
        source: LabError,
    },
    #[error("{what}: {source}")]
    #[diagnostic(code(hadrill::run::fault))]
    Fault {
        what: String,
        #[source]
        source: FaultError,
    },
    #[error("{what}: {source}")]
    #[diagnostic(code(hadrill::run::io))]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A task of the driver's panicked or was cancelled.
    #[error("{what}: {source}")]
    #[diagnostic(code(hadrill::run::task))]
    Task {
        what: String,
        #[source]
        source: tokio::task::JoinError,
    },
    /// A set-up command ran and failed.
    #[error("{what} on {node} exited with {status}: {stderr}")]
    #[diagnostic(code(hadrill::run::setup_command))]
    Remote { what: String, node: String, status: u32, stderr: String },
    /// The stack's own tools answered with what hadrill cannot use.
    #[error("{what}: {detail}")]
    #[diagnostic(code(hadrill::run::stack))]
    Stack { what: String, detail: String },
    /// The lab lacks what the stack needs.
    #[error("the lab has no {0}")]
    #[diagnostic(code(hadrill::run::lab_shape))]
    Missing(&'static str),
    /// The cluster was not in the steady state a step needs.
    #[error("the cluster was not ready for {step}: {why}")]
    #[diagnostic(code(hadrill::run::not_ready))]
    NotReady { step: &'static str, why: Unready },
    /// A watcher the run depends on stopped early.
    #[error("{0} stopped")]
    #[diagnostic(code(hadrill::run::stopped))]
    Stopped(&'static str),
    /// The command ran and failed.
    #[error("`{command}` on {node} exited with {code}: {stderr}")]
    ActionFailed { command: String, node: String, code: i32, stderr: String },
}

impl DriverError {
    /// Whether the run was interrupted rather than broken.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, DriverError::Interrupted)
    }
}

/// Why a cluster is not (yet) in the steady state a step needs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unready {
    /// Ctrl-C or SIGTERM while waiting.
    #[error("interrupted")]
    Interrupted,
    /// What was still missing when the wait ended (`; `-separated).
    #[error("{0}")]
    Missing(String),
}

/// Errors a driver wraps with what it was doing.
pub trait Context {
    fn context(self, what: &str) -> DriverError;
}

impl Context for SshError {
    fn context(self, what: &str) -> DriverError {
        DriverError::Ssh { what: what.to_owned(), source: self }
    }
}

impl Context for LabError {
    fn context(self, what: &str) -> DriverError {
        DriverError::Lab { what: what.to_owned(), source: self }
    }
}

impl Context for FaultError {
    fn context(self, what: &str) -> DriverError {
        DriverError::Fault { what: what.to_owned(), source: self }
    }
}

impl Context for std::io::Error {
    fn context(self, what: &str) -> DriverError {
        DriverError::Io { what: what.to_owned(), source: self }
    }
}

impl Context for tokio::task::JoinError {
    fn context(self, what: &str) -> DriverError {
        DriverError::Task { what: what.to_owned(), source: self }
    }
}

impl Context for DriverError {
    fn context(self, _what: &str) -> DriverError {
        self
    }
}

/// What an action printed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActionOutput {
    pub node: String,
    pub stdout: String,
}

/// A lab with an HA stack on it, as the runner drives it.
pub trait Driver {
    /// Seconds since the run started, on the run's clock.
    fn now(&self) -> Seconds;
    /// Let time pass while the cluster does its work.
    fn pause(&mut self, d: Duration);
    /// Every event observed since the last call, on the run's clock.
    fn observe(&mut self) -> Result<Vec<Event>, DriverError>;
    /// The cluster's nodes.
    fn nodes(&self) -> Vec<String>;
    /// Inject (or, with `heal`, undo) a fault on one node; the instant it took effect.
    fn fault(&mut self, fault: &Fault, node: &str, heal: bool) -> Result<Seconds, DriverError>;
    /// Run an operator action on a node (`None`: any node that is up).
    fn act(&mut self, action: &Action, node: Option<&str>, timeout: Duration) -> Result<ActionOutput, DriverError>;
    /// What is only known once the run is over (exported journals, the workload's record),
    /// on the run's clock. Called once, after the last step; it does not decide anything
    /// live, it makes the final evaluation more exact.
    fn collect(&mut self) -> Vec<Event> {
        Vec::new()
    }
    /// What this driver watches beyond the stack's own word (the hypervisor, the storage
    /// server's record), so that checks know what they may stand on.
    fn watched(&self) -> Watched {
        Watched::default()
    }
}

/// The shell command an action runs.
pub fn action_command(action: &Action) -> String {
    match action {
        Action::HaManager(args) => format!("ha-manager {args}"),
        Action::PvecmExpected(n) => format!("pvecm expected {n}"),
        Action::CrmResource(args) => format!("crm_resource {args}"),
        Action::Run(cmd) => cmd.clone(),
    }
}
