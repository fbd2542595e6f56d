//! What the lab driver and the stacks' sides share: sessions to the VMs (kept, opened again
//! after a reset), uploads, commands on several nodes at once,
//! applying a fault through the hypervisor or a node's shell, hypervisor events on the run's
//! clock, the book of faults in effect, an operator's action on a node, and the lab's part of
//! the artefact bundle (console logs, domain XML).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use russh::ChannelMsg;
use tokio::runtime::Handle;

use super::driver::{ActionOutput, Context, DriverError, action_command};
use crate::fault::{FaultAction, FaultRecord, FaultSpec, SessionTarget, apply, entry};
use crate::lab::{DomainEvents, Lab, LabRecord};
use crate::node::{Fleet, NodeSession, Output, SessionPool, SshError};
use crate::scenario::{Action, Fault};
use crate::timeline::{Event, Seconds};

/// The faults in effect, and the nodes they cut off (never asked about the cluster or to run
/// an operator's action until healed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultBook {
    /// Faults injected and not healed, as (fault, node).
    pub active: BTreeSet<(String, String)>,
    pub avoid: BTreeSet<String>,
}

impl FaultBook {
    /// Notes that `fault` was injected on `node`, or healed there.
    pub fn note(&mut self, fault: &Fault, node: &str, heal: bool) {
        let key = (fault.name().to_owned(), node.to_owned());
        if heal {
            self.avoid.remove(node);
            self.active.remove(&key);
        } else {
            self.active.insert(key);
            if entry(fault).cuts_off {
                self.avoid.insert(node.to_owned());
            }
        }
    }

    /// The first of `nodes` no fault cut off, else the first.
    pub fn reachable(&self, nodes: &[String]) -> String {
        nodes.iter().find(|n| !self.avoid.contains(*n)).unwrap_or(&nodes[0]).clone()
    }
}

/// Drops `node`'s session when the fault made it useless (the catalogue says when: a power
/// cycle, a heal of a pause or a cut link); a fresh one is opened when the node is needed again.
pub(super) fn forget_after(rt: &Handle, sessions: &Arc<Sessions>, fault: &Fault, node: &str, heal: bool) {
    if entry(fault).drops_session(heal) {
        let sessions = sessions.clone();
        let node = node.to_owned();
        rt.block_on(async move { sessions.forget(&node).await });
    }
}

/// An operator's action on `node`: its output, or why it failed (an unreachable node is the
/// lab's failure, not the action's).
pub(super) fn run_action(
    rt: &Handle,
    sessions: &Sessions,
    action: &Action,
    node: String,
    timeout: Duration,
) -> Result<ActionOutput, DriverError> {
    let command = action_command(action);
    match rt.block_on(sessions.exec(&node, &command, timeout)) {
        Ok(o) if o.success() => Ok(ActionOutput { node, stdout: o.stdout }),
        Ok(o) => {
            Err(DriverError::ActionFailed { command, node, code: o.status as i32, stderr: o.stderr.trim().to_owned() })
        }
        Err(e) if e.is_unreachable() => Err(infra(&format!("`{command}` on {node}"), e)),
        Err(e) => Err(DriverError::ActionFailed { command, node, code: -1, stderr: e.to_string() }),
    }
}

/// Sessions to the lab's VMs: kept, and opened again when one died (a reset, a heal).
pub struct Sessions {
    pub pool: Arc<SessionPool>,
}

impl Sessions {
    pub fn from_fleet(record: &LabRecord, fleet: Fleet) -> Self {
        let addrs = record.vms.iter().filter_map(|v| Some((v.node.clone(), SocketAddr::from((v.address()?, 22)))));
        let pool = SessionPool::new(addrs.collect(), fleet.key, fleet.known, fleet.opts).keeping(fleet.sessions);
        Sessions { pool: Arc::new(pool) }
    }

    /// The live session to `node`, or a new one if it died, trying for at most `within`.
    pub async fn get(&self, node: &str, within: Duration) -> Result<Arc<NodeSession>, SshError> {
        self.pool.get_within(node, within).await
    }

    pub async fn exec(&self, node: &str, cmd: &str, timeout: Duration) -> Result<Output, SshError> {
        self.get(node, Duration::from_secs(20)).await?.exec(cmd, timeout).await
    }

    pub async fn run(&self, node: &str, cmd: &str, timeout: Duration) -> Result<String, SshError> {
        self.get(node, Duration::from_secs(20)).await?.run(cmd, timeout).await
    }

    pub async fn forget(&self, node: &str) {
        self.pool.drop_session(node).await
    }

    pub async fn close_all(&self) {
        self.pool.close_all().await
    }
}

/// Writes `bytes` to `path` on the VM (through a temporary name, so a cut transfer leaves no
/// half file in place).
pub(crate) async fn upload(
    session: &NodeSession,
    path: &str,
    mode: u32,
    bytes: &[u8],
    timeout: Duration,
) -> Result<(), SshError> {
    let tmp = format!("{path}.hadrill-tmp");
    let cmd = format!(
        "mkdir -p \"$(dirname '{path}')\" && cat > '{tmp}' && chmod {mode:o} '{tmp}' && mv -f '{tmp}' '{path}'"
    );
    let node = session.node().to_owned();
    let lost = |e: russh::Error| SshError::ConnectionLost { node: node.clone(), message: e.to_string() };
    let work = async {
        let mut ch = session.open_exec(&cmd, timeout).await?;
        ch.data(bytes).await.map_err(lost)?;
        ch.eof().await.map_err(lost)?;
        let (mut status, mut stderr) = (None, Vec::new());
        while let Some(msg) = ch.wait().await {
            match msg {
                ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                ChannelMsg::ExtendedData { data, .. } => stderr.extend_from_slice(&data),
                _ => {}
            }
        }
        match status {
            Some(0) => Ok(()),
            Some(status) => Err(SshError::CommandFailed {
                node: node.clone(),
                command: format!("write {path}"),
                status,
                stderr: String::from_utf8_lossy(&stderr).trim().to_owned(),
            }),
            None => Err(SshError::ConnectionLost { node: node.clone(), message: format!("writing {path}") }),
        }
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| SshError::Timeout {
        node: session.node().to_owned(),
        what: format!("writing {path}"),
        secs: timeout.as_secs_f64(),
    })?
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn since(t0: SystemTime, t: SystemTime) -> Seconds {
    let ms = match t.duration_since(t0) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    };
    Seconds::from_millis(ms)
}

pub(super) fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub(super) fn infra(what: &str, e: impl Context) -> DriverError {
    e.context(what)
}

/// Runs `cmd` on every one of `nodes` at once; the first failure wins; `cancel` stops the
/// wait (and the remote calls with it).
pub(super) fn on_every(
    rt: &Handle,
    sessions: &Arc<Sessions>,
    cancel: &Arc<AtomicBool>,
    nodes: &[String],
    what: &str,
    cmd: &str,
    timeout: Duration,
) -> Result<(), DriverError> {
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for n in nodes {
            let (s, n, cmd) = (sessions.clone(), n.clone(), cmd.to_owned());
            set.spawn(async move { s.run(&n, &cmd, timeout).await.map(|_| ()) });
        }
        let mut first = None;
        loop {
            tokio::select! {
                r = set.join_next() => match r {
                    None => break,
                    Some(Ok(Ok(()))) => {}
                    Some(Ok(Err(e))) => { first.get_or_insert(infra(what, e)); }
                    Some(Err(e)) => { first.get_or_insert(infra(what, e)); }
                },
                _ = tokio::time::sleep(Duration::from_millis(250)) => {
                    if cancel.load(Ordering::Relaxed) {
                        set.abort_all();
                        return Err(DriverError::Interrupted);
                    }
                }
            }
        }
        first.map_or(Ok(()), Err)
    })
}

/// Injects or heals `spec`: the hypervisor's faults on the lab, the guest's through the
/// node's session.
pub(super) fn apply_fault(
    lab: &Lab,
    rt: &Handle,
    sessions: &Arc<Sessions>,
    spec: &FaultSpec,
    heal: bool,
) -> Result<FaultRecord, DriverError> {
    let action = if heal { FaultAction::Heal } else { FaultAction::Inject };
    let timeout = Duration::from_secs(60);
    if spec.is_hypervisor() {
        return apply(lab, spec, action, timeout).map_err(|e| e.context("fault"));
    }
    let session = rt.block_on(sessions.get(spec.node(), Duration::from_secs(30))).map_err(|e| e.context("fault"))?;
    let target = SessionTarget { lab, session: &session, rt };
    apply(&target, spec, action, timeout).map_err(|e| e.context("fault"))
}

/// libvirt's events since the last call about the cluster's `nodes`, on the run's clock.
pub(super) fn hypervisor_events(lab: &Lab, hv: &mut DomainEvents, nodes: &[String], t0: SystemTime) -> Vec<Event> {
    let mut out = Vec::new();
    for e in hv.drain() {
        if let Some(node) = lab.node_of_domain(&e.domain)
            && nodes.iter().any(|n| n == node)
            && let Some(d) = e.to_event_data(node)
        {
            out.push(Event::new(since(t0, e.at), d).by("hypervisor"));
        }
    }
    out
}

/// Sleeps `d` in small steps, ending early once `cancel` is set.
pub(super) fn pause(cancel: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while !cancel.load(Ordering::Relaxed) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(200)));
    }
}

/// The lab's part of the artefact bundle in `dir`: `console/<vm>.log` and `domain/<vm>.xml`
/// of every VM; what could not be had goes to `problems`.
pub(super) fn write_lab_artefacts(lab: &Lab, dir: &Path, problems: &mut Vec<String>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("console"))?;
    std::fs::create_dir_all(dir.join("domain"))?;
    let record = lab.record().clone();
    for vm in &record.vms {
        if vm.console_log.is_file() {
            // Console logs belong to libvirt's logger and may still grow: copy what is there.
            let _ = std::fs::copy(&vm.console_log, dir.join("console").join(format!("{}.log", vm.node)));
        }
        match lab.hypervisor().domain_xml(&record.run, &vm.domain) {
            Ok(xml) => std::fs::write(dir.join("domain").join(format!("{}.xml", vm.node)), xml)?,
            Err(e) => problems.push(format!("domain XML of {}: {e}", vm.node)),
        }
    }
    Ok(())
}

/// Full journal exports of `nodes` (each as `journalctl -o json` printed it) for the bundle,
/// and what could not be had.
pub(super) fn export_journals(
    rt: &Handle,
    sessions: &Arc<Sessions>,
    nodes: &[String],
    cmd: &str,
) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
    let (mut out, mut problems) = (BTreeMap::new(), Vec::new());
    for n in nodes {
        let got = rt.block_on(async {
            let s = sessions.get(n, Duration::from_secs(60)).await?;
            s.exec(cmd, Duration::from_secs(180)).await
        });
        match got {
            Ok(o) if o.success() => {
                out.insert(n.clone(), o.stdout.into_bytes());
            }
            Ok(o) => problems.push(format!("{n}: journalctl exited with {}: {}", o.status, o.stderr.trim())),
            Err(e) => problems.push(format!("{n}: no journal: {e}")),
        }
    }
    (out, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::NetworkKind;

    #[test]
    fn the_fault_book_keeps_what_is_in_effect_and_who_is_cut_off() {
        let nodes: Vec<String> = ["node1", "node2", "node3"].map(String::from).into();
        let mut b = FaultBook::default();
        assert_eq!(b.reachable(&nodes), "node1");
        b.note(&Fault::PowerPull, "node1", false);
        b.note(&Fault::StorageBreak, "node2", false);
        // A storage cut leaves the node in the cluster: still a place to ask.
        assert_eq!(b.active.len(), 2);
        assert_eq!(b.avoid, BTreeSet::from(["node1".to_owned()]));
        assert_eq!(b.reachable(&nodes), "node2");
        b.note(&Fault::LinkDown { network: NetworkKind::Cluster }, "node2", false);
        b.note(&Fault::LinkDown { network: NetworkKind::Storage }, "node3", false);
        assert_eq!(b.reachable(&nodes), "node3");
        b.note(&Fault::PowerPull, "node1", true);
        assert_eq!(b.reachable(&nodes), "node1");
        assert_eq!(b.active.len(), 3);
        assert!(b.active.iter().all(|(_, n)| n != "node1"), "{:?}", b.active);
        // Everyone cut off: the first node, rather than none.
        b.note(&Fault::Pause, "node1", false);
        b.note(&Fault::PowerPull, "node3", false);
        assert_eq!(b.reachable(&nodes), "node1");
    }
}
