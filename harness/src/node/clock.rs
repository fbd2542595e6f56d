//! Each guest's clock against the host's. A persistent `bash` on the guest answers each line
//! with `$EPOCHREALTIME` (no fork per sample, which costs ~0.1 s under TCG); the sample with
//! the shortest round trip wins, and its guest time is compared with the midpoint of the
//! host times around it. Uncertainty is half that round trip.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use russh::ChannelMsg;

use super::{NodeSession, SshError};

/// How far a guest's clock is ahead of the host's.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClockOffset {
    /// guest − host, in seconds.
    pub offset_secs: f64,
    /// Half the round trip of the best sample, in seconds.
    pub uncertainty_secs: f64,
}

impl ClockOffset {
    pub const ZERO: ClockOffset = ClockOffset { offset_secs: 0.0, uncertainty_secs: f64::INFINITY };

    /// A guest timestamp (seconds since the epoch on the guest's clock) on the host's clock.
    pub fn guest_to_host(&self, guest_epoch_secs: f64) -> SystemTime {
        let host = guest_epoch_secs - self.offset_secs;
        UNIX_EPOCH + Duration::from_secs_f64(host.max(0.0))
    }
}

/// One exchange: host time sent, guest time read, host time received (epoch seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockSample {
    pub host_sent: f64,
    pub guest: f64,
    pub host_received: f64,
}

/// The offset from the sample with the shortest round trip.
pub fn best_offset(samples: &[ClockSample]) -> Option<ClockOffset> {
    samples
        .iter()
        .filter(|s| s.host_received >= s.host_sent)
        .min_by(|a, b| (a.host_received - a.host_sent).total_cmp(&(b.host_received - b.host_sent)))
        .map(|s| {
            let mid = s.host_sent + (s.host_received - s.host_sent) / 2.0;
            ClockOffset { offset_secs: s.guest - mid, uncertainty_secs: (s.host_received - s.host_sent) / 2.0 }
        })
}

fn epoch_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Measures the guest clock of `session` with `samples` exchanges.
pub async fn measure_offset(session: &NodeSession, samples: usize, timeout: Duration) -> Result<ClockOffset, SshError> {
    let node = session.node().to_owned();
    // The remote loop has its own time limit, so it cannot outlive a lost session for long.
    let cmd = "timeout 120 bash -c 'while read -r _; do echo $EPOCHREALTIME; done'";
    let work = async {
        let mut ch = session.open_exec(cmd, timeout).await?;
        let mut got = Vec::with_capacity(samples);
        let mut buf = String::new();
        for _ in 0..samples {
            let sent = epoch_now();
            ch.data(&b"x\n"[..])
                .await
                .map_err(|e| SshError::ConnectionLost { node: node.clone(), message: e.to_string() })?;
            loop {
                match ch.wait().await {
                    Some(ChannelMsg::Data { data }) => {
                        buf.push_str(&String::from_utf8_lossy(&data));
                        if buf.contains('\n') {
                            break;
                        }
                    }
                    Some(ChannelMsg::ExitStatus { .. } | ChannelMsg::Eof | ChannelMsg::Close) | None => {
                        return Err(SshError::ConnectionLost {
                            node: node.clone(),
                            message: "clock probe ended early".into(),
                        });
                    }
                    Some(_) => {}
                }
            }
            let received = epoch_now();
            let (line, rest) =
                buf.split_once('\n').map(|(a, b)| (a.trim().to_owned(), b.to_owned())).unwrap_or_default();
            buf = rest;
            let guest: f64 = line.replace(',', ".").parse().map_err(|_| SshError::Output {
                node: node.clone(),
                command: cmd.into(),
                output: line.clone(),
            })?;
            got.push(ClockSample { host_sent: sent, guest, host_received: received });
        }
        let _ = ch.eof().await;
        let _ = ch.close().await;
        best_offset(&got).ok_or_else(|| SshError::Output {
            node: node.clone(),
            command: cmd.into(),
            output: "no samples".into(),
        })
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| SshError::Timeout {
        node: session.node().to_owned(),
        what: "measuring the clock".into(),
        secs: timeout.as_secs_f64(),
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_round_trip_wins() {
        let s = [
            ClockSample { host_sent: 100.0, guest: 102.9, host_received: 101.0 },
            ClockSample { host_sent: 200.0, guest: 202.55, host_received: 200.1 },
            ClockSample { host_sent: 300.0, guest: 0.0, host_received: 299.0 }, // clock went backwards: ignored
        ];
        let o = best_offset(&s).unwrap();
        assert!((o.offset_secs - 2.5).abs() < 1e-9, "{o:?}");
        assert!((o.uncertainty_secs - 0.05).abs() < 1e-9);
        assert!(best_offset(&[]).is_none());
    }

    #[test]
    fn guest_times_are_moved_onto_the_host_clock() {
        let o = ClockOffset { offset_secs: 2.5, uncertainty_secs: 0.01 };
        let host = o.guest_to_host(1_000.0);
        assert_eq!(host.duration_since(UNIX_EPOCH).unwrap(), Duration::from_secs_f64(997.5));
    }
}
