//! Hand-built test data: the Proxmox simulator case `test-basic1` (node3 loses its network at
//! 120 s, is fenced by its watchdog, vm:103 recovers on node2) with checks of all four
//! verdicts, plus the edge cases the reports must survive.

use std::collections::BTreeMap;

use crate::check::{CheckKind, CheckResult, Evaluation, Subject, Verdict};
use crate::timeline::{
    Event, EventData, FaultKind, FencePhase, LockAction, Meta, NodeState, PowerState, Roles, Seconds, ServiceOp,
    ServiceState, Timeline,
};

fn s(t: f64) -> Seconds {
    Seconds(t)
}

fn service(
    t: f64,
    svc: &str,
    from: &str,
    to: &str,
    fs: Option<ServiceState>,
    ts: ServiceState,
    node: Option<&str>,
) -> Event {
    Event::new(
        s(t),
        EventData::Service {
            service: svc.into(),
            from: from.into(),
            to: to.into(),
            from_state: fs,
            to_state: Some(ts),
            node: node.map(Into::into),
            target: None,
        },
    )
    .by("node1/crm")
}

fn node(t: f64, n: &str, from: &str, to: &str, fs: NodeState, ts: NodeState) -> Event {
    Event::new(
        s(t),
        EventData::Node { node: n.into(), from: from.into(), to: to.into(), from_state: Some(fs), to_state: Some(ts) },
    )
    .by("node1/crm")
}

fn daemon(t: f64, n: &str, d: &str, from: &str, to: &str) -> Event {
    Event::new(s(t), EventData::Daemon { node: n.into(), daemon: d.into(), from: from.into(), to: to.into() })
        .by(format!("{n}/{d}"))
}

fn op(t: f64, n: &str, svc: &str, op: ServiceOp) -> Event {
    Event::new(s(t), EventData::ServiceOp { service: svc.into(), node: n.into(), op, target: None })
        .by(format!("{n}/lrm"))
}

/// The timeline of `test-basic1`, as the PVE reader would produce it from `log.expect`.
pub(crate) fn basic1_timeline() -> Timeline {
    use NodeState::*;
    use ServiceState::*;
    let mut events = vec![
        Event::new(s(20.0), EventData::Command { command: "power node1 on".into(), node: Some("node1".into()) })
            .by("cmdlist"),
        Event::new(s(20.0), EventData::Command { command: "power node2 on".into(), node: Some("node2".into()) })
            .by("cmdlist"),
        Event::new(s(20.0), EventData::Command { command: "power node3 on".into(), node: Some("node3".into()) })
            .by("cmdlist"),
        daemon(20.0, "node1", "crm", "startup", "wait_for_quorum"),
        Event::new(
            s(20.0),
            EventData::Lock { node: "node1".into(), lock: "ha_manager_lock".into(), action: LockAction::Acquired },
        )
        .by("node1/crm"),
        Event::new(s(20.0), EventData::Master { node: "node1".into() }).by("node1/crm"),
        node(20.0, "node1", "unknown", "online", Lost, Online),
        node(20.0, "node2", "unknown", "online", Lost, Online),
        node(20.0, "node3", "unknown", "online", Lost, Online),
        service(20.0, "vm:101", "request_start", "started", Some(Starting), Started, Some("node1")),
        service(20.0, "vm:103", "request_start", "started", Some(Starting), Started, Some("node3")),
        op(21.0, "node1", "vm:101", ServiceOp::Start),
        op(21.0, "node1", "vm:101", ServiceOp::Running),
        daemon(22.0, "node2", "crm", "wait_for_quorum", "slave"),
        daemon(24.0, "node3", "crm", "wait_for_quorum", "slave"),
        op(25.0, "node3", "vm:103", ServiceOp::Start),
        op(25.0, "node3", "vm:103", ServiceOp::Running),
        service(40.0, "vm:102", "request_stop", "stopped", Some(Stopping), Stopped, Some("node2")),
        Event::new(s(120.0), EventData::Fault { node: "node3".into(), fault: FaultKind::NetworkOff, step: None })
            .by("cmdlist"),
        node(120.0, "node3", "online", "unknown", Online, Lost),
        daemon(124.0, "node3", "crm", "slave", "wait_for_quorum"),
        daemon(125.0, "node3", "lrm", "active", "lost_agent_lock"),
        service(160.0, "vm:103", "started", "fence", Some(Started), Fence, None),
        node(160.0, "node3", "unknown", "fence", Lost, Fencing),
        Event::new(s(160.0), EventData::Fence { node: "node3".into(), phase: FencePhase::Started }).by("node1/crm"),
        Event::new(s(166.0), EventData::Watchdog { node: "node3".into(), action: "expired".into() }).by("watchdog"),
        Event::new(
            s(166.0),
            EventData::Power { node: "node3".into(), state: PowerState::Off, reason: Some("watchdog".into()) },
        )
        .by("hardware"),
        Event::new(
            s(240.0),
            EventData::Lock { node: "node1".into(), lock: "ha_agent_node3_lock".into(), action: LockAction::Acquired },
        )
        .by("node1/crm"),
        Event::new(s(240.0), EventData::Fence { node: "node3".into(), phase: FencePhase::Acknowledged })
            .by("node1/crm"),
        node(240.0, "node3", "fence", "unknown", Fencing, Fenced),
        service(240.0, "vm:103", "fence", "recovery", Some(Fence), Recovery, None),
        Event::new(
            s(240.0),
            EventData::Recovery { service: "vm:103".into(), from: "node3".into(), to: Some("node2".into()) },
        )
        .by("node1/crm"),
        service(240.0, "vm:103", "recovery", "started", Some(Recovery), Started, Some("node2")),
        op(243.0, "node2", "vm:103", ServiceOp::Start),
        op(243.0, "node2", "vm:103", ServiceOp::Running),
    ];
    // Source lines as in log.expect, so reports can point back into the log.
    for (i, e) in events.iter_mut().enumerate() {
        e.line = Some(i as u64 + 2);
    }
    Timeline::new(
        events,
        Meta {
            source: Some("test-basic1/log.expect".into()),
            format: Some("pve-simulator".into()),
            start: None,
            end: s(720.0),
            lines: 57,
            unrecognised: 3,
            setup: None,
        },
    )
}

fn check(name: &str, kind: CheckKind, subject: Subject, verdict: Verdict, message: &str) -> CheckResult {
    CheckResult {
        name: name.into(),
        kind,
        subject,
        verdict,
        message: message.into(),
        from: None,
        until: None,
        seen: None,
        measured: None,
        location: None,
        evidence: None,
        expected_fail: false,
    }
}

pub(crate) fn roles() -> Roles {
    Roles(BTreeMap::from([
        ("node1".to_owned(), "survivor-1".to_owned()),
        ("node2".to_owned(), "survivor-2".to_owned()),
        ("node3".to_owned(), "victim".to_owned()),
    ]))
}

/// One check of each verdict, plus a passing invariant, with windows as the checker would set them.
pub(crate) fn basic1_evaluation() -> Evaluation {
    let fenced = CheckResult {
        from: Some(s(120.0)),
        until: Some(s(300.0)),
        seen: Some(s(240.0)),
        measured: Some(s(120.0)),
        location: Some("scenarios/pve/network-cut.yaml:12:9".into()),
        evidence: None,
        expected_fail: false,
        ..check(
            "node victim fenced within 3m after cut",
            CheckKind::Within,
            Subject::Node("node3".into()),
            Verdict::Pass,
            "node3 was fenced at 240s, 120s after cut",
        )
    };
    let restarted = CheckResult {
        from: Some(s(120.0)),
        until: Some(s(180.0)),
        seen: Some(s(240.0)),
        measured: Some(s(120.0)),
        location: Some("scenarios/pve/network-cut.yaml:13:9".into()),
        evidence: None,
        expected_fail: false,
        ..check(
            "service vm:103 started on {not: victim} within 60s after cut",
            CheckKind::Within,
            Subject::Service("vm:103".into()),
            Verdict::Fail,
            "vm:103 was started on node2 at 240s, 120s after cut; the bound is 60s",
        )
    };
    let back = CheckResult {
        from: Some(s(240.0)),
        until: None,
        location: Some("scenarios/pve/network-cut.yaml:16:9".into()),
        evidence: None,
        expected_fail: false,
        ..check(
            "node victim online eventually after fenced",
            CheckKind::Eventually,
            Subject::Node("node3".into()),
            Verdict::Inconclusive,
            "observation ended at 720s and node3 had not come back online; the scenario never healed the network",
        )
    };
    let two_nodes = CheckResult {
        from: Some(s(0.0)),
        until: Some(s(720.0)),
        location: Some("scenarios/pve/network-cut.yaml:19:5".into()),
        evidence: None,
        expected_fail: false,
        ..check(
            "service vm:103 never active on two nodes",
            CheckKind::Never,
            Subject::Service("vm:103".into()),
            Verdict::Pass,
            "vm:103 was never active on two nodes",
        )
    };
    let observer = CheckResult {
        from: Some(s(0.0)),
        until: Some(s(720.0)),
        seen: Some(s(300.0)),
        location: Some("scenarios/pve/network-cut.yaml:20:5".into()),
        evidence: None,
        expected_fail: false,
        ..check(
            "never fenced: survivors",
            CheckKind::Never,
            Subject::Cluster,
            Verdict::InfraError,
            "the status observer lost its SSH connection to node1 at 300s (connection reset); survivors cannot be judged after that",
        )
    };
    let checks = vec![fenced, restarted, back, two_nodes, observer];
    Evaluation {
        title: "network-cut (test-basic1)".into(),
        verdict: Verdict::combine(checks.iter().map(|c| c.verdict)),
        checks,
        roles: roles(),
        fences: Vec::new(),
    }
}

/// An evaluation with no checks at all.
pub(crate) fn no_checks(title: &str) -> Evaluation {
    Evaluation { title: title.into(), checks: vec![], verdict: None, roles: Roles::default(), fences: Vec::new() }
}

/// A three-hour soak: a service that migrates every 20 minutes and a node rebooted twice.
pub(crate) fn soak_timeline() -> Timeline {
    use ServiceState::*;
    let mut events = vec![];
    let nodes = ["pve-a", "pve-b", "pve-c"];
    for (i, n) in nodes.iter().enumerate() {
        events.push(node(5.0 + i as f64, n, "unknown", "online", NodeState::Lost, NodeState::Online));
    }
    events.push(service(30.0, "ct:200", "request_start", "started", Some(Starting), Started, Some("pve-a")));
    for k in 1..9 {
        let t = k as f64 * 1200.0;
        let to = nodes[k % 3];
        events.push(Event::new(
            s(t),
            EventData::Service {
                service: "ct:200".into(),
                from: "started".into(),
                to: "migrate".into(),
                from_state: Some(Started),
                to_state: Some(Migrating),
                node: None,
                target: Some(to.into()),
            },
        ));
        events.push(service(t + 35.5, "ct:200", "migrate", "started", Some(Migrating), Started, Some(to)));
    }
    for t in [3600.0, 7800.0] {
        events
            .push(Event::new(s(t), EventData::Fault { node: "pve-c".into(), fault: FaultKind::PowerOff, step: None }));
        events.push(Event::new(
            s(t),
            EventData::Power { node: "pve-c".into(), state: PowerState::Off, reason: Some("fault".into()) },
        ));
        events.push(node(t + 20.0, "pve-c", "online", "unknown", NodeState::Online, NodeState::Lost));
        events.push(Event::new(
            s(t + 300.0),
            EventData::Fault { node: "pve-c".into(), fault: FaultKind::PowerOn, step: None },
        ));
        events.push(Event::new(
            s(t + 300.0),
            EventData::Power { node: "pve-c".into(), state: PowerState::Running, reason: None },
        ));
        events.push(node(t + 380.0, "pve-c", "unknown", "online", NodeState::Lost, NodeState::Online));
    }
    Timeline::new(
        events,
        Meta {
            source: Some("soak".into()),
            format: Some("hadrill-run".into()),
            start: Some("2025-03-01T02:00:00Z".into()),
            end: s(10800.0),
            lines: 0,
            unrecognised: 0,
            setup: Some("broken on purpose (no-sbd): sbd disabled, stonith-enabled=false".into()),
        },
    )
}
