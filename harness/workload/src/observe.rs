//! `observe`: runs on the NFS server and stamps every new writer line with the server's clock.
//!
//! A paused node's guest clock is wrong when it resumes, so overlap between writers is decided
//! on this clock only. Each poll reads what was appended to every `*.log` file since the last
//! poll; the resolution of the server time is the poll interval.
//!
//! It must never outlive the session that started it (remote loops that survived their ssh
//! loaded later runs): it stops after `--for`, on SIGTERM/SIGINT/SIGHUP, when its parent
//! changes, and when a piped stdin (the SSH channel) reaches end of file.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::args::ObserveArgs;
use crate::line::WriterLine;
use crate::signals;
use crate::write::unix_ms;

/// The longest one poll reads from one file, so a huge file cannot stall the loop.
const MAX_READ: u64 = 4 << 20;
/// How many first bytes of a file identify it (see `Tracked::head`).
const HEAD: usize = 64;

pub fn run(a: &ObserveArgs) -> Result<(), String> {
    signals::install();
    signals::die_with_parent();
    let parent = std::os::unix::process::parent_id();
    if a.stdin_watch {
        watch_stdin();
    }
    let mut out =
        OpenOptions::new().append(true).create(true).open(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    let out_id = out.metadata().map(|m| (m.dev(), m.ino())).ok();
    let mut tail = Tail::new(&a.dir, out_id).map_err(|e| format!("{}: {e}", a.dir.display()))?;
    let started = unix_ms();
    let header = format!(
        "# hadrill-workload observe dir={} poll_ms={} for_ms={} started_ms={started}\n",
        a.dir.display(),
        a.poll.as_millis(),
        a.run_for.as_millis()
    );
    out.write_all(header.as_bytes()).map_err(|e| format!("{}: {e}", a.out.display()))?;

    let deadline = Instant::now() + a.run_for;
    let reason = loop {
        let text = tail.poll(unix_ms());
        if !text.is_empty() {
            out.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", a.out.display()))?;
        }
        if let Some(sig) = signals::received() {
            break format!("signal {sig}");
        }
        if signals::stop_requested() {
            break "stdin closed".to_owned();
        }
        if std::os::unix::process::parent_id() != parent {
            break "parent exited".to_owned();
        }
        let now = Instant::now();
        if now >= deadline {
            break "time limit".to_owned();
        }
        std::thread::sleep(a.poll.min(deadline - now));
    };
    let footer = format!("# stopped_ms={} reason={reason}\n", unix_ms());
    out.write_all(footer.as_bytes()).map_err(|e| format!("{}: {e}", a.out.display()))?;
    out.sync_all().map_err(|e| format!("{}: {e}", a.out.display()))
}

/// Stop when stdin is a pipe or socket (an SSH channel) and it closes. A terminal, a file or
/// /dev/null says nothing about the session, so they are not watched.
fn watch_stdin() {
    let Ok(fd) = std::os::fd::AsFd::as_fd(&std::io::stdin()).try_clone_to_owned() else { return };
    let file = File::from(fd);
    let Ok(meta) = file.metadata() else { return };
    if !(meta.file_type().is_fifo() || meta.file_type().is_socket()) {
        return;
    }
    std::thread::spawn(move || {
        let mut file = file;
        let mut buf = [0u8; 512];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        signals::request_stop();
    });
}

/// Where reading of one writer file stands.
#[derive(Debug)]
struct Tracked {
    /// Device and inode: a file replaced under the same name is read from its start.
    id: (u64, u64),
    offset: u64,
    /// The end of the last read when it was not a whole line.
    partial: Vec<u8>,
    /// The first line read is the rest of a line that was already there at start: drop it.
    skip_first: bool,
    /// The file's first bytes: a file removed and recreated between two polls may get the same
    /// inode back, but not the same first line (it holds the writer's start time).
    head: Vec<u8>,
}

impl Tracked {
    fn fresh(id: (u64, u64)) -> Tracked {
        Tracked { id, offset: 0, partial: Vec::new(), skip_first: false, head: Vec::new() }
    }
}

/// Follows every `*.log` file of a directory.
#[derive(Debug)]
pub struct Tail {
    dir: PathBuf,
    /// The observer's own output, never read back even if it sits in `dir` as `*.log`.
    exclude: Option<(u64, u64)>,
    files: BTreeMap<String, Tracked>,
}

impl Tail {
    /// Files already present are followed from their current end: what they held before the
    /// observer started did not happen at a time it can vouch for.
    pub fn new(dir: &Path, exclude: Option<(u64, u64)>) -> std::io::Result<Tail> {
        let mut t = Tail { dir: dir.to_owned(), exclude, files: BTreeMap::new() };
        for (name, meta) in t.list()? {
            let path = dir.join(&name);
            let skip_first = meta.len() > 0 && last_byte(&path, meta.len()) != Some(b'\n');
            let head = read_head(&path, HEAD).unwrap_or_default();
            let tracked = Tracked { offset: meta.len(), skip_first, head, ..Tracked::fresh((meta.dev(), meta.ino())) };
            t.files.insert(name, tracked);
        }
        Ok(t)
    }

    fn list(&self) -> std::io::Result<Vec<(String, std::fs::Metadata)>> {
        let mut v = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let Ok(entry) = entry else { continue };
            let Ok(name) = entry.file_name().into_string() else { continue };
            if !name.ends_with(".log") || name.starts_with('.') {
                continue;
            }
            // A file removed between read_dir and stat is simply gone.
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_file() && Some((meta.dev(), meta.ino())) != self.exclude {
                v.push((name, meta));
            }
        }
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v)
    }

    /// Read what is new and return it as observer lines stamped `now_ms`.
    pub fn poll(&mut self, now_ms: i64) -> String {
        let mut out = String::new();
        let listed = match self.list() {
            Ok(l) => l,
            Err(e) => {
                out.push_str(&format!("# {now_ms} cannot list {}: {}\n", self.dir.display(), one_line(&e.to_string())));
                return out;
            }
        };
        let present: Vec<String> = listed.iter().map(|(n, _)| n.clone()).collect();
        self.files.retain(|name, _| present.contains(name));
        for (name, meta) in listed {
            let id = (meta.dev(), meta.ino());
            let path = self.dir.join(&name);
            let t = self.files.entry(name.clone()).or_insert_with(|| Tracked::fresh(id));
            if meta.len() < t.offset {
                out.push_str(&format!("# {now_ms} truncated {name} from {} to {} bytes\n", t.offset, meta.len()));
                *t = Tracked::fresh(id);
            } else if t.id != id || (!t.head.is_empty() && read_head(&path, t.head.len()).as_ref() != Some(&t.head)) {
                out.push_str(&format!("# {now_ms} replaced {name}: reading it from the start\n"));
                *t = Tracked::fresh(id);
            }
            if meta.len() == t.offset {
                continue;
            }
            let mut buf = Vec::new();
            let read = File::open(&path).and_then(|mut f| {
                f.seek(SeekFrom::Start(t.offset))?;
                f.take(MAX_READ).read_to_end(&mut buf)
            });
            match read {
                Ok(n) => {
                    if t.head.len() < HEAD && t.offset < HEAD as u64 {
                        let have = t.offset as usize;
                        let take = (HEAD - have).min(buf.len());
                        if t.head.len() == have {
                            t.head.extend_from_slice(&buf[..take]);
                        }
                    }
                    t.offset += n as u64;
                }
                Err(e) => {
                    out.push_str(&format!("# {now_ms} cannot read {name}: {}\n", one_line(&e.to_string())));
                    continue;
                }
            }
            t.partial.extend_from_slice(&buf);
            let Some(end) = t.partial.iter().rposition(|&b| b == b'\n') else { continue };
            let whole: Vec<u8> = t.partial.drain(..=end).collect();
            for raw in whole.split(|&b| b == b'\n') {
                if raw.is_empty() {
                    continue;
                }
                if std::mem::take(&mut t.skip_first) {
                    continue;
                }
                let text = String::from_utf8_lossy(raw);
                match WriterLine::parse(&text) {
                    Some(l) => out.push_str(&format!("{now_ms} {l}\n")),
                    None => out.push_str(&format!("# {now_ms} unreadable line in {name}: {}\n", one_line(&text))),
                }
            }
        }
        out
    }
}

fn read_head(path: &Path, len: usize) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    File::open(path).ok()?.take(len as u64).read_to_end(&mut buf).ok()?;
    Some(buf)
}

fn last_byte(path: &Path, len: u64) -> Option<u8> {
    let mut f = File::open(path).ok()?;
    f.seek(SeekFrom::Start(len - 1)).ok()?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b).ok()?;
    Some(b[0])
}

/// Comments stay on one line whatever a writer or the OS put in them.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!("hadrill-workload-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn append(path: &Path, s: &str) {
        OpenOptions::new().append(true).create(true).open(path).unwrap().write_all(s.as_bytes()).unwrap();
    }

    #[test]
    fn existing_content_is_skipped_and_a_partial_line_is_completed_later() {
        let d = TempDir::new("tail-start");
        let a = d.0.join("s.a.log");
        append(&a, "s a 0 1000 start\ns a 1 1001\ns a 2 10");
        let mut t = Tail::new(&d.0, None).unwrap();
        assert_eq!(t.poll(5), "");
        // The rest of the line that was half there at start is dropped, not misread.
        append(&a, "02\ns a 3 100");
        assert_eq!(t.poll(6), "");
        append(&a, "3\n");
        assert_eq!(t.poll(7), "7 s a 3 1003\n");
    }

    #[test]
    fn new_files_truncation_replacement_and_garbage() {
        let d = TempDir::new("tail-changes");
        let mut t = Tail::new(&d.0, None).unwrap();
        let a = d.0.join("s.a.log");
        append(&a, "s a 0 1000 start\ns a 1 1001\n");
        append(&d.0.join("notes.txt"), "not a writer file\n");
        assert_eq!(t.poll(10), "10 s a 0 1000 start\n10 s a 1 1001\n");
        std::fs::write(&a, "s a 0 2000 start\n").unwrap();
        let out = t.poll(11);
        assert_eq!(out, "# 11 truncated s.a.log from 28 to 17 bytes\n11 s a 0 2000 start\n");
        std::fs::remove_file(&a).unwrap();
        append(&a, "s a 0 3000 start\ns a 1 30garbage\n");
        let out = t.poll(12);
        assert!(out.contains("12 s a 0 3000 start\n"), "{out}");
        assert!(out.contains("# 12 unreadable line in s.a.log: s a 1 30garbage\n"), "{out}");
        append(&d.0.join("s.b.log"), "s b 1 4000\n");
        assert_eq!(t.poll(13), "13 s b 1 4000\n");
    }

    #[test]
    fn own_output_is_not_read_back() {
        let d = TempDir::new("tail-self");
        let out = d.0.join("observer.log");
        append(&out, "");
        let m = std::fs::metadata(&out).unwrap();
        let mut t = Tail::new(&d.0, Some((m.dev(), m.ino()))).unwrap();
        append(&out, "1 s a 1 1\n");
        assert_eq!(t.poll(1), "");
    }
}
