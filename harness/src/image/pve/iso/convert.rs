//! Turning the installed system into the lab nodes' base image, the shape of
//! `images/pve-debian`: identity from the kernel command line at every boot (`lab-net`,
//! `lab-pve`, copied in before the script runs), systemd-networkd owning the NICs, nothing of
//! the one installation that would be wrong on a node (its name, host keys, the cluster file
//! system's database, the build's key), and what the lab needs to boot the disk directly (the
//! root device and the newest `-pve` kernel), reported on stdout.

use std::fmt::Write;

/// The line prefixes of what the script reports.
pub const ROOT_LINE: &str = "hadrill-root ";
pub const KERNEL_LINE: &str = "hadrill-kernel ";

/// The script, run as root on the installed system (`sh -s`) once the borrowed files are in.
pub fn conversion_script() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Written by hadrill: turns the Proxmox VE installation into the lab nodes' base image (the shape of images/pve-debian)."
    );
    s.push_str(
        r#"set -eu

# The installer's first-boot hook has run: its unit removes the flag only when the hook succeeded.
flag=/var/lib/proxmox-first-boot/pending-first-boot-setup
waited=0
while [ -e "$flag" ]; do
  if systemctl is-failed --quiet proxmox-first-boot.service; then
    echo "hadrill: the first-boot script failed:" >&2
    journalctl -b -u proxmox-first-boot.service --no-pager -n 40 >&2 || true
    exit 1
  fi
  if [ "$waited" -ge 900 ]; then
    echo "hadrill: the first-boot script did not finish within 15 minutes" >&2
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done

# What hadrill's first-boot script does, again: an ISO prepared elsewhere may have run another.
rm -f /etc/apt/sources.list.d/pve-enterprise.list /etc/apt/sources.list.d/pve-enterprise.sources \
  /etc/apt/sources.list.d/ceph.list /etc/apt/sources.list.d/ceph.sources
systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer \
  systemd-tmpfiles-clean.timer dpkg-db-backup.timer pve-daily-update.timer 2>/dev/null || true

# The install network's resolver is gone in the lab: fail name lookups at once, not after a timeout.
: > /etc/resolv.conf

# The installation's own name: each node has its own from the command line (lab-pve puts it in /etc/hosts).
installed=$(hostname -s)
sed -i "/[[:space:]]$installed\$/d" /etc/hosts

# The cluster file system's database is made by each node at its first start (with the node's
# certificates, under its own name): stop what uses it; `lab-pve image` below removes it. With
# it go /etc/pve's copy of the build's key and root's link to it.
systemctl stop pve-ha-lrm.service pve-ha-crm.service pvescheduler.service pvestatd.service \
  pvedaemon.service pveproxy.service spiceproxy.service pve-firewall.service pve-cluster.service \
  corosync.service 2>/dev/null || true
rm -f /root/.ssh/authorized_keys
rm -rf "/var/lib/rrdcached/db/pve2-node/$installed" "/var/lib/rrdcached/db/pve2-storage/$installed"

# What the image must be for the lab, as on the Debian route (lab-pve, copied in): lab-net,
# systemd-networkd and ssh enabled, ifupdown's interfaces reduced to the loopback (the lab's
# networkd owns the NICs, matched by MAC), no name, machine id, host keys (made per VM at
# boot) or cluster database (the one above).
sh /usr/local/sbin/lab-pve image

# What the lab boots directly: the root device and the newest Proxmox kernel with its initrd.
root=$(findmnt -n -o SOURCE /)
case "$root" in
  /dev/*) ;;
  *) echo "hadrill: / is mounted from $root, not a device" >&2; exit 1 ;;
esac
kernel=$(ls /boot/vmlinuz-*-pve 2>/dev/null | sort -V | tail -n 1)
if [ -z "$kernel" ]; then
  echo "hadrill: no Proxmox kernel (/boot/vmlinuz-*-pve)" >&2
  exit 1
fi
version=${kernel#/boot/vmlinuz-}
if [ ! -f "/boot/initrd.img-$version" ]; then
  echo "hadrill: no initrd for $version" >&2
  exit 1
fi
sync
echo "hadrill-root $root"
echo "hadrill-kernel $version"
"#,
    );
    s
}

/// The root device and kernel version the script reported, or what is missing.
pub fn parse_report(stdout: &str) -> Result<(String, String), String> {
    let pick = |prefix: &str| stdout.lines().rev().find_map(|l| l.strip_prefix(prefix)).map(|v| v.trim().to_owned());
    let root = pick(ROOT_LINE).filter(|r| !r.is_empty()).ok_or("it reported no root device")?;
    let kernel = pick(KERNEL_LINE).filter(|k| k.ends_with("-pve")).ok_or("it reported no -pve kernel")?;
    Ok((root, kernel))
}

/// The command that writes one borrowed file (its content on stdin) where the image keeps it.
pub fn write_file_command(path: &str, executable: bool) -> String {
    let q = crate::stack::pve::sh_quote(path);
    format!("mkdir -p \"$(dirname {q})\" && cat > {q} && chmod {} {q}", if executable { "0755" } else { "0644" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_script_snapshot_and_valid_shell() {
        let script = conversion_script();
        insta::assert_snapshot!(script);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("convert.sh");
        std::fs::write(&f, &script).unwrap();
        let out = std::process::Command::new("sh").arg("-n").arg(&f).output().expect("sh runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        for want in ["sh /usr/local/sbin/lab-pve image", "rm -f /root/.ssh/authorized_keys"] {
            assert!(script.contains(want), "{want} missing");
        }
    }

    #[test]
    fn the_report_names_root_and_a_pve_kernel() {
        let out = "Created symlink ...\nhadrill-root /dev/mapper/pve-root\nhadrill-kernel 6.8.12-9-pve\n";
        assert_eq!(parse_report(out).unwrap(), ("/dev/mapper/pve-root".into(), "6.8.12-9-pve".into()));
        assert!(parse_report("hadrill-root /dev/mapper/pve-root\nhadrill-kernel 6.1.0-31-amd64\n").is_err());
        assert!(parse_report("hadrill-kernel 6.8.12-9-pve\n").is_err());
    }

    /// The command that copies a borrowed file in, run here against a scratch path.
    #[test]
    fn files_are_written_with_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("usr/local/sbin/lab-net");
        let cmd = write_file_command(&target.to_string_lossy(), true);
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("sh runs");
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"#!/bin/sh\necho it's me\n").unwrap();
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "#!/bin/sh\necho it's me\n");
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&target).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o755);
    }
}
