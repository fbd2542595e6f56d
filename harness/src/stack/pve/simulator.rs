//! The Proxmox HA simulator's log (`log.expect` of the regression cases, or the output of
//! `pve-ha-tester`/`pve-ha-simulator`): `<level> <seconds> <source>: <message>`, where the
//! source is `nodeN/crm`, `nodeN/lrm`, or one of the simulated hardware's own sources
//! (`cmdlist`, `hardware`, `watchdog`, `reboot`, `shutdown`, `run-loop`).
//!
//! Mapping of the simulator's own sources:
//! - `cmdlist: execute power|network NODE on|off` → `Fault`; any other command → `Command`.
//! - `watchdog: execute power NODE off` → `Watchdog { action: "expired" }`; the
//!   `hardware: server 'NODE' stopped by poweroff (watchdog)` line after it →
//!   `Power { off, reason: "watchdog" }`.
//! - `reboot|shutdown: execute power NODE on|off` → `Power` with that reason;
//!   `reboot|shutdown: execute crm NODE stop` → `Command` (by `reboot`/`shutdown`).
//! - `hardware: starting simulation` / `exit simulation - done` are recognised and make no
//!   event; the last line's time is `Meta::end`.

use crate::timeline::{EventData, PowerState, Seconds};

use super::grammar::{At, By, Level, Sink, command_node, fault, power};

/// Parse a whole simulator log into the sink. Returns (lines, unrecognised, end).
pub(crate) fn parse(bytes: &[u8], sink: &mut Sink) -> (u64, u64, Seconds) {
    let mut lines = 0u64;
    let mut unrecognised = 0u64;
    let mut end = Seconds::ZERO;
    for raw in bytes.split(|&b| b == b'\n') {
        lines += 1;
        let text = String::from_utf8_lossy(raw);
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        let Some(line) = split(text) else {
            unrecognised += 1;
            continue;
        };
        let t = line.t;
        if t > end {
            end = t;
        }
        let at = At { t, line: lines, by: By::Raw(line.source), level: Level::from_simulator(line.level) };
        let known = match line.source.split_once('/') {
            Some((node, daemon)) => sink.daemon(&at, node, daemon, line.msg),
            None => hardware(sink, &at, line.source, line.msg) || sink.log_if_warning(&at, line.msg),
        };
        if !known {
            unrecognised += 1;
        }
    }
    // `split` counts the empty piece after a final newline as a line.
    if bytes.ends_with(b"\n") {
        lines -= 1;
    }
    (lines, unrecognised, end)
}

pub(crate) struct SimLine<'a> {
    pub level: &'a str,
    pub t: Seconds,
    pub source: &'a str,
    pub msg: &'a str,
}

/// `info    160    node1/crm: message` → its parts; None if the line is not framed so.
pub(crate) fn split(line: &str) -> Option<SimLine<'_>> {
    let (level, rest) = line.split_once(|c: char| c.is_ascii_whitespace())?;
    if level.is_empty() || level.len() > 8 || !level.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let rest = rest.trim_start();
    let (secs, rest) = rest.split_once(|c: char| c.is_ascii_whitespace())?;
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let t: f64 = secs.parse().ok()?;
    let rest = rest.trim_start();
    let (source, msg) = match rest.split_once(": ") {
        Some(parts) => parts,
        None => (rest.strip_suffix(':')?, ""),
    };
    if source.is_empty() || source.contains(' ') {
        return None;
    }
    Some(SimLine { level, t: Seconds::from_millis((t * 1000.0).round() as i64), source, msg })
}

/// The simulated hardware's own sources.
fn hardware(sink: &mut Sink, at: &At, source: &str, msg: &str) -> bool {
    if let Some(cmd) = msg.strip_prefix("execute ") {
        let data = match source {
            "cmdlist" => fault(cmd).unwrap_or_else(|| command(cmd)),
            "watchdog" => match power(cmd, "watchdog") {
                Some(EventData::Power { node, state: PowerState::Off, .. }) => {
                    EventData::Watchdog { node, action: "expired".to_owned() }
                }
                Some(other) => other,
                None => command(cmd),
            },
            // `reboot`, `shutdown`, or the hardware itself.
            reason => power(cmd, reason).unwrap_or_else(|| command(cmd)),
        };
        sink.push(at, data);
        return true;
    }
    if source != "hardware" {
        return false;
    }
    if let Some(rest) = msg.strip_prefix("server '")
        && let Some((node, how)) = rest.split_once("' stopped by poweroff")
    {
        let reason = how.trim().trim_start_matches('(').trim_end_matches(')');
        let reason = if reason.is_empty() { "poweroff" } else { reason };
        sink.push(
            at,
            EventData::Power { node: node.to_owned(), state: PowerState::Off, reason: Some(reason.to_owned()) },
        );
        return true;
    }
    msg == "starting simulation" || msg.starts_with("exit simulation")
}

fn command(cmd: &str) -> EventData {
    EventData::Command { command: cmd.to_owned(), node: command_node(cmd) }
}
