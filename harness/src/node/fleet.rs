//! Sessions to every VM of a lab, opened concurrently and kept.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::{ClockOffset, KnownHosts, NodeSession, RunKey, SessionOptions, SshError, measure_offset};
use crate::lab::{LabRecord, RunDir};

/// Open sessions and measured clock offsets, by node name.
pub struct Fleet {
    pub key: RunKey,
    pub known: Arc<KnownHosts>,
    pub opts: SessionOptions,
    pub sessions: BTreeMap<String, NodeSession>,
    pub offsets: BTreeMap<String, ClockOffset>,
}

impl Fleet {
    pub fn session(&self, node: &str) -> Option<&NodeSession> {
        self.sessions.get(node)
    }

    /// Opens a fresh session to `node` (after a reboot or a heal), replacing the old one.
    pub async fn reconnect(
        &mut self,
        record: &LabRecord,
        node: &str,
        within: Duration,
    ) -> Result<&NodeSession, SshError> {
        let addr = address(record, node)?;
        let deadline = tokio::time::Instant::now() + within;
        let s = NodeSession::connect_until(node, addr, &self.key, self.known.clone(), &self.opts, deadline).await?;
        if let Some(old) = self.sessions.insert(node.to_owned(), s) {
            old.close().await;
        }
        Ok(&self.sessions[node])
    }

    pub async fn close(&self) {
        for s in self.sessions.values() {
            s.close().await;
        }
    }
}

fn address(record: &LabRecord, node: &str) -> Result<SocketAddr, SshError> {
    record.vm(node).and_then(|v| v.address()).map(|ip| SocketAddr::from((ip, 22))).ok_or_else(|| SshError::Connect {
        node: node.to_owned(),
        addr: "?".into(),
        message: "no such VM in the lab".into(),
    })
}

/// Connects to every VM of `record` at once, waiting up to `within` for them to boot, and
/// measures each guest's clock.
pub async fn connect_fleet(record: &LabRecord, dir: &RunDir, within: Duration) -> Result<Fleet, SshError> {
    let key = RunKey::load(&dir.key())?;
    let known = Arc::new(
        KnownHosts::open(&dir.known_hosts())
            .map_err(|e| SshError::Key { path: dir.known_hosts(), message: e.to_string() })?,
    );
    let opts = SessionOptions::default();
    let deadline = tokio::time::Instant::now() + within;
    let mut tasks = tokio::task::JoinSet::new();
    for vm in &record.vms {
        let (node, addr) = (vm.node.clone(), address(record, &vm.node)?);
        let (key, known, opts) = (key.clone(), known.clone(), opts.clone());
        tasks.spawn(async move {
            let s = NodeSession::connect_until(&node, addr, &key, known, &opts, deadline).await?;
            let off = measure_offset(&s, 5, Duration::from_secs(60)).await?;
            tracing::info!(node, offset_ms = format!("{:.1}", off.offset_secs * 1e3), "SSH up");
            Ok::<_, SshError>((node, s, off))
        });
    }
    let mut fleet = Fleet { key, known, opts, sessions: BTreeMap::new(), offsets: BTreeMap::new() };
    let mut first_err = None;
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok((node, s, off))) => {
                fleet.sessions.insert(node.clone(), s);
                fleet.offsets.insert(node, off);
            }
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(e) => {
                first_err.get_or_insert(SshError::ConnectionLost { node: "?".into(), message: e.to_string() });
            }
        }
    }
    match first_err {
        Some(e) => {
            fleet.close().await;
            Err(e)
        }
        None => Ok(fleet),
    }
}
