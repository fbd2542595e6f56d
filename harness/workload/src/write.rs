//! `write`: the HA service itself. One heartbeat line per interval into its own file on the
//! shared storage, each fsync'ed so the storage server sees it at once, then a local progress
//! stamp for the OCF monitor.
//!
//! A write that blocks on a hung NFS server blocks this process and nothing else: the stamp
//! goes stale, the agent's monitor (which never touches the share) reports it, and the agent's
//! stop sends SIGKILL. Buffered writes, as most services do them: a writer killed with dirty
//! pages waits, while exiting, for their writeback (uninterruptibly, for as long as a hard
//! mount's server is away), so the stop times out and Pacemaker fences the node, which drops
//! the pending writes with it. Tried on the lab and kept out: O_DIRECT writes let SIGKILL end
//! the writer at once, the stop succeeds, and the write still in flight in the kernel lands on
//! the share after the link is back, while the service already runs elsewhere; hadrill
//! reported it as active on two nodes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::args::WriteArgs;
use crate::line::{Kind, WriterLine};
use crate::signals;

/// The longest the loop sleeps before looking at the stop flag again.
const WAKE: Duration = Duration::from_millis(100);

pub fn run(a: &WriteArgs) -> Result<(), String> {
    signals::install();
    if a.detach {
        signals::setsid();
    }
    let path = a.dir.join(format!("{}.{}.log", a.service, a.node));
    let mut w = Writer { path, file: None, stamp: a.stamp.clone(), service: &a.service, node: &a.node };
    // The start marker must reach the share: a writer that cannot write at all fails its start.
    w.write(0, Kind::Start).map_err(|e| format!("{}: {e}", w.path.display()))?;

    let mut seq = 0u64;
    let mut due = Instant::now();
    while !signals::stop_requested() {
        match w.write(seq + 1, Kind::Beat) {
            Ok(()) => seq += 1,
            // Keep trying on the cadence: the stale stamp is how the failure becomes visible.
            Err(e) => eprintln!("hadrill-workload write: {}: {e}", w.path.display()),
        }
        due += a.interval;
        let now = Instant::now();
        if due < now {
            // A blocked write (NFS) must not be followed by a burst of catch-up beats.
            due = now + a.interval;
        }
        while !signals::stop_requested() {
            let now = Instant::now();
            if now >= due {
                break;
            }
            std::thread::sleep((due - now).min(WAKE));
        }
    }
    w.write(seq, Kind::Stop).map_err(|e| format!("{}: stop marker: {e}", w.path.display()))
}

struct Writer<'a> {
    path: PathBuf,
    file: Option<File>,
    stamp: Option<PathBuf>,
    service: &'a str,
    node: &'a str,
}

impl Writer<'_> {
    /// Append and fsync one line, then refresh the stamp. After an error the file is reopened,
    /// in case the share was remounted or the file removed.
    fn write(&mut self, seq: u64, kind: Kind) -> std::io::Result<()> {
        let unix_ms = unix_ms();
        let line = WriterLine { service: self.service, node: self.node, seq, unix_ms, kind };
        let text = format!("{line}\n");
        let result = self.append(text.as_bytes());
        if result.is_err() {
            self.file = None;
        }
        result?;
        if let Some(stamp) = &self.stamp {
            // The stamp is local; failing to refresh it is reported, the beat still counts.
            if let Err(e) = write_stamp(stamp, unix_ms, seq) {
                eprintln!("hadrill-workload write: stamp {}: {e}", stamp.display());
            }
        }
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(OpenOptions::new().append(true).create(true).open(&self.path)?);
        }
        let f = self.file.as_mut().expect("opened above");
        // One write(2) of a whole line on an O_APPEND file: lines from a restarted writer
        // cannot interleave within a line.
        f.write_all(bytes)?;
        f.sync_data()
    }
}

/// `boottime_s unix_ms seq`, replaced atomically so the monitor never reads half a stamp.
fn write_stamp(stamp: &Path, unix_ms: i64, seq: u64) -> std::io::Result<()> {
    let (secs, centis) = signals::boottime();
    let mut tmp = stamp.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, format!("{secs}.{centis:02} {unix_ms} {seq}\n"))?;
    std::fs::rename(&tmp, stamp)
}

pub fn unix_ms() -> i64 {
    // A clock before 1970 is a broken guest; 0 makes that obvious in the logs.
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_is_boottime_unix_ms_and_seq() {
        let dir = std::env::temp_dir().join(format!("hadrill-workload-stamp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let stamp = dir.join("s");
        write_stamp(&stamp, 1234, 7).unwrap();
        let text = std::fs::read_to_string(&stamp).unwrap();
        let f: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(f[1..], ["1234", "7"]);
        let up: f64 = std::fs::read_to_string("/proc/uptime").unwrap().split(' ').next().unwrap().parse().unwrap();
        let stamped: f64 = f[0].parse().unwrap();
        assert!((up - stamped).abs() < 5.0, "stamp {stamped} vs /proc/uptime {up}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
