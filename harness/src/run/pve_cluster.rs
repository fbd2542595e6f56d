//! A Proxmox VE cluster driven over SSH, whatever runs its nodes (a lab of VMs, or the fake
//! nodes of the replay test): the bootstrap plan run command by command, the readiness gate
//! on the HA manager's own status, and the live observer. It knows sessions and clocks,
//! nothing of libvirt; the lab driver adds the hypervisor (faults, events, artefacts).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::{debug, info};

use super::driver::{Context, DriverError, Unready};
use super::pve_observer::{NodeClocks, PveObserver, PveObserverOptions};
use crate::node::{Output, SessionPool, SshError};
use crate::stack::pve::{self, BootstrapPlan, CURRENT_STATUS, MANAGER_STATUS, On, PveVersion};
use crate::timeline::Event;

/// How the cluster driver paces itself.
#[derive(Clone, Debug)]
pub struct PveClusterOptions {
    pub observer: PveObserverOptions,
    /// Time limit of one bootstrap command. Generous: `pveceph install` downloads packages,
    /// a join restarts the cluster file system, and under TCG each Perl tool takes seconds.
    pub command_limit: Duration,
    /// Time limit of one status call of the readiness gate.
    pub call_timeout: Duration,
    /// How long a node that does not answer yet (still booting, just healed) is tried.
    pub connect_within: Duration,
    /// Between two readiness checks.
    pub ready_every: Duration,
}

impl Default for PveClusterOptions {
    fn default() -> Self {
        PveClusterOptions {
            observer: PveObserverOptions::default(),
            command_limit: Duration::from_secs(1200),
            call_timeout: Duration::from_secs(60),
            connect_within: Duration::from_secs(30),
            ready_every: Duration::from_secs(3),
        }
    }
}

/// A Proxmox VE cluster over SSH.
pub struct PveCluster {
    /// For the bootstrap and the gate; the observer has a pool of its own (its calls must
    /// give up on a dead node sooner).
    pool: Arc<SessionPool>,
    clocks: Arc<dyn NodeClocks>,
    nodes: Vec<String>,
    options: PveClusterOptions,
    observer: Option<PveObserver>,
}

/// What one remote command of the bootstrap did, without the command itself: it may hold the
/// root password.
fn failed(what: &str, node: &str, e: SshError) -> DriverError {
    DriverError::Ssh { what: format!("bootstrap: {what} on {node}"), source: e }
}

impl PveCluster {
    /// The cluster of `nodes` (the first creates the cluster), reached through `pool` (which
    /// may hold other machines too, e.g. the storage server).
    pub fn new(
        pool: Arc<SessionPool>,
        nodes: Vec<String>,
        clocks: Arc<dyn NodeClocks>,
        options: PveClusterOptions,
    ) -> Self {
        PveCluster { pool, clocks, nodes, options, observer: None }
    }

    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    async fn exec(&self, node: &str, cmd: &str, timeout: Duration) -> Result<Output, SshError> {
        self.pool.get_within(node, self.options.connect_within).await?.exec(cmd, timeout).await
    }

    /// Runs `cmd` on `node`: its standard output, or an error that names `what` (never the
    /// command).
    async fn step(&self, node: &str, what: &str, cmd: &str) -> Result<String, DriverError> {
        let o = self.exec(node, cmd, self.options.command_limit).await.map_err(|e| failed(what, node, e))?;
        if o.success() {
            Ok(o.stdout)
        } else {
            Err(DriverError::Remote {
                what: format!("bootstrap: {what}"),
                node: node.to_owned(),
                status: o.status,
                stderr: o.stderr.trim().to_owned(),
            })
        }
    }

    /// `pveversion` on the first node: the plan depends on it (HA groups or rules).
    pub async fn version(&self) -> Result<PveVersion, DriverError> {
        let first = self.nodes.first().ok_or(DriverError::Missing("nodes"))?;
        let out = self.step(first, "check the node runs Proxmox VE", "pveversion").await?;
        pve::parse_pveversion(&out)
            .map_err(|e| DriverError::Stack { what: format!("pveversion on {first}"), detail: e.to_string() })
    }

    /// Runs `cmd` on every node at once (`what` for errors and progress).
    pub async fn on_every(&self, what: &str, cmd: &str) -> Result<(), DriverError> {
        let mut set = tokio::task::JoinSet::new();
        for n in self.nodes.clone() {
            let (pool, cmd, what) = (self.pool.clone(), cmd.to_owned(), what.to_owned());
            let (within, limit) = (self.options.connect_within, self.options.command_limit);
            set.spawn(async move {
                let o = pool.get_within(&n, within).await.map_err(|e| failed(&what, &n, e))?;
                let o = o.exec(&cmd, limit).await.map_err(|e| failed(&what, &n, e))?;
                if o.success() {
                    Ok(())
                } else {
                    Err(DriverError::Remote { what, node: n, status: o.status, stderr: o.stderr.trim().to_owned() })
                }
            });
        }
        let mut first = None;
        while let Some(r) = set.join_next().await {
            let r = r.map_err(|e| e.context(what)).and_then(|r| r);
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Runs the plan's commands in order: on the first node, on each node in turn, on every
    /// node at once, or on one; `{{var}}` filled from `vars` and from what earlier commands
    /// captured. `progress` hears each step. Returns every variable, captured ones included.
    pub async fn bootstrap(
        &self,
        plan: &BootstrapPlan,
        vars: BTreeMap<String, String>,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&str),
    ) -> Result<BTreeMap<String, String>, DriverError> {
        let mut vars = vars;
        let first = self.nodes.first().ok_or(DriverError::Missing("nodes"))?.clone();
        for c in &plan.commands {
            if cancel.load(Ordering::Relaxed) {
                return Err(DriverError::Interrupted);
            }
            let t = Instant::now();
            progress(&c.what);
            let cmd = c
                .render(&vars)
                .map_err(|e| DriverError::Stack { what: format!("bootstrap: {}", c.what), detail: e.to_string() })?;
            let out = match &c.on {
                On::Every => {
                    self.on_every(&c.what, &cmd).await?;
                    None
                }
                On::Each => {
                    for n in &self.nodes {
                        self.step(n, &c.what, &cmd).await?;
                    }
                    None
                }
                On::First => Some(self.step(&first, &c.what, &cmd).await?),
                On::Node(n) => Some(self.step(n, &c.what, &cmd).await?),
            };
            if let (Some(cap), Some(out)) = (c.capture, out) {
                let value = out.trim().to_owned();
                if value.is_empty() {
                    return Err(DriverError::Stack {
                        what: format!("bootstrap: {}", c.what),
                        detail: "printed nothing".into(),
                    });
                }
                vars.insert(cap.var().to_owned(), value);
            }
            info!(secs = format!("{:.1}", t.elapsed().as_secs_f64()), "bootstrap: {}", c.what);
        }
        Ok(vars)
    }

    /// One readiness check (see `stack::pve::unready`), asked of the first node that
    /// answers both endpoints. `Err` says what is missing.
    pub async fn check_ready(&self, services: &[String]) -> Result<(), String> {
        let mut last = "no node answered".to_owned();
        for n in &self.nodes {
            let timeout = self.options.call_timeout;
            let ms = match self.exec(n, MANAGER_STATUS, timeout).await {
                Ok(o) if o.success() => o.stdout,
                Ok(o) => {
                    last = format!("{n}: pvesh exited with {}: {}", o.status, o.stderr.trim());
                    continue;
                }
                Err(e) => {
                    last = format!("{n}: {e}");
                    continue;
                }
            };
            let current = match self.exec(n, CURRENT_STATUS, timeout).await {
                Ok(o) if o.success() => Some(o.stdout),
                _ => None,
            };
            // Judged on the answering node's clock, as the API judges a master stale.
            let now = self.clocks.to_node(n, self.clocks.now()).floor() as i64;
            return match pve::unready_from(&ms, current.as_deref(), now, &self.nodes, services) {
                Ok(why) if why.is_empty() => Ok(()),
                Ok(why) => Err(why.join("; ")),
                Err(e) => Err(format!("{n}: {e}")),
            };
        }
        Err(last)
    }

    /// Waits until [`check_ready`](Self::check_ready) passes, for at most `within`;
    /// `progress` hears what is missing and how long it has waited.
    pub async fn wait_ready(
        &self,
        services: &[String],
        within: Duration,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&str, Duration),
    ) -> Result<(), Unready> {
        let start = Instant::now();
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(Unready::Interrupted);
            }
            match self.check_ready(services).await {
                Ok(()) => {
                    info!(secs = format!("{:.1}", start.elapsed().as_secs_f64()), "Proxmox VE cluster ready");
                    return Ok(());
                }
                Err(why) if start.elapsed() >= within => return Err(Unready::Missing(why)),
                Err(why) => {
                    debug!(why, "not ready");
                    progress(&why, start.elapsed());
                }
            }
            tokio::time::sleep(self.options.ready_every).await;
        }
    }

    /// Starts the live observer on `pool`, which must hold the cluster's nodes and nothing
    /// else (on the current runtime).
    pub fn start_observer(&mut self, pool: Arc<SessionPool>) {
        self.observer = Some(PveObserver::start(pool, self.clocks.clone(), self.options.observer.clone()));
    }

    /// Events the observer reported since the last call; `Err` when one of its loops ended.
    pub fn observed(&mut self) -> Result<Vec<Event>, DriverError> {
        match &mut self.observer {
            Some(o) if o.failed() => Err(DriverError::Stopped("the Proxmox VE observer")),
            Some(o) => Ok(o.drain()),
            None => Ok(Vec::new()),
        }
    }

    /// Stops the observer: what it had not reported yet (journal events held back included).
    pub async fn stop_observer(&mut self) -> Vec<Event> {
        match self.observer.take() {
            Some(o) => o.stop().await,
            None => Vec::new(),
        }
    }
}
