//! The runner's [`Driver`] on a real lab with the Pacemaker stack.
//!
//! - One clock: t = 0 when the driver starts, on the host's clock; guest timestamps are moved
//!   onto it with each node's measured offset, the storage server's too. A node's clock is
//!   measured again after every resume, reset and power-on the hypervisor reports, and its
//!   journal is mapped by boot and monotonic time across the pauses (`node::ClockMap`).
//! - Live: hypervisor events (libvirt's callbacks), and `crm_mon` polled every few seconds on
//!   one kept session (a survivor's, once a fault cuts a node off), diffed into events
//!   (`by: node2/crm_mon`).
//! - At the end ([`Driver::collect`]): the workload observer's record (heartbeats on the storage
//!   server's clock) and every node's journal, read with the Pacemaker reader.
//! - Around the run: installing the workload binary, the stack's bootstrap over SSH, the
//!   readiness gate, the artefact bundle.
//!
//! Every remote call has a time limit; the remote loops (the observer) have their own and end
//! with their session.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use russh::ChannelMsg;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use super::driver::{ActionOutput, Driver, DriverError};
use super::lab_common::{
    FaultBook, Sessions, apply_fault, export_journals, forget_after, hypervisor_events, infra, lock, on_every, pause,
    run_action, since, unix_ms, upload, write_lab_artefacts,
};
use crate::check::Watched;
use crate::lab::{DomainEvents, Lab};
use crate::node::{ClockMap, ClockOffset, Fleet, SshError, Stall, measure_offset};
use crate::scenario::{Action, Fault};
use crate::stack::pacemaker::{self as pcmk, AfterReady, BootstrapPlan, ClusterStatus, NodeHealth, On, Sabotage};
use crate::timeline::{Event, EventData, PowerState, Seconds};
use crate::workload;

/// Where the workload binary goes on every VM (the OCF agent's default).
pub const WORKLOAD_BIN: &str = "/usr/local/bin/hadrill-workload";
/// The NFS export on the storage VM; the nodes mount it at `/mnt/shared`.
const EXPORT: &str = "/srv/nfs";
const OBSERVER_LOG: &str = "/root/hadrill-observer.log";

/// How the driver paces itself.
#[derive(Clone, Debug)]
pub struct LabDriverOptions {
    /// Interval of crm_mon polls.
    pub poll: Duration,
    /// Upper bound of the whole run, for the remote observer's own time limit.
    pub run_limit: Duration,
    /// How long a fault waits for the cluster's steady state before giving up.
    pub ready_before_fault: Duration,
    /// A set-up broken on purpose: what "ready" means, and what is done once it is.
    pub sabotage: Option<Sabotage>,
}

impl Default for LabDriverOptions {
    fn default() -> Self {
        LabDriverOptions {
            poll: Duration::from_millis(2500),
            run_limit: Duration::from_secs(3600),
            ready_before_fault: Duration::from_secs(180),
            sabotage: None,
        }
    }
}

/// What the poller shares with the driver.
#[derive(Default)]
struct PollState {
    faults: FaultBook,
    status: Option<ClusterStatus>,
    /// The node whose view the last good poll was.
    from: Option<String>,
    polls: u64,
}

/// Polls crm_mon until stopped, on the first node (from the last good one) that answers and
/// is not cut off by a fault.
async fn poll_loop(
    sessions: Arc<Sessions>,
    state: Arc<Mutex<PollState>>,
    nodes: Vec<String>,
    tx: mpsc::UnboundedSender<Event>,
    t0: SystemTime,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut poller = pcmk::StatusPoller::default();
    let mut current = 0;
    loop {
        let started = Instant::now();
        let avoid = lock(&state).faults.avoid.clone();
        let order: Vec<usize> =
            (0..nodes.len()).map(|k| (current + k) % nodes.len()).filter(|i| !avoid.contains(&nodes[*i])).collect();
        for i in order {
            let node = &nodes[i];
            let out = match sessions.get(node, Duration::from_secs(10)).await {
                // Short: a node cut off mid-call must not hold up the next poll for long.
                Ok(s) => s.exec(pcmk::CRM_MON, Duration::from_secs(15)).await,
                Err(e) => Err(e),
            };
            let received = SystemTime::now();
            match out {
                Ok(o) if o.success() => {
                    current = i;
                    // crm_mon read the CIB somewhere between sending and receiving: by the end of
                    // the call the change had happened (the midpoint could put it before it
                    // did, as the PVE observer's replay showed), the same rule as there.
                    let at = since(t0, received);
                    match poller.update(&o.stdout) {
                        Ok(changes) => {
                            for d in changes {
                                let _ = tx.send(Event::new(at, d).by(format!("{node}/crm_mon")));
                            }
                        }
                        Err(e) => debug!(node, error = %e, "crm_mon output not understood"),
                    }
                    let mut st = lock(&state);
                    st.status = poller.last().cloned();
                    st.from = Some(node.clone());
                    st.polls += 1;
                    break;
                }
                // Pacemaker not (yet) running there, or the node is unreachable: ask the next.
                Ok(o) => debug!(node, status = o.status, "crm_mon failed"),
                Err(e) => debug!(node, error = %e, "crm_mon not reachable"),
            }
        }
        let left = every.saturating_sub(started.elapsed()).max(Duration::from_millis(500));
        tokio::select! {
            _ = tokio::time::sleep(left) => {}
            _ = stop.changed() => break,
        }
    }
}

/// Each node's clock history: its measurements and the pauses the hypervisor saw.
#[derive(Default)]
struct Clocks {
    anchors: BTreeMap<String, Vec<ClockOffset>>,
    stalls: BTreeMap<String, Vec<Stall>>,
    /// Nodes paused now, since when (host seconds since the epoch).
    paused: BTreeMap<String, f64>,
}

impl Clocks {
    fn map(&self, node: &str) -> ClockMap {
        ClockMap::new(
            self.anchors.get(node).cloned().unwrap_or_default(),
            self.stalls.get(node).cloned().unwrap_or_default(),
        )
    }
}

/// How long a node's clock is tried again after a reset: a TCG boot to SSH took 60-130 s.
const REMEASURE_WITHIN: Duration = Duration::from_secs(900);

/// `hadrill-workload observe` on the storage VM, held open by its SSH channel.
struct Observer {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<String>,
}

/// The runner's driver on a lab of real VMs with Pacemaker.
pub struct LabDriver<'a> {
    lab: &'a Lab,
    rt: Handle,
    sessions: Arc<Sessions>,
    state: Arc<Mutex<PollState>>,
    t0: SystemTime,
    nodes: Vec<String>,
    storage: Option<String>,
    hv: DomainEvents,
    rx: mpsc::UnboundedReceiver<Event>,
    poll_stop: watch::Sender<bool>,
    poll_task: Option<tokio::task::JoinHandle<()>>,
    observer: Option<Observer>,
    cancel: Arc<AtomicBool>,
    options: LabDriverOptions,
    /// The stack's service ids, for the readiness gate.
    services: Vec<String>,
    clocks: Arc<Mutex<Clocks>>,
    /// Clock measurements under way (after a resume, reset or power-on).
    remeasures: Vec<tokio::task::JoinHandle<()>>,
    /// Nodes whose fencer a sabotage left without the `watchdog` device: the readiness gate
    /// does not wait for it there.
    no_fence_device: Vec<String>,
    /// Full journal exports, by node (collected at the end).
    pub journals: BTreeMap<String, Vec<u8>>,
    /// The observer's record as the storage server wrote it.
    pub observer_log: Option<String>,
    /// What could not be collected, for the artefact bundle.
    pub problems: Vec<String>,
}

impl<'a> LabDriver<'a> {
    /// Starts observing `lab` through `fleet`'s sessions: t = 0 is now. `services` are the
    /// HA resources the cluster will carry.
    pub fn start(
        lab: &'a Lab,
        fleet: Fleet,
        rt: Handle,
        cancel: Arc<AtomicBool>,
        services: Vec<String>,
        options: LabDriverOptions,
    ) -> Result<Self, DriverError> {
        let hv = lab.hypervisor().subscribe().map_err(|e| infra("hypervisor events", e))?;
        let t0 = SystemTime::now();
        let record = lab.record();
        let nodes: Vec<String> = record.nodes().map(|v| v.node.clone()).collect();
        let storage = record.storage().map(|v| v.node.clone());
        let clocks = Clocks {
            anchors: fleet.offsets.iter().map(|(n, o)| (n.clone(), vec![o.clone()])).collect(),
            ..Clocks::default()
        };
        let sessions = Arc::new(Sessions::from_fleet(record, fleet));
        let state = Arc::new(Mutex::new(PollState::default()));
        let (tx, rx) = mpsc::unbounded_channel();
        let (poll_stop, stop_rx) = watch::channel(false);
        let poll_task =
            rt.spawn(poll_loop(sessions.clone(), state.clone(), nodes.clone(), tx, t0, options.poll, stop_rx));
        Ok(LabDriver {
            lab,
            rt,
            sessions,
            state,
            t0,
            nodes,
            storage,
            hv,
            rx,
            poll_stop,
            poll_task: Some(poll_task),
            observer: None,
            cancel,
            options,
            services,
            clocks: Arc::new(Mutex::new(clocks)),
            remeasures: Vec::new(),
            no_fence_device: Vec::new(),
            journals: BTreeMap::new(),
            observer_log: None,
            problems: Vec::new(),
        })
    }

    /// The run's start on the host clock.
    pub fn t0(&self) -> SystemTime {
        self.t0
    }

    fn cancelled(&self) -> Result<(), DriverError> {
        if self.cancel.load(Ordering::Relaxed) { Err(DriverError::Infra("interrupted".into())) } else { Ok(()) }
    }

    /// Runs `cmd` on every node at once; the first failure wins.
    fn on_every(&self, nodes: &[String], what: &str, cmd: &str, timeout: Duration) -> Result<(), DriverError> {
        on_every(&self.rt, &self.sessions, &self.cancel, nodes, what, cmd, timeout)
    }

    /// Copies the workload binary onto every VM, makes the heartbeat directory on the share,
    /// mounts the share on every node (the first NFS automount after boot can take more than
    /// 30 s under TCG, which must not count against the service's start) and starts the
    /// observer on the storage VM.
    pub fn prepare(&mut self, workload_bin: &Path) -> Result<(), DriverError> {
        let bytes = std::fs::read(workload_bin).map_err(|e| infra(&workload_bin.display().to_string(), e))?;
        let mut all = self.nodes.clone();
        all.extend(self.storage.clone());
        let t = Instant::now();
        let sessions = self.sessions.clone();
        self.rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for n in &all {
                let (s, n, bytes) = (sessions.clone(), n.clone(), bytes.clone());
                set.spawn(async move {
                    let session = s.get(&n, Duration::from_secs(30)).await?;
                    upload(&session, WORKLOAD_BIN, 0o755, &bytes, Duration::from_secs(180)).await
                });
            }
            while let Some(r) = set.join_next().await {
                r.map_err(|e| infra("installing the workload", e))?.map_err(|e| infra("installing the workload", e))?;
            }
            Ok::<_, DriverError>(())
        })?;
        info!(
            bytes = bytes.len(),
            secs = format!("{:.1}", t.elapsed().as_secs_f64()),
            "hadrill-workload installed on {} VMs",
            all.len()
        );
        let Some(storage) = self.storage.clone() else {
            return Err(DriverError::Infra("the lab has no storage VM, so no shared storage for the workload".into()));
        };
        self.rt
            .block_on(self.sessions.run(
                &storage,
                &format!("mkdir -p {EXPORT}/heartbeat && chmod 0777 {EXPORT}/heartbeat && rm -f {OBSERVER_LOG}"),
                Duration::from_secs(60),
            ))
            .map_err(|e| infra("making the heartbeat directory", e))?;
        let t = Instant::now();
        // Retried: a node that asks before the storage VM's NFS server is up gets ENODEV from
        // the automount at once (seen when the storage VM answered SSH last).
        self.on_every(
            &self.nodes.clone(),
            "mounting the share",
            &format!(
                "end=$(($(date +%s) + 170)); until timeout 170 ls -d {dir}/heartbeat/. >/dev/null 2>&1; do \
                 [ \"$(date +%s)\" -lt \"$end\" ] || exec ls -d {dir}/heartbeat/.; sleep 3; done",
                dir = pcmk::SHARED_DIR
            ),
            Duration::from_secs(360),
        )?;
        info!(secs = format!("{:.1}", t.elapsed().as_secs_f64()), "shared storage mounted on every node");
        self.start_observer(&storage)?;
        // Every node's liveness beacon, outside the HA stack and gone with its boot: a node that
        // still beats after the cluster acknowledged its fence was not fenced (fence truth).
        self.on_every(
            &self.nodes.clone(),
            "starting the liveness beacon",
            &format!(
                "systemd-run --unit=hadrill-alive --collect --quiet {WORKLOAD_BIN} write --dir {}/heartbeat \
                 --node \"$(cat /proc/sys/kernel/hostname)\" --service {} --interval 1s",
                pcmk::SHARED_DIR,
                workload::LIVENESS_SERVICE
            ),
            Duration::from_secs(60),
        )
    }

    fn start_observer(&mut self, storage: &str) -> Result<(), DriverError> {
        // Its own limit outlasts the run by a margin; it also ends when the channel closes.
        let limit = self.options.run_limit + Duration::from_secs(600);
        let cmd = format!(
            "exec {WORKLOAD_BIN} observe --dir {EXPORT}/heartbeat --out {OBSERVER_LOG} --for {}s",
            limit.as_secs()
        );
        let sessions = self.sessions.clone();
        let storage = storage.to_owned();
        let ch = self
            .rt
            .block_on(async {
                let s = sessions.get(&storage, Duration::from_secs(30)).await?;
                s.open_exec(&cmd, Duration::from_secs(30)).await
            })
            .map_err(|e| infra("starting the workload observer", e))?;
        let (stop, mut stop_rx) = oneshot::channel::<()>();
        let task = self.rt.spawn(async move {
            let mut ch = ch;
            let ended = |m: Option<ChannelMsg>| match m {
                Some(ChannelMsg::ExitStatus { exit_status }) => Some(format!("exited with {exit_status}")),
                Some(ChannelMsg::Eof | ChannelMsg::Close) | None => Some("channel closed".to_owned()),
                _ => None,
            };
            loop {
                tokio::select! {
                    m = ch.wait() => if let Some(why) = ended(m) { return format!("ended early: {why}") },
                    _ = &mut stop_rx => break,
                }
            }
            // End of input is the observer's signal to stop; give it a moment to write its footer.
            let _ = ch.eof().await;
            let waited = tokio::time::timeout(Duration::from_secs(15), async {
                loop {
                    if let Some(why) = ended(ch.wait().await) {
                        return why;
                    }
                }
            })
            .await;
            let _ = ch.close().await;
            waited.unwrap_or_else(|_| "did not stop within 15 s".into())
        });
        self.observer = Some(Observer { stop, task });
        info!("workload observer running on {storage}");
        Ok(())
    }

    /// Writes the plan's files on every node, then runs its commands in order (every node at
    /// once, or the first), each with a time limit. `progress` hears each command.
    pub fn bootstrap(&mut self, plan: &BootstrapPlan, mut progress: impl FnMut(&str)) -> Result<(), DriverError> {
        let nodes = self.nodes.clone();
        let sessions = self.sessions.clone();
        let files = plan.files.clone();
        progress(&format!("writing {} files on {} nodes", files.len(), nodes.len()));
        self.rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for n in &nodes {
                let (s, n, files) = (sessions.clone(), n.clone(), files.clone());
                set.spawn(async move {
                    let session = s.get(&n, Duration::from_secs(30)).await?;
                    for f in &files {
                        upload(&session, f.path, f.mode, f.content.as_bytes(), Duration::from_secs(60)).await?;
                    }
                    Ok::<_, SshError>(())
                });
            }
            while let Some(r) = set.join_next().await {
                r.map_err(|e| infra("writing the stack's files", e))?
                    .map_err(|e| infra("writing the stack's files", e))?;
            }
            Ok::<_, DriverError>(())
        })?;
        for c in &plan.commands {
            self.cancelled()?;
            // Generous: under TCG a `systemctl enable` (a daemon-reload) took 50-120 s, and
            // starting the stack waits for sbd and corosync to find each other; the plan's own
            // quorum wait is a loop of 600 s.
            let limit = Duration::from_secs(900);
            let t = Instant::now();
            progress(&c.what);
            let on: Vec<String> = match c.on {
                On::Every => nodes.clone(),
                On::First => nodes.iter().take(1).cloned().collect(),
            };
            self.on_every(&on, &c.what, &c.run, limit)?;
            info!(secs = format!("{:.1}", t.elapsed().as_secs_f64()), "bootstrap: {}", c.what);
        }
        Ok(())
    }

    /// Each node's word on its fencer and daemons. pacemakerd notes "unresponsive to ipc after
    /// 1 tries" for daemons that are still starting; after 5 it kills and respawns them, and a
    /// respawned fencer may never register its device again (notes/tcg-lab.md).
    fn health(&self) -> Vec<NodeHealth> {
        let since = unix_ms(self.t0) / 1000 - 600;
        let cmd = format!(
            "{}; echo ---; journalctl -u pacemaker --since=@{since} -o cat --no-pager | grep -cE 'unresponsive to ipc after ([5-9]|[1-9][0-9]+) tries' || true",
            pcmk::FENCE_DEVICES
        );
        let sessions = self.sessions.clone();
        let nodes = self.nodes.clone();
        self.rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for n in nodes {
                let (s, cmd) = (sessions.clone(), cmd.clone());
                set.spawn(async move {
                    let out = s.exec(&n, &cmd, Duration::from_secs(30)).await;
                    match out {
                        Ok(o) => {
                            let (devices, ipc) = o.stdout.split_once("---").unwrap_or((&o.stdout, "0"));
                            NodeHealth {
                                node: n,
                                watchdog: Some(pcmk::lists_watchdog(devices)),
                                ipc_trouble: ipc.trim().parse::<u32>().unwrap_or(0) > 0,
                            }
                        }
                        Err(_) => NodeHealth { node: n, watchdog: None, ipc_trouble: false },
                    }
                });
            }
            let mut out = Vec::new();
            while let Some(r) = set.join_next().await {
                if let Ok(h) = r {
                    out.push(h);
                }
            }
            out
        })
    }

    /// Waits until the cluster is in the steady state a fault needs (see
    /// `pacemaker::unready`), for at most `within`. `Err` says what was still missing.
    pub fn wait_ready(&mut self, within: Duration, mut progress: impl FnMut(&str, Duration)) -> Result<(), String> {
        let start = Instant::now();
        let mut healthy: BTreeSet<String> = BTreeSet::new();
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err("interrupted".into());
            }
            let status = lock(&self.state).status.clone();
            // A fencer that registered its device keeps it; ask only the others again.
            let mut health = self.health();
            for h in &mut health {
                if h.watchdog == Some(true) && !h.ipc_trouble {
                    healthy.insert(h.node.clone());
                }
                if healthy.contains(&h.node) && !h.ipc_trouble {
                    h.watchdog = Some(true);
                }
            }
            let sabotage = self.options.sabotage;
            let stonith = sabotage.is_none_or(|s| s.fencing_expected());
            let device_on: Vec<String> = match sabotage.is_none_or(|s| s.fence_device_expected()) {
                true => self.nodes.iter().filter(|n| !self.no_fence_device.contains(n)).cloned().collect(),
                false => Vec::new(),
            };
            let why = pcmk::unready(status.as_ref(), &self.nodes, &self.services, &health, stonith, &device_on);
            if why.is_empty() {
                info!(secs = format!("{:.1}", start.elapsed().as_secs_f64()), "cluster ready");
                return Ok(());
            }
            // A daemon respawned for being unresponsive does not heal by waiting.
            if health.iter().any(|h| h.ipc_trouble) || start.elapsed() >= within {
                return Err(why.join("; "));
            }
            progress(&why.join("; "), start.elapsed());
            std::thread::sleep(Duration::from_secs(3));
        }
    }

    /// Breaks the ready cluster as the sabotage says (if it does anything at this point) and
    /// waits until the cluster has it, for at most a minute.
    pub fn sabotage(&mut self, resources: &[crate::scenario::ResourcePlan]) -> Result<(), DriverError> {
        let Some(sabotage) = self.options.sabotage else { return Ok(()) };
        let Some(status) = lock(&self.state).status.clone() else {
            return Err(DriverError::Infra("no cluster status to sabotage".into()));
        };
        let after =
            sabotage.after_ready(&status, resources, &self.nodes).map_err(|e| DriverError::Infra(e.to_string()))?;
        let Some(AfterReady { run: cmd, check, no_fence_device }) = after else { return Ok(()) };
        self.no_fence_device = no_fence_device;
        let node = self.any_node();
        self.rt
            .block_on(self.sessions.run(&node, &cmd, Duration::from_secs(60)))
            .map_err(|e| infra(&format!("sabotage {sabotage}"), e))?;
        let start = Instant::now();
        loop {
            let out = self.rt.block_on(self.sessions.exec(&node, &check, Duration::from_secs(30)));
            if out.as_ref().is_ok_and(|o| o.success()) {
                info!(node, "sabotage {sabotage} in place: {cmd}");
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(DriverError::Infra(format!(
                    "sabotage {sabotage}: `{check}` still fails a minute after `{cmd}`"
                )));
            }
            self.cancelled()?;
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    fn record_problem(&mut self, what: String) {
        warn!("{what}");
        self.problems.push(what);
    }

    fn stop_observer(&mut self) {
        let Some(obs) = self.observer.take() else { return };
        let _ = obs.stop.send(());
        let how = self.rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), obs.task).await });
        match how {
            Ok(Ok(how)) if how.starts_with("ended early") => self.record_problem(format!("workload observer {how}")),
            Ok(Ok(how)) => debug!("workload observer {how}"),
            _ => self.record_problem("workload observer: no word on how it ended".into()),
        }
        let Some(storage) = self.storage.clone() else { return };
        match self.rt.block_on(self.sessions.run(&storage, &format!("cat {OBSERVER_LOG}"), Duration::from_secs(120))) {
            Ok(text) => self.observer_log = Some(text),
            Err(e) => self.record_problem(format!("reading the observer's log: {e}")),
        }
    }

    /// The observer's record as timeline events (`workload` activity on the storage clock).
    fn workload_events(&mut self) -> Vec<Event> {
        let Some(text) = self.observer_log.clone() else { return Vec::new() };
        let beats = match workload::parse_observer_log(&text) {
            Ok(b) => b,
            Err(e) => {
                self.record_problem(format!("observer log: {e}"));
                return Vec::new();
            }
        };
        let services: BTreeSet<&str> = beats.iter().map(|b| b.service.as_str()).collect();
        let gap = services.iter().map(|s| workload::nominal_gap(&beats, s)).max().unwrap_or(Duration::from_secs(3));
        let offset = self.storage.as_deref().map(|s| self.sessions.offset(s)).unwrap_or(0.0);
        // Server times are on the storage VM's clock: t = 0 there is t0 plus its offset.
        let t0_server_ms = unix_ms(self.t0) + (offset * 1000.0).round() as i64;
        workload::activity(&beats, gap, t0_server_ms)
    }

    /// Exports every node's journal (kept for the artefact bundle) and reads the stack's
    /// entries onto the run's clock.
    fn journal_events(&mut self) -> Vec<Event> {
        // From a little before the run: the bootstrap and the service's first start.
        let since = unix_ms(self.t0) / 1000 - 900;
        let cmd = pcmk::journal_export(since);
        let t0_ms = unix_ms(self.t0);
        let (journals, problems) = export_journals(&self.rt, &self.sessions, &self.nodes, &cmd);
        for p in problems {
            self.record_problem(p);
        }
        let mut out = Vec::new();
        for (n, bytes) in journals {
            // Entry by entry, by boot and monotonic time: one offset would put what a node
            // logged after a resume inside its pause.
            let (mapped, stats) = lock(&self.clocks).map(&n).map_export(&bytes);
            if stats.by_realtime > 0 {
                info!(
                    node = n,
                    entries = stats.by_realtime,
                    "journal entries of a boot without a clock measurement, mapped by realtime"
                );
            }
            match pcmk::journal_events(&mapped, 0.0, t0_ms) {
                Ok(ev) => out.extend(ev),
                Err(e) => self.record_problem(format!("{n}: journal not understood: {e}")),
            }
            self.journals.insert(n, bytes);
        }
        out
    }

    /// Notes the pauses the hypervisor reports, and measures a node's clock again after it
    /// resumed, was reset or was powered on.
    fn track_clocks(&mut self, events: &[Event]) {
        let t0 = unix_ms(self.t0) as f64 / 1000.0;
        for e in events {
            let EventData::Power { node, state, reason } = &e.data else { continue };
            let host = t0 + e.t.as_f64();
            let why = match state {
                PowerState::Paused => {
                    lock(&self.clocks).paused.insert(node.clone(), host);
                    continue;
                }
                PowerState::Running => {
                    let mut c = lock(&self.clocks);
                    if let Some(from) = c.paused.remove(node) {
                        c.stalls.entry(node.clone()).or_default().push(Stall { from, to: host });
                    }
                    reason.clone().unwrap_or_else(|| "running".into())
                }
                PowerState::Reset => "a reset".into(),
                PowerState::Off => continue,
            };
            self.remeasure(node, &why);
        }
    }

    /// Measures `node`'s clock once it answers again (for at most [`REMEASURE_WITHIN`]).
    fn remeasure(&mut self, node: &str, why: &str) {
        let (sessions, clocks, cancel) = (self.sessions.clone(), self.clocks.clone(), self.cancel.clone());
        let (node, why) = (node.to_owned(), why.to_owned());
        self.remeasures.retain(|t| !t.is_finished());
        self.remeasures.push(self.rt.spawn(async move {
            let deadline = tokio::time::Instant::now() + REMEASURE_WITHIN;
            while tokio::time::Instant::now() < deadline && !cancel.load(Ordering::Relaxed) {
                if let Ok(s) = sessions.get(&node, Duration::from_secs(20)).await {
                    match measure_offset(&s, 5, Duration::from_secs(30)).await {
                        Ok(o) => {
                            info!(
                                node,
                                offset_ms = format!("{:.1}", o.offset_secs * 1e3),
                                "clock measured again after {why}"
                            );
                            lock(&clocks).anchors.entry(node).or_default().push(o);
                            return;
                        }
                        // A session from before a reset: open a new one next time.
                        Err(_) => sessions.forget(&node).await,
                    }
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            warn!(node, "its clock could not be measured again after {why}");
        }));
    }

    /// Writes the artefact bundle into `dir`: every node's journal, the console logs, the
    /// domain XML, the cluster configuration (`cibadmin -Q`), corosync.conf, the observer's
    /// record, and what could not be collected.
    pub fn write_artefacts(&mut self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("journal"))?;
        for (n, bytes) in &self.journals {
            std::fs::write(dir.join("journal").join(format!("{n}.json")), bytes)?;
        }
        write_lab_artefacts(self.lab, dir, &mut self.problems)?;
        let from = lock(&self.state).from.clone().or_else(|| self.nodes.first().cloned());
        if let Some(n) = from {
            for (file, cmd) in [("cib.xml", "cibadmin -Q"), ("corosync.conf", "cat /etc/corosync/corosync.conf")] {
                match self.rt.block_on(self.sessions.run(&n, cmd, Duration::from_secs(60))) {
                    Ok(text) => std::fs::write(dir.join(file), text)?,
                    Err(e) => self.problems.push(format!("{file} from {n}: {e}")),
                }
            }
        }
        if let Some(log) = &self.observer_log {
            std::fs::write(dir.join("workload-observer.log"), log)?;
        }
        // Every clock measurement and pause, by node: how guest times were mapped.
        let maps: BTreeMap<String, ClockMap> = {
            let c = lock(&self.clocks);
            c.anchors.keys().chain(c.stalls.keys()).map(|n| (n.clone(), c.map(n))).collect()
        };
        if let Ok(json) = serde_json::to_string_pretty(&maps) {
            std::fs::write(dir.join("clocks.json"), json + "\n")?;
        }
        if !self.problems.is_empty() {
            std::fs::write(dir.join("problems.txt"), self.problems.join("\n") + "\n")?;
        }
        Ok(())
    }

    /// Stops every task and closes every session (bounded). Idempotent.
    pub fn close(&mut self) {
        for t in self.remeasures.drain(..) {
            t.abort();
        }
        let _ = self.poll_stop.send(true);
        if let Some(t) = self.poll_task.take() {
            let _ = self.rt.block_on(async { tokio::time::timeout(Duration::from_secs(40), t).await });
        }
        if let Some(obs) = self.observer.take() {
            let _ = obs.stop.send(());
            let _ = self.rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), obs.task).await });
        }
        let sessions = self.sessions.clone();
        self.rt.block_on(async move { sessions.close_all().await });
    }

    /// A node that is up and not cut off by a fault, for actions without a target.
    fn any_node(&self) -> String {
        let st = lock(&self.state);
        st.from
            .clone()
            .filter(|n| !st.faults.avoid.contains(n))
            .or_else(|| self.nodes.iter().find(|n| !st.faults.avoid.contains(*n)).cloned())
            .unwrap_or_else(|| self.nodes[0].clone())
    }
}

impl Drop for LabDriver<'_> {
    fn drop(&mut self) {
        self.close();
    }
}

impl Driver for LabDriver<'_> {
    fn now(&self) -> Seconds {
        since(self.t0, SystemTime::now())
    }

    /// libvirt's events throughout, and the workload's heartbeats on the storage server;
    /// sbd fences by watchdog.
    fn watched(&self) -> Watched {
        Watched { hypervisor: true, storage: true, power_fencing: false }
    }

    fn pause(&mut self, d: Duration) {
        pause(&self.cancel, d)
    }

    fn observe(&mut self) -> Result<Vec<Event>, DriverError> {
        self.cancelled()?;
        let mut out = Vec::new();
        while let Ok(e) = self.rx.try_recv() {
            out.push(e);
        }
        let hv = hypervisor_events(self.lab, &mut self.hv, &self.nodes, self.t0);
        self.track_clocks(&hv);
        out.extend(hv);
        if self.poll_task.as_ref().is_some_and(|t| t.is_finished()) {
            return Err(DriverError::Infra("the crm_mon poller stopped".into()));
        }
        out.sort_by_key(|e| e.t.millis());
        Ok(out)
    }

    fn nodes(&self) -> Vec<String> {
        self.nodes.clone()
    }

    fn fault(&mut self, fault: &Fault, node: &str, heal: bool) -> Result<Seconds, DriverError> {
        self.cancelled()?;
        // A fault on top of one still in effect (two power pulls for a quorum loss) cannot
        // wait for a steady cluster: the first one is why it is not steady.
        let alone = lock(&self.state).faults.active.is_empty();
        if !heal && alone {
            // notes/tcg-lab.md: a fault injected into a cluster that only looks ready (no
            // fence device on the DC) stalls it; that must not be judged as the stack's doing.
            let limit = self.options.ready_before_fault;
            self.wait_ready(limit, |why, waited| {
                info!(waited = waited.as_secs(), "before the fault, waiting for: {why}");
            })
            .map_err(|why| DriverError::Infra(format!("the cluster was not ready for the fault: {why}")))?;
        }
        let spec = pcmk::fault_spec(fault, node);
        let rec = apply_fault(self.lab, &self.rt, &self.sessions, &spec, heal)?;
        lock(&self.state).faults.note(fault, node, heal);
        forget_after(&self.rt, &self.sessions, fault, node, heal);
        info!(node, detail = rec.detail, "{} {}", if heal { "healed" } else { "injected" }, fault.name());
        Ok(since(self.t0, rec.at))
    }

    fn act(&mut self, action: &Action, node: Option<&str>, timeout: Duration) -> Result<ActionOutput, DriverError> {
        self.cancelled()?;
        let node = node.map(str::to_owned).unwrap_or_else(|| self.any_node());
        run_action(&self.rt, &self.sessions, action, node, timeout)
    }

    fn collect(&mut self) -> Vec<Event> {
        let _ = self.poll_stop.send(true);
        if let Some(t) = self.poll_task.take() {
            let _ = self.rt.block_on(async { tokio::time::timeout(Duration::from_secs(40), t).await });
        }
        if self.cancel.load(Ordering::Relaxed) {
            return Vec::new();
        }
        self.stop_observer();
        let mut out = self.workload_events();
        out.extend(self.journal_events());
        out
    }
}
