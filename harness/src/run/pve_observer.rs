//! What a Proxmox VE cluster does, observed live over SSH, as timeline events on the run's
//! clock. Independent of the lab: it needs sessions to the nodes and their clocks, nothing of
//! libvirt, so a PVE lab driver and the replay test use it alike.
//!
//! Three loops, each on its own task:
//! - status: `pvesh get /cluster/ha/status/manager_status` and `…/current` every poll, on one
//!   node: the last one that answered, else the next; an answer from a node without quorum
//!   (its cluster file system is a frozen copy) is used only when no quorate node answers.
//!   Diffed into events with `by: NODE/pvesh`; services by the manager's `crm_state`,
//!   statuses older than 30 s (on the answering node's clock) stale.
//! - quorum: `corosync-quorumtool -s` on every node each poll; a node's new view is an event
//!   (`by: NODE/corosync-quorumtool`).
//! - journal: one `journalctl --follow -o json` of pve-ha-crm, pve-ha-lrm, watchdog-mux and
//!   corosync per node, read by the Proxmox log reader (master changes, locks, watchdog lines,
//!   fencing, service states; `by: NODE/crm`, `NODE/lrm`, `NODE/watchdog-mux`, as in
//!   `hadrill analyze`). Entry times are the node's own, moved onto the run's clock by
//!   [`NodeClocks`]. A stream that ends (the node was reset, powered off, cut off) is opened
//!   again after its last cursor once the node answers, so nothing is lost or read twice.
//!
//! Build the pool with a connect timeout well under the poll interval: a node that vanished
//! without resetting its connections costs one connect timeout each time it is tried.
//!
//! A polled event is stamped with the end of the call that read it: the node read its state
//! somewhere during the call, so the change had happened by then. A stamp any earlier (the
//! call's midpoint) could put a polled change before the instant it happened, and a check
//! like `recovery-before-fence` would see an order that never was. Staleness is judged at
//! the midpoint, the best guess of when the node read its status.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use russh::ChannelMsg;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::debug;

use crate::node::{ClockOffset, SessionPool};
use crate::stack::pve::{
    CURRENT_STATUS, JournalFrom, JournalReader, MANAGER_STATUS, QUORUMTOOL, QuorumWatch, StatusPoller, journal_follow,
    parse_manager_status,
};
use crate::timeline::{Event, Seconds};

/// The run's clock and each node's clock against it.
pub trait NodeClocks: Send + Sync {
    /// Now, on the run's clock.
    fn now(&self) -> Seconds;
    /// A node's timestamp (microseconds since the epoch on its clock) on the run's clock.
    fn to_run(&self, node: &str, guest_us: i64) -> Seconds;
    /// The run's instant `t` on a node's clock, in seconds since the epoch.
    fn to_node(&self, node: &str, t: Seconds) -> f64;
    /// One line of the node's `journalctl -o json` with its realtime replaced by the host's
    /// time, placed by its boot and monotonic time; `None` where these clocks cannot.
    fn map_entry(&self, _node: &str, _line: &[u8]) -> Option<Vec<u8>> {
        None
    }
    /// A host timestamp (microseconds since the epoch) on the run's clock: by default, as long
    /// before [`now`](Self::now) as it is before the host's now.
    fn host_to_run(&self, host_us: i64) -> Seconds {
        let host_now_us = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64);
        Seconds::from_millis(self.now().millis() - (host_now_us - host_us) / 1000)
    }
}

/// A lab's clocks: the run starts at `t0` on the host's clock, and each guest's measured
/// offset moves its timestamps onto it (a node without a measurement counts as in step).
#[derive(Clone, Debug)]
pub struct HostClocks {
    pub t0: SystemTime,
    pub offsets: BTreeMap<String, ClockOffset>,
}

impl HostClocks {
    fn offset(&self, node: &str) -> f64 {
        self.offsets.get(node).map_or(0.0, |o| o.offset_secs)
    }

    fn t0_secs(&self) -> f64 {
        self.t0.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
    }
}

impl NodeClocks for HostClocks {
    fn now(&self) -> Seconds {
        let ms = match SystemTime::now().duration_since(self.t0) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        };
        Seconds::from_millis(ms)
    }

    fn to_run(&self, node: &str, guest_us: i64) -> Seconds {
        let host_s = guest_us as f64 / 1e6 - self.offset(node);
        Seconds::from_millis(((host_s - self.t0_secs()) * 1000.0).round() as i64)
    }

    fn to_node(&self, node: &str, t: Seconds) -> f64 {
        self.t0_secs() + t.as_f64() + self.offset(node)
    }
}

/// How the observer paces itself.
#[derive(Clone, Debug)]
pub struct PveObserverOptions {
    /// Interval of the status and quorum polls.
    pub poll: Duration,
    /// Time limit of one remote command.
    pub call_timeout: Duration,
    /// Wait before trying a node again whose journal stream ended or could not start.
    pub retry: Duration,
    /// The journal is read from this instant of the run's clock on.
    pub since: Seconds,
}

impl Default for PveObserverOptions {
    fn default() -> Self {
        // pvesh is a Perl program: about a second a call on a small node.
        PveObserverOptions {
            poll: Duration::from_secs(2),
            call_timeout: Duration::from_secs(15),
            retry: Duration::from_secs(2),
            since: Seconds::ZERO,
        }
    }
}

/// Everything the loops share.
struct Shared {
    pool: Arc<SessionPool>,
    clocks: Arc<dyn NodeClocks>,
    opts: PveObserverOptions,
    events: mpsc::UnboundedSender<Event>,
    journal: Mutex<JournalReader>,
}

impl Shared {
    fn send(&self, e: Event) {
        // The receiver is gone only once the observer was dropped.
        let _ = self.events.send(e);
    }

    /// The midpoint of a round trip, on the run's clock.
    fn midpoint(sent: Seconds, received: Seconds) -> Seconds {
        Seconds::from_millis((sent.millis() + received.millis()) / 2)
    }

    /// Runs `cmd` on `node`; `None` when the node did not answer or the command failed
    /// (`any_status`: the exit status says something else than failure, and only the text
    /// counts).
    async fn ask(&self, node: &str, cmd: &str, any_status: bool) -> Option<String> {
        let session = match self.pool.get(node).await {
            Ok(s) => s,
            Err(e) => {
                debug!(node, error = %e, "not reachable");
                return None;
            }
        };
        match session.exec(cmd, self.opts.call_timeout).await {
            Ok(o) if o.success() || any_status => Some(o.stdout),
            Ok(o) => {
                debug!(node, cmd, status = o.status, stderr = o.stderr.trim(), "command failed");
                None
            }
            Err(e) => {
                debug!(node, cmd, error = %e, "no answer");
                if e.is_unreachable() {
                    self.pool.forget(node, &session).await;
                }
                None
            }
        }
    }
}

/// A running observer. Dropping it stops its tasks.
pub struct PveObserver {
    shared: Arc<Shared>,
    rx: mpsc::UnboundedReceiver<Event>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl PveObserver {
    /// Starts observing the pool's nodes on the current tokio runtime.
    pub fn start(pool: Arc<SessionPool>, clocks: Arc<dyn NodeClocks>, opts: PveObserverOptions) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared { pool, clocks, opts, events: tx, journal: Mutex::new(JournalReader::default()) });
        let mut tasks = vec![
            tokio::spawn(status_loop(shared.clone(), stop_rx.clone())),
            tokio::spawn(quorum_loop(shared.clone(), stop_rx.clone())),
        ];
        for node in shared.pool.nodes() {
            tasks.push(tokio::spawn(journal_loop(shared.clone(), node, stop_rx.clone())));
        }
        PveObserver { shared, rx, stop, tasks }
    }

    /// Every event observed since the last call, in time order.
    pub fn drain(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Ok(e) = self.rx.try_recv() {
            out.push(e);
        }
        out.sort_by_key(|e| e.t.millis());
        out
    }

    /// Whether a loop has ended on its own (a bug: they run until stopped).
    pub fn failed(&self) -> bool {
        self.tasks.iter().any(|t| t.is_finished())
    }

    /// Stops every loop (each finishes the call it is in, bounded by the call timeout) and
    /// returns what was not drained yet, including journal events still held back.
    pub async fn stop(mut self) -> Vec<Event> {
        let _ = self.stop.send(true);
        let limit = self.shared.opts.call_timeout + Duration::from_secs(5);
        for t in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout(limit, t).await.is_err() {
                debug!("an observer loop did not stop in time");
            }
        }
        let held = lock(&self.shared.journal).finish();
        for e in held {
            self.shared.send(e);
        }
        self.shared.pool.close_all().await;
        self.drain()
    }
}

impl Drop for PveObserver {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sleeps until the next round is due; false once stopped.
async fn next_round(started: Seconds, shared: &Shared, stop: &mut watch::Receiver<bool>) -> bool {
    let spent = Duration::from_millis((shared.clocks.now().millis() - started.millis()).max(0) as u64);
    let left = shared.opts.poll.saturating_sub(spent);
    tokio::select! {
        _ = tokio::time::sleep(left) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

/// One status poll on `node`: both endpoints, `None` if the node did not answer.
struct Answer {
    node: String,
    manager_status: String,
    current: Option<String>,
    quorate: bool,
    /// When the node most likely read its status, and when the last answer was in.
    read: Seconds,
    known: Seconds,
}

async fn ask_status(shared: &Shared, node: &str) -> Option<Answer> {
    let sent = shared.clocks.now();
    let manager_status = shared.ask(node, MANAGER_STATUS, false).await?;
    let read = Shared::midpoint(sent, shared.clocks.now());
    // `current` only refines the services of the manager status.
    let current = shared.ask(node, CURRENT_STATUS, false).await;
    let known = shared.clocks.now();
    // Which node answered, and with quorum or not, is in the answer itself.
    let quorate = parse_manager_status(&manager_status).ok()?.quorum.is_some_and(|(_, q)| q);
    Some(Answer { node: node.to_owned(), manager_status, current, quorate, read, known })
}

async fn status_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let nodes = shared.pool.nodes();
    let mut poller = StatusPoller::default();
    let mut first = 0;
    loop {
        let started = shared.clocks.now();
        let mut chosen: Option<Answer> = None;
        for k in 0..nodes.len() {
            let i = (first + k) % nodes.len();
            let Some(a) = ask_status(&shared, &nodes[i]).await else { continue };
            let quorate = a.quorate;
            if chosen.as_ref().is_none_or(|c| !c.quorate && quorate) {
                chosen = Some(a);
                first = i;
            }
            if quorate {
                break;
            }
        }
        if let Some(a) = chosen {
            let at = shared.clocks.to_node(&a.node, a.read).floor() as i64;
            tracing::trace!(node = a.node, quorate = a.quorate, at, "status read");
            match poller.update(&a.manager_status, a.current.as_deref(), at) {
                Ok(changes) => {
                    for d in changes {
                        shared.send(Event::new(a.known, d).by(format!("{}/pvesh", a.node)));
                    }
                }
                Err(e) => debug!(node = a.node, error = %e, "status not understood"),
            }
        }
        if !next_round(started, &shared, &mut stop).await {
            return;
        }
    }
}

async fn quorum_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let nodes = shared.pool.nodes();
    let mut watch = QuorumWatch::default();
    loop {
        let started = shared.clocks.now();
        // Every node at once: a dead node's time-out must not delay the others' views.
        let mut asks = tokio::task::JoinSet::new();
        for node in &nodes {
            let (shared, node) = (shared.clone(), node.clone());
            asks.spawn(async move {
                // Its exit status says whether the node is quorate, not whether it worked.
                let text = shared.ask(&node, QUORUMTOOL, true).await;
                (node, text, shared.clocks.now())
            });
        }
        let mut views = Vec::new();
        while let Some(r) = asks.join_next().await {
            if let Ok((node, Some(text), at)) = r {
                views.push((node, text, at));
            }
        }
        views.sort_by(|a, b| (a.2.millis(), &a.0).cmp(&(b.2.millis(), &b.0)));
        for (node, text, at) in views {
            match watch.update(&node, &text) {
                Ok(Some(d)) => shared.send(Event::new(at, d).by(format!("{node}/corosync-quorumtool"))),
                Ok(None) => {}
                Err(e) => debug!(node, error = %e, "corosync-quorumtool output not understood"),
            }
        }
        if !next_round(started, &shared, &mut stop).await {
            return;
        }
    }
}

/// How one stream ended.
enum Ended {
    Stopped,
    Lost(String),
}

async fn journal_loop(shared: Arc<Shared>, node: String, mut stop: watch::Receiver<bool>) {
    let since = shared.clocks.to_node(&node, shared.opts.since).floor() as i64;
    let mut from = JournalFrom::Since(since);
    loop {
        let why = match follow(&shared, &node, &mut from, &mut stop).await {
            Ok(Ended::Stopped) => return,
            Ok(Ended::Lost(why)) | Err(why) => why,
        };
        debug!(node, why, "journal stream ended; trying again");
        tokio::select! {
            _ = tokio::time::sleep(shared.opts.retry) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Reads one journal stream of `node` until it ends or the observer stops; `from` moves on
/// with every entry read.
async fn follow(
    shared: &Shared,
    node: &str,
    from: &mut JournalFrom,
    stop: &mut watch::Receiver<bool>,
) -> Result<Ended, String> {
    let session = shared.pool.get(node).await.map_err(|e| e.to_string())?;
    let cmd = journal_follow(from);
    let mut ch = session.open_exec(&cmd, shared.opts.call_timeout).await.map_err(|e| e.to_string())?;
    debug!(node, cmd, "journal stream open");
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let msg = tokio::select! {
            m = ch.wait() => m,
            _ = stop.changed() => return Ok(Ended::Stopped),
        };
        match msg {
            Some(ChannelMsg::Data { data }) => {
                buf.extend_from_slice(&data);
                while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=nl).collect();
                    // By boot and monotonic time where the clocks can (a resumed node's
                    // realtime lags by its pause); else by the node's offset.
                    let (line, on_host) = match shared.clocks.map_entry(node, &line) {
                        Some(mapped) => (mapped, true),
                        None => (line, false),
                    };
                    let events = {
                        let mut reader = lock(&shared.journal);
                        let to_run = |us: i64| {
                            if on_host { shared.clocks.host_to_run(us) } else { shared.clocks.to_run(node, us) }
                        };
                        match reader.line(&line, to_run) {
                            Ok(Some(cursor)) => *from = JournalFrom::AfterCursor(cursor),
                            Ok(None) => {}
                            Err(e) => debug!(node, error = %e, "journal line not understood"),
                        }
                        reader.take()
                    };
                    for e in events {
                        shared.send(e);
                    }
                }
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                return Ok(Ended::Lost(format!("journalctl exited with status {exit_status}")));
            }
            Some(ChannelMsg::Eof | ChannelMsg::Close) | None => {
                // `journalctl --follow` does not end by itself: the session is gone.
                shared.pool.forget(node, &session).await;
                return Ok(Ended::Lost("connection lost".into()));
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_clocks_move_guest_time_by_the_measured_offset() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut offsets = BTreeMap::new();
        offsets.insert("node2".to_owned(), ClockOffset::plain(2.5, 0.001));
        let c = HostClocks { t0, offsets };
        // node2 runs 2.5 s ahead: its 12.5 s after t0 is the run's 10 s.
        assert_eq!(c.to_run("node2", 1_700_000_012_500_000), Seconds(10.0));
        assert_eq!(c.to_run("node1", 1_700_000_012_500_000), Seconds(12.5));
        assert_eq!(c.to_node("node2", Seconds(10.0)), 1_700_000_012.5);
        assert_eq!(c.to_node("node1", Seconds::ZERO), 1_700_000_000.0);
    }
}
