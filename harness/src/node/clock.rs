//! Each guest's clock against the host's. A persistent `bash` on the guest first names its
//! boot (`/proc/sys/kernel/random/boot_id`), then answers each line with `$EPOCHREALTIME` and
//! its monotonic time (`/proc/uptime`, read with the `read` builtin: no fork per sample, which
//! costs ~0.1 s under TCG); the sample with the shortest round trip wins, and its guest time
//! is compared with the midpoint of the host times around it. Uncertainty is half that round
//! trip. The boot and monotonic time make the measurement an anchor for `ClockMap`, which
//! maps journal entries across pauses and resets.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use russh::ChannelMsg;

use super::{NodeSession, SshError};

/// How far a guest's clock is ahead of the host's, at one instant of one boot.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClockOffset {
    /// guest − host, in seconds.
    pub offset_secs: f64,
    /// Half the round trip of the best sample, in seconds.
    pub uncertainty_secs: f64,
    /// The host's time of the best sample (seconds since the epoch).
    #[serde(default)]
    pub host_secs: f64,
    /// The guest's boot (`_BOOT_ID` in its journal, without dashes), when it said.
    #[serde(default)]
    pub boot_id: Option<String>,
    /// The guest's monotonic time at the best sample, in seconds, when it said.
    #[serde(default)]
    pub guest_mono_secs: Option<f64>,
}

impl ClockOffset {
    pub const ZERO: ClockOffset = ClockOffset {
        offset_secs: 0.0,
        uncertainty_secs: f64::INFINITY,
        host_secs: 0.0,
        boot_id: None,
        guest_mono_secs: None,
    };

    /// An offset with nothing known of the boot it was measured in.
    pub fn plain(offset_secs: f64, uncertainty_secs: f64) -> Self {
        ClockOffset { offset_secs, uncertainty_secs, ..ClockOffset::ZERO }
    }

    /// A guest timestamp (seconds since the epoch on the guest's clock) on the host's clock.
    pub fn guest_to_host(&self, guest_epoch_secs: f64) -> SystemTime {
        let host = guest_epoch_secs - self.offset_secs;
        UNIX_EPOCH + Duration::from_secs_f64(host.max(0.0))
    }
}

/// One exchange: host time sent, guest time read, host time received (epoch seconds), and
/// the guest's monotonic time when it said.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockSample {
    pub host_sent: f64,
    pub guest: f64,
    pub host_received: f64,
    pub guest_mono: Option<f64>,
}

/// The offset from the sample with the shortest round trip.
pub fn best_offset(samples: &[ClockSample]) -> Option<ClockOffset> {
    samples
        .iter()
        .filter(|s| s.host_received >= s.host_sent)
        .min_by(|a, b| (a.host_received - a.host_sent).total_cmp(&(b.host_received - b.host_sent)))
        .map(|s| {
            let mid = s.host_sent + (s.host_received - s.host_sent) / 2.0;
            ClockOffset {
                offset_secs: s.guest - mid,
                uncertainty_secs: (s.host_received - s.host_sent) / 2.0,
                host_secs: mid,
                boot_id: None,
                guest_mono_secs: s.guest_mono,
            }
        })
}

fn epoch_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Measures the guest clock of `session` with `samples` exchanges.
pub async fn measure_offset(session: &NodeSession, samples: usize, timeout: Duration) -> Result<ClockOffset, SshError> {
    let node = session.node().to_owned();
    // The remote loop has its own time limit, so it cannot outlive a lost session for long.
    // Builtins only inside the loop: a fork costs ~0.1 s under TCG.
    let cmd = "timeout 120 bash -c 'read -r b < /proc/sys/kernel/random/boot_id; echo \"boot $b\"; \
               while read -r _; do read -r up _ < /proc/uptime; echo \"$EPOCHREALTIME $up\"; done'";
    let work = async {
        let mut ch = session.open_exec(cmd, timeout).await?;
        let mut buf = String::new();
        let first = next_line(&mut ch, &mut buf, &node).await?;
        let boot = first.strip_prefix("boot ").map(|id| id.replace('-', ""));
        let mut got = Vec::with_capacity(samples);
        for _ in 0..samples {
            let sent = epoch_now();
            ch.data(&b"x\n"[..])
                .await
                .map_err(|e| SshError::ConnectionLost { node: node.clone(), message: e.to_string() })?;
            let line = next_line(&mut ch, &mut buf, &node).await?;
            let received = epoch_now();
            let sample = parse_sample(&line, sent, received).ok_or_else(|| SshError::Output {
                node: node.clone(),
                command: cmd.into(),
                output: line.clone(),
            })?;
            got.push(sample);
        }
        let _ = ch.eof().await;
        let _ = ch.close().await;
        let mut best = best_offset(&got).ok_or_else(|| SshError::Output {
            node: node.clone(),
            command: cmd.into(),
            output: "no samples".into(),
        })?;
        best.boot_id = boot;
        Ok(best)
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| SshError::Timeout {
        node: session.node().to_owned(),
        what: "measuring the clock".into(),
        secs: timeout.as_secs_f64(),
    })?
}

/// One whole line from the probe.
async fn next_line(
    ch: &mut russh::Channel<russh::client::Msg>,
    buf: &mut String,
    node: &str,
) -> Result<String, SshError> {
    loop {
        if let Some((line, rest)) = buf.split_once('\n') {
            let line = line.trim().to_owned();
            *buf = rest.to_owned();
            return Ok(line);
        }
        match ch.wait().await {
            Some(ChannelMsg::Data { data }) => buf.push_str(&String::from_utf8_lossy(&data)),
            Some(ChannelMsg::ExitStatus { .. } | ChannelMsg::Eof | ChannelMsg::Close) | None => {
                return Err(SshError::ConnectionLost {
                    node: node.to_owned(),
                    message: "clock probe ended early".into(),
                });
            }
            Some(_) => {}
        }
    }
}

/// `EPOCHREALTIME UPTIME` (a locale may write `,` for the decimal point); the uptime is
/// optional, for a guest without `/proc/uptime`.
fn parse_sample(line: &str, host_sent: f64, host_received: f64) -> Option<ClockSample> {
    let mut words = line.split_ascii_whitespace();
    let guest: f64 = words.next()?.replace(',', ".").parse().ok()?;
    let guest_mono = words.next().and_then(|w| w.replace(',', ".").parse().ok());
    Some(ClockSample { host_sent, guest, host_received, guest_mono })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_round_trip_wins() {
        let s = [
            ClockSample { host_sent: 100.0, guest: 102.9, host_received: 101.0, guest_mono: Some(50.0) },
            ClockSample { host_sent: 200.0, guest: 202.55, host_received: 200.1, guest_mono: Some(150.0) },
            // clock went backwards: ignored
            ClockSample { host_sent: 300.0, guest: 0.0, host_received: 299.0, guest_mono: None },
        ];
        let o = best_offset(&s).unwrap();
        assert!((o.offset_secs - 2.5).abs() < 1e-9, "{o:?}");
        assert!((o.uncertainty_secs - 0.05).abs() < 1e-9);
        assert!((o.host_secs - 200.05).abs() < 1e-9);
        assert_eq!(o.guest_mono_secs, Some(150.0));
        assert!(best_offset(&[]).is_none());
    }

    #[test]
    fn samples_carry_the_monotonic_time_when_the_guest_gives_it() {
        let s = parse_sample("1790000000,123456 812.44", 1.0, 2.0).unwrap();
        assert_eq!((s.guest, s.guest_mono), (1_790_000_000.123456, Some(812.44)));
        assert_eq!(parse_sample("17.5", 1.0, 2.0).unwrap().guest_mono, None);
        assert!(parse_sample("boot", 1.0, 2.0).is_none());
    }

    #[test]
    fn guest_times_are_moved_onto_the_host_clock() {
        let o = ClockOffset::plain(2.5, 0.01);
        let host = o.guest_to_host(1_000.0);
        assert_eq!(host.duration_since(UNIX_EPOCH).unwrap(), Duration::from_secs_f64(997.5));
    }
}
