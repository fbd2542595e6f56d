//! What the runner needs from a lab with an HA stack on it, as one trait: a clock, the
//! events observed so far, faults, and operator actions. The real driver is libvirt + SSH +
//! a stack adapter; tests use a scripted cluster.

use std::time::Duration;

use crate::check::Watched;
use crate::scenario::{Action, Fault};
use crate::timeline::{Event, Seconds};

/// A driver's failure, split the way verdicts are: the lab broke, or an operator action
/// the scenario asked for did not succeed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DriverError {
    /// The lab or the harness broke: nothing can be said about the HA stack.
    #[error("{0}")]
    Infra(String),
    /// The command ran and failed.
    #[error("`{command}` on {node} exited with {code}: {stderr}")]
    ActionFailed { command: String, node: String, code: i32, stderr: String },
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
