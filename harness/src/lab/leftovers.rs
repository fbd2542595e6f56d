//! The inventory of what hadrill has on this host that no run accounts for, and its removal.
//!
//! Contract: [`inventory`] lists, for one libvirt URI and one state directory, everything of
//! hadrill's that belongs to no live and no kept run: the domains and networks of dead runs
//! (found by their ownership marks), their run directories (record, key, overlays, console
//! logs), libvirt's own files about them (QEMU's per-domain log, dnsmasq files, a bridge left
//! without its network), partial image builds whose builder is dead, anything still mounted
//! under those directories and any process still working in them. [`gc`] removes exactly
//! what [`inventory`] lists; after a successful `gc` the inventory of dead runs is empty.
//!
//! A run belongs to a state directory when its run directory is there (a run creates it
//! before any libvirt object and removes it after the last one). Domains and networks of a run
//! with no directory here belong to another state directory, where they may be kept on
//! purpose: they are listed as [`Inventory::foreign`], not as leftovers, and only
//! `gc --all` removes them. A live run (its holder process is running) is never touched.
//!
//! hadrill itself writes no temporary files outside the state directory: image builds keep
//! theirs (mmdebstrap's included) in their scratch directory.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::LabError;
use super::owner::RunId;
use super::procfs::{self, HostProcess};
use super::run::{RunSummary, list_runs, teardown};
use super::state::RunDir;
use crate::image::partial_builds;

/// QEMU's per-domain logs under `qemu:///system` (libvirt keeps them after the domain is gone).
pub const QEMU_LOG_DIR: &str = "/var/log/libvirt/qemu";
/// libvirt's per-network dnsmasq files.
pub const DNSMASQ_DIR: &str = "/var/lib/libvirt/dnsmasq";

/// What a leftover is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Domain,
    Network,
    /// A run directory: record, owner, key, overlays, console logs.
    RunDir,
    /// A file libvirt keeps about a run's domain or network.
    LibvirtFile,
    /// A bridge device whose network is gone.
    Bridge,
    /// An image build's scratch directory whose builder is dead.
    PartialImage,
    Mount,
    Process,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Domain => "domain",
            Kind::Network => "network",
            Kind::RunDir => "run-dir",
            Kind::LibvirtFile => "libvirt-file",
            Kind::Bridge => "bridge",
            Kind::PartialImage => "partial-image",
            Kind::Mount => "mount",
            Kind::Process => "process",
        }
    }
}

/// One thing left behind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Leftover {
    pub kind: Kind,
    /// The run it belongs to; none for a partial image build.
    pub run: Option<RunId>,
    /// The libvirt name, the path, or `PID command` of a process.
    pub what: String,
}

/// Why a run found on the host is not a leftover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Spared {
    /// Its holder process is running.
    Live,
    /// Left up on purpose (`--keep`).
    Kept,
    /// Its objects are in libvirt but its run directory is not in this state directory.
    Foreign,
}

/// Everything of hadrill's on the host, sorted into leftovers and what is spared.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Inventory {
    pub leftovers: Vec<Leftover>,
    pub spared: Vec<(RunId, Spared)>,
    /// What foreign runs have (domains, networks, QEMU logs of runs unknown here): `gc --all`
    /// removes it.
    pub foreign: Vec<Leftover>,
}

/// How [`inventory`] sees one run.
fn judge(s: &RunSummary, state_dir: &Path) -> Option<Spared> {
    if s.owner_alive {
        Some(Spared::Live)
    } else if s.record.as_ref().is_some_and(|r| r.kept) {
        Some(Spared::Kept)
    } else if !RunDir::new(state_dir, &s.run).path.exists() {
        Some(Spared::Foreign)
    } else {
        None
    }
}

/// The run id in a name hadrill gave a libvirt object or one of libvirt's files about it:
/// `hd-<run>-…` (domains, networks, their logs) or `hd<run>c`/`hd<run>s…` (bridges).
fn run_of_name(name: &str) -> Option<RunId> {
    let rest = name.strip_prefix("hd-").or_else(|| name.strip_prefix("hd"))?;
    RunId::parse(rest.get(..8)?)
}

/// Files in `dir` whose names carry a run id, by run.
fn named_files(dir: &Path) -> Vec<(RunId, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<(RunId, PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let run = run_of_name(name.to_str()?)?;
            Some((run, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// Where this host keeps the files [`Kind::LibvirtFile`] and [`Kind::Bridge`] are found:
/// only `qemu:///system` writes them; a test or session connection has none.
#[derive(Clone, Debug)]
pub struct HostPaths {
    pub qemu_logs: Option<PathBuf>,
    pub dnsmasq: Option<PathBuf>,
    pub net_class: Option<PathBuf>,
}

impl HostPaths {
    pub fn for_uri(uri: &str) -> Self {
        if uri == "qemu:///system" {
            HostPaths {
                qemu_logs: Some(QEMU_LOG_DIR.into()),
                dnsmasq: Some(DNSMASQ_DIR.into()),
                net_class: Some("/sys/class/net".into()),
            }
        } else {
            HostPaths { qemu_logs: None, dnsmasq: None, net_class: None }
        }
    }

    /// libvirt's files about `run` (QEMU logs, dnsmasq files).
    fn libvirt_files(&self, run: &RunId) -> Vec<PathBuf> {
        [&self.qemu_logs, &self.dnsmasq]
            .into_iter()
            .flatten()
            .flat_map(|d| named_files(d))
            .filter(|(r, _)| r == run)
            .map(|(_, p)| p)
            .collect()
    }

    /// Runs that have libvirt files or bridges on this host.
    fn runs_with_files(&self) -> BTreeSet<RunId> {
        [&self.qemu_logs, &self.dnsmasq, &self.net_class]
            .into_iter()
            .flatten()
            .flat_map(|d| named_files(d))
            .map(|(r, _)| r)
            .collect()
    }

    fn bridges(&self, run: &RunId) -> Vec<String> {
        let Some(d) = &self.net_class else { return Vec::new() };
        named_files(d)
            .into_iter()
            .filter(|(r, p)| r == run && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| !n.starts_with("hd-")))
            .filter_map(|(_, p)| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
            .collect()
    }
}

/// Everything of `run` as [`Leftover`]s: domains, networks, the run directory, libvirt's files
/// about it, bridges without a network, and what is mounted or running under the directory.
fn of_run(s: &RunSummary, state_dir: &Path, paths: &HostPaths) -> Vec<Leftover> {
    let item = |kind, what: String| Leftover { kind, run: Some(s.run.clone()), what };
    let mut out: Vec<Leftover> = Vec::new();
    out.extend(s.domains.iter().map(|d| item(Kind::Domain, d.clone())));
    out.extend(s.networks.iter().map(|n| item(Kind::Network, n.clone())));
    let dir = RunDir::new(state_dir, &s.run).path;
    if dir.exists() {
        out.push(item(Kind::RunDir, dir.display().to_string()));
        out.extend(procfs::mounts_under(&dir).into_iter().map(|m| item(Kind::Mount, m.display().to_string())));
        out.extend(
            procfs::processes_under(std::slice::from_ref(&dir))
                .into_iter()
                .map(|p| item(Kind::Process, format!("{} {}", p.pid, p.command))),
        );
    }
    out.extend(paths.libvirt_files(&s.run).into_iter().map(|p| item(Kind::LibvirtFile, p.display().to_string())));
    if s.networks.is_empty() {
        out.extend(paths.bridges(&s.run).into_iter().map(|b| item(Kind::Bridge, b)));
    }
    out
}

/// The runs `list_runs` finds, plus runs known only from libvirt's files or bridges.
fn all_runs(uri: &str, state_dir: &Path, paths: &HostPaths) -> Result<Vec<RunSummary>, LabError> {
    let mut runs = list_runs(uri, state_dir)?;
    let known: BTreeSet<RunId> = runs.iter().map(|s| s.run.clone()).collect();
    for run in paths.runs_with_files() {
        if !known.contains(&run) {
            runs.push(RunSummary { run, record: None, owner_alive: false, domains: Vec::new(), networks: Vec::new() });
        }
    }
    Ok(runs)
}

/// What hadrill left on this host for `uri` and `state_dir` (see the module's contract).
pub fn inventory(uri: &str, state_dir: &Path) -> Result<Inventory, LabError> {
    let paths = HostPaths::for_uri(uri);
    let mut inv = Inventory::default();
    for s in all_runs(uri, state_dir, &paths)? {
        match judge(&s, state_dir) {
            None => inv.leftovers.extend(of_run(&s, state_dir, &paths)),
            Some(Spared::Foreign) => {
                inv.foreign.extend(of_run(&s, state_dir, &paths));
                inv.spared.push((s.run, Spared::Foreign));
            }
            Some(why) => inv.spared.push((s.run, why)),
        }
    }
    for b in partial_builds(&state_dir.join("images")).into_iter().filter(|b| !b.alive) {
        let item = |kind, what: String| Leftover { kind, run: None, what };
        inv.leftovers.push(item(Kind::PartialImage, b.path.display().to_string()));
        inv.leftovers
            .extend(procfs::mounts_under(&b.path).into_iter().map(|m| item(Kind::Mount, m.display().to_string())));
        inv.leftovers.extend(
            procfs::processes_under(std::slice::from_ref(&b.path))
                .into_iter()
                .map(|p| item(Kind::Process, format!("{} {}", p.pid, p.command))),
        );
    }
    inv.leftovers.sort();
    inv.foreign.sort();
    Ok(inv)
}

/// What `gc` removed.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct GcReport {
    pub runs: Vec<RunId>,
    pub domains: Vec<String>,
    pub networks: Vec<String>,
    /// libvirt's files about removed runs, and bridges left without a network.
    pub files: Vec<PathBuf>,
    /// Scratch directories of killed image builds.
    pub images: Vec<PathBuf>,
    pub unmounted: Vec<PathBuf>,
    pub killed: Vec<HostProcess>,
    /// Runs left alone: held by a live process, or kept.
    pub skipped: Vec<RunId>,
    /// Runs left alone because their directory is not in this state directory.
    pub foreign: Vec<RunId>,
}

/// Removes what dead runs and killed image builds left behind: everything [`inventory`]
/// lists. Runs held by a live process are never touched; kept and foreign runs only with
/// `include_kept`. With `only`, just that run (still never one held by a live process) and no
/// image builds.
pub fn gc(uri: &str, state_dir: &Path, include_kept: bool, only: Option<&RunId>) -> Result<GcReport, LabError> {
    let hv = super::Hypervisor::open(uri)?;
    let paths = HostPaths::for_uri(uri);
    let mut report = GcReport::default();
    let mut first_err = None;
    for s in all_runs(uri, state_dir, &paths)? {
        if only.is_some_and(|r| *r != s.run) {
            continue;
        }
        match judge(&s, state_dir) {
            Some(Spared::Live) => {
                report.skipped.push(s.run);
                continue;
            }
            Some(Spared::Kept) if !include_kept => {
                report.skipped.push(s.run);
                continue;
            }
            Some(Spared::Foreign) if !include_kept => {
                report.foreign.push(s.run);
                continue;
            }
            _ => {}
        }
        let dir = RunDir::new(state_dir, &s.run);
        // Whatever still works in the run directory (a `qemu-img create` of a killed bring-up)
        // goes before the directory does.
        report.killed.extend(kill_all_under(&dir.path));
        if let Err(e) = unmount_all(&dir.path, &mut report) {
            first_err.get_or_insert(e);
            continue;
        }
        match teardown(&hv, &s.run, &dir) {
            Ok(r) => {
                report.domains.extend(r.domains);
                report.networks.extend(r.networks);
                report.files.extend(r.files);
                report.runs.push(s.run.clone());
            }
            Err(e) => {
                first_err.get_or_insert(e);
                continue;
            }
        }
        // A bridge whose network is gone (libvirtd died under it) is only a device.
        for b in paths.bridges(&s.run) {
            if remove_bridge(&b) {
                report.files.push(PathBuf::from("/sys/class/net").join(b));
            }
        }
    }
    if only.is_none() {
        for b in partial_builds(&state_dir.join("images")).into_iter().filter(|b| !b.alive) {
            report.killed.extend(kill_all_under(&b.path));
            if let Err(e) = unmount_all(&b.path, &mut report) {
                first_err.get_or_insert(e);
                continue;
            }
            // Processes that slipped past the kill could mount again: remove only within the
            // directory's own file system.
            match procfs::remove_tree(&b.path) {
                Ok(()) => report.images.push(b.path),
                Err(e) => {
                    first_err.get_or_insert(LabError::io(&b.path, e));
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// Kills what works under `dir`, again while new ones appear (a dying build's last children).
fn kill_all_under(dir: &Path) -> Vec<HostProcess> {
    let mut killed = Vec::new();
    for _ in 0..3 {
        let found = procfs::processes_under(&[dir.to_owned()]);
        if found.is_empty() {
            break;
        }
        killed.extend(kill_all(found));
    }
    killed
}

/// SIGKILL to each, then a moment for them to go (a process in uninterruptible sleep takes
/// longer; `gc` goes on regardless, and the inventory shows one that stayed).
fn kill_all(procs: Vec<HostProcess>) -> Vec<HostProcess> {
    let killed: Vec<HostProcess> = procs.into_iter().filter(|p| procfs::kill(p.pid)).collect();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5)
        && killed.iter().any(|p| std::fs::read(format!("/proc/{}/cmdline", p.pid)).is_ok_and(|c| !c.is_empty()))
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    killed
}

/// Unmounts everything under `dir`, deepest first; an error if anything stays mounted, so the
/// caller does not remove a directory with a host file system mounted in it.
fn unmount_all(dir: &Path, report: &mut GcReport) -> Result<(), LabError> {
    for m in procfs::mounts_under(dir) {
        if procfs::unmount(&m) {
            report.unmounted.push(m);
        }
    }
    match procfs::mounts_under(dir).first() {
        None => Ok(()),
        Some(m) => Err(LabError::Command {
            command: format!("umount --lazy {}", m.display()),
            message: "still mounted; not removing the directory under it".into(),
        }),
    }
}

fn remove_bridge(name: &str) -> bool {
    std::process::Command::new("ip")
        .args(["link", "delete", name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Removes libvirt's files about `run` (QEMU's logs of its domains, dnsmasq files), once its
/// domains and networks are gone.
pub fn remove_libvirt_files(uri: &str, run: &RunId) -> Vec<PathBuf> {
    HostPaths::for_uri(uri).libvirt_files(run).into_iter().filter(|p| std::fs::remove_file(p).is_ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_read_from_libvirt_names() {
        let run = RunId::parse("0badcafe").unwrap();
        for name in ["hd-0badcafe-node1.log", "hd-0badcafe-cluster.conf", "hd0badcafec", "hd0badcafes.macs"] {
            assert_eq!(run_of_name(name).as_ref(), Some(&run), "{name}");
        }
        for name in ["default.log", "hd-nothex00-node1.log", "hd-0bad", "virbr0", "other-0badcafe.log"] {
            assert_eq!(run_of_name(name), None, "{name}");
        }
    }

    #[test]
    fn libvirt_files_and_bridges_are_found_per_run() {
        let root = std::env::temp_dir().join(format!("hadrill-leftovers-{}", RunId::generate()));
        let (logs, dns, net) = (root.join("qemu"), root.join("dnsmasq"), root.join("net"));
        for d in [&logs, &dns, &net] {
            std::fs::create_dir_all(d).unwrap();
        }
        for f in ["hd-0badcafe-node1.log", "hd-0badcafe-storage.log", "hd-12345678-node1.log", "other.log"] {
            std::fs::write(logs.join(f), b"").unwrap();
        }
        std::fs::write(dns.join("hd0badcafec.macs"), b"").unwrap();
        for b in ["hd0badcafec", "virbr0"] {
            std::fs::create_dir_all(net.join(b)).unwrap();
        }
        let paths = HostPaths { qemu_logs: Some(logs.clone()), dnsmasq: Some(dns.clone()), net_class: Some(net) };
        let run = RunId::parse("0badcafe").unwrap();
        let files = paths.libvirt_files(&run);
        assert_eq!(files.len(), 3, "{files:?}");
        assert_eq!(paths.bridges(&run), vec!["hd0badcafec".to_owned()]);
        let runs: Vec<String> = paths.runs_with_files().iter().map(|r| r.to_string()).collect();
        assert_eq!(runs, ["0badcafe", "12345678"]);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_run_is_judged_by_holder_keep_and_directory() {
        let state = std::env::temp_dir().join(format!("hadrill-judge-{}", RunId::generate()));
        let run = RunId::generate();
        let summary = |alive: bool| RunSummary {
            run: run.clone(),
            record: None,
            owner_alive: alive,
            domains: vec![run.domain_name("node1")],
            networks: Vec::new(),
        };
        assert_eq!(judge(&summary(true), &state), Some(Spared::Live));
        assert_eq!(judge(&summary(false), &state), Some(Spared::Foreign), "no run directory here");
        let dir = RunDir::new(&state, &run);
        dir.create().unwrap();
        assert_eq!(judge(&summary(false), &state), None, "dead and ours: a leftover");
        let paths = HostPaths { qemu_logs: None, dnsmasq: None, net_class: None };
        let items = of_run(&summary(false), &state, &paths);
        let kinds: Vec<Kind> = items.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, [Kind::Domain, Kind::RunDir]);
        std::fs::remove_dir_all(&state).unwrap();
    }
}
