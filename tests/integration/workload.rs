//! The HA service end to end on this host: the real `hadrill-workload` binary writing
//! heartbeats for two "nodes" into a temp dir, the real observer polling it, the engine's
//! analysis of what it recorded, and the `hadrill/heartbeat` OCF agent driving the writer
//! (including a writer that stops making progress, as one blocked on a hung NFS server does).
//!
//! `CARGO_BIN_EXE_hadrill-workload` exists only for the tests of the package that owns the
//! binary, and these tests belong to the root package. So the binary is built with the same
//! cargo, profile and target directory as the `hadrill` binary beside it (a no-op when it is
//! fresh; cargo releases its build lock before it runs tests), or taken from
//! `HADRILL_WORKLOAD_BIN` when that is set.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hadrill::check::ClusterModel;
use hadrill::workload::{Beat, BeatKind, activity, downtime, nominal_gap, overlaps, read_observer_log};
use libtest_mimic::Trial;

use crate::support::{ensure, repo, skipped, trial};

const AGENT: &str = "images/debian-ha/files/usr/lib/ocf/resource.d/hadrill/heartbeat";
const POLL_MS: i64 = 50;
const INTERVAL_MS: i64 = 100;

pub fn trials() -> Vec<Trial> {
    let mut out = vec![
        trial("workload::failover_after_sigkill_is_downtime_without_overlap", failover_after_sigkill),
        trial("workload::two_live_writers_are_one_overlap", two_live_writers_overlap),
        trial("workload::observer_stops_after_its_time_limit_and_with_its_parent", observer_lifetime),
        trial("workload::agent_start_monitor_stop", agent_lifecycle),
        trial("workload::agent_reports_and_kills_a_writer_that_makes_no_progress", agent_stalled_writer),
        trial("workload::agent_start_on_a_share_that_blocks_fails_within_its_timeout", agent_blocked_start),
    ];
    let tester = ["/usr/sbin/ocf-tester", "/usr/bin/ocf-tester"].into_iter().map(PathBuf::from).find(|p| p.exists());
    out.push(match tester {
        Some(t) => trial("workload::agent_passes_ocf_tester", move || agent_ocf_tester(&t)),
        None => skipped(
            "workload::agent_passes_ocf_tester",
            "ocf-tester is not installed (Debian: apt-get install resource-agents)".into(),
        ),
    });
    out
}

/// The workload binary, built once per test run.
pub(crate) fn workload_bin() -> Result<PathBuf, String> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("HADRILL_WORKLOAD_BIN") {
            return Ok(PathBuf::from(p));
        }
        let hadrill = PathBuf::from(env!("CARGO_BIN_EXE_hadrill"));
        let profile_dir = hadrill.parent().ok_or("the hadrill binary has no directory")?;
        let target_dir = profile_dir.parent().ok_or("the hadrill binary is not in a target directory")?;
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev".to_owned(),
            Some(p) => p.to_owned(),
            None => return Err("cannot tell the cargo profile from the hadrill binary's path".into()),
        };
        let out = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "hadrill-workload", "--bin", "hadrill-workload", "--profile", &profile])
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(repo())
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !out.status.success() {
            return Err(format!("cargo build -p hadrill-workload failed:\n{}", String::from_utf8_lossy(&out.stderr)));
        }
        let bin = profile_dir.join("hadrill-workload");
        if bin.exists() { Ok(bin) } else { Err(format!("{} was not built", bin.display())) }
    })
    .clone()
}

/// A child process that is killed if the test fails half-way: no writer or observer may be
/// left running after a trial.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Wait for the process to exit by itself, at most `limit`.
    fn exits_within(&mut self, limit: Duration) -> Result<std::process::ExitStatus, String> {
        let t = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if t.elapsed() > limit {
                return Err(format!("pid {} still running after {limit:?}", self.pid()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn signal(pid: u32, sig: &str) -> Result<(), String> {
    let st = Command::new("kill").args([&format!("-{sig}"), &pid.to_string()]).status().map_err(|e| e.to_string())?;
    ensure(st.success(), || format!("kill -{sig} {pid} failed"))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_millis() as i64
}

/// A temp share, an observer polling it, and writers.
struct Lab {
    dir: tempfile::TempDir,
    observer: Option<Proc>,
}

impl Lab {
    fn new() -> Result<Lab, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::create_dir(dir.path().join("share")).map_err(|e| e.to_string())?;
        Ok(Lab { dir, observer: None })
    }

    fn share(&self) -> PathBuf {
        self.dir.path().join("share")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("observer.log")
    }

    /// The observer with its stdin piped, as over an SSH channel: closing it ends the observer.
    fn observe(&mut self) -> Result<(), String> {
        let child = Command::new(workload_bin()?)
            .args(["observe", "--poll", &format!("{POLL_MS}ms"), "--for", "60s", "--dir"])
            .arg(self.share())
            .arg("--out")
            .arg(self.out())
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        self.observer = Some(Proc(child));
        wait_for("the observer's header", Duration::from_secs(10), || {
            Ok(std::fs::read_to_string(self.out()).unwrap_or_default().starts_with("# hadrill-workload observe"))
        })
    }

    fn write(&self, node: &str) -> Result<Proc, String> {
        let child = Command::new(workload_bin()?)
            .args(["write", "--service", "svc", "--node", node, "--interval", &format!("{INTERVAL_MS}ms"), "--dir"])
            .arg(self.share())
            .arg("--stamp")
            .arg(self.dir.path().join(format!("{node}.stamp")))
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        Ok(Proc(child))
    }

    fn beats(&self) -> Result<Vec<Beat>, String> {
        read_observer_log(&self.out()).map_err(|e| e.to_string())
    }

    /// Wait until the observer has recorded `n` beats of `node` (or a marker).
    fn wait_beats(&self, node: &str, kind: BeatKind, n: usize) -> Result<(), String> {
        wait_for(&format!("{n} {kind:?} lines of {node}"), Duration::from_secs(20), || {
            Ok(self.beats()?.iter().filter(|b| b.node == node && b.kind == kind).count() >= n)
        })
    }

    /// End the observer the way a closed SSH session does, and read its log.
    fn finish(&mut self) -> Result<(Vec<Beat>, String), String> {
        let mut obs = self.observer.take().ok_or("no observer")?;
        drop(obs.0.stdin.take());
        let status = obs.exits_within(Duration::from_secs(5))?;
        ensure(status.success(), || format!("observer exited with {status}"))?;
        let text = std::fs::read_to_string(self.out()).map_err(|e| e.to_string())?;
        Ok((self.beats()?, text))
    }
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> Result<bool, String>) -> Result<(), String> {
    let t = Instant::now();
    loop {
        if ok()? {
            return Ok(());
        }
        if t.elapsed() > limit {
            return Err(format!("timed out after {limit:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn of<'a>(beats: &'a [Beat], node: &str, kind: BeatKind) -> Vec<&'a Beat> {
    beats.iter().filter(|b| b.node == node && b.kind == kind).collect()
}

/// The most nodes the check model ever saw the service active on, folding the activity events.
fn most_active(beats: &[Beat]) -> usize {
    let mut model = ClusterModel::default();
    let mut most = 0;
    for e in activity(beats, nominal_gap(beats, "svc"), 0) {
        model.apply(&e);
        most = most.max(model.services.get("svc").map_or(0, |s| s.active().len()));
    }
    most
}

fn failover_after_sigkill() -> Result<(), String> {
    let mut lab = Lab::new()?;
    lab.observe()?;
    let mut a = lab.write("a")?;
    lab.wait_beats("a", BeatKind::Beat, 5)?;
    a.0.kill().map_err(|e| e.to_string())?; // SIGKILL: no stop marker, like a reset
    a.0.wait().map_err(|e| e.to_string())?;
    let killed_ms = now_ms();
    // Longer than the 1 s gap, so the timeline's "silent" (a gap after the last beat) comes first.
    std::thread::sleep(Duration::from_millis(1500));
    let mut b = lab.write("b")?;
    lab.wait_beats("b", BeatKind::Beat, 5)?;
    signal(b.pid(), "TERM")?;
    let status = b.exits_within(Duration::from_secs(5))?;
    ensure(status.success(), || format!("writer b exited with {status} on SIGTERM"))?;
    lab.wait_beats("b", BeatKind::Stop, 1)?;
    let (beats, text) = lab.finish()?;
    ensure(text.contains("reason=stdin closed"), || format!("the observer did not stop on end of stdin:\n{text}"))?;

    // What the writers wrote: a started and beat in sequence, and left no stop marker.
    let (a_beats, b_beats) = (of(&beats, "a", BeatKind::Beat), of(&beats, "b", BeatKind::Beat));
    ensure(of(&beats, "a", BeatKind::Start).len() == 1 && of(&beats, "a", BeatKind::Stop).is_empty(), || {
        format!("a should have one start and no stop marker:\n{text}")
    })?;
    let seqs: Vec<u64> = a_beats.iter().map(|b| b.seq).collect();
    ensure(seqs == (1..=seqs.len() as u64).collect::<Vec<_>>(), || format!("a's seqs are not 1..n: {seqs:?}"))?;
    let b_stop = of(&beats, "b", BeatKind::Stop)[0];
    ensure(b_stop.seq == b_beats.last().map_or(0, |b| b.seq), || format!("b's stop marker seq:\n{text}"))?;

    // The analysis: one outage from a's last beat to b's first, and no overlap.
    let (a_last, b_first) = (a_beats.last().ok_or("no beat of a")?, b_beats[0]);
    let d = downtime(&beats, "svc", a_beats[0].server_ms, b_stop.server_ms);
    let failover = d
        .outages
        .iter()
        .find(|o| o.from_ms == a_last.server_ms && o.to_ms == b_first.server_ms)
        .ok_or_else(|| format!("no outage from a's last beat to b's first: {d:?}"))?;
    // The truth on this host's clock: a died at `killed_ms`, b wrote its first beat at its
    // writer_ms. The observer may add up to a poll (plus scheduling) to each end.
    let truth = b_first.writer_ms - killed_ms;
    let measured = failover.duration().as_millis() as i64;
    ensure(measured >= truth - 2 * POLL_MS && measured <= truth + INTERVAL_MS + 4 * POLL_MS + 500, || {
        format!("measured {measured} ms of downtime, the writers say {truth} ms: {d:?}")
    })?;
    ensure(d.longest == failover.duration(), || format!("the failover is not the longest outage: {d:?}"))?;
    let o = overlaps(&beats, "svc", nominal_gap(&beats, "svc"));
    ensure(o.is_empty(), || format!("unexpected overlap: {o:?}"))?;
    ensure(most_active(&beats) == 1, || "the check model saw two active writers".into())
}

fn two_live_writers_overlap() -> Result<(), String> {
    let mut lab = Lab::new()?;
    lab.observe()?;
    let mut a = lab.write("a")?;
    lab.wait_beats("a", BeatKind::Beat, 5)?;
    let mut b = lab.write("b")?;
    lab.wait_beats("b", BeatKind::Beat, 10)?;
    signal(a.pid(), "TERM")?;
    a.exits_within(Duration::from_secs(5))?;
    lab.wait_beats("a", BeatKind::Stop, 1)?;
    let b_seen = of(&lab.beats()?, "b", BeatKind::Beat).len();
    lab.wait_beats("b", BeatKind::Beat, b_seen + 5)?;
    signal(b.pid(), "TERM")?;
    b.exits_within(Duration::from_secs(5))?;
    lab.wait_beats("b", BeatKind::Stop, 1)?;
    let (beats, text) = lab.finish()?;

    let o = overlaps(&beats, "svc", nominal_gap(&beats, "svc"));
    ensure(o.len() == 1, || format!("expected one overlap, got {o:?}\n{text}"))?;
    let (b_first, a_stop) = (of(&beats, "b", BeatKind::Beat)[0], of(&beats, "a", BeatKind::Stop)[0]);
    ensure(o[0].nodes == ["a".to_owned(), "b".to_owned()], || format!("{o:?}"))?;
    ensure(o[0].from_ms == b_first.server_ms && o[0].to_ms == a_stop.server_ms, || {
        format!("the overlap should run from b's first beat to a's stop marker: {o:?}\n{text}")
    })?;
    // b beat at least 10 times before a was stopped.
    ensure(o[0].duration() >= Duration::from_millis(9 * INTERVAL_MS as u64 - 2 * POLL_MS as u64), || {
        format!("overlap too short: {o:?}")
    })?;
    ensure(most_active(&beats) == 2, || "the check model never saw both writers active".into())?;
    // No downtime while one of them was always live.
    let d = downtime(&beats, "svc", of(&beats, "a", BeatKind::Beat)[0].server_ms, b_first.server_ms);
    ensure(d.outages.is_empty(), || format!("unexpected downtime: {d:?}"))
}

fn observer_lifetime() -> Result<(), String> {
    let lab = Lab::new()?;
    let bin = workload_bin()?;
    // Its own time limit, with nothing else to stop it (stdin is /dev/null, not watched).
    let t = Instant::now();
    let mut obs = Proc(
        Command::new(&bin)
            .args(["observe", "--poll", "50ms", "--for", "1s", "--dir"])
            .arg(lab.share())
            .arg("--out")
            .arg(lab.out())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    obs.exits_within(Duration::from_secs(10))?;
    ensure(t.elapsed() >= Duration::from_secs(1), || "stopped before its time limit".into())?;
    let text = std::fs::read_to_string(lab.out()).map_err(|e| e.to_string())?;
    ensure(text.contains("reason=time limit"), || text.clone())?;

    // Its parent (the login shell of an SSH session) exits: the observer follows, long
    // before its own hour is up.
    let out2 = lab.dir.path().join("observer2.log");
    let script = "\"$0\" observe --poll 50ms --for 1h --dir \"$1\" --out \"$2\" >/dev/null 2>&1 & echo $!; sleep 0.5";
    let mut sh = Command::new("sh")
        .args(["-c", script])
        .arg(&bin)
        .arg(lab.share())
        .arg(&out2)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut pid = String::new();
    sh.stdout.take().ok_or("no stdout")?.read_to_string(&mut pid).map_err(|e| e.to_string())?;
    sh.wait().map_err(|e| e.to_string())?;
    let proc_dir = PathBuf::from(format!("/proc/{}", pid.trim()));
    let gone = wait_for("the orphaned observer to exit", Duration::from_secs(10), || {
        // An exited orphan is reaped by init (or a subreaper); a zombie counts as gone.
        let stat = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
        Ok(stat.is_empty() || stat.contains(") Z "))
    });
    if gone.is_err() {
        let _ = signal(pid.trim().parse().unwrap_or(0), "KILL");
    }
    gone?;
    let text = std::fs::read_to_string(&out2).map_err(|e| e.to_string())?;
    ensure(text.contains("reason=parent exited") || text.contains("reason=signal 15"), || text)
}

/// The agent run as pacemaker-execd would: parameters in `OCF_RESKEY_*`, rc as the answer.
struct Agent {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Agent {
    fn new(extra: &[(&str, &str)]) -> Result<Agent, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::create_dir(dir.path().join("share")).map_err(|e| e.to_string())?;
        let mut env: Vec<(String, String)> = vec![
            ("OCF_ROOT".into(), "/usr/lib/ocf".into()),
            ("OCF_RESOURCE_INSTANCE".into(), "hb".into()),
            ("OCF_RESKEY_dir".into(), path_str(&dir.path().join("share"))),
            ("OCF_RESKEY_node".into(), "n1".into()),
            ("OCF_RESKEY_interval".into(), "200ms".into()),
            ("OCF_RESKEY_binary".into(), path_str(&workload_bin()?)),
            ("OCF_RESKEY_state_dir".into(), path_str(&dir.path().join("state"))),
            ("OCF_RESKEY_CRM_meta_timeout".into(), "20000".into()),
        ];
        env.extend(extra.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())));
        Ok(Agent { dir, env })
    }

    /// Run an action: its exit code and what it said on stderr.
    fn run(&self, action: &str) -> Result<(i32, String), String> {
        let out = Command::new(repo().join(AGENT))
            .arg(action)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run the agent: {e}"))?;
        Ok((out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned()))
    }

    fn expect(&self, action: &str, rc: i32) -> Result<String, String> {
        let (got, stderr) = self.run(action)?;
        ensure(got == rc, || format!("{action}: rc {got}, expected {rc}; stderr: {stderr}"))?;
        Ok(stderr)
    }

    fn pid(&self) -> Result<u32, String> {
        let text = std::fs::read_to_string(self.dir.path().join("state/hb.pid")).map_err(|e| e.to_string())?;
        text.trim().parse().map_err(|e| format!("pid file `{text}`: {e}"))
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("share/hb.n1.log")
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        // Never leave a writer behind, whatever the trial did.
        let _ = self.run("stop");
        if let Ok(pid) = self.pid() {
            let _ = signal(pid, "KILL");
        }
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn process_gone(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.is_empty() || stat.contains(") Z ")
}

fn agent_lifecycle() -> Result<(), String> {
    let agent = Agent::new(&[])?;
    agent.expect("validate-all", 0)?;
    agent.expect("monitor", 7)?;
    agent.expect("start", 0)?;
    // start returns only once the first heartbeat is on the share.
    let text = std::fs::read_to_string(agent.log()).map_err(|e| e.to_string())?;
    ensure(text.starts_with("hb n1 0 ") && text.contains(" start\nhb n1 1 "), || text.clone())?;
    agent.expect("monitor", 0)?;
    agent.expect("start", 0)?; // already running
    let pid = agent.pid()?;
    agent.expect("stop", 0)?;
    ensure(process_gone(pid), || format!("writer {pid} survived stop"))?;
    let text = std::fs::read_to_string(agent.log()).map_err(|e| e.to_string())?;
    ensure(text.trim_end().ends_with(" stop"), || format!("no stop marker:\n{text}"))?;
    agent.expect("monitor", 7)?;
    agent.expect("stop", 0)?; // already stopped

    // A missing share fails the start at once; a missing binary is "not installed".
    let missing = Agent::new(&[("dir", "/nonexistent/hadrill-share")])?;
    let err = missing.expect("start", 1)?;
    ensure(err.contains("is missing"), || err)?;
    let no_bin = Agent::new(&[("binary", "/nonexistent/hadrill-workload")])?;
    no_bin.expect("validate-all", 5)?;
    let bad = Agent::new(&[("interval", "fast")])?;
    bad.expect("validate-all", 6)?;
    Ok(())
}

fn agent_stalled_writer() -> Result<(), String> {
    // SIGSTOP stands in for a writer blocked on a hung NFS server: it makes no progress and
    // does not act on SIGTERM. The monitor must notice from the stamp alone, and stop must end
    // it with SIGKILL.
    let agent = Agent::new(&[("stamp_max_age", "1"), ("stop_grace", "1")])?;
    agent.expect("start", 0)?;
    let pid = agent.pid()?;
    signal(pid, "STOP")?;
    std::thread::sleep(Duration::from_millis(2600));
    let t = Instant::now();
    let err = agent.expect("monitor", 1)?;
    ensure(t.elapsed() < Duration::from_secs(2), || format!("monitor took {:?}", t.elapsed()))?;
    ensure(err.contains("the share takes no writes"), || err)?;
    let t = Instant::now();
    let err = agent.expect("stop", 0)?;
    let took = t.elapsed();
    ensure(err.contains("SIGKILL"), || format!("stop did not escalate to SIGKILL: {err}"))?;
    ensure(took >= Duration::from_secs(1) && took < Duration::from_secs(6), || format!("stop took {took:?}"))?;
    ensure(process_gone(pid), || format!("writer {pid} survived stop"))?;
    agent.expect("monitor", 7)?;
    Ok(())
}

fn agent_blocked_start() -> Result<(), String> {
    // The heartbeat file is a FIFO nobody reads: the writer blocks opening it, as on a share
    // that stopped answering. start must give up inside its own timeout, not hang, and leave
    // no writer behind.
    let mut agent = Agent::new(&[("stop_grace", "1")])?;
    agent.env.retain(|(k, _)| k != "OCF_RESKEY_CRM_meta_timeout");
    agent.env.push(("OCF_RESKEY_CRM_meta_timeout".into(), "5000".into()));
    let st = Command::new("mkfifo").arg(agent.log()).status().map_err(|e| e.to_string())?;
    ensure(st.success(), || "mkfifo failed".into())?;
    let t = Instant::now();
    let err = agent.expect("start", 1)?;
    let took = t.elapsed();
    ensure(took < Duration::from_secs(5), || format!("start took {took:?}, more than its 5 s timeout"))?;
    ensure(err.contains("no heartbeat written within the start timeout"), || err.clone())?;
    ensure(err.contains("SIGKILL"), || format!("the blocked writer was not killed: {err}"))?;
    agent.expect("monitor", 7)?;
    Ok(())
}

fn agent_ocf_tester(tester: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let agent = Agent::new(&[])?;
    // ocf-tester runs meta-data as `nobody`, which must reach the file: a clone under a 0700
    // directory (mktemp -d) would fail its permission check, so test a copy in a 0755 one.
    let open = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mode = |p: &Path| std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
    mode(open.path()).map_err(|e| e.to_string())?;
    let copy = open.path().join("heartbeat");
    std::fs::copy(repo().join(AGENT), &copy).map_err(|e| e.to_string())?;
    mode(&copy).map_err(|e| e.to_string())?;
    let opt = |k: &str| {
        let v = &agent.env.iter().find(|(n, _)| n == &format!("OCF_RESKEY_{k}")).expect("set").1;
        format!("{k}={v}")
    };
    let out = Command::new(tester)
        .args(["-n", "hb"])
        .args(["-o", &opt("dir"), "-o", &opt("node"), "-o", &opt("interval")])
        .args(["-o", &opt("binary"), "-o", &opt("state_dir")])
        .arg(&copy)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure(out.status.success() && stdout.contains("passed all tests"), || {
        format!("ocf-tester: {}\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr))
    })
}
