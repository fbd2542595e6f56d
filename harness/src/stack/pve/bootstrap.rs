//! Bringing a Proxmox VE cluster up on installed nodes, as data: ordered commands, each
//! with where it runs, so that the plan is snapshot-tested here and executed over SSH by the
//! runner. Everything is non-interactive:
//! - the cluster is created on the first node (`pvecm create`); the others join through the
//!   API with the first node's certificate fingerprint and the root password
//!   (`pvesh create /cluster/config/join`), because `pvecm add` prompts for the password;
//!   joins go one node at a time, each waiting for the new member to be counted;
//! - the fingerprint is captured from the first node's output (`Capture`), and the password
//!   is a placeholder filled in at run time, so that neither is in the plan or its snapshot;
//! - storage: NFS (`pvesm add nfs`) or Ceph (`pveceph install/init/mon/mgr/osd/pool`);
//! - the guests behind the HA resources (`pct create`, `qm create`), then the HA resources,
//!   with HA groups on Proxmox VE 8 and HA rules on 9 (the version the nodes report).

use std::fmt::Write;
use std::net::Ipv4Addr;

use super::error::{PlanError, StatusError};
use crate::scenario::ResourcePlan;
use crate::stack::pacemaker::NodeAddr;

/// A version of `pve-manager`, from `pveversion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PveVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl PveVersion {
    /// HA groups were replaced by HA rules in Proxmox VE 9.
    pub fn has_rules(self) -> bool {
        self.major >= 9
    }
}

impl std::fmt::Display for PveVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// `pveversion`: `pve-manager/8.2.4/faa83925c9641325 (running kernel: 6.8.8-2-pve)`.
pub fn parse_pveversion(output: &str) -> Result<PveVersion, StatusError> {
    let bad = || StatusError::Version { output: output.trim().to_owned() };
    let line = output.lines().find(|l| l.trim_start().starts_with("pve-manager/")).ok_or_else(bad)?;
    let v = line.trim_start().strip_prefix("pve-manager/").and_then(|r| r.split('/').next()).ok_or_else(bad)?;
    let mut parts = v.split('.').map(|p| {
        // A patch like `4~rc1` still has its number first.
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    let major = parts.next().flatten().ok_or_else(bad)?;
    let minor = parts.next().flatten().ok_or_else(bad)?;
    let patch = parts.next().flatten().unwrap_or(0);
    Ok(PveVersion { major, minor, patch })
}

/// Where a command runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum On {
    /// Once, on the first node.
    First,
    /// On every node, one after the other in node order.
    Each,
    /// On every node at once.
    Every,
    /// On this node.
    Node(String),
}

/// A value one command prints and later commands use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// The SHA-256 fingerprint of the first node's API certificate (`AA:BB:…`).
    Fingerprint,
}

impl Capture {
    pub fn var(self) -> &'static str {
        match self {
            Capture::Fingerprint => "fingerprint",
        }
    }
}

/// Filled in by the runner: the run's root password (never in the plan).
pub const ROOT_PASSWORD: &str = "root_password";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub on: On,
    /// What it is for, for progress and errors.
    pub what: String,
    /// A shell command; `{{var}}` is replaced by a captured or run-time value, quoted.
    pub run: String,
    /// Its trimmed standard output is kept under this name.
    pub capture: Option<Capture>,
}

impl Command {
    /// The command with its `{{var}}` placeholders replaced by shell-quoted values.
    pub fn render(&self, vars: &std::collections::BTreeMap<String, String>) -> Result<String, PlanError> {
        let mut out = String::with_capacity(self.run.len());
        let mut rest = self.run.as_str();
        while let Some(i) = rest.find("{{") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(j) = after.find("}}") else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let var = &after[..j];
            let value =
                vars.get(var).ok_or_else(|| PlanError::MissingVar { what: self.what.clone(), var: var.to_owned() })?;
            out.push_str(&sh_quote(value));
            rest = &after[j + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Shared storage for the guests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// An NFS export on the storage VM.
    Nfs { server: Ipv4Addr, export: String },
    /// Ceph on the nodes themselves: one OSD disk each, the cluster network for Ceph.
    Ceph { network: String, osd_device: String },
}

impl Storage {
    /// The storage id the guests' disks go on.
    pub fn id(&self) -> &'static str {
        match self {
            Storage::Nfs { .. } => "shared",
            Storage::Ceph { .. } => "hadrill",
        }
    }
}

/// The container template on the first node's `local` storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Template {
    /// Downloaded with `pveam` (needs the Proxmox template server, directly or by proxy).
    Pveam { name: String },
    /// Copied by hadrill to `/var/lib/vz/template/cache/<name>` before the plan runs, e.g. a
    /// tiny busybox root file system (`ostype: unmanaged`).
    Uploaded { name: String, ostype: Option<String> },
}

impl Template {
    fn name(&self) -> &str {
        match self {
            Template::Pveam { name } | Template::Uploaded { name, .. } => name,
        }
    }
}

/// What HA does with services when a node shuts down (datacenter.cfg `ha: shutdown_policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownPolicy {
    Conditional,
    Freeze,
    Failover,
    Migrate,
}

impl ShutdownPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ShutdownPolicy::Conditional => "conditional",
            ShutdownPolicy::Freeze => "freeze",
            ShutdownPolicy::Failover => "failover",
            ShutdownPolicy::Migrate => "migrate",
        }
    }
}

/// Everything the plan depends on besides the scenario's resources.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSetup {
    pub cluster: String,
    /// Cluster network addresses, in node order; the first creates the cluster.
    pub nodes: Vec<NodeAddr>,
    pub storage: Storage,
    pub template: Template,
    pub shutdown_policy: Option<ShutdownPolicy>,
    /// Seconds to wait for each thing to settle (quorum, a join, a mount).
    pub settle_s: u32,
}

/// The steps, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapPlan {
    pub version: PveVersion,
    pub commands: Vec<Command>,
}

/// A guest behind an HA resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guest {
    Ct(u32),
    Vm(u32),
}

fn guest(id: &str) -> Result<Guest, PlanError> {
    let bad = || PlanError::BadResourceId { id: id.to_owned() };
    let (kind, n) = id.split_once(':').ok_or_else(bad)?;
    let n: u32 = n.parse().map_err(|_| bad())?;
    if !(100..=999_999_999).contains(&n) {
        return Err(bad());
    }
    match kind {
        "ct" => Ok(Guest::Ct(n)),
        "vm" => Ok(Guest::Vm(n)),
        _ => Err(bad()),
    }
}

/// A rule or group id from a resource id (`ct:100` → `hadrill-ct-100`).
fn config_id(prefix: &str, sid: &str) -> String {
    format!("{prefix}-{}", sid.replace(':', "-"))
}

/// `node1:3,node2:2,node3:1`: earlier nodes are preferred.
fn priorities(nodes: &[String]) -> String {
    nodes.iter().enumerate().map(|(i, n)| format!("{n}:{}", nodes.len() - i)).collect::<Vec<_>>().join(",")
}

fn wait(what: &str, settle_s: u32, cond: &str) -> String {
    format!(
        "for i in $(seq {settle_s}); do if {cond}; then exit 0; fi; sleep 1; done; echo 'hadrill: timed out after {settle_s}s waiting for {what}' >&2; exit 1"
    )
}

/// The plan for the nodes of `setup` running `resources`, for the version the first node
/// reported.
pub fn bootstrap_plan(
    setup: &ClusterSetup,
    resources: &[ResourcePlan],
    version: PveVersion,
) -> Result<BootstrapPlan, PlanError> {
    let first = setup.nodes.first().ok_or(PlanError::NoNodes)?;
    let guests: Vec<(Guest, &ResourcePlan)> =
        resources.iter().map(|r| guest(&r.id).map(|g| (g, r))).collect::<Result<_, _>>()?;
    let s = setup.settle_s;
    let mut c = Vec::new();
    let mut push = |on: On, what: &str, run: String| c.push(Command { on, what: what.into(), run, capture: None });

    // apt inside `pveceph install` asks before installing; so would any later apt-get.
    push(
        On::Every,
        "answer apt's questions",
        "printf 'APT::Get::Assume-Yes \"true\";\\n' > /etc/apt/apt.conf.d/90hadrill-assume-yes".into(),
    );
    push(On::Every, "check the node runs Proxmox VE", "pveversion".into());
    push(On::First, "create the cluster", format!("pvecm create {} --link0 {}", sh_quote(&setup.cluster), first.ip));
    push(
        On::First,
        "wait for the new cluster to be quorate",
        wait("quorum on the first node", s, "pvecm status 2>/dev/null | grep -q '^Quorate: *Yes'"),
    );
    c.push(Command {
        on: On::First,
        what: "read the API certificate's fingerprint".into(),
        run: "openssl x509 -in /etc/pve/local/pve-ssl.pem -noout -fingerprint -sha256 | cut -d= -f2".into(),
        capture: Some(Capture::Fingerprint),
    });
    for (i, n) in setup.nodes.iter().enumerate().skip(1) {
        let mut push = |what: String, run: String| {
            c.push(Command { on: On::Node(n.name.clone()), what, run, capture: None });
        };
        push(
            format!("join {} to the cluster", n.name),
            format!(
                "pvesh create /cluster/config/join --hostname {} --fingerprint {{{{{}}}}} --password {{{{{ROOT_PASSWORD}}}}} --link0 {}",
                first.ip,
                Capture::Fingerprint.var(),
                n.ip
            ),
        );
        // The join runs as a task; it is done when this node counts every member so far.
        push(
            format!("wait for {} to be a quorate member", n.name),
            wait(
                &format!("{} to join", n.name),
                s,
                &format!(
                    "pvecm status 2>/dev/null | grep -q '^Quorate: *Yes' && [ \"$(pvecm status 2>/dev/null | awk '/^Total votes:/ {{print $3}}')\" -ge {} ]",
                    i + 1
                ),
            ),
        );
    }
    let mut push = |on: On, what: &str, run: String| c.push(Command { on, what: what.into(), run, capture: None });
    let storage = setup.storage.id();
    match &setup.storage {
        Storage::Nfs { server, export } => {
            push(
                On::First,
                "add the NFS storage",
                format!(
                    "pvesm add nfs {storage} --server {server} --export {} --content images,rootdir --options vers=4.2",
                    sh_quote(export)
                ),
            );
            push(
                On::Every,
                "wait for the NFS storage to be active",
                wait(
                    "the NFS storage",
                    s,
                    &format!("pvesm status --storage {storage} 2>/dev/null | grep -q ' active '"),
                ),
            );
        }
        Storage::Ceph { network, osd_device } => {
            push(On::Every, "install Ceph", "pveceph install --repository no-subscription".into());
            push(On::First, "initialise Ceph", format!("pveceph init --network {}", sh_quote(network)));
            push(On::Each, "create a Ceph monitor", "pveceph mon create".into());
            // The first monitor brings a manager with it on some releases; one a node is enough.
            push(
                On::Each,
                "create a Ceph manager",
                "test -d /var/lib/ceph/mgr/ceph-$(hostname -s) || pveceph mgr create".into(),
            );
            push(On::Each, "create a Ceph OSD", format!("pveceph osd create {}", sh_quote(osd_device)));
            push(
                On::First,
                "create the pool and its storage",
                format!("pveceph pool create {storage} --add_storages 1 --size 3 --min_size 2"),
            );
            push(
                On::First,
                "wait for Ceph to be healthy",
                wait("Ceph health", s, "ceph health 2>/dev/null | grep -q HEALTH_OK"),
            );
        }
    }
    if let Some(p) = setup.shutdown_policy {
        push(
            On::First,
            "set the HA shutdown policy",
            format!("pvesh set /cluster/options --ha shutdown_policy={}", p.as_str()),
        );
    }
    let template = setup.template.name();
    if guests.iter().any(|(g, _)| matches!(g, Guest::Ct(_))) {
        match &setup.template {
            Template::Pveam { name } => {
                push(
                    On::First,
                    "download the container template",
                    format!("pveam update && pveam download local {}", sh_quote(name)),
                );
            }
            Template::Uploaded { name, .. } => push(
                On::First,
                "check the container template is there",
                format!(
                    "test -s /var/lib/vz/template/cache/{} || {{ echo 'hadrill: the container template was not uploaded' >&2; exit 1; }}",
                    sh_quote(name)
                ),
            ),
        }
    }
    for (g, r) in &guests {
        match g {
            Guest::Ct(n) => {
                let ostype = match &setup.template {
                    Template::Uploaded { ostype: Some(o), .. } => format!(" --ostype {}", sh_quote(o)),
                    _ => String::new(),
                };
                push(
                    On::First,
                    &format!("create the container {}", r.id),
                    format!(
                        "pct create {n} local:vztmpl/{} --hostname ct{n} --memory 64 --swap 0 --cores 1 --rootfs {storage}:1{ostype}",
                        sh_quote(template)
                    ),
                );
            }
            // No OS: it sits in its firmware, which is all HA needs to run, stop and move it.
            Guest::Vm(n) => push(
                On::First,
                &format!("create the virtual machine {}", r.id),
                format!(
                    "qm create {n} --name vm{n} --memory 128 --cores 1 --kvm 0 --scsi0 {storage}:1 --boot order=scsi0"
                ),
            ),
        }
    }
    ha_commands(&guests, version, &mut c);
    Ok(BootstrapPlan { version, commands: c })
}

fn ha_commands(guests: &[(Guest, &ResourcePlan)], version: PveVersion, c: &mut Vec<Command>) {
    let mut push = |what: String, run: String| c.push(Command { on: On::First, what, run, capture: None });
    for (_, r) in guests {
        let mut add = format!(
            "ha-manager add {} --state started --max_restart {} --max_relocate {}",
            r.id, r.max_restart, r.max_relocate
        );
        match (&r.group, version.has_rules()) {
            (Some((nodes, restricted)), false) => {
                let g = config_id("hadrill", &r.id);
                push(
                    format!("add the HA group of {}", r.id),
                    format!(
                        "ha-manager groupadd {g} --nodes {} --restricted {} --nofailback {}",
                        priorities(nodes),
                        u8::from(*restricted),
                        u8::from(!r.failback)
                    ),
                );
                let _ = write!(add, " --group {g}");
            }
            // Without a group, Proxmox VE 8 has no preferred node to fail back to.
            (None, false) => {}
            (_, true) => {
                if !r.failback {
                    add.push_str(" --failback 0");
                }
            }
        }
        push(format!("add {} to HA", r.id), add);
    }
    if !version.has_rules() {
        return;
    }
    for (_, r) in guests {
        if let Some((nodes, restricted)) = &r.group {
            push(
                format!("add the node-affinity rule of {}", r.id),
                format!(
                    "ha-manager rules add node-affinity {} --resources {} --nodes {} --strict {}",
                    config_id("hadrill", &r.id),
                    r.id,
                    priorities(nodes),
                    u8::from(*restricted)
                ),
            );
        }
    }
    // One rule per pair, whichever side wrote it.
    let mut seen = std::collections::BTreeSet::new();
    for (_, r) in guests {
        for (others, affinity) in [(&r.together, "positive"), (&r.apart, "negative")] {
            for o in others {
                let pair = if r.id < *o { (r.id.clone(), o.clone()) } else { (o.clone(), r.id.clone()) };
                if !seen.insert((pair.clone(), affinity)) {
                    continue;
                }
                let id = format!(
                    "{}-{}-{}",
                    config_id("hadrill", &pair.0),
                    if affinity == "positive" { "with" } else { "apart" },
                    pair.1.replace(':', "-")
                );
                push(
                    format!(
                        "keep {} and {} {}",
                        pair.0,
                        pair.1,
                        if affinity == "positive" { "together" } else { "apart" }
                    ),
                    format!(
                        "ha-manager rules add resource-affinity {id} --resources {},{} --affinity {affinity}",
                        pair.0, pair.1
                    ),
                );
            }
        }
    }
}

/// Which resources ask for something their Proxmox VE version cannot do: resource affinity
/// (together/apart) exists from version 9 on. The runner reports these before it starts.
pub fn unsupported(resources: &[ResourcePlan], version: PveVersion) -> Vec<String> {
    if version.has_rules() {
        return Vec::new();
    }
    resources
        .iter()
        .filter(|r| !r.together.is_empty() || !r.apart.is_empty())
        .map(|r| format!("{}: resource affinity (together/apart) needs Proxmox VE 9; the nodes run {version}", r.id))
        .collect()
}

/// The operator's commands of a scenario, as run on a node: `ha-manager …` and
/// `pvecm expected N`.
pub fn action_command(action: &crate::scenario::Action) -> Option<String> {
    use crate::scenario::Action;
    match action {
        Action::HaManager(args) => Some(format!("ha-manager {args}")),
        Action::PvecmExpected(n) => Some(format!("pvecm expected {n}")),
        Action::Run(cmd) => Some(cmd.clone()),
        Action::CrmResource(_) => None,
    }
}

/// A shell word in single quotes.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn setup(storage: Storage) -> ClusterSetup {
        ClusterSetup {
            cluster: "hadrill".into(),
            nodes: (1..=3)
                .map(|i| NodeAddr { name: format!("node{i}"), ip: Ipv4Addr::new(10, 77, 0, 10 + i) })
                .collect(),
            storage,
            template: Template::Uploaded { name: "hadrill-busybox.tar.gz".into(), ostype: Some("unmanaged".into()) },
            shutdown_policy: Some(ShutdownPolicy::Conditional),
            settle_s: 300,
        }
    }

    fn resources() -> Vec<ResourcePlan> {
        vec![
            ResourcePlan {
                id: "ct:100".into(),
                max_restart: 1,
                max_relocate: 1,
                failback: false,
                group: Some((vec!["node1".into(), "node2".into()], true)),
                together: vec![],
                apart: vec!["vm:200".into()],
            },
            ResourcePlan {
                id: "vm:200".into(),
                max_restart: 0,
                max_relocate: 2,
                failback: true,
                group: None,
                together: vec![],
                apart: vec!["ct:100".into()],
            },
        ]
    }

    fn render(plan: &BootstrapPlan) -> String {
        let mut s = format!("# Proxmox VE {}\n", plan.version);
        for c in &plan.commands {
            let _ = writeln!(
                s,
                "=== {:?}: {}{}\n{}\n",
                c.on,
                c.what,
                c.capture.map(|c| format!(" -> {{{{{}}}}}", c.var())).unwrap_or_default(),
                c.run
            );
        }
        s
    }

    const PVE8: PveVersion = PveVersion { major: 8, minor: 4, patch: 1 };
    const PVE9: PveVersion = PveVersion { major: 9, minor: 0, patch: 3 };

    #[test]
    fn nfs_plan_on_pve8_uses_groups() {
        let nfs = Storage::Nfs { server: Ipv4Addr::new(10, 78, 0, 2), export: "/srv/nfs".into() };
        let plan = bootstrap_plan(&setup(nfs), &resources(), PVE8).unwrap();
        let text = render(&plan);
        assert!(
            text.contains("ha-manager groupadd hadrill-ct-100 --nodes node1:2,node2:1 --restricted 1 --nofailback 1")
        );
        assert!(
            text.contains(
                "ha-manager add ct:100 --state started --max_restart 1 --max_relocate 1 --group hadrill-ct-100"
            )
        );
        assert!(!text.contains("rules add"), "no rules before Proxmox VE 9");
        assert_eq!(unsupported(&resources(), PVE8).len(), 2, "affinity needs 9");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn ceph_plan_on_pve9_uses_rules() {
        let ceph = Storage::Ceph { network: "10.78.0.0/24".into(), osd_device: "/dev/vdb".into() };
        let plan = bootstrap_plan(&setup(ceph), &resources(), PVE9).unwrap();
        let text = render(&plan);
        assert!(text.contains(
            "ha-manager rules add node-affinity hadrill-ct-100 --resources ct:100 --nodes node1:2,node2:1 --strict 1"
        ));
        assert_eq!(text.matches("rules add resource-affinity").count(), 1, "one rule for the pair:\n{text}");
        assert!(text.contains("--resources ct:100,vm:200 --affinity negative"));
        assert!(text.contains("ha-manager add ct:100 --state started --max_restart 1 --max_relocate 1 --failback 0"));
        assert!(!text.contains("groupadd"));
        assert!(unsupported(&resources(), PVE9).is_empty());
        insta::assert_snapshot!(text);
    }

    #[test]
    fn joins_go_through_the_api_one_node_at_a_time() {
        let nfs = Storage::Nfs { server: Ipv4Addr::new(10, 78, 0, 2), export: "/srv/nfs".into() };
        let plan = bootstrap_plan(&setup(nfs), &resources(), PVE8).unwrap();
        let joins: Vec<&Command> = plan.commands.iter().filter(|c| c.run.contains("/cluster/config/join")).collect();
        assert_eq!(joins.len(), 2);
        assert!(joins.iter().all(|c| matches!(&c.on, On::Node(_))));
        assert!(!plan.commands.iter().any(|c| c.run.contains("pvecm add")), "pvecm add prompts for a password");
        let fp = plan.commands.iter().position(|c| c.capture == Some(Capture::Fingerprint)).unwrap();
        let first_join = plan.commands.iter().position(|c| c.run.contains("/cluster/config/join")).unwrap();
        assert!(fp < first_join, "the fingerprint is read before it is used");

        let mut vars = BTreeMap::new();
        assert!(matches!(joins[0].render(&vars), Err(PlanError::MissingVar { .. })));
        vars.insert("fingerprint".into(), "AB:CD".into());
        vars.insert(ROOT_PASSWORD.into(), "it's secret".into());
        let run = joins[0].render(&vars).unwrap();
        assert_eq!(
            run,
            "pvesh create /cluster/config/join --hostname 10.77.0.11 --fingerprint 'AB:CD' --password 'it'\\''s secret' --link0 10.77.0.12"
        );
    }

    #[test]
    fn bad_resource_ids_and_no_nodes() {
        let nfs = Storage::Nfs { server: Ipv4Addr::new(10, 78, 0, 2), export: "/srv/nfs".into() };
        let mut r = resources();
        r[0].id = "svc".into();
        assert!(matches!(bootstrap_plan(&setup(nfs.clone()), &r, PVE8), Err(PlanError::BadResourceId { .. })));
        r[0].id = "ct:99".into();
        assert!(matches!(bootstrap_plan(&setup(nfs.clone()), &r, PVE8), Err(PlanError::BadResourceId { .. })));
        let mut s = setup(nfs);
        s.nodes.clear();
        assert!(matches!(bootstrap_plan(&s, &resources(), PVE8), Err(PlanError::NoNodes)));
    }

    #[test]
    fn pveversion_output() {
        let v = parse_pveversion("pve-manager/8.2.4/faa83925c9641325 (running kernel: 6.8.8-2-pve)\n").unwrap();
        assert_eq!(v, PveVersion { major: 8, minor: 2, patch: 4 });
        assert!(!v.has_rules());
        let v = parse_pveversion("pve-manager/9.0.3/025864202ebb6109 (running kernel: 6.14.8-2-pve)").unwrap();
        assert!(v.has_rules());
        assert!(parse_pveversion("bash: pveversion: command not found").is_err());
        assert!(parse_pveversion("pve-manager/x.y/abc").is_err());
    }

    #[test]
    fn actions() {
        use crate::scenario::Action;
        assert_eq!(action_command(&Action::PvecmExpected(1)).as_deref(), Some("pvecm expected 1"));
        assert_eq!(
            action_command(&Action::HaManager("crm-command node-maintenance enable node1".into())).as_deref(),
            Some("ha-manager crm-command node-maintenance enable node1")
        );
        assert_eq!(action_command(&Action::CrmResource("--cleanup".into())), None);
    }
}
