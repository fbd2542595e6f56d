//! What `/proc` tells about the host's mounts and processes, for finding what a killed run
//! left running or mounted under a directory of hadrill's. Read-only, except [`unmount`]
//! and [`kill`], which the caller uses only on paths and processes it has found this way.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Mount points at or below `dir`, deepest first (the order to unmount them in), from this
/// process's mount table.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(table) = std::fs::read_to_string("/proc/self/mountinfo") else { return Vec::new() };
    let mut out: Vec<PathBuf> =
        table.lines().filter_map(|l| l.split(' ').nth(4)).map(unescape).filter(|p| p.starts_with(dir)).collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out.dedup();
    out
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && let Some(v) = s.get(i + 1..i + 4).and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(out))
}

/// Lazily unmounts `mount` (`umount --lazy`): a killed mmdebstrap's /proc, /sys or /dev under
/// a root file system that is about to be removed.
pub fn unmount(mount: &Path) -> bool {
    Command::new("umount")
        .arg("--lazy")
        .arg(mount)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Removes the tree at `dir` without ever leaving its file system: a directory on another
/// device (a mount point: a killed mmdebstrap's /proc, /sys, /dev/pts or the host's /dev/shm)
/// stops the removal with an error instead of being emptied. `remove_dir_all` would descend
/// into a bind mount and delete the host's files.
pub fn remove_tree(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let dev = match std::fs::symlink_metadata(dir) {
        Ok(m) => m.dev(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    fn walk(d: &Path, dev: u64) -> std::io::Result<()> {
        for e in std::fs::read_dir(d)? {
            let e = e?;
            let m = std::fs::symlink_metadata(e.path())?;
            if m.is_dir() {
                if m.dev() != dev {
                    return Err(std::io::Error::other(format!("{} is a mount point", e.path().display())));
                }
                walk(&e.path(), dev)?;
            } else {
                std::fs::remove_file(e.path())?;
            }
        }
        std::fs::remove_dir(d)
    }
    walk(dir, dev)
}

/// A process that works in a directory of hadrill's.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HostProcess {
    pub pid: u32,
    /// Its command line, arguments joined by spaces.
    pub command: String,
}

/// Processes whose command line names a path under one of `dirs`, or whose root directory is
/// under one (a chroot'ed dpkg does not name it). Not by working directory alone: that is as
/// likely a person's shell. QEMU processes are libvirt's: their domain stands for them.
pub fn processes_under(dirs: &[PathBuf]) -> Vec<HostProcess> {
    if dirs.is_empty() {
        return Vec::new();
    }
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else { return out };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if pid == me {
            continue;
        }
        // A zombie's command line is empty: nothing runs any more.
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        if raw.is_empty() {
            continue;
        }
        let args: Vec<String> =
            raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.first().is_some_and(|a| a.rsplit('/').next().is_some_and(|n| n.starts_with("qemu-system"))) {
            continue;
        }
        let under = |p: &Path| dirs.iter().any(|d| p.starts_with(d));
        let named = args.iter().any(|a| {
            // `--opt=/path` and `a,b,/path` forms as well as plain paths.
            a.split(['=', ',', ' ']).any(|w| w.starts_with('/') && under(Path::new(w)))
        });
        let placed = std::fs::read_link(format!("/proc/{pid}/root")).is_ok_and(|p| under(&p));
        if named || placed {
            out.push(HostProcess { pid, command: args.join(" ") });
        }
    }
    out.sort_by_key(|p| p.pid);
    out
}

/// Sends SIGKILL to `pid`.
pub fn kill(pid: u32) -> bool {
    Command::new("kill")
        .arg("-KILL")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_read_back() {
        assert_eq!(unescape("/a\\040b/c"), PathBuf::from("/a b/c"));
        assert_eq!(unescape("/plain"), PathBuf::from("/plain"));
        assert_eq!(unescape("/end\\"), PathBuf::from("/end\\"));
        // The root is always mounted; nothing is mounted under a fresh directory.
        assert!(mounts_under(Path::new("/")).contains(&PathBuf::from("/")));
        let d = std::env::temp_dir().join(format!("hadrill-mounts-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        assert!(mounts_under(&d).is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_tree_is_removed_but_never_across_a_mount() {
        let d = std::env::temp_dir().join(format!("hadrill-tree-{}", std::process::id()));
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::write(d.join("a/b/f"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc", d.join("a/link")).unwrap();
        remove_tree(&d).unwrap();
        assert!(!d.exists());
        assert!(Path::new("/etc").is_dir(), "a symlink is removed, not followed");
        remove_tree(&d).unwrap();
    }

    #[test]
    fn a_process_naming_a_directory_is_found() {
        let d = std::env::temp_dir().join(format!("hadrill-procs-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let mut shell = Command::new("sleep").arg("30").current_dir(&d).spawn().unwrap();
        // `; :` keeps the shell from exec'ing sleep: the shell's command line names the path.
        let mut named = Command::new("sh")
            .arg("-c")
            .arg("sleep 30; :")
            .arg(format!("--in={}", d.join("x").display()))
            .spawn()
            .unwrap();
        let found: Vec<u32> = processes_under(std::slice::from_ref(&d)).iter().map(|p| p.pid).collect();
        assert!(found.contains(&named.id()), "by command line");
        assert!(!found.contains(&shell.id()), "not by working directory alone");
        assert!(kill(named.id()));
        named.wait().unwrap();
        shell.kill().unwrap();
        shell.wait().unwrap();
        assert!(processes_under(std::slice::from_ref(&d)).is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
