//! Guest journal times onto the host's clock, across pauses and resets.
//!
//! A guest's clocks stop while the hypervisor pauses it: after the resume its realtime and
//! monotonic clocks lag the host's by the pause, until something steps them. One offset
//! measured at the start then puts everything the node logged after a resume too early (48 s
//! for a 48 s pause, measured here), inside the pause. So each entry is mapped by its boot and
//! its monotonic time:
//! - **anchors**: clock measurements ([`ClockOffset`] with the boot id and the guest's
//!   monotonic time), at the start and again after every resume, reset and power-on;
//! - **stalls**: the pauses the hypervisor saw (suspended → resumed, on the host's clock),
//!   through which the guest's clocks did not advance;
//! - an entry's host time is its monotonic time plus the offset of its stretch of the boot:
//!   the nearest anchor of that boot at or before it, moved by the stalls that lie between.
//!
//! An entry of a boot no anchor was taken in (a node reset and never reached again) is mapped
//! by its realtime the same way, across every anchor; [`MapStats`] counts such entries.

use serde_json::Value;

use super::ClockOffset;

/// A pause of the guest, on the host's clock (seconds since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stall {
    pub from: f64,
    pub to: f64,
}

impl Stall {
    fn len(&self) -> f64 {
        (self.to - self.from).max(0.0)
    }
}

/// One node's clock history: its measurements and its pauses.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ClockMap {
    /// In the order they were taken.
    pub anchors: Vec<ClockOffset>,
    /// In the order they happened.
    pub stalls: Vec<Stall>,
}

/// How an export's entries were mapped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapStats {
    /// By boot and monotonic time, from an anchor of the same boot.
    pub by_boot: usize,
    /// By realtime only: their boot had no anchor (or the entry no monotonic time).
    pub by_realtime: usize,
}

impl ClockMap {
    pub fn new(mut anchors: Vec<ClockOffset>, mut stalls: Vec<Stall>) -> Self {
        anchors.sort_by(|a, b| a.host_secs.total_cmp(&b.host_secs));
        stalls.sort_by(|a, b| a.from.total_cmp(&b.from));
        ClockMap { anchors, stalls }
    }

    /// The host time (seconds since the epoch) of an entry the guest stamped `real_secs` on its
    /// realtime clock and `mono_secs` on its monotonic clock, in boot `boot`; and whether the
    /// boot's own anchors placed it.
    pub fn host_secs(&self, boot: Option<&str>, mono_secs: Option<f64>, real_secs: f64) -> (f64, bool) {
        if let (Some(boot), Some(mono)) = (boot, mono_secs) {
            let points: Vec<(f64, f64)> = self
                .anchors
                .iter()
                .filter(|a| a.boot_id.as_deref() == Some(boot))
                .filter_map(|a| Some((a.guest_mono_secs?, a.host_secs)))
                .collect();
            if !points.is_empty() {
                return (self.walk(&points, mono, true), true);
            }
        }
        let points: Vec<(f64, f64)> = self.anchors.iter().map(|a| (a.host_secs + a.offset_secs, a.host_secs)).collect();
        if points.is_empty() {
            return (real_secs, false);
        }
        (self.walk(&points, real_secs, false), false)
    }

    /// `points` are (guest position, host time) pairs in order; the guest's position is
    /// `pos`. Take the last point at or before it (else the first) and move across the stalls
    /// in between: the guest's clock stood still through each. `from_zero`: positions are
    /// monotonic time, which cannot be negative, so a stall that would sit before zero
    /// belongs to an earlier boot.
    fn walk(&self, points: &[(f64, f64)], pos: f64, from_zero: bool) -> f64 {
        let i = points.iter().rposition(|(p, _)| *p <= pos).unwrap_or(0);
        let (p0, h0) = points[i];
        // host = position + c, for the stretch the anchor is in.
        let mut c = h0 - p0;
        if pos >= p0 {
            for s in self.stalls.iter().filter(|s| s.from >= h0) {
                // The guest's position when the stall began.
                if pos >= s.from - c {
                    c += s.len();
                } else {
                    break;
                }
            }
        } else {
            for s in self.stalls.iter().rev().filter(|s| s.to <= h0) {
                // The guest's position when the stall ended (it stood still through it).
                let at = s.to - c;
                if from_zero && at < 0.0 {
                    break;
                }
                if pos < at {
                    c -= s.len();
                } else {
                    break;
                }
            }
        }
        pos + c
    }

    /// A `journalctl -o json` export with each entry's `__REALTIME_TIMESTAMP` replaced by
    /// the host's time (microseconds), so that any reader places it on the host's clock.
    /// Lines that are not JSON objects with a realtime stamp are kept as they are.
    pub fn map_export(&self, export: &[u8]) -> (Vec<u8>, MapStats) {
        let mut out = Vec::with_capacity(export.len() + export.len() / 16);
        let mut stats = MapStats::default();
        for line in export.split(|b| *b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mapped = match serde_json::from_slice::<Value>(line) {
                Ok(Value::Object(mut m)) => {
                    let num = |v: Option<&Value>| v.and_then(Value::as_str).and_then(|s| s.parse::<i64>().ok());
                    match num(m.get("__REALTIME_TIMESTAMP")) {
                        Some(real_us) => {
                            let mono = num(m.get("__MONOTONIC_TIMESTAMP")).map(|us| us as f64 / 1e6);
                            let boot = m.get("_BOOT_ID").and_then(Value::as_str).map(|b| b.replace('-', ""));
                            let (host, by_boot) = self.host_secs(boot.as_deref(), mono, real_us as f64 / 1e6);
                            if by_boot {
                                stats.by_boot += 1;
                            } else {
                                stats.by_realtime += 1;
                            }
                            let host_us = (host * 1e6).round() as i64;
                            m.insert("__REALTIME_TIMESTAMP".into(), Value::String(host_us.to_string()));
                            serde_json::to_vec(&Value::Object(m)).ok()
                        }
                        None => None,
                    }
                }
                _ => None,
            };
            out.extend_from_slice(mapped.as_deref().unwrap_or(line));
            out.push(b'\n');
        }
        (out, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOT: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

    /// A measurement at host time `host`, with the guest's monotonic time `mono` and its
    /// realtime `offset` seconds ahead.
    fn anchor(boot: &str, host: f64, mono: f64, offset: f64) -> ClockOffset {
        ClockOffset {
            offset_secs: offset,
            uncertainty_secs: 0.005,
            host_secs: host,
            boot_id: Some(boot.into()),
            guest_mono_secs: Some(mono),
        }
    }

    /// The run of the notes (../shared/notes/tcg-lab.md, "Clocks across a pause"): measured
    /// at host 1000 (guest monotonic 500, realtime 0.2 s ahead), paused from 1100 to 1148,
    /// then the node logs its own stop of the service 1 s after the resume.
    fn paused() -> (ClockMap, f64, f64) {
        let start = anchor(BOOT, 1000.0, 500.0, 0.2);
        let stall = Stall { from: 1100.0, to: 1148.0 };
        // 1 s after the resume: monotonic 600 + 1, realtime (1000.2 + 100) + 1.
        (ClockMap::new(vec![start], vec![stall]), 601.0, 1101.2)
    }

    #[test]
    fn a_paused_nodes_post_resume_entry_lands_after_the_resume() {
        let (map, mono, real) = paused();
        // One offset measured at the start (the old way) puts it 47 s inside the pause.
        let one_offset = real - map.anchors[0].offset_secs;
        assert!((one_offset - 1101.0).abs() < 1e-6 && one_offset < 1148.0, "{one_offset}");
        // By boot and monotonic time, with the stall the hypervisor saw: after the resume.
        let (host, by_boot) = map.host_secs(Some(BOOT), Some(mono), real);
        assert!(by_boot);
        assert!((host - 1149.0).abs() < 1e-6, "{host}");
        // Its last line before the pause stays before it.
        let (before, _) = map.host_secs(Some(BOOT), Some(599.0), 1099.2);
        assert!((before - 1099.0).abs() < 1e-6, "{before}");
        // Realtime alone (no monotonic time) is mapped across the stall the same way.
        let (by_real, by_boot) = map.host_secs(None, None, real);
        assert!(!by_boot && (by_real - 1149.0).abs() < 1e-6, "{by_real}");
    }

    #[test]
    fn a_measurement_after_the_resume_wins_over_the_stall_arithmetic() {
        let (map, ..) = paused();
        // Re-measured 2 s after the resume: the guest was 0.3 s slower to resume than libvirt
        // said, so its monotonic clock reads 601.7, not 602.
        let map = ClockMap::new(vec![map.anchors[0].clone(), anchor(BOOT, 1150.0, 601.7, -47.6)], map.stalls);
        let (host, by_boot) = map.host_secs(Some(BOOT), Some(602.7), 0.0);
        assert!(by_boot);
        assert!((host - 1151.0).abs() < 1e-6, "{host}");
    }

    #[test]
    fn a_new_boot_is_mapped_by_its_own_anchor_and_earlier_stalls_do_not_leak_into_it() {
        let (map, ..) = paused();
        let reset = "aa".repeat(16);
        // Reset at host 1200; the new boot measured at 1300 at monotonic 95.
        let map = ClockMap::new(vec![map.anchors[0].clone(), anchor(&reset, 1300.0, 95.0, 0.1)], map.stalls);
        let (host, by_boot) = map.host_secs(Some(&reset), Some(10.0), 1215.1);
        assert!(by_boot);
        assert!((host - 1215.0).abs() < 1e-6, "{host}");
    }

    #[test]
    fn exports_are_rewritten_onto_the_host_clock() {
        let (map, ..) = paused();
        let boot_dashed = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        let export = format!(
            "{{\"__REALTIME_TIMESTAMP\":\"1101200000\",\"__MONOTONIC_TIMESTAMP\":\"601000000\",\"_BOOT_ID\":\"{BOOT}\",\"MESSAGE\":\"after\"}}\n\
             {{\"__REALTIME_TIMESTAMP\":\"1099200000\",\"__MONOTONIC_TIMESTAMP\":\"599000000\",\"_BOOT_ID\":\"{boot_dashed}\",\"MESSAGE\":\"before\"}}\n\
             not json\n"
        );
        let (out, stats) = map.map_export(export.as_bytes());
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("\"__REALTIME_TIMESTAMP\":\"1149000000\""), "{}", lines[0]);
        assert!(lines[1].contains("\"__REALTIME_TIMESTAMP\":\"1099000000\""), "{}", lines[1]);
        assert_eq!(lines[2], "not json");
        assert_eq!(stats, MapStats { by_boot: 2, by_realtime: 0 });
    }
}
