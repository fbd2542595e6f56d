//! Running a host program with a time limit, at lower priority, with its output tail kept for
//! the error and each stderr line offered to a progress callback.
//!
//! The program never outlives hadrill: it runs under `setpriv --pdeathsig KILL`, so a
//! `kill -9` of hadrill takes it along (it is in a process group of its own, which no signal to
//! hadrill's group reaches). A [`CommandSpec::contained`] program (mmdebstrap: apt, dpkg and
//! the maintainer scripts under it, and the /proc, /sys and /dev mounts it makes in the root
//! file system) also gets, as root, its own PID and mount namespace: when it dies, the kernel
//! kills everything under it and drops its mounts, so nothing is left running or mounted in a
//! directory `gc` then removes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ImageError;

/// A host command to run.
#[derive(Clone, Debug)]
pub struct CommandSpec {
    pub program: String,
    pub args: Vec<String>,
    /// The Debian package that provides `program`, for the error message.
    pub package: &'static str,
    pub timeout: Duration,
    /// Run at `nice -n 10`, so VMs and other builds keep their share.
    pub nice: bool,
    /// A PID and mount namespace of its own (as root), for a program that mounts things or
    /// starts a tree of processes.
    pub contained: bool,
    /// Extra environment, e.g. `TMPDIR` inside a build's scratch directory.
    pub env: Vec<(String, String)>,
}

impl CommandSpec {
    pub fn new(program: &str, package: &'static str, timeout: Duration) -> Self {
        CommandSpec {
            program: program.to_owned(),
            args: Vec::new(),
            package,
            timeout,
            nice: true,
            contained: false,
            env: Vec::new(),
        }
    }

    /// Runs the program in a PID and mount namespace of its own (see the module's contract).
    pub fn contained(mut self) -> Self {
        self.contained = true;
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str()).chain(self.args.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
    }
}

fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).exists();
    }
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Runs `spec`; `on_line` sees every line of stdout and stderr as it comes. Kills the process
/// (and its process group) when the time limit passes or `cancel` is set.
pub fn run_command(
    spec: &CommandSpec,
    cancel: &AtomicBool,
    mut on_line: impl FnMut(&str) + Send,
) -> Result<(), ImageError> {
    if !on_path(&spec.program) {
        return Err(ImageError::MissingTool { program: spec.program.clone(), package: spec.package.to_owned() });
    }
    let argv = wrapped_argv(spec, on_path("setpriv"), on_path("unshare") && is_root());
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).envs(spec.env.iter().map(|(k, v)| (k, v)));
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| ImageError::io(&spec.program, e))?;
    let pgid = child.id() as i32;
    let tail: Arc<Mutex<Vec<String>>> = Arc::default();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let readers: Vec<_> = [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|r| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
    })
    .collect();
    drop(tx);
    let started = Instant::now();
    let status = loop {
        while let Ok(line) = rx.try_recv() {
            on_line(&line);
            let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
            t.push(line);
            if t.len() > 20 {
                t.remove(0);
            }
        }
        if let Some(status) = child.try_wait().map_err(|e| ImageError::io(&spec.program, e))? {
            break status;
        }
        let timed_out = started.elapsed() > spec.timeout;
        if timed_out || cancel.load(Ordering::Relaxed) {
            kill_group(pgid);
            let _ = child.wait();
            for r in readers {
                let _ = r.join();
            }
            return Err(if timed_out {
                ImageError::Timeout { command: spec.display(), secs: spec.timeout.as_secs() }
            } else {
                ImageError::Interrupted
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for r in readers {
        let _ = r.join();
    }
    for line in rx.try_iter() {
        on_line(&line);
        tail.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    }
    if status.success() {
        Ok(())
    } else {
        let t = tail.lock().unwrap_or_else(|p| p.into_inner());
        let from = t.len().saturating_sub(15);
        Err(ImageError::Command { command: spec.display(), status: status.to_string(), tail: t[from..].join("\n") })
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

/// The command line that runs `spec`: the program behind the wrappers that are available
/// (`setpriv` and `unshare` are util-linux's, on every Debian; without them the program
/// still runs, only without the guarantees).
fn wrapped_argv(spec: &CommandSpec, setpriv: bool, unshare: bool) -> Vec<String> {
    let mut argv: Vec<String> = Vec::new();
    if setpriv {
        // The parent-death signal is the spawning thread's, and run_command blocks that
        // thread until the child is gone, so it fires only when hadrill itself dies.
        argv.extend(["setpriv", "--pdeathsig", "KILL", "--"].map(String::from));
    }
    if spec.contained && unshare {
        // PID 1 of the new namespace is the program: when unshare dies (pdeathsig) the child
        // gets SIGKILL (--kill-child), and the kernel kills the whole namespace with it. The
        // mount namespace is private, so its mounts never show on the host.
        argv.extend(
            ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child=KILL", "--"]
                .map(String::from),
        );
    }
    if spec.nice {
        argv.extend(["nice", "-n", "10"].map(String::from));
    }
    argv.push(spec.program.clone());
    argv.extend(spec.args.iter().cloned());
    argv
}

fn kill_group(pgid: i32) {
    // No libc dependency for one call: kill(1) takes a negative pid for a process group.
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines_and_failures_are_reported() {
        let cancel = AtomicBool::new(false);
        let mut lines = Vec::new();
        let ok = CommandSpec::new("sh", "dash", Duration::from_secs(10)).arg("-c").arg("echo one; echo two >&2");
        run_command(&ok, &cancel, |l| lines.push(l.to_owned())).unwrap();
        lines.sort();
        assert_eq!(lines, vec!["one", "two"]);
        let bad = CommandSpec::new("sh", "dash", Duration::from_secs(10)).arg("-c").arg("echo why; exit 3");
        match run_command(&bad, &cancel, |_| {}) {
            Err(ImageError::Command { tail, status, .. }) => {
                assert!(tail.contains("why"));
                assert!(status.contains('3'));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn wrappers_come_before_the_program() {
        let spec = CommandSpec::new("mmdebstrap", "mmdebstrap", Duration::from_secs(1)).arg("bookworm").contained();
        let argv = wrapped_argv(&spec, true, true);
        assert_eq!(argv[..4], ["setpriv", "--pdeathsig", "KILL", "--"]);
        assert_eq!(argv[4], "unshare");
        assert!(argv.contains(&"--kill-child=KILL".to_owned()));
        assert_eq!(argv[argv.len() - 5..], ["nice", "-n", "10", "mmdebstrap", "bookworm"]);
        // Without the tools (or not root, for unshare), the program runs as before.
        assert_eq!(wrapped_argv(&spec, false, false), ["nice", "-n", "10", "mmdebstrap", "bookworm"]);
        let plain = CommandSpec { nice: false, ..CommandSpec::new("qemu-img", "qemu-utils", Duration::from_secs(1)) };
        assert_eq!(wrapped_argv(&plain, true, true), ["setpriv", "--pdeathsig", "KILL", "--", "qemu-img"]);
    }

    /// The guarantee itself: a child whose parent dies is killed with it. The parent here is a
    /// shell that starts `setpriv --pdeathsig KILL -- sleep` in the background and exits.
    #[test]
    fn a_child_dies_with_its_parent() {
        if !on_path("setpriv") {
            return;
        }
        // An odd duration marks the sleep, so a recycled pid is not mistaken for it.
        let script = "setpriv --pdeathsig KILL -- sleep 61.23 >/dev/null 2>&1 & sleep 0.3; echo $!";
        let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let alive = || std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.ends_with(b"61.23\0"));
        let t = Instant::now();
        while alive() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!alive(), "the child outlived its parent");
    }

    #[test]
    fn time_limit_kills_the_command() {
        let cancel = AtomicBool::new(false);
        let slow = CommandSpec::new("sh", "dash", Duration::from_millis(300)).arg("-c").arg("sleep 30");
        let t = Instant::now();
        assert!(matches!(run_command(&slow, &cancel, |_| {}), Err(ImageError::Timeout { .. })));
        assert!(t.elapsed() < Duration::from_secs(5));
        let missing = CommandSpec::new("hadrill-no-such-program", "nothing", Duration::from_secs(1));
        assert!(matches!(run_command(&missing, &cancel, |_| {}), Err(ImageError::MissingTool { .. })));
    }
}
