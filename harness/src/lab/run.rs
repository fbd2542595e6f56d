//! Bringing a lab up, holding it, and taking it down.
//!
//! [`Lab::up`] creates, in order: the run directory (claimed by this process), the two
//! isolated networks, the run's key pair, one qcow2 overlay per VM, the domains (each with
//! its ownership mark) and starts them. The `Lab` value owns all of it: dropping it (end of
//! scope, `?`, panic unwinding, Ctrl-C handled by the caller) tears everything down unless
//! [`Lab::keep`] was called. What a killed process leaves behind, `gc`
//! ([`super::leftovers`]) removes.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::hypervisor::{Hypervisor, Removed, RunState};
use super::owner::{NetRole, RunId, VmRole};
use super::state::{LabRecord, NetRecord, RunDir, VmRecord, now_secs, run_dirs};
use super::xml::{DomainSpec, NetworkSpec, NicSpec, NodeWatchdog};
use super::{LabError, accel};
use crate::image::{BuiltImage, CommandSpec, run_command};
use crate::node::RunKey;

/// What to bring up.
#[derive(Clone, Debug)]
pub struct LabConfig {
    /// libvirt URI: `qemu:///system`, or `test:///default` in tests.
    pub uri: String,
    pub state_dir: PathBuf,
    /// Number of cluster nodes (`node1`..`nodeN`).
    pub nodes: u32,
    pub node_memory_mib: u32,
    pub storage_memory_mib: u32,
    /// Whether to add the NFS server VM.
    pub with_storage: bool,
    /// The nodes' watchdog: the emulated i6300esb that resets, and softdog allowed. Otherwise
    /// only to break a set-up on purpose: none (both modules blacklisted too), or one that
    /// does not reset.
    pub watchdog: NodeWatchdog,
    /// The storage VM's image when it is not the nodes' (a Proxmox VE node image would run
    /// the whole Proxmox stack just to serve NFS).
    pub storage_image: Option<BuiltImage>,
}

impl LabConfig {
    pub fn new(uri: &str, state_dir: &Path, nodes: u32) -> Self {
        LabConfig {
            uri: uri.to_owned(),
            state_dir: state_dir.to_owned(),
            nodes,
            node_memory_mib: 768,
            storage_memory_mib: 512,
            with_storage: true,
            watchdog: NodeWatchdog::Reset,
            storage_image: None,
        }
    }
}

/// A lab this process holds.
pub struct Lab {
    hv: Hypervisor,
    record: LabRecord,
    dir: RunDir,
    /// Tear down on drop.
    armed: bool,
}

/// One VM as `lab status` shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct VmStatus {
    pub node: String,
    pub domain: String,
    pub role: VmRole,
    pub state: Option<RunState>,
    pub address: Option<Ipv4Addr>,
    /// Resident memory of the VM's QEMU process (qemu:///system only).
    pub rss_bytes: Option<u64>,
}

/// Resident memory of the QEMU process of a running domain under `qemu:///system`, from the
/// pid file libvirt keeps and the process's `VmRSS`.
pub fn qemu_rss(domain: &str) -> Option<u64> {
    let pid = std::fs::read_to_string(format!("/run/libvirt/qemu/{domain}.pid")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).ok()?;
    let kb: u64 =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

const BASE_CLUSTER: [u8; 2] = [10, 213];
const BASE_STORAGE: [u8; 2] = [10, 214];

fn net_ip(base: [u8; 2], index: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(base[0], base[1], index, host)
}

fn mac(net: NetRole, index: u8, host: u8) -> String {
    let tag = match net {
        NetRole::Cluster => 0x0c,
        NetRole::Storage => 0x5c,
    };
    format!("52:54:00:{tag:02x}:{index:02x}:{host:02x}")
}

/// IPv4 destinations of the host's routes, as /24 prefixes (from `/proc/net/route`).
fn host_routes() -> Vec<[u8; 3]> {
    let Ok(s) = std::fs::read_to_string("/proc/net/route") else { return Vec::new() };
    s.lines()
        .skip(1)
        .filter_map(|l| {
            let dest = u32::from_str_radix(l.split_whitespace().nth(1)?, 16).ok()?;
            let b = dest.to_le_bytes();
            (dest != 0).then_some([b[0], b[1], b[2]])
        })
        .collect()
}

/// A /24 index free in both lab ranges, starting at a place derived from the run id so that
/// concurrent runs spread out.
fn pick_index(run: &RunId, used: &[Ipv4Addr], skip: &[u8]) -> Option<u8> {
    let routes = host_routes();
    let taken = |base: [u8; 2], i: u8| {
        used.iter().any(|a| a.octets()[..3] == [base[0], base[1], i])
            || routes.iter().any(|r| *r == [base[0], base[1], i])
    };
    let start = u32::from_str_radix(run.as_str(), 16).unwrap_or(0) % 250;
    (0..250u32)
        .map(|k| ((start + k) % 250 + 1) as u8)
        .find(|&i| !skip.contains(&i) && !taken(BASE_CLUSTER, i) && !taken(BASE_STORAGE, i))
}

/// A /24 of the lab's cluster range that no network and no host route uses, for a network
/// outside a lab (an image build's): its host address (`x.y.z.1`), avoiding the indexes in
/// `skip` (tried already).
pub fn free_subnet(hv: &Hypervisor, run: &RunId, skip: &[u8]) -> Result<(u8, Ipv4Addr), LabError> {
    let used = hv.used_addresses()?;
    let index = pick_index(run, &used, skip).ok_or(LabError::NoSubnet)?;
    Ok((index, net_ip(BASE_CLUSTER, index, 1)))
}

fn machine_id(run: &RunId, node: &str) -> String {
    let h = Sha256::digest(format!("{run}/{node}").as_bytes());
    h.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn check(cancel: &AtomicBool) -> Result<(), LabError> {
    if cancel.load(Ordering::Relaxed) { Err(LabError::Interrupted) } else { Ok(()) }
}

impl Lab {
    /// Brings up a lab from a built image. On any error, or if `cancel` is set, everything
    /// created so far is removed before returning.
    pub fn up(cfg: &LabConfig, image: &BuiltImage, cancel: &AtomicBool) -> Result<Lab, LabError> {
        let hv = Hypervisor::open(&cfg.uri)?;
        let acc = hv.detect_accel();
        let run = RunId::generate();
        let dir = RunDir::new(&cfg.state_dir, &run);
        dir.create()?;
        dir.claim()?;
        let record = LabRecord {
            run: run.clone(),
            uri: cfg.uri.clone(),
            accel: acc,
            image: image.name.clone(),
            image_hash: image.hash.clone(),
            created: now_secs(),
            kept: false,
            networks: Vec::new(),
            vms: Vec::new(),
        };
        record.save(&dir.record())?;
        // From here on, dropping `lab` removes whatever exists of the run.
        let mut lab = Lab { hv, record, dir, armed: true };
        info!(run = %run, accel = acc.as_str(), "{}", accel::describe(acc));

        // Networks.
        let mut tried = Vec::new();
        let index = loop {
            check(cancel)?;
            let used = lab.hv.used_addresses()?;
            let index = pick_index(&run, &used, &tried).ok_or(LabError::NoSubnet)?;
            tried.push(index);
            let cluster = NetworkSpec {
                run: run.clone(),
                role: NetRole::Cluster,
                host_ip: net_ip(BASE_CLUSTER, index, 1),
                dhcp_hosts: Vec::new(),
            };
            let storage = NetworkSpec {
                run: run.clone(),
                role: NetRole::Storage,
                host_ip: net_ip(BASE_STORAGE, index, 1),
                dhcp_hosts: Vec::new(),
            };
            match lab.hv.create_network(&cluster).and_then(|_| lab.hv.create_network(&storage)) {
                Ok(()) => {
                    lab.record.networks = [cluster, storage]
                        .iter()
                        .map(|n| NetRecord { role: n.role, name: n.name(), host_ip: n.host_ip })
                        .collect();
                    break index;
                }
                // Another run or host interface took the subnet in the meantime: try the next.
                Err(e) if tried.len() < 5 => {
                    warn!(run = %run, index, error = %e, "network did not start, trying another subnet");
                    lab.hv.remove_run(&run)?;
                }
                Err(e) => return Err(e),
            }
        };
        lab.save()?;

        // Key, overlays, domains.
        let key = RunKey::create(&lab.dir.key())?;
        let storage_ip = net_ip(BASE_STORAGE, index, 2);
        let mut specs = Vec::new();
        if cfg.with_storage {
            let nics = vec![NicSpec { net: NetRole::Storage, mac: mac(NetRole::Storage, index, 2), ip: storage_ip }];
            specs.push(lab.domain_spec(
                cfg.storage_image.as_ref().unwrap_or(image),
                acc,
                VmRole::Storage,
                "storage",
                cfg.storage_memory_mib,
                nics,
                &key,
                None,
            ));
        }
        for i in 1..=cfg.nodes {
            let host = (10 + i) as u8;
            let nics = vec![
                NicSpec {
                    net: NetRole::Cluster,
                    mac: mac(NetRole::Cluster, index, host),
                    ip: net_ip(BASE_CLUSTER, index, host),
                },
                NicSpec {
                    net: NetRole::Storage,
                    mac: mac(NetRole::Storage, index, host),
                    ip: net_ip(BASE_STORAGE, index, host),
                },
            ];
            let nfs = cfg.with_storage.then_some(storage_ip);
            specs.push(lab.domain_spec(
                image,
                acc,
                VmRole::Node,
                &format!("node{i}"),
                cfg.node_memory_mib,
                nics,
                &key,
                nfs,
            ));
        }
        for s in specs.iter_mut().filter(|s| s.role == VmRole::Node) {
            s.watchdog = cfg.watchdog;
            if cfg.watchdog == NodeWatchdog::Absent {
                s.cmdline.push_str(" module_blacklist=softdog,i6300esb");
            }
        }
        for spec in &specs {
            check(cancel)?;
            let from = match spec.role {
                VmRole::Storage => cfg.storage_image.as_ref().unwrap_or(image),
                _ => image,
            };
            create_overlay(&from.base(), &spec.disk, cancel)?;
            lab.hv.define_domain(spec)?;
            lab.record.vms.push(VmRecord {
                node: spec.node.clone(),
                domain: spec.name(),
                role: spec.role,
                memory_mib: spec.memory_mib,
                nics: spec.nics.clone(),
                disk: spec.disk.clone(),
                console_log: spec.console_log.clone(),
            });
            lab.save()?;
        }
        // Storage first (it is tiny and the nodes mount from it), then all nodes at once.
        for vm in lab.record.vms.clone() {
            check(cancel)?;
            lab.hv.start(&run, &vm.domain)?;
            info!(run = %run, node = vm.node, "started");
        }
        Ok(lab)
    }

    #[allow(clippy::too_many_arguments)]
    fn domain_spec(
        &self,
        image: &BuiltImage,
        acc: super::Accel,
        role: VmRole,
        node: &str,
        memory_mib: u32,
        nics: Vec<NicSpec>,
        key: &RunKey,
        nfs: Option<Ipv4Addr>,
    ) -> DomainSpec {
        let mut cmdline = format!(
            "root={} rw console=ttyS0,115200 net.ifnames=0 panic=5 systemd.hostname={node} systemd.machine_id={} lab.role={}",
            image.root,
            machine_id(&self.record.run, node),
            role.as_str()
        );
        for n in &nics {
            cmdline.push_str(&format!(" lab.net={},{}/24", n.mac, n.ip));
        }
        cmdline.push(' ');
        cmdline.push_str(&key.cmdline_arg());
        if let Some(ip) = nfs {
            cmdline.push_str(&format!(" lab.nfs={ip}"));
        }
        DomainSpec {
            run: self.record.run.clone(),
            role,
            node: node.to_owned(),
            accel: acc,
            memory_mib,
            vcpus: 1,
            disk: self.dir.disk(node),
            kernel: image.kernel(),
            initrd: image.initrd(),
            cmdline,
            nics,
            console_log: self.dir.console(node),
            holder: super::state::holder_token(),
            watchdog: NodeWatchdog::Reset,
        }
    }

    fn save(&self) -> Result<(), LabError> {
        self.record.save(&self.dir.record())
    }

    /// Opens an existing run (for `status`, `down`, or a second process). The returned value
    /// does not tear down on drop.
    pub fn attach(state_dir: &Path, run: &RunId) -> Result<Lab, LabError> {
        let dir = RunDir::new(state_dir, run);
        if !dir.record().is_file() {
            return Err(LabError::NoRun { run: run.to_string(), dir: state_dir.join("runs") });
        }
        let record = LabRecord::load(&dir.record())?;
        let hv = Hypervisor::open(&record.uri)?;
        Ok(Lab { hv, record, dir, armed: false })
    }

    pub fn record(&self) -> &LabRecord {
        &self.record
    }

    pub fn run(&self) -> &RunId {
        &self.record.run
    }

    pub fn run_dir(&self) -> &RunDir {
        &self.dir
    }

    pub fn hypervisor(&self) -> &Hypervisor {
        &self.hv
    }

    /// Scales a guest-speed wait for this lab's accelerator.
    pub fn scaled(&self, base: Duration) -> Duration {
        accel::scaled(self.record.accel, base)
    }

    fn vm(&self, node: &str) -> Result<&VmRecord, LabError> {
        self.record.vm(node).ok_or_else(|| LabError::NotFound {
            kind: "node",
            name: node.to_owned(),
            run: self.record.run.to_string(),
        })
    }

    /// The lab node a libvirt domain name belongs to, if it is one of this run's.
    pub fn node_of_domain(&self, domain: &str) -> Option<&str> {
        self.record.vms.iter().find(|v| v.domain == domain).map(|v| v.node.as_str())
    }

    pub fn power_off(&self, node: &str) -> Result<(), LabError> {
        self.hv.destroy(&self.record.run, &self.vm(node)?.domain)
    }

    pub fn power_on(&self, node: &str) -> Result<(), LabError> {
        self.hv.start(&self.record.run, &self.vm(node)?.domain)
    }

    pub fn set_paused(&self, node: &str, paused: bool) -> Result<(), LabError> {
        self.hv.set_paused(&self.record.run, &self.vm(node)?.domain, paused)
    }

    pub fn set_link(&self, node: &str, net: NetRole, up: bool) -> Result<(), LabError> {
        let vm = self.vm(node)?;
        let nic = vm.nic(net).ok_or_else(|| LabError::NotFound {
            kind: "interface",
            name: format!("{node}/{net}"),
            run: self.record.run.to_string(),
        })?;
        self.hv.set_link(&self.record.run, &vm.domain, nic, up)
    }

    pub fn link_is_up(&self, node: &str, net: NetRole) -> Result<Option<bool>, LabError> {
        let vm = self.vm(node)?;
        let Some(nic) = vm.nic(net) else { return Ok(None) };
        self.hv.link_is_up(&self.record.run, &vm.domain, &nic.mac)
    }

    pub fn state(&self, node: &str) -> Result<RunState, LabError> {
        self.hv.state(&self.record.run, &self.vm(node)?.domain)
    }

    pub fn status(&self) -> Vec<VmStatus> {
        self.record
            .vms
            .iter()
            .map(|v| VmStatus {
                node: v.node.clone(),
                domain: v.domain.clone(),
                role: v.role,
                state: self.hv.state(&self.record.run, &v.domain).ok(),
                address: v.address(),
                rss_bytes: qemu_rss(&v.domain),
            })
            .collect()
    }

    /// Leaves the lab up when this value is dropped; `gc` will not remove it either.
    pub fn keep(mut self) -> Result<LabRecord, LabError> {
        self.armed = false;
        self.record.kept = true;
        self.save()?;
        Ok(self.record.clone())
    }

    /// Removes the run: domains, networks, overlays, console logs, keys.
    pub fn down(mut self) -> Result<(Removed, Duration), LabError> {
        self.armed = false;
        let t = Instant::now();
        let removed = teardown(&self.hv, &self.record.run, &self.dir)?;
        Ok((removed, t.elapsed()))
    }
}

/// Removes a run: its domains and networks, then libvirt's files about them (QEMU's log of
/// each domain outlives the domain), then the run directory, last, so that a teardown cut
/// short leaves the directory for `gc` to find the run by.
pub(crate) fn teardown(hv: &Hypervisor, run: &RunId, dir: &RunDir) -> Result<Removed, LabError> {
    let mut removed = hv.remove_run(run)?;
    removed.files = super::leftovers::remove_libvirt_files(hv.uri(), run);
    dir.remove()?;
    Ok(removed)
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.armed {
            match teardown(&self.hv, &self.record.run, &self.dir) {
                Ok(r) => {
                    info!(run = %self.record.run, domains = r.domains.len(), networks = r.networks.len(), "lab torn down")
                }
                Err(e) => {
                    warn!(run = %self.record.run, error = %e, "teardown incomplete; `hadrill gc` removes the rest")
                }
            }
        }
    }
}

fn create_overlay(base: &Path, disk: &Path, cancel: &AtomicBool) -> Result<(), LabError> {
    let spec = CommandSpec { nice: false, ..CommandSpec::new("qemu-img", "qemu-utils", Duration::from_secs(60)) }
        .arg("create")
        .arg("-q")
        .arg("-f")
        .arg("qcow2")
        .arg("-F")
        .arg("qcow2")
        .arg("-b")
        .arg(base.to_string_lossy())
        .arg(disk.to_string_lossy());
    run_command(&spec, cancel, |_| {}).map_err(LabError::from)
}

/// A run found on the host: from its record, from libvirt, or both.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RunSummary {
    pub run: RunId,
    pub record: Option<LabRecord>,
    pub owner_alive: bool,
    pub domains: Vec<String>,
    pub networks: Vec<String>,
}

impl RunSummary {
    /// Left behind: nobody holds it and it was not kept on purpose.
    pub fn is_stale(&self) -> bool {
        !self.owner_alive && !self.record.as_ref().is_some_and(|r| r.kept)
    }
}

/// Every run known from `state_dir` or carrying a mark in libvirt at `uri`.
pub fn list_runs(uri: &str, state_dir: &Path) -> Result<Vec<RunSummary>, LabError> {
    let hv = Hypervisor::open(uri)?;
    let mut map: std::collections::BTreeMap<RunId, RunSummary> = Default::default();
    fn entry<'m>(map: &'m mut std::collections::BTreeMap<RunId, RunSummary>, run: &RunId) -> &'m mut RunSummary {
        map.entry(run.clone()).or_insert_with(|| RunSummary {
            run: run.clone(),
            record: None,
            owner_alive: false,
            domains: Vec::new(),
            networks: Vec::new(),
        })
    }
    for (run, dir) in run_dirs(state_dir) {
        let record = LabRecord::load(&dir.record()).ok();
        // A record for another libvirt URI belongs to another connection: leave it.
        if record.as_ref().is_some_and(|r| r.uri != uri) {
            continue;
        }
        let s = entry(&mut map, &run);
        s.record = record;
        s.owner_alive |= dir.owner_alive();
    }
    for d in hv.owned_domains()? {
        let s = entry(&mut map, &d.owner.run);
        // The mark names the creating process, so a run held by another state directory is
        // still recognised as alive.
        s.owner_alive |= d.owner.holder.as_deref().is_some_and(super::state::holder_alive);
        s.domains.push(d.name);
    }
    for n in hv.owned_networks()? {
        entry(&mut map, &n.run).networks.push(n.name);
    }
    Ok(map.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_macs_are_per_run_index() {
        assert_eq!(mac(NetRole::Cluster, 7, 11), "52:54:00:0c:07:0b");
        assert_eq!(mac(NetRole::Storage, 7, 2), "52:54:00:5c:07:02");
        let run = RunId::parse("00000000").unwrap();
        let used: Vec<Ipv4Addr> = vec!["10.213.1.1".parse().unwrap()];
        let i = pick_index(&run, &used, &[]).unwrap();
        assert_ne!(i, 1, "index 1 is taken by an existing network");
        assert_ne!(pick_index(&run, &used, &[i]).unwrap(), i, "skips what was tried");
        assert_eq!(machine_id(&run, "node1").len(), 32);
        assert_ne!(machine_id(&run, "node1"), machine_id(&run, "node2"));
    }
}
