//! End to end on real QEMU (TCG on hosts without KVM), gated by `HADRILL_E2E=1`: build the
//! image, bring up storage + 3 nodes, SSH to each, power-pull one node, cut another's cluster
//! link, heal both, tear down and check that nothing is left. Prints the measured numbers.
//!
//! Needs root, libvirtd on qemu:///system, and the packages of `ci/host-setup.sh`.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime};

use hadrill::fault::{FaultAction, FaultSpec, SessionTarget, apply};
use hadrill::image::{BuildOptions, ImageCache, Recipe, build};
use hadrill::lab::WatchdogAction;
use hadrill::lab::{
    HvEventKind, Hypervisor, Lab, LabConfig, Lifecycle, NetRole, RunState, default_state_dir, qemu_rss,
};
use hadrill::node::{JournalItem, JournalStream, connect_fleet};
use hadrill::scenario::{Fault, NetworkKind};

pub fn enabled() -> bool {
    std::env::var("HADRILL_E2E").is_ok_and(|v| v == "1")
}

pub fn real_vms_power_pull_and_link_down() {
    if !enabled() {
        eprintln!("skipped: set HADRILL_E2E=1 to run the lab on real VMs");
        return;
    }
    let uri = std::env::var("HADRILL_LIBVIRT_URI").unwrap_or_else(|_| "qemu:///system".into());
    let state_dir = default_state_dir();
    let cancel = AtomicBool::new(false);

    // 1. Image (cached by recipe hash).
    let t = Instant::now();
    let recipe = Recipe::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("images"), "debian-ha").unwrap();
    let img = build(&recipe, &ImageCache::new(&state_dir), &BuildOptions::default(), &cancel).unwrap();
    eprintln!(
        "e2e: image {} ready in {:.1} s (its build took {:.1} s)",
        img.hash,
        t.elapsed().as_secs_f64(),
        img.build_secs
    );

    // 2. Storage + 3 nodes, SSH to every VM.
    let watcher = Hypervisor::open(&uri).unwrap();
    let events = watcher.subscribe().unwrap();
    let t0 = Instant::now();
    let lab = Lab::up(&LabConfig::new(&uri, &state_dir, 3), &img, &cancel).unwrap();
    let run = lab.run().clone();
    eprintln!(
        "e2e: run {run}, accel {}, defined and started in {:.1} s",
        lab.record().accel.as_str(),
        t0.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut fleet =
        rt.block_on(connect_fleet(lab.record(), lab.run_dir(), lab.scaled(Duration::from_secs(75)))).unwrap();
    let cold = t0.elapsed();
    eprintln!("e2e: cold start to SSH on all 4 VMs: {:.1} s", cold.as_secs_f64());
    for vm in &lab.record().vms {
        let host = rt.block_on(fleet.session(&vm.node).unwrap().run("hostname", Duration::from_secs(60))).unwrap();
        assert_eq!(host.trim(), vm.node);
        let off = &fleet.offsets[&vm.node];
        eprintln!(
            "e2e:   {:<8} qemu RSS {:>4} MiB (guest {} MiB), clock offset {:+.3} s ±{:.3}",
            vm.node,
            qemu_rss(&vm.domain).unwrap_or(0) >> 20,
            vm.memory_mib,
            off.offset_secs,
            off.uncertainty_secs
        );
        assert!(off.offset_secs.abs() < 5.0, "guest clock of {} is {} s off", vm.node, off.offset_secs);
    }
    // Storage is served from the storage VM and reachable from a node.
    let nfs =
        rt.block_on(fleet.session("node1").unwrap().run(
            "timeout 150 ls -d /mnt/shared/. && timeout 20 touch /mnt/shared/hello-node1",
            Duration::from_secs(180),
        ));
    eprintln!("e2e: NFS from node1: {}", if nfs.is_ok() { "ok".to_string() } else { format!("{nfs:?}") });
    let watchdog = rt.block_on(fleet.session("node2").unwrap().run(
        "ls /dev/watchdog*; lsmod | grep -E 'i6300esb|softdog' || modprobe -n -v softdog",
        Duration::from_secs(60),
    ));
    eprintln!(
        "e2e: watchdog devices on node2: {:?}",
        watchdog.as_ref().map(|s| s.split_whitespace().collect::<Vec<_>>())
    );
    let _ = events.drain();

    // 3. Power pull node1: a destroyed event, and node1 is gone over SSH.
    let pull = FaultSpec::hypervisor(Fault::PowerPull, "node1");
    let limit = Duration::from_secs(60);
    let rec = apply(&lab, &pull, FaultAction::Inject, limit).unwrap();
    let node1_dom = lab.record().vm("node1").unwrap().domain.clone();
    let (ev, _) = events.wait_for(Duration::from_secs(30), |e| {
        e.domain == node1_dom && e.kind == (HvEventKind::Lifecycle { lifecycle: Lifecycle::Destroyed })
    });
    let ev = ev.expect("destroyed event for node1");
    let lag = ev.at.duration_since(rec.issued).unwrap_or_default();
    eprintln!("e2e: power-pull node1: destroyed event {:.3} s after the fault was issued", lag.as_secs_f64());
    assert!(lag < Duration::from_secs(10));
    assert_eq!(lab.state("node1").unwrap(), RunState::Off);
    let r = rt.block_on(fleet.session("node1").unwrap().exec("true", Duration::from_secs(20)));
    assert!(r.as_ref().is_err_and(|e| e.is_unreachable()), "node1 must be unreachable, got {r:?}");

    // 4. Link down node2's cluster NIC: unreachable while the hypervisor says it runs.
    let cut = FaultSpec::hypervisor(Fault::LinkDown { network: NetworkKind::Cluster }, "node2");
    apply(&lab, &cut, FaultAction::Inject, limit).unwrap();
    assert_eq!(lab.link_is_up("node2", NetRole::Cluster).unwrap(), Some(false));
    let r = rt.block_on(fleet.session("node2").unwrap().exec("true", Duration::from_secs(20)));
    assert!(r.as_ref().is_err_and(|e| e.is_unreachable()), "node2 must be unreachable, got {r:?}");
    assert_eq!(lab.state("node2").unwrap(), RunState::Running);
    // The others are untouched.
    rt.block_on(fleet.session("node3").unwrap().run("true", Duration::from_secs(60))).unwrap();

    // 5. Heal both.
    let t = Instant::now();
    apply(&lab, &cut, FaultAction::Heal, limit).unwrap();
    rt.block_on(fleet.reconnect(lab.record(), "node2", Duration::from_secs(120))).unwrap();
    eprintln!("e2e: link-up node2: SSH again after {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    apply(&lab, &pull, FaultAction::Heal, limit).unwrap();
    let (ev, _) = events.wait_for(Duration::from_secs(30), |e| {
        e.domain == node1_dom && e.kind == (HvEventKind::Lifecycle { lifecycle: Lifecycle::Started })
    });
    assert!(ev.is_some(), "started event for node1");
    rt.block_on(fleet.reconnect(lab.record(), "node1", lab.scaled(Duration::from_secs(75)))).unwrap();
    eprintln!("e2e: power-on node1: SSH again after {:.1} s", t.elapsed().as_secs_f64());
    for n in ["node1", "node2", "node3"] {
        rt.block_on(fleet.session(n).unwrap().run("true", Duration::from_secs(60))).unwrap();
    }

    // 6. A guest fault, seen in node3's journal stream on the host clock.
    let node3 = fleet.session("node3").unwrap();
    let mut journal = rt.block_on(JournalStream::start(node3, fleet.offsets["node3"].clone(), 0)).unwrap();
    let stop = FaultSpec::from_scenario(
        &Fault::StopService { service: "rpcbind.service".into() },
        "node3",
        &hadrill::stack::pacemaker::FAULTS,
    )
    .unwrap();
    let guest = SessionTarget { lab: &lab, session: node3, rt: rt.handle() };
    let rec = apply(&guest, &stop, FaultAction::Inject, limit).unwrap();
    let state = rt.block_on(node3.exec("systemctl is-active rpcbind.service", Duration::from_secs(60))).unwrap();
    assert_eq!(state.stdout.trim(), "inactive");
    let entry = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                match journal.next().await {
                    Some(JournalItem::Entry(e))
                        if e.message.contains("rpcbind") && e.message.starts_with("Stopped") =>
                    {
                        break Some(e);
                    }
                    Some(JournalItem::Ended { reason, .. }) => panic!("journal stream ended: {reason}"),
                    None => break None,
                    _ => {}
                }
            }
        })
        .await
    });
    let entry = entry.ok().flatten().expect("systemd's Stopped message in the journal stream");
    let skew = entry
        .host_time
        .duration_since(rec.issued)
        .map(|d| d.as_secs_f64())
        .unwrap_or_else(|e| -e.duration().as_secs_f64());
    eprintln!(
        "e2e: stop-service rpcbind on node3: journal says stopped {skew:+.3} s after the fault was issued (host clock)"
    );
    assert!((-1.0..30.0).contains(&skew), "journal time on the host clock is off: {skew}");
    apply(&guest, &stop, FaultAction::Heal, limit).unwrap();
    let state = rt.block_on(node3.exec("systemctl is-active rpcbind.service", Duration::from_secs(60))).unwrap();
    assert_eq!(state.stdout.trim(), "active");
    drop(journal);

    // 7. The emulated watchdog: armed and abandoned on node3, it resets the VM and the
    //    hypervisor reports it.
    let node3_dom = lab.record().vm("node3").unwrap().domain.clone();
    let _ = events.drain();
    let t = SystemTime::now();
    rt.block_on(node3.run("echo 1 > /dev/watchdog0", Duration::from_secs(60))).unwrap();
    let (wd, _) = events.wait_for(Duration::from_secs(120), |e| {
        e.domain == node3_dom && matches!(e.kind, HvEventKind::Watchdog { .. })
    });
    let wd = wd.expect("watchdog event for node3");
    assert_eq!(wd.kind, HvEventKind::Watchdog { action: WatchdogAction::Reset });
    eprintln!(
        "e2e: i6300esb fired on node3 {:.1} s after arming",
        wd.at.duration_since(t).unwrap_or_default().as_secs_f64()
    );
    assert_eq!(lab.state("node3").unwrap(), RunState::Running, "a watchdog reset keeps the domain running");

    // 8. Tear down; nothing of the run is left.
    rt.block_on(fleet.close());
    let dir = lab.run_dir().clone();
    let (removed, took) = lab.down().unwrap();
    eprintln!(
        "e2e: teardown {:.1} s ({} domains, {} networks)",
        took.as_secs_f64(),
        removed.domains.len(),
        removed.networks.len()
    );
    assert_eq!(removed.domains.len(), 4);
    assert_eq!(removed.networks.len(), 2);
    assert!(watcher.owned_domains().unwrap().iter().all(|d| d.owner.run != run));
    assert!(watcher.owned_networks().unwrap().iter().all(|n| n.run != run));
    assert!(!dir.path.exists());
}
