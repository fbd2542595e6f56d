//! Where hadrill keeps its files, and the record of a run that outlives the process.
//!
//! ```text
//! <state>/images/<name>/<hash>/   base.qcow2, vmlinuz, initrd.img, image.json
//! <state>/images/<name>/.build-<hash>-<pid>/   a build in progress (owner, rootfs, tmp, …)
//! <state>/runs/<run>/             lab.json, owner, id_ed25519, known_hosts,
//!                                 disks/<node>.qcow2, console/<node>.log
//! <state>/keys/<file>             the Proxmox VE repository key, fetched and checked
//!                                 (`image::pve::keyring`)
//! ```
//! `owner` holds the pid and the kernel's start time of the process that holds the lab, so a
//! recycled pid is not mistaken for a live owner.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::LabError;
use super::owner::{NetRole, RunId, VmRole};
use super::xml::{Accel, NicSpec};

/// The state directory: `$HADRILL_STATE_DIR`, else `/var/lib/hadrill` for root, else
/// `$HOME/.local/share/hadrill`.
pub fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HADRILL_STATE_DIR") {
        return PathBuf::from(d);
    }
    let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false);
    if root {
        PathBuf::from("/var/lib/hadrill")
    } else {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"))
            .join(".local/share/hadrill")
    }
}

/// The directories of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    pub fn new(state_dir: &Path, run: &RunId) -> Self {
        RunDir { path: state_dir.join("runs").join(run.as_str()) }
    }

    pub fn create(&self) -> Result<(), LabError> {
        for d in [self.path.clone(), self.disks(), self.consoles()] {
            std::fs::create_dir_all(&d).map_err(|e| LabError::io(&d, e))?;
        }
        Ok(())
    }

    pub fn record(&self) -> PathBuf {
        self.path.join("lab.json")
    }
    pub fn owner(&self) -> PathBuf {
        self.path.join("owner")
    }
    pub fn key(&self) -> PathBuf {
        self.path.join("id_ed25519")
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.path.join("known_hosts")
    }
    pub fn disks(&self) -> PathBuf {
        self.path.join("disks")
    }
    pub fn consoles(&self) -> PathBuf {
        self.path.join("console")
    }
    pub fn disk(&self, node: &str) -> PathBuf {
        self.disks().join(format!("{node}.qcow2"))
    }
    pub fn console(&self, node: &str) -> PathBuf {
        self.consoles().join(format!("{node}.log"))
    }

    /// Marks the current process as the one holding the lab.
    pub fn claim(&self) -> Result<(), LabError> {
        let p = self.owner();
        std::fs::write(&p, format!("{}\n", holder_token())).map_err(|e| LabError::io(&p, e))
    }

    /// Whether the process that claimed the run is still alive.
    pub fn owner_alive(&self) -> bool {
        std::fs::read_to_string(self.owner()).is_ok_and(|s| holder_alive(s.trim()))
    }

    pub fn remove(&self) -> Result<(), LabError> {
        match std::fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(LabError::io(&self.path, e)),
        }
    }
}

/// `PID:START` of this process: its pid and the kernel's start time for it.
pub fn holder_token() -> String {
    let pid = std::process::id();
    format!("{pid}:{}", process_start(pid).unwrap_or(0))
}

/// Whether the process named by a [`holder_token`] is still running (and is the same one,
/// not a recycled pid).
pub fn holder_alive(token: &str) -> bool {
    let Some((pid, start)) = token.split_once(':') else { return false };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else { return false };
    process_start(pid) == Some(start)
}

/// The kernel's start time (in clock ticks since boot) of a process, field 22 of its stat.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    let mut fields = after.split_whitespace();
    // A killed process that its parent has not reaped yet is a zombie: dead for us.
    if matches!(fields.next()?, "Z" | "X" | "x") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// Every run directory under `state_dir`.
pub fn run_dirs(state_dir: &Path) -> Vec<(RunId, RunDir)> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(state_dir.join("runs")) {
        for e in rd.flatten() {
            if let Some(run) = e.file_name().to_str().and_then(RunId::parse) {
                let dir = RunDir::new(state_dir, &run);
                out.push((run, dir));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// One network of a run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetRecord {
    pub role: NetRole,
    pub name: String,
    /// The host's address on it; VMs are in its /24.
    pub host_ip: Ipv4Addr,
}

/// One VM of a run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VmRecord {
    /// The name inside the lab and the guest hostname.
    pub node: String,
    /// libvirt's domain name.
    pub domain: String,
    pub role: VmRole,
    pub memory_mib: u32,
    pub nics: Vec<NicSpec>,
    pub disk: PathBuf,
    pub console_log: PathBuf,
}

impl VmRecord {
    pub fn nic(&self, net: NetRole) -> Option<&NicSpec> {
        self.nics.iter().find(|n| n.net == net)
    }

    /// The address hadrill reaches the VM on: its cluster address, or for a VM without one
    /// (the storage server) its first.
    pub fn address(&self) -> Option<Ipv4Addr> {
        self.nic(NetRole::Cluster).or(self.nics.first()).map(|n| n.ip)
    }
}

/// Everything about a run that `lab status`, `lab down`, `gc` and the engine need later.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LabRecord {
    pub run: RunId,
    pub uri: String,
    pub accel: Accel,
    pub image: String,
    pub image_hash: String,
    /// Seconds since the Unix epoch when the run started.
    pub created: f64,
    /// Left up on purpose (`--keep`): `gc` does not remove it.
    pub kept: bool,
    pub networks: Vec<NetRecord>,
    pub vms: Vec<VmRecord>,
}

impl LabRecord {
    pub fn vm(&self, node: &str) -> Option<&VmRecord> {
        self.vms.iter().find(|v| v.node == node)
    }

    /// The cluster nodes, without the storage VM.
    pub fn nodes(&self) -> impl Iterator<Item = &VmRecord> {
        self.vms.iter().filter(|v| v.role == VmRole::Node)
    }

    pub fn storage(&self) -> Option<&VmRecord> {
        self.vms.iter().find(|v| v.role == VmRole::Storage)
    }

    pub fn load(path: &Path) -> Result<Self, LabError> {
        let s = std::fs::read_to_string(path).map_err(|e| LabError::io(path, e))?;
        serde_json::from_str(&s).map_err(|e| LabError::Record { path: path.to_owned(), message: e.to_string() })
    }

    pub fn save(&self, path: &Path) -> Result<(), LabError> {
        let tmp = path.with_extension("json.tmp");
        let s = serde_json::to_string_pretty(self)
            .map_err(|e| LabError::Record { path: path.to_owned(), message: e.to_string() })?;
        std::fs::write(&tmp, s).map_err(|e| LabError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| LabError::io(path, e))
    }
}

pub fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_file_tells_live_from_dead() {
        let tmp = std::env::temp_dir().join(format!("hadrill-state-{}", RunId::generate()));
        let run = RunId::generate();
        let dir = RunDir::new(&tmp, &run);
        dir.create().unwrap();
        assert!(!dir.owner_alive(), "no owner file yet");
        dir.claim().unwrap();
        assert!(dir.owner_alive());
        // Same pid, different start time: a recycled pid is not the owner.
        std::fs::write(dir.owner(), format!("{}:1\n", std::process::id())).unwrap();
        assert!(!dir.owner_alive());
        assert_eq!(run_dirs(&tmp).len(), 1);
        // A killed owner that nobody reaped yet (a zombie) is dead too.
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        let token = format!("{pid}:{}", process_start(pid).unwrap());
        assert!(holder_alive(&token));
        child.kill().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "still a zombie");
        assert!(!holder_alive(&token));
        child.wait().unwrap();
        dir.remove().unwrap();
        assert!(run_dirs(&tmp).is_empty());
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
