//! Tests of the Pacemaker observer on fixtures made with Pacemaker's own tools
//! (`tests/fixtures/pacemaker/make-fixtures.sh`) and on journal lines written from the
//! daemons' message texts.

use std::fmt::Write as _;
use std::path::Path;

use crate::timeline::{EventData, FencePhase, NodeState, ServiceOp, ServiceState, Timeline};

use super::*;

fn fixture(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pacemaker").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn status(name: &str) -> ClusterStatus {
    parse_crm_mon(&fixture(&format!("crm_mon/{name}.xml"))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const STATES: &[&str] = &[
    "healthy",
    "node-lost",
    "fenced",
    "starting",
    "rejoined",
    "moved",
    "monitor-failed",
    "failed-once",
    "failed-everywhere",
    "no-quorum",
    "standby",
    "maintenance",
];

/// One line per node and service, for snapshots a person can review.
fn summary(s: &ClusterStatus) -> String {
    let mut out = String::new();
    writeln!(out, "dc={:?} quorum={:?} stonith={}", s.dc, s.have_quorum, s.stonith_enabled).unwrap();
    for n in &s.nodes {
        let state = n.state.map_or("-", NodeState::as_str);
        writeln!(out, "node {:<6} {:<20} {state}{}", n.name, n.raw, if n.is_dc { " (DC)" } else { "" }).unwrap();
    }
    for r in &s.resources {
        let state = r.state.map_or("-", ServiceState::as_str);
        let within = r.group.as_deref().or(r.clone.as_deref()).unwrap_or("");
        writeln!(out, "rsc  {:<6} {:<11} {:<10} {state:<9} {:?} {within}", r.id, r.raw, r.role, r.nodes).unwrap();
    }
    for id in s.service_ids() {
        let v = s.service(id).unwrap();
        let state = v.state.map_or("-", ServiceState::as_str);
        writeln!(out, "svc  {:<6} {:<15} {state:<9} {:?} error_state={}", v.id, v.raw, v.nodes, error_state(s, id))
            .unwrap();
    }
    for f in s.fail_counts.iter().filter(|f| f.fail_count > 0) {
        writeln!(out, "fail {} on {}: {}/{:?}", f.resource, f.node, f.fail_count, f.migration_threshold).unwrap();
    }
    out
}

#[test]
fn every_crm_mon_fixture_parses() {
    for name in STATES {
        insta::assert_snapshot!(format!("crm_mon_{name}"), summary(&status(name)));
    }
}

#[test]
fn healthy_cluster() {
    let s = status("healthy");
    assert_eq!(s.dc.as_deref(), Some("node1"));
    assert_eq!(s.have_quorum, Some(true));
    assert!(s.stonith_enabled && !s.maintenance_mode);
    assert!(s.nodes.iter().all(|n| n.state == Some(NodeState::Online) && n.raw == "online"));
    let svc = s.service("svc").unwrap();
    assert_eq!(
        (svc.raw.as_str(), svc.state, svc.nodes.as_slice()),
        ("Started", Some(ServiceState::Started), &["node1".to_owned()][..])
    );
    let promoted: Vec<_> = s.instances("state").filter(|r| r.role == "Promoted").flat_map(|r| &r.nodes).collect();
    assert_eq!(promoted, ["node2"]);
    // Clone instances are not services.
    assert_eq!(s.service_ids(), ["svc", "writer", "vip"]);
    assert!(s.service("state").is_none());
    let writer = s.fail_counts.iter().find(|f| f.resource == "writer" && f.node == "node1").unwrap();
    assert_eq!((writer.fail_count, writer.migration_threshold), (0, Some(1)));
}

#[test]
fn lost_node_is_unclean_and_its_services_wait_for_fencing() {
    let s = status("node-lost");
    let n1 = s.node("node1").unwrap();
    assert_eq!(
        (n1.raw.as_str(), n1.state, n1.online, n1.unclean),
        ("UNCLEAN (offline)", Some(NodeState::Lost), false, true)
    );
    assert_eq!(s.dc.as_deref(), Some("node2"));
    assert_eq!(s.service("svc").unwrap().state, Some(ServiceState::Fence));
    let fenced = status("fenced");
    let n1 = fenced.node("node1").unwrap();
    assert_eq!((n1.raw.as_str(), n1.state), ("OFFLINE", Some(NodeState::Lost)));
}

#[test]
fn node_flags_give_crm_mon_texts() {
    assert_eq!(status("standby").node("node1").unwrap().raw, "standby");
    assert_eq!(status("standby").node("node1").unwrap().state, Some(NodeState::Maintenance));
    assert_eq!(status("maintenance").node("node1").unwrap().raw, "maintenance");
    let m = status("maintenance");
    // Resources on a node in maintenance are left alone by the cluster.
    assert_eq!(m.service("svc").unwrap().state, Some(ServiceState::Frozen));
    let nq = status("no-quorum");
    assert_eq!(nq.have_quorum, Some(false));
    assert_eq!(nq.node("node2").unwrap().raw, "UNCLEAN (offline)");
    assert_eq!(nq.service("svc").unwrap().state, Some(ServiceState::Stopped));
}

#[test]
fn failures_and_error_state() {
    let f = status("monitor-failed");
    let w = f.instances("writer").next().unwrap();
    assert_eq!((w.raw.as_str(), w.role.as_str(), w.state), ("FAILED", "Started", Some(ServiceState::Recovery)));
    // A group with one member failed and one started reads as being recovered.
    assert_eq!(f.service("svc").unwrap().state, Some(ServiceState::Recovery));

    let e = status("failed-everywhere");
    for n in ["node1", "node2", "node3"] {
        let fc = e.fail_counts.iter().find(|f| f.resource == "writer" && f.node == n).unwrap();
        assert_eq!((fc.fail_count, fc.migration_threshold), (1, Some(1)), "{n}");
    }
    assert!(error_state(&e, "writer"));
    assert!(error_state(&e, "svc"), "a group whose member is in error and that runs nowhere");
    assert!(!error_state(&e, "vip"), "vip has no failures of its own");
    assert!(!error_state(&e, "state"));
    assert!(!error_state(&e, "no-such-resource"));
    assert_eq!(e.service("writer").unwrap().state, Some(ServiceState::Error));
    assert_eq!(e.service("svc").unwrap().state, Some(ServiceState::Error));

    // Only the exhausted case is an error state.
    for name in STATES.iter().filter(|n| **n != "failed-everywhere") {
        let s = status(name);
        for id in ["svc", "writer", "vip", "state"] {
            assert!(!error_state(&s, id), "{name}: {id}");
        }
    }
}

#[test]
fn error_state_needs_every_eligible_node_exhausted() {
    let mut e = status("failed-everywhere");
    // node3 goes to standby: the other two are still exhausted, so still an error.
    e.nodes[2].standby = true;
    assert!(error_state(&e, "writer"));
    // A clean node without failures would give it somewhere to run.
    e.nodes[2].standby = false;
    e.fail_counts.retain(|f| !(f.resource == "writer" && f.node == "node3"));
    assert!(!error_state(&e, "writer"));
    // No node could run anything: the cluster is down, not the resource.
    let mut down = status("failed-everywhere");
    for n in &mut down.nodes {
        n.online = false;
    }
    assert!(!error_state(&down, "writer"));
}

#[test]
fn starting_is_shown_while_a_start_is_in_flight() {
    let s = status("starting");
    let w = s.instances("writer").next().unwrap();
    assert_eq!((w.role.as_str(), w.state), ("Starting", Some(ServiceState::Starting)));
    let svc = s.service("svc").unwrap();
    assert_eq!(
        (svc.raw.as_str(), svc.state, svc.active_members),
        ("Starting/Stopped", Some(ServiceState::Starting), 1)
    );
}

fn node_event(node: &str, from: &str, to: &str) -> EventData {
    EventData::Node {
        node: node.into(),
        from: from.into(),
        to: to.into(),
        from_state: node_state(from),
        to_state: node_state(to),
    }
}

fn service_event(
    service: &str,
    from: &str,
    to: &str,
    from_state: Option<ServiceState>,
    to_state: ServiceState,
    node: Option<&str>,
) -> EventData {
    EventData::Service {
        service: service.into(),
        from: from.into(),
        to: to.into(),
        from_state,
        to_state: Some(to_state),
        node: node.map(Into::into),
        target: None,
    }
}

fn op(service: &str, node: &str, op: ServiceOp) -> EventData {
    EventData::ServiceOp { service: service.into(), node: node.into(), op, target: None }
}

fn quorum(node: &str, quorate: bool, members: &[&str]) -> EventData {
    EventData::Quorum { node: node.into(), quorate, members: Some(members.iter().map(|m| (*m).to_owned()).collect()) }
}

#[test]
fn diff_tells_a_power_pull_in_order() {
    use ServiceState as S;
    let healthy = status("healthy");
    let lost = status("node-lost");
    let fenced = status("fenced");
    let starting = status("starting");

    // node1 disappears: survivors re-elect, see it UNCLEAN and its services waiting.
    assert_eq!(
        diff(Some(&healthy), &lost),
        vec![
            quorum("node2", true, &["node2", "node3"]),
            quorum("node3", true, &["node2", "node3"]),
            EventData::Master { node: "node2".into() },
            EventData::Fence { node: "node1".into(), phase: FencePhase::Started },
            node_event("node1", "online", "UNCLEAN (offline)"),
            service_event("svc", "Started", "Started", Some(S::Started), S::Fence, Some("node1")),
            service_event("writer", "Started", "Started", Some(S::Started), S::Fence, Some("node1")),
            service_event("vip", "Started", "Started", Some(S::Started), S::Fence, Some("node1")),
        ]
    );
    // Fencing done: node1 is clean and offline, svc runs on node2.
    assert_eq!(
        diff(Some(&lost), &fenced),
        vec![
            EventData::Fence { node: "node1".into(), phase: FencePhase::Acknowledged },
            node_event("node1", "UNCLEAN (offline)", "OFFLINE"),
            op("svc", "node1", ServiceOp::Stopped),
            service_event("svc", "Started", "Started", Some(S::Fence), S::Started, Some("node2")),
            op("svc", "node2", ServiceOp::Running),
            op("writer", "node1", ServiceOp::Stopped),
            service_event("writer", "Started", "Started", Some(S::Fence), S::Started, Some("node2")),
            op("writer", "node2", ServiceOp::Running),
            op("vip", "node1", ServiceOp::Stopped),
            service_event("vip", "Started", "Started", Some(S::Fence), S::Started, Some("node2")),
            op("vip", "node2", ServiceOp::Running),
        ]
    );
    // The same recovery seen half-way: writer starting on node2, vip not yet.
    assert_eq!(
        diff(Some(&lost), &starting),
        vec![
            EventData::Fence { node: "node1".into(), phase: FencePhase::Acknowledged },
            node_event("node1", "UNCLEAN (offline)", "OFFLINE"),
            op("svc", "node1", ServiceOp::Stopped),
            service_event("svc", "Started", "Starting/Stopped", Some(S::Fence), S::Starting, Some("node2")),
            op("svc", "node2", ServiceOp::Running),
            op("writer", "node1", ServiceOp::Stopped),
            service_event("writer", "Started", "Starting", Some(S::Fence), S::Starting, Some("node2")),
            op("writer", "node2", ServiceOp::Running),
            op("vip", "node1", ServiceOp::Stopped),
            service_event("vip", "Started", "Stopped", Some(S::Fence), S::Stopped, None),
        ]
    );
    // node1 comes back: quorum views grow, the node is online, nothing moves.
    let rejoined = status("rejoined");
    assert_eq!(
        diff(Some(&fenced), &rejoined),
        vec![
            quorum("node1", true, &["node1", "node2", "node3"]),
            quorum("node2", true, &["node1", "node2", "node3"]),
            quorum("node3", true, &["node1", "node2", "node3"]),
            node_event("node1", "OFFLINE", "online"),
        ]
    );
    assert!(diff(Some(&rejoined), &rejoined).is_empty());
}

#[test]
fn diff_from_nothing_states_everything() {
    let events = diff(None, &status("healthy"));
    assert_eq!(events[0], quorum("node1", true, &["node1", "node2", "node3"]));
    assert_eq!(events[3], EventData::Master { node: "node1".into() });
    assert_eq!(
        events[4],
        EventData::Node {
            node: "node1".into(),
            from: String::new(),
            to: "online".into(),
            from_state: None,
            to_state: Some(NodeState::Online)
        }
    );
    assert!(events.contains(&op("svc", "node1", ServiceOp::Running)));
    assert!(!events.iter().any(|e| matches!(e, EventData::Fence { .. })));
}

#[test]
fn diff_of_failures_and_of_lost_quorum() {
    use ServiceState as S;
    let healthy = status("healthy");
    let events = diff(Some(&status("failed-once")), &status("failed-everywhere"));
    assert!(
        events.contains(&service_event("svc", "Started", "Stopped", Some(S::Started), S::Error, None)),
        "{events:#?}"
    );
    // Without quorum the isolated node cannot fence the others.
    let events = diff(Some(&healthy), &status("no-quorum"));
    assert!(events.contains(&quorum("node1", false, &["node1"])));
    assert!(!events.iter().any(|e| matches!(e, EventData::Fence { .. })), "{events:#?}");
    assert!(events.contains(&op("svc", "node1", ServiceOp::Stopped)));
}

#[test]
fn a_failed_start_is_not_taken_for_running() {
    // The group svc (writer, vip): stopped, then what crm_mon shows after its start on node2
    // timed out, until the stop that follows.
    let members = |r: &&mut Resource| r.group.as_deref() == Some("svc");
    let mut stopped = status("healthy");
    for r in stopped.resources.iter_mut().filter(members) {
        (r.raw, r.role, r.state, r.active, r.nodes) =
            ("Stopped".into(), "Stopped".into(), Some(ServiceState::Stopped), false, vec![]);
    }
    let mut failed = status("healthy");
    for r in failed.resources.iter_mut().filter(members) {
        (r.raw, r.failed, r.nodes) = ("FAILED".into(), true, vec!["node2".into()]);
    }
    let events = diff(Some(&stopped), &failed);
    assert!(
        !events.iter().any(|e| matches!(e, EventData::ServiceOp { service, .. } if service == "svc")),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, EventData::Service { service, to, .. } if service == "svc" && to == "FAILED"))
    );
    // Started there after all: that is running.
    let events = diff(Some(&stopped), &status("moved"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, EventData::ServiceOp { service, op: ServiceOp::Running, .. } if service == "svc"))
    );
}

#[test]
fn split_brain_shows_as_activity_on_two_nodes() {
    let mut two = status("rejoined");
    // What crm_mon showed when the paused node came back: "Started [ node1 node2 ]".
    for r in two.resources.iter_mut().filter(|r| r.id == "writer") {
        r.nodes = vec!["node2".into(), "node1".into()];
    }
    let events = diff(Some(&status("rejoined")), &two);
    assert_eq!(events, vec![op("svc", "node1", ServiceOp::Running), op("writer", "node1", ServiceOp::Running)]);
}

#[test]
fn bad_xml_says_what_was_expected() {
    let e = parse_crm_mon("<pacemaker-result><summary>").unwrap_err();
    assert!(matches!(e, PacemakerError::Xml { .. }), "{e}");
    assert!(e.to_string().starts_with("crm_mon output is not well-formed XML"), "{e}");

    let e = parse_crm_mon("<cib/>").unwrap_err();
    assert_eq!(e.to_string(), "expected <pacemaker-result> from `crm_mon --output-as=xml`, found <cib> at line 1");

    let e = parse_crm_mon(&fixture("stonith_admin/history.xml")).unwrap_err();
    assert!(e.to_string().starts_with("expected <summary> in crm_mon output"), "{e}");

    let e = parse_crm_mon(&fixture("crm_mon/not-connected.xml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "crm_mon output: the command failed with code 102: Not connected (error: Could not connect to launcher: \
         Connection refused; crm_mon: Connection to cluster failed: Connection refused)"
    );

    let broken = fixture("crm_mon/healthy.xml")
        .replace(r#"<node name="node2" id="2" online="true""#, r#"<node name="node2" id="2" online="yes""#);
    let e = parse_crm_mon(&broken).unwrap_err();
    assert_eq!(e.to_string(), "<node online=\"yes\"> at line 13: expected `true` or `false`");

    let broken = fixture("crm_mon/healthy.xml").replace(r#"<resource id="vip" "#, "<resource ");
    let e = parse_crm_mon(&broken).unwrap_err();
    assert!(e.to_string().starts_with("<resource> at line "), "{e}");
    assert!(e.to_string().ends_with("has no `id` attribute"), "{e}");
}

#[test]
fn fence_history() {
    let h = parse_fence_history(&fixture("stonith_admin/history.xml")).unwrap();
    insta::assert_json_snapshot!("fence_history", h);
    let events: Vec<_> = h.iter().filter_map(FenceRecord::event).collect();
    assert_eq!(
        events,
        vec![
            EventData::Fence { node: "node3".into(), phase: FencePhase::Started },
            EventData::Fence { node: "node1".into(), phase: FencePhase::Failed },
            EventData::Fence { node: "node1".into(), phase: FencePhase::Acknowledged },
        ],
        "unfencing (`on`) is not fencing"
    );
    assert_eq!(h[1].completed_us, Some(1_795_350_061_000_000));
    assert_eq!(h[2].completed_us, Some(1_795_348_849_000_000), "13:00:49 +01:00 is 12:00:49Z");

    assert!(parse_fence_history(&fixture("stonith_admin/empty.xml")).unwrap().is_empty());
    let e = parse_fence_history(&fixture("stonith_admin/not-connected.xml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "stonith_admin history: the command failed with code 102: Not connected (Could not connect to fencer: \
         Transport endpoint is not connected)"
    );
    let e = parse_fence_history(&fixture("stonith_admin/history.xml").replace("status=\"pending\"", "status=\"odd\""))
        .unwrap_err();
    assert_eq!(e.to_string(), "<fence_event status=\"odd\"> at line 3: expected `success`, `failed` or `pending`");
}

// ---------------------------------------------------------------------------------------
// journal

/// Events as `t by kind …` lines, the same in both framings.
fn story(tl: &Timeline) -> String {
    let mut out = String::new();
    for e in &tl.events {
        let body = serde_json::to_value(&e.data).unwrap();
        writeln!(out, "{:>7} {:<26} {}", e.t.to_string(), e.by.as_deref().unwrap_or(""), body).unwrap();
    }
    out
}

#[test]
fn journal_fixtures_read_the_same_in_both_framings() {
    for name in ["power-pull", "link-down-victim", "failures"] {
        let short = read_journal(fixture(&format!("journal/{name}.log")).as_bytes()).unwrap();
        let json = read_journal(fixture(&format!("journal/{name}.json")).as_bytes()).unwrap();
        assert_eq!(short.meta.format.as_deref(), Some("journal-short-iso-precise"));
        assert_eq!(json.meta.format.as_deref(), Some("journal-json"));
        assert_eq!(short.meta.start, json.meta.start, "{name}");
        assert_eq!(short.meta.end, json.meta.end, "{name}");
        assert_eq!(story(&short), story(&json), "{name}");
        insta::assert_snapshot!(format!("journal_{name}"), story(&short));
    }
}

fn kinds_at(tl: &Timeline, f: impl Fn(&EventData) -> bool) -> Vec<String> {
    tl.events.iter().filter(|e| f(&e.data)).map(|e| e.t.to_string()).collect()
}

#[test]
fn power_pull_journal_times_the_fencing() {
    let tl = read_journal(fixture("journal/power-pull.log").as_bytes()).unwrap();
    let fence =
        |phase| move |d: &EventData| matches!(d, EventData::Fence { node, phase: p } if node == "node1" && *p == phase);
    // t = 0 is 11:58:00.101; the fault was at 12:00:00.
    assert_eq!(kinds_at(&tl, fence(FencePhase::Started)), ["148.299"], "will be fenced, once");
    assert_eq!(kinds_at(&tl, fence(FencePhase::Acknowledged)), ["169.499"], "self-fencing assumed complete, once");
    assert_eq!(
        kinds_at(&tl, |d| matches!(d, EventData::Master { .. })),
        ["7.199", "148.199"],
        "node1 at start, node2 after its election"
    );
    assert!(
        tl.events.iter().any(|e| e.data
            == EventData::Recovery { service: "writer".into(), from: "node1".into(), to: Some("node2".into()) })
    );
    assert!(!tl.events.iter().any(|e| matches!(&e.data, EventData::Recovery { service, .. } if service == "state")));
    assert_eq!(
        kinds_at(&tl, |d| matches!(d, EventData::Node { node, to, .. } if node == "node1" && to == "lost")),
        ["142.919"],
        "every daemon of every node logs the peer change: one event"
    );
    assert_eq!(
        kinds_at(&tl, |d| matches!(d, EventData::ServiceOp { op: ServiceOp::Running, .. })),
        ["173.499", "174.999"]
    );
    // Two "Completed service synchronization", knet's "best link" and systemd's line; the
    // DC's "Initiating …" repeats the node's own request and counts as recognised.
    assert_eq!(tl.meta.unrecognised, 4);
}

#[test]
fn isolated_node_journal_shows_quorum_loss_and_the_watchdog() {
    let tl = read_journal(fixture("journal/link-down-victim.json").as_bytes()).unwrap();
    let quorum: Vec<_> = tl
        .events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Quorum { quorate, members, .. } => Some((e.t.to_string(), *quorate, members.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        quorum,
        [
            ("0".into(), true, Some(vec!["1".into(), "2".into(), "3".into()])),
            ("22.95".into(), false, Some(vec!["1".into()])),
        ],
        "the controller's `Quorum lost` repeats corosync's"
    );
    assert!(
        tl.events.iter().any(|e| e.data == EventData::Watchdog { node: "node1".into(), action: "expiring".into() })
    );
    let logs: Vec<_> = tl
        .events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Log { level, message } => Some(format!("{level}: {message}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        logs,
        [
            "warning: Fencing and resource management disabled due to lack of quorum",
            "warning: pcmk health check: UNHEALTHY",
            "warning: Servant pcmk is outdated (age: 4)",
            "notice: pacemaker-based[1095] is unresponsive to ipc after 1 tries",
        ]
    );
}

#[test]
fn failed_operations_and_failed_fencing() {
    let tl = read_journal(fixture("journal/failures.log").as_bytes()).unwrap();
    let errors: Vec<_> = tl
        .events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::ServiceError { service, node, .. } => {
                Some(format!("{service}@{}", node.as_deref().unwrap_or("?")))
            }
            _ => None,
        })
        .collect();
    assert_eq!(errors, ["writer@node1"; 4], "monitor result, scheduler's record, threshold, stop timeout");
    assert!(tl.events.iter().any(|e| e.data == op("writer", "node1", ServiceOp::Failed)));
    assert!(
        tl.events.iter().any(|e| e.data
            == EventData::Recovery { service: "writer".into(), from: "node1".into(), to: Some("node3".into()) })
    );
    assert!(
        !tl.events.iter().any(|e| matches!(&e.data, EventData::Recovery { service, .. } if service == "vip")),
        "a move from a node not being fenced is not a recovery"
    );
    let fences: Vec<_> = tl
        .events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Fence { phase, .. } => Some(*phase),
            _ => None,
        })
        .collect();
    assert_eq!(fences, [FencePhase::Started, FencePhase::Failed]);
}

#[test]
fn journal_framing_errors() {
    assert!(matches!(read_journal(b"\n-- No entries --\n"), Err(PacemakerError::Empty)));
    let e = read_journal(b"Nov 22 12:00:00 node1 corosync[1]: hello\n").unwrap_err();
    assert!(e.to_string().starts_with("unknown journal format: line 1 is `Nov 22 12:00:00 node1"), "{e}");
    let e = read_journal(b"{\"MESSAGE\":\"x\"}\n").unwrap_err();
    assert_eq!(e.to_string(), "line 1: journal entry has no __REALTIME_TIMESTAMP");
}

#[test]
fn without_stonith_an_unclean_node_made_clean_is_not_a_fence() {
    let mut lost = status("node-lost");
    let mut cleared = status("fenced");
    let fence = |v: &[EventData]| v.iter().any(|e| matches!(e, EventData::Fence { .. }));
    assert!(fence(&diff(Some(&lost), &cleared)), "with stonith the cleared node was fenced");
    // stonith-enabled=false: Pacemaker clears it on "blind faith", nothing was fenced.
    lost.stonith_enabled = false;
    cleared.stonith_enabled = false;
    assert!(!fence(&diff(Some(&lost), &cleared)), "{:#?}", diff(Some(&lost), &cleared));
}
