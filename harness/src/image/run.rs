//! Running a host program with a time limit, at lower priority, with its output tail kept for
//! the error and each stderr line offered to a progress callback.

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
}

impl CommandSpec {
    pub fn new(program: &str, package: &'static str, timeout: Duration) -> Self {
        CommandSpec { program: program.to_owned(), args: Vec::new(), package, timeout, nice: true }
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
    let mut cmd = if spec.nice {
        let mut c = Command::new("nice");
        c.arg("-n").arg("10").arg(&spec.program);
        c
    } else {
        Command::new(&spec.program)
    };
    cmd.args(&spec.args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
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
