//! What can go wrong in the lab.

use std::path::PathBuf;

/// An error of the lab: libvirt, files of the run, ownership, time limits.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LabError {
    #[error("libvirt: {op}: {source}")]
    #[diagnostic(
        code(hadrill::lab::libvirt),
        help("is libvirtd running? `mkdir -p /var/lib/libvirt/dnsmasq; virtlogd -d; libvirtd -d`")
    )]
    Libvirt {
        op: String,
        #[source]
        source: virt::error::Error,
    },
    #[error("libvirt event loop: {message}")]
    #[diagnostic(code(hadrill::lab::event_loop))]
    EventLoop { message: String },
    #[error("{kind} `{name}` does not belong to hadrill run {run}; refusing to touch it")]
    #[diagnostic(code(hadrill::lab::not_ours), help("hadrill only changes objects that carry its ownership mark"))]
    NotOurs { kind: &'static str, name: String, run: String },
    #[error("no {kind} `{name}` in run {run}")]
    #[diagnostic(code(hadrill::lab::not_found))]
    NotFound { kind: &'static str, name: String, run: String },
    #[error("{path}: {source}")]
    #[diagnostic(code(hadrill::lab::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("run record {path}: {message}")]
    #[diagnostic(code(hadrill::lab::record))]
    Record { path: PathBuf, message: String },
    #[error("no run `{run}` under {dir}")]
    #[diagnostic(code(hadrill::lab::no_run), help("`hadrill lab status` lists the runs"))]
    NoRun { run: String, dir: PathBuf },
    #[error("no free /24 for the lab networks in 10.213.0.0/16 and 10.214.0.0/16")]
    #[diagnostic(code(hadrill::lab::no_subnet), help("`hadrill gc` removes networks of dead runs"))]
    NoSubnet,
    #[error("`{command}` failed: {message}")]
    #[diagnostic(code(hadrill::lab::command))]
    Command { command: String, message: String },
    #[error("timed out after {secs:.0} s: {what}")]
    #[diagnostic(code(hadrill::lab::timeout))]
    Timeout { what: String, secs: f64 },
    #[error("interrupted")]
    #[diagnostic(code(hadrill::lab::interrupted))]
    Interrupted,
    #[error(transparent)]
    #[diagnostic(transparent)]
    Image(#[from] crate::image::ImageError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Ssh(#[from] crate::node::SshError),
}

impl LabError {
    pub fn libvirt(op: impl Into<String>, source: virt::error::Error) -> Self {
        LabError::Libvirt { op: op.into(), source }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LabError::Io { path: path.into(), source }
    }

    /// The row of the exit-code table: a run id that names no run, or an image recipe that
    /// does not load, is the user's to fix; anything else means the lab broke.
    pub fn outcome(&self) -> crate::exit::Outcome {
        use crate::exit::Outcome;
        match self {
            LabError::NoRun { .. } => Outcome::InvalidInput,
            LabError::Image(e) => e.outcome(),
            LabError::Interrupted => Outcome::Interrupted,
            _ => Outcome::InfraError,
        }
    }
}
