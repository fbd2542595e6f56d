//! The replay's time, in one place. Simulated second `s` is played at real instant
//! `origin + s × k` (`k` real seconds per simulated second). Each fake node's clock reads
//! `EPOCH + s + skew(node)`: it runs at the simulation's pace and is off by its own skew, so
//! the observer has to move every node's timestamps with that node's clock.
//!
//! The observer's run clock is real time since it started (`t0`); `to_sim` maps its timeline
//! back onto simulated seconds: `s = (t − lead) / k` with `lead = origin − t0`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hadrill::run::NodeClocks;
use hadrill::timeline::Seconds;

/// The nodes' clocks start here (seconds since the epoch) at simulated second 0.
pub const EPOCH: i64 = 1_700_000_000;

/// Each node's clock is off by a different amount (simulated seconds), some behind.
const SKEWS: [f64; 5] = [0.0, 1.25, -0.75, 0.5, -1.5];

pub struct Replay {
    origin: Instant,
    /// Real seconds per simulated second.
    pub k: f64,
    skews: BTreeMap<String, f64>,
}

impl Replay {
    pub fn new(nodes: &[String], origin: Instant, k: f64) -> Self {
        let skews = nodes.iter().enumerate().map(|(i, n)| (n.clone(), SKEWS[i % SKEWS.len()])).collect();
        Replay { origin, k, skews }
    }

    /// The simulated second now (0 before the replay began).
    pub fn sim_now(&self) -> f64 {
        Instant::now().saturating_duration_since(self.origin).as_secs_f64() / self.k
    }

    /// The real instant of simulated second `s`.
    pub fn real_at(&self, s: f64) -> Instant {
        self.origin + Duration::from_secs_f64(s.max(0.0) * self.k)
    }

    fn skew(&self, node: &str) -> f64 {
        self.skews.get(node).copied().unwrap_or(0.0)
    }

    /// `node`'s clock at simulated second `s`, in seconds since the epoch.
    pub fn node_time(&self, node: &str, s: f64) -> f64 {
        EPOCH as f64 + s + self.skew(node)
    }

    /// The simulated second at which `node`'s clock read `secs` (seconds since the epoch).
    fn sim_of(&self, node: &str, secs: f64) -> f64 {
        secs - EPOCH as f64 - self.skew(node)
    }
}

/// The observer's view of the replay's clocks, as a lab's measured offsets would be.
pub struct ReplayClocks {
    pub replay: std::sync::Arc<Replay>,
    pub t0: Instant,
}

impl ReplayClocks {
    fn lead(&self) -> f64 {
        self.replay.origin.saturating_duration_since(self.t0).as_secs_f64()
    }

    /// An instant of the observer's timeline as a simulated second.
    pub fn to_sim(&self, t: Seconds) -> f64 {
        (t.as_f64() - self.lead()) / self.replay.k
    }
}

impl NodeClocks for ReplayClocks {
    fn now(&self) -> Seconds {
        Seconds::from_millis(self.t0.elapsed().as_millis() as i64)
    }

    fn to_run(&self, node: &str, guest_us: i64) -> Seconds {
        let s = self.replay.sim_of(node, guest_us as f64 / 1e6);
        Seconds::from_millis(((self.lead() + s * self.replay.k) * 1000.0).round() as i64)
    }

    fn to_node(&self, node: &str, t: Seconds) -> f64 {
        self.replay.node_time(node, self.to_sim(t))
    }
}
