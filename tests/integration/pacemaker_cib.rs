//! The Pacemaker bootstrap's commands, run against a real (file-backed) CIB with Debian's
//! own Pacemaker tools: cibadmin must accept the configuration fragment and crm_verify must
//! find it valid. Skipped, with the reason, where the tools are not installed.

use std::process::Command;

use hadrill::scenario;
use hadrill::stack::pacemaker::{NodeAddr, On, Profile, bootstrap_plan};
use libtest_mimic::Trial;

use crate::support::{ensure, skipped, trial};

pub fn trials() -> Vec<Trial> {
    if Command::new("cibadmin").arg("--version").output().is_err() {
        return vec![skipped(
            "pacemaker::cib_is_accepted_by_the_real_tools",
            "cibadmin not found (apt-get install pacemaker-cli-utils)".into(),
        )];
    }
    vec![trial("pacemaker::cib_is_accepted_by_the_real_tools", check)]
}

const SCENARIO: &str = "
name: cib
stack: pacemaker
cluster: { nodes: 3 }
resources:
  - { id: svc, max_restart: 1, affinity: { apart: [other] } }
  - { id: other, failback: false, group: { nodes: [node2, node3], restricted: true } }
";

fn check() -> Result<(), String> {
    let plan = scenario::parse("cib.yaml", SCENARIO, None).map_err(|e| format!("{e:?}"))?;
    let cluster = plan.cluster.as_ref().ok_or("no cluster")?;
    let nodes: Vec<NodeAddr> = cluster
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| NodeAddr { name: n.clone(), ip: [10, 0, 0, 10 + i as u8].into() })
        .collect();
    let boot = bootstrap_plan("t", &nodes, &plan.resources, &Profile::tcg(), b"key", None);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cib = dir.path().join("cib.xml");
    let empty = Command::new("cibadmin").arg("--empty").output().map_err(|e| e.to_string())?;
    std::fs::write(&cib, &empty.stdout).map_err(|e| e.to_string())?;
    let sh =
        |cmd: &str| Command::new("sh").arg("-c").arg(cmd).env("CIB_file", &cib).output().map_err(|e| e.to_string());
    // The first node's configuration commands, as the runner will run them.
    for c in boot
        .commands
        .iter()
        .filter(|c| c.on == On::First && (c.run.starts_with("crm_attribute") || c.run.starts_with("cibadmin")))
    {
        let out = sh(&c.run)?;
        ensure(out.status.success(), || {
            format!("{}: `{}` failed: {}", c.what, c.run, String::from_utf8_lossy(&out.stderr))
        })?;
    }
    // A running cluster sets this itself once sbd is up; crm_verify needs it to accept
    // watchdog-only fencing.
    sh("crm_attribute --type crm_config --name have-watchdog --update true")?;
    let out = sh("crm_verify --live-check --verbose")?;
    ensure(out.status.success(), || {
        format!("crm_verify: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })?;
    let text = std::fs::read_to_string(&cib).map_err(|e| e.to_string())?;
    for needle in [
        "id=\"svc\"",
        "id=\"other-avoids-node1\"",
        "name=\"migration-threshold\" value=\"2\"",
        "id=\"hadrill-rsc-defaults\"",
    ] {
        ensure(text.contains(needle), || format!("the CIB lacks {needle}"))?;
    }
    Ok(())
}
