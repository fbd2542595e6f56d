//! The image builder's extra APT repositories for real, gated by `HADRILL_E2E=1`: the Proxmox
//! VE Debian route adds download.proxmox.com (a mirror of it) this way, and this host cannot
//! reach it. So the trial makes a repository of its own the way such a repository is made
//! (a package, a `Packages` index, a `Release` file signed with a fresh key), and runs the
//! builder's real mmdebstrap call with it beside Debian's mirror.
//!
//! It checks what the Proxmox route relies on: apt verifies the repository with the given key
//! while building (a key that did not sign it makes the build fail), the package from it is
//! installed, the key lands where the recipe's install guide puts it, the image's sources name
//! that path (not the host's), `essential.sh` ran before the packages went in and the borrowed
//! `files/` were copied in.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use hadrill::image::{ExtraRepository, Recipe, mmdebstrap_spec, run_command};
use sha2::{Digest, Sha256};

/// A Debian release the trial builds on, and where its key goes in the image: Proxmox VE 8's
/// guide keeps the key under `/etc/apt`, 9's under `/usr/share/keyrings`.
#[derive(Clone, Copy)]
pub struct Target {
    pub suite: &'static str,
    pub key_target: &'static str,
}

pub const BOOKWORM: Target = Target { suite: "bookworm", key_target: "/etc/apt/keyrings/hadrill-probe.gpg" };
pub const TRIXIE: Target = Target { suite: "trixie", key_target: "/usr/share/keyrings/hadrill-probe.gpg" };

fn sh(program: &str, args: &[&str], dir: &Path) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{program} {}: {}\n{}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A signing key in its own GnuPG home; returns the exported public key file.
fn make_key(home: &Path, name: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(home).map_err(|e| e.to_string())?;
    let h = home.to_string_lossy();
    let g = |args: &[&str]| {
        let mut all = vec!["--batch", "--homedir", &h, "--pinentry-mode", "loopback", "--passphrase", ""];
        all.extend_from_slice(args);
        sh("gpg", &all, home)
    };
    g(&["--quick-gen-key", &format!("{name} <{name}@hadrill.invalid>"), "ed25519", "sign", "never"])?;
    let public = home.join("public.gpg");
    g(&["--output", &public.to_string_lossy(), "--export", name])?;
    Ok(public)
}

/// A flat-enough repository at `root`: `dists/<suite>/main/binary-amd64/Packages` and an
/// `InRelease` signed by the key in `home`.
fn make_repository(root: &Path, home: &Path, work: &Path, suite: &str) -> Result<(), String> {
    let pkg = work.join("pkg");
    write(
        &pkg.join("DEBIAN/control"),
        "Package: hadrill-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: hadrill <t@hadrill.invalid>\n\
         Description: marker package of hadrill's extra-repository trial\n",
    )?;
    write(&pkg.join("usr/share/hadrill-probe/marker"), "from the extra repository\n")?;
    let pool = root.join("pool/main");
    std::fs::create_dir_all(&pool).map_err(|e| e.to_string())?;
    sh(
        "dpkg-deb",
        &["--root-owner-group", "--build", &pkg.to_string_lossy(), "pool/main/hadrill-probe_1.0_all.deb"],
        root,
    )?;
    let packages = sh("dpkg-scanpackages", &["--multiversion", "pool"], root)?;
    let rel = "main/binary-amd64/Packages";
    write(&root.join("dists").join(suite).join(rel), &packages)?;
    // The Release fields apt needs to trust and find the index (what apt-ftparchive writes).
    let digest = hex(&Sha256::digest(packages.as_bytes()));
    let release = format!(
        "Origin: hadrill\nLabel: hadrill\nSuite: {suite}\nCodename: {suite}\nDate: {}\n\
         Architectures: amd64\nComponents: main\nSHA256:\n {digest} {} {rel}\n",
        sh("date", &["-u", "-R"], root)?.trim(),
        packages.len()
    );
    let dists = root.join("dists").join(suite);
    write(&dists.join("Release"), &release)?;
    let h = home.to_string_lossy();
    sh("gpg", &["--batch", "--homedir", &h, "--yes", "--clearsign", "--output", "InRelease", "Release"], &dists)?;
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A recipe that borrows another's files and asks for the `probe` repository.
fn make_recipes(dir: &Path, suite: &str) -> Result<Recipe, String> {
    write(
        &dir.join("base/recipe.yaml"),
        &format!("name: base\nsuite: {suite}\nmirror: http://deb.debian.org/debian\nsize_mib: 512\npackages: []\n"),
    )?;
    write(&dir.join("base/files/etc/hadrill-borrowed"), "copied from base\n")?;
    write(
        &dir.join("probe/recipe.yaml"),
        &format!(
            "name: probe\nsuite: {suite}\nmirror: http://deb.debian.org/debian\nvariant: essential\nsize_mib: 512\n\
             include_files: [base]\nrepositories: [probe]\npackages: [hadrill-probe]\n"
        ),
    )?;
    // Proves the order: the marker package must not be there yet.
    write(
        &dir.join("probe/essential.sh"),
        "set -eu\ntest ! -e /usr/share/hadrill-probe/marker\necho before-packages > /etc/hadrill-essential\n",
    )?;
    Recipe::load(dir, "probe").map_err(|e| e.to_string())
}

fn build(recipe: &Recipe, rootfs: &Path, repo: &ExtraRepository) -> Result<(), String> {
    let spec = mmdebstrap_spec(recipe, rootfs, std::slice::from_ref(repo)).map_err(|e| e.to_string())?;
    let mut tail = Vec::new();
    run_command(&spec, &AtomicBool::new(false), |l| {
        tail.push(l.to_owned());
        if tail.len() > 40 {
            tail.remove(0);
        }
    })
    .map_err(|e| format!("{e}\n{}", tail.join("\n")))
}

pub fn extra_repository_build(target: Target) -> Result<(), String> {
    let Target { suite, key_target } = target;
    let t = Instant::now();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let work = tmp.path();
    let home = work.join("gnupg");
    let key = make_key(&home, "hadrill-probe")?;
    let repo_root = work.join("repo");
    make_repository(&repo_root, &home, work, suite)?;
    let recipe = make_recipes(&work.join("images"), suite)?;
    let repo = ExtraRepository {
        name: "probe".into(),
        // copy://, not file://: apt then copies the packages into the chroot's cache, where
        // dpkg (run inside the chroot) can read them (mmdebstrap's own advice).
        uri: format!("copy://{}", repo_root.display()),
        suite: suite.into(),
        components: vec!["main".into()],
        keyring: key.clone(),
        keyring_target: key_target.into(),
        proxy: None,
    };
    recipe.check_repositories(std::slice::from_ref(&repo)).map_err(|e| e.to_string())?;

    // A key that did not sign the repository: apt must refuse it, so the build fails.
    let stranger = make_key(&work.join("gnupg-other"), "stranger")?;
    let wrong = ExtraRepository { keyring: stranger, ..repo.clone() };
    match build(&recipe, &work.join("root-wrong"), &wrong) {
        Ok(()) => return Err("a build with a key that did not sign the repository succeeded".into()),
        Err(e) if e.contains("NO_PUBKEY") => {}
        Err(e) => return Err(format!("the build with the wrong key failed, but not on the signature:\n{e}")),
    }

    let rootfs = work.join("root");
    build(&recipe, &rootfs, &repo)?;
    let read = |p: &str| std::fs::read_to_string(rootfs.join(p)).map_err(|e| format!("{p}: {e}"));
    if read("usr/share/hadrill-probe/marker")? != "from the extra repository\n" {
        return Err("the package from the extra repository is not installed".into());
    }
    if read("etc/hadrill-essential")? != "before-packages\n" {
        return Err("essential.sh did not run before the packages".into());
    }
    if read("etc/hadrill-borrowed")? != "copied from base\n" {
        return Err("the borrowed files/ were not copied in".into());
    }
    let kept = std::fs::read(rootfs.join(key_target.trim_start_matches('/'))).map_err(|e| e.to_string())?;
    if kept != std::fs::read(&key).map_err(|e| e.to_string())? {
        return Err(format!("{key_target} in the image is not the repository's key"));
    }
    let sources = read("etc/apt/sources.list")?;
    let line = repo.source_line(key_target);
    if !sources.lines().any(|l| l.trim() == line) {
        return Err(format!("the image's sources do not have `{line}`:\n{sources}"));
    }
    if sources.contains(&*key.to_string_lossy()) {
        return Err(format!("the image's sources still name the host's key:\n{sources}"));
    }
    eprintln!("image-repo: signed extra repository built into a {suite} image in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}
