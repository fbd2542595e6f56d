//! SSH errors. "The connection is gone" and "the command ran and failed" are different
//! variants, because a fault that cuts a node off must not look like a failing command.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SshError {
    #[error("{node}: cannot connect to {addr}: {message}")]
    #[diagnostic(code(hadrill::ssh::connect))]
    Connect { node: String, addr: String, message: String },
    #[error("{node}: connection lost: {message}")]
    #[diagnostic(code(hadrill::ssh::connection_lost))]
    ConnectionLost { node: String, message: String },
    #[error("{node}: `{command}` failed with exit status {status}: {stderr}")]
    #[diagnostic(code(hadrill::ssh::command_failed))]
    CommandFailed { node: String, command: String, status: u32, stderr: String },
    #[error("{node}: {what} did not finish within {secs:.0} s")]
    #[diagnostic(code(hadrill::ssh::timeout))]
    Timeout { node: String, what: String, secs: f64 },
    #[error("{node}: host key changed: pinned {pinned}, offered {offered}")]
    #[diagnostic(
        code(hadrill::ssh::host_key),
        help("the node's host key was learnt at first contact and is pinned for the run")
    )]
    HostKeyChanged { node: String, pinned: String, offered: String },
    #[error("{node}: the run's key was not accepted")]
    #[diagnostic(code(hadrill::ssh::auth))]
    Auth { node: String },
    #[error("key {path}: {message}")]
    #[diagnostic(code(hadrill::ssh::key))]
    Key { path: PathBuf, message: String },
    #[error("{node}: unexpected output of `{command}`: {output}")]
    #[diagnostic(code(hadrill::ssh::output))]
    Output { node: String, command: String, output: String },
}

impl SshError {
    /// Whether the node could not be reached at all (as opposed to a command failing on it).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, SshError::Connect { .. } | SshError::ConnectionLost { .. } | SshError::Timeout { .. })
    }
}
