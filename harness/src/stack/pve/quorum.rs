//! `corosync-quorumtool -s` read into one node's view of quorum (the layout of
//! corosync's `tools/corosync-quorumtool.c`: "Quorum information", "Votequorum information",
//! "Membership information" with `Nodeid Votes [Qdevice] Name` rows, `(local)` on the
//! node's own row).
//!
//! Its exit code is not an error signal: the tool exits 1 when quorate and 0 when not, so
//! callers read the text whatever the code, and only an unreadable text is an error.

use super::error::StatusError;
use crate::timeline::EventData;

/// One member row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub nodeid: u32,
    pub votes: Option<u32>,
    /// The node's name (or address with `-i`).
    pub name: String,
    pub local: bool,
}

/// One node's view of quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumView {
    pub quorate: bool,
    pub node_id: u32,
    pub ring_id: String,
    pub expected_votes: Option<u32>,
    pub total_votes: Option<u32>,
    pub quorum: Option<u32>,
    pub flags: Vec<String>,
    pub members: Vec<Member>,
}

impl QuorumView {
    /// The reporting node's name, from its `(local)` row.
    pub fn local(&self) -> Option<&str> {
        self.members.iter().find(|m| m.local).map(|m| m.name.as_str())
    }

    /// As a timeline event: `node`'s view, with the member names.
    pub fn event(&self, node: &str) -> EventData {
        EventData::Quorum {
            node: node.to_owned(),
            quorate: self.quorate,
            members: Some(self.members.iter().map(|m| m.name.clone()).collect()),
        }
    }
}

/// The node id as printed: decimal, or `0x…` with `-H`.
fn parse_id(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

pub fn parse_quorumtool(text: &str) -> Result<QuorumView, StatusError> {
    let mut quorate = None;
    let mut node_id = None;
    let mut ring_id = None;
    let mut expected = None;
    let mut total = None;
    let mut quorum = None;
    let mut flags = Vec::new();
    let mut members = Vec::new();
    let mut in_members = false;
    let num = |line: usize, field: &'static str, v: &str| -> Result<u32, StatusError> {
        v.split_whitespace().next().and_then(|w| w.parse().ok()).ok_or_else(|| StatusError::QuorumValue {
            line,
            field,
            value: v.to_owned(),
        })
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with("---") {
            continue;
        }
        if l == "Membership information" {
            in_members = true;
            continue;
        }
        if in_members {
            if l.starts_with("Nodeid") {
                continue;
            }
            let mut words: Vec<&str> = l.split_whitespace().collect();
            let local = words.last() == Some(&"(local)");
            if local {
                words.pop();
            }
            // A quorum device row ends the member list's meaning; its id is 0.
            let Some(id) = words.first().and_then(|w| parse_id(w)) else {
                return Err(StatusError::QuorumValue { line, field: "member row", value: l.to_owned() });
            };
            if id == 0 {
                continue;
            }
            let (votes, name) = match words.len() {
                2 => (None, words[1]),
                3 => (words[1].parse().ok(), words[2]),
                // With a quorum device: id, votes, qdevice flags, name.
                n if n >= 4 => (words[1].parse().ok(), words[n - 1]),
                _ => return Err(StatusError::QuorumValue { line, field: "member row", value: l.to_owned() }),
            };
            members.push(Member { nodeid: id, votes, name: name.to_owned(), local });
            continue;
        }
        let Some((key, value)) = l.split_once(':') else { continue };
        let value = value.trim();
        match key.trim() {
            "Quorate" => {
                quorate = Some(match value {
                    "Yes" => true,
                    "No" => false,
                    _ => return Err(StatusError::QuorumValue { line, field: "Quorate", value: value.to_owned() }),
                })
            }
            "Node ID" => {
                node_id = Some(parse_id(value).ok_or_else(|| StatusError::QuorumValue {
                    line,
                    field: "Node ID",
                    value: value.to_owned(),
                })?)
            }
            "Ring ID" => ring_id = Some(value.to_owned()),
            "Expected votes" => expected = Some(num(line, "Expected votes", value)?),
            "Total votes" => total = Some(num(line, "Total votes", value)?),
            "Quorum" => quorum = Some(num(line, "Quorum", value)?),
            "Flags" => flags = value.split_whitespace().map(str::to_owned).collect(),
            _ => {}
        }
    }
    let hint = "is this the output of `corosync-quorumtool -s` on a running node?";
    Ok(QuorumView {
        quorate: quorate.ok_or(StatusError::QuorumField { field: "Quorate", hint })?,
        node_id: node_id.ok_or(StatusError::QuorumField { field: "Node ID", hint })?,
        ring_id: ring_id.ok_or(StatusError::QuorumField { field: "Ring ID", hint })?,
        expected_votes: expected,
        total_votes: total,
        quorum,
        flags,
        members,
    })
}
