//! One case replayed end to end: three (or more) fake nodes play the case back over SSH, the
//! real observer watches them, and its timeline, mapped back onto simulated seconds, is held
//! against `hadrill analyze`'s timeline of the same log, and so is the verdict of the same
//! expectation file.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hadrill::analyze::read_any;
use hadrill::check::{Bindings, Evaluation, evaluate};
use hadrill::node::{RunKey, SessionPool};
use hadrill::run::{PveObserver, PveObserverOptions};
use hadrill::timeline::{Event, EventData, Meta, Seconds, Timeline};

use super::case::Case;
use super::clock::{Replay, ReplayClocks};
use super::compare::{Timed, Truth, expected_journal, outside, same_journal_events};
use super::fake_node::{Answered, Asked, FakeCluster};

/// Real time one replay may take: the simulated span is played in about this long.
const PLAY_FOR_S: f64 = 4.0;
/// Slowest pace: 10 ms per simulated second.
const MAX_K: f64 = 0.010;
/// The observer's poll interval (real time).
const POLL: Duration = Duration::from_millis(40);

/// What one replay measured, for the trial's report.
pub struct Measured {
    pub wall: Duration,
    pub k: f64,
    pub journal_events: usize,
    pub polled_events: usize,
    /// The longest gap between two status reads, in simulated seconds.
    pub poll_gap: f64,
    /// Polled reports of a master whose status went stale.
    pub stale_masters: usize,
}

/// Journal events carry their own timestamps: the only error is the run clock's millisecond
/// (half of it each way, twice: onto the run's clock and back), plus analyze's own millisecond.
fn journal_tolerance(k: f64) -> f64 {
    0.001 / k + 0.001
}

fn describe(e: &Evaluation) -> String {
    let mut s = format!("verdict {:?}", e.verdict);
    for c in &e.checks {
        s.push_str(&format!("\n  {:?} {}: {}", c.verdict, c.name, c.message));
    }
    s
}

/// Replays `dir` and checks the observer against analyze, with each expectation file.
pub fn replay_case(dir: &Path, expectations: &[&Path]) -> Result<Measured, String> {
    // HADRILL_LOG=hadrill=debug shows what the observer did (connections, retries, reads).
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("HADRILL_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    }
    let case = Arc::new(Case::load(dir)?);
    let log = std::fs::read(dir.join("log.expect")).map_err(|e| e.to_string())?;
    let analyzed = read_any(&log, None).map_err(|e| format!("{}: {e}", case.name))?;
    let k = (PLAY_FOR_S / case.end.max(1.0)).min(MAX_K);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let (observed, answered, clocks) = rt.block_on(observe(case.clone(), k, scratch.path()))?;
    let wall = started.elapsed();

    let observed: Vec<Timed> = observed.into_iter().map(|e| (clocks.to_sim(e.t), e)).collect();
    let is_polled =
        |e: &Event| e.by.as_deref().is_some_and(|b| b.ends_with("/pvesh") || b.ends_with("/corosync-quorumtool"));
    let (polled, journal): (Vec<Timed>, Vec<Timed>) = observed.iter().cloned().partition(|e| is_polled(&e.1));

    let expected = expected_journal(&analyzed.events);
    if expected.is_empty() {
        return Err(format!("{}: the log has no node lines to compare", case.name));
    }
    same_journal_events(&expected, &journal, journal_tolerance(k)).map_err(|e| format!("{}: {e}", case.name))?;

    // A polled event is stamped when its call ended: by then the state it reports held. It
    // became news after the answering node's previous read, which the fake node logged.
    let truth = Truth::new(&case, &analyzed.events);
    let eps = journal_tolerance(k);
    for (t, e) in &polled {
        let by = e.by.as_deref().unwrap_or_default();
        let (node, what) = by.split_once('/').unwrap_or_default();
        let asked = if what == "pvesh" { Asked::ManagerStatus } else { Asked::Quorum };
        let reads: Vec<f64> = answered.iter().filter(|a| a.node == node && a.what == asked).map(|a| a.t).collect();
        let this = reads.iter().rposition(|r| *r <= t + eps);
        let lo = this.and_then(|i| i.checked_sub(1)).map_or(0.0, |i| reads[i]);
        truth.agrees(&e.data, lo - eps, t + eps).map_err(|why| {
            format!(
                "{}: polled event at t={t:.1} by {}: {}: {why}",
                case.name,
                e.by.as_deref().unwrap_or("?"),
                serde_json::to_string(&e.data).unwrap_or_default()
            )
        })?;
    }
    if !polled.iter().any(|(_, e)| e.by.as_deref().is_some_and(|b| b.ends_with("/pvesh"))) {
        return Err(format!("{}: no status poll made an event", case.name));
    }

    // The run's timeline: what the observer saw, plus what the fault catalogue and the
    // hypervisor would have recorded (the simulated hardware's events).
    let mut events: Vec<Event> = observed
        .into_iter()
        .map(|(t, e)| Event { t: Seconds::from_millis((t * 1000.0).round() as i64), ..e })
        .collect();
    events.extend(outside(&analyzed.events));
    let run = Timeline::new(events, Meta { end: Seconds(case.end), ..Meta::default() });
    for file in expectations {
        let plan = hadrill::scenario::load(file).map_err(|e| format!("{}: {e:?}", file.display()))?;
        let want = evaluate(&analyzed, &plan, &Bindings::default());
        let got = evaluate(&run, &plan, &Bindings::default());
        let verdicts =
            |e: &Evaluation| (e.verdict, e.checks.iter().map(|c| (c.name.clone(), c.verdict)).collect::<Vec<_>>());
        if verdicts(&want) != verdicts(&got) {
            return Err(format!(
                "{}: {} judges the observer's timeline otherwise than analyze's\nanalyze: {}\nobserver: {}",
                case.name,
                file.display(),
                describe(&want),
                describe(&got)
            ));
        }
    }
    let reads: Vec<f64> = answered.iter().filter(|a| a.what == Asked::ManagerStatus).map(|a| a.t).collect();
    let poll_gap = reads.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    let stale_masters = polled
        .iter()
        .filter(|(_, e)| matches!(&e.data, EventData::Daemon { daemon, to, .. } if daemon == "crm" && to == "stale"))
        .count();
    Ok(Measured { wall, k, journal_events: journal.len(), polled_events: polled.len(), poll_gap, stale_masters })
}

/// Starts the fake nodes and the observer, lets the case play to its end, and returns every
/// event the observer reported (on its run clock) with the clocks to map them back.
async fn observe(case: Arc<Case>, k: f64, scratch: &Path) -> Result<(Vec<Event>, Vec<Answered>, ReplayClocks), String> {
    let key = RunKey::create(&scratch.join("id_ed25519")).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    // The replay starts a little after the observer, so that its first second is seen whole.
    let replay = Arc::new(Replay::new(&case.nodes, t0 + Duration::from_millis(100), k));
    let fakes = FakeCluster::start(case.clone(), replay.clone(), key.private.public_key().clone())
        .await
        .map_err(|e| format!("fake nodes: {e}"))?;
    let (addrs, known, opts) = fakes.client_side(scratch)?;
    let pool = Arc::new(SessionPool::new(addrs, key, known, opts));
    let clocks = ReplayClocks { replay: replay.clone(), t0 };
    let observer = PveObserver::start(
        pool,
        Arc::new(ReplayClocks { replay: replay.clone(), t0 }),
        PveObserverOptions { poll: POLL, call_timeout: Duration::from_secs(5), retry: POLL, since: Seconds::ZERO },
    );
    // Two more polls after the last line, so that its status is read too.
    tokio::time::sleep_until((replay.real_at(case.end) + 2 * POLL).into()).await;
    if observer.failed() {
        return Err("an observer loop ended early".into());
    }
    let events = observer.stop().await;
    let answered = fakes.answered.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok((events, answered, clocks))
}
