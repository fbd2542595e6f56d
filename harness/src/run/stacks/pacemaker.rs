//! Pacemaker's side of a run on a lab of real VMs (corosync, sbd watchdog fencing, hadrill's
//! HA workload on NFS from the storage VM).
//!
//! - Set-up: the workload binary on every VM, the share mounted on every node, the workload
//!   observer on the storage VM (the server's record of every heartbeat), every node's
//!   liveness beacon, then the bootstrap plan over SSH.
//! - Live: `crm_mon` polled every few seconds on one kept session (a survivor's, once a fault
//!   cuts a node off), diffed into events (`by: node2/crm_mon`).
//! - At the end: the observer's record (heartbeats on the storage server's clock) and every
//!   node's journal, read with the Pacemaker reader.
//! - Readiness: the gate of `stack::pacemaker::unready`, with each fencer's word on its device.
//! - Sabotage: a set-up broken on purpose, applied once the cluster is ready.
//!
//! Every remote call has a time limit; the remote loops (the observer) have their own and end
//! with their session.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use russh::ChannelMsg;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use super::{LabContext, StackConfig, StackSide, random_bytes};
use crate::check::Watched;
use crate::fault::StackFaults;
use crate::node::SshError;
use crate::run::driver::{Context, DriverError, Unready};
use crate::run::lab_common::{FaultBook, Sessions, lock, since, unix_ms, upload};
use crate::scenario::Plan;
use crate::stack::pacemaker::{
    self as pcmk, AfterReady, BootstrapPlan, ClusterStatus, NodeAddr, NodeHealth, On, Profile, Sabotage,
};
use crate::timeline::Event;
use crate::workload;

/// Where the workload binary goes on every VM (the OCF agent's default).
pub const WORKLOAD_BIN: &str = "/usr/local/bin/hadrill-workload";
/// The NFS export on the storage VM; the nodes mount it at `/mnt/shared`.
const EXPORT: &str = "/srv/nfs";
const OBSERVER_LOG: &str = "/root/hadrill-observer.log";
/// Interval of crm_mon polls.
const POLL: Duration = Duration::from_millis(2500);

/// What the poller shares with the side.
#[derive(Default)]
struct PollState {
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
    faults: Arc<Mutex<FaultBook>>,
    nodes: Vec<String>,
    tx: mpsc::UnboundedSender<Event>,
    t0: SystemTime,
    mut stop: watch::Receiver<bool>,
) {
    let mut poller = pcmk::StatusPoller::default();
    let mut current = 0;
    loop {
        let started = Instant::now();
        let avoid = lock(&faults).avoid.clone();
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
        let left = POLL.saturating_sub(started.elapsed()).max(Duration::from_millis(500));
        tokio::select! {
            _ = tokio::time::sleep(left) => {}
            _ = stop.changed() => break,
        }
    }
}

/// `hadrill-workload observe` on the storage VM, held open by its SSH channel.
struct Observer {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<String>,
}

/// Pacemaker's side.
pub struct PacemakerSide {
    sabotage: Option<Sabotage>,
    workload: PathBuf,
    run_limit: Duration,
    state: Arc<Mutex<PollState>>,
    rx: Option<mpsc::UnboundedReceiver<Event>>,
    poll_stop: Option<watch::Sender<bool>>,
    poll_task: Option<tokio::task::JoinHandle<()>>,
    observer: Option<Observer>,
    /// The stack's service ids, for the readiness gate.
    services: Vec<String>,
    /// Nodes whose fencer a sabotage left without the `watchdog` device: the readiness gate
    /// does not wait for it there.
    no_fence_device: Vec<String>,
    /// Fencers that registered their device (they keep it).
    healthy: BTreeSet<String>,
    /// The observer's record as the storage server wrote it.
    observer_log: Option<String>,
    problems: Vec<String>,
}

impl PacemakerSide {
    pub fn new(config: &StackConfig) -> Self {
        PacemakerSide {
            sabotage: config.sabotage,
            workload: config.workload.clone(),
            run_limit: config.run_limit,
            state: Arc::new(Mutex::new(PollState::default())),
            rx: None,
            poll_stop: None,
            poll_task: None,
            observer: None,
            services: Vec::new(),
            no_fence_device: Vec::new(),
            healthy: BTreeSet::new(),
            observer_log: None,
            problems: Vec::new(),
        }
    }

    /// Copies the workload binary onto every VM, makes the heartbeat directory on the share,
    /// mounts the share on every node (the first NFS automount after boot can take more than
    /// 30 s under TCG, which must not count against the service's start) and starts the
    /// observer on the storage VM.
    fn prepare(&mut self, ctx: &LabContext) -> Result<(), DriverError> {
        let bytes = std::fs::read(&self.workload).map_err(|e| e.context(&self.workload.display().to_string()))?;
        let mut all = ctx.nodes.clone();
        all.extend(ctx.storage.clone());
        let t = Instant::now();
        let sessions = ctx.sessions.clone();
        ctx.rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for n in &all {
                let (s, n, bytes) = (sessions.clone(), n.clone(), bytes.clone());
                set.spawn(async move {
                    let session = s.get(&n, Duration::from_secs(30)).await?;
                    upload(&session, WORKLOAD_BIN, 0o755, &bytes, Duration::from_secs(180)).await
                });
            }
            while let Some(r) = set.join_next().await {
                r.map_err(|e| e.context("installing the workload"))?
                    .map_err(|e| e.context("installing the workload"))?;
            }
            Ok::<_, DriverError>(())
        })?;
        info!(
            bytes = bytes.len(),
            secs = format!("{:.1}", t.elapsed().as_secs_f64()),
            "hadrill-workload installed on {} VMs",
            all.len()
        );
        let Some(storage) = ctx.storage.clone() else {
            return Err(DriverError::Missing("storage VM, so no shared storage for the workload"));
        };
        ctx.rt
            .block_on(ctx.sessions.run(
                &storage,
                &format!("mkdir -p {EXPORT}/heartbeat && chmod 0777 {EXPORT}/heartbeat && rm -f {OBSERVER_LOG}"),
                Duration::from_secs(60),
            ))
            .map_err(|e| e.context("making the heartbeat directory"))?;
        let t = Instant::now();
        // Retried: a node that asks before the storage VM's NFS server is up gets ENODEV from
        // the automount at once (seen when the storage VM answered SSH last).
        ctx.on_every(
            &ctx.nodes,
            "mounting the share",
            &format!(
                "end=$(($(date +%s) + 170)); until timeout 170 ls -d {dir}/heartbeat/. >/dev/null 2>&1; do \
                 [ \"$(date +%s)\" -lt \"$end\" ] || exec ls -d {dir}/heartbeat/.; sleep 3; done",
                dir = pcmk::SHARED_DIR
            ),
            Duration::from_secs(360),
        )?;
        info!(secs = format!("{:.1}", t.elapsed().as_secs_f64()), "shared storage mounted on every node");
        self.start_observer(ctx, &storage)?;
        // Every node's liveness beacon, outside the HA stack and gone with its boot: a node that
        // still beats after the cluster acknowledged its fence was not fenced (fence truth).
        ctx.on_every(
            &ctx.nodes,
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

    fn start_observer(&mut self, ctx: &LabContext, storage: &str) -> Result<(), DriverError> {
        // Its own limit outlasts the run by a margin; it also ends when the channel closes.
        let limit = self.run_limit + Duration::from_secs(600);
        let cmd = format!(
            "exec {WORKLOAD_BIN} observe --dir {EXPORT}/heartbeat --out {OBSERVER_LOG} --for {}s",
            limit.as_secs()
        );
        let sessions = ctx.sessions.clone();
        let storage = storage.to_owned();
        let ch = ctx
            .rt
            .block_on(async {
                let s = sessions.get(&storage, Duration::from_secs(30)).await?;
                s.open_exec(&cmd, Duration::from_secs(30)).await
            })
            .map_err(|e| e.context("starting the workload observer"))?;
        let (stop, mut stop_rx) = oneshot::channel::<()>();
        let task = ctx.rt.spawn(async move {
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
    fn bootstrap(
        &mut self,
        ctx: &LabContext,
        plan: &BootstrapPlan,
        progress: &mut dyn FnMut(&str),
    ) -> Result<(), DriverError> {
        let nodes = ctx.nodes.clone();
        let sessions = ctx.sessions.clone();
        let files = plan.files.clone();
        progress(&format!("writing {} files on {} nodes", files.len(), nodes.len()));
        ctx.rt.block_on(async {
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
                r.map_err(|e| e.context("writing the stack's files"))?
                    .map_err(|e| e.context("writing the stack's files"))?;
            }
            Ok::<_, DriverError>(())
        })?;
        for c in &plan.commands {
            ctx.cancelled()?;
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
            ctx.on_every(&on, &c.what, &c.run, limit)?;
            info!(secs = format!("{:.1}", t.elapsed().as_secs_f64()), "bootstrap: {}", c.what);
        }
        Ok(())
    }

    /// Each node's word on its fencer and daemons. pacemakerd notes "unresponsive to ipc after
    /// 1 tries" for daemons that are still starting; after 5 it kills and respawns them, and a
    /// respawned fencer may never register its device again (notes/tcg-lab.md).
    fn health(&self, ctx: &LabContext) -> Vec<NodeHealth> {
        let since = unix_ms(ctx.t0()) / 1000 - 600;
        let cmd = format!(
            "{}; echo ---; journalctl -u pacemaker --since=@{since} -o cat --no-pager | grep -cE 'unresponsive to ipc after ([5-9]|[1-9][0-9]+) tries' || true",
            pcmk::FENCE_DEVICES
        );
        let sessions = ctx.sessions.clone();
        let nodes = ctx.nodes.clone();
        ctx.rt.block_on(async {
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

    fn record_problem(&mut self, what: String) {
        warn!("{what}");
        self.problems.push(what);
    }

    fn stop_poller(&mut self, ctx: &LabContext) {
        if let Some(s) = &self.poll_stop {
            let _ = s.send(true);
        }
        if let Some(t) = self.poll_task.take() {
            let _ = ctx.rt.block_on(async { tokio::time::timeout(Duration::from_secs(40), t).await });
        }
    }

    fn stop_observer(&mut self, ctx: &LabContext) {
        let Some(obs) = self.observer.take() else { return };
        let _ = obs.stop.send(());
        let how = ctx.rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), obs.task).await });
        match how {
            Ok(Ok(how)) if how.starts_with("ended early") => self.record_problem(format!("workload observer {how}")),
            Ok(Ok(how)) => debug!("workload observer {how}"),
            _ => self.record_problem("workload observer: no word on how it ended".into()),
        }
        let Some(storage) = ctx.storage.clone() else { return };
        match ctx.rt.block_on(ctx.sessions.run(&storage, &format!("cat {OBSERVER_LOG}"), Duration::from_secs(120))) {
            Ok(text) => self.observer_log = Some(text),
            Err(e) => self.record_problem(format!("reading the observer's log: {e}")),
        }
    }

    /// The observer's record as timeline events (`workload` activity on the storage clock).
    fn workload_events(&mut self, ctx: &LabContext) -> Vec<Event> {
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
        let offset = ctx.storage.as_deref().map(|s| ctx.clock.offset(s)).unwrap_or(0.0);
        // Server times are on the storage VM's clock: t = 0 there is t0 plus its offset.
        let t0_server_ms = unix_ms(ctx.t0()) + (offset * 1000.0).round() as i64;
        workload::activity(&beats, gap, t0_server_ms)
    }
}

/// Pacemaker's names for the fault catalogue: its watchdog feeder is sbd; a killed daemon
/// comes back by starting its unit.
static FAULTS: StackFaults = pcmk::FAULTS;

impl StackSide for PacemakerSide {
    /// libvirt's events throughout, and the workload's heartbeats on the storage server;
    /// sbd fences by watchdog.
    fn watched(&self) -> Watched {
        Watched { hypervisor: true, storage: true, power_fencing: false }
    }

    fn fault_names(&self) -> &'static StackFaults {
        &FAULTS
    }

    fn ready_before_fault(&self) -> Duration {
        Duration::from_secs(180)
    }

    fn start(&mut self, ctx: &LabContext) -> Result<(), DriverError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        self.poll_task = Some(ctx.rt.spawn(poll_loop(
            ctx.sessions.clone(),
            self.state.clone(),
            ctx.faults.clone(),
            ctx.nodes.clone(),
            tx,
            ctx.t0(),
            stop_rx,
        )));
        self.rx = Some(rx);
        self.poll_stop = Some(stop);
        Ok(())
    }

    /// The workload, the stack's files and commands.
    fn setup(&mut self, ctx: &LabContext, plan: &Plan, progress: &mut dyn FnMut(&str)) -> Result<(), DriverError> {
        self.services = plan.resources.iter().map(|r| r.id.clone()).collect();
        self.prepare(ctx)?;
        let record = ctx.lab.record();
        let nodes: Vec<NodeAddr> =
            record.nodes().filter_map(|v| v.address().map(|ip| NodeAddr { name: v.node.clone(), ip })).collect();
        let key = random_bytes(128)?;
        let profile = if record.accel.as_str() == "kvm" { Profile::kvm() } else { Profile::tcg() };
        let bp = pcmk::bootstrap_plan(
            &format!("hadrill-{}", ctx.lab.run()),
            &nodes,
            &plan.resources,
            &profile,
            &key,
            self.sabotage,
        );
        self.bootstrap(ctx, &bp, progress)
    }

    /// Waits until the cluster is in the steady state a fault needs (see
    /// `pacemaker::unready`).
    fn wait_ready(
        &mut self,
        ctx: &LabContext,
        within: Duration,
        progress: &mut dyn FnMut(&str, Duration),
    ) -> Result<(), Unready> {
        let start = Instant::now();
        loop {
            if ctx.cancel.load(Ordering::Relaxed) {
                return Err(Unready::Interrupted);
            }
            let status = lock(&self.state).status.clone();
            // A fencer that registered its device keeps it; ask only the others again.
            let mut health = self.health(ctx);
            for h in &mut health {
                if h.watchdog == Some(true) && !h.ipc_trouble {
                    self.healthy.insert(h.node.clone());
                }
                if self.healthy.contains(&h.node) && !h.ipc_trouble {
                    h.watchdog = Some(true);
                }
            }
            let sabotage = self.sabotage;
            let stonith = sabotage.is_none_or(|s| s.fencing_expected());
            let device_on: Vec<String> = match sabotage.is_none_or(|s| s.fence_device_expected()) {
                true => ctx.nodes.iter().filter(|n| !self.no_fence_device.contains(n)).cloned().collect(),
                false => Vec::new(),
            };
            let why = pcmk::unready(status.as_ref(), &ctx.nodes, &self.services, &health, stonith, &device_on);
            if why.is_empty() {
                info!(secs = format!("{:.1}", start.elapsed().as_secs_f64()), "cluster ready");
                return Ok(());
            }
            // A daemon respawned for being unresponsive does not heal by waiting.
            if health.iter().any(|h| h.ipc_trouble) || start.elapsed() >= within {
                return Err(Unready::Missing(why.join("; ")));
            }
            progress(&why.join("; "), start.elapsed());
            std::thread::sleep(Duration::from_secs(3));
        }
    }

    /// Breaks the ready cluster as the sabotage says (if it does anything at this point) and
    /// waits until the cluster has it, for at most a minute.
    fn after_ready(&mut self, ctx: &LabContext, plan: &Plan) -> Result<(), DriverError> {
        let Some(sabotage) = self.sabotage else { return Ok(()) };
        let what = format!("sabotage {sabotage}");
        let Some(status) = lock(&self.state).status.clone() else {
            return Err(DriverError::Stack { what, detail: "no cluster status to sabotage".into() });
        };
        let after = sabotage
            .after_ready(&status, &plan.resources, &ctx.nodes)
            .map_err(|e| DriverError::Stack { what: what.clone(), detail: e.to_string() })?;
        let Some(AfterReady { run: cmd, check, no_fence_device }) = after else { return Ok(()) };
        self.no_fence_device = no_fence_device;
        let node = self.preferred_node().unwrap_or_else(|| lock(&ctx.faults).reachable(&ctx.nodes));
        ctx.rt.block_on(ctx.sessions.run(&node, &cmd, Duration::from_secs(60))).map_err(|e| e.context(&what))?;
        let start = Instant::now();
        loop {
            let out = ctx.rt.block_on(ctx.sessions.exec(&node, &check, Duration::from_secs(30)));
            if out.as_ref().is_ok_and(|o| o.success()) {
                info!(node, "sabotage {sabotage} in place: {cmd}");
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(DriverError::Stack {
                    what,
                    detail: format!("`{check}` still fails a minute after `{cmd}`"),
                });
            }
            ctx.cancelled()?;
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    fn observe(&mut self, _ctx: &LabContext) -> Result<Vec<Event>, DriverError> {
        let mut out = Vec::new();
        if let Some(rx) = &mut self.rx {
            while let Ok(e) = rx.try_recv() {
                out.push(e);
            }
        }
        if self.poll_task.as_ref().is_some_and(|t| t.is_finished()) {
            return Err(DriverError::Stopped("the crm_mon poller"));
        }
        Ok(out)
    }

    fn preferred_node(&self) -> Option<String> {
        lock(&self.state).from.clone()
    }

    fn stop(&mut self, ctx: &LabContext) -> Vec<Event> {
        self.stop_poller(ctx);
        if ctx.cancel.load(Ordering::Relaxed) {
            return Vec::new();
        }
        self.stop_observer(ctx);
        self.workload_events(ctx)
    }

    fn journal_export(&self, since_unix: i64) -> String {
        pcmk::journal_export(since_unix)
    }

    fn read_journal(&self, ctx: &LabContext, _node: &str, export: &[u8]) -> Option<Result<Vec<Event>, String>> {
        Some(pcmk::journal_events(export, 0.0, unix_ms(ctx.t0())).map_err(|e| e.to_string()))
    }

    /// The cluster configuration (`cibadmin -Q`), corosync.conf and the observer's record.
    fn write_artefacts(&mut self, ctx: &LabContext, dir: &Path, problems: &mut Vec<String>) -> std::io::Result<()> {
        let from = lock(&self.state).from.clone().or_else(|| ctx.nodes.first().cloned());
        if let Some(n) = from {
            for (file, cmd) in [("cib.xml", "cibadmin -Q"), ("corosync.conf", "cat /etc/corosync/corosync.conf")] {
                match ctx.rt.block_on(ctx.sessions.run(&n, cmd, Duration::from_secs(60))) {
                    Ok(text) => std::fs::write(dir.join(file), text)?,
                    Err(e) => problems.push(format!("{file} from {n}: {e}")),
                }
            }
        }
        if let Some(log) = &self.observer_log {
            std::fs::write(dir.join("workload-observer.log"), log)?;
        }
        Ok(())
    }

    fn take_problems(&mut self) -> Vec<String> {
        std::mem::take(&mut self.problems)
    }

    fn close(&mut self, ctx: &LabContext) {
        self.stop_poller(ctx);
        if let Some(obs) = self.observer.take() {
            let _ = obs.stop.send(());
            let _ = ctx.rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), obs.task).await });
        }
    }
}
