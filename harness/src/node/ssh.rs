//! One SSH session to one VM, reused for every call. Keepalives notice a dead peer; every
//! call has its own time limit; a call on a dead session is "connection lost", a command
//! that ran and exited non-zero is "command failed".

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::PrivateKeyWithHashAlg;
use russh::keys::PublicKeyOrCertificate;
use russh::{ChannelMsg, Disconnect};

use super::known_hosts::HostKeyCheck;
use super::{KnownHosts, RunKey, SshError};

/// How sessions behave.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Time limit of one connection attempt (TCP + key exchange + authentication).
    pub connect_timeout: Duration,
    /// Interval of SSH keepalives.
    pub keepalive: Duration,
    /// Keepalives that may go unanswered before the session counts as lost.
    pub keepalive_max: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        // Setting up a session took 2.6-8.7 s under TCG (notes/tcg-lab.md).
        SessionOptions { connect_timeout: Duration::from_secs(30), keepalive: Duration::from_secs(5), keepalive_max: 3 }
    }
}

/// What a command printed and how it exited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub status: u32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

/// What a command printed, as bytes, and how it exited ([`NodeSession::exec_io`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawOutput {
    pub status: u32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

struct Client {
    node: String,
    known: Arc<KnownHosts>,
    /// Set when the offered key differs from the pinned one, to report it precisely.
    changed: Arc<Mutex<Option<(String, String)>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(&mut self, offered: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else { return Ok(false) };
        let text = key.to_openssh().map_err(|_| russh::Error::UnknownKey)?;
        match self.known.check(&self.node, &text) {
            Ok(HostKeyCheck::Learnt | HostKeyCheck::Matches) => Ok(true),
            Ok(HostKeyCheck::Changed { pinned }) => {
                *self.changed.lock().unwrap_or_else(|p| p.into_inner()) = Some((pinned, text));
                Ok(false)
            }
            Err(_) => Ok(false),
        }
    }
}

/// A live session to one VM.
pub struct NodeSession {
    node: String,
    addr: SocketAddr,
    handle: Handle<Client>,
}

impl std::fmt::Debug for NodeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeSession")
            .field("node", &self.node)
            .field("addr", &self.addr)
            .field("closed", &self.handle.is_closed())
            .finish()
    }
}

impl NodeSession {
    /// One connection attempt as root with the run's key.
    pub async fn connect(
        node: &str,
        addr: SocketAddr,
        key: &RunKey,
        known: Arc<KnownHosts>,
        opts: &SessionOptions,
    ) -> Result<Self, SshError> {
        let config = Arc::new(client::Config {
            keepalive_interval: Some(opts.keepalive),
            keepalive_max: opts.keepalive_max,
            inactivity_timeout: None,
            nodelay: true,
            ..Default::default()
        });
        let changed = Arc::new(Mutex::new(None));
        let handler = Client { node: node.to_owned(), known, changed: changed.clone() };
        let connect_err =
            |message: String| SshError::Connect { node: node.to_owned(), addr: addr.to_string(), message };
        let attempt = async {
            let mut handle = client::connect(config, addr, handler).await.map_err(|e| {
                if let Some((pinned, offered)) = changed.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    return SshError::HostKeyChanged { node: node.to_owned(), pinned, offered };
                }
                connect_err(e.to_string())
            })?;
            let auth = handle
                .authenticate_publickey("root", PrivateKeyWithHashAlg::new(key.private.clone(), None))
                .await
                .map_err(|e| connect_err(e.to_string()))?;
            if !auth.success() {
                return Err(SshError::Auth { node: node.to_owned() });
            }
            Ok(handle)
        };
        let handle = tokio::time::timeout(opts.connect_timeout, attempt).await.map_err(|_| SshError::Timeout {
            node: node.to_owned(),
            what: format!("connecting to {addr}"),
            secs: opts.connect_timeout.as_secs_f64(),
        })??;
        Ok(NodeSession { node: node.to_owned(), addr, handle })
    }

    /// Keeps trying to connect until `deadline` (the VM may still be booting). Host key and
    /// authentication errors end the wait at once.
    pub async fn connect_until(
        node: &str,
        addr: SocketAddr,
        key: &RunKey,
        known: Arc<KnownHosts>,
        opts: &SessionOptions,
        deadline: tokio::time::Instant,
    ) -> Result<Self, SshError> {
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let this = SessionOptions {
                connect_timeout: opts.connect_timeout.min(left.max(Duration::from_secs(1))),
                ..opts.clone()
            };
            match Self::connect(node, addr, key, known.clone(), &this).await {
                Ok(s) => return Ok(s),
                Err(e @ (SshError::HostKeyChanged { .. } | SshError::Auth { .. })) => return Err(e),
                Err(e) => {
                    if tokio::time::Instant::now() + Duration::from_secs(2) >= deadline {
                        return Err(match e {
                            SshError::Timeout { .. } | SshError::Connect { .. } => SshError::Timeout {
                                node: node.to_owned(),
                                what: format!("waiting for SSH on {addr} ({e})"),
                                secs: 0.0,
                            },
                            e => e,
                        });
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the session is gone (keepalives unanswered, peer closed, or disconnected).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    fn lost(&self, e: impl std::fmt::Display) -> SshError {
        SshError::ConnectionLost { node: self.node.clone(), message: e.to_string() }
    }

    /// Opens a channel running `command`; the caller reads it. Used for long-lived streams.
    pub async fn open_exec(&self, command: &str, timeout: Duration) -> Result<russh::Channel<client::Msg>, SshError> {
        let open = async {
            let ch = self.handle.channel_open_session().await.map_err(|e| self.lost(e))?;
            ch.exec(true, command).await.map_err(|e| self.lost(e))?;
            Ok(ch)
        };
        tokio::time::timeout(timeout, open).await.map_err(|_| SshError::Timeout {
            node: self.node.clone(),
            what: format!("starting `{command}`"),
            secs: timeout.as_secs_f64(),
        })?
    }

    /// Runs `command` and returns its output and exit status, whatever the status. Its
    /// standard input is closed at once.
    pub async fn exec(&self, command: &str, timeout: Duration) -> Result<Output, SshError> {
        let raw = self.exec_io(command, &[], timeout).await?;
        Ok(Output { status: raw.status, stdout: String::from_utf8_lossy(&raw.stdout).into_owned(), stderr: raw.stderr })
    }

    /// Runs `command` with `input` on its standard input (then end of file) and returns its
    /// standard output as bytes: files in and out of a VM without scp. The input is sent
    /// before any output is read, so the command must read all of it before writing much.
    pub async fn exec_io(&self, command: &str, input: &[u8], timeout: Duration) -> Result<RawOutput, SshError> {
        let run = async {
            let mut ch = self.handle.channel_open_session().await.map_err(|e| self.lost(e))?;
            ch.exec(true, command).await.map_err(|e| self.lost(e))?;
            if !input.is_empty() {
                ch.data(input).await.map_err(|e| self.lost(e))?;
            }
            ch.eof().await.map_err(|e| self.lost(e))?;
            let (mut stdout, mut stderr, mut status) = (Vec::new(), Vec::new(), None);
            while let Some(msg) = ch.wait().await {
                match msg {
                    ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
                    ChannelMsg::ExtendedData { data, .. } => stderr.extend_from_slice(&data),
                    ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        stderr.extend_from_slice(format!("killed by signal {signal_name:?}").as_bytes());
                        status = Some(128);
                    }
                    _ => {}
                }
            }
            match status {
                Some(status) => Ok(RawOutput { status, stdout, stderr: String::from_utf8_lossy(&stderr).into_owned() }),
                None => Err(self.lost(format!("channel closed before `{command}` exited"))),
            }
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(r) => r,
            Err(_) if self.is_closed() => Err(self.lost("session closed")),
            Err(_) => Err(SshError::Timeout {
                node: self.node.clone(),
                what: format!("`{command}`"),
                secs: timeout.as_secs_f64(),
            }),
        }
    }

    /// Runs `command`; a non-zero exit status is [`SshError::CommandFailed`].
    pub async fn run(&self, command: &str, timeout: Duration) -> Result<String, SshError> {
        let out = self.exec(command, timeout).await?;
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(SshError::CommandFailed {
                node: self.node.clone(),
                command: command.to_owned(),
                status: out.status,
                stderr: out.stderr.trim().to_owned(),
            })
        }
    }

    /// Closes the session politely (best effort, bounded).
    pub async fn close(&self) {
        let _ =
            tokio::time::timeout(Duration::from_secs(3), self.handle.disconnect(Disconnect::ByApplication, "", "en"))
                .await;
    }
}
