//! From heartbeats to what a client saw: when each node's writer was live, how long nothing
//! was, and when two were at once.
//!
//! Everything here runs on the storage server's clock (`Beat::server_ms`). The writers' own
//! clocks are never compared: a node that was paused resumes with its clock behind, and its
//! beats would otherwise hide the split brain they are evidence of.
//!
//! A *run* is what one node's writer did without interruption: consecutive beats of one
//! service on one node, no further apart than `gap`, ended by a stop marker, by a new start
//! marker on that node, by a longer silence, or by the end of the log.

use std::collections::BTreeMap;
use std::time::Duration;

use super::parse::{Beat, BeatKind};
use crate::timeline::{Event, EventData, Seconds};

/// Who the workload events are attributed to on the timeline.
const BY: &str = "workload-observer";

/// The service name of every node's liveness beacon: hadrill's writer outside the HA stack,
/// whose beats become `liveness` events rather than a service's activity.
pub const LIVENESS_SERVICE: &str = "hadrill-alive";

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// The writer wrote its stop marker at this server time.
    Stop(i64),
    /// A new writer process started on the same node at this server time.
    Restart(i64),
    /// The next beat came more than `gap` later.
    Silence,
    /// The log ended with the run still going.
    Open,
}

#[derive(Clone, Debug)]
struct Run<'a> {
    service: &'a str,
    node: &'a str,
    first_ms: i64,
    last_ms: i64,
    first_seq: u64,
    last_seq: u64,
    first_line: u64,
    last_line: u64,
    end: End,
}

impl Run<'_> {
    /// The last instant the writer is known to have been live: its stop marker, or its last beat.
    fn end_ms(&self) -> i64 {
        match self.end {
            End::Stop(ms) => ms,
            _ => self.last_ms,
        }
    }

    /// The last instant the writer is known to have been alive: its stop marker, or else its
    /// last beat. The analysis runs after the fact, so it need not wait `gap` the way a live
    /// client would; and this way the check model's view of two active writers agrees exactly
    /// with `overlaps`.
    fn silent_ms(&self) -> i64 {
        match self.end {
            End::Stop(ms) => ms,
            End::Restart(_) | End::Silence | End::Open => self.last_ms,
        }
    }
}

/// The beats in server order; the observer's line order breaks ties.
fn server_order<'a>(beats: &'a [Beat], service: Option<&str>) -> Vec<&'a Beat> {
    let mut v: Vec<&Beat> = beats.iter().filter(|b| service.is_none_or(|s| b.service == s)).collect();
    v.sort_by_key(|b| (b.server_ms, b.line));
    v
}

fn runs<'a>(beats: &'a [Beat], service: Option<&str>, gap: Duration) -> Vec<Run<'a>> {
    let gap_ms = gap.as_millis() as i64;
    let mut open: BTreeMap<(&str, &str), Run<'a>> = BTreeMap::new();
    let mut done = Vec::new();
    for b in server_order(beats, service) {
        let key = (b.service.as_str(), b.node.as_str());
        match b.kind {
            BeatKind::Beat => {
                if let Some(r) = open.get_mut(&key) {
                    if b.server_ms - r.last_ms <= gap_ms {
                        r.last_ms = b.server_ms;
                        r.last_seq = b.seq;
                        r.last_line = b.line;
                        continue;
                    }
                    let mut r = open.remove(&key).expect("present");
                    r.end = End::Silence;
                    done.push(r);
                }
                open.insert(
                    key,
                    Run {
                        service: &b.service,
                        node: &b.node,
                        first_ms: b.server_ms,
                        last_ms: b.server_ms,
                        first_seq: b.seq,
                        last_seq: b.seq,
                        first_line: b.line,
                        last_line: b.line,
                        end: End::Open,
                    },
                );
            }
            // A stop or start marker without a run before it ends nothing: that writer never beat.
            BeatKind::Stop => {
                if let Some(mut r) = open.remove(&key) {
                    r.end = End::Stop(b.server_ms);
                    r.last_line = b.line;
                    done.push(r);
                }
            }
            BeatKind::Start => {
                if let Some(mut r) = open.remove(&key) {
                    r.end = End::Restart(b.server_ms);
                    done.push(r);
                }
            }
        }
    }
    done.extend(open.into_values());
    done.sort_by_key(|r| (r.first_ms, r.first_line));
    done
}

/// Timeline events: a writer turns `active` at the first beat of each run, and `silent` at its
/// stop marker or else at its last beat (a reset leaves no marker; after the fact, the last
/// beat is the last proof of life). A run still going when the log ends gets its silent event
/// too, at its last beat. At the same instant a
/// writer going silent is ordered before another becoming active, so a handover within one
/// poll is not an overlap.
pub fn activity(beats: &[Beat], gap: Duration, t0_ms: i64) -> Vec<Event> {
    // Sort rank at one instant: a writer going silent (0) before another becoming active (1),
    // but a one-beat run's own silence (2) after its activity.
    let mut timed: Vec<(i64, u8, Event)> = Vec::new();
    for r in runs(beats, None, gap) {
        let at = |ms: i64| Seconds::from_millis(ms - t0_ms);
        let event = |active: bool, seq: u64| {
            if r.service == LIVENESS_SERVICE {
                EventData::Liveness { node: r.node.to_owned(), alive: active, seq: Some(seq) }
            } else {
                EventData::Workload { service: r.service.to_owned(), node: r.node.to_owned(), active, seq: Some(seq) }
            }
        };
        timed.push((r.first_ms, 1, Event::new(at(r.first_ms), event(true, r.first_seq)).by(BY).at_line(r.first_line)));
        let silent = r.silent_ms();
        let rank = if silent == r.first_ms { 2 } else { 0 };
        timed.push((silent, rank, Event::new(at(silent), event(false, r.last_seq)).by(BY).at_line(r.last_line)));
    }
    timed.sort_by_key(|(ms, rank, _)| (*ms, *rank));
    timed.into_iter().map(|(_, _, e)| e).collect()
}

/// An interval with no live writer of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outage {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Outage {
    pub fn duration(&self) -> Duration {
        Duration::from_millis((self.to_ms - self.from_ms).max(0) as u64)
    }
}

/// Downtime of a service over a window, as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Downtime {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Beats of one writer further apart than this split its runs (see `nominal_gap`).
    pub gap: Duration,
    /// Every interval in the window without a live writer, in order.
    pub outages: Vec<Outage>,
    pub longest: Duration,
    pub total: Duration,
}

/// The gap that separates a writer's hiccup from its absence: three of its beat intervals (the
/// median spacing of consecutive beats on the writers' own clocks, which a pause cannot
/// disturb within one run), at least 1 s. With no two consecutive beats to measure, 3 s (the
/// writer's default interval is 1 s).
pub fn nominal_gap(beats: &[Beat], service: &str) -> Duration {
    let mut last: BTreeMap<&str, &Beat> = BTreeMap::new();
    let mut spacings = Vec::new();
    for b in server_order(beats, Some(service)) {
        if b.kind != BeatKind::Beat {
            last.remove(b.node.as_str());
            continue;
        }
        if let Some(prev) = last.insert(&b.node, b)
            && b.seq == prev.seq + 1
            && b.writer_ms > prev.writer_ms
        {
            spacings.push(b.writer_ms - prev.writer_ms);
        }
    }
    if spacings.is_empty() {
        return Duration::from_secs(3);
    }
    spacings.sort_unstable();
    let median = spacings[spacings.len() / 2];
    Duration::from_millis((3 * median).max(1000) as u64)
}

/// Downtime of `service` between `from_ms` and `to_ms` (server clock), with the gap from
/// `nominal_gap`.
pub fn downtime(beats: &[Beat], service: &str, from_ms: i64, to_ms: i64) -> Downtime {
    downtime_with_gap(beats, service, from_ms, to_ms, nominal_gap(beats, service))
}

/// Downtime with an explicit gap: the window minus every interval in which some node's writer
/// was live (from a run's first beat to its last beat or stop marker). A client sees the
/// service down from the last beat it got until the next one, whichever node wrote them.
pub fn downtime_with_gap(beats: &[Beat], service: &str, from_ms: i64, to_ms: i64, gap: Duration) -> Downtime {
    let mut live: Vec<(i64, i64)> = runs(beats, Some(service), gap)
        .iter()
        .map(|r| (r.first_ms.max(from_ms), r.end_ms().min(to_ms)))
        .filter(|(a, b)| a <= b)
        .collect();
    live.sort_unstable();
    let mut outages = Vec::new();
    let mut covered = from_ms;
    for (a, b) in live {
        if a > covered {
            outages.push(Outage { from_ms: covered, to_ms: a });
        }
        covered = covered.max(b);
    }
    if covered < to_ms {
        outages.push(Outage { from_ms: covered, to_ms });
    }
    let longest = outages.iter().map(Outage::duration).max().unwrap_or_default();
    let total = outages.iter().map(Outage::duration).sum();
    Downtime { from_ms, to_ms, gap, outages, longest, total }
}

/// Two nodes' writers of one service live at the same time, on the server's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlap {
    pub service: String,
    /// The two nodes, in name order.
    pub nodes: [String; 2],
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Overlap {
    pub fn duration(&self) -> Duration {
        Duration::from_millis((self.to_ms - self.from_ms).max(0) as u64)
    }
}

/// The interval two writers' runs (first beat to last, in ms) share, if they overlap: when
/// they share more than an instant, or one has a beat strictly inside the other (a writer that
/// beat once is a second writer too). Runs that only touch, as a handover seen within one poll
/// does, do not overlap. The one rule for the beats here and the check's `workload` events.
pub fn shared_interval(a: (i64, i64), b: (i64, i64)) -> Option<(i64, i64)> {
    let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
    let inside = |r: (i64, i64), t: i64| r.0 < t && t < r.1;
    (lo < hi || (lo == hi && (inside(a, lo) || inside(b, lo)))).then_some((lo, hi))
}

/// Every interval in which writers of `service` on two different nodes were both live: each
/// run spans its first beat to its last beat or stop marker, and two runs overlap when they
/// share more than an instant, or when one has a beat strictly inside the other (a writer that
/// beat once is a second writer too). Runs that only touch, as a handover seen within one poll
/// does, do not overlap.
pub fn overlaps(beats: &[Beat], service: &str, gap: Duration) -> Vec<Overlap> {
    let runs = runs(beats, Some(service), gap);
    let mut found = Vec::new();
    for (i, a) in runs.iter().enumerate() {
        for b in &runs[i + 1..] {
            if a.node == b.node {
                continue;
            }
            if let Some((lo, hi)) = shared_interval((a.first_ms, a.end_ms()), (b.first_ms, b.end_ms())) {
                let mut nodes = [a.node.to_owned(), b.node.to_owned()];
                nodes.sort();
                found.push(Overlap { service: service.to_owned(), nodes, from_ms: lo, to_ms: hi });
            }
        }
    }
    found.sort_by(|a, b| (a.from_ms, &a.nodes).cmp(&(b.from_ms, &b.nodes)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;
    /// A server clock origin that looks like a real unix time.
    const BASE: i64 = 1_790_000_000_000;

    /// Builds an observer log the way `observe` would: writers' lines, server-stamped.
    #[derive(Default)]
    struct Log {
        beats: Vec<Beat>,
    }

    impl Log {
        fn push(&mut self, server_ms: i64, node: &str, seq: u64, writer_ms: i64, kind: BeatKind) {
            let line = self.beats.len() as u64 + 1;
            self.beats.push(Beat {
                server_ms: BASE + server_ms,
                service: "svc".into(),
                node: node.into(),
                seq,
                writer_ms: BASE + writer_ms,
                kind,
                line,
            });
        }

        /// A writer on `node` started at `from_ms`, beating every `every_ms` until `to_ms`
        /// (server time), its clock `skew_ms` off the server's; optionally its stop marker.
        fn writer(&mut self, node: &str, from_ms: i64, to_ms: i64, every_ms: i64, skew_ms: i64, stop: bool) {
            self.push(from_ms, node, 0, from_ms + skew_ms, BeatKind::Start);
            self.beats_only(node, 1, from_ms, to_ms, every_ms, skew_ms);
            if stop {
                let seq = ((to_ms - from_ms) / every_ms + 1) as u64;
                self.push(to_ms + every_ms / 2, node, seq, to_ms + every_ms / 2 + skew_ms, BeatKind::Stop);
            }
        }

        fn beats_only(&mut self, node: &str, first_seq: u64, from_ms: i64, to_ms: i64, every_ms: i64, skew_ms: i64) {
            let mut seq = first_seq;
            let mut t = from_ms;
            while t <= to_ms {
                self.push(t, node, seq, t + skew_ms, BeatKind::Beat);
                seq += 1;
                t += every_ms;
            }
        }

        /// The beats as the observer's file would list them: in server order.
        fn done(mut self) -> Vec<Beat> {
            self.beats.sort_by_key(|b| b.server_ms);
            for (i, b) in self.beats.iter_mut().enumerate() {
                b.line = i as u64 + 1;
            }
            self.beats
        }
    }

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    fn workload(e: &Event) -> (f64, &str, bool) {
        let EventData::Workload { node, active, .. } = &e.data else { panic!("{e:?}") };
        (e.t.as_f64(), node.as_str(), *active)
    }

    #[test]
    fn clean_failover_is_fifty_seconds_down_and_no_overlap() {
        let mut log = Log::default();
        log.writer("a", 0, 100 * S, S, 30, true);
        log.writer("b", 150 * S, 200 * S, S, -50, true);
        let beats = log.done();
        let gap = nominal_gap(&beats, "svc");
        assert_eq!(gap, Duration::from_secs(3));
        let d = downtime(&beats, "svc", BASE, BASE + 200 * S);
        // From a's stop marker (100.5 s) to b's first beat (150 s).
        assert_eq!(d.outages, vec![Outage { from_ms: BASE + 100_500, to_ms: BASE + 150 * S }]);
        assert!((secs(d.longest) - 49.5).abs() < 1e-9 && d.total == d.longest, "{d:?}");
        assert!(overlaps(&beats, "svc", gap).is_empty());
        let ev: Vec<_> = activity(&beats, gap, BASE).iter().map(|e| (workload(e).0, workload(e).2)).collect();
        assert_eq!(ev, vec![(0.0, true), (100.5, false), (150.0, true), (200.5, false)]);
    }

    #[test]
    fn pause_split_brain_is_seen_on_the_server_clock() {
        // The notes' pause case: a is suspended at +0 for 60 s; b starts at +54; a resumes at
        // +60 with its clock 60 s behind and beats again from +62.2 until pacemaker stops it at
        // +79.2 (no stop marker reached the share); b runs on.
        let mut log = Log::default();
        log.writer("a", -120 * S, 0, S, 0, false);
        log.writer("b", 54 * S, 120 * S, S, 0, true);
        log.beats_only("a", 122, 62_200, 79_200, S, -60 * S);
        let beats = log.done();
        let gap = nominal_gap(&beats, "svc");
        let o = overlaps(&beats, "svc", gap);
        assert_eq!(o.len(), 1, "{o:?}");
        assert_eq!(o[0].nodes, ["a".to_owned(), "b".to_owned()]);
        assert_eq!((o[0].from_ms - BASE, o[0].to_ms - BASE), (62_200, 79_200));
        assert_eq!(o[0].duration(), Duration::from_secs(17));
        // On a's own clock the resumed beats are dated before b started: guest clocks would
        // have shown no overlap at all.
        let resumed: Vec<&Beat> = beats.iter().filter(|b| b.node == "a" && b.server_ms > BASE + 60 * S).collect();
        assert_eq!(resumed.len(), 18);
        assert!(resumed.iter().all(|b| b.writer_ms < BASE + 54 * S));
        // The timeline shows both active from a's return until a goes silent.
        let ev: Vec<(f64, String, bool)> = activity(&beats, gap, BASE)
            .iter()
            .map(|e| {
                let (t, n, a) = workload(e);
                (t, n.to_owned(), a)
            })
            .collect();
        let expected: Vec<(f64, String, bool)> = vec![
            (-120.0, "a".into(), true),
            (0.0, "a".into(), false),
            (54.0, "b".into(), true),
            (62.2, "a".into(), true),
            (79.2, "a".into(), false),
            (120.5, "b".into(), false),
        ];
        assert_eq!(ev, expected);
        // Downtime: from a's last beat before the pause to b's first beat.
        let d = downtime(&beats, "svc", BASE - 10 * S, BASE + 100 * S);
        assert_eq!(d.outages, vec![Outage { from_ms: BASE, to_ms: BASE + 54 * S }]);
    }

    #[test]
    fn a_reset_leaves_no_stop_marker_and_counts_from_the_last_beat() {
        let mut log = Log::default();
        log.writer("a", 0, 40 * S, S, 0, false);
        log.writer("b", 70 * S, 90 * S, S, 0, false);
        let beats = log.done();
        let d = downtime(&beats, "svc", 30 * S + BASE, 90 * S + BASE);
        assert_eq!(d.outages, vec![Outage { from_ms: BASE + 40 * S, to_ms: BASE + 70 * S }]);
        assert_eq!(d.longest, Duration::from_secs(30));
        assert!(overlaps(&beats, "svc", Duration::from_secs(3)).is_empty());
        let ev: Vec<_> = activity(&beats, Duration::from_secs(3), BASE).iter().map(|e| workload(e).0).collect();
        assert_eq!(ev, vec![0.0, 40.0, 70.0, 90.0]);
    }

    #[test]
    fn gap_threshold_edges() {
        let mut log = Log::default();
        log.push(0, "a", 1, 0, BeatKind::Beat);
        log.push(3000, "a", 2, 3000, BeatKind::Beat); // exactly gap: same run
        log.push(6001, "a", 3, 6001, BeatKind::Beat); // 1 ms more than gap: a new run
        let beats = log.done();
        let gap = Duration::from_secs(3);
        let ev: Vec<_> = activity(&beats, gap, BASE).iter().map(|e| (workload(e).0, workload(e).2)).collect();
        assert_eq!(ev, vec![(0.0, true), (3.0, false), (6.001, true), (6.001, false)]);
        let d = downtime_with_gap(&beats, "svc", BASE, BASE + 6001, gap);
        assert_eq!(d.outages, vec![Outage { from_ms: BASE + 3000, to_ms: BASE + 6001 }]);
        // One millisecond less of gap and the first pair splits too.
        let d = downtime_with_gap(&beats, "svc", BASE, BASE + 6001, Duration::from_millis(2999));
        assert_eq!(d.outages.len(), 2);
        assert_eq!(d.total, Duration::from_millis(6001));
        // A window entirely inside a run has no downtime.
        assert_eq!(downtime_with_gap(&beats, "svc", BASE + 500, BASE + 2500, gap).outages, vec![]);
    }

    #[test]
    fn restart_on_the_same_node_within_the_gap() {
        let mut log = Log::default();
        log.writer("a", 0, 10 * S, S, 0, true); // stop marker at 10.5 s
        log.writer("a", 11 * S, 20 * S, S, 0, false);
        let beats = log.done();
        let ev: Vec<_> =
            activity(&beats, Duration::from_secs(3), BASE).iter().map(|e| (workload(e).0, workload(e).2)).collect();
        assert_eq!(ev, vec![(0.0, true), (10.5, false), (11.0, true), (20.0, false)]);
        // Killed (no stop marker) and restarted: silent at its last beat, active again at the restart.
        let mut log = Log::default();
        log.writer("a", 0, 10 * S, S, 0, false);
        log.writer("a", 11 * S, 20 * S, S, 0, false);
        let ev: Vec<_> = activity(&log.done(), Duration::from_secs(3), BASE).iter().map(|e| workload(e).0).collect();
        assert_eq!(ev, vec![0.0, 10.0, 11.0, 20.0]);
    }

    #[test]
    fn one_stray_beat_is_a_second_writer_but_a_handover_is_not() {
        let gap = Duration::from_secs(3);
        let mut log = Log::default();
        log.writer("b", 0, 30 * S, S, 0, true);
        log.push(12_300, "a", 1, 12_300, BeatKind::Beat);
        let o = overlaps(&log.done(), "svc", gap);
        assert_eq!(o.len(), 1);
        assert_eq!((o[0].from_ms - BASE, o[0].duration()), (12_300, Duration::ZERO));
        // a's stop marker and b's first beat read in the same poll: they touch, no overlap.
        let mut log = Log::default();
        log.beats_only("a", 1, 0, 10 * S, S, 0);
        log.push(11 * S, "a", 11, 11 * S, BeatKind::Stop);
        log.push(11 * S, "b", 0, 11 * S, BeatKind::Start);
        log.beats_only("b", 1, 11 * S, 20 * S, S, 0);
        let beats = log.done();
        assert!(overlaps(&beats, "svc", gap).is_empty());
        // …and on the timeline a goes silent before b becomes active.
        let ev: Vec<_> = activity(&beats, gap, BASE).iter().map(|e| (workload(e).0, workload(e).2)).collect();
        assert_eq!(ev[1..3], [(11.0, false), (11.0, true)]);
    }

    #[test]
    fn services_are_kept_apart() {
        let mut log = Log::default();
        log.writer("a", 0, 10 * S, S, 0, false);
        let mut beats = log.done();
        let mut other = beats.clone();
        for b in &mut other {
            b.service = "other".into();
            b.node = "b".into();
        }
        beats.extend(other);
        assert!(overlaps(&beats, "svc", Duration::from_secs(3)).is_empty());
        let d = downtime(&beats, "other", BASE, BASE + 10 * S);
        assert!(d.outages.is_empty(), "{d:?}");
        assert_eq!(downtime(&beats, "nothing", BASE, BASE + 10 * S).total, Duration::from_secs(10));
        let services: Vec<_> = activity(&beats, Duration::from_secs(3), BASE)
            .iter()
            .map(|e| e.data.service().unwrap().to_owned())
            .collect();
        assert_eq!(services, ["other", "svc", "other", "svc"]);
    }

    #[test]
    fn events_are_workload_events_on_the_wire() {
        let mut log = Log::default();
        log.writer("a", 0, 2 * S, S, 0, true);
        let ev = activity(&log.done(), Duration::from_secs(3), BASE);
        let json = serde_json::to_string(&ev[0]).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"workload","t":0,"service":"svc","node":"a","active":true,"seq":1,"by":"workload-observer","line":2}"#
        );
    }

    #[test]
    fn nominal_gap_follows_the_writer_interval() {
        let mut log = Log::default();
        log.writer("a", 0, 10 * S, 2 * S, 0, false);
        assert_eq!(nominal_gap(&log.done(), "svc"), Duration::from_secs(6));
        let mut log = Log::default();
        log.writer("a", 0, 2 * S, 100, 0, false);
        assert_eq!(nominal_gap(&log.done(), "svc"), Duration::from_secs(1));
    }
}
