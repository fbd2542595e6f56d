//! Pacemaker in a live run: the commands hadrill runs on the nodes, crm_mon snapshots turned
//! into timeline events as they are polled, the readiness gate before a fault, the scenario's
//! faults as the catalogue's, and the nodes' journal exports moved onto the run's clock.
//!
//! Everything here is pure (text in, events or verdicts out); the SSH side is the runner's
//! `LabDriver`.

use crate::fault::{FaultSpec, StackFaults, UnsafeArgument};
use crate::scenario::Fault;
use crate::timeline::{Event, EventData, Seconds};

use super::status::{ClusterStatus, parse_crm_mon};
use super::{PacemakerError, read_journal};

/// One snapshot of the cluster as the polled node's partition sees it. A C tool: fast even
/// under TCG (crmsh takes 26–60 s a command there).
pub const CRM_MON: &str = "crm_mon --output-as=xml -1";

/// The fence devices this node's fencer registered.
pub const FENCE_DEVICES: &str = "stonith_admin -L";

/// The units whose journal makes the Pacemaker timeline.
pub const STACK_UNITS: [&str; 3] = ["corosync.service", "pacemaker.service", "sbd.service"];

/// Keeps the last crm_mon snapshot and turns each new one into the events that lead to it.
#[derive(Clone, Debug, Default)]
pub struct StatusPoller {
    last: Option<ClusterStatus>,
}

impl StatusPoller {
    /// Read one `crm_mon --output-as=xml` output; the events since the previous snapshot.
    /// Output that does not parse changes nothing.
    pub fn update(&mut self, xml: &str) -> Result<Vec<EventData>, PacemakerError> {
        let next = parse_crm_mon(xml)?;
        let events = super::diff(self.last.as_ref(), &next);
        self.last = Some(next);
        Ok(events)
    }

    pub fn last(&self) -> Option<&ClusterStatus> {
        self.last.as_ref()
    }
}

/// Whether `stonith_admin -L` lists the `watchdog` device (sbd's self-fencing). A fencer that
/// lost its CIB connection during a starved boot lists none, and then nobody can fence.
pub fn lists_watchdog(stonith_admin_list: &str) -> bool {
    stonith_admin_list.lines().any(|l| l.trim() == "watchdog")
}

/// What one node said about itself for the readiness gate.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeHealth {
    pub node: String,
    /// Whether its fencer has the `watchdog` device; `None`: could not ask.
    pub watchdog: Option<bool>,
    /// pacemakerd killed a daemon that was "unresponsive to ipc" since the cluster started.
    pub ipc_trouble: bool,
}

/// Why the cluster is not in the steady state a fault needs; empty when it is: every node
/// online, clean and in the quorate partition of a DC, fencing enabled with the watchdog
/// device registered on every node, no daemon respawned for being unresponsive, every
/// service started (notes/tcg-lab.md: a fault on a cluster that only looks ready stalls it).
/// A set-up broken on purpose may have no stonith (`stonith` false) or the device on fewer
/// nodes: only the fencers of `device_on` are asked for it (every node, when sound).
pub fn unready(
    status: Option<&ClusterStatus>,
    nodes: &[String],
    services: &[String],
    health: &[NodeHealth],
    stonith: bool,
    device_on: &[String],
) -> Vec<String> {
    let mut why = Vec::new();
    let Some(s) = status else {
        return vec!["crm_mon has not answered yet".into()];
    };
    match (&s.dc, s.have_quorum) {
        (None, _) => why.push("no DC elected".into()),
        (Some(dc), Some(false) | None) => why.push(format!("the partition of {dc} has no quorum")),
        _ => {}
    }
    if stonith && !s.stonith_enabled {
        why.push("stonith-enabled is false".into());
    }
    for n in nodes {
        match s.node(n) {
            None => why.push(format!("{n} is not in the cluster")),
            Some(x) if !x.online || x.unclean || x.pending => why.push(format!("{n} is {}", x.raw)),
            Some(_) => {}
        }
    }
    for n in nodes {
        match health.iter().find(|h| &h.node == n) {
            _ if !device_on.contains(n) => {}
            None | Some(NodeHealth { watchdog: None, .. }) => why.push(format!("{n}: fence devices not known")),
            Some(NodeHealth { watchdog: Some(false), .. }) => {
                why.push(format!("{n}: the fencer has no `watchdog` device"))
            }
            _ => {}
        }
        if health.iter().any(|h| &h.node == n && h.ipc_trouble) {
            why.push(format!("{n}: pacemakerd respawned a daemon \"unresponsive to ipc\""));
        }
    }
    for id in services {
        match s.service(id) {
            None => why.push(format!("{id} is not configured")),
            Some(v) if v.state != Some(crate::timeline::ServiceState::Started) => {
                why.push(format!("{id} is {}", if v.raw.is_empty() { "not running" } else { &v.raw }))
            }
            Some(_) => {}
        }
    }
    why
}

/// Pacemaker's names for the fault catalogue: its watchdog feeder is sbd; a killed daemon
/// comes back by starting its unit.
pub const FAULTS: StackFaults = StackFaults {
    watchdog_feeder: "sbd",
    unit_of: |process| match process {
        "corosync" => Some("corosync"),
        "sbd" => Some("sbd"),
        p if p == "pacemakerd" || p.starts_with("pacemaker-") => Some("pacemaker"),
        _ => None,
    },
};

/// The catalogue's fault for a scenario's fault on `node`, with this stack's names.
pub fn fault_spec(fault: &Fault, node: &str) -> Result<FaultSpec, UnsafeArgument> {
    FaultSpec::from_scenario(fault, node, &FAULTS)
}

/// The command that exports a node's journal since `since_unix` (guest clock), as JSON.
pub fn journal_export(since_unix: i64) -> String {
    format!("journalctl --output=json --no-pager --since=@{since_unix}")
}

/// The entries of a full JSON journal export that make the Pacemaker timeline: the stack's
/// units and the kernel (softdog, watchdog).
pub fn stack_entries(export: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in export.split(|b| *b == b'\n') {
        let Ok(serde_json::Value::Object(f)) = serde_json::from_slice::<serde_json::Value>(line) else { continue };
        let unit = f.get("_SYSTEMD_UNIT").and_then(|v| v.as_str()).unwrap_or_default();
        let ident = f.get("SYSLOG_IDENTIFIER").and_then(|v| v.as_str()).unwrap_or_default();
        let kernel = f.get("_TRANSPORT").and_then(|v| v.as_str()) == Some("kernel") || ident == "kernel";
        // By unit on a live node; by identifier in exports that lost the trusted fields.
        let daemon = matches!(ident, "corosync" | "pacemakerd" | "sbd") || ident.starts_with("pacemaker-");
        if STACK_UNITS.contains(&unit) || daemon || kernel {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    out
}

/// One node's journal export (its stack entries) as events on the run's clock: guest times
/// are moved onto the host's with the node's measured offset (guest − host, seconds), then
/// made relative to the run's start `t0_unix_ms` (host clock).
pub fn journal_events(export: &[u8], offset_secs: f64, t0_unix_ms: i64) -> Result<Vec<Event>, PacemakerError> {
    let entries = stack_entries(export);
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let timeline = read_journal(&entries)?;
    // The reader counts from its earliest entry; that entry's wall-clock time anchors it.
    let Some(first_us) =
        timeline.meta.start.as_deref().and_then(|s| s.parse::<jiff::Timestamp>().ok()).map(|t| t.as_microsecond())
    else {
        return Ok(Vec::new());
    };
    let shift_ms = (first_us / 1000) - (offset_secs * 1000.0).round() as i64 - t0_unix_ms;
    Ok(timeline
        .events
        .into_iter()
        .map(|mut e| {
            e.t = Seconds::from_millis(e.t.millis() + shift_ms);
            // Lines of the export the run did not write; the artefact bundle keeps the export.
            e.line = None;
            e
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::timeline::{FencePhase, ServiceOp};

    fn fixture(rel: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pacemaker").join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn nodes() -> Vec<String> {
        vec!["node1".into(), "node2".into(), "node3".into()]
    }

    fn healthy() -> Vec<NodeHealth> {
        nodes().into_iter().map(|node| NodeHealth { node, watchdog: Some(true), ipc_trouble: false }).collect()
    }

    #[test]
    fn polling_turns_snapshots_into_changes_only() {
        let mut p = StatusPoller::default();
        let first = p.update(&fixture("crm_mon/healthy.xml")).unwrap();
        assert!(first.iter().any(|e| matches!(e, EventData::Master { node } if node == "node1")));
        assert!(p.update(&fixture("crm_mon/healthy.xml")).unwrap().is_empty(), "the same snapshot changes nothing");
        let lost = p.update(&fixture("crm_mon/node-lost.xml")).unwrap();
        assert!(lost.iter().any(|e| matches!(e, EventData::Node { node, .. } if node == "node1")), "{lost:#?}");
        let fenced = p.update(&fixture("crm_mon/fenced.xml")).unwrap();
        assert!(
            fenced
                .iter()
                .any(|e| matches!(e, EventData::Fence { node, phase: FencePhase::Acknowledged } if node == "node1"))
                || lost
                    .iter()
                    .chain(&fenced)
                    .any(|e| matches!(e, EventData::ServiceOp { op: ServiceOp::Running, node, .. } if node != "node1")),
            "{fenced:#?}"
        );
        // Garbage is an error and keeps the last good snapshot.
        let before = p.last().cloned();
        assert!(p.update("<html/>").is_err());
        assert_eq!(p.last(), before.as_ref());
    }

    #[test]
    fn a_healthy_cluster_is_ready_and_every_gap_is_named() {
        let ok = parse_crm_mon(&fixture("crm_mon/healthy.xml")).unwrap();
        let svc = vec!["svc".to_owned()];
        let all = nodes();
        assert_eq!(unready(Some(&ok), &all, &svc, &healthy(), true, &all), Vec::<String>::new());
        assert_eq!(unready(None, &all, &svc, &healthy(), true, &all), ["crm_mon has not answered yet"]);
        let mut no_dog = healthy();
        no_dog[1].watchdog = Some(false);
        no_dog[2].ipc_trouble = true;
        let why = unready(Some(&ok), &all, &svc, &no_dog, true, &all);
        assert!(why.iter().any(|w| w.contains("node2: the fencer has no `watchdog`")), "{why:?}");
        assert!(why.iter().any(|w| w.contains("node3") && w.contains("unresponsive to ipc")), "{why:?}");
        let lost = parse_crm_mon(&fixture("crm_mon/node-lost.xml")).unwrap();
        let why = unready(Some(&lost), &all, &svc, &healthy(), true, &all);
        assert!(why.iter().any(|w| w.starts_with("node1 is")), "{why:?}");
        let no_quorum = parse_crm_mon(&fixture("crm_mon/no-quorum.xml")).unwrap();
        assert!(unready(Some(&no_quorum), &all, &svc, &healthy(), true, &all).iter().any(|w| w.contains("no quorum")));
        let why = unready(Some(&ok), &all, &["nosuch".to_owned()], &healthy(), true, &all);
        assert_eq!(why, ["nosuch is not configured"]);
        // Without fencing by design, a fencer without its device is no reason to wait.
        let ipc = ["node3: pacemakerd respawned a daemon \"unresponsive to ipc\""];
        assert_eq!(unready(Some(&ok), &all, &svc, &no_dog, false, &[]), ipc);
        // Nor a fencer left without it on purpose, while stonith is still asked for.
        let others: Vec<String> = all.iter().filter(|n| *n != "node2").cloned().collect();
        assert_eq!(unready(Some(&ok), &all, &svc, &no_dog, true, &others), ipc);
        assert_eq!(unready(Some(&ok), &all, &svc, &no_dog, true, &[]), ipc);
    }

    #[test]
    fn stonith_admin_listing() {
        assert!(lists_watchdog(" watchdog\n1 fence device found\n"));
        assert!(!lists_watchdog("0 fence devices found\n"));
        assert!(!lists_watchdog("watchdog-thing\n"));
    }

    #[test]
    fn scenario_faults_map_onto_the_catalogue() {
        use crate::fault::How;
        use crate::lab::NetRole;
        use crate::scenario::NetworkKind;
        let n = "node2";
        let how = |f: Fault| fault_spec(&f, n).unwrap().how;
        assert_eq!(how(Fault::PowerPull), How::Power);
        assert_eq!(how(Fault::LinkDown { network: NetworkKind::Cluster }), How::Link { net: NetRole::Cluster });
        assert_eq!(how(Fault::LinkDown { network: NetworkKind::Storage }), How::Link { net: NetRole::Storage });
        assert_eq!(
            how(Fault::KillProcess { process: "pacemaker-fenced".into(), signal: "KILL".into() }),
            How::Guest {
                inject: "pkill -KILL -x pacemaker-fenced".into(),
                heal: Some("systemctl start pacemaker".into())
            }
        );
        assert_eq!(
            how(Fault::KillProcess { process: "sleep".into(), signal: "TERM".into() }),
            How::Guest { inject: "pkill -TERM -x sleep".into(), heal: None }
        );
        assert_eq!(
            how(Fault::FreezeWatchdog),
            How::Guest { inject: "pkill -STOP -x sbd".into(), heal: Some("pkill -CONT -x sbd".into()) }
        );
        assert_eq!(how(Fault::Pause), How::Pause);
        assert_eq!(fault_spec(&Fault::Pause, n).unwrap().name, "pause");
    }

    #[test]
    fn journal_exports_land_on_the_run_clock() {
        let export = fixture("journal/power-pull.json");
        let all = read_journal(&stack_entries(export.as_bytes())).unwrap();
        assert!(!all.events.is_empty(), "the fixture has stack entries");
        let first_us: i64 = all.meta.start.as_deref().unwrap().parse::<jiff::Timestamp>().unwrap().as_microsecond();
        // The run began 10 s after the first entry (host clock); the guest runs 0.5 s ahead.
        let t0_ms = first_us / 1000 - 10_000;
        let events = journal_events(export.as_bytes(), 0.5, t0_ms).unwrap();
        assert_eq!(events.len(), all.events.len());
        assert_eq!(events[0].t.millis(), all.events[0].t.millis() + 10_000 - 500);
        assert!(events.iter().all(|e| e.line.is_none()));
        assert!(journal_events(b"", 0.0, 0).unwrap().is_empty());
    }
}
