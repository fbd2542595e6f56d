//! Set-ups broken on purpose, to show that a scenario catches a cluster that cannot do its
//! job (`hadrill run --sabotage KIND`). Each one is what an operator gets by a plausible
//! mistake, and leaves a cluster that forms, runs its service and looks healthy in
//! `crm_mon`: only a fault shows what is missing, and the run must FAIL naming the
//! expectation that was not met ([`Sabotage::caught_by`] lists, per kind, the scenario and the
//! checks that fail). The readiness gate still passes on every one of them, since a sabotage
//! that leaves the run inconclusive proves nothing: it asks for no stonith under `no-sbd`, for
//! the fencers' `watchdog` device nowhere under `no-sbd` and `no-watchdog-timeout`, and not on
//! the left-out node once `one-node-unfenceable` is in place; otherwise it is the sound gate.
//! Sources read: Pacemaker 2.1.5 and sbd 1.5.2, the versions Debian 12 ships.
//!
//! - `no-sbd`: sbd disabled. Pacemaker refuses to start resources while stonith is enabled
//!   without a fencing device, and shuts down when stonith-watchdog-timeout is set without
//!   sbd, so the cluster that runs at all is the one with `stonith-enabled=false`: nothing
//!   fences a lost node. power-pull: the victim is never fenced, and the service starts
//!   elsewhere before it is.
//! - `no-watchdog`: no watchdog device or module (no i6300esb, softdog blacklisted) and sbd
//!   told so (`SBD_WATCHDOG_DEV=/dev/null`). sbd still resets its node itself when it sees
//!   quorum go, so a link cut is still fenced; what is lost is the reset of a node whose sbd
//!   hangs. sbd-hang: no reset, no fencing, the service stays on the frozen node.
//! - `relocate-exhausted`: once the service runs, its failure budget (migration-threshold)
//!   is recorded as used up on every other node, so a fault leaves it nowhere to go.
//!   power-pull: the victim is fenced, the service starts nowhere.
//! - `short-fence-timeout`: sbd's watchdog timeout raised to 90 s through `SBD_OPTS="-1 90"`
//!   (the option sbd(8) documents for it; sbd parses it after `SBD_WATCHDOG_TIMEOUT` and
//!   keeps it), while `SBD_WATCHDOG_TIMEOUT=10` stays in /etc/default/sbd. Pacemaker checks
//!   stonith-watchdog-timeout (20 s) only against the `SBD_WATCHDOG_TIMEOUT` of its own
//!   environment (`pcmk__get_sbd_timeout`; Debian's pacemaker.service reads /etc/default/sbd),
//!   so it accepts: peers declare a node self-fenced 20 s after they ask, while it resets 90 s
//!   after sbd stops feeding the watchdog. link-down: the victim is declared fenced, but not
//!   reset within 90 s of the cut.
//! - `watchdog-no-reset`: a watchdog that never bites: the i6300esb is there but libvirt's
//!   action is `none`, and softdog is loaded with `soft_noboot=1` (a modprobe.d option). sbd
//!   opens and feeds a working device, as in the sound set-up. sbd's own timeout action (a
//!   sysrq reboot) still fences a node that loses quorum; a node whose sbd hangs runs on.
//!   sbd-hang: no reset, no fencing, the service stays on the frozen node.
//! - `one-node-unfenceable`: once the service runs, an explicit `fence_watchdog` device named
//!   `watchdog` whose `pcmk_host_list` leaves out the node that runs it (a host list not
//!   updated when a node was added). The fencer then does watchdog fencing only for the listed
//!   nodes (`stonith_watchdog_targets`, `node_does_watchdog_fencing`): the left-out node's
//!   fencer does not register the device, and a request to fence it finds no device and no
//!   watchdog fallback ("Skipping fallback to watchdog-fencing as … is not in host-list").
//!   power-pull: the victim is never fenced, so the service never starts elsewhere.
//! - `no-monitor`: the service's resource defined without a monitor operation (crmsh does not
//!   add one). Pacemaker probes it once and never looks again. storage-break: the writer
//!   hangs on the share, nobody notices, the service is never moved.
//! - `no-watchdog-timeout`: sbd runs and stonith is enabled, but stonith-watchdog-timeout is
//!   left at its default 0. The controller publishes `have-watchdog=true` (sbd runs), which
//!   the scheduler counts as a fencing resource, so resources start; the fencer registers no
//!   `watchdog` device without a timeout, so nothing can fence (the stall notes/tcg-lab.md
//!   measured with a fencer that had lost its device: "No fence device", the victim stays
//!   UNCLEAN). link-down: the victim resets itself, but is never declared fenced, and the
//!   service never starts elsewhere.
//! - `no-autostart`: corosync and pacemaker started by hand, never enabled at boot (sbd is
//!   enabled: that only hooks it onto them). Every fault is handled until the node restarts;
//!   then it stays out. graceful-reboot: the service moves, nobody is fenced, and the victim
//!   never comes back online (power-pull and link-down fail their rejoin check the same way).
//! - `leftover-bans`: once the service runs, it is banned (`crm_resource --ban`, permanent
//!   `cli-ban-*` constraints) from every node but the one it runs on, as maintenance left them
//!   without a `--clear`. crm_mon does not list bans by default. power-pull: the victim is
//!   fenced, the service starts nowhere.
//! - `monitor-ignored`: the monitor operation with `on-fail=ignore` (to silence a flapping
//!   monitor). A failed monitor then neither bumps the fail count nor marks the resource
//!   failed (controld_te_events.c `ignore_failures`, unpack.c `action_fail_ignore`): crm_mon
//!   says "failure ignored" and the service stays where it is. storage-break: never moved.
//!
//! Left out after reading the sources: `no-quorum-policy=ignore` (sbd 1.5.2 in watchdog-only
//! mode treats quorum loss as "transient" for every policy, ignore included, stops feeding the
//! watchdog and resets the isolated node before the majority starts the service: nothing
//! fails), `SBD_PACEMAKER=no` (it turns off both the pacemaker and the cluster watcher; with
//! no disk either, sbd's inquisitor never "decouples", so `sbd.service` never finishes
//! starting and pacemaker, which requires it, never starts; with the default
//! `SBD_SYNC_RESOURCE_STARTUP=yes` sbd even refuses at once), and `on-fail=block` on stop (the
//! agent's stop kills a writer stuck on NFS with SIGKILL, which worked in the lab: only a stop
//! that times out meets it, so the catch would be luck).

use crate::lab::NodeWatchdog;
use crate::scenario::ResourcePlan;
use crate::timeline::ServiceState;

use super::ClusterStatus;

/// A set-up broken on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sabotage {
    NoSbd,
    NoWatchdog,
    RelocateExhausted,
    ShortFenceTimeout,
    WatchdogNoReset,
    OneNodeUnfenceable,
    NoMonitor,
    NoWatchdogTimeout,
    NoAutostart,
    LeftoverBans,
    MonitorIgnored,
}

/// What a sabotage does to a ready cluster: a command for one node, a check that exits 0 once
/// the cluster has it, and what the readiness gate must stop asking for from then on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AfterReady {
    pub run: String,
    pub check: String,
    /// Nodes whose fencer registers no `watchdog` device from now on, by design.
    pub no_fence_device: Vec<String>,
}

/// Why a sabotage could not be put in place.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SabotageError {
    #[error("sabotage {sabotage}: the service {service} runs on no node, so there is no node to single out")]
    NotRunning { sabotage: Sabotage, service: String },
    #[error("sabotage {sabotage}: {service} runs on every node, so there is no other node to break")]
    Everywhere { sabotage: Sabotage, service: String },
    #[error("sabotage {sabotage}: the scenario has no resource")]
    NoResource { sabotage: Sabotage },
}

/// sbd's real watchdog timeout under `short-fence-timeout`. Above link-down's 90 s bound for
/// the reset by itself (quorum loss comes on top), on either profile.
pub const SHORT_FENCE_SBD_TIMEOUT_S: u32 = 90;

impl Sabotage {
    pub const ALL: [Sabotage; 11] = [
        Sabotage::NoSbd,
        Sabotage::NoWatchdog,
        Sabotage::RelocateExhausted,
        Sabotage::ShortFenceTimeout,
        Sabotage::WatchdogNoReset,
        Sabotage::OneNodeUnfenceable,
        Sabotage::NoMonitor,
        Sabotage::NoWatchdogTimeout,
        Sabotage::NoAutostart,
        Sabotage::LeftoverBans,
        Sabotage::MonitorIgnored,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Sabotage::NoSbd => "no-sbd",
            Sabotage::NoWatchdog => "no-watchdog",
            Sabotage::RelocateExhausted => "relocate-exhausted",
            Sabotage::ShortFenceTimeout => "short-fence-timeout",
            Sabotage::WatchdogNoReset => "watchdog-no-reset",
            Sabotage::OneNodeUnfenceable => "one-node-unfenceable",
            Sabotage::NoMonitor => "no-monitor",
            Sabotage::NoWatchdogTimeout => "no-watchdog-timeout",
            Sabotage::NoAutostart => "no-autostart",
            Sabotage::LeftoverBans => "leftover-bans",
            Sabotage::MonitorIgnored => "monitor-ignored",
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
            Sabotage::ShortFenceTimeout => {
                "sbd's watchdog timeout is 90 s (SBD_OPTS=\"-1 90\") but Pacemaker reads SBD_WATCHDOG_TIMEOUT=10: \
                 peers declare a node self-fenced 20 s after asking, long before it resets"
            }
            Sabotage::WatchdogNoReset => {
                "the watchdog never resets (i6300esb with libvirt action 'none', softdog soft_noboot=1): \
                 nothing resets a node whose sbd hangs"
            }
            Sabotage::OneNodeUnfenceable => {
                "a fence_watchdog device whose pcmk_host_list leaves out the node that runs the service: \
                 nothing can fence that node"
            }
            Sabotage::NoMonitor => "the service has no monitor operation: nobody notices it hang",
            Sabotage::NoWatchdogTimeout => {
                "stonith-watchdog-timeout left unset with sbd running: resources start, but the fencer has no \
                 device and nothing can fence"
            }
            Sabotage::NoAutostart => {
                "corosync and pacemaker started by hand, not enabled at boot: a node that restarts stays out"
            }
            Sabotage::LeftoverBans => {
                "permanent bans (crm_resource --ban) of the service from every node but the one it runs on: \
                 it has nowhere to go"
            }
            Sabotage::MonitorIgnored => {
                "the monitor operation has on-fail=ignore: a failed service is left where it is"
            }
        }
    }

    /// The watchdog the lab's node VMs get (the emulated i6300esb; softdog allowed unless
    /// there is none).
    pub fn node_watchdog(self) -> NodeWatchdog {
        match self {
            Sabotage::NoWatchdog => NodeWatchdog::Absent,
            Sabotage::WatchdogNoReset => NodeWatchdog::ReportOnly,
            _ => NodeWatchdog::Reset,
        }
    }

    /// Whether the readiness gate may ask for stonith-enabled=true: a cluster without sbd runs
    /// resources only with stonith disabled.
    pub fn fencing_expected(self) -> bool {
        self != Sabotage::NoSbd
    }

    /// Whether every node's fencer registers the `watchdog` device at set-up: not without sbd,
    /// nor without stonith-watchdog-timeout. (`one-node-unfenceable` removes it from one node
    /// only after the gate, see [`AfterReady::no_fence_device`].)
    pub fn fence_device_expected(self) -> bool {
        !matches!(self, Sabotage::NoSbd | Sabotage::NoWatchdogTimeout)
    }

    /// The scenario that catches this sabotage (its file stem under scenarios/pacemaker/) and
    /// the checks that must FAIL there, named as the summary prints them. Others may fail
    /// with them, as consequences the sources do not settle.
    pub fn caught_by(self) -> (&'static str, &'static [&'static str]) {
        const FENCED_AFTER_PULL: &str = "node victim fenced within 1m30s after pull";
        const MOVED_AFTER_PULL: &str = "service svc started not on victim within 2m after pull";
        const SBD_HANG: &[&str] = &[
            "node victim power reset within 1m after hang",
            "node victim fenced within 2m after hang",
            "service svc started not on victim within 2m30s after hang",
            // It never left, so it never comes back (measured with no-watchdog).
            "node victim online within 6m after hang",
        ];
        const NOT_MOVED_AFTER_CUT: &[&str] = &["service svc started not on victim within 4m after cut"];
        match self {
            // Without stonith a lost node counts as down: the service moves without a fence.
            Sabotage::NoSbd => {
                ("power-pull", &[FENCED_AFTER_PULL, "never: any service recovered before its node was fenced"])
            }
            Sabotage::NoWatchdog | Sabotage::WatchdogNoReset => ("sbd-hang", SBD_HANG),
            Sabotage::RelocateExhausted | Sabotage::LeftoverBans => ("power-pull", &[MOVED_AFTER_PULL]),
            // Measured: the node logged on for 36 s after its fence was acknowledged, and its
            // service was recovered meanwhile.
            Sabotage::ShortFenceTimeout => (
                "link-down",
                &[
                    "node victim power reset within 1m30s after cut",
                    "never: any service recovered before its node was fenced",
                    crate::scenario::UNCONFIRMED_FENCE,
                ],
            ),
            Sabotage::OneNodeUnfenceable => ("power-pull", &[FENCED_AFTER_PULL, MOVED_AFTER_PULL]),
            Sabotage::NoMonitor | Sabotage::MonitorIgnored => ("storage-break", NOT_MOVED_AFTER_CUT),
            Sabotage::NoWatchdogTimeout => (
                "link-down",
                &[
                    "node victim fenced within 1m30s after cut",
                    "service svc started not on victim within 2m30s after cut",
                ],
            ),
            Sabotage::NoAutostart => ("graceful-reboot", &["node victim online within 10m after reboot"]),
        }
    }

    /// The run's set-up line: what was broken, and whether the scenario caught it as the
    /// matrix ([`Sabotage::caught_by`]) says, by name of the checks that failed. `scenario` is
    /// the scenario file's stem.
    pub fn setup_note(self, scenario: &str, checks: &[crate::check::CheckResult]) -> String {
        let head = format!("broken on purpose ({self}): {}", self.about());
        let (matrix, must_fail) = self.caught_by();
        if scenario != matrix {
            return format!("{head}; the matrix shows it with {matrix}.yaml, not this scenario");
        }
        let failed = |name: &str| checks.iter().any(|c| c.name == name && c.verdict == crate::check::Verdict::Fail);
        let missed: Vec<&str> = must_fail.iter().copied().filter(|n| !failed(n)).collect();
        if missed.is_empty() {
            format!("{head}; caught as the matrix says, by: {}", must_fail.join("; "))
        } else {
            format!("{head}; NOT caught as the matrix says: did not fail: {}", missed.join("; "))
        }
    }

    /// What to do once the cluster is ready (the service runs), or nothing: this sabotage is
    /// then all in the bootstrap plan.
    pub fn after_ready(
        self,
        status: &ClusterStatus,
        resources: &[ResourcePlan],
        nodes: &[String],
    ) -> Result<Option<AfterReady>, SabotageError> {
        let running = |id: &str| -> Vec<String> {
            status.service(id).filter(|v| v.state == Some(ServiceState::Started)).map(|v| v.nodes).unwrap_or_default()
        };
        match self {
            Sabotage::RelocateExhausted => Ok(Some(relocate_exhausted(resources, nodes, running))),
            Sabotage::OneNodeUnfenceable => {
                let first = resources.first().ok_or(SabotageError::NoResource { sabotage: self })?;
                let on = running(&first.id);
                let listed: Vec<&String> = nodes.iter().filter(|n| !on.contains(n)).collect();
                if on.is_empty() {
                    return Err(SabotageError::NotRunning { sabotage: self, service: first.id.clone() });
                }
                if listed.is_empty() {
                    // An empty host list means every node: nothing would be broken.
                    return Err(SabotageError::Everywhere { sabotage: self, service: first.id.clone() });
                }
                Ok(Some(one_node_unfenceable(&listed, &on)))
            }
            Sabotage::LeftoverBans => {
                let (mut run, mut check) = (Vec::new(), Vec::new());
                for r in resources {
                    let on = running(&r.id);
                    if on.is_empty() {
                        return Err(SabotageError::NotRunning { sabotage: self, service: r.id.clone() });
                    }
                    for n in nodes.iter().filter(|n| !on.contains(n)) {
                        run.push(format!("crm_resource --ban --resource {} --node {n}", r.id));
                        // The id crm_resource gives a ban (crm_resource_ban.c).
                        check.push(format!(
                            "cibadmin --query --xpath \"//rsc_location[@id='cli-ban-{}-on-{n}']\" >/dev/null",
                            r.id
                        ));
                    }
                }
                Ok(Some(AfterReady { run: run.join(" && "), check: check.join(" && "), no_fence_device: vec![] }))
            }
            _ => Ok(None),
        }
    }
}

/// The failure budget of every resource used up on the nodes it does not run on. The fail
/// count is a transient node attribute, as a failed operation would leave it. The check reads
/// it with `crm_failcount`, which reads what the scheduler reads (`crm_mon` lists no fail count
/// on a node where the resource only ever had a probe).
fn relocate_exhausted(
    resources: &[ResourcePlan],
    nodes: &[String],
    running: impl Fn(&str) -> Vec<String>,
) -> AfterReady {
    let (mut set, mut check) = (Vec::new(), Vec::new());
    for r in resources {
        let on = running(&r.id);
        let budget = r.max_restart + 1;
        for n in nodes.iter().filter(|n| !on.contains(n)) {
            set.push(format!("attrd_updater --node {n} --name 'fail-count-{}#start_0' --update {budget}", r.id));
            check.push(format!("crm_failcount --query --resource {} --node {n} | grep -q 'value={budget}$'", r.id));
        }
    }
    AfterReady { run: set.join(" && "), check: check.join(" && "), no_fence_device: vec![] }
}

/// A `fence_watchdog` stonith resource with the fencer's reserved id `watchdog` (any other id
/// is ignored) and a host list of `listed`. The check asks the fencer for the device's
/// targets, which it answers from its host list (`stonith_watchdog_targets`): the listed
/// nodes, and not the left-out ones.
fn one_node_unfenceable(listed: &[&String], left_out: &[String]) -> AfterReady {
    let hosts = listed.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(" ");
    let run = format!(
        "cibadmin --create --scope resources --xml-text '<primitive id=\"watchdog\" class=\"stonith\" type=\"fence_watchdog\">\
<instance_attributes id=\"watchdog-params\">\
<nvpair id=\"watchdog-pcmk_host_list\" name=\"pcmk_host_list\" value=\"{hosts}\"/>\
</instance_attributes></primitive>'"
    );
    let mut check = vec!["t=$(stonith_admin --list-targets watchdog)".to_owned()];
    check.extend(listed.iter().map(|n| format!("echo \"$t\" | grep -qw {n}")));
    check.extend(left_out.iter().map(|n| format!("! echo \"$t\" | grep -qw {n}")));
    AfterReady { run, check: check.join(" && "), no_fence_device: left_out.to_vec() }
}

impl std::fmt::Display for Sabotage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
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

    fn nodes() -> Vec<String> {
        (1..=3).map(|i| format!("node{i}")).collect()
    }

    #[test]
    fn relocate_exhausted_uses_up_the_budget_everywhere_but_where_the_service_runs() {
        let status = healthy();
        let runs_on = status.service("svc").unwrap().nodes;
        assert_eq!(runs_on.len(), 1);
        let nodes = nodes();
        let a = Sabotage::RelocateExhausted.after_ready(&status, &[svc(1)], &nodes).unwrap().unwrap();
        for n in &nodes {
            let set = a.run.contains(&format!("--node {n} --name 'fail-count-svc#start_0' --update 2"));
            assert_eq!(set, !runs_on.contains(n), "{n}: {}", a.run);
            let checked = a.check.contains(&format!("--resource svc --node {n} | grep -q 'value=2$'"));
            assert_eq!(checked, !runs_on.contains(n), "{n}: {}", a.check);
        }
        assert!(a.no_fence_device.is_empty());
        assert_eq!(Sabotage::NoSbd.after_ready(&status, &[svc(1)], &nodes), Ok(None));
    }

    #[test]
    fn only_the_run_time_sabotages_act_after_ready() {
        let status = healthy();
        let acts: Vec<Sabotage> = Sabotage::ALL
            .into_iter()
            .filter(|s| s.after_ready(&status, &[svc(1)], &nodes()).unwrap().is_some())
            .collect();
        assert_eq!(acts, [Sabotage::RelocateExhausted, Sabotage::OneNodeUnfenceable, Sabotage::LeftoverBans]);
    }

    /// The commands the run-time sabotages run on the healthy fixture (svc on node1), for
    /// review.
    #[test]
    fn the_after_ready_commands() {
        let mut out = String::new();
        for s in Sabotage::ALL {
            if let Some(a) = s.after_ready(&healthy(), &[svc(1)], &nodes()).unwrap() {
                out.push_str(&format!(
                    "##### {s}\nrun: {}\ncheck: {}\nno fence device on: {:?}\n",
                    a.run, a.check, a.no_fence_device
                ));
            }
        }
        insta::assert_snapshot!(out);
    }

    #[test]
    fn one_node_unfenceable_lists_every_node_but_the_one_that_runs_the_service() {
        let status = healthy();
        let on = status.service("svc").unwrap().nodes;
        let a = Sabotage::OneNodeUnfenceable.after_ready(&status, &[svc(1)], &nodes()).unwrap().unwrap();
        let others: Vec<String> = nodes().into_iter().filter(|n| !on.contains(n)).collect();
        let xml = a.run.split_once("--xml-text '").unwrap().1.trim_end_matches('\'');
        let doc = roxmltree::Document::parse(xml).expect("well-formed");
        let prim = doc.root_element();
        assert_eq!(
            (prim.attribute("id"), prim.attribute("class"), prim.attribute("type")),
            (Some("watchdog"), Some("stonith"), Some("fence_watchdog")),
            "the fencer takes only the id `watchdog` as the watchdog device"
        );
        let hosts = doc.descendants().find(|n| n.attribute("name") == Some("pcmk_host_list")).unwrap();
        assert_eq!(hosts.attribute("value"), Some(others.join(" ").as_str()));
        assert!(a.run.starts_with("cibadmin --create --scope resources "), "{}", a.run);
        for n in &others {
            assert!(a.check.contains(&format!("&& echo \"$t\" | grep -qw {n}")), "{}", a.check);
        }
        assert!(a.check.contains(&format!("! echo \"$t\" | grep -qw {}", on[0])), "{}", a.check);
        assert_eq!(a.no_fence_device, on, "the gate must not wait for a device the node will never have");
    }

    #[test]
    fn leftover_bans_ban_the_service_from_every_node_but_its_own() {
        let status = healthy();
        let on = status.service("svc").unwrap().nodes;
        let a = Sabotage::LeftoverBans.after_ready(&status, &[svc(1)], &nodes()).unwrap().unwrap();
        for n in nodes() {
            let banned = a.run.contains(&format!("crm_resource --ban --resource svc --node {n}"));
            assert_eq!(banned, !on.contains(&n), "{n}: {}", a.run);
            let checked = a.check.contains(&format!("@id='cli-ban-svc-on-{n}'"));
            assert_eq!(checked, !on.contains(&n), "{n}: {}", a.check);
        }
        assert_eq!(a.run.matches("crm_resource").count(), 2, "{}", a.run);
        assert!(a.no_fence_device.is_empty());
    }

    #[test]
    fn a_service_that_runs_nowhere_cannot_be_singled_out() {
        let status = healthy();
        let ghost = ResourcePlan { id: "ghost".into(), ..svc(0) };
        assert_eq!(
            Sabotage::OneNodeUnfenceable.after_ready(&status, std::slice::from_ref(&ghost), &nodes()),
            Err(SabotageError::NotRunning { sabotage: Sabotage::OneNodeUnfenceable, service: "ghost".into() })
        );
        assert!(Sabotage::LeftoverBans.after_ready(&status, &[ghost], &nodes()).is_err());
        assert_eq!(
            Sabotage::OneNodeUnfenceable.after_ready(&status, &[], &nodes()),
            Err(SabotageError::NoResource { sabotage: Sabotage::OneNodeUnfenceable })
        );
        let on = status.service("svc").unwrap().nodes;
        assert!(matches!(
            Sabotage::OneNodeUnfenceable.after_ready(&status, &[svc(0)], &on),
            Err(SabotageError::Everywhere { .. })
        ));
    }

    #[test]
    fn names_are_unique_and_kebab_case() {
        let names: BTreeSet<&str> = Sabotage::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), Sabotage::ALL.len());
        for n in names {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{n}");
        }
    }

    #[test]
    fn the_gate_view_of_each_sabotage() {
        for s in Sabotage::ALL {
            // A fencer with a device where stonith is off would be a different sabotage.
            assert!(s.fencing_expected() || !s.fence_device_expected(), "{s}");
        }
        assert!(!Sabotage::NoSbd.fencing_expected());
        assert!(Sabotage::NoWatchdogTimeout.fencing_expected() && !Sabotage::NoWatchdogTimeout.fence_device_expected());
        assert_eq!(Sabotage::NoWatchdog.node_watchdog(), NodeWatchdog::Absent);
        assert_eq!(Sabotage::WatchdogNoReset.node_watchdog(), NodeWatchdog::ReportOnly);
        assert_eq!(Sabotage::NoMonitor.node_watchdog(), NodeWatchdog::Reset);
    }

    /// Every check `caught_by` names is one the scenario really has, spelt as the summary
    /// prints it: the scenario files are loaded and their expectations and invariants listed.
    #[test]
    fn the_catch_matrix_names_real_checks() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/pacemaker");
        for s in Sabotage::ALL {
            let (stem, checks) = s.caught_by();
            assert!(!checks.is_empty(), "{s}");
            let path = dir.join(format!("{stem}.yaml"));
            let plan = crate::scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            let names: Vec<&str> = plan
                .expectations
                .iter()
                .map(|x| x.text.as_str())
                .chain(plan.invariants.iter().map(|i| i.text.as_str()))
                // Fence truth is checked in every run, listed or not.
                .chain([crate::scenario::UNCONFIRMED_FENCE])
                .collect();
            for c in checks {
                assert!(names.contains(c), "{s}: `{c}` is not a check of {stem}: {names:#?}");
            }
        }
    }
}
