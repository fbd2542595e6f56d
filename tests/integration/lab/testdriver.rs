//! The lab's libvirt code against libvirt's own in-process `test:///default` driver: define,
//! start, destroy, link changes, events, refusal to touch foreign objects, teardown, gc and
//! the inventory of leftovers.
//! The driver's state is shared by every connection of the process, so each test works on
//! its own run id and asserts only about its own objects plus the driver's built-in ones.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use hadrill::image::BuiltImage;
use hadrill::lab::{
    DomainEvents, HvEvent, HvEventKind, Hypervisor, Inventory, Lab, LabConfig, LabError, LeftoverKind, Lifecycle,
    NetRole, RunDir, RunId, RunState, Spared, gc, inventory,
};

const URI: &str = "test:///default";

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A state directory and a fake built image (a real, empty qcow2 base).
fn scratch(tag: &str) -> (Scratch, BuiltImage) {
    let root = std::env::temp_dir().join(format!("hadrill-td-{tag}-{}", RunId::generate()));
    let dir = root.join("images/fake/0000000000000000");
    std::fs::create_dir_all(&dir).unwrap();
    let st = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(dir.join("base.qcow2"))
        .arg("64M")
        .status()
        .expect("qemu-img (qemu-utils) is needed by the lab tests");
    assert!(st.success());
    std::fs::write(dir.join("vmlinuz"), b"").unwrap();
    std::fs::write(dir.join("initrd.img"), b"").unwrap();
    let img = BuiltImage {
        name: "fake".into(),
        hash: "0000000000000000".into(),
        built: 0.0,
        build_secs: 0.0,
        base_bytes: 0,
        kernel_version: "test".into(),
        // Not the builder's `/dev/vda`: the nodes' command line must take the image's.
        root: "/dev/mapper/pve-root".into(),
        dir,
    };
    (Scratch(root), img)
}

fn wait_for(events: &DomainEvents, domain: &str, lifecycle: Lifecycle) -> HvEvent {
    let (hit, seen) = events
        .wait_for(Duration::from_secs(10), |e| e.domain == domain && e.kind == HvEventKind::Lifecycle { lifecycle });
    hit.unwrap_or_else(|| panic!("no {lifecycle:?} event for {domain}; saw {seen:?}"))
}

pub fn lab_comes_up_reacts_to_faults_and_leaves_nothing() {
    let (tmp, img) = scratch("up");
    let watcher = Hypervisor::open(URI).unwrap();
    let events = watcher.subscribe().unwrap();
    let cfg = LabConfig::new(URI, &tmp.0, 2);
    let cancel = AtomicBool::new(false);
    let lab = Lab::up(&cfg, &img, &cancel).unwrap();
    let run = lab.run().clone();
    let rec = lab.record().clone();

    // Every VM is defined, marked, on its own overlay and running; networks are isolated.
    assert_eq!(rec.vms.iter().map(|v| v.node.as_str()).collect::<Vec<_>>(), ["storage", "node1", "node2"]);
    for vm in &rec.vms {
        assert_eq!(lab.state(&vm.node).unwrap(), RunState::Running, "{}", vm.node);
        assert!(vm.disk.is_file(), "overlay {} exists", vm.disk.display());
        let xml = lab.hypervisor().domain_xml(&run, &vm.domain).unwrap();
        assert!(xml.contains(hadrill::lab::NAMESPACE), "ownership mark in {}", vm.domain);
        assert!(xml.contains("i6300esb"));
        assert!(xml.contains("root=/dev/mapper/pve-root rw"), "the image's root device in {}", vm.domain);
        wait_for(&events, &vm.domain, Lifecycle::Started);
    }
    let owned = lab.hypervisor().owned_networks().unwrap();
    let ours: Vec<_> = owned.iter().filter(|n| n.run == run).collect();
    assert_eq!(ours.len(), 2);
    assert!(ours.iter().all(|n| n.active));
    let net_xml =
        lab.hypervisor().connect().lookup_network_by_name(&rec.networks[0].name).unwrap().xml_desc(0).unwrap();
    assert!(!net_xml.contains("<forward"), "lab networks are not routed: {net_xml}");

    // Power pull and power on, seen as events.
    lab.power_off("node1").unwrap();
    let destroyed = wait_for(&events, &rec.vm("node1").unwrap().domain, Lifecycle::Destroyed);
    assert!(destroyed.at <= std::time::SystemTime::now());
    assert_eq!(lab.state("node1").unwrap(), RunState::Off);
    lab.power_on("node1").unwrap();
    wait_for(&events, &rec.vm("node1").unwrap().domain, Lifecycle::Started);
    assert_eq!(lab.state("node1").unwrap(), RunState::Running);

    // Links: both up as defined. The test driver has no virDomainUpdateDeviceFlags, so the
    // change itself is exercised on real QEMU (e2e); here it must fail as "not supported"
    // and leave the domain running, not be silently skipped.
    assert_eq!(lab.link_is_up("node2", NetRole::Cluster).unwrap(), Some(true));
    assert_eq!(lab.link_is_up("node2", NetRole::Storage).unwrap(), Some(true));
    assert_eq!(lab.link_is_up("storage", NetRole::Cluster).unwrap(), None, "storage VM has no cluster NIC");
    match lab.set_link("node2", NetRole::Cluster, false) {
        Err(LabError::Libvirt { source, .. }) => assert!(source.to_string().contains("not supported"), "{source}"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(lab.set_link("storage", NetRole::Cluster, false), Err(LabError::NotFound { .. })));
    assert_eq!(lab.state("node2").unwrap(), RunState::Running);

    // Dropping the lab tears it all down.
    let dir = lab.run_dir().clone();
    drop(lab);
    let mut undefined: Vec<String> = Vec::new();
    while undefined.len() < rec.vms.len() {
        let e = events.recv_timeout(Duration::from_secs(10)).expect("an undefine event for every VM");
        if e.kind == (HvEventKind::Lifecycle { lifecycle: Lifecycle::Undefined }) && e.domain.contains(run.as_str()) {
            undefined.push(e.domain);
        }
    }
    undefined.sort();
    let mut expected: Vec<_> = rec.vms.iter().map(|v| v.domain.clone()).collect();
    expected.sort();
    assert_eq!(undefined, expected);
    let hv = Hypervisor::open(URI).unwrap();
    assert!(hv.owned_domains().unwrap().iter().all(|d| d.owner.run != run));
    assert!(hv.owned_networks().unwrap().iter().all(|n| n.run != run));
    assert!(!dir.path.exists(), "run directory removed");
}

pub fn foreign_objects_are_never_touched() {
    let hv = Hypervisor::open(URI).unwrap();
    let run = RunId::generate();
    // The driver's own domain `test` and network `default` carry no mark.
    assert!(matches!(hv.destroy(&run, "test"), Err(LabError::NotOurs { .. })));
    assert!(hv.state(&run, "test").err().map(|e| e.to_string()).unwrap_or_default().contains("refusing"));
    // A domain named like ours but without our mark.
    let name = run.domain_name("node9");
    hv.connect()
        .define_domain_xml(&format!(
            "<domain type='test'><name>{name}</name><memory>65536</memory><os><type>hvm</type></os>\
             <metadata><x:owner xmlns:x='https://example.org/other' run='{run}'/></metadata></domain>"
        ))
        .unwrap();
    assert!(matches!(hv.start(&run, &name), Err(LabError::NotOurs { .. })));
    // Removing the run removes nothing foreign.
    let removed = hv.remove_run(&run).unwrap();
    assert!(removed.domains.is_empty() && removed.networks.is_empty());
    let test_dom = hv.connect().lookup_domain_by_name("test").unwrap();
    assert!(test_dom.is_active().unwrap(), "the driver's own domain still runs");
    assert!(hv.connect().lookup_network_by_name("default").is_ok());
    let foreign = hv.connect().lookup_domain_by_name(&name).unwrap();
    foreign.undefine().unwrap();
    // Another run's objects are not ours either.
    let (tmp, img) = scratch("foreign");
    let cancel = AtomicBool::new(false);
    let mut cfg = LabConfig::new(URI, &tmp.0, 1);
    cfg.with_storage = false;
    let lab = Lab::up(&cfg, &img, &cancel).unwrap();
    let theirs = lab.record().vms[0].domain.clone();
    assert!(matches!(hv.destroy(&run, &theirs), Err(LabError::NotOurs { .. })));
    assert_eq!(lab.state("node1").unwrap(), RunState::Running);
}

pub fn interrupted_bring_up_leaves_nothing() {
    let (tmp, img) = scratch("cancel");
    let cancel = AtomicBool::new(true);
    let err = Lab::up(&LabConfig::new(URI, &tmp.0, 3), &img, &cancel).err().expect("cancelled");
    assert!(matches!(err, LabError::Interrupted));
    let hv = Hypervisor::open(URI).unwrap();
    let runs: Vec<_> = std::fs::read_dir(tmp.0.join("runs")).map(|d| d.count()).into_iter().collect();
    assert_eq!(runs, vec![0], "run directory removed");
    // Nothing with a mark but no run directory may remain from this state dir's runs.
    for d in hv.owned_domains().unwrap() {
        assert!(!RunDir::new(&tmp.0, &d.owner.run).path.exists());
    }
}

pub fn gc_removes_what_a_dead_run_left_and_spares_live_ones() {
    let (tmp, img) = scratch("gc");
    let cancel = AtomicBool::new(false);
    let mut cfg = LabConfig::new(URI, &tmp.0, 2);
    cfg.with_storage = false;
    // A live lab of this process: gc must leave it alone.
    let live = Lab::up(&cfg, &img, &cancel).unwrap();
    // A "killed" run: bring one up, keep it, then forge its owner as a dead process.
    let dead = Lab::up(&cfg, &img, &cancel).unwrap();
    let dead_run = dead.run().clone();
    let dead_dir = dead.run_dir().clone();
    let mut rec = dead.keep().unwrap();
    rec.kept = false;
    rec.save(&dead_dir.record()).unwrap();
    std::fs::write(dead_dir.owner(), "999999999:1\n").unwrap();
    // Its domains still carry this process as holder; a dead holder is what a killed run
    // leaves, so rewrite the marks the way a killed process would have left them.
    let hv = Hypervisor::open(URI).unwrap();
    for vm in &rec.vms {
        let dom = hv.connect().lookup_domain_by_name(&vm.domain).unwrap();
        let meta = format!("<owner run=\"{dead_run}\" role=\"node\" node=\"{}\" holder=\"999999999:1\"/>", vm.node);
        dom.set_metadata(2, Some(&meta), Some("hadrill"), Some(hadrill::lab::NAMESPACE), 0).unwrap();
    }

    let report = gc(URI, &tmp.0, false, Some(&dead_run)).unwrap();
    assert_eq!(report.runs, vec![dead_run.clone()]);
    assert_eq!(report.domains.len(), 2);
    assert_eq!(report.networks.len(), 2);
    assert!(hv.owned_domains().unwrap().iter().all(|d| d.owner.run != dead_run));
    assert!(hv.owned_networks().unwrap().iter().all(|n| n.run != dead_run));
    assert!(!dead_dir.path.exists());

    let report = gc(URI, &tmp.0, false, Some(live.run())).unwrap();
    assert_eq!(report.skipped, vec![live.run().clone()], "a live run is never collected");
    assert_eq!(live.state("node1").unwrap(), RunState::Running);
}

/// The inventory of leftovers: a killed run (dead holder, domains, networks, run directory) and
/// a killed image build are listed until `gc`, and nothing after it; from another state
/// directory the same run is foreign, neither a leftover nor collected without `--all`.
pub fn inventory_lists_what_gc_removes() {
    let (tmp, img) = scratch("inv");
    // The test driver forgets everything when the process's last connection closes: this one
    // stays open while the "killed" lab lets go of its own.
    let hv = Hypervisor::open(URI).unwrap();
    let cancel = AtomicBool::new(false);
    let mut cfg = LabConfig::new(URI, &tmp.0, 1);
    cfg.with_storage = false;
    let dead = Lab::up(&cfg, &img, &cancel).unwrap();
    let run = dead.run().clone();
    let dir = dead.run_dir().clone();
    let mut rec = dead.keep().unwrap();
    rec.kept = false;
    rec.save(&dir.record()).unwrap();
    std::fs::write(dir.owner(), "999999999:1\n").unwrap();
    for vm in &rec.vms {
        let dom = hv.connect().lookup_domain_by_name(&vm.domain).unwrap();
        let meta = format!("<owner run=\"{run}\" role=\"node\" node=\"{}\" holder=\"999999999:1\"/>", vm.node);
        dom.set_metadata(2, Some(&meta), Some("hadrill"), Some(hadrill::lab::NAMESPACE), 0).unwrap();
    }
    // A build killed mid-way: its scratch directory, owned by a process that is gone.
    let partial = tmp.0.join("images/fake/.build-0000000000000000-999999999");
    std::fs::create_dir_all(partial.join("rootfs/etc")).unwrap();
    std::fs::write(partial.join("owner"), "999999999:1\n").unwrap();

    let mine = |inv: &Inventory| -> Vec<(LeftoverKind, String)> {
        inv.leftovers
            .iter()
            .filter(|l| l.run.as_ref().is_none_or(|r| *r == run))
            .map(|l| (l.kind, l.what.clone()))
            .collect()
    };
    let before = mine(&inventory(URI, &tmp.0).unwrap());
    let kinds: Vec<LeftoverKind> = before.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        [
            LeftoverKind::Domain,
            LeftoverKind::Network,
            LeftoverKind::Network,
            LeftoverKind::RunDir,
            LeftoverKind::PartialImage
        ],
        "{before:?}"
    );

    // Seen from another state directory, the run is someone else's.
    let (other, _) = scratch("inv-other");
    let there = inventory(URI, &other.0).unwrap();
    assert!(there.leftovers.iter().all(|l| l.run.as_ref() != Some(&run)));
    assert!(there.spared.contains(&(run.clone(), Spared::Foreign)));
    let report = gc(URI, &other.0, false, None).unwrap();
    assert!(report.foreign.contains(&run) && !report.runs.contains(&run));
    assert!(hv.owned_domains().unwrap().iter().any(|d| d.owner.run == run), "not collected from elsewhere");

    let report = gc(URI, &tmp.0, false, None).unwrap();
    assert_eq!(report.runs, vec![run.clone()]);
    assert_eq!(report.images, vec![partial.clone()]);
    assert!(mine(&inventory(URI, &tmp.0).unwrap()).is_empty(), "nothing left after gc");
    assert!(!partial.exists() && !dir.path.exists());
    assert!(hv.owned_domains().unwrap().iter().all(|d| d.owner.run != run));
    assert!(hv.owned_networks().unwrap().iter().all(|n| n.run != run));
}
