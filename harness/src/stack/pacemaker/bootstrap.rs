//! Bringing a Pacemaker cluster up on freshly booted lab nodes, as data: the files every node
//! gets (corosync.conf, the authkey, sbd's settings) and the ordered commands, so that the plan
//! can be snapshot-tested here and executed over SSH by the runner.
//!
//! The settings are the ones measured on a 2-core TCG host (../shared/notes/tcg-lab.md): knet
//! with a 10 s token (5 s flapped during boot), sbd in watchdog-only mode with a 10 s watchdog
//! and a 20 s stonith-watchdog-timeout, pacemaker configured with the C tools (crmsh takes
//! 26–60 s a command there), services started only once every VM has booted.

use std::fmt::Write;
use std::net::Ipv4Addr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::Sabotage;
use super::sabotage::SHORT_FENCE_SBD_TIMEOUT_S;
use crate::lab::NodeWatchdog;
use crate::scenario::ResourcePlan;

/// Timers for the speed of the lab.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    pub token_ms: u32,
    pub sbd_watchdog_timeout_s: u32,
    pub stonith_watchdog_timeout_s: u32,
    pub monitor_interval_s: u32,
    pub op_timeout_s: u32,
    /// sbd and corosync wait for each other at boot; systemd's default 90 s is too short
    /// under TCG.
    pub unit_start_timeout_s: u32,
}

impl Profile {
    /// Software emulation on a small host.
    pub fn tcg() -> Self {
        Profile {
            name: "tcg",
            token_ms: 10_000,
            sbd_watchdog_timeout_s: 10,
            stonith_watchdog_timeout_s: 20,
            monitor_interval_s: 10,
            op_timeout_s: 60,
            unit_start_timeout_s: 600,
        }
    }

    /// Hardware virtualisation: the stack's usual, tighter timers.
    pub fn kvm() -> Self {
        Profile {
            name: "kvm",
            token_ms: 3_000,
            sbd_watchdog_timeout_s: 5,
            stonith_watchdog_timeout_s: 10,
            monitor_interval_s: 10,
            op_timeout_s: 30,
            unit_start_timeout_s: 180,
        }
    }
}

/// A node and its address on the cluster network.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeAddr {
    pub name: String,
    pub ip: Ipv4Addr,
}

/// A file to put on every node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeFile {
    pub path: &'static str,
    pub mode: u32,
    pub content: String,
}

/// Where a command runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum On {
    /// On every node, at the same time.
    Every,
    /// Once, on the first node.
    First,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    pub on: On,
    /// What it is for, for progress and errors.
    pub what: String,
    pub run: String,
}

/// Files, then commands in order.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapPlan {
    pub files: Vec<NodeFile>,
    pub commands: Vec<Command>,
}

/// Where the NFS share is mounted on every node, and where heartbeats go.
pub const SHARED_DIR: &str = "/mnt/shared";

/// The plan for `nodes` (cluster network addresses) carrying `resources`. `authkey` is the
/// run's corosync key (random, 128 bytes or more). `sabotage` breaks the set-up on purpose.
pub fn bootstrap_plan(
    cluster: &str,
    nodes: &[NodeAddr],
    resources: &[ResourcePlan],
    profile: &Profile,
    authkey: &[u8],
    sabotage: Option<Sabotage>,
) -> BootstrapPlan {
    let is = |kind: Sabotage| sabotage == Some(kind);
    let watchdog = sabotage.is_none_or(|s| s.node_watchdog() != NodeWatchdog::Absent);
    let sbd = sabotage.is_none_or(|s| s.fencing_expected());
    let mut sbd_file = sbd_defaults(profile, if watchdog { "/dev/watchdog" } else { "/dev/null" });
    if is(Sabotage::ShortFenceTimeout) {
        // sbd reads `-1` after SBD_WATCHDOG_TIMEOUT and keeps it; pacemakerd reads this file
        // too (its unit's EnvironmentFile) but only the variable, to check
        // stonith-watchdog-timeout against.
        let _ = writeln!(sbd_file, "SBD_OPTS=\"-1 {SHORT_FENCE_SBD_TIMEOUT_S}\"");
    }
    let mut files = vec![
        NodeFile { path: "/etc/corosync/corosync.conf", mode: 0o644, content: corosync_conf(cluster, nodes, profile) },
        NodeFile { path: "/etc/corosync/authkey.b64", mode: 0o400, content: format!("{}\n", BASE64.encode(authkey)) },
        NodeFile { path: "/etc/default/sbd", mode: 0o644, content: sbd_file },
    ];
    if watchdog {
        files.push(NodeFile {
            path: "/etc/modules-load.d/hadrill-softdog.conf",
            mode: 0o644,
            content: "softdog\n".into(),
        });
    }
    if is(Sabotage::WatchdogNoReset) {
        // Nothing loads softdog before the plan's own commands (the i6300esb has a PCI
        // alias, softdog none), so the option holds wherever it is loaded.
        files.push(NodeFile {
            path: "/etc/modprobe.d/hadrill-softdog.conf",
            mode: 0o644,
            content: "options softdog soft_noboot=1\n".into(),
        });
    }
    let every = |what: &str, run: String| Command { on: On::Every, what: what.into(), run };
    let first = |what: &str, run: String| Command { on: On::First, what: what.into(), run };
    let mut commands = vec![
        // The key travels as text (base64 is in coreutils); corosync wants the bytes.
        every(
            "install the corosync key",
            "base64 -d /etc/corosync/authkey.b64 > /etc/corosync/authkey && chmod 400 /etc/corosync/authkey && rm /etc/corosync/authkey.b64".into(),
        ),
        if watchdog {
            // Without a watchdog device sbd refuses to start, and nothing could fence.
            every("load a watchdog", "test -e /dev/watchdog || modprobe softdog; test -e /dev/watchdog".into())
        } else {
            // The sabotage must have taken: no device, and softdog cannot be loaded.
            every(
                "check that there is no watchdog",
                "! test -e /dev/watchdog && ! modprobe softdog 2>/dev/null && ! test -e /dev/watchdog".into(),
            )
        },
        every(
            "let sbd and corosync wait for each other",
            format!(
                "for u in sbd corosync; do mkdir -p /etc/systemd/system/$u.service.d && printf '[Service]\\nTimeoutStartSec={}\\n' > /etc/systemd/system/$u.service.d/hadrill-timeout.conf; done; systemctl daemon-reload",
                profile.unit_start_timeout_s
            ),
        ),
        // Enabled so that a node reset by its watchdog or powered on again rejoins by itself;
        // the first start is the next command, once every VM has booted. One `enable` for
        // all three: each costs a daemon-reload, 50-120 s under TCG.
        if is(Sabotage::NoAutostart) {
            // sbd's enable only hooks it onto corosync and pacemaker (RequiredBy), as its
            // documentation asks; it starts with them, by hand.
            every("enable sbd only, not corosync and pacemaker", "systemctl enable sbd".into())
        } else if sbd {
            every("enable sbd, corosync and pacemaker", "systemctl enable sbd corosync pacemaker".into())
        } else {
            every("enable corosync and pacemaker, disable sbd", "systemctl disable sbd && systemctl enable corosync pacemaker".into())
        },
        every("start corosync and pacemaker", "systemctl start corosync pacemaker".into()),
        // crm_mon writes quorum as `with_quorum` on `<current_dc>`.
        first(
            "wait for quorum and every node online",
            format!(
                "for i in $(seq 600); do s=$(crm_mon --output-as=xml -1 2>/dev/null); echo \"$s\" | grep -q 'with_quorum=\"true\"' && [ \"$(echo \"$s\" | grep -c ' online=\"true\"')\" -ge {} ] && exit 0; sleep 1; done; exit 1",
                nodes.len()
            ),
        ),
    ];
    for (kind, name, value) in cluster_properties(profile, sbd, !is(Sabotage::NoWatchdogTimeout)) {
        commands
            .push(first(&format!("set {name}"), format!("crm_attribute --type {kind} --name {name} --update {value}")));
    }
    let monitor = if is(Sabotage::NoMonitor) {
        Monitor::Missing
    } else if is(Sabotage::MonitorIgnored) {
        Monitor::FailureIgnored
    } else {
        Monitor::Sound
    };
    let cib = resources_cib(resources, nodes, profile, monitor);
    commands.push(first(
        "define defaults and the HA resources",
        format!("cibadmin --modify --allow-create --scope configuration --xml-text '{cib}'"),
    ));
    BootstrapPlan { files, commands }
}

/// corosync.conf: knet, one ring on the cluster network, votequorum with one vote a node.
pub fn corosync_conf(cluster: &str, nodes: &[NodeAddr], p: &Profile) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Written by hadrill for one lab run; profile {}.", p.name);
    let _ = writeln!(s, "totem {{");
    let _ = writeln!(s, "    version: 2");
    let _ = writeln!(s, "    cluster_name: {cluster}");
    let _ = writeln!(s, "    transport: knet");
    let _ = writeln!(s, "    crypto_cipher: aes256");
    let _ = writeln!(s, "    crypto_hash: sha256");
    let _ = writeln!(s, "    token: {}", p.token_ms);
    let _ = writeln!(s, "    token_retransmits_before_loss_const: 10");
    let _ = writeln!(s, "    join: 1000");
    let _ = writeln!(s, "    interface {{");
    let _ = writeln!(s, "        linknumber: 0");
    let _ = writeln!(s, "        knet_ping_interval: 1000");
    let _ = writeln!(s, "        knet_ping_timeout: 5000");
    let _ = writeln!(s, "    }}");
    let _ = writeln!(s, "}}");
    let _ = writeln!(s, "nodelist {{");
    for (i, n) in nodes.iter().enumerate() {
        let _ = writeln!(s, "    node {{");
        let _ = writeln!(s, "        name: {}", n.name);
        let _ = writeln!(s, "        nodeid: {}", i + 1);
        let _ = writeln!(s, "        ring0_addr: {}", n.ip);
        let _ = writeln!(s, "    }}");
    }
    let _ = writeln!(s, "}}");
    let _ = writeln!(s, "quorum {{");
    let _ = writeln!(s, "    provider: corosync_votequorum");
    let _ = writeln!(s, "}}");
    let _ = writeln!(s, "logging {{");
    let _ = writeln!(s, "    to_syslog: yes");
    let _ = writeln!(s, "    to_logfile: no");
    let _ = writeln!(s, "    timestamp: on");
    let _ = writeln!(s, "}}");
    s
}

/// /etc/default/sbd: watchdog-only (no shared disk), the same self-fencing model as
/// Proxmox's watchdog-mux.
/// `device` is `/dev/watchdog`, or `/dev/null` for none (sbd(8): no watchdog is used).
pub fn sbd_defaults(p: &Profile, device: &str) -> String {
    format!(
        "# Written by hadrill: sbd in watchdog-only mode, profile {}.\nSBD_WATCHDOG_DEV={device}\nSBD_WATCHDOG_TIMEOUT={}\nSBD_PACEMAKER=yes\nSBD_STARTMODE=always\nSBD_DELAY_START=no\n",
        p.name, p.sbd_watchdog_timeout_s
    )
}

/// (type, name, value) for `crm_attribute`. Without sbd, Pacemaker runs resources only with
/// stonith disabled (and stops itself if stonith-watchdog-timeout is set). Without
/// `watchdog_timeout` the timeout keeps its default, 0: no watchdog fencing.
fn cluster_properties(p: &Profile, sbd: bool, watchdog_timeout: bool) -> Vec<(&'static str, &'static str, String)> {
    if !sbd {
        return vec![
            ("crm_config", "stonith-enabled", "false".into()),
            ("crm_config", "no-quorum-policy", "stop".into()),
        ];
    }
    let mut v = vec![("crm_config", "stonith-enabled", "true".into())];
    if watchdog_timeout {
        v.push(("crm_config", "stonith-watchdog-timeout", format!("{}s", p.stonith_watchdog_timeout_s)));
    }
    v.push(("crm_config", "no-quorum-policy", "stop".into()));
    v
}

/// The cluster's defaults and HA resources as one `<configuration>` fragment: a heartbeat
/// primitive each, and constraints for groups and affinity.
///
/// Mapping of the scenario's policy: `max_restart` N → `migration-threshold` N+1 (N restarts
/// on the node, then it moves); a group's nodes → location preferences in order, `restricted`
/// → -INFINITY everywhere else; `failback: false` → stickiness INFINITY; `together`/`apart`
/// → colocation INFINITY/-INFINITY. `max_relocate` has no Pacemaker counterpart: the error
/// state is reached when the failure budget is used up on every node.
pub fn configuration_cib(resources: &[ResourcePlan], nodes: &[NodeAddr], p: &Profile) -> String {
    resources_cib(resources, nodes, p, Monitor::Sound)
}

/// The monitor operation each resource gets: only a sabotage changes it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Monitor {
    Sound,
    Missing,
    /// `on-fail=ignore`: a failed monitor neither counts nor moves the resource.
    FailureIgnored,
}

fn resources_cib(resources: &[ResourcePlan], nodes: &[NodeAddr], p: &Profile, monitor: Monitor) -> String {
    // Defaults go in as XML: `crm_attribute --type rsc_defaults` wants a node context it
    // does not need, and fails without one.
    let defaults = format!(
        "<rsc_defaults><meta_attributes id=\"hadrill-rsc-defaults\">\
<nvpair id=\"hadrill-rsc-defaults-resource-stickiness\" name=\"resource-stickiness\" value=\"100\"/>\
</meta_attributes></rsc_defaults>\
<op_defaults><meta_attributes id=\"hadrill-op-defaults\">\
<nvpair id=\"hadrill-op-defaults-timeout\" name=\"timeout\" value=\"{}s\"/>\
</meta_attributes></op_defaults>",
        p.op_timeout_s
    );
    let mut prim = String::new();
    let mut cons = String::new();
    for r in resources {
        let id = &r.id;
        let stickiness = if r.failback { None } else { Some("INFINITY") };
        let _ = write!(
            prim,
            "<primitive id=\"{id}\" class=\"ocf\" provider=\"hadrill\" type=\"heartbeat\">\
<instance_attributes id=\"{id}-params\">\
<nvpair id=\"{id}-dir\" name=\"dir\" value=\"{SHARED_DIR}/heartbeat\"/>\
<nvpair id=\"{id}-service\" name=\"service\" value=\"{id}\"/>\
</instance_attributes>\
<meta_attributes id=\"{id}-meta\">\
<nvpair id=\"{id}-migration-threshold\" name=\"migration-threshold\" value=\"{}\"/>{}\
</meta_attributes>\
<operations>\
<op id=\"{id}-start\" name=\"start\" interval=\"0s\" timeout=\"{}s\"/>\
<op id=\"{id}-stop\" name=\"stop\" interval=\"0s\" timeout=\"{}s\"/>\
{}\
</operations>\
</primitive>",
            r.max_restart + 1,
            stickiness
                .map(|v| format!("<nvpair id=\"{id}-stickiness\" name=\"resource-stickiness\" value=\"{v}\"/>"))
                .unwrap_or_default(),
            // start touches the share synchronously: the first NFS automount can take 30 s.
            p.op_timeout_s * 2,
            p.op_timeout_s,
            monitor_op(id, p, monitor),
        );
        if let Some((group, restricted)) = &r.group {
            for (i, n) in group.iter().enumerate() {
                let score = 100 * (group.len() - i);
                let _ =
                    write!(cons, "<rsc_location id=\"{id}-prefers-{n}\" rsc=\"{id}\" node=\"{n}\" score=\"{score}\"/>");
            }
            if *restricted {
                for n in nodes.iter().filter(|n| !group.contains(&n.name)) {
                    let _ = write!(
                        cons,
                        "<rsc_location id=\"{id}-avoids-{}\" rsc=\"{id}\" node=\"{}\" score=\"-INFINITY\"/>",
                        n.name, n.name
                    );
                }
            }
        }
        for other in &r.together {
            let _ = write!(
                cons,
                "<rsc_colocation id=\"{id}-with-{other}\" rsc=\"{id}\" with-rsc=\"{other}\" score=\"INFINITY\"/>"
            );
        }
        for other in &r.apart {
            let _ = write!(
                cons,
                "<rsc_colocation id=\"{id}-apart-{other}\" rsc=\"{id}\" with-rsc=\"{other}\" score=\"-INFINITY\"/>"
            );
        }
    }
    format!("<configuration><resources>{prim}</resources><constraints>{cons}</constraints>{defaults}</configuration>")
}

fn monitor_op(id: &str, p: &Profile, monitor: Monitor) -> String {
    let on_fail = match monitor {
        Monitor::Missing => return String::new(),
        Monitor::Sound => "",
        Monitor::FailureIgnored => " on-fail=\"ignore\"",
    };
    format!(
        "<op id=\"{id}-monitor\" name=\"monitor\" interval=\"{}s\" timeout=\"{}s\"{on_fail}/>",
        p.monitor_interval_s, p.op_timeout_s
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<NodeAddr> {
        (1..=3).map(|i| NodeAddr { name: format!("node{i}"), ip: Ipv4Addr::new(10, 77, 0, 10 + i) }).collect()
    }

    fn resources() -> Vec<ResourcePlan> {
        vec![
            ResourcePlan {
                id: "svc".into(),
                max_restart: 1,
                max_relocate: 1,
                failback: true,
                group: None,
                together: vec![],
                apart: vec!["other".into()],
            },
            ResourcePlan {
                id: "other".into(),
                max_restart: 0,
                max_relocate: 1,
                failback: false,
                group: Some((vec!["node2".into(), "node3".into()], true)),
                together: vec![],
                apart: vec![],
            },
        ]
    }

    fn render(plan: &BootstrapPlan) -> String {
        let mut s = String::new();
        for f in &plan.files {
            let _ = writeln!(s, "=== file {} ({:o})\n{}", f.path, f.mode, f.content);
        }
        for c in &plan.commands {
            let _ = writeln!(s, "=== {:?}: {}\n{}\n", c.on, c.what, c.run);
        }
        s
    }

    #[test]
    fn the_tcg_plan() {
        let plan = bootstrap_plan("hadrill-test", &nodes(), &resources(), &Profile::tcg(), &[0xab; 16], None);
        insta::assert_snapshot!(render(&plan));
    }

    /// What each sabotage changes in the plan, as a diff against the sound one. XML goes one
    /// element a line, so that a change in the CIB shows as the elements that changed.
    #[test]
    fn the_sabotaged_plans() {
        let render = |p: &BootstrapPlan| render(p).replace("><", ">\n<");
        let sound = render(&bootstrap_plan("c", &nodes(), &resources(), &Profile::tcg(), &[1; 16], None));
        let mut out = String::new();
        for s in Sabotage::ALL {
            let broken = render(&bootstrap_plan("c", &nodes(), &resources(), &Profile::tcg(), &[1; 16], Some(s)));
            let _ = writeln!(out, "##### {s}");
            let (a, b): (Vec<&str>, Vec<&str>) = (sound.lines().collect(), broken.lines().collect());
            for l in a.iter().filter(|l| !b.contains(l)) {
                let _ = writeln!(out, "- {l}");
            }
            for l in b.iter().filter(|l| !a.contains(l)) {
                let _ = writeln!(out, "+ {l}");
            }
        }
        insta::assert_snapshot!(out);
    }

    /// Each sabotage's plan is the sound plan with exactly its own change: the files and
    /// commands compared one by one.
    #[test]
    fn each_sabotage_changes_its_own_part_and_nothing_else() {
        let plan = |s| bootstrap_plan("c", &nodes(), &resources(), &Profile::tcg(), &[1; 16], s);
        let sound = plan(None);
        let cib = |p: &BootstrapPlan| p.commands.last().unwrap().run.clone();
        let monitor_op = "<op id=\"svc-monitor\" name=\"monitor\" interval=\"10s\" timeout=\"60s\"/>";
        assert!(cib(&sound).contains(monitor_op));
        for s in Sabotage::ALL {
            let broken = plan(Some(s));
            // (file, or command) of the sound plan → its replacement; a missing key is a
            // removal, a missing value an addition.
            let mut changed: Vec<(Option<String>, Option<String>)> = Vec::new();
            let files = |p: &BootstrapPlan| {
                p.files.iter().map(|f| format!("{} {:o}\n{}", f.path, f.mode, f.content)).collect::<Vec<_>>()
            };
            let cmds = |p: &BootstrapPlan| {
                p.commands.iter().map(|c| format!("{:?} {}\n{}", c.on, c.what, c.run)).collect::<Vec<_>>()
            };
            for (a, b) in [(files(&sound), files(&broken)), (cmds(&sound), cmds(&broken))] {
                changed.extend(a.iter().filter(|x| !b.contains(x)).map(|x| (Some(x.clone()), None)));
                changed.extend(b.iter().filter(|x| !a.contains(x)).map(|x| (None, Some(x.clone()))));
            }
            let n = changed.len();
            match s {
                Sabotage::RelocateExhausted | Sabotage::OneNodeUnfenceable | Sabotage::LeftoverBans => {
                    assert_eq!(broken, sound, "{s} acts only once the cluster is ready")
                }
                Sabotage::ShortFenceTimeout => {
                    let sbd = |p: &BootstrapPlan| p.files.iter().find(|f| f.path == "/etc/default/sbd").unwrap().content.clone();
                    assert_eq!(sbd(&broken), format!("{}SBD_OPTS=\"-1 90\"\n", sbd(&sound)));
                    assert!(sbd(&broken).contains("SBD_WATCHDOG_TIMEOUT=10\n"), "Pacemaker still reads 10 s");
                    assert_eq!(n, 2, "{s}: {changed:#?}");
                }
                Sabotage::WatchdogNoReset => {
                    assert_eq!(
                        changed,
                        [(None, Some("/etc/modprobe.d/hadrill-softdog.conf 644\noptions softdog soft_noboot=1\n".into()))]
                    );
                }
                Sabotage::NoMonitor | Sabotage::MonitorIgnored => {
                    // Every resource's monitor, and nothing else in the CIB.
                    let mut want = cib(&sound);
                    for id in ["svc", "other"] {
                        let op = monitor_op.replace("svc", id);
                        assert!(want.contains(&op), "{want}");
                        let new =
                            if s == Sabotage::NoMonitor { String::new() } else { op.replace("/>", " on-fail=\"ignore\"/>") };
                        want = want.replace(&op, &new);
                    }
                    assert_eq!(cib(&broken), want, "{s}");
                    assert_eq!(n, 2, "{s}: only the CIB command: {changed:#?}");
                }
                Sabotage::NoWatchdogTimeout => assert_eq!(
                    changed,
                    [(
                        Some("First set stonith-watchdog-timeout\ncrm_attribute --type crm_config --name stonith-watchdog-timeout --update 20s".into()),
                        None
                    )]
                ),
                Sabotage::NoAutostart => assert_eq!(
                    changed,
                    [
                        (Some("Every enable sbd, corosync and pacemaker\nsystemctl enable sbd corosync pacemaker".into()), None),
                        (None, Some("Every enable sbd only, not corosync and pacemaker\nsystemctl enable sbd".into())),
                    ]
                ),
                // Their changes are pinned by the sabotaged plans' snapshot.
                Sabotage::NoSbd | Sabotage::NoWatchdog => assert!(n > 0),
            }
        }
    }

    #[test]
    fn the_resources_fragment_is_well_formed_xml() {
        let xml = configuration_cib(&resources(), &nodes(), &Profile::tcg());
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        let prims: Vec<&str> =
            doc.descendants().filter(|n| n.has_tag_name("primitive")).filter_map(|n| n.attribute("id")).collect();
        assert_eq!(prims, ["svc", "other"]);
        let avoid: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("score") == Some("-INFINITY") && n.has_tag_name("rsc_location"))
            .filter_map(|n| n.attribute("node"))
            .collect();
        assert_eq!(avoid, ["node1"], "a restricted group keeps the resource off every other node");
        let threshold = doc
            .descendants()
            .find(|n| n.attribute("name") == Some("migration-threshold"))
            .and_then(|n| n.attribute("value"));
        assert_eq!(threshold, Some("2"), "max_restart 1 = one restart on the node, then move");
    }

    #[test]
    fn corosync_has_every_node_once_with_its_id() {
        let conf = corosync_conf("c", &nodes(), &Profile::tcg());
        for (i, n) in nodes().iter().enumerate() {
            assert!(
                conf.contains(&format!("name: {}\n        nodeid: {}\n        ring0_addr: {}", n.name, i + 1, n.ip)),
                "{conf}"
            );
        }
        assert!(conf.contains("token: 10000"));
    }
}
