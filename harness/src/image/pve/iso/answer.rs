//! What the ISO route hands Proxmox VE's installer: the answer file (`answer.toml`, read from
//! a disk labelled `PROXMOX-AIS`), the first-boot script every node's base image runs once,
//! and how `proxmox-auto-install-assistant` prepares the ISO to use both.

use std::fmt::Write;
use std::net::Ipv4Addr;
use std::path::Path;

use crate::image::pve::Release;

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The answer of the ISO route's one installation, whose disk becomes every node's base image
/// (the nodes' identities come from the lab's kernel command line, as on the Debian route).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallAnswer {
    pub release: Release,
    /// The installed system's name (replaced by each node's at boot).
    pub fqdn: String,
    /// Build-time only: every run sets its own before the cluster is made.
    pub root_password: String,
    /// The build's key, for converting the installed system over SSH.
    pub ssh_key: String,
    /// The installer's static address on the install network (`a.b.c.d/prefix`).
    pub cidr: String,
    pub gateway: Ipv4Addr,
    pub dns: Ipv4Addr,
    /// The MAC of the install NIC: the installer's network filter picks it by this.
    pub mac: String,
    /// The target disk (`vda`: the only virtio disk of the installer's domain).
    pub disk: String,
}

impl InstallAnswer {
    /// The answer with placeholders where each build has its own values: its text is part of
    /// the image's cache key, so a change to the answer's form rebuilds, a new password does not.
    pub fn template(release: Release) -> Self {
        InstallAnswer {
            release,
            fqdn: "<fqdn>".into(),
            root_password: "<build-time root password>".into(),
            ssh_key: "<build-time ssh key>".into(),
            cidr: "<address>/24".into(),
            gateway: Ipv4Addr::UNSPECIFIED,
            dns: Ipv4Addr::UNSPECIFIED,
            mac: "<mac>".into(),
            disk: "vda".into(),
        }
    }
}

/// The answer file (`answer.toml`, kebab-case keys, as the auto-installer of Proxmox VE 8.3
/// and later reads them; `[first-boot]` also needs 8.3).
pub fn answer_file(a: &InstallAnswer) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Written by hadrill: the one installation of Proxmox VE {} that becomes the lab nodes' base image.",
        a.release.major()
    );
    let _ = writeln!(s, "[global]");
    let _ = writeln!(s, "keyboard = \"en-us\"");
    let _ = writeln!(s, "country = \"us\"");
    let _ = writeln!(s, "fqdn = {}", toml_str(&a.fqdn));
    let _ = writeln!(s, "mailto = {}", toml_str(&format!("root@{}", a.fqdn)));
    let _ = writeln!(s, "timezone = \"UTC\"");
    let _ = writeln!(s, "root-password = {}", toml_str(&a.root_password));
    let _ = writeln!(s, "root-ssh-keys = [{}]", toml_str(&a.ssh_key));
    // On an error the installer then stops at a debug shell instead of rebooting as if it had
    // succeeded; hadrill sees the message on the serial console and stops the domain.
    let _ = writeln!(s, "reboot-on-error = false");
    let _ = writeln!(s);
    let _ = writeln!(s, "[network]");
    let _ = writeln!(s, "source = \"from-answer\"");
    let _ = writeln!(s, "cidr = {}", toml_str(&a.cidr));
    let _ = writeln!(s, "dns = {}", toml_str(&a.dns.to_string()));
    let _ = writeln!(s, "gateway = {}", toml_str(&a.gateway.to_string()));
    // udev's ID_NET_NAME_MAC is `enx` and the MAC without colons.
    let _ =
        writeln!(s, "filter.ID_NET_NAME_MAC = {}", toml_str(&format!("*{}", a.mac.replace(':', "").to_lowercase())));
    let _ = writeln!(s);
    let _ = writeln!(s, "[disk-setup]");
    let _ = writeln!(s, "filesystem = \"ext4\"");
    let _ = writeln!(s, "disk-list = [{}]", toml_str(&a.disk));
    // Swap only slows an emulated guest down; guests' disks are on the lab's shared storage,
    // so no thin pool (`local-lvm`): the space goes to the root file system.
    let _ = writeln!(s, "lvm.swapsize = 0");
    let _ = writeln!(s, "lvm.maxvz = 0");
    let _ = writeln!(s);
    let _ = writeln!(s, "[first-boot]");
    let _ = writeln!(s, "source = \"from-iso\"");
    let _ = writeln!(s, "ordering = \"network-online\"");
    s
}

/// The ISO route's first-boot script (`prepare-iso --on-first-boot`), run once by the
/// installed system at its first start, before hadrill converts it into the nodes' base image:
/// what every Proxmox VE node of a lab needs, whoever installed it. Nothing node-specific:
/// one installation serves every node.
pub fn iso_first_boot(release: Release) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Written by hadrill: first boot of the Proxmox VE {} installation that becomes the lab nodes' base image.",
        release.major()
    );
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "# The enterprise repositories need a subscription; without one they break apt-get update.");
    let _ = writeln!(
        s,
        "rm -f /etc/apt/sources.list.d/pve-enterprise.list /etc/apt/sources.list.d/pve-enterprise.sources /etc/apt/sources.list.d/ceph.list /etc/apt/sources.list.d/ceph.sources"
    );
    let _ = writeln!(s, "# Nothing that wakes up on a timer and steals CPU from an emulated guest.");
    let _ = writeln!(
        s,
        "systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer systemd-tmpfiles-clean.timer dpkg-db-backup.timer pve-daily-update.timer 2>/dev/null || true"
    );
    let _ = writeln!(s, "touch /var/lib/hadrill-first-boot-done");
    s
}

/// How to prepare the ISO once (argv of the assistant): answers from a `PROXMOX-AIS`
/// partition, hadrill's first-boot script inside. `tmp` is where the assistant stages its copy
/// of the ISO: by default it uses the input ISO's directory (the output's, before 8.4), which
/// may be read-only or another user's.
pub fn prepare_iso_argv(assistant: &Path, iso: &Path, first_boot: &Path, output: &Path, tmp: &Path) -> Vec<String> {
    [
        assistant.to_string_lossy().as_ref(),
        "prepare-iso",
        iso.to_string_lossy().as_ref(),
        "--fetch-from",
        "partition",
        "--on-first-boot",
        first_boot.to_string_lossy().as_ref(),
        "--output",
        output.to_string_lossy().as_ref(),
        "--tmp",
        tmp.to_string_lossy().as_ref(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The label of the answer disk the prepared installer looks for.
pub const ANSWER_LABEL: &str = "PROXMOX-AIS";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_file_snapshot_and_valid_toml_shape() {
        let install = InstallAnswer {
            release: Release::Pve8,
            fqdn: "pve-install.hadrill.lab".into(),
            root_password: "build-secret \"quoted\"".into(),
            ssh_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHadrillTestKey hadrill@build".into(),
            cidr: "10.213.7.10/24".into(),
            gateway: Ipv4Addr::new(10, 213, 7, 1),
            dns: Ipv4Addr::new(10, 213, 7, 1),
            mac: "52:54:00:1A:07:0A".into(),
            disk: "vda".into(),
        };
        let a = answer_file(&install);
        insta::assert_snapshot!(a);
        assert!(a.contains("root-password = \"build-secret \\\"quoted\\\"\""), "quotes are escaped");
        assert!(a.contains("filter.ID_NET_NAME_MAC = \"*5254001a070a\""));
        let template = answer_file(&InstallAnswer::template(Release::Pve8));
        assert!(!template.contains("build-secret") && template.contains("<build-time root password>"));
        for section in ["[global]", "[network]", "[disk-setup]", "[first-boot]"] {
            assert_eq!(a.matches(section).count(), 1, "{section}");
        }
    }

    #[test]
    fn iso_first_boot_script() {
        insta::assert_snapshot!("iso_first_boot", iso_first_boot(Release::Pve8));
        assert!(!iso_first_boot(Release::Pve9).contains("node1"), "one installation serves every node");
    }

    #[test]
    fn prepare_argv() {
        let argv = prepare_iso_argv(
            Path::new("/usr/bin/paia"),
            Path::new("/isos/pve.iso"),
            Path::new("/run/fb.sh"),
            Path::new("/run/auto.iso"),
            Path::new("/run/stage"),
        );
        assert_eq!(
            argv.join(" "),
            "/usr/bin/paia prepare-iso /isos/pve.iso --fetch-from partition --on-first-boot /run/fb.sh --output /run/auto.iso --tmp /run/stage"
        );
    }
}
