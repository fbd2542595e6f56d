//! Set-ups broken on purpose, to show that a scenario catches a cluster that cannot do its
//! job (`hadrill run --sabotage KIND`). Each one is what an operator gets by a plausible
//! mistake, and leaves a cluster that forms, runs its service and looks healthy in
//! `crm_mon`: only a fault shows what is missing, and the run must FAIL naming the
//! expectation that was not met.
//!
//! - `no-sbd`: sbd disabled. Pacemaker refuses to start resources while stonith is enabled
//!   without a fencing device, and shuts down when stonith-watchdog-timeout is set without
//!   sbd, so the cluster that runs at all is the one with `stonith-enabled=false`: nothing
//!   fences a lost node.
//! - `no-watchdog`: no watchdog device or module (no i6300esb, softdog blacklisted) and sbd
//!   told so (`SBD_WATCHDOG_DEV=/dev/null`). sbd still resets its node itself when it sees
//!   quorum go, so a link cut is still fenced; what is lost is the reset of a node whose sbd
//!   hangs.
//! - `relocate-exhausted`: once the service runs, its failure budget (migration-threshold)
//!   is recorded as used up on every other node, so a fault leaves it nowhere to go.

use super::ClusterStatus;
use crate::scenario::ResourcePlan;
use crate::timeline::ServiceState;

/// A set-up broken on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sabotage {
    NoSbd,
    NoWatchdog,
    RelocateExhausted,
}

impl Sabotage {
    pub const ALL: [Sabotage; 3] = [Sabotage::NoSbd, Sabotage::NoWatchdog, Sabotage::RelocateExhausted];

    pub fn name(self) -> &'static str {
        match self {
            Sabotage::NoSbd => "no-sbd",
            Sabotage::NoWatchdog => "no-watchdog",
            Sabotage::RelocateExhausted => "relocate-exhausted",
        }
    }

    /// One line for the run's summary and reports.
    pub fn about(self) -> &'static str {
        match self {
            Sabotage::NoSbd => "sbd disabled, stonith-enabled=false: nothing fences a lost node",
            Sabotage::NoWatchdog => {
                "no watchdog device or module (no i6300esb, softdog blacklisted, SBD_WATCHDOG_DEV=/dev/null): \
                 nothing resets a node whose sbd hangs"
            }
            Sabotage::RelocateExhausted => {
                "the service's failure budget is used up on every node but the one it runs on: it has nowhere \
                 to go"
            }
        }
    }

    /// Whether the lab's VMs get a watchdog (the emulated i6300esb, softdog allowed).
    pub fn hardware_watchdog(self) -> bool {
        self != Sabotage::NoWatchdog
    }

    /// Whether the readiness gate may ask for fencing (stonith enabled, the fencer's
    /// `watchdog` device): a cluster without sbd has neither, by design of the sabotage.
    pub fn fencing_expected(self) -> bool {
        self != Sabotage::NoSbd
    }

    /// What to run on one node once the cluster is ready (the service runs), or nothing: the
    /// failure budget of every resource used up on the nodes it does not run on. The fail
    /// count is a transient node attribute, as a failed operation would leave it. Returns the
    /// command and a check that exits 0 once the cluster has it (`crm_failcount` reads what
    /// the scheduler reads; `crm_mon` lists no fail count on a node where the resource only
    /// ever had a probe).
    pub fn after_ready(
        self,
        status: &ClusterStatus,
        resources: &[ResourcePlan],
        nodes: &[String],
    ) -> Option<(String, String)> {
        if self != Sabotage::RelocateExhausted {
            return None;
        }
        let (mut set, mut check) = (Vec::new(), Vec::new());
        for r in resources {
            let on: Vec<String> = status
                .service(&r.id)
                .filter(|v| v.state == Some(ServiceState::Started))
                .map(|v| v.nodes)
                .unwrap_or_default();
            let budget = r.max_restart + 1;
            for n in nodes.iter().filter(|n| !on.contains(n)) {
                set.push(format!("attrd_updater --node {n} --name 'fail-count-{}#start_0' --update {budget}", r.id));
                check.push(format!("crm_failcount --query --resource {} --node {n} | grep -q 'value={budget}$'", r.id));
            }
        }
        Some((set.join(" && "), check.join(" && ")))
    }
}

impl std::fmt::Display for Sabotage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::stack::pacemaker::parse_crm_mon;

    fn healthy() -> ClusterStatus {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pacemaker/crm_mon/healthy.xml");
        parse_crm_mon(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn svc(max_restart: u32) -> ResourcePlan {
        ResourcePlan {
            id: "svc".into(),
            max_restart,
            max_relocate: 1,
            failback: true,
            group: None,
            together: vec![],
            apart: vec![],
        }
    }

    #[test]
    fn relocate_exhausted_uses_up_the_budget_everywhere_but_where_the_service_runs() {
        let status = healthy();
        let runs_on = status.service("svc").unwrap().nodes;
        assert_eq!(runs_on.len(), 1);
        let nodes: Vec<String> = (1..=3).map(|i| format!("node{i}")).collect();
        let (cmd, check) = Sabotage::RelocateExhausted.after_ready(&status, &[svc(1)], &nodes).unwrap();
        for n in &nodes {
            let set = cmd.contains(&format!("--node {n} --name 'fail-count-svc#start_0' --update 2"));
            assert_eq!(set, !runs_on.contains(n), "{n}: {cmd}");
            let checked = check.contains(&format!("--resource svc --node {n} | grep -q 'value=2$'"));
            assert_eq!(checked, !runs_on.contains(n), "{n}: {check}");
        }
        assert_eq!(Sabotage::NoSbd.after_ready(&status, &[svc(1)], &nodes), None);
    }
}
