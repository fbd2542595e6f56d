//! Proxmox VE in a live run: the commands an observer runs on the nodes, and the pure parts
//! of observing them: journal entries read one at a time as they stream in, status polls
//! (`manager_status` and `current`) merged and diffed, each node's quorum view from
//! `corosync-quorumtool`.
//!
//! Everything here is text in, events out; the SSH side is the runner's `PveObserver`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use crate::fault::{FaultSpec, StackFaults, UnsafeArgument};
use crate::scenario::Fault;
use crate::stack::journal::read_json;
use crate::timeline::{Event, EventData, Seconds};

use super::diff::{Reading, diff};
use super::grammar::Sink;
use super::journal::entry_at;
use super::quorum::parse_quorumtool;
use super::status::{HaStatus, parse_current, parse_manager_status};
use super::{LogError, StatusError};

/// The manager's full status: node states, services, LRMs.
pub const MANAGER_STATUS: &str = "pvesh get /cluster/ha/status/manager_status --output-format json";
/// The API's summary: every configured service with the manager's `crm_state`.
pub const CURRENT_STATUS: &str = "pvesh get /cluster/ha/status/current --output-format json";
/// One node's own view of quorum. Its exit code says quorate or not; the text says more.
pub const QUORUMTOOL: &str = "corosync-quorumtool -s";

/// The units whose journal makes the PVE timeline. The kernel's softdog line is left out: it
/// is written as the node resets and hardly ever reaches the disk; watchdog-mux's lines before
/// it do.
pub const STACK_UNITS: [&str; 4] =
    ["pve-ha-crm.service", "pve-ha-lrm.service", "watchdog-mux.service", "corosync.service"];

/// Proxmox VE's names for the fault catalogue: watchdog-mux feeds the watchdog; a killed
/// daemon comes back by starting its unit (pmxcfs is pve-cluster's).
pub const FAULTS: StackFaults = StackFaults {
    watchdog_feeder: "watchdog-mux",
    unit_of: |process| match process {
        "corosync" => Some("corosync"),
        "pmxcfs" => Some("pve-cluster"),
        "watchdog-mux" => Some("watchdog-mux"),
        "pve-ha-crm" => Some("pve-ha-crm"),
        "pve-ha-lrm" => Some("pve-ha-lrm"),
        _ => None,
    },
};

/// The catalogue's fault for a scenario's fault on `node`, with this stack's names.
pub fn fault_spec(fault: &Fault, node: &str) -> Result<FaultSpec, UnsafeArgument> {
    FaultSpec::from_scenario(fault, node, &FAULTS)
}

/// A node's full journal since `since_unix` (its clock), as JSON, for the artefact bundle.
pub fn journal_export(since_unix: i64) -> String {
    format!("journalctl --output=json --no-pager --since=@{since_unix}")
}

/// Where a journal stream begins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalFrom {
    /// At this instant of the node's clock (seconds since the epoch): the first stream.
    Since(i64),
    /// Right after the last entry read: a stream opened again after the node was reset or
    /// cut off, so that nothing it wrote meanwhile is lost and nothing is read twice.
    AfterCursor(String),
}

/// `journalctl --follow` of the stack's units as JSON: each entry on one line whatever its
/// message holds, with its priority (the short format has none), its microseconds and the
/// cursor to resume from.
pub fn journal_follow(from: &JournalFrom) -> String {
    let units: String = STACK_UNITS.iter().map(|u| format!(" --unit={u}")).collect();
    let from = match from {
        JournalFrom::Since(s) => format!("--since=@{s}"),
        // Cursors hold `;` and `=`, never a quote.
        JournalFrom::AfterCursor(c) => format!("'--after-cursor={c}'"),
    };
    format!("exec journalctl --follow --output=json --no-pager {from}{units}")
}

#[derive(Deserialize)]
struct CursorField<'a> {
    #[serde(rename = "__CURSOR", borrow, default)]
    cursor: Option<Cow<'a, str>>,
}

/// The PVE journal reader fed one entry at a time, from several nodes' streams at once. The
/// grammar's memory (a fence already started, a lock already lost) spans every node, as it
/// does for a whole export.
#[derive(Default)]
pub struct JournalReader {
    sink: Sink,
    handed: usize,
}

impl JournalReader {
    /// One line of `journalctl -o json`; `to_run` puts the entry's microseconds (the node's
    /// clock) on the run's clock. Returns the entry's cursor. Blank lines are skipped.
    pub fn line(&mut self, line: &[u8], to_run: impl Fn(i64) -> Seconds) -> Result<Option<String>, LogError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let sink = &mut self.sink;
        read_json(line, |l| entry_at(sink, l, to_run(l.us)))?;
        // `read_json` accepted the line, so it is JSON.
        let cursor = serde_json::from_slice::<CursorField>(line).ok().and_then(|c| c.cursor.map(Cow::into_owned));
        Ok(cursor)
    }

    /// The events read since the last call. A quorum change is held back until corosync's
    /// member list after it has been read, since the list is added to that event.
    pub fn take(&mut self) -> Vec<Event> {
        let upto = self.sink.settled_len();
        self.hand(upto)
    }

    /// Everything not handed out yet, held back or not: the streams have ended.
    pub fn finish(&mut self) -> Vec<Event> {
        let upto = self.sink.events.len();
        self.hand(upto)
    }

    fn hand(&mut self, upto: usize) -> Vec<Event> {
        if upto <= self.handed {
            return Vec::new();
        }
        let out = self.sink.events[self.handed..upto].iter().map(|e| Event { line: None, ..e.clone() }).collect();
        self.handed = upto;
        out
    }
}

/// The two status endpoints as one reading. `manager_status` carries the node states, the
/// migration targets, the `running` flags and the LRMs; `current`, read right after it, is
/// the newer word on every service the manager has processed: its `crm_state` and node. The
/// display `state` of `current` is never used (it says `starting` for a started service
/// whose LRM has not reported yet, and `queued` for one the manager has not seen).
pub fn merge_status(manager_status: &str, current: Option<&str>) -> Result<HaStatus, StatusError> {
    let mut status = parse_manager_status(manager_status)?;
    let Some(current) = current else { return Ok(status) };
    let newer = parse_current(current)?.to_ha_status();
    if newer.timestamp > status.timestamp {
        status.timestamp = newer.timestamp;
        status.master = newer.master.clone();
    }
    for (sid, s) in newer.services {
        let same = status.services.get(&sid).is_some_and(|old| old.raw == s.raw && old.node == s.node);
        if !same {
            status.services.insert(sid, s);
        }
    }
    Ok(status)
}

/// Keeps the last status reading and turns each new one into the events that lead to it.
#[derive(Clone, Debug, Default)]
pub struct StatusPoller {
    last: Option<Reading>,
}

impl StatusPoller {
    /// One poll, read when the answering node's clock said `at` (seconds since the epoch; the
    /// staleness of the status is judged against it). Output that does not parse changes
    /// nothing.
    pub fn update(
        &mut self,
        manager_status: &str,
        current: Option<&str>,
        at: i64,
    ) -> Result<Vec<EventData>, StatusError> {
        let next = Reading { status: merge_status(manager_status, current)?, at };
        let events = diff(self.last.as_ref(), &next);
        self.last = Some(next);
        Ok(events)
    }

    pub fn last(&self) -> Option<&Reading> {
        self.last.as_ref()
    }
}

/// Each node's last view of quorum (quorate, member names); a new view is an event.
#[derive(Clone, Debug, Default)]
pub struct QuorumWatch {
    last: BTreeMap<String, (bool, Vec<String>)>,
}

impl QuorumWatch {
    /// `corosync-quorumtool -s` as `node` printed it; the event when its view changed.
    pub fn update(&mut self, node: &str, text: &str) -> Result<Option<EventData>, StatusError> {
        let view = parse_quorumtool(text)?;
        let now = (view.quorate, view.members.iter().map(|m| m.name.clone()).collect());
        if self.last.get(node) == Some(&now) {
            return Ok(None);
        }
        self.last.insert(node.to_owned(), now);
        Ok(Some(view.event(node)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::LockAction;

    #[test]
    fn scenario_faults_use_proxmox_names() {
        use crate::fault::How;
        let spec = fault_spec(&Fault::FreezeWatchdog, "node1").unwrap();
        assert_eq!(
            spec.how,
            How::Guest {
                inject: "pkill -STOP -x watchdog-mux".into(),
                heal: Some("pkill -CONT -x watchdog-mux".into())
            }
        );
        let kill = |p: &str| fault_spec(&Fault::KillProcess { process: p.into(), signal: "KILL".into() }, "node2");
        for (process, unit) in [("pmxcfs", Some("pve-cluster")), ("pve-ha-lrm", Some("pve-ha-lrm")), ("bash", None)] {
            match kill(process).unwrap().how {
                How::Guest { heal, .. } => {
                    assert_eq!(heal, unit.map(|u| format!("systemctl start {u}")), "{process}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    fn json(host: &str, ident: &str, us: i64, msg: &str, cursor: &str) -> String {
        serde_json::json!({
            "__CURSOR": cursor, "__REALTIME_TIMESTAMP": us.to_string(), "_HOSTNAME": host,
            "SYSLOG_IDENTIFIER": ident, "PRIORITY": "6", "MESSAGE": msg,
        })
        .to_string()
    }

    #[test]
    fn entries_stream_onto_the_run_clock_with_their_cursor() {
        let mut r = JournalReader::default();
        let to_run = |us: i64| Seconds::from_millis(us / 1000 - 1_000_000_000);
        let line = json("node1", "pve-ha-crm", 1_000_020_000_000, "got lock 'ha_manager_lock'", "s=a;i=1");
        assert_eq!(r.line(line.as_bytes(), to_run).unwrap().as_deref(), Some("s=a;i=1"));
        let line = json("node1", "pve-ha-crm", 1_000_020_000_000, "status change wait_for_quorum => master", "s=a;i=2");
        r.line(line.as_bytes(), to_run).unwrap();
        let got = r.take();
        assert_eq!(got.len(), 3, "{got:#?}");
        assert_eq!(got[0].t, Seconds(20.0));
        assert_eq!(
            got[0].data,
            EventData::Lock { node: "node1".into(), lock: "ha_manager_lock".into(), action: LockAction::Acquired }
        );
        assert_eq!(got[2].data, EventData::Master { node: "node1".into() });
        assert_eq!(got[2].by.as_deref(), Some("node1/crm"));
        assert!(got.iter().all(|e| e.line.is_none()));
        assert!(r.take().is_empty(), "handed out once");
        assert!(r.line(b"  \n", to_run).unwrap().is_none());
        assert!(r.line(b"{\"MESSAGE\":\"no time\"}", to_run).is_err());
    }

    #[test]
    fn a_quorum_change_waits_for_its_member_list() {
        let mut r = JournalReader::default();
        let to_run = |us: i64| Seconds::from_millis(us / 1000);
        let quorate = "[QUORUM] This node is within the primary component and will provide service.";
        r.line(json("node1", "corosync", 1_000_000, quorate, "c1").as_bytes(), to_run).unwrap();
        assert!(r.take().is_empty(), "the member list follows");
        r.line(json("node1", "corosync", 1_000_100, "[QUORUM] Members[2]: 1 2", "c2").as_bytes(), to_run).unwrap();
        let got = r.take();
        assert!(
            matches!(&got[..], [Event { data: EventData::Quorum { quorate: true, members: Some(m), .. }, .. }] if m == &["1", "2"]),
            "{got:#?}"
        );
        r.line(
            json(
                "node2",
                "corosync",
                2_000_000,
                "[QUORUM] This node is within the non-primary component and will NOT provide any services.",
                "c3",
            )
            .as_bytes(),
            to_run,
        )
        .unwrap();
        assert!(r.take().is_empty());
        assert_eq!(r.finish().len(), 1, "the streams ended before the list came");
    }

    #[test]
    fn current_is_the_newer_word_on_services_by_crm_state() {
        let ms = r#"{"manager_status":{"master_node":"node1","timestamp":100,
            "node_status":{"node1":"online","node2":"online"},
            "service_status":{"vm:101":{"node":"node1","state":"migrate","target":"node2","running":1},
                              "vm:102":{"node":"node2","state":"started","running":1}}},
            "quorum":{"node":"node1","quorate":1}}"#;
        let current = r#"[{"id":"quorum","type":"quorum","node":"node1","quorate":1},
            {"id":"master","type":"master","node":"node1","timestamp":101},
            {"id":"service:vm:101","type":"service","sid":"vm:101","node":"node2","crm_state":"started","state":"starting"},
            {"id":"service:vm:102","type":"service","sid":"vm:102","node":"node2","crm_state":"started","state":"started"},
            {"id":"service:vm:103","type":"service","sid":"vm:103","node":"node1","state":"queued"}]"#;
        let s = merge_status(ms, Some(current)).unwrap();
        assert_eq!(s.timestamp, Some(101));
        let vm101 = &s.services["vm:101"];
        assert_eq!(
            (vm101.raw.as_str(), vm101.node.as_deref(), vm101.target.as_deref()),
            ("started", Some("node2"), None)
        );
        assert_eq!(s.services["vm:102"].running, Some(true), "unchanged: the manager status keeps its flag");
        assert!(!s.services.contains_key("vm:103"), "not processed by the manager yet");
        assert_eq!(s.nodes.len(), 2);
        assert_eq!(merge_status(ms, None).unwrap().services["vm:101"].raw, "migrate");
    }

    #[test]
    fn polls_become_changes_and_quorum_views_become_events() {
        let mut p = StatusPoller::default();
        let ms = r#"{"master_node":"node1","timestamp":100,"node_status":{"node1":"online"},"service_status":{}}"#;
        assert!(p.update(ms, None, 100).unwrap().iter().any(|e| matches!(e, EventData::Master { .. })));
        assert!(p.update(ms, None, 110).unwrap().is_empty());
        assert!(p.update("[]", None, 120).is_err());
        assert_eq!(p.last().map(|r| r.at), Some(110), "garbage keeps the last reading");

        let mut q = QuorumWatch::default();
        let text = "Quorate: Yes\nNode ID: 1\nRing ID: 1.2\n\nMembership information\n----\n Nodeid Votes Name\n 1 1 node1 (local)\n 2 1 node2\n";
        let e = q.update("node1", text).unwrap();
        assert!(
            matches!(e, Some(EventData::Quorum { quorate: true, members: Some(m), .. }) if m == ["node1", "node2"])
        );
        assert!(q.update("node1", text).unwrap().is_none(), "the same view again");
        assert!(q.update("node2", text).unwrap().is_some(), "each node has its own view");
    }

    #[test]
    fn the_follow_command_resumes_after_a_cursor() {
        let first = journal_follow(&JournalFrom::Since(1_700_000_000));
        assert!(first.starts_with("exec journalctl --follow --output=json --no-pager --since=@1700000000 "));
        assert!(first.ends_with("--unit=corosync.service"));
        let again = journal_follow(&JournalFrom::AfterCursor("s=ab;i=7".into()));
        assert!(again.contains(" '--after-cursor=s=ab;i=7' "), "{again}");
    }
}
