//! Throughput of the Proxmox HA log reader on a large journal export.
//!
//! Run it in release, on one core:
//!
//! ```text
//! cargo bench --bench analyze_throughput                 # both framings, 200 MB each
//! cargo bench --bench analyze_throughput -- json         # short | json | both
//! cargo bench --bench analyze_throughput -- short 500    # size in MB
//! ```
//!
//! It builds a journal export of at least the given size (default 200 MB) from the messages
//! of the HA manager's regression cases (`../shared/corpus/pve-ha-manager/*/log.expect`,
//! falling back to `tests/fixtures/logs/*.log` when the corpus is absent), spread over three
//! nodes with corosync, watchdog-mux and unrelated system lines mixed in, and writes it to
//! `target/analyze_throughput/`. Then it times `read_log` over it, reading the file
//! included, three times, and prints MB/s, events/s and the process's peak RSS.
//! The goal is ≥ 100 MB/s for each framing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hadrill::stack::pve::read_log;

/// Lines of other daemons, as a real export has them.
const EXTRA: &[(&str, &str, &str)] = &[
    ("corosync", "5", "  [QUORUM] Members[3]: 1 2 3"),
    ("corosync", "5", "  [QUORUM] This node is within the primary component and will provide service."),
    ("corosync", "5", "  [TOTEM ] A new membership (1.2f) was formed. Members joined: 3"),
    ("corosync", "6", "  [KNET  ] pmtud: PMTUD link change for host: 3 link: 0 from 469 to 1397"),
    ("watchdog-mux", "6", "added new client (PID 1102) to watch"),
    ("watchdog-mux", "4", "client (PID 1210) watchdog is about to expire"),
    ("pmxcfs", "5", "[status] notice: received log"),
    ("systemd", "6", "Started session-42.scope - Session 42 of User root."),
    ("pvedaemon", "6", "<root@pam> successful auth for user 'root@pam'"),
    ("kernel", "6", "vmbr0: port 2(tap102i0) entered forwarding state"),
];

struct Message {
    node: String,
    ident: String,
    priority: &'static str,
    text: String,
}

fn main() {
    let mut framings = vec!["short", "json"];
    let mut megabytes: usize = 200;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--bench" => {} // added by `cargo bench`
            "short" => framings = vec!["short"],
            "json" => framings = vec!["json"],
            "both" => framings = vec!["short", "json"],
            n => match n.parse() {
                Ok(mb) => megabytes = mb,
                Err(_) => {
                    eprintln!("usage: analyze_throughput [short|json|both] [megabytes]");
                    std::process::exit(2);
                }
            },
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let messages = messages(root);
    let out = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("analyze_throughput");
    std::fs::create_dir_all(&out).expect("create target/analyze_throughput");
    println!("{} distinct messages; target size {megabytes} MB per framing", messages.len());

    for framing in framings {
        let path = out.join(if framing == "json" { "journal.json" } else { "journal-short.log" });
        let t0 = Instant::now();
        let size = generate(&messages, framing, megabytes * 1_000_000, &path);
        println!("{framing}: wrote {} ({:.0} MB) in {:.1?}", path.display(), size as f64 / 1e6, t0.elapsed());
        let mut runs = Vec::new();
        let mut events = 0;
        let mut format = String::new();
        for _ in 0..3 {
            let t0 = Instant::now();
            let bytes = std::fs::read(&path).expect("read the export");
            let timeline = read_log(&bytes).expect("the export reads");
            let took = t0.elapsed();
            events = timeline.events.len();
            format = timeline.meta.format.clone().unwrap_or_default();
            runs.push(took);
            drop(timeline); // outside the timed part
        }
        runs.sort();
        let best = runs[0];
        let median = runs[runs.len() / 2];
        let mbs = |d: Duration| size as f64 / 1e6 / d.as_secs_f64();
        println!(
            "{framing} ({format}): best {best:.2?} = {:.0} MB/s, median {median:.2?} = {:.0} MB/s, {events} events = {:.2} M events/s",
            mbs(best),
            mbs(median),
            events as f64 / best.as_secs_f64() / 1e6,
        );
    }
    if let Some(rss) = peak_rss() {
        println!("peak RSS {rss}");
    }
}

/// The node messages of every corpus case (or of the fixtures), plus `EXTRA` on each node.
fn messages(root: &Path) -> Vec<Message> {
    let corpus = root.join("../shared/corpus/pve-ha-manager");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&corpus) {
        Ok(dir) => dir.filter_map(|e| Some(e.ok()?.path().join("log.expect"))).filter(|p| p.is_file()).collect(),
        Err(_) => {
            let fixtures = root.join("tests/fixtures/logs");
            println!("corpus {} absent: using {}", corpus.display(), fixtures.display());
            std::fs::read_dir(&fixtures)
                .expect("tests/fixtures/logs")
                .filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "log"))
                .collect()
        }
    };
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for line in text.lines() {
            // `<level> <seconds> <node>/<daemon>: <message>`; other sources are the simulator's.
            let Some((level, rest)) = line.trim_start().split_once(char::is_whitespace) else {
                continue;
            };
            let Some((_seconds, rest)) = rest.trim_start().split_once(char::is_whitespace) else {
                continue;
            };
            let rest = rest.trim_start();
            let Some((source, text)) = rest.split_once(": ") else {
                continue;
            };
            let Some((node, daemon)) = source.split_once('/') else {
                continue;
            };
            let priority = match level {
                "err" => "3",
                "warn" => "4",
                "noti" | "emai" => "5",
                _ => "6",
            };
            out.push(Message {
                node: node.to_owned(),
                ident: format!("pve-ha-{daemon}"),
                priority,
                text: text.to_owned(),
            });
        }
    }
    for node in ["node1", "node2", "node3"] {
        for (ident, priority, text) in EXTRA {
            out.push(Message { node: node.to_owned(), ident: (*ident).to_owned(), priority, text: (*text).to_owned() });
        }
    }
    out
}

/// Write an export of at least `target` bytes; returns its size.
fn generate(messages: &[Message], framing: &str, target: usize, path: &Path) -> usize {
    use std::io::Write;
    let file = std::fs::File::create(path).expect("create the export");
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    // 2026-11-22T11:00:00Z, one entry every 1.7 ms.
    let mut us: i64 = 1_795_345_200_000_000;
    let mut size = 0;
    let mut line = String::with_capacity(4096);
    let mut i = 0usize;
    while size < target {
        let m = &messages[i % messages.len()];
        let pid = 1000 + (i % 7) as u32;
        line.clear();
        if framing == "json" {
            let value = serde_json::json!({
                "__CURSOR": format!("s=8c1f0f4b2e6a4d4e9f3c1e2d5b6a7c8d;i={:x};b=3f2e1d0c4b5a69788796a5b4c3d2e1f0;m={:x};t={us:x};x={:x}", i + 1, us - 1_795_345_000_000_000, i * 7919),
                "__REALTIME_TIMESTAMP": us.to_string(),
                "__MONOTONIC_TIMESTAMP": (us - 1_795_345_000_000_000).to_string(),
                "_BOOT_ID": "3f2e1d0c4b5a69788796a5b4c3d2e1f0",
                "_MACHINE_ID": "9a8b7c6d5e4f30211203f4e5d6c7b8a9",
                "_HOSTNAME": m.node,
                "PRIORITY": m.priority,
                "SYSLOG_FACILITY": "3",
                "SYSLOG_IDENTIFIER": m.ident,
                "SYSLOG_PID": pid.to_string(),
                "_PID": pid.to_string(),
                "_UID": "0",
                "_GID": "0",
                "_COMM": m.ident,
                "_EXE": "/usr/bin/perl",
                "_CMDLINE": m.ident,
                "_CAP_EFFECTIVE": "1ffffffffff",
                "_SELINUX_CONTEXT": "unconfined\n",
                "_SYSTEMD_CGROUP": format!("/system.slice/{}.service", m.ident),
                "_SYSTEMD_UNIT": format!("{}.service", m.ident),
                "_SYSTEMD_SLICE": "system.slice",
                "_SYSTEMD_INVOCATION_ID": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                "_TRANSPORT": "syslog",
                "_SOURCE_REALTIME_TIMESTAMP": (us - 11).to_string(),
                "MESSAGE": m.text,
            });
            line.push_str(&value.to_string());
        } else {
            // Local time at +01:00, as journalctl prints it on a CET host.
            let local = jiff::Timestamp::from_microsecond(us + 3_600_000_000).expect("in range");
            let _ = write!(
                line,
                "{}.{:06}+01:00 {} {}[{pid}]: {}",
                local.strftime("%Y-%m-%dT%H:%M:%S"),
                us.rem_euclid(1_000_000),
                m.node,
                m.ident,
                m.text
            );
        }
        line.push('\n');
        w.write_all(line.as_bytes()).expect("write the export");
        size += line.len();
        us += 1_700;
        i += 1;
    }
    w.flush().expect("write the export");
    size
}

/// The process's peak resident set size (Linux).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.0} MB", kb / 1024.0))
}
