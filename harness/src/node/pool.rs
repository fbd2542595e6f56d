//! Sessions to a fixed set of nodes by address, kept and opened again on demand: a node that
//! was reset, powered off or cut off gets a fresh session once it answers again. Each `get`
//! makes at most one connection attempt; callers that poll retry on their own cadence, so a
//! dead node costs one refused or timed-out attempt per round, not a wait.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use super::{KnownHosts, NodeSession, RunKey, SessionOptions, SshError};

/// Kept sessions to the nodes of one cluster.
pub struct SessionPool {
    addrs: BTreeMap<String, SocketAddr>,
    key: RunKey,
    known: Arc<KnownHosts>,
    opts: SessionOptions,
    /// One slot per node, locked while a connection to it is made: callers that ask for the
    /// same node at once share one new session instead of replacing each other's.
    live: BTreeMap<String, tokio::sync::Mutex<Option<Arc<NodeSession>>>>,
}

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPool").field("addrs", &self.addrs).finish_non_exhaustive()
    }
}

impl SessionPool {
    pub fn new(addrs: BTreeMap<String, SocketAddr>, key: RunKey, known: Arc<KnownHosts>, opts: SessionOptions) -> Self {
        let live = addrs.keys().map(|n| (n.clone(), tokio::sync::Mutex::new(None))).collect();
        SessionPool { addrs, key, known, opts, live }
    }

    /// The nodes, sorted by name.
    pub fn nodes(&self) -> Vec<String> {
        self.addrs.keys().cloned().collect()
    }

    fn unknown(node: &str) -> SshError {
        SshError::Connect { node: node.to_owned(), addr: "?".into(), message: "not a node of this cluster".into() }
    }

    /// The kept session to `node` while it lives, else one connection attempt.
    pub async fn get(&self, node: &str) -> Result<Arc<NodeSession>, SshError> {
        let (Some(slot), Some(addr)) = (self.live.get(node), self.addrs.get(node)) else {
            return Err(Self::unknown(node));
        };
        let mut slot = slot.lock().await;
        if let Some(s) = slot.as_ref().filter(|s| !s.is_closed()) {
            return Ok(s.clone());
        }
        let fresh = Arc::new(NodeSession::connect(node, *addr, &self.key, self.known.clone(), &self.opts).await?);
        if let Some(old) = slot.replace(fresh.clone()) {
            old.close().await;
        }
        Ok(fresh)
    }

    /// Drops the kept session to `node` if it is still `dead` (a call on it was lost: the
    /// next `get` connects anew). A session another caller opened meanwhile is kept.
    pub async fn forget(&self, node: &str, dead: &Arc<NodeSession>) {
        let Some(slot) = self.live.get(node) else { return };
        let mut slot = slot.lock().await;
        if slot.as_ref().is_some_and(|s| Arc::ptr_eq(s, dead))
            && let Some(s) = slot.take()
        {
            s.close().await;
        }
    }

    /// Closes every kept session.
    pub async fn close_all(&self) {
        for slot in self.live.values() {
            let taken = slot.lock().await.take();
            if let Some(s) = taken {
                s.close().await;
            }
        }
    }
}
