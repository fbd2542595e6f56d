//! The runner's [`Driver`] on a lab of real VMs, for every stack: what is the same whatever
//! runs on the nodes is written here once, and the stack's own part is a [`StackSide`].
//!
//! - One clock ([`RunClock`]): t = 0 when the driver starts, on the host's clock; guest
//!   timestamps are moved onto it with each node's measured offset. A node's clock is measured
//!   again after every resume, reset and power-on the hypervisor reports, and its journal is
//!   mapped by boot and monotonic time across the pauses (`node::ClockMap`).
//! - Live: hypervisor events (libvirt's callbacks) and the stack's own observation.
//! - Faults from the catalogue with the stack's names, each waiting for the steady state first
//!   unless another fault is still in effect; the book of faults in effect; operator actions
//!   on a node no fault cut off.
//! - At the end ([`Driver::collect`]): what the stack held back, and every node's journal
//!   (mapped onto the run's clock, read by the stack's reader where it reads them late).
//! - The artefact bundle: journals, console logs, domain XML, clocks, the stack's files, and
//!   what could not be collected.
//!
//! Every remote call has a time limit.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tracing::{info, warn};

use super::clock::RunClock;
use super::driver::{ActionOutput, Context, Driver, DriverError, Unready};
use super::lab_common::{
    FaultBook, Sessions, apply_fault, export_journals, forget_after, hypervisor_events, lock, pause, run_action, since,
    unix_ms, write_lab_artefacts,
};
use super::stacks::{LabContext, StackSide};
use crate::check::Watched;
use crate::fault::FaultSpec;
use crate::lab::{DomainEvents, Lab};
use crate::node::{Fleet, measure_offset};
use crate::scenario::{Action, Fault, Plan};
use crate::timeline::{Event, EventData, PowerState, Seconds};

/// How long a node's clock is tried again after a reset: a TCG boot to SSH took 60-130 s.
const REMEASURE_WITHIN: Duration = Duration::from_secs(900);

/// The runner's driver on a lab of real VMs, with one stack's side.
pub struct LabDriver<'a> {
    ctx: LabContext<'a>,
    stack: Box<dyn StackSide>,
    hv: DomainEvents,
    /// Clock measurements under way (after a resume, reset or power-on).
    remeasures: Vec<tokio::task::JoinHandle<()>>,
    /// Full journal exports, by node (collected at the end).
    journals: BTreeMap<String, Vec<u8>>,
    /// What could not be collected, for the artefact bundle.
    problems: Vec<String>,
    closed: bool,
}

impl<'a> LabDriver<'a> {
    /// Starts observing `lab` through `fleet`'s sessions with `stack`'s side: t = 0 is now.
    pub fn start(
        lab: &'a Lab,
        fleet: Fleet,
        rt: tokio::runtime::Handle,
        cancel: Arc<AtomicBool>,
        mut stack: Box<dyn StackSide>,
    ) -> Result<Self, DriverError> {
        let hv = lab.hypervisor().subscribe().map_err(|e| e.context("hypervisor events"))?;
        let clock = Arc::new(RunClock::start(&fleet.offsets));
        let record = lab.record();
        let nodes: Vec<String> = record.nodes().map(|v| v.node.clone()).collect();
        let storage = record.storage().map(|v| v.node.clone());
        let sessions = Arc::new(Sessions::from_fleet(record, fleet));
        let ctx = LabContext {
            lab,
            rt,
            sessions,
            cancel,
            clock,
            nodes,
            storage,
            faults: Arc::new(Mutex::new(FaultBook::default())),
        };
        stack.start(&ctx)?;
        Ok(LabDriver {
            ctx,
            stack,
            hv,
            remeasures: Vec::new(),
            journals: BTreeMap::new(),
            problems: Vec::new(),
            closed: false,
        })
    }

    /// The run's start on the host clock.
    pub fn t0(&self) -> SystemTime {
        self.ctx.t0()
    }

    /// Installs and bootstraps the stack for `plan`.
    pub fn setup(&mut self, plan: &Plan, progress: &mut dyn FnMut(&str)) -> Result<(), DriverError> {
        self.ctx.cancelled()?;
        self.stack.setup(&self.ctx, plan, progress)
    }

    /// Waits until the cluster is in the steady state a fault needs, for at most `within`.
    pub fn wait_ready(&mut self, within: Duration, progress: &mut dyn FnMut(&str, Duration)) -> Result<(), Unready> {
        self.stack.wait_ready(&self.ctx, within, progress)
    }

    /// What the stack does once the cluster is ready, before the steps.
    pub fn after_ready(&mut self, plan: &Plan) -> Result<(), DriverError> {
        self.stack.after_ready(&self.ctx, plan)
    }

    fn record_problem(&mut self, what: String) {
        warn!("{what}");
        self.problems.push(what);
    }

    /// Notes the pauses the hypervisor reports, and measures a node's clock again after it
    /// resumed, was reset or was powered on.
    fn track_clocks(&mut self, events: &[Event]) {
        let t0 = self.ctx.clock.t0_secs();
        for e in events {
            let EventData::Power { node, state, reason } = &e.data else { continue };
            let host = t0 + e.t.as_f64();
            let why = match state {
                PowerState::Paused => {
                    self.ctx.clock.paused(node, host);
                    continue;
                }
                PowerState::Running => {
                    self.ctx.clock.resumed(node, host);
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
        let (sessions, clock, cancel) = (self.ctx.sessions.clone(), self.ctx.clock.clone(), self.ctx.cancel.clone());
        let (node, why) = (node.to_owned(), why.to_owned());
        self.remeasures.retain(|t| !t.is_finished());
        self.remeasures.push(self.ctx.rt.spawn(async move {
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
                            clock.measured(&node, o);
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

    /// Exports every node's journal (kept for the artefact bundle); for a stack that reads its
    /// journals late, its entries on the run's clock, mapped by boot and monotonic time.
    fn journal_events(&mut self) -> Vec<Event> {
        // From a little before the run: the bootstrap and the service's first start.
        let since = unix_ms(self.t0()) / 1000 - 900;
        let cmd = self.stack.journal_export(since);
        let (journals, problems) = export_journals(&self.ctx.rt, &self.ctx.sessions, &self.ctx.nodes, &cmd);
        for p in problems {
            self.record_problem(p);
        }
        let mut out = Vec::new();
        for (n, bytes) in journals {
            // Entry by entry, by boot and monotonic time: one offset would put what a node
            // logged after a resume inside its pause.
            let (mapped, stats) = self.ctx.clock.map(&n).map_export(&bytes);
            if stats.by_realtime > 0 {
                info!(
                    node = n,
                    entries = stats.by_realtime,
                    "journal entries of a boot without a clock measurement, mapped by realtime"
                );
            }
            match self.stack.read_journal(&self.ctx, &n, &mapped) {
                Some(Ok(ev)) => out.extend(ev),
                Some(Err(e)) => self.record_problem(format!("{n}: journal not understood: {e}")),
                None => {}
            }
            self.journals.insert(n, bytes);
        }
        out
    }

    /// Writes the artefact bundle into `dir`: every node's journal, the console logs, the
    /// domain XML, every clock measurement and pause (`clocks.json`), the stack's files, and
    /// what could not be collected.
    pub fn write_artefacts(&mut self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("journal"))?;
        for (n, bytes) in &self.journals {
            std::fs::write(dir.join("journal").join(format!("{n}.json")), bytes)?;
        }
        write_lab_artefacts(self.ctx.lab, dir, &mut self.problems)?;
        self.stack.write_artefacts(&self.ctx, dir, &mut self.problems)?;
        if let Ok(json) = serde_json::to_string_pretty(&self.ctx.clock.maps()) {
            std::fs::write(dir.join("clocks.json"), json + "\n")?;
        }
        self.problems.extend(self.stack.take_problems());
        if !self.problems.is_empty() {
            std::fs::write(dir.join("problems.txt"), self.problems.join("\n") + "\n")?;
        }
        Ok(())
    }

    /// Stops every task and closes every session (bounded). Idempotent.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        for t in self.remeasures.drain(..) {
            t.abort();
        }
        self.stack.close(&self.ctx);
        let sessions = self.ctx.sessions.clone();
        self.ctx.rt.block_on(async move { sessions.close_all().await });
    }

    /// A node that is up and not cut off by a fault, for actions without a target: the one
    /// the stack last heard from, else the first reachable.
    fn any_node(&self) -> String {
        let book = lock(&self.ctx.faults);
        self.stack
            .preferred_node()
            .filter(|n| !book.avoid.contains(n))
            .unwrap_or_else(|| book.reachable(&self.ctx.nodes))
    }
}

impl Drop for LabDriver<'_> {
    fn drop(&mut self) {
        self.close();
    }
}

impl Driver for LabDriver<'_> {
    fn now(&self) -> Seconds {
        since(self.t0(), SystemTime::now())
    }

    fn watched(&self) -> Watched {
        self.stack.watched()
    }

    fn pause(&mut self, d: Duration) {
        pause(&self.ctx.cancel, d)
    }

    fn observe(&mut self) -> Result<Vec<Event>, DriverError> {
        self.ctx.cancelled()?;
        let mut out = self.stack.observe(&self.ctx)?;
        let t0 = self.t0();
        let hv = hypervisor_events(self.ctx.lab, &mut self.hv, &self.ctx.nodes, t0);
        self.track_clocks(&hv);
        out.extend(hv);
        out.sort_by_key(|e| e.t.millis());
        Ok(out)
    }

    fn nodes(&self) -> Vec<String> {
        self.ctx.nodes.clone()
    }

    fn fault(&mut self, fault: &Fault, node: &str, heal: bool) -> Result<Seconds, DriverError> {
        self.ctx.cancelled()?;
        // A fault on top of one still in effect (two power pulls for a quorum loss) cannot
        // wait for a steady cluster: the first one is why it is not steady.
        let alone = lock(&self.ctx.faults).active.is_empty();
        if !heal && alone {
            // notes/tcg-lab.md: a fault injected into a cluster that only looks ready (no
            // fence device on the DC) stalls it; that must not be judged as the stack's doing.
            let limit = self.stack.ready_before_fault();
            self.stack
                .wait_ready(&self.ctx, limit, &mut |why, waited| {
                    info!(waited = waited.as_secs(), "before the fault, waiting for: {why}");
                })
                .map_err(|why| DriverError::NotReady { step: "the fault", why })?;
        }
        let spec = FaultSpec::from_scenario(fault, node, self.stack.fault_names())
            .map_err(|e| DriverError::Stack { what: format!("{} on {node}", fault.name()), detail: e.to_string() })?;
        let rec = apply_fault(self.ctx.lab, &self.ctx.rt, &self.ctx.sessions, &spec, heal)?;
        lock(&self.ctx.faults).note(fault, node, heal);
        forget_after(&self.ctx.rt, &self.ctx.sessions, fault, node, heal);
        info!(node, detail = rec.detail, "{} {}", if heal { "healed" } else { "injected" }, fault.name());
        Ok(since(self.t0(), rec.at))
    }

    fn act(&mut self, action: &Action, node: Option<&str>, timeout: Duration) -> Result<ActionOutput, DriverError> {
        self.ctx.cancelled()?;
        let node = node.map(str::to_owned).unwrap_or_else(|| self.any_node());
        run_action(&self.ctx.rt, &self.ctx.sessions, action, node, timeout)
    }

    fn collect(&mut self) -> Vec<Event> {
        let mut out = self.stack.stop(&self.ctx);
        if self.ctx.cancel.load(Ordering::Relaxed) {
            return out;
        }
        out.extend(self.journal_events());
        out
    }
}
