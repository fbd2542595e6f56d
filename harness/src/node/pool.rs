//! Sessions to a fixed set of nodes by address, kept and opened again on demand: a node that
//! was reset, powered off or cut off gets a fresh session once it answers again. Each `get`
//! makes at most one connection attempt; callers that poll retry on their own cadence, so a
//! dead node costs one refused or timed-out attempt per round, not a wait. `get_within` keeps
//! trying for a while instead, for callers that need the node (a VM that is still booting).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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

    /// A pool of its own for `nodes` (those of them this one knows), with the same key and
    /// host keys and `opts`: e.g. an observer that must give up on a dead node sooner.
    pub fn sibling(&self, nodes: &[String], opts: SessionOptions) -> SessionPool {
        let addrs = self.addrs.iter().filter(|(n, _)| nodes.contains(n)).map(|(n, a)| (n.clone(), *a)).collect();
        SessionPool::new(addrs, self.key.clone(), self.known.clone(), opts)
    }

    /// The options new sessions are opened with.
    pub fn options(&self) -> &SessionOptions {
        &self.opts
    }

    /// The nodes, sorted by name.
    pub fn nodes(&self) -> Vec<String> {
        self.addrs.keys().cloned().collect()
    }

    fn unknown(node: &str) -> SshError {
        SshError::Connect { node: node.to_owned(), addr: "?".into(), message: "not a node of this cluster".into() }
    }

    /// The pool, keeping `sessions` opened before it (as if `get` had opened them).
    pub fn keeping(mut self, sessions: BTreeMap<String, NodeSession>) -> Self {
        for (node, s) in sessions {
            if let Some(slot) = self.live.get_mut(&node) {
                *slot.get_mut() = Some(Arc::new(s));
            }
        }
        self
    }

    /// The kept session to `node` while it lives, else one connection attempt.
    pub async fn get(&self, node: &str) -> Result<Arc<NodeSession>, SshError> {
        self.kept_or_connect(node, None).await
    }

    /// The kept session to `node` while it lives, else connection attempts for at most
    /// `within` (host key and authentication errors end them at once).
    pub async fn get_within(&self, node: &str, within: Duration) -> Result<Arc<NodeSession>, SshError> {
        self.kept_or_connect(node, Some(within)).await
    }

    async fn kept_or_connect(&self, node: &str, within: Option<Duration>) -> Result<Arc<NodeSession>, SshError> {
        let (Some(slot), Some(addr)) = (self.live.get(node), self.addrs.get(node)) else {
            return Err(Self::unknown(node));
        };
        let mut slot = slot.lock().await;
        if let Some(s) = slot.as_ref().filter(|s| !s.is_closed()) {
            return Ok(s.clone());
        }
        let (key, known) = (&self.key, self.known.clone());
        let fresh = Arc::new(match within {
            None => NodeSession::connect(node, *addr, key, known, &self.opts).await?,
            Some(w) => {
                let deadline = tokio::time::Instant::now() + w;
                NodeSession::connect_until(node, *addr, key, known, &self.opts, deadline).await?
            }
        });
        if let Some(old) = slot.replace(fresh.clone()) {
            old.close().await;
        }
        Ok(fresh)
    }

    /// Drops the kept session to `node`, alive or not: after a power cycle it is of no use,
    /// and the next `get` connects anew.
    pub async fn drop_session(&self, node: &str) {
        let Some(slot) = self.live.get(node) else { return };
        let taken = slot.lock().await.take();
        if let Some(s) = taken {
            s.close().await;
        }
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
