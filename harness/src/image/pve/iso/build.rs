//! Making the image: prepare the ISO (cached), install once into a qcow2 in a domain of its
//! own on an isolated network of its own, boot the installed disk, convert it over SSH with
//! the build's key, copy its kernel out, power it off, and store the disk, kernel and initrd as
//! a [`BuiltImage`] like the builder's. The install domains and network form a run of their own
//! (`<state>/runs/<run>`, marked in libvirt like a lab's, so `hadrill gc` removes what a killed
//! build left); they are removed however the build ends, and the image counts only once
//! complete. Console logs of a failed build are kept under `<state>/images/pve-iso/logs/`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::{info, warn};
use tracing_indicatif::span_ext::IndicatifSpanExt;

use super::answer::{InstallAnswer, answer_file};
use super::convert::{conversion_script, parse_report, write_file_command};
use super::prepare::{answer_disk, borrowed_files, file_sha256, image_key, prepared_iso, set_mode};
use super::{IsoImageError, IsoSource};
use crate::image::{BuiltImage, CommandSpec, ImageCache, run_command};
use crate::lab::{
    Accel, BuildBoot, BuildDomainSpec, Hypervisor, NetRole, NetworkSpec, NicSpec, RunDir, RunId, RunState, free_subnet,
    holder_token, scaled_wait,
};
use crate::node::{KnownHosts, NodeSession, RunKey, SessionOptions, SshError};

/// The image's name in the cache (`hadrill image build pve-iso`).
pub const ISO_IMAGE: &str = "pve-iso";

/// The installer's domain and the installed system's, inside the build's run.
const INSTALLER: &str = "pve-install";
const INSTALLED: &str = "pve-installed";

/// The installed system's address on the install network (the host is `.1`).
const GUEST_HOST: u8 = 10;

/// The target disk: the installer makes root (about half of it, no thin pool) on LVM.
const DISK_GIB: u32 = 32;

/// Options of one build.
#[derive(Clone, Debug)]
pub struct IsoBuildOptions {
    /// libvirt URI of the install domains.
    pub uri: String,
    /// The state directory: the image cache and the build's run live there.
    pub state_dir: PathBuf,
    /// Where the borrowed recipes (`debian-ha`, `pve-debian`) are.
    pub recipes_dir: PathBuf,
    /// Rebuild even when the image's key is built.
    pub force: bool,
}

/// The installer's kernel command line: the automated installer, its console on the serial
/// port (the prepared ISO's own boot menu has none, and waits 10 s).
pub const INSTALLER_CMDLINE: &str = "ro ramdisk_size=16777216 rw proxmox-start-auto-installer console=ttyS0,115200";

/// Console lines by which the installer says it failed. With `reboot-on-error = false` it
/// then waits at a debug shell (or, before 8.4, reboots as if it had succeeded), so the log is
/// what tells.
const FAILURE_LINES: [&str; 6] = [
    "Installation aborted",
    "Installation failed",
    "Auto-installation failed",
    "Autoinstaller setup error",
    "Installer setup error",
    "Could not find any answer file",
];

/// The first console line that says the installer failed.
pub fn installer_failure(console: &str) -> Option<String> {
    console.lines().find(|l| FAILURE_LINES.iter().any(|f| l.contains(f))).map(|l| l.trim().to_owned())
}

/// The installer's domain: the prepared ISO's kernel and initrd booted directly, the ISO as
/// its CD-ROM, the answer disk, the blank target disk.
pub fn installer_domain(
    run: &RunId,
    accel: Accel,
    files: &BuildFiles,
    nic: &NicSpec,
    console_log: &Path,
) -> BuildDomainSpec {
    BuildDomainSpec {
        run: run.clone(),
        node: INSTALLER.into(),
        accel,
        memory_mib: 4096,
        vcpus: 2,
        boot: BuildBoot::Kernel {
            kernel: files.installer_kernel.clone(),
            initrd: files.installer_initrd.clone(),
            cmdline: INSTALLER_CMDLINE.into(),
        },
        disk: files.disk.clone(),
        cdrom: Some(files.iso.clone()),
        extra_disk: Some(files.answer_disk.clone()),
        nic: nic.clone(),
        console_log: console_log.to_owned(),
        holder: holder_token(),
    }
}

/// The installed system's domain: the BIOS boots the target disk; same NIC at the same slot.
pub fn installed_domain(run: &RunId, accel: Accel, disk: &Path, nic: &NicSpec, console_log: &Path) -> BuildDomainSpec {
    BuildDomainSpec {
        run: run.clone(),
        node: INSTALLED.into(),
        accel,
        memory_mib: 2048,
        vcpus: 2,
        boot: BuildBoot::Disk,
        disk: disk.to_owned(),
        cdrom: None,
        extra_disk: None,
        nic: nic.clone(),
        console_log: console_log.to_owned(),
        holder: holder_token(),
    }
}

/// The files of one build, in its scratch directory.
#[derive(Clone, Debug)]
pub struct BuildFiles {
    pub iso: PathBuf,
    pub installer_kernel: PathBuf,
    pub installer_initrd: PathBuf,
    pub answer_disk: PathBuf,
    pub disk: PathBuf,
}

/// Removes the scratch directory however the build ends, unless it became the image.
struct Scratch(Option<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// The build's run: its domains and network in libvirt and its run directory, removed on
/// drop (every return, `?`, interruption, panic).
struct InstallRun {
    hv: Hypervisor,
    run: RunId,
    dir: RunDir,
}

impl Drop for InstallRun {
    fn drop(&mut self) {
        match self.hv.remove_run(&self.run) {
            Ok(r) => {
                crate::lab::remove_libvirt_files(self.hv.uri(), &self.run);
                let _ = self.dir.remove();
                info!(run = %self.run, domains = r.domains.len(), networks = r.networks.len(), "install run removed")
            }
            // The run directory stays: it is how `gc` knows the run is this state directory's.
            Err(e) => {
                warn!(run = %self.run, error = %e, "install run not fully removed; `hadrill gc` removes the rest")
            }
        }
    }
}

fn interrupted(cancel: &AtomicBool) -> Result<(), IsoImageError> {
    if cancel.load(Ordering::Relaxed) { Err(IsoImageError::Interrupted) } else { Ok(()) }
}

fn image_err(e: crate::image::ImageError) -> IsoImageError {
    match e {
        crate::image::ImageError::Interrupted => IsoImageError::Interrupted,
        e => e.into(),
    }
}

/// Builds the Proxmox VE node image from `src`, or returns the cached one for its key.
pub fn build_iso_image(
    src: &IsoSource,
    opts: &IsoBuildOptions,
    cancel: &AtomicBool,
) -> Result<BuiltImage, IsoImageError> {
    let cache = ImageCache::new(&opts.state_dir);
    let span = tracing::info_span!("image", name = ISO_IMAGE);
    span.pb_set_style(&crate::image::progress_style());
    span.pb_set_length(6);
    let _enter = span.enter();
    let step = |n: u64, msg: &str| {
        span.pb_set_position(n - 1);
        span.pb_set_message(msg);
        info!(step = format!("{n}/6"), "{msg}");
    };

    // 1. The key: the ISO's digest and everything the image is made from.
    step(1, "sha256 of the ISO");
    let iso_sha = file_sha256(&src.iso)?;
    let key = image_key(&iso_sha, src.release, &opts.recipes_dir)?;
    if !opts.force
        && let Some(img) = cache.get(ISO_IMAGE, &key)
    {
        info!(image = ISO_IMAGE, hash = key, "image is up to date");
        return Ok(img);
    }
    interrupted(cancel)?;
    let started = Instant::now();

    // 2. The prepared ISO (cached), the installer's kernel and initrd, the answer disk.
    step(2, "preparing the ISO (proxmox-auto-install-assistant)");
    let iso = prepared_iso(src, &iso_sha, &cache, Duration::from_secs(30 * 60), cancel)?;
    let final_dir = cache.dir(ISO_IMAGE, &key);
    let scratch_path = cache.root.join(ISO_IMAGE).join(format!(".build-{key}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch_path);
    std::fs::create_dir_all(&scratch_path).map_err(|e| IsoImageError::io(&scratch_path, e))?;
    set_mode(&scratch_path, 0o755);
    let mut scratch = Scratch(Some(scratch_path.clone()));
    let files = BuildFiles {
        iso,
        installer_kernel: scratch_path.join("installer-vmlinuz"),
        installer_initrd: scratch_path.join("installer-initrd.img"),
        answer_disk: scratch_path.join("answer.img"),
        disk: scratch_path.join("base.qcow2"),
    };
    let extract = CommandSpec::new("xorriso", "xorriso", Duration::from_secs(10 * 60))
        .arg("-osirrox")
        .arg("on")
        .arg("-indev")
        .arg(files.iso.to_string_lossy())
        .arg("-extract")
        .arg("/boot/linux26")
        .arg(files.installer_kernel.to_string_lossy())
        .arg("-extract")
        .arg("/boot/initrd.img")
        .arg(files.installer_initrd.to_string_lossy());
    run_command(&extract, cancel, |_| {}).map_err(image_err)?;
    for f in [&files.installer_kernel, &files.installer_initrd] {
        set_mode(f, 0o644);
    }
    let key_path = scratch_path.join("build_ed25519");
    let build_key = RunKey::create(&key_path)
        .map_err(|e| IsoImageError::Conversion { what: "making the build's key".into(), source: e })?;
    let create = CommandSpec::new("qemu-img", "qemu-utils", Duration::from_secs(60))
        .arg("create")
        .arg("-q")
        .arg("-f")
        .arg("qcow2")
        .arg(files.disk.to_string_lossy())
        .arg(format!("{DISK_GIB}G"));
    run_command(&create, cancel, |_| {}).map_err(image_err)?;

    // The build's run: network, console logs (kept when the build fails).
    let hv = Hypervisor::open(&opts.uri)?;
    let accel = hv.detect_accel();
    let run = RunId::generate();
    let dir = RunDir::new(&opts.state_dir, &run);
    dir.create()?;
    dir.claim()?;
    let install = InstallRun { hv, run: run.clone(), dir };
    let logs = cache.root.join(ISO_IMAGE).join("logs").join(run.as_str());
    std::fs::create_dir_all(&logs).map_err(|e| IsoImageError::io(&logs, e))?;
    let installer_console = logs.join(format!("{INSTALLER}.log"));
    let installed_console = logs.join(format!("{INSTALLED}.log"));
    let mut tried = Vec::new();
    let (host_ip, nic) = loop {
        interrupted(cancel)?;
        let (index, host_ip) = free_subnet(&install.hv, &run, &tried)?;
        tried.push(index);
        let o = host_ip.octets();
        let guest = Ipv4Addr::new(o[0], o[1], o[2], GUEST_HOST);
        let nic =
            NicSpec { net: NetRole::Cluster, mac: format!("52:54:00:1a:{index:02x}:{GUEST_HOST:02x}"), ip: guest };
        let net = NetworkSpec {
            run: run.clone(),
            role: NetRole::Cluster,
            host_ip,
            dhcp_hosts: vec![(nic.mac.clone(), guest)],
        };
        match install.hv.create_network(&net) {
            Ok(()) => break (host_ip, nic),
            Err(e) if tried.len() < 5 => {
                warn!(run = %run, index, error = %e, "install network did not start, trying another subnet")
            }
            Err(e) => return Err(e.into()),
        }
    };
    let guest = nic.ip;
    let password: String = random_hex(12)?;
    let answer = InstallAnswer {
        release: src.release,
        fqdn: format!("{INSTALLER}.hadrill.lab"),
        root_password: password,
        ssh_key: build_key.public_openssh(),
        cidr: format!("{guest}/24"),
        gateway: host_ip,
        dns: host_ip,
        mac: nic.mac.clone(),
        disk: "vda".into(),
    };
    answer_disk(&files.answer_disk, &answer_file(&answer), cancel)?;
    set_mode(&files.answer_disk, 0o644);

    // 3. The installation.
    step(3, "installing Proxmox VE from the ISO");
    let spec = installer_domain(&run, accel, &files, &nic, &installer_console);
    install.hv.define_build_domain(&spec)?;
    install.hv.start(&run, &spec.name())?;
    let limit = scaled_wait(accel, Duration::from_secs(30 * 60));
    wait_installer(&install, &spec.name(), &installer_console, &files.disk, limit, cancel, &span)?;

    // 4. The installed system's first boot, until SSH answers with the build's key.
    step(4, "first boot of the installed system");
    let spec = installed_domain(&run, accel, &files.disk, &nic, &installed_console);
    install.hv.define_build_domain(&spec)?;
    install.hv.start(&run, &spec.name())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| IsoImageError::io("tokio runtime", e))?;
    let first_boot = |what: String| IsoImageError::FirstBoot {
        what,
        console: installed_console.clone(),
        installer_console: installer_console.clone(),
    };
    let known = Arc::new(
        KnownHosts::open(&install.dir.known_hosts()).map_err(|e| IsoImageError::io(install.dir.known_hosts(), e))?,
    );
    let addr = SocketAddr::from((guest, 22));
    let within = scaled_wait(accel, Duration::from_secs(5 * 60));
    let session = cancellable(&rt, cancel, async {
        let deadline = tokio::time::Instant::now() + within;
        NodeSession::connect_until(INSTALLED, addr, &build_key, known, &SessionOptions::default(), deadline).await
    })?
    .map_err(|e| {
        first_boot(format!("did not answer over SSH at {addr} with the build's key within {} s: {e}", within.as_secs()))
    })?;

    // 5. The conversion: the borrowed files, then the script.
    step(5, "converting it into the nodes' image");
    let ssh = |what: &str, e: SshError| IsoImageError::Conversion { what: what.to_owned(), source: e };
    for (path, rel) in borrowed_files(&opts.recipes_dir)? {
        let content = std::fs::read(&path).map_err(|e| IsoImageError::io(&path, e))?;
        let exec = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).map_err(|e| IsoImageError::io(&path, e))?.permissions(),
        ) & 0o111
            != 0;
        let cmd = write_file_command(&rel, exec);
        let out = cancellable(&rt, cancel, session.exec_io(&cmd, &content, Duration::from_secs(60)))?
            .map_err(|e| ssh(&format!("copying {rel}"), e))?;
        if out.status != 0 {
            return Err(IsoImageError::ConversionOutput {
                message: format!("copying {rel} failed ({}): {}", out.status, out.stderr.trim()),
            });
        }
    }
    let script = conversion_script();
    let out = cancellable(&rt, cancel, session.exec_io("sh -s", script.as_bytes(), Duration::from_secs(20 * 60)))?
        .map_err(|e| ssh("running the conversion script", e))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status != 0 {
        return Err(IsoImageError::ConversionOutput {
            message: format!("the conversion script failed ({}): {}\n{}", out.status, out.stderr.trim(), stdout.trim()),
        });
    }
    let (root, kernel_version) = parse_report(&stdout)
        .map_err(|why| IsoImageError::ConversionOutput { message: format!("{why}:\n{stdout}") })?;

    // 6. The kernel and initrd out, the system off.
    step(6, "copying the kernel out and powering off");
    for (remote, local) in [
        (format!("/boot/vmlinuz-{kernel_version}"), scratch_path.join("vmlinuz")),
        (format!("/boot/initrd.img-{kernel_version}"), scratch_path.join("initrd.img")),
    ] {
        let out = cancellable(&rt, cancel, session.exec_io(&format!("cat {remote}"), &[], Duration::from_secs(300)))?
            .map_err(|e| ssh(&format!("copying {remote} out"), e))?;
        if out.status != 0 || out.stdout.is_empty() {
            return Err(IsoImageError::ConversionOutput {
                message: format!("copying {remote} out failed ({}): {}", out.status, out.stderr.trim()),
            });
        }
        std::fs::write(&local, &out.stdout).map_err(|e| IsoImageError::io(&local, e))?;
        set_mode(&local, 0o644);
    }
    // The session ends with the system; its closing is not an error.
    let _ = cancellable(&rt, cancel, session.exec_io("systemctl poweroff", &[], Duration::from_secs(30)))?;
    let off_within = scaled_wait(accel, Duration::from_secs(3 * 60));
    wait_off(&install, &spec.name(), off_within, cancel).map_err(|e| match e {
        IsoImageError::Interrupted => e,
        _ => first_boot(format!("did not power off within {} s after the conversion", off_within.as_secs())),
    })?;
    drop(install);

    // The image: base.qcow2, vmlinuz, initrd.img, the build's key; image.json last.
    for f in [&files.installer_kernel, &files.installer_initrd, &files.answer_disk] {
        let _ = std::fs::remove_file(f);
    }
    let base_bytes = std::fs::metadata(&files.disk).map_err(|e| IsoImageError::io(&files.disk, e))?.len();
    let _ = std::fs::remove_dir_all(&final_dir);
    let mut img = BuiltImage {
        name: ISO_IMAGE.to_owned(),
        hash: key.clone(),
        built: crate::lab::now_secs(),
        build_secs: started.elapsed().as_secs_f64(),
        base_bytes,
        kernel_version,
        root,
        dir: scratch_path.clone(),
    };
    cache.save(&img)?;
    std::fs::rename(&scratch_path, &final_dir).map_err(|e| IsoImageError::io(&final_dir, e))?;
    scratch.0 = None;
    let _ = std::fs::remove_dir_all(&logs);
    img.dir = final_dir;
    span.pb_set_position(6);
    info!(image = ISO_IMAGE, hash = key, secs = format!("{:.0}", img.build_secs), root = img.root, "image built");
    Ok(img)
}

/// Runs `fut` on `rt`, giving up with [`IsoImageError::Interrupted`] as soon as `cancel` is set.
fn cancellable<T>(
    rt: &tokio::runtime::Runtime,
    cancel: &AtomicBool,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, IsoImageError> {
    rt.block_on(async {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                r = &mut fut => return Ok(r),
                _ = tokio::time::sleep(Duration::from_millis(200)) => interrupted(cancel)?,
            }
        }
    })
}

/// Waits for the installer's domain to end (it reboots when done, and a reboot ends it), and
/// checks that it installed: no failure on its console, and the target disk written.
fn wait_installer(
    install: &InstallRun,
    domain: &str,
    console: &Path,
    disk: &Path,
    limit: Duration,
    cancel: &AtomicBool,
    span: &tracing::Span,
) -> Result<(), IsoImageError> {
    let t = Instant::now();
    let mut last = String::new();
    loop {
        interrupted(cancel)?;
        let log = std::fs::read_to_string(console).unwrap_or_default();
        if let Some(line) = installer_failure(&log) {
            let _ = install.hv.destroy(&install.run, domain);
            return Err(IsoImageError::InstallerFailed { line, console: console.to_owned() });
        }
        // The installer's progress lines, for the bar.
        if let Some(p) = log.lines().rev().find(|l| l.contains("progress")).map(str::trim)
            && p != last
        {
            span.pb_set_message(&format!("installing: {p}"));
            last = p.to_owned();
        }
        if install.hv.state(&install.run, domain)? == RunState::Off {
            break;
        }
        if t.elapsed() > limit {
            let _ = install.hv.destroy(&install.run, domain);
            return Err(IsoImageError::InstallerTimeout { secs: limit.as_secs(), console: console.to_owned() });
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let bytes = qcow2_allocated(disk).unwrap_or(0);
    // An installed Proxmox VE is gigabytes; an untouched qcow2 a few hundred KiB.
    if bytes < 256 << 20 {
        return Err(IsoImageError::InstallerNoDisk { bytes, console: console.to_owned() });
    }
    info!(secs = format!("{:.0}", t.elapsed().as_secs_f64()), "installer finished");
    Ok(())
}

/// The bytes a qcow2 file occupies on the host.
fn qcow2_allocated(disk: &Path) -> Option<u64> {
    let meta = std::fs::metadata(disk).ok()?;
    Some(std::os::unix::fs::MetadataExt::blocks(&meta) * 512)
}

fn wait_off(install: &InstallRun, domain: &str, limit: Duration, cancel: &AtomicBool) -> Result<(), IsoImageError> {
    let t = Instant::now();
    loop {
        interrupted(cancel)?;
        if install.hv.state(&install.run, domain)? == RunState::Off {
            return Ok(());
        }
        if t.elapsed() > limit {
            let _ = install.hv.destroy(&install.run, domain);
            return Err(IsoImageError::ConversionOutput { message: "no power-off".into() });
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn random_hex(n: usize) -> Result<String, IsoImageError> {
    let mut b = vec![0u8; n];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(|e| IsoImageError::io("/dev/urandom", e))?,
        &mut b,
    )
    .map_err(|e| IsoImageError::io("/dev/urandom", e))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> BuildFiles {
        let d = Path::new("/var/lib/hadrill/images/pve-iso/.build-0123456789abcdef-42");
        BuildFiles {
            iso: "/var/lib/hadrill/images/pve-iso-prepared/fedcba9876543210/prepared.iso".into(),
            installer_kernel: d.join("installer-vmlinuz"),
            installer_initrd: d.join("installer-initrd.img"),
            answer_disk: d.join("answer.img"),
            disk: d.join("base.qcow2"),
        }
    }

    fn nic() -> NicSpec {
        NicSpec { net: NetRole::Cluster, mac: "52:54:00:1a:07:0a".into(), ip: "10.213.7.10".parse().unwrap() }
    }

    fn stable(xml: String) -> String {
        xml.replace(&holder_token(), "PID:START")
    }

    #[test]
    fn installer_domain_xml() {
        let run = RunId::parse("0badcafe").unwrap();
        let console = Path::new("/var/lib/hadrill/images/pve-iso/logs/0badcafe/pve-install.log");
        let xml = stable(installer_domain(&run, Accel::Kvm, &files(), &nic(), console).to_xml());
        insta::assert_snapshot!(xml);
        assert!(xml.contains("<on_reboot>destroy</on_reboot>"), "the installer's reboot ends the domain");
        assert!(xml.contains("proxmox-start-auto-installer console=ttyS0,115200"));
        assert_eq!(xml.matches("bus='virtio'").count(), 1, "vda is the only virtio disk, the answer's disk-list");
        assert!(xml.contains("<target dev='hdb' bus='ide'/>") && xml.contains("device='cdrom'"));
        assert!(xml.contains("<source network='hd-0badcafe-cluster'/>"));
        let owner = crate::lab::NAMESPACE;
        assert!(xml.contains(owner), "marked like a lab's domain, so gc recognises it");
    }

    #[test]
    fn installed_domain_xml_boots_the_disk_with_the_same_nic() {
        let run = RunId::parse("0badcafe").unwrap();
        let console = Path::new("/var/lib/hadrill/images/pve-iso/logs/0badcafe/pve-installed.log");
        let xml = stable(installed_domain(&run, Accel::Tcg, &files().disk, &nic(), console).to_xml());
        insta::assert_snapshot!(xml);
        assert!(xml.contains("<boot dev='hd'/>") && !xml.contains("<kernel>"));
        assert!(!xml.contains("cdrom") && !xml.contains("answer.img"));
        // The installed system names its NIC after the PCI slot: the same in both domains.
        let installer = installer_domain(&run, Accel::Tcg, &files(), &nic(), console).to_xml();
        let slot = |x: &str| {
            let i = x.find("<interface").unwrap();
            x[i..].lines().find(|l| l.contains("<address")).unwrap().to_owned()
        };
        assert_eq!(slot(&xml), slot(&installer));
    }

    #[test]
    fn installer_failures_are_found_on_the_console() {
        let ok = "Starting automatic installation\nINFO: progress  97.0 % - configuring system\nInstallation done, rebooting...\n";
        assert_eq!(installer_failure(ok), None);
        let failed = "Starting automatic installation\nERROR: Installation failed: disk vda not found\n";
        assert_eq!(installer_failure(failed).as_deref(), Some("ERROR: Installation failed: disk vda not found"));
        let shell = "\nInstallation aborted - unable to continue (type exit or CTRL-D to reboot)\n";
        assert!(installer_failure(shell).is_some());
    }
}
