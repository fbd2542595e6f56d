//! A fake Proxmox node that speaks SSH (russh's server side): it listens on 127.0.0.1, offers
//! a fixed host key (pinned by the test), accepts only the run's key for root, and answers the
//! observer's commands from a case played back in accelerated time:
//! - `journalctl --follow --output=json …`: the node's journal entries of the asked units,
//!   each when its simulated second comes, from `--since=@SECS` or after `--after-cursor=C`;
//! - `pvesh get /cluster/ha/status/{manager_status,current} --output-format json` and
//!   `corosync-quorumtool -s`: as the case says at the current simulated second;
//! - anything else: exit 127, or, on a cluster started `with_setup`, exit 0 with the command
//!   logged (`pveversion` and the certificate fingerprint answered as a node would), so that
//!   the PVE driver's bootstrap plan runs against it.
//!
//! Power is played too: a powered-off node refuses connections, and its sessions end when it
//! loses power (after its journal entries of that second were sent: a node writes, then dies;
//! a command sent to it meanwhile gets no answer).
//! A node whose network was cut stays reachable, as over a management network of its own, and
//! answers with its own view (no quorum, the status as it was when it left).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hadrill::node::{KnownHosts, SessionOptions};
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{PrivateKey, PublicKey};
use russh::server::{Auth, ChannelOpenHandle, Handle, Msg, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, Disconnect};
use serde_json::json;
use tokio::net::TcpListener;

use super::case::{Case, Record};
use super::clock::Replay;

/// One fake node, listening.
pub struct FakeNode {
    pub addr: SocketAddr,
    /// Its host key, as a known_hosts line pins it (`ssh-ed25519 AAAA…`).
    pub host_key: String,
}

/// A status or quorum question a fake node answered, at a simulated second.
#[derive(Clone, Debug, PartialEq)]
pub struct Answered {
    pub t: f64,
    pub node: String,
    pub what: Asked,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    ManagerStatus,
    Quorum,
}

/// A set-up command a fake node accepted: (simulated second, node, command).
pub type SetupLog = Arc<Mutex<Vec<(f64, String, String)>>>;

/// What a fake node answers `pveversion` with.
pub const PVEVERSION: &str = "pve-manager/8.2.4/faa83925c9641325 (running kernel: 6.8.12-4-pve)";
/// The first node's certificate fingerprint, as `openssl x509 -fingerprint` prints it.
pub const FINGERPRINT: &str =
    "3A:1F:00:C4:9E:77:AB:10:5D:E2:63:90:41:8C:B7:0F:12:34:56:78:9A:BC:DE:F0:0F:ED:CB:A9:87:65:43:21";

/// Every node of a case, listening until the runtime ends.
/// Addresses, pinned host keys and session options of the fake nodes, for a client.
pub type ClientSide = (BTreeMap<String, SocketAddr>, Arc<KnownHosts>, SessionOptions);

pub struct FakeCluster {
    pub nodes: BTreeMap<String, FakeNode>,
    /// Every status and quorum question answered, in order: when the observer's polls read.
    pub answered: Arc<Mutex<Vec<Answered>>>,
    /// The set-up commands accepted (with `with_setup`).
    pub setup: SetupLog,
}

impl FakeCluster {
    /// What a client needs to reach these nodes: their addresses, their host keys pinned
    /// before the first contact (as a lab pins them at bring-up, in `scratch`), and session
    /// options with a short connect timeout.
    pub fn client_side(&self, scratch: &std::path::Path) -> Result<ClientSide, String> {
        let pinned: String = self.nodes.iter().map(|(n, f)| format!("{n} {}\n", f.host_key)).collect();
        let known_path = scratch.join("known_hosts");
        std::fs::write(&known_path, pinned).map_err(|e| e.to_string())?;
        let known = Arc::new(KnownHosts::open(&known_path).map_err(|e| e.to_string())?);
        let addrs = self.nodes.iter().map(|(n, f)| (n.clone(), f.addr)).collect();
        let opts = SessionOptions { connect_timeout: std::time::Duration::from_secs(2), ..SessionOptions::default() };
        Ok((addrs, known, opts))
    }

    /// Starts one fake node per node of `case`, accepting `client` only.
    pub async fn start(case: Arc<Case>, replay: Arc<Replay>, client: PublicKey) -> std::io::Result<FakeCluster> {
        Self::start_with(case, replay, client, false).await
    }

    /// [`start`](Self::start), accepting the set-up commands of a bootstrap plan too.
    pub async fn with_setup(case: Arc<Case>, replay: Arc<Replay>, client: PublicKey) -> std::io::Result<FakeCluster> {
        Self::start_with(case, replay, client, true).await
    }

    async fn start_with(
        case: Arc<Case>,
        replay: Arc<Replay>,
        client: PublicKey,
        accept_setup: bool,
    ) -> std::io::Result<FakeCluster> {
        let mut nodes = BTreeMap::new();
        let answered = Arc::new(Mutex::new(Vec::new()));
        let setup: SetupLog = Arc::new(Mutex::new(Vec::new()));
        for (i, node) in case.nodes.iter().enumerate() {
            let host = PrivateKey::from(Ed25519Keypair::from_seed(&[i as u8 + 1; 32]));
            let host_key = host.public_key().to_openssh().map_err(std::io::Error::other)?;
            // The key exchanges of PVE 8's OpenSSH 9.2: no ML-KEM hybrid, whose lattice arithmetic
            // in a debug build makes a handshake take up to seconds on a busy host.
            let defaults = russh::Preferred::default();
            let kex: Vec<_> =
                defaults.kex.iter().copied().filter(|k| *k != russh::kex::MLKEM768X25519_SHA256).collect();
            let config = Arc::new(russh::server::Config {
                keys: vec![host],
                preferred: russh::Preferred { kex: kex.into(), ..defaults },
                auth_rejection_time: std::time::Duration::ZERO,
                auth_rejection_time_initial: Some(std::time::Duration::ZERO),
                inactivity_timeout: None,
                nodelay: true,
                ..Default::default()
            });
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let fake = Fake {
                node: node.clone(),
                case: case.clone(),
                replay: replay.clone(),
                client: client.clone(),
                answered: answered.clone(),
                setup: accept_setup.then(|| setup.clone()),
            };
            tokio::spawn(fake.listen(listener, config));
            nodes.insert(node.clone(), FakeNode { addr, host_key });
        }
        Ok(FakeCluster { nodes, answered, setup })
    }
}

#[derive(Clone)]
struct Fake {
    node: String,
    case: Arc<Case>,
    replay: Arc<Replay>,
    client: PublicKey,
    answered: Arc<Mutex<Vec<Answered>>>,
    /// Set-up commands are accepted and logged here.
    setup: Option<SetupLog>,
}

impl Fake {
    fn answered(&self, t: f64, what: Asked) {
        let mut log = self.answered.lock().unwrap_or_else(|p| p.into_inner());
        log.push(Answered { t, node: self.node.clone(), what });
    }

    async fn listen(self, listener: TcpListener, config: Arc<russh::server::Config>) {
        let journal = Arc::new(self.case.journal(&self.node));
        while let Ok((socket, _)) = listener.accept().await {
            let now = self.replay.sim_now();
            if !self.case.powered(&self.node, now) {
                // Nothing listens on a powered-off machine.
                drop(socket);
                continue;
            }
            let conn = Conn {
                fake: self.clone(),
                boot: self.case.boot(&self.node, now),
                journal: journal.clone(),
                streaming: Arc::new(AtomicBool::new(false)),
            };
            let config = config.clone();
            tokio::spawn(async move {
                if let Ok(session) = russh::server::run_stream(config, socket, conn).await {
                    let _ = session.await;
                }
            });
        }
    }
}

/// One SSH connection to a fake node, within one boot of it.
struct Conn {
    fake: Fake,
    boot: usize,
    journal: Arc<Vec<Record>>,
    /// A journal stream runs on this connection: it ends the session when the boot ends.
    streaming: Arc<AtomicBool>,
}

/// A command line split into words, with single quotes as a shell reads them.
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in cmd.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Sends a finished command's output and exit status, then closes the channel.
async fn reply(h: &Handle, ch: ChannelId, stdout: String, stderr: String, status: u32) {
    if !stdout.is_empty() {
        let _ = h.data(ch, stdout.into_bytes()).await;
    }
    if !stderr.is_empty() {
        let _ = h.extended_data(ch, 1, stderr.into_bytes()).await;
    }
    let _ = h.exit_status_request(ch, status).await;
    let _ = h.eof(ch).await;
    let _ = h.close(ch).await;
}

/// Where `journalctl` was asked to start, and which units.
struct Follow {
    start: usize,
    units: Vec<String>,
}

impl Conn {
    /// `journalctl` arguments as the observer writes them; `Err` is journalctl's complaint.
    fn follow(&self, args: &[String]) -> Result<Follow, String> {
        let mut f = Follow { start: 0, units: Vec::new() };
        let (mut follow, mut json) = (false, false);
        for a in args {
            match a.split_once('=') {
                None if a == "--follow" => follow = true,
                None if a == "--no-pager" => {}
                Some(("--output", "json")) => json = true,
                Some(("--unit", u)) => f.units.push(u.to_owned()),
                Some(("--since", s)) => {
                    let secs: f64 =
                        s.strip_prefix('@').and_then(|s| s.parse().ok()).ok_or(format!("bad --since {s}"))?;
                    let node = &self.fake.node;
                    f.start = self
                        .journal
                        .iter()
                        .position(|r| self.fake.replay.node_time(node, r.t) >= secs)
                        .unwrap_or(self.journal.len());
                }
                Some(("--after-cursor", c)) => {
                    let i: usize = c
                        .rsplit_once(";i=")
                        .and_then(|(_, i)| i.parse().ok())
                        .ok_or(format!("Failed to seek to cursor: {c}"))?;
                    f.start = i + 1;
                }
                _ => return Err(format!("journalctl: unrecognized option '{a}'")),
            }
        }
        if !follow || !json {
            return Err("the fake journal only follows, as JSON".into());
        }
        Ok(f)
    }

    /// The entries of this boot from `f.start` on, each at its simulated second; at the end
    /// of the boot the node dies and takes the session with it.
    async fn stream(self: Arc<Self>, h: Handle, ch: ChannelId, f: Follow) {
        let (node, replay) = (&self.fake.node, &self.fake.replay);
        let dies = self.fake.case.power_offs(node).get(self.boot).copied();
        for (i, r) in self.journal.iter().enumerate().skip(f.start) {
            if dies.is_some_and(|d| r.t > d) {
                break;
            }
            if !f.units.is_empty() && !f.units.iter().any(|u| u == r.unit) {
                continue;
            }
            tokio::time::sleep_until(replay.real_at(r.t).into()).await;
            let us = (replay.node_time(node, r.t) * 1e6).round() as i64;
            let entry = json!({
                "__CURSOR": format!("s=hadrill-replay-{node};i={i}"),
                "__REALTIME_TIMESTAMP": us.to_string(),
                "_BOOT_ID": format!("{node}-boot{}", self.boot),
                "_HOSTNAME": node,
                "_SYSTEMD_UNIT": r.unit,
                "SYSLOG_IDENTIFIER": r.ident,
                "PRIORITY": r.priority.to_string(),
                "MESSAGE": r.message,
            });
            if h.data(ch, format!("{entry}\n").into_bytes()).await.is_err() {
                return;
            }
        }
        match dies {
            Some(d) => {
                tokio::time::sleep_until(replay.real_at(d).into()).await;
                let _ = h.disconnect(Disconnect::ByApplication, "powered off".into(), String::new()).await;
            }
            // `journalctl --follow` waits for more; the session's end ends it.
            None => std::future::pending::<()>().await,
        }
    }
}

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_publickey(&mut self, user: &str, key: VerifiedPublicKey<'_>) -> Result<Auth, Self::Error> {
        let ours = user == "root" && key.public_key.key_data() == self.fake.client.key_data();
        Ok(if ours { Auth::Accept } else { Auth::reject() })
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Requests reach `exec_request`; the channel object itself is not read.
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(&mut self, ch: ChannelId, data: &[u8], session: &mut Session) -> Result<(), Self::Error> {
        let (node, case, replay) = (self.fake.node.clone(), self.fake.case.clone(), self.fake.replay.clone());
        let now = replay.sim_now();
        if case.boot(&node, now) != self.boot {
            // The machine this session talked to has lost power and answers nothing more.
            // A journal stream on it still sends what was written before and then ends the
            // session (a node writes, then dies); without one, the session ends now.
            if self.streaming.load(Ordering::SeqCst) {
                return Ok(());
            }
            return Err(russh::Error::Disconnect);
        }
        session.channel_success(ch)?;
        let h = session.handle();
        let cmd = String::from_utf8_lossy(data).into_owned();
        let clock = move |writer: &str, s: f64| replay.node_time(writer, s).floor() as i64;
        let w = words(&cmd);
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        match w.as_slice() {
            ["pvesh", "get", "/cluster/ha/status/manager_status", "--output-format", "json"] => {
                let out = case.manager_status(&node, now, &clock);
                self.fake.answered(now, Asked::ManagerStatus);
                tokio::spawn(async move { reply(&h, ch, out + "\n", String::new(), 0).await });
            }
            ["pvesh", "get", "/cluster/ha/status/current", "--output-format", "json"] => {
                let out = case.current(&node, now, &clock);
                tokio::spawn(async move { reply(&h, ch, out + "\n", String::new(), 0).await });
            }
            ["corosync-quorumtool", "-s"] => {
                let (out, status) = case.quorumtool(&node, now);
                self.fake.answered(now, Asked::Quorum);
                tokio::spawn(async move { reply(&h, ch, out, String::new(), status).await });
            }
            ["exec", "journalctl", args @ ..] => {
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                match self.follow(&args) {
                    Ok(f) => {
                        self.streaming.store(true, Ordering::SeqCst);
                        let me = Arc::new(Conn {
                            fake: self.fake.clone(),
                            boot: self.boot,
                            journal: self.journal.clone(),
                            streaming: self.streaming.clone(),
                        });
                        tokio::spawn(me.stream(h, ch, f));
                    }
                    Err(e) => {
                        tokio::spawn(async move { reply(&h, ch, String::new(), e + "\n", 1).await });
                    }
                }
            }
            _ if self.fake.setup.is_some() => {
                if let Some(log) = &self.fake.setup {
                    log.lock().unwrap_or_else(|p| p.into_inner()).push((now, node.clone(), cmd.clone()));
                }
                let out = match w.first().copied() {
                    Some("pveversion") => format!("{PVEVERSION}\n"),
                    Some("openssl") if cmd.contains("-fingerprint") => format!("{FINGERPRINT}\n"),
                    _ => String::new(),
                };
                tokio::spawn(async move { reply(&h, ch, out, String::new(), 0).await });
            }
            _ => {
                let first = w.first().copied().unwrap_or_default().to_owned();
                tokio::spawn(async move {
                    reply(&h, ch, String::new(), format!("bash: {first}: command not found\n"), 127).await
                });
            }
        }
        Ok(())
    }
}
