//! The Proxmox VE stack's parts that run without Proxmox: the HA status the API reports
//! (hand-written fixtures from `PVE::API2::HA::Status`, and every `manager_status` of the
//! HA manager's regression corpus), the diff of a sequence of statuses into timeline
//! events, corosync-quorumtool's output, and the bootstrap plan for the shipped scenarios.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hadrill::stack::pve::{
    self, ClusterSetup, HaStatus, PveVersion, Reading, Storage, Template, bootstrap_plan, diff, parse_current,
    parse_manager_status, parse_quorumtool,
};
use hadrill::timeline::{EventData, FencePhase, ServiceOp};
use libtest_mimic::Trial;

use crate::support::{corpus, ensure, entries, fixtures, repo, skipped, trial};

fn read(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `NN-AT.json` in a sequence directory, read at AT.
fn readings(dir: &std::path::Path) -> Result<Vec<(String, Reading)>, String> {
    let mut out = Vec::new();
    for f in entries(dir, |p| p.extension().is_some_and(|e| e == "json")) {
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        let at: i64 = stem
            .split_once('-')
            .and_then(|(_, at)| at.parse().ok())
            .ok_or_else(|| format!("{}: name is not NN-AT.json", f.display()))?;
        let status = parse_manager_status(&read(&f)?).map_err(|e| format!("{}: {e}", f.display()))?;
        out.push((stem, Reading { status, at }));
    }
    Ok(out)
}

fn power_pull_sequence() -> Result<(), String> {
    let seq = readings(&fixtures().join("pve/status/power-pull"))?;
    ensure(seq.len() == 6, || format!("{} readings", seq.len()))?;
    let mut text = String::new();
    let mut by_step: Vec<Vec<EventData>> = Vec::new();
    let mut prev: Option<&Reading> = None;
    for (name, r) in &seq {
        let events = diff(prev, r);
        text.push_str(&format!("== {name}\n"));
        for e in &events {
            text.push_str(&serde_json::to_string(e).map_err(|e| e.to_string())?);
            text.push('\n');
        }
        by_step.push(events);
        prev = Some(r);
    }
    let has = |i: usize, f: &dyn Fn(&EventData) -> bool| by_step[i].iter().any(f);
    ensure(has(0, &|e| matches!(e, EventData::Master { node } if node == "node1")), || "master at first".into())?;
    ensure(
        has(
            1,
            &|e| matches!(e, EventData::Daemon { node, daemon, to, .. } if node == "node3" && daemon == "lrm" && to == "stale"),
        ),
        || "node3's LRM goes stale after 30 s without a write".into(),
    )?;
    ensure(has(2, &|e| matches!(e, EventData::Fence { node, phase: FencePhase::Started } if node == "node3")), || {
        "fence started when node3 enters fence".into()
    })?;
    ensure(
        !by_step.iter().flatten().any(|e| matches!(e, EventData::ServiceOp { op: ServiceOp::Stopped, .. })),
        || "a fenced node's service is not reported stopped: only fencing says it is gone".into(),
    )?;
    ensure(
        has(3, &|e| matches!(e, EventData::Fence { node, phase: FencePhase::Acknowledged } if node == "node3")),
        || "fence acknowledged when node3 leaves fence for unknown".into(),
    )?;
    ensure(
        has(4, &|e| matches!(e, EventData::ServiceOp { node, op: ServiceOp::Running, .. } if node == "node2")),
        || "ct:100 running on node2".into(),
    )?;
    ensure(by_step[5].iter().all(|e| !matches!(e, EventData::Service { .. } | EventData::Node { .. })), || {
        "a stale status says nothing about nodes and services".into()
    })?;
    ensure(has(5, &|e| matches!(e, EventData::Daemon { daemon, to, .. } if daemon == "crm" && to == "stale")), || {
        "the master's loss is reported".into()
    })?;
    // Display state vs manager state: the service events carry the manager's raw state.
    ensure(
        has(2, &|e| matches!(e, EventData::Service { from, to, .. } if from == "started" && to == "fence")),
        || "ct:100 started -> fence, raw".into(),
    )?;
    insta::with_settings!({ omit_expression => true, description => "diff of the power-pull status sequence" }, {
        insta::assert_snapshot!("pve_status_power_pull", text);
    });
    Ok(())
}

fn current_status() -> Result<(), String> {
    let c = parse_current(&read(&fixtures().join("pve/status/current.json"))?).map_err(|e| e.to_string())?;
    ensure(c.quorum == Some(("node1".into(), true)), || format!("{:?}", c.quorum))?;
    ensure(c.master == Some(("node1".into(), Some(1_699_999_998))), || format!("{:?}", c.master))?;
    ensure(c.lrms.len() == 3, || format!("{:?}", c.lrms))?;
    let vm = c.services.iter().find(|s| s.sid == "vm:200").ok_or("vm:200")?;
    ensure(vm.crm_state.as_deref() == Some("stopped") && vm.display_state.as_deref() == Some("disabled"), || {
        format!("{vm:?}")
    })?;
    ensure(vm.failback == Some(false), || "failback 0".into())?;
    let h: HaStatus = c.to_ha_status();
    ensure(h.services.get("vm:200").is_some_and(|s| s.raw == "stopped"), || {
        "the manager's state, not the display's".into()
    })?;
    ensure(!h.services.contains_key("ct:101"), || "a queued service has no manager state yet".into())?;
    ensure(h.active_master(1_700_000_020) == Some("node1"), || "active at +22 s".into())?;
    ensure(h.active_master(1_700_000_029).is_none(), || "stale at +31 s".into())
}

fn quorum_outputs() -> Result<(), String> {
    let dir = fixtures().join("pve/quorum");
    let q = parse_quorumtool(&read(&dir.join("quorate.txt"))?).map_err(|e| e.to_string())?;
    ensure(q.quorate && q.node_id == 1 && q.ring_id == "1.2c", || format!("{q:?}"))?;
    ensure(q.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>() == ["node1", "node2", "node3"], || {
        format!("{q:?}")
    })?;
    ensure(q.local() == Some("node1") && q.quorum == Some(2) && q.flags == ["Quorate"], || format!("{q:?}"))?;
    let p = parse_quorumtool(&read(&dir.join("partitioned.txt"))?).map_err(|e| e.to_string())?;
    ensure(!p.quorate && p.node_id == 3 && p.total_votes == Some(1) && p.flags.is_empty(), || format!("{p:?}"))?;
    ensure(p.local() == Some("10.77.0.13"), || format!("{p:?}"))?;
    let e = parse_quorumtool(&read(&dir.join("expected-one.txt"))?).map_err(|e| e.to_string())?;
    ensure(e.quorate && e.expected_votes == Some(1) && e.local() == Some("node3"), || format!("{e:?}"))?;
    ensure(
        matches!(e.event("node3"), EventData::Quorum { quorate: true, members: Some(m), .. } if m == ["node3"]),
        || "as an event".into(),
    )?;
    ensure(parse_quorumtool("Cannot initialize QUORUM service\n").is_err(), || "not quorumtool output".into())
}

fn corpus_manager_status(case: PathBuf) -> Result<(), String> {
    let text = read(&case.join("manager_status"))?;
    let s = parse_manager_status(&text).map_err(|e| format!("{}: {e}", case.display()))?;
    for (n, e) in &s.nodes {
        ensure(e.state.is_some(), || format!("node {n}: `{}` is not a known PVE node state", e.raw))?;
    }
    for (sid, e) in &s.services {
        ensure(e.state.is_some(), || format!("service {sid}: `{}` is not a known PVE service state", e.raw))?;
        ensure(e.node.is_some(), || format!("service {sid} has no node"))?;
    }
    // A first reading makes one event per node and service, and a master event when named.
    let events = diff(None, &Reading { status: s.clone(), at: s.timestamp.unwrap_or(0) });
    let nodes = events.iter().filter(|e| matches!(e, EventData::Node { .. })).count();
    let services = events.iter().filter(|e| matches!(e, EventData::Service { .. })).count();
    ensure(nodes == s.nodes.len() && services == s.services.len(), || format!("{events:?}"))
}

fn shipped_scenarios_have_a_plan() -> Result<(), String> {
    for file in entries(&repo().join("scenarios/pve"), |p| p.extension().is_some_and(|e| e == "yaml")) {
        let plan = hadrill::scenario::load(&file).map_err(|e| format!("{}: {e:?}", file.display()))?;
        let cluster = plan.cluster.as_ref().ok_or_else(|| format!("{}: no cluster", file.display()))?;
        let nodes = cluster
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| hadrill::stack::pacemaker::NodeAddr {
                name: n.clone(),
                ip: std::net::Ipv4Addr::new(10, 77, 0, 11 + i as u8),
            })
            .collect();
        let setup = ClusterSetup {
            cluster: "hadrill".into(),
            nodes,
            storage: Storage::Nfs { server: std::net::Ipv4Addr::new(10, 78, 0, 2), export: "/srv/nfs".into() },
            template: Template::Uploaded { name: "hadrill-busybox.tar.gz".into(), ostype: Some("unmanaged".into()) },
            shutdown_policy: None,
            settle_s: 300,
        };
        for version in [PveVersion { major: 8, minor: 4, patch: 1 }, PveVersion { major: 9, minor: 0, patch: 3 }] {
            let p = bootstrap_plan(&setup, &plan.resources, version).map_err(|e| format!("{}: {e}", file.display()))?;
            for r in &plan.resources {
                ensure(p.commands.iter().any(|c| c.run.starts_with(&format!("ha-manager add {} ", r.id))), || {
                    format!("{}: {} is never added to HA", file.display(), r.id)
                })?;
            }
            let mut vars = BTreeMap::new();
            vars.insert("fingerprint".to_owned(), "AA:BB".to_owned());
            vars.insert(pve::ROOT_PASSWORD.to_owned(), "secret".to_owned());
            for c in &p.commands {
                c.render(&vars).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

pub fn trials() -> Vec<Trial> {
    let mut out = vec![
        trial("pve::status::power_pull_sequence", power_pull_sequence),
        trial("pve::status::current", current_status),
        trial("pve::quorum::outputs", quorum_outputs),
        trial("pve::bootstrap::shipped_scenarios", shipped_scenarios_have_a_plan),
    ];
    match corpus() {
        Ok(dir) => {
            for case in entries(&dir, |p| p.join("manager_status").is_file()) {
                let name = case.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                out.push(trial(format!("pve::corpus_manager_status::{name}"), move || corpus_manager_status(case)));
            }
        }
        Err(why) => out.push(skipped("pve::corpus_manager_status", why)),
    }
    out
}
