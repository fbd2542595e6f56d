//! Journal exports of a Proxmox node (`journalctl -o short-iso-precise` and
//! `journalctl -o json`): pve-ha-crm, pve-ha-lrm, watchdog-mux, corosync, pmxcfs, kernel.
//!
//! The framing is the shared one (`stack::journal`); this module names the writer and hands
//! each message to the PVE grammar. The node is the host name; the daemon is the syslog
//! identifier, with `pve-ha-crm` and `pve-ha-lrm` shortened to `crm` and `lrm` so that `by`
//! reads as in the simulator (`node1/crm`). `t` is the time since the earliest entry
//! (exports of several nodes may be concatenated), cut to milliseconds.

use crate::stack::journal::{self as framing, Line};
use crate::timeline::Seconds;

use super::LogError;
use super::grammar::{At, By, Level, Sink};

pub(crate) use framing::{Read, looks_short};

/// `pve-ha-crm` → `crm`, `pve-ha-lrm` → `lrm`, anything else as it is.
fn daemon_of(ident: &str) -> &str {
    match ident {
        "pve-ha-crm" => "crm",
        "pve-ha-lrm" => "lrm",
        other => other,
    }
}

/// Events carry the raw microseconds in `t` while reading (exact in an f64); this puts them
/// on the timeline's clock once the earliest entry is known.
pub(crate) fn rebase(sink: &mut Sink, first_us: i64) {
    for e in &mut sink.events {
        let us = e.t.0 as i64;
        e.t = Seconds::from_millis((us - first_us).div_euclid(1000));
    }
}

/// One entry, to the grammar, with its raw microseconds as time (see `rebase`).
fn entry(sink: &mut Sink, l: &Line) -> bool {
    entry_at(sink, l, Seconds(l.us as f64))
}

/// One entry, to the grammar, at `t`: a live reader puts it on the run's clock itself.
pub(crate) fn entry_at(sink: &mut Sink, l: &Line, t: Seconds) -> bool {
    let daemon = daemon_of(l.ident);
    let level = l.priority.map_or(Level::Unknown, Level::from_priority);
    let at = At { t, line: l.line, by: By::Joined(l.host, daemon), level };
    sink.daemon(&at, l.host, daemon, l.message)
}

/// Parse `journalctl -o short-iso-precise` output.
pub(crate) fn parse_short(bytes: &[u8], sink: &mut Sink) -> Read {
    framing::read_short(bytes, |l| entry(sink, l))
}

/// Parse `journalctl -o json` output: one entry per line.
pub(crate) fn parse_json(bytes: &[u8], sink: &mut Sink) -> Result<Read, LogError> {
    Ok(framing::read_json(bytes, |l| entry(sink, l))?)
}
