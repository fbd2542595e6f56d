//! The Debian route's install parts: Debian plus the Proxmox VE repository, as pve-docs'
//! "Install Proxmox VE on Debian" describes it (hostname resolving to the node's address, the
//! no-subscription repository and its key, `proxmox-default-kernel`, a reboot, `proxmox-ve`,
//! removing the Debian kernel and os-prober). The repository as the image build
//! (`images/pve-debian`, `images/pve9-debian`) takes it, the APT sources and proxy files, and
//! the same steps as one non-interactive first-boot script.

use std::fmt::Write;
use std::net::Ipv4Addr;
use std::path::Path;

use super::access::{OFFICIAL_REPOSITORY, Release};
use crate::stack::pacemaker::NodeFile;

/// The watchdog that `watchdog-mux` arms: softdog (Proxmox's default) or the emulated
/// i6300esb (a reset seen by the hypervisor even when the guest kernel is stuck).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watchdog {
    Softdog,
    I6300esb,
}

/// One node's identity on the cluster network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeIdentity {
    pub name: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    /// The MAC of the cluster NIC: the installer's network filter picks it by this.
    pub mac: String,
}

/// Everything the generated image files depend on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePlan {
    pub release: Release,
    pub domain: String,
    pub gateway: Ipv4Addr,
    pub dns: Ipv4Addr,
    /// The run's root password: the cluster join through the API needs it in clear, so it is
    /// generated per run and never reused.
    pub root_password: String,
    pub ssh_keys: Vec<String>,
    /// The installer's target disk (`vda` with virtio-blk); the second disk is Ceph's.
    pub disk: String,
    pub watchdog: Watchdog,
    pub nodes: Vec<NodeIdentity>,
}

/// `/etc/hosts` lines for every node: pve-cluster needs the node's name to resolve to its
/// cluster address, not to 127.0.1.1.
fn hosts_lines(plan: &ImagePlan) -> String {
    plan.nodes.iter().map(|n| format!("{} {}.{} {}\n", n.ip, n.name, plan.domain, n.name)).collect()
}

/// The APT sources of the no-subscription repository at `repository`.
pub fn apt_sources(release: Release, repository: &str) -> NodeFile {
    match release {
        Release::Pve8 => NodeFile {
            path: "/etc/apt/sources.list.d/pve-install-repo.list",
            mode: 0o644,
            content: format!(
                "# Written by hadrill: the Proxmox VE no-subscription repository.\ndeb [arch=amd64] {repository}/pve {} pve-no-subscription\n",
                release.suite()
            ),
        },
        Release::Pve9 => NodeFile {
            path: "/etc/apt/sources.list.d/pve-install-repo.sources",
            mode: 0o644,
            content: format!(
                "# Written by hadrill: the Proxmox VE no-subscription repository.\nTypes: deb\nURIs: {repository}/pve\nSuites: {}\nComponents: pve-no-subscription\nSigned-By: {}\n",
                release.suite(),
                release.keyring_target()
            ),
        },
    }
}

/// APT's proxy for download.proxmox.com only, so that `pveceph install`, which writes its
/// own sources for that host, works without direct access.
pub fn apt_proxy_conf(proxy: &str) -> NodeFile {
    NodeFile {
        path: "/etc/apt/apt.conf.d/80hadrill-proxmox-proxy",
        mode: 0o644,
        content: format!(
            "// Written by hadrill: reach the Proxmox repository through a proxy.\nAcquire::http::Proxy::download.proxmox.com \"{proxy}\";\n"
        ),
    }
}

/// Common to both routes, run once on the installed system: names, the watchdog module, no
/// enterprise repository (it needs a subscription), no timers that steal CPU from an
/// emulated guest.
fn common_setup(plan: &ImagePlan, s: &mut String) {
    let _ = writeln!(s, "# Every node resolves every other by name; its own name is not 127.0.1.1.");
    let _ = writeln!(s, "sed -i '/^127\\.0\\.1\\.1[[:space:]]/d' /etc/hosts");
    let _ = writeln!(s, "cat >> /etc/hosts <<'HOSTS'\n{}HOSTS", hosts_lines(plan));
    let _ = writeln!(s, "case \"$(hostname -s)\" in");
    for n in &plan.nodes {
        let _ = writeln!(s, "  {}) want={} ;;", n.name, n.ip);
    }
    let _ = writeln!(s, "  *) echo \"hadrill: unknown node name $(hostname -s)\" >&2; exit 1 ;;");
    let _ = writeln!(s, "esac");
    let _ = writeln!(
        s,
        "[ \"$(hostname --ip-address)\" = \"$want\" ] || {{ echo \"hadrill: $(hostname) resolves to $(hostname --ip-address), not $want\" >&2; exit 1; }}"
    );
    let module = match plan.watchdog {
        Watchdog::Softdog => "softdog",
        Watchdog::I6300esb => "i6300esb",
    };
    let _ = writeln!(s, "# watchdog-mux loads this module; the hypervisor sees its reset.");
    let _ = writeln!(s, "echo 'WATCHDOG_MODULE={module}' > /etc/default/pve-ha-manager");
    let _ = writeln!(
        s,
        "rm -f /etc/apt/sources.list.d/pve-enterprise.list /etc/apt/sources.list.d/pve-enterprise.sources /etc/apt/sources.list.d/ceph.list /etc/apt/sources.list.d/ceph.sources"
    );
    let _ = writeln!(
        s,
        "systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer pve-daily-update.timer 2>/dev/null || true"
    );
}

/// The name the node image's recipe (`images/pve-debian`) gives the Proxmox repository.
pub const IMAGE_REPOSITORY: &str = "proxmox";

/// The Proxmox repository as the Debian route's image build takes it: the no-subscription
/// component at `repository` (a mirror, or the official one), signed by `keyring` (checked by
/// [`check_access`](super::check_access)) and kept where the install guide puts it. With the
/// official repository and an APT proxy, the build fetches through the proxy, and the image
/// keeps the setting (`pveceph install` needs it too).
pub fn image_repository(
    release: Release,
    repository: &str,
    keyring: &Path,
    apt_proxy: Option<&str>,
) -> crate::image::ExtraRepository {
    let official = repository.trim_end_matches('/') == OFFICIAL_REPOSITORY;
    crate::image::ExtraRepository {
        name: IMAGE_REPOSITORY.into(),
        uri: format!("{}/pve", repository.trim_end_matches('/')),
        suite: release.suite().into(),
        components: vec!["pve-no-subscription".into()],
        keyring: keyring.to_owned(),
        keyring_target: release.keyring_target().into(),
        proxy: apt_proxy.filter(|_| official).map(str::to_owned),
    }
}

/// The Debian route: one script, run at first boot of a Debian node as root, that follows
/// the install guide step by step and reboots once into the Proxmox kernel (run it again
/// after that reboot: it carries on from where it stopped). The key is expected at
/// `/root/hadrill/<keyring file>`, copied there with the script.
pub fn debian_install_script(plan: &ImagePlan, repository: &str, apt_proxy: Option<&str>) -> String {
    let r = plan.release;
    let (kind, digest) = r.keyring_digest();
    let sources = apt_sources(r, repository);
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Written by hadrill: install Proxmox VE {} on Debian ({}), as pve-docs' \"Install Proxmox VE on Debian\" describes.",
        r.major(),
        r.suite()
    );
    let _ = writeln!(s, "# Run as root; it reboots once into the Proxmox kernel and is run again after.");
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "export DEBIAN_FRONTEND=noninteractive");
    let _ = writeln!(s, "state=/var/lib/hadrill-pve-install");
    let _ = writeln!(s, "if [ ! -e \"$state\" ]; then");
    let _ = writeln!(s, "  . /etc/os-release");
    let _ = writeln!(
        s,
        "  [ \"$VERSION_CODENAME\" = {} ] || {{ echo \"hadrill: Proxmox VE {} needs Debian {}, this is $VERSION_CODENAME\" >&2; exit 1; }}",
        r.suite(),
        r.major(),
        r.suite()
    );
    // Not indented: it holds a here-document, whose end marker must start its line.
    common_setup(plan, &mut s);
    let _ = writeln!(s, "  install -m 0644 /root/hadrill/{} {}", r.keyring_file(), r.keyring_target());
    let _ = writeln!(
        s,
        "  echo '{digest}  {}' | {} -c - || {{ echo 'hadrill: the repository key does not match the documented digest' >&2; exit 1; }}",
        r.keyring_target(),
        kind.name()
    );
    let _ = writeln!(s, "  cat > {} <<'SOURCES'\n{}SOURCES", sources.path, sources.content);
    if let Some(p) = apt_proxy {
        let conf = apt_proxy_conf(p);
        let _ = writeln!(s, "  cat > {} <<'PROXY'\n{}PROXY", conf.path, conf.content);
    }
    // postfix asks how to deliver mail unless debconf already knows.
    let _ = writeln!(s, "  echo 'postfix postfix/main_mailer_type select Local only' | debconf-set-selections");
    let _ = writeln!(s, "  echo \"postfix postfix/mailname string $(hostname --fqdn)\" | debconf-set-selections");
    let _ = writeln!(s, "  apt-get update");
    let _ =
        writeln!(s, "  apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold full-upgrade");
    let _ = writeln!(s, "  apt-get -y install proxmox-default-kernel");
    let _ = writeln!(s, "  echo kernel > \"$state\"");
    let _ = writeln!(s, "  systemctl reboot");
    let _ = writeln!(s, "  exit 0");
    let _ = writeln!(s, "fi");
    let _ = writeln!(s, "if [ \"$(cat \"$state\")\" = kernel ]; then");
    let _ = writeln!(
        s,
        "  uname -r | grep -q -- '-pve$' || {{ echo \"hadrill: running $(uname -r), not the Proxmox kernel\" >&2; exit 1; }}"
    );
    let _ = writeln!(
        s,
        "  apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install proxmox-ve postfix open-iscsi chrony"
    );
    let _ = writeln!(s, "  apt-get -y remove {}", r.debian_kernels());
    let _ = writeln!(s, "  update-grub");
    let _ = writeln!(s, "  # os-prober would add every guest's disk to the boot menu.");
    let _ = writeln!(s, "  apt-get -y remove os-prober");
    // proxmox-ve adds the enterprise repository; without a subscription it breaks apt-get update.
    let _ = writeln!(
        s,
        "  rm -f /etc/apt/sources.list.d/pve-enterprise.list /etc/apt/sources.list.d/pve-enterprise.sources"
    );
    let _ = writeln!(s, "  echo done > \"$state\"");
    let _ = writeln!(s, "fi");
    let _ = writeln!(s, "pveversion");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::pve::iso::iso_first_boot;

    fn plan(release: Release) -> ImagePlan {
        ImagePlan {
            release,
            domain: "hadrill.lab".into(),
            gateway: Ipv4Addr::new(10, 77, 0, 1),
            dns: Ipv4Addr::new(10, 77, 0, 1),
            root_password: "run-secret \"quoted\"".into(),
            ssh_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHadrillTestKey hadrill@run".into()],
            disk: "vda".into(),
            watchdog: Watchdog::Softdog,
            nodes: (1..=3)
                .map(|i| NodeIdentity {
                    name: format!("node{i}"),
                    ip: Ipv4Addr::new(10, 77, 0, 10 + i),
                    prefix: 24,
                    mac: format!("52:54:00:77:00:{:02x}", 10 + i),
                })
                .collect(),
        }
    }

    #[test]
    fn debian_route_scripts() {
        insta::assert_snapshot!(
            "debian_install_pve8",
            debian_install_script(&plan(Release::Pve8), OFFICIAL_REPOSITORY, Some("http://10.0.0.1:3142"))
        );
        let nine = debian_install_script(&plan(Release::Pve9), "http://mirror.lab/debian", None);
        assert!(nine.contains("Suites: trixie\nComponents: pve-no-subscription\nSigned-By: /usr/share/keyrings/proxmox-archive-keyring.gpg"));
        assert!(nine.contains("sha256sum -c"));
        assert!(nine.contains("'linux-image-6.12*'"));
        assert!(!nine.contains("Proxy"), "no proxy configured");
    }

    /// `sh -n`: the generated scripts parse (here-documents closed, quotes balanced).
    #[test]
    fn generated_scripts_are_valid_shell() {
        let dir = tempfile::tempdir().unwrap();
        for (name, script) in [
            ("debian8", debian_install_script(&plan(Release::Pve8), OFFICIAL_REPOSITORY, Some("http://p:3142"))),
            ("debian9", debian_install_script(&plan(Release::Pve9), "http://m/debian", None)),
            ("iso", iso_first_boot(Release::Pve8)),
        ] {
            let f = dir.path().join(name);
            std::fs::write(&f, &script).unwrap();
            let out = std::process::Command::new("sh").arg("-n").arg(&f).output().expect("sh runs");
            assert!(out.status.success(), "{name}: {}\n{script}", String::from_utf8_lossy(&out.stderr));
        }
    }

    /// The Debian route's image build with a user's mirror and key substituted, for each
    /// release: the mmdebstrap call, with the recipe's directory written `<images>`.
    #[test]
    fn debian_route_image_build_plan() {
        let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("images");
        for release in [Release::Pve8, Release::Pve9] {
            let recipe = crate::image::Recipe::load(&images, release.image_recipe()).unwrap();
            assert_eq!(Release::of_suite(&recipe.file.suite), Some(release), "{} is on the wrong suite", recipe.name());
            let key = Path::new("/var/lib/hadrill").join(release.keyring_file());
            let repo = image_repository(release, "http://mirror.lab:8080/proxmox/debian/", &key, None);
            assert_eq!(repo.host(), "mirror.lab");
            recipe.check_repositories(std::slice::from_ref(&repo)).unwrap();
            let spec = crate::image::mmdebstrap_spec(&recipe, Path::new("/scratch/rootfs"), &[repo]).unwrap();
            let argv = spec.args.join("\n").replace(&images.display().to_string(), "<images>");
            insta::assert_snapshot!(format!("debian_route_image_build_plan_pve{}", release.major()), argv);
            let suite = release.suite();
            for want in [
                "proxmox-ve".to_owned(),
                "postfix".into(),
                "open-iscsi".into(),
                "chrony".into(),
                "proxmox-default-kernel".into(),
                format!(
                    "deb [signed-by={}] http://mirror.lab:8080/proxmox/debian/pve {suite} pve-no-subscription",
                    key.display()
                ),
                format!("upload {} {}", key.display(), release.keyring_target()),
                format!("\n{suite}\n/scratch/rootfs\nhttp://deb.debian.org/debian\n"),
                // The same scripts for both releases (pve9-debian links to pve-debian's).
                "essential-hook=chroot \"$1\" /bin/sh -s < '<images>/".into(),
                "/essential.sh'".into(),
            ] {
                assert!(argv.contains(&want), "{want} missing:\n{argv}");
            }
            assert!(!argv.contains("linux-image-amd64"), "the guide removes the Debian kernel");
            assert!(!argv.contains("Proxy"), "a mirror needs no proxy");
            // debian-ha's identity files first, then pve-debian's (lab-pve), then the key inside
            // the image, then the customize script.
            let order: Vec<usize> =
                ["sync-in <images>/debian-ha/files", "sync-in <images>/pve-debian/files", "sed -i", "customize.sh"]
                    .iter()
                    .map(|w| argv.find(w).unwrap_or_else(|| panic!("{w} missing")))
                    .collect();
            assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
            let scripts = |r: &crate::image::Recipe| {
                (std::fs::read(r.essential_script()).unwrap(), std::fs::read(r.customize_script()).unwrap())
            };
            let pve8 = crate::image::Recipe::load(&images, Release::Pve8.image_recipe()).unwrap();
            assert_eq!(scripts(&recipe), scripts(&pve8));

            // Through a proxy to the official repository: the build and the image use it.
            let proxied = image_repository(release, OFFICIAL_REPOSITORY, &key, Some("http://10.0.0.1:3142"));
            let spec = crate::image::mmdebstrap_spec(&recipe, Path::new("/r"), &[proxied]).unwrap();
            assert!(
                spec.args.contains(
                    &"--aptopt=Acquire::http::Proxy::download.proxmox.com \"http://10.0.0.1:3142\"".to_owned()
                )
            );
            // A recipe asked for a repository it was not given: a typed error, not a build
            // without it.
            assert!(matches!(recipe.check_repositories(&[]), Err(crate::image::ImageError::MissingRepository { .. })));
        }
    }
}
