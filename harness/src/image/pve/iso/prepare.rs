//! The ISO route's inputs, made once and cached: the ISO prepared by
//! `proxmox-auto-install-assistant` (keyed by the ISO's digest and the first-boot script),
//! the answer disk of one installation, and the image's cache key.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tracing::info;

use super::IsoImageError;
use super::answer::{ANSWER_LABEL, InstallAnswer, answer_file, iso_first_boot, prepare_iso_argv};
use super::convert::conversion_script;
use crate::image::pve::{Prepare, Release};
use crate::image::{CommandSpec, ImageCache, run_command};

/// What the ISO route starts from (the access settings, checked by `check_access`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsoSource {
    pub release: Release,
    pub iso: PathBuf,
    pub prepare: Prepare,
}

/// The cache's name for prepared ISOs: `<state>/images/pve-iso-prepared/<key>/prepared.iso`.
pub const PREPARED: &str = "pve-iso-prepared";

/// The recipes whose `files/` the image borrows, in order (later ones win): the lab's identity
/// mechanism, the same that `images/pve-debian` copies in.
pub const BORROWED: [&str; 2] = ["debian-ha", "pve-debian"];

/// Bumped whenever the way the image is made changes beyond the texts the key covers.
const BUILDER_VERSION: &str = "hadrill-pve-iso/1";

/// SHA-256 of a file, in hex.
pub fn file_sha256(path: &Path) -> Result<String, IsoImageError> {
    let mut f = std::fs::File::open(path).map_err(|e| IsoImageError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf).map_err(|e| IsoImageError::io(path, e))? {
            0 => break,
            n => h.update(&buf[..n]),
        }
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The image's cache key: the ISO's digest, the answer's form, the first-boot and conversion
/// scripts, and every borrowed file (path, executable bit, content); 16 hex digits.
pub fn image_key(iso_sha256: &str, release: Release, recipes_dir: &Path) -> Result<String, IsoImageError> {
    let mut h = Sha256::new();
    let mut part = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    part(BUILDER_VERSION.as_bytes());
    part(iso_sha256.as_bytes());
    part(answer_file(&InstallAnswer::template(release)).as_bytes());
    part(iso_first_boot(release).as_bytes());
    part(conversion_script().as_bytes());
    for (path, rel) in borrowed_files(recipes_dir)? {
        let meta = std::fs::metadata(&path).map_err(|e| IsoImageError::io(&path, e))?;
        let exec = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0;
        let content = std::fs::read(&path).map_err(|e| IsoImageError::io(&path, e))?;
        part(rel.as_bytes());
        part(&[exec as u8]);
        part(&content);
    }
    Ok(hex(&h.finalize())[..16].to_owned())
}

/// Every borrowed file: its path on this host and its path in the image (`/etc/...`), in the
/// order they are copied in (a later recipe's file replaces an earlier one's).
pub fn borrowed_files(recipes_dir: &Path) -> Result<Vec<(PathBuf, String)>, IsoImageError> {
    let mut out = Vec::new();
    for recipe in BORROWED {
        let root = recipes_dir.join(recipe).join("files");
        let mut files = Vec::new();
        walk(&root, &mut files)?;
        files.sort();
        for f in files {
            let rel = f.strip_prefix(&root).unwrap_or(&f).to_string_lossy().into_owned();
            out.push((f, format!("/{rel}")));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), IsoImageError> {
    for e in std::fs::read_dir(dir).map_err(|e| IsoImageError::io(dir, e))? {
        let e = e.map_err(|e| IsoImageError::io(dir, e))?;
        let p = e.path();
        if e.file_type().map_err(|e| IsoImageError::io(&p, e))?.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// Removes a directory however the step ends, unless kept.
struct Scratch(Option<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// The ISO the installer boots: the given one when it was prepared already, else the
/// assistant's output for this ISO (`iso_sha256`) and hadrill's first-boot script, made once
/// and kept in the image cache. Nothing is left in the cache when the assistant fails.
pub fn prepared_iso(
    src: &IsoSource,
    iso_sha256: &str,
    cache: &ImageCache,
    timeout: Duration,
    cancel: &AtomicBool,
) -> Result<PathBuf, IsoImageError> {
    let assistant = match &src.prepare {
        Prepare::Done => return Ok(src.iso.clone()),
        Prepare::Assistant(a) => a,
    };
    let first_boot = iso_first_boot(src.release);
    let key = {
        let mut h = Sha256::new();
        h.update(iso_sha256.as_bytes());
        h.update([0]);
        h.update(first_boot.as_bytes());
        hex(&h.finalize())[..16].to_owned()
    };
    let dir = cache.dir(PREPARED, &key);
    let output = dir.join("prepared.iso");
    if output.is_file() {
        info!(iso = %output.display(), "prepared ISO is up to date");
        return Ok(output);
    }
    let scratch_path = cache.root.join(PREPARED).join(format!(".prepare-{key}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch_path);
    std::fs::create_dir_all(scratch_path.join("stage")).map_err(|e| IsoImageError::io(&scratch_path, e))?;
    let mut scratch = Scratch(Some(scratch_path.clone()));
    let script = scratch_path.join("hadrill-first-boot.sh");
    std::fs::write(&script, &first_boot).map_err(|e| IsoImageError::io(&script, e))?;
    set_mode(&script, 0o755);
    let out = scratch_path.join("prepared.iso");
    let argv = prepare_iso_argv(assistant, &src.iso, &script, &out, &scratch_path.join("stage"));
    let mut spec = CommandSpec::new(&argv[0], "proxmox-auto-install-assistant", timeout);
    for a in &argv[1..] {
        spec = spec.arg(a);
    }
    info!("{}", spec.display());
    run_command(&spec, cancel, |line| tracing::debug!(target: "hadrill::pve_iso::assistant", "{line}")).map_err(
        |e| match e {
            crate::image::ImageError::Interrupted => IsoImageError::Interrupted,
            e => IsoImageError::Assistant { iso: src.iso.clone(), cause: e },
        },
    )?;
    if !out.is_file() {
        return Err(IsoImageError::NoPreparedIso { output: out });
    }
    let _ = std::fs::remove_dir_all(scratch_path.join("stage"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&scratch_path, &dir).map_err(|e| IsoImageError::io(&dir, e))?;
    scratch.0 = None;
    // Read by the qemu user under qemu:///system.
    set_mode(&dir, 0o755);
    set_mode(&output, 0o644);
    Ok(output)
}

pub(super) use crate::image::set_mode;

/// The answer disk: a FAT file system labelled `PROXMOX-AIS` on the whole (unpartitioned)
/// disk, holding `answer.toml`. The installer finds it under /dev/disk/by-label (the label as
/// written, then upper, then lower case), mounts it read-only and reads `answer.toml`; FAT
/// labels are upper case and at most 11 characters, which is why the label is what it is.
pub fn answer_disk(path: &Path, answer: &str, cancel: &AtomicBool) -> Result<(), IsoImageError> {
    let staged = path.with_extension("toml");
    std::fs::write(&staged, answer).map_err(|e| IsoImageError::io(&staged, e))?;
    let _ = std::fs::remove_file(path);
    let mkfs = CommandSpec::new("mkfs.vfat", "dosfstools", Duration::from_secs(60))
        .arg("-C")
        .arg("-n")
        .arg(ANSWER_LABEL)
        .arg(path.to_string_lossy())
        // KiB: a floppy's size, FAT12, plenty for one answer file.
        .arg("1440");
    let copy = CommandSpec::new("mcopy", "mtools", Duration::from_secs(60))
        .arg("-i")
        .arg(path.to_string_lossy())
        .arg(staged.to_string_lossy())
        .arg("::answer.toml");
    let result = run_command(&mkfs, cancel, |_| {}).and_then(|_| run_command(&copy, cancel, |_| {}));
    let _ = std::fs::remove_file(&staged);
    result.map_err(|e| match e {
        crate::image::ImageError::Interrupted => IsoImageError::Interrupted,
        e => {
            let _ = std::fs::remove_file(path);
            e.into()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recipes directory with the two borrowed `files/` trees.
    fn recipes(dir: &Path) {
        for (recipe, file, content) in
            [("debian-ha", "usr/local/sbin/lab-net", "v1\n"), ("pve-debian", "usr/local/sbin/lab-pve", "p1\n")]
        {
            let p = dir.join(recipe).join("files").join(file);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, content).unwrap();
        }
    }

    #[test]
    fn the_key_follows_the_iso_and_the_borrowed_files() {
        let d = tempfile::tempdir().unwrap();
        recipes(d.path());
        let iso = d.path().join("pve.iso");
        std::fs::write(&iso, b"an ISO").unwrap();
        let sha = file_sha256(&iso).unwrap();
        assert_eq!(sha, hex(&Sha256::digest(b"an ISO")));
        let k1 = image_key(&sha, Release::Pve8, d.path()).unwrap();
        assert_eq!(k1.len(), 16);
        assert_eq!(k1, image_key(&sha, Release::Pve8, d.path()).unwrap(), "stable");

        std::fs::write(&iso, b"another ISO").unwrap();
        let k2 = image_key(&file_sha256(&iso).unwrap(), Release::Pve8, d.path()).unwrap();
        assert_ne!(k1, k2, "the ISO's bytes changed");

        std::fs::write(d.path().join("debian-ha/files/usr/local/sbin/lab-net"), "v2\n").unwrap();
        let k3 = image_key(&file_sha256(&iso).unwrap(), Release::Pve8, d.path()).unwrap();
        assert_ne!(k2, k3, "a borrowed file changed");
        set_mode(&d.path().join("pve-debian/files/usr/local/sbin/lab-pve"), 0o755);
        assert_ne!(k3, image_key(&file_sha256(&iso).unwrap(), Release::Pve8, d.path()).unwrap(), "its mode changed");
        assert_ne!(k3, image_key(&file_sha256(&iso).unwrap(), Release::Pve9, d.path()).unwrap(), "another release");
    }

    /// A stand-in for `proxmox-auto-install-assistant`: records its argv (one line per call)
    /// and writes `--output`; or fails with a message on stderr.
    fn stand_in(dir: &Path, fail: bool) -> PathBuf {
        let p = dir.join(if fail { "failing-assistant" } else { "assistant" });
        let log = dir.join("argv.log");
        let body = if fail {
            "echo 'Could not find the xorriso binary. Please install it.' >&2\nexit 1\n".to_owned()
        } else {
            format!(
                "echo \"$*\" >> '{}'\nwhile [ $# -gt 0 ]; do\n  case \"$1\" in --output) out=$2; shift ;; esac\n  shift\ndone\nprintf prepared > \"$out\"\n",
                log.display()
            )
        };
        std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        set_mode(&p, 0o755);
        p
    }

    #[test]
    fn the_assistant_prepares_once_and_its_output_is_cached() {
        let d = tempfile::tempdir().unwrap();
        let iso = d.path().join("proxmox-ve_8.4-1.iso");
        std::fs::write(&iso, b"an ISO").unwrap();
        let sha = file_sha256(&iso).unwrap();
        let cache = ImageCache::new(&d.path().join("state"));
        let cancel = AtomicBool::new(false);
        let src = IsoSource {
            release: Release::Pve8,
            iso: iso.clone(),
            prepare: Prepare::Assistant(stand_in(d.path(), false)),
        };
        let out = prepared_iso(&src, &sha, &cache, Duration::from_secs(30), &cancel).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "prepared");
        assert!(out.starts_with(cache.root.join(PREPARED)), "kept in the image cache: {}", out.display());
        let argv = std::fs::read_to_string(d.path().join("argv.log")).unwrap();
        let staging = out.parent().unwrap().parent().unwrap();
        let argv = argv.replace(&staging.display().to_string(), "<cache>");
        let key = out.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
        let argv = argv.replace(&format!(".prepare-{key}-{}", std::process::id()), "<scratch>");
        assert_eq!(
            argv.trim(),
            format!(
                "prepare-iso {} --fetch-from partition --on-first-boot <cache>/<scratch>/hadrill-first-boot.sh --output <cache>/<scratch>/prepared.iso --tmp <cache>/<scratch>/stage",
                iso.display()
            )
        );
        // Again: the cached output, the assistant not run.
        assert_eq!(prepared_iso(&src, &sha, &cache, Duration::from_secs(30), &cancel).unwrap(), out);
        assert_eq!(std::fs::read_to_string(d.path().join("argv.log")).unwrap().lines().count(), 1);
        // Only the prepared ISO is left, no scratch directory.
        let left: Vec<_> =
            std::fs::read_dir(cache.root.join(PREPARED)).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from(&key)]);
        // Another ISO is prepared again.
        std::fs::write(&iso, b"another ISO").unwrap();
        let other = prepared_iso(&src, &file_sha256(&iso).unwrap(), &cache, Duration::from_secs(30), &cancel).unwrap();
        assert_ne!(other, out);
        // Prepared by the user: used as it is, nothing run.
        let done = IsoSource { prepare: Prepare::Done, ..src };
        assert_eq!(prepared_iso(&done, &sha, &cache, Duration::from_secs(30), &cancel).unwrap(), iso);
    }

    #[test]
    fn a_failing_assistant_says_why_and_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let iso = d.path().join("pve.iso");
        std::fs::write(&iso, b"an ISO").unwrap();
        let cache = ImageCache::new(&d.path().join("state"));
        let src = IsoSource { release: Release::Pve8, iso, prepare: Prepare::Assistant(stand_in(d.path(), true)) };
        let err = prepared_iso(&src, "00", &cache, Duration::from_secs(30), &AtomicBool::new(false)).unwrap_err();
        assert!(matches!(err, IsoImageError::Assistant { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("Could not find the xorriso binary") && msg.contains("pve.iso"), "{msg}");
        let left: Vec<_> = std::fs::read_dir(cache.root.join(PREPARED)).unwrap().flatten().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn the_shipped_borrowed_files_are_the_lab_identity() {
        let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("images");
        let files: Vec<String> = borrowed_files(&images).unwrap().into_iter().map(|(_, rel)| rel).collect();
        for want in [
            "/usr/local/sbin/lab-net",
            "/usr/local/sbin/lab-pve",
            "/etc/systemd/system/lab-net.service",
            "/etc/systemd/system/lab-net.service.d/pve.conf",
            "/etc/ssh/sshd_config.d/lab-pve.conf",
        ] {
            assert!(files.iter().any(|f| f == want), "{want} missing from {files:?}");
        }
        // debian-ha's first, so that pve-debian's own files win.
        let net = files.iter().position(|f| f == "/usr/local/sbin/lab-net").unwrap();
        let pve = files.iter().position(|f| f == "/usr/local/sbin/lab-pve").unwrap();
        assert!(net < pve);
    }
}
