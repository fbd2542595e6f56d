//! Bad input gets a clear error (issue 12). One table of bad inputs, each run as a user runs
//! `hadrill`: its exit code is checked, and its whole output (stdout and stderr, temporary
//! paths as `[TMP]`) is snapshot-tested in `snapshots/integration__bad_input__<case>.snap`.
//! The README's "Bad input" section is generated from the same table and must match it.
//!
//! Nothing here starts a VM or talks to a running libvirtd: the libvirt rows name a socket or
//! a driver that does not exist, every other row stops before libvirt is asked, and every row
//! that could write gets a temporary `--state-dir` (which must stay empty) and `--out`.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use libtest_mimic::Trial;

use crate::support::{command, ensure, repo, trial};

/// One bad input.
struct Case {
    name: &'static str,
    /// What is wrong, for the README.
    what: &'static str,
    /// Files made in the case's temporary directory first; a name ending in `/` is a directory.
    files: &'static [(&'static str, &'static [u8])],
    /// Arguments; `{tmp}` is the case's temporary directory.
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    /// stdout goes to /dev/full instead of a pipe: a write that fails for want of space.
    full_stdout: bool,
    exit: i32,
    /// The diagnostic's code; clap's errors and a scenario's problems have none.
    code: Option<&'static str>,
    /// What the diagnostic says (on one line of stderr), for the README.
    says: &'static str,
}

const fn case(
    name: &'static str,
    what: &'static str,
    args: &'static [&'static str],
    exit: i32,
    code: Option<&'static str>,
    says: &'static str,
) -> Case {
    Case { name, what, files: &[], args, env: &[], full_stdout: false, exit, code, says }
}

impl Case {
    const fn files(mut self, files: &'static [(&'static str, &'static [u8])]) -> Self {
        self.files = files;
        self
    }
    const fn env(mut self, env: &'static [(&'static str, &'static str)]) -> Self {
        self.env = env;
        self
    }
    const fn full_stdout(mut self) -> Self {
        self.full_stdout = true;
        self
    }
}

/// A Pacemaker scenario that is valid and runnable: the rows past the scenario use it.
const PACEMAKER: &str = "scenarios/pacemaker/power-pull.yaml";
const PVE: &str = "scenarios/pve/power-pull.yaml";
const LOG: &str = "tests/fixtures/logs/sim-power-pull.log";

const CASES: &[Case] = &[
    // The scenario file.
    case("scenario_empty_file", "an empty scenario file", &["validate", "{tmp}/empty.yaml"], 4, None, "the file is empty")
        .files(&[("empty.yaml", b"")]),
    case("scenario_missing_file", "a scenario file that does not exist", &["validate", "{tmp}/no-such.yaml"], 4, Some("hadrill::io"), "cannot read [TMP]/no-such.yaml")
    ,
    case("scenario_is_a_directory", "a directory where the scenario file should be", &["validate", "{tmp}/dir.yaml"], 4, Some("hadrill::io"), "Is a directory")
        .files(&[("dir.yaml/", b"")]),
    case("scenario_not_utf8", "a scenario file in Latin-1, not UTF-8", &["validate", "{tmp}/latin1.yaml"], 4, None, "the file is not UTF-8: byte 0xe9 at line 1, column 10")
        .files(&[("latin1.yaml", b"name: caf\xe9\nstack: pacemaker\n")]),
    case("scenario_yaml_syntax", "YAML that does not parse (an unclosed bracket)", &["validate", "{tmp}/unclosed.yaml"], 4, None, "unclosed bracket '['")
        .files(&[("unclosed.yaml", b"name: unclosed\nstack: pacemaker\nresources: [{ id: svc }\n")]),
    case("scenario_not_a_mapping", "a list where the scenario's keys should be", &["validate", "{tmp}/list.yaml"], 4, None, "expected `key: value` pairs here")
        .files(&[("list.yaml", b"- name: listed\n- stack: pacemaker\n")]),
    case("scenario_misspelt_key", "a misspelt key", &["validate", "{tmp}/typo.yaml"], 4, None, "did you mean `max_restart`?")
        .files(&[("typo.yaml", b"name: typo\nstack: pacemaker\nresources:\n  - id: svc\n    max_restarts: 1\n")]),
    case("scenario_bad_duration", "a duration with an unknown unit (`60x`)", &["validate", "{tmp}/duration.yaml"], 4, None, "`60x` is not a duration")
        .files(&[("duration.yaml", b"name: bad-duration\nstack: pacemaker\ncluster: { nodes: 3 }\nresources: [{ id: svc }]\nsteps:\n  - id: pull\n    fault: { power-pull: { node: node1 } }\n  - expect:\n      - { service: svc, state: started, within: 60x, after: pull }\n")]),
    case("scenario_expectation_without_timing", "an expectation that does not say when", &["validate", "{tmp}/when.yaml"], 4, None, "this expectation does not say when")
        .files(&[("when.yaml", b"name: no-timing\nstack: pacemaker\ncluster: { nodes: 3 }\nresources: [{ id: svc }]\nsteps:\n  - id: pull\n    fault: { power-pull: { node: node1 } }\n  - expect:\n      - { service: svc, state: started }\n")]),
    case("scenario_expected_fail_on_an_invalid_check", "`expected: fail` on a check that is itself invalid", &["validate", "{tmp}/expected.yaml"], 4, None, "`active-on-tree-nodes` is not a service state")
        .files(&[("expected.yaml", b"name: expected-fail\nstack: pacemaker\nresources: [{ id: svc }]\ninvariants:\n  - { service: svc, never: active-on-tree-nodes, expected: fail }\n")]),
    case("scenario_forty_nodes", "a cluster of 40 nodes", &["validate", "{tmp}/forty.yaml"], 4, None, "a cluster of 40 nodes cannot be tested here")
        .files(&[("forty.yaml", b"name: forty\nstack: pacemaker\ncluster: { nodes: 40 }\n")]),
    case("run_scenario_without_stack", "`run` of a scenario that names no stack", &["run", "{tmp}/nostack.yaml", "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, Some("hadrill::run::no_stack"), "no `stack:` in the file")
        .files(&[("nostack.yaml", b"name: no-stack\nresources: [{ id: svc }]\ninvariants:\n  - { service: svc, never: active-on-two-nodes }\n")]),
    case("run_scenario_without_cluster", "`run` of a scenario without a cluster", &["run", "{tmp}/nocluster.yaml", "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, Some("hadrill::run::no_cluster"), "needs a `cluster:`")
        .files(&[("nocluster.yaml", b"name: no-cluster\nstack: pacemaker\nresources: [{ id: svc }]\ninvariants:\n  - { service: svc, never: active-on-two-nodes }\n")]),
    // The command line.
    case("cli_unknown_subcommand", "an unknown subcommand", &["frobnicate"], 4, None, "unrecognized subcommand 'frobnicate'"),
    case("cli_unknown_flag", "an unknown flag", &["validate", "--frob", PACEMAKER], 4, None, "unexpected argument '--frob' found"),
    case("cli_run_without_scenario", "`run` without a scenario", &["run", "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, None, "the following required arguments were not provided"),
    case("cli_stack_mismatch", "`--stack` that contradicts the file's `stack:`", &["run", "--stack", "pacemaker", PVE, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, Some("hadrill::run::stack_mismatch"), "is written for the pve stack, not pacemaker"),
    case("cli_sabotage_on_pve", "`--sabotage` with a Proxmox VE scenario", &["run", "--sabotage", "no-sbd", PVE, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, Some("hadrill::run::sabotage_stack"), "--sabotage breaks a Pacemaker set-up"),
    case("cli_sabotage_unknown", "an unknown `--sabotage` kind", &["run", "--sabotage", "nonsense", PACEMAKER, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, None, "invalid value 'nonsense' for '--sabotage <KIND>'"),
    case("cli_lab_down_not_a_run_id", "`lab down` of something that is not a run id", &["lab", "down", "nothex", "--state-dir", "{tmp}/state"], 4, None, "invalid value 'nothex' for '<RUN>': not a run id"),
    case("cli_gc_run_not_a_run_id", "`gc --run` of something that is not a run id", &["gc", "--run", "zz", "--state-dir", "{tmp}/state"], 4, None, "invalid value 'zz' for '--run <RUN>': not a run id"),
    case("cli_lab_down_unknown_run", "`lab down` of a run that does not exist", &["lab", "down", "0000abcd", "--state-dir", "{tmp}/state"], 4, Some("hadrill::lab::no_run"), "no run `0000abcd` under [TMP]/state/runs"),
    case("cli_lab_up_zero_nodes", "`lab up --nodes 0`", &["lab", "up", "--nodes", "0", "--state-dir", "{tmp}/state"], 4, None, "0 is not in 1..=16"),
    case("cli_analyze_missing_log", "`analyze` of a log that does not exist", &["analyze", "{tmp}/no-such.log"], 4, None, "cannot read [TMP]/no-such.log"),
    case("cli_analyze_empty_log", "`analyze` of an empty log", &["analyze", "{tmp}/empty.log"], 4, None, "the log is empty")
        .files(&[("empty.log", b"")]),
    case("cli_analyze_unknown_format", "`analyze` of a log in no known format", &["analyze", "{tmp}/notes.txt"], 4, None, "unknown log format: line 1")
        .files(&[("notes.txt", b"this is not an HA log\nat all\n")]),
    case("cli_analyze_bad_expect", "`analyze --expect` of an invalid expectation file", &["analyze", LOG, "--expect", "tests/fixtures/scenarios/invalid/unknown-state.yaml"], 4, None, "`runing` is not a service state"),
    case("cli_analyze_report_not_creatable", "`analyze --report` into a place that cannot be made (/proc)", &["analyze", LOG, "--report", "/proc/hadrill-x"], 3, Some("hadrill::report::dir"), "cannot create the report directory /proc/hadrill-x"),
    case("cli_analyze_report_is_a_file", "`analyze --report` naming a file", &["analyze", LOG, "--report", "{tmp}/file"], 3, Some("hadrill::report::dir"), "cannot create the report directory [TMP]/file"),
    // A full device: stdout that cannot be written.
    case("full_stdout_analyze", "`analyze --json` into a full device", &["analyze", LOG, "--json"], 3, Some("hadrill::stdout"), "cannot write to standard output")
        .full_stdout(),
    case("full_stdout_validate", "`validate` into a full device", &["validate", PACEMAKER], 3, Some("hadrill::stdout"), "cannot write to standard output")
        .full_stdout(),
    case("full_stdout_schema", "`schema` into a full device", &["schema"], 3, Some("hadrill::stdout"), "cannot write to standard output")
        .full_stdout(),
    // The run directory and the JUnit file.
    case("run_dir_not_creatable", "`--out` where nothing can be made (/proc)", &["run", PACEMAKER, "--state-dir", "{tmp}/state", "--out", "/proc/hadrill-x"], 3, Some("hadrill::run::run_dir"), "the run directory /proc/hadrill-x cannot be written"),
    case("run_dir_is_a_file", "`--out` naming a file", &["run", PACEMAKER, "--state-dir", "{tmp}/state", "--out", "{tmp}/file"], 3, Some("hadrill::run::run_dir"), "the run directory [TMP]/file cannot be written"),
    case("run_junit_not_creatable", "`--junit` where nothing can be made (/proc)", &["run", PACEMAKER, "--state-dir", "{tmp}/state", "--out", "{tmp}/out", "--junit", "/proc/hadrill-x/junit.xml"], 3, Some("hadrill::run::junit"), "cannot write /proc/hadrill-x/junit.xml"),
    case("run_junit_is_a_directory", "`--junit` naming a directory", &["run", PACEMAKER, "--state-dir", "{tmp}/state", "--out", "{tmp}/out", "--junit", "{tmp}/dir"], 3, Some("hadrill::run::junit"), "cannot write [TMP]/dir")
        .files(&[("dir/", b"")]),
    // The image.
    case("image_run_unknown_recipe", "`run --image` of a recipe that does not exist", &["run", PACEMAKER, "--image", "no-such-recipe", "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, Some("hadrill::run::recipe"), "no recipe `no-such-recipe` in images"),
    case("image_build_unknown_recipe", "`image build` of a recipe that does not exist", &["image", "build", "no-such-recipe", "--state-dir", "{tmp}/state"], 4, Some("hadrill::image::no_recipe"), "no recipe `no-such-recipe` in images"),
    case("image_lab_up_unknown_recipe", "`lab up --image` of a recipe that does not exist", &["lab", "up", "--image", "no-such-recipe", "--state-dir", "{tmp}/state"], 4, Some("hadrill::image::no_recipe"), "no recipe `no-such-recipe` in images"),
    case("env_images_dir_missing_run", "`HADRILL_IMAGES_DIR` that does not exist, for `run`", &["run", PACEMAKER, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, Some("hadrill::run::recipe"), "no recipe `debian-ha` in /nonexistent/images")
        .env(&[("HADRILL_IMAGES_DIR", "/nonexistent/images")]),
    case("env_images_dir_missing_list", "`HADRILL_IMAGES_DIR` that does not exist, for `image list`", &["image", "list", "--state-dir", "{tmp}/state"], 4, Some("hadrill::image::recipes_dir"), "the recipes directory /nonexistent/images cannot be read")
        .env(&[("HADRILL_IMAGES_DIR", "/nonexistent/images")]),
    // The host: hadrill-workload and libvirtd.
    case("env_workload_missing", "`HADRILL_WORKLOAD_BIN` naming no file (hadrill-workload missing)", &["run", PACEMAKER, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 3, Some("hadrill::run::no_workload"), "/nonexistent/hadrill-workload not found")
        .env(&[("HADRILL_WORKLOAD_BIN", "/nonexistent/hadrill-workload")]),
    case("env_libvirt_not_running", "`HADRILL_LIBVIRT_URI` at a libvirtd socket that does not exist (no libvirtd)", &["run", PACEMAKER, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 3, Some("hadrill::run::libvirt"), "does not answer")
        .env(&[("HADRILL_LIBVIRT_URI", "qemu+unix:///system?socket=/nonexistent")]),
    case("cli_connect_not_running", "`--connect` to a libvirtd socket that does not exist (no libvirtd)", &["run", PACEMAKER, "--connect", "qemu+unix:///system?socket=/nonexistent/libvirt-sock", "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 3, Some("hadrill::run::libvirt"), "does not answer"),
    case("cli_connect_no_driver", "`--connect` to a URI no libvirt driver serves", &["run", PACEMAKER, "--connect", "bogus:///x", "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 3, Some("hadrill::run::libvirt"), "no connection driver available for bogus:///x"),
    // The Proxmox VE access settings: a value that cannot mean anything is bad input (4); a
    // file that is not there is what this host lacks (3).
    case("env_pve_release_unknown", "`HADRILL_PVE_RELEASE=7`", &["run", PVE, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, Some("hadrill::run::pve_access"), "HADRILL_PVE_RELEASE=`7`: expected 8 or 9")
        .env(&[("HADRILL_PVE_RELEASE", "7")]),
    case("env_pve_mirror_not_http", "`HADRILL_PVE_MIRROR` that is not an http(s) URL", &["run", PVE, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, Some("hadrill::run::pve_access"), "the mirror URL `ftp://mirror.lab/debian`")
        .env(&[("HADRILL_PVE_MIRROR", "ftp://mirror.lab/debian")]),
    case("env_pve_apt_proxy_not_http", "`HADRILL_PVE_APT_PROXY` that is not an http(s) URL", &["run", PVE, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, Some("hadrill::run::pve_access"), "the APT proxy URL `proxy.lab:3142`")
        .env(&[("HADRILL_PVE_MIRROR", "http://mirror.lab/debian"), ("HADRILL_PVE_APT_PROXY", "proxy.lab:3142")]),
    case("env_pve_iso_prepared_not_a_flag", "`HADRILL_PVE_ISO_PREPARED=maybe`", &["run", PVE, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 4, Some("hadrill::run::pve_access"), "HADRILL_PVE_ISO_PREPARED=`maybe`: expected 1 or 0")
        .env(&[("HADRILL_PVE_ISO", "/nonexistent/proxmox-ve.iso"), ("HADRILL_PVE_ISO_PREPARED", "maybe")]),
    case("env_pve_iso_missing", "`HADRILL_PVE_ISO` naming no file", &["run", PVE, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 3, Some("hadrill::run::pve_access"), "the Proxmox VE ISO /nonexistent/proxmox-ve.iso")
        .env(&[("HADRILL_PVE_ISO", "/nonexistent/proxmox-ve.iso")]),
    case("env_pve_keyring_missing", "`HADRILL_PVE_KEYRING` naming no file", &["run", PVE, "--state-dir", "{tmp}/state", "--out", "{tmp}/out"], 3, Some("hadrill::run::pve_access"), "the keyring /nonexistent/key.gpg")
        .env(&[("HADRILL_PVE_MIRROR", "http://mirror.lab/debian"), ("HADRILL_PVE_KEYRING", "/nonexistent/key.gpg")]),
];

/// Commands that can write into the state directory or make a run directory.
const WRITERS: [&str; 4] = ["run", "lab", "image", "gc"];

/// How long one case may take: each stops before any lab, in well under a second; a case
/// that got further is killed rather than left to build images.
const DEADLINE: Duration = Duration::from_secs(120);

pub fn trials() -> Vec<Trial> {
    let mut out: Vec<Trial> = CASES.iter().map(|c| trial(format!("bad_input::{}", c.name), move || check(c))).collect();
    out.push(trial("bad_input::at_least_thirty_cases_with_distinct_names", || {
        let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        ensure(names.len() == CASES.len(), || "two cases share a name".into())?;
        ensure(CASES.len() >= 30, || format!("only {} cases", CASES.len()))
    }));
    out.push(trial("bad_input::writers_get_temporary_directories", || {
        for c in CASES.iter().filter(|c| WRITERS.contains(&c.args[0])) {
            let has = |flag: &str| c.args.windows(2).any(|w| w[0] == flag && w[1].starts_with("{tmp}/"));
            ensure(has("--state-dir"), || format!("{}: no temporary --state-dir", c.name))?;
            ensure(c.args[0] != "run" || c.args.contains(&"--out"), || format!("{}: no --out", c.name))?;
        }
        Ok(())
    }));
    out.push(trial("bad_input::readme_shows_the_table", || {
        let text = std::fs::read_to_string(repo().join("README.md")).map_err(|e| e.to_string())?;
        let (start, end) = ("<!-- bad-input:start -->\n", "<!-- bad-input:end -->");
        let section = text
            .split_once(start)
            .and_then(|(_, rest)| rest.split_once(end))
            .map(|(s, _)| s)
            .ok_or("README.md has no bad-input section")?;
        let want = readme_table();
        ensure(section == want, || {
            format!("README.md's bad-input table differs from the test's; it should be:\n{want}")
        })
    }));
    out
}

/// Runs one case and checks its exit code, what it says, and that it left nothing behind.
fn check(c: &Case) -> Result<(), String> {
    let tmp = tempfile::Builder::new()
        .prefix("hadrill-bad-")
        // A fixed place keeps the paths, and so miette's line wrapping, the same everywhere.
        .tempdir_in("/tmp")
        .map_err(|e| e.to_string())?;
    let root = tmp.path().to_str().ok_or("temporary path is not UTF-8")?.to_owned();
    for (name, bytes) in c.files {
        let path = tmp.path().join(name);
        if name.ends_with('/') { std::fs::create_dir_all(&path) } else { std::fs::write(&path, bytes) }
            .map_err(|e| format!("{name}: {e}"))?;
    }
    let state = tmp.path().join("state");
    std::fs::create_dir(&state).map_err(|e| e.to_string())?;
    std::fs::write(tmp.path().join("file"), b"a file, not a directory\n").map_err(|e| e.to_string())?;

    let args: Vec<String> = c.args.iter().map(|a| a.replace("{tmp}", &root)).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // The workload binary only has to exist; hadrill itself does, wherever the build put it.
    let mut env = vec![("HADRILL_WORKLOAD_BIN", env!("CARGO_BIN_EXE_hadrill"))];
    env.retain(|(k, _)| !c.env.iter().any(|(ck, _)| ck == k));
    env.extend(c.env.iter().copied());
    let mut cmd = command(&args, &env);
    // Nothing from the caller's environment (state dir, libvirt URI, recipes) but the row's.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("HADRILL_") && !env.iter().any(|(e, _)| e == k)) {
        cmd.env_remove(k);
    }
    cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    if c.full_stdout {
        cmd.stdout(std::fs::OpenOptions::new().write(true).open("/dev/full").map_err(|e| format!("/dev/full: {e}"))?);
    } else {
        cmd.stdout(Stdio::piped());
    }
    let (code, stdout, stderr) = run(cmd)?;
    let redact = |s: &str| s.replace(&root, "[TMP]");
    let (stdout, stderr) = (redact(&stdout), redact(&stderr));
    let shown = || format!("exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}");

    ensure(code == c.exit, || format!("want exit {}, got {}", c.exit, shown()))?;
    ensure(!stderr.contains("panicked"), || format!("hadrill panicked: {}", shown()))?;
    if let Some(code) = c.code {
        ensure(stderr.contains(code), || format!("no diagnostic code {code}: {}", shown()))?;
    }
    ensure(stderr.contains(c.says), || format!("does not say {:?}: {}", c.says, shown()))?;
    let left: Vec<_> = std::fs::read_dir(&state).map_err(|e| e.to_string())?.flatten().map(|e| e.path()).collect();
    ensure(left.is_empty(), || format!("left {left:?} in the state directory"))?;

    let env: String = c.env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    let redirect = if c.full_stdout { " > /dev/full" } else { "" };
    let text = format!(
        "$ {env}hadrill {}{redirect}\nexit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        c.args.join(" ").replace("{tmp}", "[TMP]")
    );
    insta::with_settings!({ snapshot_suffix => "", omit_expression => true, description => c.what }, {
        insta::assert_snapshot!(c.name, text);
    });
    Ok(())
}

/// Runs `cmd` to its end, or kills it at the [`DEADLINE`]: exit code, stdout, stderr.
fn run(mut cmd: std::process::Command) -> Result<(i32, String, String), String> {
    let mut child = cmd.spawn().map_err(|e| format!("hadrill does not start: {e}"))?;
    // Read both pipes while waiting, so a chatty child cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut s);
            }
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if t.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {} s: killed", DEADLINE.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    Ok((status.code().unwrap_or(-1), out, err))
}

/// The README's table: one row per case.
fn readme_table() -> String {
    let mut s = String::from("| # | bad input | command | exit | diagnostic |\n|---|---|---|---|---|\n");
    for (i, c) in CASES.iter().enumerate() {
        let env: String = c.env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        // The temporary state and run directories every writer gets are left out.
        let mut args = Vec::new();
        let mut it = c.args.iter().peekable();
        while let Some(a) = it.next() {
            if matches!(*a, "--state-dir" | "--out") && it.peek().is_some_and(|v| v.starts_with("{tmp}/")) {
                it.next();
                continue;
            }
            args.push(a.replace("{tmp}/", ""));
        }
        let redirect = if c.full_stdout { " > /dev/full" } else { "" };
        let code = c.code.map(|k| format!("`{k}`: ")).unwrap_or_default();
        s.push_str(&format!(
            "| {} | {} | `{env}hadrill {}{redirect}` | {} | {code}{} |\n",
            i + 1,
            c.what,
            args.join(" "),
            c.exit,
            // `<RUN>` would be taken for an HTML tag.
            c.says.replace('|', "\\|").replace('<', "&lt;")
        ));
    }
    s
}
