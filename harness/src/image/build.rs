//! The builder: mmdebstrap into a root directory (packages, extra APT repositories with their
//! keys, `files/`, `essential.sh`, `customize.sh`), the kernel and initrd copied out for
//! direct boot, `mkfs.ext4 -d` and `qemu-img convert` to a qcow2 base. Works in a scratch
//! directory next to the cache ([`super::scratch`]) and moves the result into place only when
//! everything succeeded; the scratch directory is removed on every path this process lives
//! through, and by `gc` after a `kill -9`. mmdebstrap runs contained (its own PID and mount
//! namespace, killed with hadrill) with its temporary files inside the scratch directory, so a
//! killed build leaves nothing running, mounted or in `/tmp`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tracing::info;
use tracing_indicatif::span_ext::IndicatifSpanExt;

use super::run::{CommandSpec, run_command};
use super::scratch::Scratch;
use super::{BuiltImage, ExtraRepository, ImageCache, ImageError, Recipe};

/// Options of one build.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Rebuild even when an image with the recipe's hash exists.
    pub force: bool,
    /// The extra repositories the recipe asks for (part of the cache key).
    pub repositories: Vec<ExtraRepository>,
}

/// Builds `recipe` into `cache`, or returns the cached image when its hash is already built.
pub fn build(
    recipe: &Recipe,
    cache: &ImageCache,
    opts: &BuildOptions,
    cancel: &AtomicBool,
) -> Result<BuiltImage, ImageError> {
    recipe.check_repositories(&opts.repositories)?;
    let hash = recipe.hash_with(&opts.repositories)?;
    if !opts.force
        && let Some(img) = cache.get(recipe.name(), &hash)
    {
        info!(image = recipe.name(), hash, "image is up to date");
        return Ok(img);
    }
    let started = Instant::now();
    let span = tracing::info_span!("image", name = recipe.name());
    span.pb_set_style(&progress_style());
    span.pb_set_length(4);
    let _enter = span.enter();

    let final_dir = cache.dir(recipe.name(), &hash);
    let scratch_path = cache.root.join(recipe.name()).join(format!(".build-{hash}-{}", std::process::id()));
    let scratch = Scratch::create(&scratch_path)?;
    let rootfs = scratch.0.join("rootfs");
    // mmdebstrap's own temporary files (a GnuPG home, apt configuration) go with the scratch
    // directory instead of into /tmp, where a killed build would leave them.
    let tmp = scratch.0.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(|e| ImageError::io(&tmp, e))?;

    // 1. The root file system.
    let f = &recipe.file;
    span.pb_set_message("mmdebstrap: packages");
    info!(step = "1/4", "mmdebstrap {} {} packages", f.suite, f.packages.len());
    let spec = mmdebstrap_spec(recipe, &rootfs, &opts.repositories)?.contained().env("TMPDIR", tmp.to_string_lossy());
    run_command(&spec, cancel, |line| {
        if let Some(msg) = line.strip_prefix("I: ") {
            span.pb_set_message(&format!("mmdebstrap: {msg}"));
        }
    })?;
    span.pb_inc(1);

    // 2. Kernel and initrd for direct boot.
    span.pb_set_message("kernel and initrd");
    info!(step = "2/4", "kernel and initrd for direct boot");
    let (kernel, initrd, kernel_version) = find_kernel(&rootfs.join("boot"), f.kernel_suffix.as_deref())?;
    copy(&kernel, &scratch.0.join("vmlinuz"))?;
    copy(&initrd, &scratch.0.join("initrd.img"))?;
    span.pb_inc(1);

    // 3. ext4 from the directory, no loop device or nbd needed.
    span.pb_set_message("mkfs.ext4 -d");
    info!(step = "3/4", "mkfs.ext4 -d ({} MiB)", f.size_mib);
    let raw = scratch.0.join("root.raw");
    let mkfs = CommandSpec::new("mkfs.ext4", "e2fsprogs", Duration::from_secs(10 * 60))
        .arg("-q")
        .arg("-F")
        .arg("-L")
        .arg("root")
        .arg("-d")
        .arg(rootfs.to_string_lossy())
        .arg(raw.to_string_lossy())
        .arg(format!("{}M", f.size_mib));
    run_command(&mkfs, cancel, |_| {})?;
    let _ = std::fs::remove_dir_all(&rootfs);
    span.pb_inc(1);

    // 4. qcow2 base.
    span.pb_set_message("qemu-img convert");
    info!(step = "4/4", "qemu-img convert to qcow2");
    let base = scratch.0.join("base.qcow2");
    let convert = CommandSpec::new("qemu-img", "qemu-utils", Duration::from_secs(10 * 60))
        .arg("convert")
        .arg("-O")
        .arg("qcow2")
        .arg(raw.to_string_lossy())
        .arg(base.to_string_lossy());
    run_command(&convert, cancel, |_| {})?;
    let _ = std::fs::remove_file(&raw);
    span.pb_inc(1);

    let base_bytes = std::fs::metadata(&base).map_err(|e| ImageError::io(&base, e))?.len();
    let _ = std::fs::remove_dir_all(&final_dir);
    let mut img = BuiltImage {
        name: recipe.name().to_owned(),
        hash: hash.clone(),
        built: crate::lab::now_secs(),
        build_secs: started.elapsed().as_secs_f64(),
        base_bytes,
        kernel_version,
        root: super::cache::WHOLE_DISK_ROOT.to_owned(),
        dir: scratch.0.clone(),
    };
    cache.save(&img)?;
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_file(scratch.0.join(super::scratch::OWNER));
    std::fs::rename(&scratch.0, &final_dir).map_err(|e| ImageError::io(&final_dir, e))?;
    // Read by the qemu user under qemu:///system.
    set_mode(&final_dir, 0o755);
    img.dir = final_dir;
    info!(image = recipe.name(), hash, secs = format!("{:.0}", img.build_secs), "image built");
    Ok(img)
}

/// The mmdebstrap call that makes the root file system in `rootfs`:
/// - the recipe's packages from its Debian mirror, and each extra repository as one more
///   source line signed by its key on this host (apt as run by mmdebstrap verifies with it);
/// - setup: each key uploaded to where the image keeps it (before `apt update`);
/// - essential (before the recipe's packages): `essential.sh` in the root file system;
/// - customize: the recipes' `files/` (included ones first), the sources pointed at the keys
///   inside the image, then `customize.sh`.
///
/// A proxy of an extra repository is an APT option for that host only, kept in the image.
pub fn mmdebstrap_spec(recipe: &Recipe, rootfs: &Path, repos: &[ExtraRepository]) -> Result<CommandSpec, ImageError> {
    let f = &recipe.file;
    let mut spec = CommandSpec::new("mmdebstrap", "mmdebstrap", Duration::from_secs(45 * 60))
        .arg(format!("--variant={}", f.variant))
        .arg(format!("--include={}", f.packages.join(",")))
        .arg("--aptopt=Acquire::Retries \"3\"");
    for r in repos {
        if let Some(p) = &r.proxy {
            spec = spec.arg(format!("--aptopt=Acquire::http::Proxy::{} \"{p}\"", r.host()));
        }
    }
    spec = spec
        .arg("--dpkgopt=path-exclude=/usr/share/doc/*")
        .arg("--dpkgopt=path-exclude=/usr/share/man/*")
        .arg("--dpkgopt=path-exclude=/usr/share/locale/*");
    for r in repos {
        let target = Path::new(&r.keyring_target);
        if let Some(dir) = target.parent() {
            spec = spec.arg(format!("--setup-hook=mkdir -p \"$1{}\"", dir.display()));
        }
        spec = spec.arg(format!("--setup-hook=upload {} {}", r.keyring.display(), r.keyring_target));
    }
    if recipe.essential_script().is_file() {
        spec = spec
            .arg(format!("--essential-hook=chroot \"$1\" /bin/sh -s < {}", shell_quote(&recipe.essential_script())));
    }
    for dir in recipe.included_files_dirs()? {
        spec = spec.arg(format!("--customize-hook=sync-in {} /", dir.display()));
    }
    if recipe.files_dir().is_dir() {
        spec = spec.arg(format!("--customize-hook=sync-in {} /", recipe.files_dir().display()));
    }
    for r in repos {
        // After the build, apt inside the image verifies with the key inside it.
        spec = spec.arg(format!(
            "--customize-hook=sed -i 's|signed-by={}]|signed-by={}]|' \"$1/etc/apt/sources.list\"",
            r.keyring.display(),
            r.keyring_target
        ));
    }
    if recipe.customize_script().is_file() {
        spec = spec
            .arg(format!("--customize-hook=chroot \"$1\" /bin/sh -s < {}", shell_quote(&recipe.customize_script())));
    }
    spec = spec.arg(&f.suite).arg(rootfs.to_string_lossy()).arg(&f.mirror);
    for r in repos {
        spec = spec.arg(r.source_line(&r.keyring.to_string_lossy()));
    }
    Ok(spec)
}

/// The spinner of long image work (also the ISO route's build).
pub(crate) fn progress_style() -> tracing_indicatif::style::ProgressStyle {
    tracing_indicatif::style::ProgressStyle::with_template(
        "{span_child_prefix}{spinner} {span_name} [{elapsed}] {pos}/{len} {wide_msg}",
    )
    .unwrap_or_else(|_| tracing_indicatif::style::ProgressStyle::default_spinner())
}

pub(crate) fn set_mode(p: &Path, mode: u32) {
    let _ = std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(mode));
}

fn copy(from: &Path, to: &Path) -> Result<(), ImageError> {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| ImageError::io(from, e))?;
    set_mode(to, 0o644);
    Ok(())
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"))
}

/// The newest `vmlinuz-*` under `boot` with its matching `initrd.img-*`; with `suffix`, it
/// must end with it.
fn find_kernel(boot: &Path, suffix: Option<&str>) -> Result<(PathBuf, PathBuf, String), ImageError> {
    let rd = std::fs::read_dir(boot).map_err(|e| ImageError::io(boot, e))?;
    let mut versions: Vec<String> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_prefix("vmlinuz-")).map(str::to_owned))
        .collect();
    versions.sort();
    let v = versions.pop().ok_or(ImageError::NoKernel)?;
    if let Some(want) = suffix
        && !v.ends_with(want)
    {
        return Err(ImageError::WrongKernel { want: want.to_owned(), found: v });
    }
    let initrd = boot.join(format!("initrd.img-{v}"));
    if !initrd.is_file() {
        return Err(ImageError::NoKernel);
    }
    Ok((boot.join(format!("vmlinuz-{v}")), initrd, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_kernel_with_initrd_is_picked() {
        let d = std::env::temp_dir().join(format!("hadrill-boot-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        assert!(matches!(find_kernel(&d, None), Err(ImageError::NoKernel)));
        for f in
            ["vmlinuz-6.1.0-9-amd64", "initrd.img-6.1.0-9-amd64", "vmlinuz-6.1.0-10-amd64", "initrd.img-6.1.0-10-amd64"]
        {
            std::fs::write(d.join(f), b"").unwrap();
        }
        let (_, initrd, v) = find_kernel(&d, None).unwrap();
        // Lexical order is good enough for one installed kernel; with two it picks a real pair.
        assert!(initrd.ends_with(format!("initrd.img-{v}")));
        match find_kernel(&d, Some("-pve")) {
            Err(ImageError::WrongKernel { found, .. }) => assert_eq!(found, v),
            other => panic!("a Debian kernel passed as -pve: {other:?}"),
        }
        for f in ["vmlinuz-6.8.12-4-pve", "initrd.img-6.8.12-4-pve"] {
            std::fs::write(d.join(f), b"").unwrap();
        }
        assert_eq!(find_kernel(&d, Some("-pve")).unwrap().2, "6.8.12-4-pve");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
