//! Proxmox VE's side of a run on a lab of real VMs (nodes booted from the ISO route's image
//! or the Debian route's, `images/pve-debian`).
//!
//! - Set-up: the run's root password (the joins authenticate with it), APT's proxy when one
//!   is configured, the container template on the first node, then the bootstrap plan for
//!   the version the nodes run ([`PveCluster`]).
//! - Live: the Proxmox observer (`pvesh` status polls, `corosync-quorumtool`, every node's
//!   journal read with the Proxmox reader as it is written), its guest times mapped by the
//!   run's clock (re-measured after pauses and resets).
//! - Readiness: quorate, a master, every node online to the manager, every resource
//!   `started` by its `crm_state`.
//! - Artefacts: the cluster's configuration from /etc/pve.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tracing::info;

use super::{LabContext, StackConfig, StackSide, random_bytes};
use crate::check::Watched;
use crate::fault::StackFaults;
use crate::lab::NetRole;
use crate::node::SessionOptions;
use crate::run::driver::{DriverError, Unready};
use crate::run::pve_cluster::{PveCluster, PveClusterOptions};
use crate::scenario::{Plan, ResourcePlan};
use crate::stack::pacemaker::NodeAddr;
use crate::stack::pve::{self, ClusterSetup, ROOT_PASSWORD, Storage, Template};
use crate::timeline::Event;

/// The container template hadrill makes on the first node: a busybox root file system whose
/// init waits until it is stopped (`ostype: unmanaged`, so Proxmox VE leaves it as it is).
pub const TEMPLATE: &str = "hadrill-busybox.tar.gz";

/// Proxmox VE's documented minimum for the OS and its services; a smaller node swaps its
/// Perl daemons out and misses its own HA timers.
pub const PVE_MIN_MEMORY_MIB: u32 = 2048;

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

/// Proxmox VE's side.
pub struct PveSide {
    options: PveClusterOptions,
    apt_proxy: Option<String>,
    cluster: Option<PveCluster>,
    /// The HA resources the cluster carries, for the readiness gate.
    services: Vec<String>,
    /// Seconds each step of the bootstrap may wait for something to settle (quorum, a join,
    /// the storage).
    settle_s: u32,
}

/// Proxmox VE's names for the fault catalogue.
static FAULTS: StackFaults = pve::FAULTS;

impl PveSide {
    pub fn new(config: &StackConfig) -> Self {
        PveSide {
            options: PveClusterOptions::default(),
            apt_proxy: config.apt_proxy.clone(),
            cluster: None,
            services: Vec::new(),
            settle_s: 600,
        }
    }

    fn cluster(&self) -> Result<&PveCluster, DriverError> {
        self.cluster.as_ref().ok_or(DriverError::Stopped("the Proxmox VE observer"))
    }

    /// What the plan needs on the nodes before it runs: the run's root password (the joins
    /// authenticate with it), APT's proxy for download.proxmox.com when one is configured
    /// (`pveceph install`), and the container template on the first node.
    fn prepare(&mut self, ctx: &LabContext, root_password: &str) -> Result<(), DriverError> {
        ctx.cancelled()?;
        let cmd = format!("printf '%s\\n' {} | chpasswd", pve::sh_quote(&format!("root:{root_password}")));
        // Not through `on_every`: its error would carry the command, and with it the password.
        ctx.rt.block_on(self.cluster()?.on_every("set the root password", &cmd))?;
        if let Some(p) = &self.apt_proxy {
            let conf = crate::image::pve::apt_proxy_conf(p);
            let write = format!("cat > {} <<'PROXY'\n{}PROXY", conf.path, conf.content);
            ctx.on_every(&ctx.nodes, "APT's proxy", &write, Duration::from_secs(60))?;
        }
        let first = ctx.nodes.first().cloned().ok_or(DriverError::Missing("nodes"))?;
        ctx.on_every(
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
    fn cluster_setup(&self, ctx: &LabContext, cluster: &str) -> Result<ClusterSetup, DriverError> {
        let record = ctx.lab.record();
        let nodes: Vec<NodeAddr> =
            record.nodes().filter_map(|v| v.address().map(|ip| NodeAddr { name: v.node.clone(), ip })).collect();
        let server: Ipv4Addr = record
            .storage()
            .and_then(|v| v.nics.iter().find(|n| n.net == NetRole::Storage).map(|n| n.ip))
            .ok_or(DriverError::Missing("storage VM, so no shared storage"))?;
        Ok(ClusterSetup {
            cluster: cluster.to_owned(),
            nodes,
            // The storage VM exports /srv/nfs as the NFSv4 root (fsid=0): its path is `/`.
            storage: Storage::Nfs { server, export: "/".into() },
            template: Template::Uploaded { name: TEMPLATE.into(), ostype: Some("unmanaged".into()) },
            shutdown_policy: None,
            settle_s: self.settle_s,
        })
    }

    /// Reads the version the nodes run, then runs the bootstrap plan for it. `Err` also when
    /// a resource asks for what that version cannot do.
    fn bootstrap(
        &mut self,
        ctx: &LabContext,
        setup: &ClusterSetup,
        resources: &[ResourcePlan],
        root_password: &str,
        progress: &mut dyn FnMut(&str),
    ) -> Result<pve::PveVersion, DriverError> {
        ctx.cancelled()?;
        progress("reading the Proxmox VE version");
        let cluster = self.cluster()?;
        let version = ctx.rt.block_on(cluster.version())?;
        let unsupported = pve::unsupported(resources, version);
        if !unsupported.is_empty() {
            return Err(DriverError::Stack { what: format!("Proxmox VE {version}"), detail: unsupported.join("; ") });
        }
        let plan = pve::bootstrap_plan(setup, resources, version)
            .map_err(|e| DriverError::Stack { what: "bootstrap plan".into(), detail: e.to_string() })?;
        info!(%version, commands = plan.commands.len(), "Proxmox VE bootstrap plan");
        let vars = BTreeMap::from([(ROOT_PASSWORD.to_owned(), root_password.to_owned())]);
        ctx.rt.block_on(cluster.bootstrap(&plan, vars, &ctx.cancel, progress))?;
        Ok(version)
    }
}

impl StackSide for PveSide {
    /// libvirt's events throughout; the HA manager's state is the record (no workload of
    /// hadrill's); watchdog-mux fences by watchdog.
    fn watched(&self) -> Watched {
        Watched { hypervisor: true, storage: false, power_fencing: false }
    }

    fn fault_names(&self) -> &'static StackFaults {
        &FAULTS
    }

    fn ready_before_fault(&self) -> Duration {
        Duration::from_secs(300)
    }

    fn start(&mut self, ctx: &LabContext) -> Result<(), DriverError> {
        // The observer's own pool of the nodes only, giving up on a dead node within 10 s: it
        // polls every 2 s (see `PveObserver`).
        let quick = SessionOptions { connect_timeout: Duration::from_secs(10), ..ctx.sessions.pool.options().clone() };
        let observer_pool = Arc::new(ctx.sessions.pool.sibling(&ctx.nodes, quick));
        let mut cluster =
            PveCluster::new(ctx.sessions.pool.clone(), ctx.nodes.clone(), ctx.clock.clone(), self.options.clone());
        {
            let _in_runtime = ctx.rt.enter();
            cluster.start_observer(observer_pool);
        }
        self.cluster = Some(cluster);
        Ok(())
    }

    fn setup(&mut self, ctx: &LabContext, plan: &Plan, progress: &mut dyn FnMut(&str)) -> Result<(), DriverError> {
        self.services = plan.resources.iter().map(|r| r.id.clone()).collect();
        // The joins authenticate with root's password: one per run, never shown.
        let password: String = random_bytes(18)?.iter().map(|b| format!("{b:02x}")).collect();
        self.prepare(ctx, &password)?;
        // pvecm's cluster names are at most 15 characters: `hadrill` and the run id.
        let setup = self.cluster_setup(ctx, &format!("hadrill{}", ctx.lab.run()))?;
        let version = self.bootstrap(ctx, &setup, &plan.resources, &password, progress)?;
        info!(%version, "Proxmox VE cluster set up");
        Ok(())
    }

    fn wait_ready(
        &mut self,
        ctx: &LabContext,
        within: Duration,
        progress: &mut dyn FnMut(&str, Duration),
    ) -> Result<(), Unready> {
        let Some(cluster) = self.cluster.as_ref() else {
            return Err(Unready::Missing("the Proxmox VE observer is not running".into()));
        };
        ctx.rt.block_on(cluster.wait_ready(&self.services, within, &ctx.cancel, progress))
    }

    fn observe(&mut self, _ctx: &LabContext) -> Result<Vec<Event>, DriverError> {
        match &mut self.cluster {
            Some(c) => c.observed(),
            None => Ok(Vec::new()),
        }
    }

    /// The observer read the journals live; stopping it hands over what it held back.
    fn stop(&mut self, ctx: &LabContext) -> Vec<Event> {
        let Some(cluster) = &mut self.cluster else { return Vec::new() };
        ctx.rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(40), cluster.stop_observer()).await.unwrap_or_default()
        })
    }

    fn journal_export(&self, since_unix: i64) -> String {
        pve::journal_export(since_unix)
    }

    /// Read live by the observer: the exports are for the bundle only.
    fn read_journal(&self, _ctx: &LabContext, _node: &str, _export: &[u8]) -> Option<Result<Vec<Event>, String>> {
        None
    }

    /// `corosync.conf`, `ha/resources.cfg`, `ha/groups.cfg` or `ha/rules.cfg`, `storage.cfg`,
    /// `datacenter.cfg` from /etc/pve.
    fn write_artefacts(&mut self, ctx: &LabContext, dir: &Path, problems: &mut Vec<String>) -> std::io::Result<()> {
        let avoid = ctx.avoid();
        let Some(n) = ctx.nodes.iter().find(|n| !avoid.contains(*n)).cloned() else { return Ok(()) };
        std::fs::create_dir_all(dir.join("pve"))?;
        for f in ["corosync.conf", "ha/resources.cfg", "ha/groups.cfg", "ha/rules.cfg", "storage.cfg", "datacenter.cfg"]
        {
            let out = ctx.rt.block_on(ctx.sessions.exec(&n, &format!("cat /etc/pve/{f}"), Duration::from_secs(60)));
            match out {
                Ok(o) if o.success() => std::fs::write(dir.join("pve").join(f.replace('/', "-")), o.stdout)?,
                // groups.cfg or rules.cfg: only one of them exists, by version.
                Ok(_) => {}
                Err(e) => problems.push(format!("/etc/pve/{f} from {n}: {e}")),
            }
        }
        Ok(())
    }

    fn close(&mut self, ctx: &LabContext) {
        if let Some(cluster) = &mut self.cluster {
            let _ =
                ctx.rt.block_on(async { tokio::time::timeout(Duration::from_secs(40), cluster.stop_observer()).await });
        }
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
