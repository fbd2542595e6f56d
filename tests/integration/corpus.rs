//! Every case of the Proxmox HA manager's regression corpus is analysed, one test per case:
//! no panic, every `state changed` line becomes an event, every simulated power or network
//! command becomes a fault event at its instant, and the normalised timeline matches its
//! stored insta snapshot. Cases without a stored snapshot (the corpus may grow) get the
//! structural checks and a note.

use std::path::Path;

use hadrill::analyze::{analyze_timeline, read_any};
use hadrill::check::{Bindings, Verdict, evaluate};
use hadrill::scenario;
use hadrill::timeline::{EventData, FaultKind};
use libtest_mimic::Trial;

use crate::support::{corpus, ensure, entries, repo, skipped, trial};

/// Every case of the HA manager's own corpus is safe: no split brain, no early recovery, and
/// every fence its CRM acknowledged confirmed by the simulated hardware (its power commands).
const SAFETY: &str = "name: safety\ninvariants:\n  - { never: active-on-two-nodes }\n  - { never: recovery-before-fence }\n  - { never: unconfirmed-fence }\n";

pub fn trials() -> Vec<Trial> {
    let dir = match corpus() {
        Ok(d) => d,
        Err(why) => return vec![skipped("corpus::pve-ha-manager", why)],
    };
    entries(&dir, |p| p.join("log.expect").is_file())
        .into_iter()
        .map(|case| {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            trial(format!("corpus::{name}"), move || check_case(&case, &name))
        })
        .collect()
}

fn check_case(case: &Path, name: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(case.join("log.expect")).map_err(|e| e.to_string())?;
    let timeline = read_any(text.as_bytes(), None).map_err(|e| format!("{name}: {e}"))?;

    let changes = text.lines().filter(|l| l.contains(": state changed from '")).count();
    let events =
        timeline.events.iter().filter(|e| matches!(e.data, EventData::Service { .. } | EventData::Node { .. })).count();
    ensure(changes == events, || format!("{name}: {changes} `state changed` lines but {events} service/node events"))?;

    for line in text.lines() {
        let mut w = line.split_whitespace();
        let (Some(_level), Some(t), Some("cmdlist:"), Some("execute"), Some(what), Some(node), Some(onoff)) =
            (w.next(), w.next(), w.next(), w.next(), w.next(), w.next(), w.next())
        else {
            continue;
        };
        let fault = match (what, onoff) {
            ("power", "on") => FaultKind::PowerOn,
            ("power", "off") => FaultKind::PowerOff,
            ("network", "on") => FaultKind::NetworkOn,
            ("network", "off") => FaultKind::NetworkOff,
            _ => continue,
        };
        let t: f64 = t.parse().map_err(|_| format!("{name}: bad time in {line:?}"))?;
        let found = timeline.events.iter().any(|e| {
            e.t.as_f64() == t
                && matches!(&e.data, EventData::Fault { node: n, fault: f, .. } if n == node && *f == fault)
        });
        ensure(found, || format!("{name}: no {} fault event for {node} at t={t}", fault.as_str()))?;
    }

    // The real HA manager is the oracle: its runs never put a service on two nodes and never
    // recover before fencing, so any failure here is a false alarm of hadrill's.
    let safety = scenario::parse("safety.yaml", SAFETY, None).map_err(|e| format!("{e:?}"))?;
    let checked = evaluate(&timeline, &safety, &Bindings::default());
    for c in &checked.checks {
        ensure(c.verdict != Verdict::Fail, || format!("{name}: false alarm: {}: {}", c.name, c.message))?;
    }
    // The simulator records its hardware, so a fence is never left unconfirmed there.
    let fences = checked.checks.last().filter(|c| c.name == scenario::UNCONFIRMED_FENCE);
    ensure(fences.is_some_and(|c| c.verdict == Verdict::Pass), || {
        format!("{name}: fence truth not a pass: {:?}", fences.map(|c| &c.message))
    })?;

    let analysis = analyze_timeline(timeline, None, name.to_owned());
    let stored = repo().join(format!("tests/integration/snapshots/integration__corpus__{name}.snap"));
    let updating = std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always" || v == "new");
    if stored.is_file() || updating {
        insta::with_settings!({ omit_expression => true, description => format!("normalised timeline of {name}") }, {
            insta::assert_snapshot!(name.to_owned(), analysis.snapshot);
        });
    } else {
        eprintln!(
            "corpus::{name}: no stored snapshot; structural checks only (INSTA_UPDATE=always cargo test stores one)"
        );
    }
    Ok(())
}
