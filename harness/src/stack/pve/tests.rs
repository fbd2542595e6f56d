//! Tests of the Proxmox HA reader: each rule on real lines, the three framings of one
//! message, detection, errors, and every regression case of the HA manager's corpus.

use crate::stack::FramingError;
use std::path::{Path, PathBuf};

use crate::timeline::{
    EventData, FaultKind, FencePhase, LockAction, NodeState, PowerState, Seconds, ServiceOp, ServiceState, Timeline,
};

use super::*;

fn sim(text: &str) -> Timeline {
    parse(text.as_bytes(), LogFormat::Simulator).unwrap()
}

fn data(t: &Timeline) -> Vec<EventData> {
    t.events.iter().map(|e| e.data.clone()).collect()
}

/// One message of `node`'s `daemon` (`crm`, `lrm`, `watchdog-mux`, `corosync`, `kernel`) in
/// each framing: simulator, short-iso-precise, JSON.
fn framings(node: &str, daemon: &str, level: &str, priority: u8, msg: &str) -> [String; 3] {
    let ident = match daemon {
        "crm" => "pve-ha-crm",
        "lrm" => "pve-ha-lrm",
        other => other,
    };
    let source = format!("{node}/{daemon}");
    [
        format!("{level:<5} {:>5} {source:>12}: {msg}\n", 160),
        format!("2026-11-22T12:16:12.123456+01:00 {node} {ident}[1234]: {msg}\n"),
        format!(
            "{}\n",
            serde_json::json!({
                "__CURSOR": "s=abc;i=1",
                "__REALTIME_TIMESTAMP": "1795346172123456",
                "_HOSTNAME": node,
                "SYSLOG_IDENTIFIER": ident,
                "_COMM": ident,
                "PRIORITY": priority.to_string(),
                "MESSAGE": msg,
                "_PID": "1234",
            })
        ),
    ]
}

/// The events of one message, checked to be equal in every framing.
fn events_of(node: &str, daemon: &str, level: &str, msg: &str) -> Vec<EventData> {
    let priority = match level {
        "err" => 3,
        "warn" => 4,
        "noti" => 5,
        _ => 6,
    };
    let [s, short, json] = framings(node, daemon, level, priority, msg);
    let a = data(&parse(s.as_bytes(), LogFormat::Simulator).unwrap());
    let b = data(&parse(short.as_bytes(), LogFormat::JournalShort).unwrap());
    let c = data(&parse(json.as_bytes(), LogFormat::JournalJson).unwrap());
    assert_eq!(a, b, "simulator vs short for {msg:?}");
    assert_eq!(a, c, "simulator vs json for {msg:?}");
    a
}

fn s(v: &str) -> String {
    v.to_owned()
}

#[test]
fn service_state_changes_with_and_without_suffix() {
    assert_eq!(
        events_of("node1", "crm", "info", "service 'vm:103': state changed from 'started' to 'fence'"),
        vec![EventData::Service {
            service: s("vm:103"),
            from: s("started"),
            to: s("fence"),
            from_state: Some(ServiceState::Started),
            to_state: Some(ServiceState::Fence),
            node: None,
            target: None,
        }]
    );
    assert_eq!(
        events_of(
            "node1",
            "crm",
            "info",
            "service 'vm:101': state changed from 'started' to 'migrate'  (node = node1, target = node2)"
        ),
        vec![EventData::Service {
            service: s("vm:101"),
            from: s("started"),
            to: s("migrate"),
            from_state: Some(ServiceState::Started),
            to_state: Some(ServiceState::Migrating),
            node: Some(s("node1")),
            target: Some(s("node2")),
        }]
    );
    let timeout = events_of(
        "node1",
        "crm",
        "info",
        "service 'ct:102': state changed from 'started' to 'request_stop'  (timeout = 30)",
    );
    assert!(matches!(
        &timeout[..],
        [EventData::Service { to_state: Some(ServiceState::Stopping), node: None, target: None, .. }]
    ));
    let balance = events_of(
        "node1",
        "crm",
        "info",
        "service 'vm:101': state changed from 'request_start' to 'request_start_balance'  (node = node1, target = node3)",
    );
    assert!(matches!(&balance[..], [EventData::Service { to_state: Some(ServiceState::Starting), .. }]));
}

#[test]
fn node_state_changes_and_fencing() {
    let ev = events_of("node1", "crm", "info", "node 'node3': state changed from 'online' => 'unknown'");
    assert_eq!(
        ev,
        vec![EventData::Node {
            node: s("node3"),
            from: s("online"),
            to: s("unknown"),
            from_state: Some(NodeState::Online),
            to_state: Some(NodeState::Lost),
        }]
    );
    // Entering `fence` is the start of fencing, in every framing.
    let ev = events_of("node1", "crm", "info", "node 'node3': state changed from 'unknown' => 'fence'");
    assert_eq!(ev[1], EventData::Fence { node: s("node3"), phase: FencePhase::Started });
    assert_eq!(
        events_of("node1", "crm", "info", "fencing: acknowledged - got agent lock for node 'node3'"),
        vec![EventData::Fence { node: s("node3"), phase: FencePhase::Acknowledged }]
    );
    assert_eq!(
        events_of("node1", "crm", "err", "tried all fence devices for node 'node3'"),
        vec![EventData::Fence { node: s("node3"), phase: FencePhase::Failed }]
    );
    // The e-mails alone (a log cut just before the state change) still say it.
    let t = sim("emai    160    node1/crm: FENCE: Try to fence node 'node3'\n");
    assert_eq!(data(&t), vec![EventData::Fence { node: s("node3"), phase: FencePhase::Started }]);
}

#[test]
fn fence_start_and_acknowledgement_are_not_doubled_by_the_emails() {
    let t = sim("info    160    node1/crm: node 'node3': state changed from 'unknown' => 'fence'
emai    160    node1/crm: FENCE: Try to fence node 'node3'
info    240    node1/crm: got lock 'ha_agent_node3_lock'
info    240    node1/crm: fencing: acknowledged - got agent lock for node 'node3'
info    240    node1/crm: node 'node3': state changed from 'fence' => 'unknown'
emai    240    node1/crm: SUCCEED: fencing: acknowledged - got agent lock for node 'node3'
info    400    node1/crm: node 'node3': state changed from 'unknown' => 'fence'
emai    400    node1/crm: FENCE: Try to fence node 'node3'
");
    let fences: Vec<_> = t
        .events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Fence { phase, .. } => Some((e.t, *phase, e.line)),
            _ => None,
        })
        .collect();
    assert_eq!(
        fences,
        vec![
            (Seconds(160.0), FencePhase::Started, Some(1)),
            (Seconds(240.0), FencePhase::Acknowledged, Some(4)),
            (Seconds(400.0), FencePhase::Started, Some(7)),
        ]
    );
    assert_eq!(t.meta.unrecognised, 0);
}

#[test]
fn daemon_states_masters_and_locks() {
    assert_eq!(
        events_of("node1", "crm", "info", "status change wait_for_quorum => master"),
        vec![
            EventData::Daemon { node: s("node1"), daemon: s("crm"), from: s("wait_for_quorum"), to: s("master") },
            EventData::Master { node: s("node1") },
        ]
    );
    assert_eq!(
        events_of("node3", "lrm", "info", "status change active => lost_agent_lock"),
        vec![
            EventData::Daemon { node: s("node3"), daemon: s("lrm"), from: s("active"), to: s("lost_agent_lock") },
            EventData::Lock { node: s("node3"), lock: s("ha_agent_node3_lock"), action: LockAction::Lost },
        ]
    );
    assert_eq!(
        events_of("node1", "crm", "info", "got lock 'ha_manager_lock'"),
        vec![EventData::Lock { node: s("node1"), lock: s("ha_manager_lock"), action: LockAction::Acquired }]
    );
    // A real cluster's Env/PVE2 words.
    assert_eq!(
        events_of("node1", "lrm", "info", "successfully acquired lock 'ha_agent_node1_lock'"),
        vec![EventData::Lock { node: s("node1"), lock: s("ha_agent_node1_lock"), action: LockAction::Acquired }]
    );
    assert_eq!(
        events_of("node2", "crm", "info", "voluntary release CRM lock"),
        vec![EventData::Lock { node: s("node2"), lock: s("ha_manager_lock"), action: LockAction::Released }]
    );
    assert_eq!(
        events_of("node2", "lrm", "info", "HA disarm requested, releasing agent lock and watchdog"),
        vec![EventData::Lock { node: s("node2"), lock: s("ha_agent_node2_lock"), action: LockAction::Released }]
    );
    // `lost lock` (PVE2, no closing quote) and the state change after it are one loss.
    let t = sim("err     100    node1/lrm: lost lock 'ha_agent_node1_lock - cfs lock update failed - Permission denied
info    100    node1/lrm: status change active => lost_agent_lock
info    110    node1/lrm: got lock 'ha_agent_node1_lock'
info    200    node1/lrm: status change active => lost_agent_lock
");
    let locks: Vec<_> = t
        .events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Lock { lock, action, .. } => Some((e.t.millis() / 1000, lock.as_str(), *action)),
            _ => None,
        })
        .collect();
    assert_eq!(
        locks,
        vec![
            (100, "ha_agent_node1_lock", LockAction::Lost),
            (110, "ha_agent_node1_lock", LockAction::Acquired),
            (200, "ha_agent_node1_lock", LockAction::Lost),
        ]
    );
}

#[test]
fn lrm_operations() {
    let op = |node: &str, sid: &str, op: ServiceOp, target: Option<&str>| EventData::ServiceOp {
        service: s(sid),
        node: s(node),
        op,
        target: target.map(s),
    };
    assert_eq!(
        events_of("node2", "lrm", "info", "starting service vm:103"),
        vec![op("node2", "vm:103", ServiceOp::Start, None)]
    );
    assert_eq!(
        events_of("node2", "lrm", "info", "service status vm:103 started"),
        vec![op("node2", "vm:103", ServiceOp::Running, None)]
    );
    assert_eq!(
        events_of("node2", "lrm", "info", "stopping service vm:103"),
        vec![op("node2", "vm:103", ServiceOp::Stop, None)]
    );
    assert_eq!(
        events_of("node2", "lrm", "info", "stopping service ct:101 (relocate)"),
        vec![op("node2", "ct:101", ServiceOp::Stop, None)]
    );
    assert_eq!(
        events_of("node2", "lrm", "info", "stopping service vm:101 (timeout=30)"),
        vec![op("node2", "vm:101", ServiceOp::Stop, None)]
    );
    assert_eq!(
        events_of("node2", "lrm", "info", "service status vm:103 stopped"),
        vec![op("node2", "vm:103", ServiceOp::Stopped, None)]
    );
    assert_eq!(
        events_of("node1", "lrm", "info", "service vm:101 - start migrate to node 'node2'"),
        vec![op("node1", "vm:101", ServiceOp::MoveBegin, Some("node2"))]
    );
    assert_eq!(
        events_of("node1", "lrm", "info", "service ct:102 - end relocate to node 'node3'"),
        vec![op("node1", "ct:102", ServiceOp::MoveEnd, Some("node3"))]
    );
    assert_eq!(
        events_of("node1", "lrm", "warn", "unable to start service fa:1001"),
        vec![
            op("node1", "fa:1001", ServiceOp::Failed, None),
            EventData::ServiceError {
                service: s("fa:1001"),
                node: Some(s("node1")),
                message: s("unable to start service fa:1001"),
                retry: None
            },
        ]
    );
    let stop = events_of("node1", "lrm", "info", "unable to stop service fa:1001 (still running)");
    assert_eq!(stop[0], op("node1", "fa:1001", ServiceOp::Failed, None));
    assert!(matches!(&stop[1], EventData::ServiceError { service, .. } if service == "fa:1001"));
}

#[test]
fn recoveries_errors_and_retries() {
    assert_eq!(
        events_of("node1", "crm", "info", "recover service 'vm:103' from fenced node 'node3' to node 'node2'"),
        vec![EventData::Recovery { service: s("vm:103"), from: s("node3"), to: Some(s("node2")) }]
    );
    assert_eq!(
        events_of(
            "node1",
            "crm",
            "err",
            "recovering service 'vm:103' from fenced node 'node3' failed, no recovery node found"
        ),
        vec![EventData::Recovery { service: s("vm:103"), from: s("node3"), to: None }]
    );
    assert_eq!(
        events_of("node1", "crm", "info", "recover service 'vm:103' to previous failed and fenced node 'node3' again"),
        vec![EventData::Recovery { service: s("vm:103"), from: s("node3"), to: Some(s("node3")) }]
    );
    let err = |sid: &str, node: Option<&str>, msg: &str, retry: Option<u32>| {
        vec![EventData::ServiceError { service: s(sid), node: node.map(s), message: s(msg), retry }]
    };
    let m = "restart policy: retry number 1 for service 'fa:1001'";
    assert_eq!(events_of("node2", "lrm", "warn", m), err("fa:1001", Some("node2"), m, Some(1)));
    let m = "unable to start service fa:1001 on local node after 1 retries";
    assert_eq!(events_of("node2", "lrm", "err", m), err("fa:1001", Some("node2"), m, Some(1)));
    let m = "service fa:1001 is in an error state and needs manual intervention. Look up 'ERROR RECOVERY' in the documentation.";
    assert_eq!(events_of("node2", "lrm", "err", m), err("fa:1001", Some("node2"), m, None));
    let m = "service 'vm:101' - migration failed (exit code 1)";
    assert_eq!(events_of("node1", "crm", "err", m), err("vm:101", None, m, None));
    let m = "service vm:101 not moved (migration error)";
    assert_eq!(events_of("node1", "lrm", "err", m), err("vm:101", Some("node1"), m, None));
    let m = "starting service fa:1001 on node 'node2' failed, relocating service.";
    assert_eq!(events_of("node1", "crm", "warn", m), err("fa:1001", Some("node2"), m, None));
    let m = "recovery policy for service fa:1001 failed, entering error state. Failed nodes: node2, node3";
    assert_eq!(events_of("node1", "crm", "err", m), err("fa:1001", None, m, None));
    let m = "service 'vm:101' locked (create), unable to start!";
    assert_eq!(events_of("node1", "lrm", "err", m), err("vm:101", Some("node1"), m, None));
}

#[test]
fn unrecognised_lines_become_log_only_at_warning_or_worse() {
    let m = "updating service status from manager failed: cfs connection refused - not mounted?";
    assert_eq!(events_of("node1", "lrm", "err", m), vec![EventData::Log { level: s("err"), message: s(m) }]);
    let m = "temporary inconsistent cluster state (cfs restart?), skip round";
    assert_eq!(events_of("node1", "crm", "noti", m), vec![]);
    let t = sim("info     20    node1/crm: using scheduler mode 'static'\n");
    assert_eq!((t.events.len(), t.meta.unrecognised), (0, 1));
    let t = sim("warning  30     hardware: overcommitted cpu on 'node1'\n");
    assert_eq!(data(&t), vec![EventData::Log { level: s("warning"), message: s("overcommitted cpu on 'node1'") }]);
}

#[test]
fn simulator_commands_faults_and_hardware() {
    let t = sim("info    120      cmdlist: execute network node3 off
info    121      cmdlist: execute power node2 on
info    122      cmdlist: execute service vm:101 disabled
info    123      cmdlist: execute reboot node1
info    124       reboot: execute crm node1 stop
info    125       reboot: execute power node1 off
info    125       reboot: execute power node1 on
info    126     shutdown: execute power node2 off
info    166     watchdog: execute power node3 off
info    165    node3/crm: killed by poweroff
info    166     hardware: server 'node3' stopped by poweroff (watchdog)
info    170      cmdlist: execute delay 0
info    720     hardware: exit simulation - done
");
    let cmd = |c: &str, n: Option<&str>| EventData::Command { command: s(c), node: n.map(s) };
    let pw = |n: &str, st: PowerState, r: &str| EventData::Power { node: s(n), state: st, reason: Some(s(r)) };
    assert_eq!(
        data(&t),
        vec![
            EventData::Fault { node: s("node3"), fault: FaultKind::NetworkOff, step: None },
            EventData::Fault { node: s("node2"), fault: FaultKind::PowerOn, step: None },
            cmd("service vm:101 disabled", None),
            cmd("reboot node1", Some("node1")),
            cmd("crm node1 stop", Some("node1")),
            pw("node1", PowerState::Off, "reboot"),
            pw("node1", PowerState::Running, "reboot"),
            pw("node2", PowerState::Off, "shutdown"),
            EventData::Watchdog { node: s("node3"), action: s("expired") },
            pw("node3", PowerState::Off, "watchdog"),
            cmd("delay 0", None),
        ]
    );
    assert_eq!(t.events[8].by.as_deref(), Some("watchdog"));
    assert_eq!(t.events[0].by.as_deref(), Some("cmdlist"));
    assert_eq!((t.meta.lines, t.meta.unrecognised, t.meta.end), (13, 0, Seconds(720.0)));
    let crm = sim("info    300    node1/crm: got crm command: migrate vm:101 node2\n");
    assert_eq!(data(&crm), vec![cmd("migrate vm:101 node2", None)]);
}

#[test]
fn watchdog_mux_and_softdog() {
    // (daemon, level, message, action). Releases differ in whether watchdog-mux names the
    // client's PID; both forms are read.
    let lines = [
        ("watchdog-mux", "crit", "client (PID 1234) watchdog expired - disable watchdog updates", "expired"),
        ("watchdog-mux", "warn", "client (PID 1234) watchdog is about to expire", "expiring"),
        ("watchdog-mux", "info", "added new client (PID 1234) to watch", "armed"),
        ("watchdog-mux", "info", "client (PID 1234) did not stop watchdog - disable watchdog updates", "expired"),
        ("watchdog-mux", "info", "client watchdog expired - disable watchdog updates", "expired"),
        ("watchdog-mux", "info", "client watchdog was updated before expiring", "averted"),
        ("kernel", "crit", "softdog: Initiating system reboot", "reset"),
    ];
    for (daemon, level, msg, action) in lines {
        let want = vec![EventData::Watchdog { node: s("node3"), action: s(action) }];
        assert_eq!(events_of("node3", daemon, level, msg), want, "{msg}");
    }
    assert_eq!(events_of("node3", "watchdog-mux", "info", "client (PID 12 watchdog expired"), vec![]);
}

#[test]
fn corosync_quorum_with_members() {
    let log = "2026-11-22T12:00:00.000000+01:00 node1 corosync[900]:   [QUORUM] Members[1]: 1
2026-11-22T12:00:01.000000+01:00 node1 corosync[900]:   [QUORUM] This node is within the primary component and will provide service.
2026-11-22T12:00:01.000100+01:00 node1 corosync[900]:   [QUORUM] Members[3]: 1 2 3
2026-11-22T12:02:00.500000+01:00 node1 corosync[900]:   [TOTEM ] A new membership (1.2f) was formed. Members left: 3
2026-11-22T12:02:00.600000+01:00 node1 corosync[900]:   [QUORUM] Members[2]: 1 2
2026-11-22T12:03:00.000000+01:00 node3 corosync[700]:   [QUORUM] This node is within the non-primary component and will NOT provide any services.
2026-11-22T12:03:00.000100+01:00 node3 corosync[700]:   [QUORUM] Members[1]: 3
";
    let t = parse(log.as_bytes(), LogFormat::JournalShort).unwrap();
    let q = |n: &str, quorate: bool, m: &[&str]| EventData::Quorum {
        node: s(n),
        quorate,
        members: Some(m.iter().map(|x| s(x)).collect()),
    };
    assert_eq!(
        data(&t),
        vec![q("node1", true, &["1", "2", "3"]), q("node1", true, &["1", "2"]), q("node3", false, &["3"])]
    );
    assert_eq!(t.events.iter().map(|e| e.t).collect::<Vec<_>>(), vec![Seconds(1.0), Seconds(120.6), Seconds(180.0)]);
    assert_eq!(t.events[0].by.as_deref(), Some("node1/corosync"));
    assert_eq!(t.meta.start.as_deref(), Some("2026-11-22T11:00:00Z"));
    assert_eq!(t.meta.end, Seconds(180.0));
}

#[test]
fn detection_of_each_framing() {
    let [sim_line, short, json] = framings("node1", "crm", "info", 6, "status change slave => master");
    assert_eq!(detect(sim_line.as_bytes()), Some(LogFormat::Simulator));
    assert_eq!(detect(short.as_bytes()), Some(LogFormat::JournalShort));
    assert_eq!(detect(json.as_bytes()), Some(LogFormat::JournalJson));
    let boot = format!("-- Journal begins at Sun 2026-11-01 10:00:00 CET. --\n\n{short}");
    assert_eq!(detect(boot.as_bytes()), Some(LogFormat::JournalShort));
    assert_eq!(detect(b"Nov 22 12:16:12 node1 pve-ha-crm[1234]: status change"), None);
    assert_eq!(detect(b""), None);
    for f in LogFormat::ALL {
        assert_eq!(f.to_string(), f.name());
    }
    assert_eq!(
        [LogFormat::Simulator.name(), LogFormat::JournalShort.name(), LogFormat::JournalJson.name()],
        ["pve-simulator", "journal-short-iso-precise", "journal-json"]
    );
}

#[test]
fn journal_skips_markers_and_sorts_concatenated_nodes() {
    let log = "-- Boot 0123456789abcdef --
2026-11-22T12:16:20.000000+01:00 node2 pve-ha-lrm[2000]: starting service vm:103
2026-11-22T12:16:22.250000+01:00 node2 pve-ha-lrm[2000]: service status vm:103 started
-- No entries --
2026-11-22T12:16:12.123456+01:00 node1 pve-ha-crm[1000]: service 'vm:103': state changed from 'recovery' to 'started'  (node = node2)
    a continuation line
2026-11-22T12:16:13.000000+01:00 node1 systemd[1]: Started something.
";
    let t = read_log(log.as_bytes()).unwrap();
    assert_eq!(t.meta.format.as_deref(), Some("journal-short-iso-precise"));
    assert_eq!(t.meta.start.as_deref(), Some("2026-11-22T11:16:12.123456Z"));
    assert_eq!((t.meta.lines, t.meta.unrecognised), (7, 2));
    assert_eq!(t.meta.end, Seconds(10.126));
    let kinds: Vec<_> = t.events.iter().map(|e| (e.t, e.data.kind(), e.line)).collect();
    assert_eq!(
        kinds,
        vec![
            (Seconds(0.0), "service", Some(5)),
            (Seconds(7.876), "service-op", Some(2)),
            (Seconds(10.126), "service-op", Some(3)),
        ]
    );
    assert_eq!(t.events[1].by.as_deref(), Some("node2/lrm"));
}

#[test]
fn json_messages_as_bytes_or_null() {
    // `service status vm:103 started` as journald's byte array, then a null MESSAGE.
    let bytes: Vec<u8> = b"service status vm:103 started".to_vec();
    let log = format!(
        "{}\n{}\n",
        serde_json::json!({"__REALTIME_TIMESTAMP": "1795346172000000", "_HOSTNAME": "node2", "SYSLOG_IDENTIFIER": "pve-ha-lrm", "PRIORITY": "6", "MESSAGE": bytes}),
        serde_json::json!({"__REALTIME_TIMESTAMP": "1795346173000000", "_HOSTNAME": "node2", "_COMM": "pve-ha-lrm", "MESSAGE": null}),
    );
    let t = read_log(log.as_bytes()).unwrap();
    assert_eq!(
        data(&t),
        vec![EventData::ServiceOp { service: s("vm:103"), node: s("node2"), op: ServiceOp::Running, target: None }]
    );
    assert_eq!((t.meta.lines, t.meta.unrecognised, t.meta.end), (2, 1, Seconds(1.0)));
    assert_eq!(t.meta.start.as_deref(), Some("2026-11-22T11:16:12Z"));
}

#[test]
fn errors_say_what_went_wrong() {
    let err = read_log(b"\nNov 22 12:16:12 node1 pve-ha-crm[1234]: hello\n").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("line 2 is `Nov 22 12:16:12 node1 pve-ha-crm[1234]: hello`"), "{text}");
    for name in ["pve-simulator", "journal-short-iso-precise", "journal-json"] {
        assert!(text.contains(name), "{text}");
    }
    assert!(matches!(read_log(b"\n  \n"), Err(LogError::Empty)));

    let good = r#"{"__REALTIME_TIMESTAMP":"1795346172000000","_HOSTNAME":"node1","SYSLOG_IDENTIFIER":"pve-ha-crm","MESSAGE":"x"}"#;
    let log = format!("{good}\n{good}\n{{\"MESSAGE\": \"broken\n{good}\n");
    let err = read_log(log.as_bytes()).unwrap_err();
    assert!(matches!(err, LogError::Framing(FramingError::Json { line: 3, .. })), "{err:?}");
    assert!(err.to_string().starts_with("line 3: "), "{err}");

    let err = read_log(b"{\"MESSAGE\":\"no time\"}\n").unwrap_err();
    assert!(
        matches!(err, LogError::Framing(FramingError::MissingField { line: 1, field: "__REALTIME_TIMESTAMP" })),
        "{err:?}"
    );
}

#[test]
fn events_serialise_with_by_and_line() {
    let t = sim("info    160    node1/crm: service 'vm:103': state changed from 'started' to 'fence'\n");
    assert_eq!(
        t.to_jsonl(),
        "{\"kind\":\"service\",\"t\":160,\"service\":\"vm:103\",\"from\":\"started\",\"to\":\"fence\",\
         \"from_state\":\"started\",\"to_state\":\"fence\",\"by\":\"node1/crm\",\"line\":1}\n"
    );
}

// ---------------------------------------------------------------------------------------
// The corpus of the HA manager's regression cases.

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/pve-ha-manager");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: corpus directory {} is absent", dir.display());
        None
    }
}

#[test]
fn basic1_network_loss_fencing_and_recovery() {
    let Some(dir) = corpus() else { return };
    let bytes = std::fs::read(dir.join("test-basic1/log.expect")).unwrap();
    let t = read_log(&bytes).unwrap();
    assert_eq!(t.meta.format.as_deref(), Some("pve-simulator"));
    assert_eq!(t.meta.end, Seconds(720.0));
    assert_eq!(t.meta.start, None);
    let at = |secs: f64| t.events.iter().filter(move |e| e.t == Seconds(secs)).map(|e| &e.data);
    assert!(at(120.0).any(|d| *d == EventData::Fault { node: s("node3"), fault: FaultKind::NetworkOff, step: None }));
    assert!(at(160.0).any(|d| matches!(d,
        EventData::Service { service, from, to, .. } if service == "vm:103" && from == "started" && to == "fence")));
    assert!(at(240.0).any(|d| matches!(d,
        EventData::Service { service, to, node: Some(n), .. } if service == "vm:103" && to == "started" && n == "node2")));
    let fences: Vec<_> = t
        .events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Fence { node, phase } => Some((e.t, node.as_str(), *phase)),
            _ => None,
        })
        .collect();
    assert_eq!(
        fences,
        vec![(Seconds(160.0), "node3", FencePhase::Started), (Seconds(240.0), "node3", FencePhase::Acknowledged)]
    );
    assert!(at(166.0).any(|d| *d == EventData::Watchdog { node: s("node3"), action: s("expired") }));
    assert!(at(166.0).any(|d| matches!(d, EventData::Power { node, state: PowerState::Off, reason: Some(r) }
        if node == "node3" && r == "watchdog")));
    assert!(at(20.0).any(|d| *d == EventData::Master { node: s("node1") }));
    assert!(
        at(240.0).any(|d| *d == EventData::Recovery { service: s("vm:103"), from: s("node3"), to: Some(s("node2")) })
    );
    // Sorted by time, source order kept within an instant (166 was written before 165).
    assert!(t.events.windows(2).all(|w| w[0].t <= w[1].t));
    assert!(t.events.iter().all(|e| e.by.is_some() && e.line.is_some()));
}

#[test]
fn every_corpus_case_reads_completely() {
    let Some(dir) = corpus() else { return };
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path().join("log.expect");
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        cases += 1;
        let text = String::from_utf8_lossy(&bytes);
        let t = read_log(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(t.meta.format.as_deref(), Some("pve-simulator"), "{}", path.display());

        let changes = text.lines().filter(|l| l.contains(": state changed from '")).count();
        let events =
            t.events.iter().filter(|e| matches!(e.data, EventData::Service { .. } | EventData::Node { .. })).count();
        assert_eq!(changes, events, "{}: state changes vs service+node events", path.display());

        for (i, line) in text.lines().enumerate() {
            let Some(cmd) = line.split_once("cmdlist: execute ").map(|(_, c)| c) else {
                continue;
            };
            let words: Vec<_> = cmd.split_whitespace().collect();
            if let [what @ ("power" | "network"), node, state @ ("on" | "off")] = words[..] {
                let kind = FaultKind::parse(&format!("{what}-{state}")).unwrap();
                let found = t.events.iter().any(|e| {
                    e.line == Some(i as u64 + 1)
                        && e.data == EventData::Fault { node: s(node), fault: kind, step: None }
                });
                assert!(found, "{}:{}: no fault for `{line}`", path.display(), i + 1);
            }
        }
        // Every non-info line the grammar does not know is kept as a Log event.
        let last = text.lines().filter_map(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()).fold(0.0, f64::max);
        assert_eq!(t.meta.end, Seconds(last), "{}", path.display());
        assert_eq!(t.meta.lines as usize, text.lines().count(), "{}", path.display());
    }
    assert!(cases >= 100, "only {cases} cases read");
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The service's state changes as (from, to, node) — the same story in any framing.
fn service_story(t: &Timeline, sid: &str) -> Vec<(String, String, Option<String>)> {
    t.events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::Service { service, from, to, node, .. } if service == sid => {
                Some((from.clone(), to.clone(), node.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn one_power_pull_told_by_the_simulator_and_by_a_journal() {
    let sim = read_log(&fixture("pve-simulator-power-pull.log")).unwrap();
    let journal = read_log(&fixture("pve-journal-power-pull.log")).unwrap();
    assert_eq!(journal.meta.format.as_deref(), Some("journal-short-iso-precise"));
    assert_eq!(service_story(&sim, "vm:102"), service_story(&journal, "vm:102"));
    let fence_window = |t: &Timeline| {
        let at = |phase| {
            t.events.iter().find(|e| e.data == EventData::Fence { node: s("node2"), phase }).map(|e| e.t).unwrap()
        };
        (at(FencePhase::Started), at(FencePhase::Acknowledged))
    };
    assert_eq!(fence_window(&sim), (Seconds(142.0), Seconds(222.0)));
    // t = 0 is the earliest entry (watchdog-mux, written after two later lines).
    assert_eq!(fence_window(&journal), (Seconds(170.128), Seconds(240.308)));
    assert_eq!(journal.meta.start.as_deref(), Some("2026-11-22T11:00:00.10193Z"));
    assert_eq!(journal.events[0].data, EventData::Watchdog { node: s("node1"), action: s("armed") });
    // The retry and the cfs error in the simulator fixture.
    assert!(sim.events.iter().any(|e| matches!(&e.data, EventData::ServiceError { retry: Some(1), .. })));
    assert!(sim.events.iter().any(|e| matches!(&e.data, EventData::Log { level, .. } if level == "err")));
}

#[test]
fn tracking_starts_ends_and_moves() {
    let tracking = |service: &str, tracked: bool, reason: &str, node: Option<&str>| EventData::Tracking {
        service: s(service),
        tracked,
        reason: s(reason),
        node: node.map(s),
    };
    let m = "adding new service 'vm:101' on node 'node1'";
    assert_eq!(events_of("node1", "crm", "info", m), vec![tracking("vm:101", true, "added", Some("node1"))]);
    let m = "removing stale service 'vm:103' (ignored state requested)";
    assert_eq!(events_of("node1", "crm", "info", m), vec![tracking("vm:103", false, "removed", None)]);
    let m = "disarm: suspending HA tracking for service 'vm:102'";
    assert_eq!(events_of("node1", "crm", "info", m), vec![tracking("vm:102", false, "disarmed", None)]);
    let m = "service 'vm:103': updating node 'node3' => 'node1' (changed while disarmed)";
    assert_eq!(
        events_of("node1", "crm", "info", m),
        vec![tracking("vm:103", true, "moved-while-disarmed", Some("node1"))]
    );
}
