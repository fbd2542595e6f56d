//! One long-lived journal stream per node: `journalctl -f -o json` over the node's session,
//! parsed line by line, each entry's time moved onto the host clock with the node's measured
//! offset. When the session dies the stream ends with a reason, it is not silently polled.

use std::time::{Duration, SystemTime};

use russh::ChannelMsg;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{ClockOffset, NodeSession, SshError};

/// One journal entry of one node.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    pub node: String,
    /// `__REALTIME_TIMESTAMP` on the guest's clock, microseconds since the epoch.
    pub guest_realtime_us: i64,
    /// The same instant on the host's clock.
    pub host_time: SystemTime,
    pub boot_id: Option<String>,
    /// `_SYSTEMD_UNIT`.
    pub unit: Option<String>,
    /// `SYSLOG_IDENTIFIER`.
    pub ident: Option<String>,
    pub priority: Option<u8>,
    pub message: String,
    /// Every field as journalctl wrote it.
    pub fields: serde_json::Map<String, Value>,
}

/// What a stream yields.
#[derive(Clone, Debug, PartialEq)]
pub enum JournalItem {
    Entry(Box<JournalEntry>),
    /// The stream ended (session lost, journalctl exited); no more items follow.
    Ended {
        node: String,
        reason: String,
    },
}

/// A field that journalctl writes as a string, or as an array of bytes when it is not UTF-8.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(
            String::from_utf8_lossy(&a.iter().filter_map(|b| b.as_u64().map(|b| b as u8)).collect::<Vec<_>>())
                .into_owned(),
        ),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses one line of `journalctl -o json`.
pub fn parse_journal_line(node: &str, line: &str, offset: &ClockOffset) -> Option<JournalEntry> {
    let Value::Object(fields) = serde_json::from_str::<Value>(line).ok()? else { return None };
    let guest_realtime_us: i64 = fields.get("__REALTIME_TIMESTAMP").and_then(text)?.parse().ok()?;
    let get = |k: &str| fields.get(k).and_then(text);
    Some(JournalEntry {
        node: node.to_owned(),
        guest_realtime_us,
        host_time: offset.guest_to_host(guest_realtime_us as f64 / 1e6),
        boot_id: get("_BOOT_ID"),
        unit: get("_SYSTEMD_UNIT"),
        ident: get("SYSLOG_IDENTIFIER"),
        priority: get("PRIORITY").and_then(|p| p.parse().ok()),
        message: get("MESSAGE").unwrap_or_default(),
        fields,
    })
}

/// A running journal stream.
pub struct JournalStream {
    rx: mpsc::Receiver<JournalItem>,
    task: tokio::task::JoinHandle<()>,
}

impl JournalStream {
    /// Starts `journalctl -f -o json` on `session`, from now on (`-n 0`) or also the last
    /// `backlog` entries. The remote journalctl dies with the session's channel.
    pub async fn start(session: &NodeSession, offset: ClockOffset, backlog: u32) -> Result<Self, SshError> {
        let cmd = format!("exec journalctl --follow --output=json --lines={backlog} --no-pager");
        let mut ch = session.open_exec(&cmd, Duration::from_secs(30)).await?;
        let node = session.node().to_owned();
        let (tx, rx) = mpsc::channel(4096);
        let task = tokio::spawn(async move {
            let mut buf: Vec<u8> = Vec::new();
            let reason = loop {
                match ch.wait().await {
                    Some(ChannelMsg::Data { data }) => {
                        buf.extend_from_slice(&data);
                        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                            let line: Vec<u8> = buf.drain(..=nl).collect();
                            if let Some(e) = parse_journal_line(&node, &String::from_utf8_lossy(&line), &offset)
                                && tx.send(JournalItem::Entry(Box::new(e))).await.is_err()
                            {
                                return;
                            }
                        }
                    }
                    Some(ChannelMsg::ExitStatus { exit_status }) => {
                        break format!("journalctl exited with status {exit_status}");
                    }
                    Some(ChannelMsg::Eof | ChannelMsg::Close) | None => break "connection lost".to_owned(),
                    Some(_) => {}
                }
            };
            let _ = tx.send(JournalItem::Ended { node, reason }).await;
        });
        Ok(JournalStream { rx, task })
    }

    /// The next item; `None` once the stream has ended and everything was read.
    pub async fn next(&mut self) -> Option<JournalItem> {
        self.rx.recv().await
    }

    /// Every item that has arrived, without waiting.
    pub fn drain(&mut self) -> Vec<JournalItem> {
        let mut out = Vec::new();
        while let Ok(i) = self.rx.try_recv() {
            out.push(i);
        }
        out
    }
}

impl Drop for JournalStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn journal_json_lines_parse_and_move_to_host_time() {
        let line = r#"{"__REALTIME_TIMESTAMP":"1700000010000000","_BOOT_ID":"b1","_SYSTEMD_UNIT":"corosync.service","SYSLOG_IDENTIFIER":"corosync","PRIORITY":"6","MESSAGE":"[TOTEM ] A new membership"}"#;
        let off = ClockOffset::plain(10.0, 0.01);
        let e = parse_journal_line("node1", line, &off).unwrap();
        assert_eq!(e.unit.as_deref(), Some("corosync.service"));
        assert_eq!(e.priority, Some(6));
        assert_eq!(e.message, "[TOTEM ] A new membership");
        assert_eq!(e.host_time.duration_since(UNIX_EPOCH).unwrap().as_secs(), 1_700_000_000);
        // Non-UTF-8 messages come as byte arrays.
        let bytes = r#"{"__REALTIME_TIMESTAMP":"1","MESSAGE":[104,105]}"#;
        assert_eq!(parse_journal_line("n", bytes, &off).unwrap().message, "hi");
        assert!(parse_journal_line("n", "not json", &off).is_none());
        assert!(parse_journal_line("n", r#"{"MESSAGE":"no time"}"#, &off).is_none());
    }
}
