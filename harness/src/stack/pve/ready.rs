//! When a Proxmox VE cluster is ready for a fault: what the HA manager's own status says, read
//! from both API endpoints (`manager_status` for the nodes, `current` for each service's
//! `crm_state`), judged at the answering node's clock:
//! - the answering node is quorate;
//! - there is a master, and its status is fresh (written within 30 s, as the API judges it);
//! - every node of the lab is `online` to the manager (a node still `unknown` after a heal, or
//!   `fence`, makes a fault's outcome ambiguous);
//! - every HA resource of the scenario is `started` by the manager's own state machine (the
//!   display state of `current` is never used; see `status`).
//!
//! Pure: text in, reasons out, so that it is tested on recorded status here and run over SSH
//! by the lab driver.

use super::StatusError;
use super::live::merge_status;
use super::status::{Freshness, HaStatus};

/// Why `status`, read when the answering node's clock said `now`, is not ready for a fault
/// with `nodes` and `services`; empty when it is.
pub fn unready(status: &HaStatus, now: i64, nodes: &[String], services: &[String]) -> Vec<String> {
    let mut why = Vec::new();
    match &status.quorum {
        Some((node, false)) => why.push(format!("{node} is not quorate")),
        Some((_, true)) => {}
        None => why.push("the status says nothing of quorum".into()),
    }
    match (&status.master, status.freshness(now)) {
        (None, _) => why.push("no HA manager master yet".into()),
        (Some(_), Freshness::Active) => {}
        (Some(m), Freshness::Stale { age }) => why.push(format!("the master {m} last wrote its status {age} s ago")),
        (Some(m), Freshness::Drift { ahead }) => {
            why.push(format!("the master {m}'s status is {ahead} s ahead of the answering node's clock"))
        }
        (Some(m), Freshness::Unknown) => why.push(format!("the master {m}'s status has no timestamp")),
    }
    for n in nodes {
        match status.nodes.get(n) {
            Some(e) if e.raw == "online" => {}
            Some(e) => why.push(format!("{n} is {} to the HA manager", e.raw)),
            None => why.push(format!("{n} is not known to the HA manager yet")),
        }
    }
    for sid in services {
        match status.services.get(sid) {
            Some(s) if s.raw == "started" => {}
            Some(s) => why.push(match &s.node {
                Some(n) => format!("{sid} is {} on {n}", s.raw),
                None => format!("{sid} is {}", s.raw),
            }),
            None => why.push(format!("{sid} is not managed by HA yet")),
        }
    }
    why
}

/// [`unready`] on the two endpoints' output as `pvesh` printed it.
pub fn unready_from(
    manager_status: &str,
    current: Option<&str>,
    now: i64,
    nodes: &[String],
    services: &[String],
) -> Result<Vec<String>, StatusError> {
    Ok(unready(&merge_status(manager_status, current)?, now, nodes, services))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn fixture(name: &str) -> String {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pve/status").join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    fn nodes() -> Vec<String> {
        ["node1", "node2", "node3"].map(String::from).to_vec()
    }

    fn ct100() -> Vec<String> {
        vec!["ct:100".to_owned()]
    }

    #[test]
    fn a_quorate_cluster_with_its_service_started_is_ready() {
        let why =
            unready_from(&fixture("power-pull/01-1700000000.json"), None, 1_700_000_000, &nodes(), &ct100()).unwrap();
        assert_eq!(why, Vec::<String>::new());
    }

    #[test]
    fn each_missing_condition_is_named() {
        // 40 s after the pull: node3 is `unknown` to the manager.
        let why =
            unready_from(&fixture("power-pull/02-1700000040.json"), None, 1_700_000_040, &nodes(), &ct100()).unwrap();
        assert_eq!(why, vec!["node3 is unknown to the HA manager"]);
        // Fencing: the node and the service both say so.
        let why =
            unready_from(&fixture("power-pull/03-1700000060.json"), None, 1_700_000_060, &nodes(), &ct100()).unwrap();
        assert_eq!(why, vec!["node3 is fence to the HA manager", "ct:100 is fence on node3"]);
        // The master died: its last status is 62 s old.
        let why =
            unready_from(&fixture("power-pull/06-1700000200.json"), None, 1_700_000_200, &nodes(), &ct100()).unwrap();
        assert_eq!(why[0], "the master node1 last wrote its status 62 s ago", "{why:?}");
        // A service the scenario wants that HA does not manage.
        let want = vec!["ct:100".to_owned(), "vm:300".to_owned()];
        let why =
            unready_from(&fixture("power-pull/01-1700000000.json"), None, 1_700_000_000, &nodes(), &want).unwrap();
        assert_eq!(why, vec!["vm:300 is not managed by HA yet"]);
    }

    #[test]
    fn services_are_judged_by_crm_state_from_current() {
        let ms = fixture("power-pull/01-1700000000.json");
        let current = fixture("current.json");
        let want = ["ct:100", "vm:200", "ct:101"].map(String::from).to_vec();
        let why = unready_from(&ms, Some(&current), 1_700_000_000, &nodes(), &want).unwrap();
        // vm:200 is disabled (crm_state stopped); ct:101 is queued: the manager has not seen it.
        assert_eq!(why, vec!["vm:200 is stopped on node2", "ct:101 is not managed by HA yet"]);
    }

    #[test]
    fn no_quorum_and_no_master() {
        let lone = r#"{"manager_status":{"node_status":{},"service_status":{}},"quorum":{"node":"node2","quorate":0}}"#;
        let why = unready_from(lone, None, 1_700_000_000, &nodes()[..1], &[]).unwrap();
        assert_eq!(
            why,
            vec!["node2 is not quorate", "no HA manager master yet", "node1 is not known to the HA manager yet"]
        );
        assert!(unready_from("not json", None, 0, &[], &[]).is_err());
    }
}
