//! The run's one clock: t = 0 at the driver's start on the host's clock, and each VM's clock
//! history (its measurements, taken again after every resume, reset and power-on, and the
//! pauses the hypervisor reported), so that a guest's timestamp lands on the run's clock also
//! after its clock lost a pause. Every stack's side reads guest times through it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::lab_common::{lock, since};
use super::pve_observer::NodeClocks;
use crate::node::{ClockMap, ClockOffset, Stall};
use crate::timeline::Seconds;

/// Each node's clock history.
#[derive(Default)]
struct History {
    anchors: BTreeMap<String, Vec<ClockOffset>>,
    stalls: BTreeMap<String, Vec<Stall>>,
    /// Nodes paused now, since when (host seconds since the epoch).
    paused: BTreeMap<String, f64>,
}

/// The run's clock and every VM's clock history.
pub struct RunClock {
    t0: SystemTime,
    history: Mutex<History>,
}

impl RunClock {
    /// The clock of a run starting now, with the first measurement of each VM.
    pub fn start(offsets: &BTreeMap<String, ClockOffset>) -> Self {
        let anchors = offsets.iter().map(|(n, o)| (n.clone(), vec![o.clone()])).collect();
        RunClock { t0: SystemTime::now(), history: Mutex::new(History { anchors, ..History::default() }) }
    }

    pub fn t0(&self) -> SystemTime {
        self.t0
    }

    /// Seconds of the host's epoch at t = 0.
    pub fn t0_secs(&self) -> f64 {
        self.t0.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
    }

    /// `node`'s latest measured offset (guest − host, seconds); 0 when never measured.
    pub fn offset(&self, node: &str) -> f64 {
        lock(&self.history).anchors.get(node).and_then(|a| a.last()).map_or(0.0, |o| o.offset_secs)
    }

    /// A new measurement of `node`'s clock.
    pub fn measured(&self, node: &str, o: ClockOffset) {
        lock(&self.history).anchors.entry(node.to_owned()).or_default().push(o);
    }

    /// The hypervisor paused `node` at `host` (seconds since the epoch).
    pub fn paused(&self, node: &str, host: f64) {
        lock(&self.history).paused.insert(node.to_owned(), host);
    }

    /// The hypervisor resumed `node` at `host`: its clock stood still since the pause.
    pub fn resumed(&self, node: &str, host: f64) {
        let mut h = lock(&self.history);
        if let Some(from) = h.paused.remove(node) {
            h.stalls.entry(node.to_owned()).or_default().push(Stall { from, to: host });
        }
    }

    /// `node`'s clock history, for mapping its journal.
    pub fn map(&self, node: &str) -> ClockMap {
        let h = lock(&self.history);
        ClockMap::new(h.anchors.get(node).cloned().unwrap_or_default(), h.stalls.get(node).cloned().unwrap_or_default())
    }

    /// Every node's clock history (for `artefacts/clocks.json`).
    pub fn maps(&self) -> BTreeMap<String, ClockMap> {
        let nodes: Vec<String> = {
            let h = lock(&self.history);
            h.anchors.keys().chain(h.stalls.keys()).cloned().collect()
        };
        nodes.into_iter().map(|n| (n.clone(), self.map(&n))).collect()
    }
}

impl NodeClocks for RunClock {
    fn now(&self) -> Seconds {
        since(self.t0, SystemTime::now())
    }

    fn to_run(&self, node: &str, guest_us: i64) -> Seconds {
        let (host, _) = self.map(node).host_secs(None, None, guest_us as f64 / 1e6);
        Seconds::from_millis(((host - self.t0_secs()) * 1000.0).round() as i64)
    }

    fn to_node(&self, node: &str, t: Seconds) -> f64 {
        self.t0_secs() + t.as_f64() + self.offset(node)
    }

    fn map_entry(&self, node: &str, line: &[u8]) -> Option<Vec<u8>> {
        let (mapped, stats) = self.map(node).map_export(line);
        (stats.by_boot > 0).then_some(mapped)
    }

    fn host_to_run(&self, host_us: i64) -> Seconds {
        Seconds::from_millis(((host_us as f64 / 1e6 - self.t0_secs()) * 1000.0).round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(host: f64, offset: f64) -> ClockOffset {
        let mut o = ClockOffset::plain(offset, 0.001);
        o.host_secs = host;
        o
    }

    /// After a pause the node's clock is behind by the pause; the measurement taken after the
    /// resume moves what it logs then onto the host's clock, and earlier stamps keep theirs.
    #[test]
    fn a_remeasured_node_maps_by_its_latest_offset() {
        let clock = RunClock::start(&BTreeMap::new());
        let t0 = clock.t0_secs();
        clock.measured("n1", anchor(t0, 0.0));
        clock.paused("n1", t0 + 10.0);
        clock.resumed("n1", t0 + 60.0);
        clock.measured("n1", anchor(t0 + 61.0, -50.0));
        // Logged at t=70 on the host: the guest's clock read t0+20.
        let t = clock.to_run("n1", ((t0 + 20.0) * 1e6) as i64);
        assert!((t.as_f64() - 70.0).abs() < 0.01, "{t:?}");
        // Logged at t=5, before the pause.
        let t = clock.to_run("n1", ((t0 + 5.0) * 1e6) as i64);
        assert!((t.as_f64() - 5.0).abs() < 0.01, "{t:?}");
        assert_eq!(clock.offset("n1"), -50.0);
        assert_eq!(clock.offset("n2"), 0.0);
    }

    /// A live journal line of a measured boot is placed by its monotonic time: what the node
    /// logs right after a resume lands after the resume, not inside the pause.
    #[test]
    fn live_journal_lines_map_by_boot_and_monotonic_time() {
        let clock = RunClock::start(&BTreeMap::new());
        let t0 = clock.t0_secs();
        let mut a = anchor(t0, 0.0);
        a.boot_id = Some("b1".into());
        a.guest_mono_secs = Some(100.0);
        clock.measured("n1", a);
        clock.paused("n1", t0 + 10.0);
        clock.resumed("n1", t0 + 60.0);
        // Logged 1 s after the resume: monotonic 111 s (it stood still through the pause), its
        // realtime clock 50 s behind.
        let line = serde_json::json!({
            "_BOOT_ID": "b1", "__MONOTONIC_TIMESTAMP": "111000000",
            "__REALTIME_TIMESTAMP": (((t0 + 11.0) * 1e6) as i64).to_string(), "MESSAGE": "x",
        })
        .to_string();
        let mapped = clock.map_entry("n1", line.as_bytes()).expect("a measured boot");
        let v: serde_json::Value = serde_json::from_slice(&mapped).unwrap();
        let us: i64 = v["__REALTIME_TIMESTAMP"].as_str().unwrap().parse().unwrap();
        let t = clock.host_to_run(us);
        assert!((t.as_f64() - 61.0).abs() < 0.01, "{t:?}");
        // A boot never measured: not mapped here.
        let other = line.replace("\"b1\"", "\"b2\"");
        assert!(clock.map_entry("n1", other.as_bytes()).is_none());
    }
}
