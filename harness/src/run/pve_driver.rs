//! The runner's [`Driver`] on a real lab with the Proxmox VE stack (nodes booted from the
//! Debian route's image, `images/pve-debian`).
//!
//! - One clock: t = 0 when the driver starts, on the host's clock; guest timestamps are moved
//!   onto it by each node's measured offset ([`HostClocks`]).
//! - Live: hypervisor events (libvirt's callbacks), and the Proxmox observer ([`PveCluster`]'s
//!   `PveObserver`: `pvesh` status polls, `corosync-quorumtool`, every node's journal read
//!   with the Proxmox reader as it is written).
//! - Around the run: the root password and the container template on the nodes, the bootstrap
//!   plan over SSH, the readiness gate (quorate, a master, every node online to the manager,
//!   every resource `started` by its `crm_state`), the artefact bundle.
//! - Faults: the shared catalogue with Proxmox's names (`stack::pve::fault_spec`), each
//!   waiting for the steady state first unless another fault is still in effect.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::runtime::Handle;
use tracing::info;

use super::driver::{ActionOutput, Driver, DriverError};
use super::lab_common::{
    FaultBook, Sessions, apply_fault, export_journals, forget_after, hypervisor_events, infra, lock, on_every, pause,
    run_action, since, unix_ms, write_lab_artefacts,
};
use super::pve_cluster::{PveCluster, PveClusterOptions};
use super::pve_observer::HostClocks;
use crate::check::Watched;
use crate::lab::{DomainEvents, Lab, NetRole};
use crate::node::{Fleet, SessionOptions, SessionPool};
use crate::scenario::{Action, Fault, ResourcePlan};
use crate::stack::pacemaker::NodeAddr;
use crate::stack::pve::{self, ClusterSetup, ROOT_PASSWORD, Storage, Template};
use crate::timeline::{Event, Seconds};

/// The container template hadrill makes on the first node: a busybox root file system whose
/// init waits until it is stopped (`ostype: unmanaged`, so Proxmox VE leaves it as it is).
pub const TEMPLATE: &str = "hadrill-busybox.tar.gz";

/// Proxmox VE's documented minimum for the OS and its services; a smaller node swaps its
/// Perl daemons out and misses its own HA timers.
pub const PVE_MIN_MEMORY_MIB: u32 = 2048;

/// How the driver paces itself.
#[derive(Clone, Debug)]
pub struct PveDriverOptions {
    pub cluster: PveClusterOptions,
    /// How long a fault waits for the cluster's steady state before giving up.
    pub ready_before_fault: Duration,
    /// Seconds each step of the bootstrap may wait for something to settle (quorum, a join,
    /// the storage).
    pub settle_s: u32,
}

impl Default for PveDriverOptions {
    fn default() -> Self {
        PveDriverOptions {
            cluster: PveClusterOptions::default(),
            ready_before_fault: Duration::from_secs(300),
            settle_s: 600,
        }
    }
}

/// The shell that makes the container template on a node: busybox from the image's
/// `busybox-static` (the Debian route's image); where there is none, or only a dynamically
/// linked one (an image installed from the ISO, which brings no repository to install it
/// from), the node's own `dash` and `sleep` with the libraries they load.
pub fn template_script() -> String {
    template_script_into("/var/lib/vz/template/cache")
}

fn template_script_into(dir: &str) -> String {
    format!(
        r#"set -eu
d=$(mktemp -d)
mkdir -p "$d/bin" "$d/sbin" "$d/etc" "$d/proc" "$d/sys" "$d/dev" "$d/tmp" "$d/run" "$d/root"
if [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; then
  cp /bin/busybox "$d/bin/busybox"
  for a in sh sleep cat echo ls ps mount; do ln -s busybox "$d/bin/$a"; done
else
  cp /bin/dash "$d/bin/sh"
  cp /bin/sleep "$d/bin/sleep"
  for lib in $(ldd /bin/dash /bin/sleep | awk '{{ for (i = 1; i <= NF; i++) if ($i ~ /^\// && $i !~ /:$/) print $i }}' | sort -u); do
    mkdir -p "$d$(dirname "$lib")"
    cp -L "$lib" "$d$lib"
  done
fi
cat > "$d/sbin/init" <<'INIT'
#!/bin/sh
# hadrill's HA test guest: runs until it is told to stop (SIGPWR is LXC's halt signal).
trap 'exit 0' TERM INT PWR
while :; do sleep 1; done
INIT
chmod 0755 "$d/sbin/init"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$d/etc/passwd"
mkdir -p {dir}
tar -C "$d" -czf {dir}/{TEMPLATE} .
rm -rf "$d"
"#
    )
}

/// The runner's driver on a lab of real VMs with Proxmox VE.
pub struct PveLabDriver<'a> {
    lab: &'a Lab,
    rt: Handle,
    sessions: Arc<Sessions>,
    cluster: PveCluster,
    t0: SystemTime,
    nodes: Vec<String>,
    hv: DomainEvents,
    cancel: Arc<AtomicBool>,
    options: PveDriverOptions,
    faults: Mutex<FaultBook>,
    /// The HA resources the cluster carries, for the readiness gate.
    services: Vec<String>,
    /// Full journal exports, by node (collected at the end).
    pub journals: BTreeMap<String, Vec<u8>>,
    /// What could not be collected, for the artefact bundle.
    pub problems: Vec<String>,
}

impl<'a> PveLabDriver<'a> {
    /// Starts observing `lab` through `fleet`'s sessions: t = 0 is now. `services` are the HA
    /// resources the cluster will carry.
    pub fn start(
        lab: &'a Lab,
        fleet: Fleet,
        rt: Handle,
        cancel: Arc<AtomicBool>,
        services: Vec<String>,
        options: PveDriverOptions,
    ) -> Result<Self, DriverError> {
        let hv = lab.hypervisor().subscribe().map_err(|e| infra("hypervisor events", e))?;
        let t0 = SystemTime::now();
        let record = lab.record();
        let nodes: Vec<String> = record.nodes().map(|v| v.node.clone()).collect();
        // The observer's own pool of the nodes only, giving up on a dead node within 10 s: it
        // polls every 2 s (see `PveObserver`).
        let addrs = record
            .nodes()
            .filter_map(|v| Some((v.node.clone(), std::net::SocketAddr::from((v.address()?, 22)))))
            .collect();
        let quick = SessionOptions { connect_timeout: Duration::from_secs(10), ..fleet.opts.clone() };
        let observer_pool = Arc::new(SessionPool::new(addrs, fleet.key.clone(), fleet.known.clone(), quick));
        let clocks = Arc::new(HostClocks { t0, offsets: fleet.offsets.clone() });
        let sessions = Arc::new(Sessions::from_fleet(record, fleet));
        let mut cluster = PveCluster::new(sessions.pool.clone(), nodes.clone(), clocks, options.cluster.clone());
        {
            let _in_runtime = rt.enter();
            cluster.start_observer(observer_pool);
        }
        Ok(PveLabDriver {
            lab,
            rt,
            sessions,
            cluster,
            t0,
            nodes,
            hv,
            cancel,
            options,
            faults: Mutex::new(FaultBook::default()),
            services,
            journals: BTreeMap::new(),
            problems: Vec::new(),
        })
    }

    /// The run's start on the host clock.
    pub fn t0(&self) -> SystemTime {
        self.t0
    }

    fn cancelled(&self) -> Result<(), DriverError> {
        if self.cancel.load(Ordering::Relaxed) { Err(DriverError::Infra("interrupted".into())) } else { Ok(()) }
    }

    /// What the plan needs on the nodes before it runs: the run's root password (the joins
    /// authenticate with it), APT's proxy for download.proxmox.com when one is configured
    /// (`pveceph install`), and the container template on the first node.
    pub fn prepare(&mut self, root_password: &str, apt_proxy: Option<&str>) -> Result<(), DriverError> {
        self.cancelled()?;
        let cmd = format!("printf '%s\\n' {} | chpasswd", pve::sh_quote(&format!("root:{root_password}")));
        // Not through `on_every`: its error would carry the command, and with it the password.
        let nodes = self.nodes.clone();
        self.rt.block_on(self.cluster.on_every("set the root password", &cmd))?;
        if let Some(p) = apt_proxy {
            let conf = pve::apt_proxy_conf(p);
            let write = format!("cat > {} <<'PROXY'\n{}PROXY", conf.path, conf.content);
            on_every(&self.rt, &self.sessions, &self.cancel, &nodes, "APT's proxy", &write, Duration::from_secs(60))?;
        }
        let first = nodes.first().cloned().ok_or_else(|| DriverError::Infra("no nodes".into()))?;
        on_every(
            &self.rt,
            &self.sessions,
            &self.cancel,
            std::slice::from_ref(&first),
            "making the container template",
            &template_script(),
            Duration::from_secs(300),
        )?;
        info!(node = first, "container template {TEMPLATE} made");
        Ok(())
    }

    /// The cluster's set-up for this lab: NFS from the storage VM, the template made by
    /// [`prepare`](Self::prepare).
    pub fn setup(&self, cluster: &str) -> Result<ClusterSetup, DriverError> {
        let record = self.lab.record();
        let nodes: Vec<NodeAddr> =
            record.nodes().filter_map(|v| v.address().map(|ip| NodeAddr { name: v.node.clone(), ip })).collect();
        let server: Ipv4Addr = record
            .storage()
            .and_then(|v| v.nics.iter().find(|n| n.net == NetRole::Storage).map(|n| n.ip))
            .ok_or_else(|| DriverError::Infra("the lab has no storage VM, so no shared storage".into()))?;
        Ok(ClusterSetup {
            cluster: cluster.to_owned(),
            nodes,
            // The storage VM exports /srv/nfs as the NFSv4 root (fsid=0): its path is `/`.
            storage: Storage::Nfs { server, export: "/".into() },
            template: Template::Uploaded { name: TEMPLATE.into(), ostype: Some("unmanaged".into()) },
            shutdown_policy: None,
            settle_s: self.options.settle_s,
        })
    }

    /// Reads the version the nodes run, then runs the bootstrap plan for it. `Err` also when
    /// a resource asks for what that version cannot do.
    pub fn bootstrap(
        &mut self,
        setup: &ClusterSetup,
        resources: &[ResourcePlan],
        root_password: &str,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<pve::PveVersion, DriverError> {
        self.cancelled()?;
        progress("reading the Proxmox VE version");
        let version = self.rt.block_on(self.cluster.version())?;
        let unsupported = pve::unsupported(resources, version);
        if !unsupported.is_empty() {
            return Err(DriverError::Infra(unsupported.join("; ")));
        }
        let plan = pve::bootstrap_plan(setup, resources, version).map_err(|e| infra("bootstrap plan", e))?;
        info!(%version, commands = plan.commands.len(), "Proxmox VE bootstrap plan");
        let vars = BTreeMap::from([(ROOT_PASSWORD.to_owned(), root_password.to_owned())]);
        self.rt.block_on(self.cluster.bootstrap(&plan, vars, &self.cancel, progress))?;
        Ok(version)
    }

    /// Waits until the cluster is ready for a fault (see `stack::pve::unready`), for at most
    /// `within`. `Err` says what was still missing.
    pub fn wait_ready(
        &mut self,
        within: Duration,
        progress: &mut (dyn FnMut(&str, Duration) + Send),
    ) -> Result<(), String> {
        let services = self.services.clone();
        self.rt.block_on(self.cluster.wait_ready(&services, within, &self.cancel, progress))
    }

    fn record_problem(&mut self, what: String) {
        tracing::warn!("{what}");
        self.problems.push(what);
    }

    /// Writes the artefact bundle into `dir`: every node's journal, the console logs, the
    /// domain XML, the cluster's configuration (`corosync.conf`, `ha/resources.cfg`,
    /// `ha/groups.cfg` or `ha/rules.cfg`, `storage.cfg`, `datacenter.cfg` from /etc/pve), and
    /// what could not be collected.
    pub fn write_artefacts(&mut self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("journal"))?;
        for (n, bytes) in &self.journals {
            std::fs::write(dir.join("journal").join(format!("{n}.json")), bytes)?;
        }
        write_lab_artefacts(self.lab, dir, &mut self.problems)?;
        let avoid = lock(&self.faults).avoid.clone();
        if let Some(n) = self.nodes.iter().find(|n| !avoid.contains(*n)).cloned() {
            std::fs::create_dir_all(dir.join("pve"))?;
            for f in
                ["corosync.conf", "ha/resources.cfg", "ha/groups.cfg", "ha/rules.cfg", "storage.cfg", "datacenter.cfg"]
            {
                let out =
                    self.rt.block_on(self.sessions.exec(&n, &format!("cat /etc/pve/{f}"), Duration::from_secs(60)));
                match out {
                    Ok(o) if o.success() => std::fs::write(dir.join("pve").join(f.replace('/', "-")), o.stdout)?,
                    // groups.cfg or rules.cfg: only one of them exists, by version.
                    Ok(_) => {}
                    Err(e) => self.problems.push(format!("/etc/pve/{f} from {n}: {e}")),
                }
            }
        }
        if !self.problems.is_empty() {
            std::fs::write(dir.join("problems.txt"), self.problems.join("\n") + "\n")?;
        }
        Ok(())
    }

    /// Stops the observer and closes every session (bounded). Idempotent.
    pub fn close(&mut self) {
        let _ = self
            .rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(40), self.cluster.stop_observer()).await });
        let sessions = self.sessions.clone();
        self.rt.block_on(async move { sessions.close_all().await });
    }

    /// A node that is up and not cut off by a fault, for actions without a target.
    fn any_node(&self) -> String {
        lock(&self.faults).reachable(&self.nodes)
    }
}

impl Drop for PveLabDriver<'_> {
    fn drop(&mut self) {
        self.close();
    }
}

impl Driver for PveLabDriver<'_> {
    /// libvirt's events throughout; the HA manager's state is the record (no workload of
    /// hadrill's); watchdog-mux fences by watchdog.
    fn watched(&self) -> Watched {
        Watched { hypervisor: true, storage: false, power_fencing: false }
    }

    fn now(&self) -> Seconds {
        since(self.t0, SystemTime::now())
    }

    fn pause(&mut self, d: Duration) {
        pause(&self.cancel, d)
    }

    fn observe(&mut self) -> Result<Vec<Event>, DriverError> {
        self.cancelled()?;
        let mut out = self.cluster.observed()?;
        out.extend(hypervisor_events(self.lab, &mut self.hv, &self.nodes, self.t0));
        out.sort_by_key(|e| e.t.millis());
        Ok(out)
    }

    fn nodes(&self) -> Vec<String> {
        self.nodes.clone()
    }

    fn fault(&mut self, fault: &Fault, node: &str, heal: bool) -> Result<Seconds, DriverError> {
        self.cancelled()?;
        // A fault on top of one still in effect cannot wait for a steady cluster: the first
        // one is why it is not steady.
        let alone = lock(&self.faults).active.is_empty();
        if !heal && alone {
            let limit = self.options.ready_before_fault;
            self.wait_ready(limit, &mut |why, waited| {
                info!(waited = waited.as_secs(), "before the fault, waiting for: {why}");
            })
            .map_err(|why| DriverError::Infra(format!("the cluster was not ready for the fault: {why}")))?;
        }
        let spec = pve::fault_spec(fault, node);
        let rec = apply_fault(self.lab, &self.rt, &self.sessions, &spec, heal)?;
        lock(&self.faults).note(fault, node, heal);
        forget_after(&self.rt, &self.sessions, fault, node, heal);
        info!(node, detail = rec.detail, "{} {}", if heal { "healed" } else { "injected" }, fault.name());
        Ok(since(self.t0, rec.at))
    }

    fn act(&mut self, action: &Action, node: Option<&str>, timeout: Duration) -> Result<ActionOutput, DriverError> {
        self.cancelled()?;
        let node = node.map(str::to_owned).unwrap_or_else(|| self.any_node());
        run_action(&self.rt, &self.sessions, action, node, timeout)
    }

    fn collect(&mut self) -> Vec<Event> {
        // The observer read the journals live; stopping it hands over what it held back.
        let out = self.rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(40), self.cluster.stop_observer()).await.unwrap_or_default()
        });
        if self.cancel.load(Ordering::Relaxed) {
            return out;
        }
        // Full exports for the bundle, from a little before the run (the bootstrap).
        let cmd = pve::journal_export(unix_ms(self.t0) / 1000 - 900);
        let (journals, problems) = export_journals(&self.rt, &self.sessions, &self.nodes, &cmd);
        for p in problems {
            self.record_problem(p);
        }
        self.journals = journals;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template script parses (here-document closed, quotes balanced) and leaves the
    /// archive where the plan's `pct create` looks for it.
    #[test]
    fn the_template_script_is_valid_shell_and_writes_where_the_plan_reads() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("template.sh");
        std::fs::write(&f, template_script()).unwrap();
        let out = std::process::Command::new("sh").arg("-n").arg(&f).output().expect("sh runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(template_script().contains(&format!("/var/lib/vz/template/cache/{TEMPLATE} .")));
        assert!(template_script().contains("cp /bin/busybox"), "busybox-static is in the image");
    }

    /// Without a static busybox (this host has none, or only a dynamic one), the template holds
    /// dash and sleep with their libraries and the dynamic loader: a root file system that runs.
    #[test]
    fn without_a_static_busybox_the_template_brings_its_libraries() {
        let static_busybox = std::process::Command::new("sh")
            .arg("-c")
            .arg("[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1")
            .status()
            .is_ok_and(|s| s.success());
        if static_busybox {
            eprintln!("skipping: this host has a static /bin/busybox, so the script takes that branch");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(template_script_into(&dir.path().to_string_lossy()))
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let list =
            std::process::Command::new("tar").arg("-tzf").arg(dir.path().join(TEMPLATE)).output().expect("tar runs");
        let list = String::from_utf8_lossy(&list.stdout);
        for want in ["./bin/sh", "./bin/sleep", "./sbin/init", "libc.so.6", "ld-linux"] {
            assert!(list.contains(want), "{want} missing:\n{list}");
        }
    }
}
