//! Doing a fault through a [`FaultTarget`]: the hypervisor's operations (power, link, pause)
//! and a command in the node's shell. The lab of VMs is one target; a BMC or a storage
//! back-end can be another without the runner knowing.

use std::time::{Duration, SystemTime};

use super::spec::{FaultAction, FaultRecord, FaultSpec, How};
use crate::lab::{Lab, LabError, NetRole};
use crate::node::{NodeSession, SshError};

/// Why a target could not do what it was asked.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TargetError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lab(#[from] LabError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Ssh(#[from] SshError),
    /// This target cannot do that (e.g. a guest command where no session is at hand).
    #[error("this target cannot {0}")]
    #[diagnostic(code(hadrill::fault::unsupported))]
    Unsupported(&'static str),
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{fault} on {node}: {source}")]
#[diagnostic(code(hadrill::fault::failed))]
pub struct FaultError {
    pub fault: String,
    pub node: String,
    #[source]
    pub source: Box<TargetError>,
}

/// What faults are done to. Blocking: the runner calls it from its own thread.
pub trait FaultTarget {
    /// Power `node` on or off (off: pulled, not shut down).
    fn power(&self, node: &str, on: bool) -> Result<(), TargetError>;
    /// Set the link of `node`'s NIC on `net` up or down.
    fn link(&self, node: &str, net: NetRole, up: bool) -> Result<(), TargetError>;
    /// Freeze or thaw the whole of `node`.
    fn pause(&self, node: &str, paused: bool) -> Result<(), TargetError>;
    /// Run `cmd` in `node`'s shell.
    fn guest(&self, node: &str, cmd: &str, timeout: Duration) -> Result<(), TargetError>;
}

/// The lab's hypervisor; guest commands need a session (see [`SessionTarget`]).
impl FaultTarget for Lab {
    fn power(&self, node: &str, on: bool) -> Result<(), TargetError> {
        Ok(if on { self.power_on(node) } else { self.power_off(node) }?)
    }
    fn link(&self, node: &str, net: NetRole, up: bool) -> Result<(), TargetError> {
        Ok(self.set_link(node, net, up)?)
    }
    fn pause(&self, node: &str, paused: bool) -> Result<(), TargetError> {
        Ok(self.set_paused(node, paused)?)
    }
    fn guest(&self, _node: &str, _cmd: &str, _timeout: Duration) -> Result<(), TargetError> {
        Err(TargetError::Unsupported("run a command in the guest without a session"))
    }
}

/// A lab's hypervisor plus one node's session, for guest faults.
pub struct SessionTarget<'a> {
    pub lab: &'a Lab,
    pub session: &'a NodeSession,
    pub rt: &'a tokio::runtime::Handle,
}

impl FaultTarget for SessionTarget<'_> {
    fn power(&self, node: &str, on: bool) -> Result<(), TargetError> {
        self.lab.power(node, on)
    }
    fn link(&self, node: &str, net: NetRole, up: bool) -> Result<(), TargetError> {
        self.lab.link(node, net, up)
    }
    fn pause(&self, node: &str, paused: bool) -> Result<(), TargetError> {
        FaultTarget::pause(self.lab, node, paused)
    }
    fn guest(&self, _node: &str, cmd: &str, timeout: Duration) -> Result<(), TargetError> {
        self.rt.block_on(self.session.run(cmd, timeout)).map(|_| ()).map_err(TargetError::from)
    }
}

/// Injects or heals `spec` on `target`; the record says when it took effect and what was done.
pub fn apply(
    target: &dyn FaultTarget,
    spec: &FaultSpec,
    action: FaultAction,
    timeout: Duration,
) -> Result<FaultRecord, FaultError> {
    let inject = action == FaultAction::Inject;
    let node = spec.node();
    let issued = SystemTime::now();
    let fail = |source| FaultError { fault: spec.name.clone(), node: node.to_owned(), source: Box::new(source) };
    let detail = match &spec.how {
        How::Power => {
            target.power(node, !inject).map_err(fail)?;
            if inject { "destroy" } else { "start" }.to_owned()
        }
        How::Link { net } => {
            target.link(node, *net, !inject).map_err(fail)?;
            format!("link {net} {}", if inject { "down" } else { "up" })
        }
        How::Pause => {
            target.pause(node, inject).map_err(fail)?;
            if inject { "suspend" } else { "resume" }.to_owned()
        }
        How::Guest { inject: cmd, heal } => {
            let cmd = if inject { Some(cmd) } else { heal.as_ref() };
            match cmd {
                Some(cmd) => {
                    target.guest(node, cmd, timeout).map_err(fail)?;
                    cmd.clone()
                }
                None => "nothing to undo".into(),
            }
        }
    };
    Ok(FaultRecord { spec: spec.clone(), action, issued, at: SystemTime::now(), detail })
}
