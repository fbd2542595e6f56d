//! The Proxmox VE driver's remote side against fake nodes: the bootstrap plan run over SSH
//! (order, where each command runs, the captured fingerprint and the run's password filled
//! in), the readiness gate on the status the nodes serve (ready once the case's service runs,
//! not ready once the master has lost power), and the observer running beside them. The
//! fixture case plays at 70 ms per simulated second, so the gates fall in the right phase.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use hadrill::node::{RunKey, SessionPool};
use hadrill::run::{PveCluster, PveClusterOptions, PveObserverOptions};
use hadrill::scenario::ResourcePlan;
use hadrill::stack::pacemaker::NodeAddr;
use hadrill::stack::pve::{self, ClusterSetup, ROOT_PASSWORD, Storage, Template};
use hadrill::timeline::{EventData, Seconds};

use super::case::Case;
use super::clock::{Replay, ReplayClocks};
use super::fake_node::{FINGERPRINT, FakeCluster};

/// Real seconds per simulated second: the bootstrap (a few dozen SSH calls) fits between the
/// nodes' power-on (20) and the master's power pull (120).
const K: f64 = 0.07;
const PASSWORD: &str = "run's secret";

fn setup(nodes: &[String]) -> ClusterSetup {
    ClusterSetup {
        cluster: "hadrill1a2b3c4d".into(),
        nodes: nodes
            .iter()
            .enumerate()
            .map(|(i, n)| NodeAddr { name: n.clone(), ip: Ipv4Addr::new(10, 213, 7, 11 + i as u8) })
            .collect(),
        storage: Storage::Nfs { server: Ipv4Addr::new(10, 214, 7, 2), export: "/".into() },
        template: Template::Uploaded { name: hadrill::run::TEMPLATE.into(), ostype: Some("unmanaged".into()) },
        shutdown_policy: None,
        settle_s: 60,
    }
}

fn resources() -> Vec<ResourcePlan> {
    vec![ResourcePlan {
        id: "ct:100".into(),
        max_restart: 1,
        max_relocate: 1,
        failback: true,
        group: None,
        together: vec![],
        apart: vec![],
    }]
}

pub fn bootstrap_gate_and_observer(case_dir: &Path) -> Result<String, String> {
    let case = Arc::new(Case::load(case_dir)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    rt.block_on(run(case, scratch.path()))
}

async fn run(case: Arc<Case>, scratch: &Path) -> Result<String, String> {
    let key = RunKey::create(&scratch.join("id_ed25519")).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let replay = Arc::new(Replay::new(&case.nodes, t0 + Duration::from_millis(100), K));
    let fakes = FakeCluster::with_setup(case.clone(), replay.clone(), key.private.public_key().clone())
        .await
        .map_err(|e| format!("fake nodes: {e}"))?;
    let (addrs, known, opts) = fakes.client_side(scratch)?;
    let pool = Arc::new(SessionPool::new(addrs.clone(), key.clone(), known.clone(), opts.clone()));
    let observer_pool = Arc::new(SessionPool::new(addrs, key, known, opts));
    let clocks = Arc::new(ReplayClocks { replay: replay.clone(), t0 });
    let options = PveClusterOptions {
        observer: PveObserverOptions {
            poll: Duration::from_millis(40),
            call_timeout: Duration::from_secs(5),
            retry: Duration::from_millis(40),
            since: Seconds::ZERO,
        },
        command_limit: Duration::from_secs(10),
        call_timeout: Duration::from_secs(5),
        connect_within: Duration::from_secs(10),
        ready_every: Duration::from_millis(50),
    };
    let nodes = case.nodes.clone();
    let mut cluster = PveCluster::new(pool, nodes.clone(), clocks, options);
    cluster.start_observer(observer_pool);
    let cancel = AtomicBool::new(false);

    // The nodes are powered on at 20: the first calls wait for them.
    let version = cluster.version().await.map_err(|e| e.to_string())?;
    if version.to_string() != "8.2.4" {
        return Err(format!("version {version}"));
    }
    let plan = pve::bootstrap_plan(&setup(&nodes), &resources(), version).map_err(|e| e.to_string())?;
    let vars = BTreeMap::from([(ROOT_PASSWORD.to_owned(), PASSWORD.to_owned())]);
    let mut steps = Vec::new();
    let vars = cluster
        .bootstrap(&plan, vars, &cancel, &mut |what| steps.push(what.to_owned()))
        .await
        .map_err(|e| format!("bootstrap: {e}"))?;
    if vars.get("fingerprint").map(String::as_str) != Some(FINGERPRINT) {
        return Err(format!("the fingerprint was not captured: {vars:?}"));
    }
    if steps.len() != plan.commands.len() {
        return Err(format!("{} steps reported for {} commands", steps.len(), plan.commands.len()));
    }

    // Every command where the plan says, in its order; the joins with what was captured.
    let log = fakes.setup.lock().unwrap_or_else(|p| p.into_inner()).clone();
    // First the version probe on the first node, then the plan.
    if log.first().map(|(_, n, c)| (n.as_str(), c.as_str())) != Some((nodes[0].as_str(), "pveversion")) {
        return Err(format!("the version was not asked of {} first: {:?}", nodes[0], log.first()));
    }
    let mut at = 1;
    for c in &plan.commands {
        let want: Vec<&String> = match &c.on {
            pve::On::First => vec![&nodes[0]],
            pve::On::Node(n) => vec![n],
            pve::On::Each | pve::On::Every => nodes.iter().collect(),
        };
        let rendered = c.render(&vars).map_err(|e| e.to_string())?;
        let got: Vec<&String> = log[at..].iter().take(want.len()).map(|(_, n, _)| n).collect();
        let same = log[at..].iter().take(want.len()).all(|(_, _, cmd)| *cmd == rendered);
        let mut sorted = got.clone();
        sorted.sort();
        if sorted != want || !same {
            return Err(format!("`{}`: expected on {want:?}, the nodes got {:?}", c.what, &log[at..]));
        }
        at += want.len();
    }
    if at != log.len() {
        return Err(format!("commands beyond the plan: {:?}", &log[at..]));
    }
    let join = log.iter().find(|(_, n, c)| n == "node2" && c.contains("/cluster/config/join")).ok_or("no join")?;
    if !join.2.contains(&format!("--fingerprint '{FINGERPRINT}'")) || !join.2.contains("--password 'run'\\''s secret'")
    {
        return Err(format!("the join was sent as {}", join.2));
    }
    let done_at = log.last().map(|l| l.0).unwrap_or_default();
    if done_at >= 120.0 {
        return Err(format!("the bootstrap ended at simulated {done_at:.0} s, after the power pull: too slow a host"));
    }

    // Ready: quorate, node1 the master, every node online, ct:100 started.
    let services = vec!["ct:100".to_owned()];
    let mut waited = Vec::new();
    cluster
        .wait_ready(&services, Duration::from_secs(3), &cancel, &mut |why, _| waited.push(why.to_owned()))
        .await
        .map_err(|why| format!("not ready: {why} (before: {waited:?})"))?;
    let ready_at = replay.sim_now();
    if ready_at >= 120.0 {
        return Err(format!("ready only at simulated {ready_at:.0} s"));
    }

    // node1, the master, lost power at 120; 40 s later its status is stale.
    tokio::time::sleep_until(replay.real_at(160.0).into()).await;
    let why = match cluster.check_ready(&services).await {
        Ok(()) => return Err("ready 40 s after the master lost power".into()),
        Err(why) => why,
    };
    if !why.contains("the master node1 last wrote its status") {
        return Err(format!("not ready, but for another reason: {why}"));
    }

    let events = cluster.stop_observer().await;
    let started = events
        .iter()
        .any(|e| matches!(&e.data, EventData::Service { service, to, .. } if service == "ct:100" && to == "started"));
    let master = events.iter().any(|e| matches!(&e.data, EventData::Master { .. }));
    if !started || !master {
        return Err(format!("the observer missed the start or the master ({} events)", events.len()));
    }
    Ok(format!(
        "{} commands on {} nodes, ready at simulated {ready_at:.0} s after {} waits, then: {why}; {} observed events",
        plan.commands.len(),
        nodes.len(),
        waited.len(),
        events.len()
    ))
}
