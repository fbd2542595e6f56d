//! The Proxmox VE node image's lab side on real VMs, gated by `HADRILL_E2E=1`. The Proxmox
//! packages cannot be reached from this host, but what hadrill adds to the image can: the
//! identity from the kernel command line (`lab-net`, borrowed from debian-ha), `lab-pve`
//! around it (the node's name resolving to its cluster address, never 127.0.1.1, as
//! pve-cluster requires; the run's key in a file sshd reads while `/etc/pve` is down) and the
//! sshd settings, on the Debian release of each Proxmox VE release (12 for PVE 8, 13 for
//! PVE 9).
//!
//! The trial builds a small image on that Debian release from the same borrowed `files/` the
//! Proxmox recipes take (links to this repository's `images/debian-ha` and
//! `images/pve-debian`) and the same `lab-pve image` step, with Debian's kernel instead of
//! Proxmox's and Debian's ifupdown2 (which proxmox-ve brings in its own build) beside the lab's
//! systemd-networkd, boots two nodes and checks from inside them.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use hadrill::image::{BuildOptions, ImageCache, Recipe, build};
use hadrill::lab::{Lab, LabConfig, NetRole, default_state_dir};
use hadrill::node::connect_fleet;

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The lab's part of pve-debian's customize.sh (the rest of it is about Proxmox's packages:
/// removing Debian's kernel, the enterprise sources): the same `lab-pve image`.
const CUSTOMIZE: &str = "set -eu
printf '/dev/vda / ext4 rw,noatime,errors=remount-ro 0 1\\n' > /etc/fstab
sh /usr/local/sbin/lab-pve image
apt-get clean
";

/// Recipes in `dir`: links to the real recipes whose files are borrowed, and the probe on
/// `suite`.
fn make_recipes(dir: &Path, suite: &str) -> Result<Recipe, String> {
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("images");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for borrowed in ["debian-ha", "pve-debian"] {
        std::os::unix::fs::symlink(images.join(borrowed), dir.join(borrowed)).map_err(|e| e.to_string())?;
    }
    let name = format!("pve-lab-{suite}");
    write(
        &dir.join(&name).join("recipe.yaml"),
        &format!(
            "name: {name}\nsuite: {suite}\nmirror: http://deb.debian.org/debian\nvariant: minbase\nsize_mib: 2048\n\
             include_files: [debian-ha, pve-debian]\n\
             packages: [systemd, systemd-sysv, udev, dbus, kmod, iproute2, iputils-ping, procps, openssh-server, \
             linux-image-amd64, initramfs-tools, ifupdown2]\n"
        ),
    )?;
    write(&dir.join(&name).join("customize.sh"), CUSTOMIZE)?;
    Recipe::load(dir, &name).map_err(|e| e.to_string())
}

pub fn lab_identity_on(suite: &'static str) -> Result<(), String> {
    let uri = std::env::var("HADRILL_LIBVIRT_URI").unwrap_or_else(|_| "qemu:///system".into());
    let state_dir = default_state_dir();
    let cancel = AtomicBool::new(false);
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let recipe = make_recipes(&tmp.path().join("images"), suite)?;

    let t = Instant::now();
    // The image cache is the host's: the probe is cached by its hash like any image.
    let img = build(&recipe, &ImageCache::new(&state_dir), &BuildOptions::default(), &cancel)
        .map_err(|e| format!("image on {suite}: {e}"))?;
    eprintln!(
        "pve-identity: {suite} image {} (kernel {}) ready in {:.1} s",
        img.hash,
        img.kernel_version,
        t.elapsed().as_secs_f64()
    );

    let cfg = LabConfig { with_storage: false, ..LabConfig::new(&uri, &state_dir, 2) };
    let t = Instant::now();
    let lab = Lab::up(&cfg, &img, &cancel).map_err(|e| format!("lab up: {e}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let checked = rt.block_on(async {
        let fleet = connect_fleet(lab.record(), lab.run_dir(), lab.scaled(Duration::from_secs(90)))
            .await
            .map_err(|e| format!("SSH to the {suite} nodes: {e}"))?;
        eprintln!("pve-identity: 2 {suite} nodes answer SSH {:.1} s after lab up", t.elapsed().as_secs_f64());
        let long = Duration::from_secs(60);
        for vm in &lab.record().vms {
            let s = fleet.session(&vm.node).ok_or("no session")?;
            let cluster_ip = vm.nic(NetRole::Cluster).map(|n| n.ip.to_string()).ok_or("no cluster NIC")?;
            let out = s
                .run(
                    "hostname; hostname --ip-address; getent hosts $(hostname); cat /etc/ssh/lab_authorized_keys",
                    long,
                )
                .await
                .map_err(|e| format!("{}: {e}", vm.node))?;
            let lines: Vec<&str> = out.lines().collect();
            if lines.len() < 4
                || lines[0] != vm.node
                || lines[1].trim() != cluster_ip
                || !lines[2].starts_with(&format!("{cluster_ip} "))
                || !lines[3].ends_with(" hadrill")
            {
                let why = s
                    .run("ls -l /etc/hosts; cat /etc/hosts; journalctl -b -u lab-net --no-pager | tail -20", long)
                    .await
                    .unwrap_or_else(|e| e.to_string());
                return Err(format!(
                    "{} on {suite}: want its name, its cluster address {cluster_ip} (for `hostname --ip-address` and \
                     `getent hosts`) and the run's key in /etc/ssh/lab_authorized_keys; got:\n{out}\n{why}",
                    vm.node
                ));
            }
            // The other node over the cluster network (by address: Proxmox VE's joins and
            // corosync use addresses; only a node's own name must resolve).
            let other = lab.record().vms.iter().find(|o| o.node != vm.node).ok_or("one node only")?;
            let ip = other.nic(NetRole::Cluster).map(|n| n.ip).ok_or("no cluster NIC")?;
            s.run(&format!("ping -c1 -W5 {ip}"), long)
                .await
                .map_err(|e| format!("{} pings {}: {e}", vm.node, other.node))?;
        }
        // ifupdown2's networking.service and the lab's networkd side by side: the first reads
        // a loopback-only file and does not fail, the second owns the NICs (one address each).
        let vm2 = lab.record().vm("node2").ok_or("no node2")?;
        let s = fleet.session("node2").ok_or("no session")?;
        let net = s
            .run("systemctl is-failed networking.service || true; ip -4 -o addr show scope global | wc -l", long)
            .await
            .map_err(|e| format!("networking: {e}"))?;
        let mut l = net.lines();
        let (state, count) = (l.next().unwrap_or("").trim(), l.next().unwrap_or("").trim());
        if state == "failed" || count != vm2.nics.len().to_string() {
            let why =
                s.run("journalctl -b -u networking --no-pager | tail -15; ip -4 addr", long).await.unwrap_or_default();
            return Err(format!(
                "on {suite}: networking.service {state}, {count} global IPv4 addresses (want {}, one per NIC)\n{why}",
                vm2.nics.len()
            ));
        }
        // pve-cluster reads the RSA host key into the cluster's known hosts (`pvecm create`,
        // `updatecerts`, joins) and fails without one.
        let s = fleet.session("node1").ok_or("no session")?;
        let rsa = s.run("cat /etc/ssh/ssh_host_rsa_key.pub", long).await.map_err(|e| format!("RSA host key: {e}"))?;
        if !rsa.starts_with("ssh-rsa ") {
            return Err(format!("/etc/ssh/ssh_host_rsa_key.pub on {suite} is not an RSA key: {rsa}"));
        }
        // Files in and out without scp, as the ISO route's conversion copies them: 1 MiB in,
        // its digest back; the node's kernel out, byte for byte the one the image build took.
        let blob: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let back = s
            .exec_io("cat > /tmp/probe && sha256sum /tmp/probe", &blob, long)
            .await
            .map_err(|e| format!("exec_io in: {e}"))?;
        let want = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&blob));
        if back.status != 0 || !String::from_utf8_lossy(&back.stdout).starts_with(&want) {
            return Err(format!(
                "1 MiB in through exec_io: status {}, {}",
                back.status,
                String::from_utf8_lossy(&back.stdout)
            ));
        }
        let kernel = s
            .exec_io(&format!("cat /boot/vmlinuz-{}", img.kernel_version), &[], long)
            .await
            .map_err(|e| format!("exec_io out: {e}"))?;
        let local = std::fs::read(img.kernel()).map_err(|e| e.to_string())?;
        if kernel.status != 0 || kernel.stdout != local {
            return Err(format!(
                "the kernel out through exec_io: status {}, {} bytes, the image's {} bytes",
                kernel.status,
                kernel.stdout.len(),
                local.len()
            ));
        }
        eprintln!("pve-identity: exec_io: 1 MiB in, the {} byte kernel out, intact", local.len());
        // As on a Proxmox VE node whose /etc/pve is not mounted: root's authorized_keys is a
        // dangling link. sshd must still let the run in through the lab's own key file.
        let s = fleet.session("node1").ok_or("no session")?;
        s.run(
            "rm -f /root/.ssh/authorized_keys && ln -s /etc/pve/priv/authorized_keys /root/.ssh/authorized_keys",
            long,
        )
        .await
        .map_err(|e| e.to_string())?;
        fleet.close().await;
        let again = connect_fleet(lab.record(), lab.run_dir(), Duration::from_secs(60))
            .await
            .map_err(|e| format!("SSH with root's authorized_keys dangling, on {suite}: {e}"))?;
        let who = again.session("node1").ok_or("no session")?.run("id -un", long).await.map_err(|e| e.to_string())?;
        again.close().await;
        if who.trim() != "root" {
            return Err(format!("logged in as {who}"));
        }
        Ok::<(), String>(())
    });
    let down = lab.down().map_err(|e| format!("lab down: {e}"));
    // The probe image is for this trial only: not left in the host's image cache.
    let _ = std::fs::remove_dir_all(&img.dir);
    if let Some(name_dir) = img.dir.parent() {
        let _ = std::fs::remove_dir(name_dir); // only if no other build of it is there
    }
    let (removed, _) = down?;
    checked?;
    if removed.domains.len() != 2 {
        return Err(format!("teardown removed {} domains, not 2", removed.domains.len()));
    }
    eprintln!("pve-identity: lab-net, lab-pve and sshd's key file work on {suite}");
    Ok(())
}
