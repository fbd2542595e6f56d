//! Doing a fault: hypervisor faults through the lab, guest faults through SSH.

use std::time::{Duration, SystemTime};

use super::{FaultAction, FaultRecord, FaultSpec};
use crate::lab::{Lab, LabError, NetRole};
use crate::node::{NodeSession, SshError};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FaultError {
    #[error("{fault} on {node}: {source}")]
    #[diagnostic(code(hadrill::fault::lab))]
    Lab {
        fault: &'static str,
        node: String,
        #[source]
        source: LabError,
    },
    #[error("{fault} on {node}: {source}")]
    #[diagnostic(code(hadrill::fault::ssh))]
    Ssh {
        fault: &'static str,
        node: String,
        #[source]
        source: SshError,
    },
    #[error("{fault} needs {needs}")]
    #[diagnostic(code(hadrill::fault::wrong_path))]
    WrongPath { fault: &'static str, needs: &'static str },
    #[error("`{value}` is not a safe {what}")]
    #[diagnostic(code(hadrill::fault::argument))]
    Argument { what: &'static str, value: String },
}

/// Injects or heals a hypervisor fault. Blocking (libvirt).
pub fn apply_hypervisor(lab: &Lab, spec: &FaultSpec, action: FaultAction) -> Result<FaultRecord, FaultError> {
    let inject = action == FaultAction::Inject;
    let node = spec.node();
    let issued = SystemTime::now();
    let (r, detail) = match spec {
        FaultSpec::PowerPull { .. } => (
            if inject { lab.power_off(node) } else { lab.power_on(node) },
            if inject { "destroy" } else { "start" }.to_owned(),
        ),
        FaultSpec::LinkDown { net, .. } => {
            (lab.set_link(node, *net, !inject), format!("link {net} {}", if inject { "down" } else { "up" }))
        }
        FaultSpec::StorageBreak { .. } => (
            lab.set_link(node, NetRole::Storage, !inject),
            format!("link storage {}", if inject { "down" } else { "up" }),
        ),
        FaultSpec::Pause { .. } => (lab.set_paused(node, inject), if inject { "suspend" } else { "resume" }.to_owned()),
        _ => {
            return Err(FaultError::WrongPath {
                fault: spec.name(),
                needs: "a node session (it runs inside the guest)",
            });
        }
    };
    r.map_err(|source| FaultError::Lab { fault: spec.name(), node: node.to_owned(), source })?;
    Ok(FaultRecord { spec: spec.clone(), action, issued, at: SystemTime::now(), detail })
}

fn safe_word(what: &'static str, s: &str) -> Result<(), FaultError> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@:/".contains(&b));
    if ok { Ok(()) } else { Err(FaultError::Argument { what, value: s.to_owned() }) }
}

/// The command a guest fault runs, for inject or heal (`None`: nothing to undo).
fn guest_command(spec: &FaultSpec, action: FaultAction) -> Result<Option<String>, FaultError> {
    let inject = action == FaultAction::Inject;
    Ok(match spec {
        FaultSpec::KillProcess { process, signal, unit, .. } => {
            safe_word("process name", process)?;
            safe_word("signal", signal)?;
            if inject {
                Some(format!("pkill -{signal} -x {process}"))
            } else if let Some(u) = unit {
                safe_word("unit", u)?;
                Some(format!("systemctl start {u}"))
            } else {
                None
            }
        }
        FaultSpec::StopService { unit, .. } => {
            safe_word("unit", unit)?;
            Some(format!("systemctl {} {unit}", if inject { "stop" } else { "start" }))
        }
        FaultSpec::FreezeIo { path, .. } => {
            safe_word("path", path)?;
            Some(format!("fsfreeze --{} {path}", if inject { "freeze" } else { "unfreeze" }))
        }
        FaultSpec::FreezeWatchdogFeeder { process, .. } => {
            safe_word("process name", process)?;
            Some(format!("pkill -{} -x {process}", if inject { "STOP" } else { "CONT" }))
        }
        // Scheduled a second ahead so that the command returns before the session drops.
        FaultSpec::Reboot { .. } if inject => Some("systemd-run --on-active=1 systemctl reboot".into()),
        FaultSpec::Reboot { .. } => None,
        _ => return Err(FaultError::WrongPath { fault: spec.name(), needs: "the lab (it is done by the hypervisor)" }),
    })
}

/// Injects or heals a guest fault over the node's session.
pub async fn apply_guest(
    session: &NodeSession,
    spec: &FaultSpec,
    action: FaultAction,
    timeout: Duration,
) -> Result<FaultRecord, FaultError> {
    let issued = SystemTime::now();
    let Some(cmd) = guest_command(spec, action)? else {
        return Ok(FaultRecord { spec: spec.clone(), action, issued, at: issued, detail: "nothing to undo".into() });
    };
    session.run(&cmd, timeout).await.map_err(|source| FaultError::Ssh {
        fault: spec.name(),
        node: spec.node().to_owned(),
        source,
    })?;
    Ok(FaultRecord { spec: spec.clone(), action, issued, at: SystemTime::now(), detail: cmd })
}

/// Injects or heals any fault: hypervisor faults on a blocking thread, guest faults over
/// `session` (required for them).
pub async fn apply(
    lab: &Lab,
    session: Option<&NodeSession>,
    spec: &FaultSpec,
    action: FaultAction,
    timeout: Duration,
) -> Result<FaultRecord, FaultError> {
    if spec.is_hypervisor() {
        // libvirt calls are blocking FFI; keep them off the async workers.
        tokio::task::block_in_place(|| apply_hypervisor(lab, spec, action))
    } else {
        let s = session.ok_or(FaultError::WrongPath { fault: spec.name(), needs: "a node session" })?;
        apply_guest(s, spec, action, timeout).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_commands_are_built_and_checked() {
        let kill = FaultSpec::KillProcess {
            node: "n".into(),
            process: "pacemakerd".into(),
            signal: "KILL".into(),
            unit: Some("pacemaker".into()),
        };
        assert_eq!(guest_command(&kill, FaultAction::Inject).unwrap().as_deref(), Some("pkill -KILL -x pacemakerd"));
        assert_eq!(guest_command(&kill, FaultAction::Heal).unwrap().as_deref(), Some("systemctl start pacemaker"));
        let feeder = FaultSpec::FreezeWatchdogFeeder { node: "n".into(), process: "sbd".into() };
        assert_eq!(guest_command(&feeder, FaultAction::Heal).unwrap().as_deref(), Some("pkill -CONT -x sbd"));
        let evil = FaultSpec::StopService { node: "n".into(), unit: "x; reboot".into() };
        assert!(matches!(guest_command(&evil, FaultAction::Inject), Err(FaultError::Argument { .. })));
        assert!(matches!(
            guest_command(&FaultSpec::PowerPull { node: "n".into() }, FaultAction::Inject),
            Err(FaultError::WrongPath { .. })
        ));
        let no_unit =
            FaultSpec::KillProcess { node: "n".into(), process: "x".into(), signal: "TERM".into(), unit: None };
        assert_eq!(guest_command(&no_unit, FaultAction::Heal).unwrap(), None);
    }
}
