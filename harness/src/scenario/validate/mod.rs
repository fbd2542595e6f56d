//! From the file as written to a `Plan`: resolve names, parse durations, check what the
//! stack can do. Every problem found is reported (not just the first), each pointing at the
//! place in the file it is about.
//!
//! One validator (`Cx`) walks the document; each part of the scenario has its file: `cluster`,
//! `resources`, `names` (nodes, roles, services, states, durations used everywhere),
//! `patterns` (marks and anchors), `expectations`, `invariants`, `steps`, `chaos`; `yaml` turns the
//! parser's own errors into diagnostics, `describe` says plans in words.

mod chaos;
mod cluster;
mod describe;
mod expectations;
mod invariants;
mod names;
mod patterns;
mod resources;
mod steps;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use miette::NamedSource;
use serde_saphyr::Location;

pub use self::describe::{UNCONFIRMED_FENCE, describe_never, describe_pattern};
use self::yaml::{diagnostic, yaml_error};
use super::error::{LoadError, ScenarioError};
use super::model::*;
use super::plan::*;

/// Read, parse and validate one scenario file.
pub fn load(path: &Path) -> Result<Plan, LoadError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read { path: file.clone(), source })?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => return Err(not_utf8(&file, e)),
    };
    parse(&file, &text, path.parent())
}

/// A file that is not UTF-8, pointed at where the first bad byte is.
fn not_utf8(file: &str, e: std::string::FromUtf8Error) -> LoadError {
    let at = e.utf8_error().valid_up_to();
    let byte = e.as_bytes()[at];
    let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
    // The lossy text has U+FFFD (3 bytes) where each bad sequence was; what comes before is
    // the same.
    let line = text[..at].matches('\n').count() as u64 + 1;
    let column = text[..at].rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    let error = ScenarioError {
        message: format!("the file is not UTF-8: byte 0x{byte:02x} at line {line}, column {column}"),
        source_code: NamedSource::new(file, Arc::new(text)),
        span: Some((at, '\u{fffd}'.len_utf8()).into()),
        label: "not UTF-8".into(),
        help: Some("save the file as UTF-8".into()),
        line,
        column,
    };
    LoadError::Invalid { path: file.to_owned(), errors: vec![error] }
}

/// Parse and validate scenario text. `dir` is where named cluster files are looked up
/// (`clusters/NAME.yaml` there or in a parent); `None` disables the lookup.
pub fn parse(file: &str, text: &str, dir: Option<&Path>) -> Result<Plan, LoadError> {
    let src = Arc::new(text.to_owned());
    let invalid = |errors| LoadError::Invalid { path: file.to_owned(), errors };
    // YAML reads nothing at all as "unexpected end of input"; say what is wrong instead.
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(invalid(vec![ScenarioError {
            message: "the file is empty".into(),
            source_code: NamedSource::new(file, src),
            span: Some((0, 0).into()),
            label: "nothing here".into(),
            help: Some("a scenario starts with `name: SHORT-NAME`; `hadrill schema` describes the rest".into()),
            line: 1,
            column: 1,
        }]));
    }
    let doc: ScenarioDoc = serde_saphyr::from_str(text).map_err(|e| invalid(vec![yaml_error(file, &src, &e)]))?;
    let mut cx = Cx::new(file, src, dir);
    let plan = cx.plan(doc);
    if cx.errors.is_empty() { Ok(plan) } else { Err(invalid(cx.errors)) }
}

/// "did you mean …?"
fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

fn join<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}

/// Steps as seen by later steps: what each id names.
#[derive(Clone)]
struct StepInfo {
    fault: Option<Fault>,
}

struct Cx<'a> {
    file: String,
    src: Arc<String>,
    dir: Option<&'a Path>,
    errors: Vec<ScenarioError>,
    stack: Option<StackKind>,
    nodes: Option<Vec<String>>,
    services: Option<Vec<String>>,
    roles: BTreeSet<String>,
    marks: BTreeSet<String>,
    steps: BTreeMap<String, StepInfo>,
}

impl<'a> Cx<'a> {
    fn new(file: &str, src: Arc<String>, dir: Option<&'a Path>) -> Self {
        Cx {
            file: file.to_owned(),
            src,
            dir,
            errors: Vec::new(),
            stack: None,
            nodes: None,
            services: None,
            roles: BTreeSet::new(),
            marks: BTreeSet::new(),
            steps: BTreeMap::new(),
        }
    }

    fn loc(&self, at: &Location) -> Loc {
        Loc { file: self.file.clone(), line: at.line(), column: at.column() }
    }

    fn error(&mut self, at: &Location, message: impl Into<String>, label: impl Into<String>, help: Option<String>) {
        self.errors.push(diagnostic(&self.file, &self.src, Some(at), message.into(), label.into(), help));
    }

    fn plan(&mut self, doc: ScenarioDoc) -> Plan {
        self.stack = doc.stack.as_ref().map(|s| s.value);
        let cluster = doc.cluster.as_ref().and_then(|c| self.cluster(c, doc.stack.as_ref()));
        if let Some(c) = &cluster {
            self.nodes = Some(c.nodes.clone());
        }
        if doc.name.value.trim().is_empty() {
            self.error(
                &doc.name.referenced,
                "the scenario name is empty",
                "empty",
                Some("give a short name, e.g. `name: power-pull`".into()),
            );
        }
        let resources = self.resources(&doc.resources);
        if !doc.resources.is_empty() {
            self.services = Some(resources.iter().map(|r| r.id.clone()).collect());
        }
        // Roles and marks are known everywhere in the file, wherever they are bound.
        for (name, mark) in &doc.marks {
            self.marks.insert(name.clone());
            if let Some(role) = &mark.value.as_role {
                self.roles.insert(role.value.clone());
            }
        }
        // The same naming as `steps` uses, so that both agree on each fault's role.
        let mut fault_roles = BTreeSet::new();
        for step in doc.steps.iter().filter(|s| s.value.fault.is_some()) {
            let role =
                step.value.as_role.as_ref().map(|r| r.value.clone()).unwrap_or_else(|| default_role(&fault_roles));
            fault_roles.insert(role);
        }
        self.roles.extend(fault_roles);
        let marks = doc.marks.iter().filter_map(|(name, m)| self.mark(name, m)).collect();
        let mut expectations = Vec::new();
        let steps = self.steps(&doc.steps, &mut expectations);
        let chaos = doc.chaos.as_ref().and_then(|c| self.chaos(c, !doc.steps.is_empty()));
        if !doc.steps.is_empty() || doc.chaos.is_some() {
            if cluster.is_none() {
                self.error(
                    &doc.name.referenced,
                    "this scenario has steps but no cluster",
                    "steps need a lab",
                    Some(
                        "add `cluster: NAME` (a file in clusters/) or an inline `cluster: { nodes: 3, storage: nfs }`"
                            .into(),
                    ),
                );
            }
            if self.stack.is_none() {
                self.error(
                    &doc.name.referenced,
                    "this scenario has steps but no stack",
                    "which HA stack?",
                    Some("add `stack: pve` or `stack: pacemaker`".into()),
                );
            }
        }
        for e in &doc.expect {
            if let Some(x) = self.expectation(e, Ctx::TopLevel, None) {
                expectations.push(x);
            }
        }
        for e in &doc.final_state {
            if let Some(x) = self.expectation(e, Ctx::Final, None) {
                expectations.push(x);
            }
        }
        let invariants = doc.invariants.iter().filter_map(|i| self.invariant(i)).collect();
        Plan {
            name: doc.name.value.clone(),
            about: doc.about.clone(),
            stack: self.stack,
            cluster,
            resources,
            marks,
            steps,
            expectations,
            invariants,
            chaos,
        }
    }
}

#[derive(Clone, Copy)]
enum Subject {
    Service,
    Node,
}

#[derive(Clone, Copy)]
enum Ctx {
    TopLevel,
    Step,
    Final,
}

/// `victim`, then `victim-2`, … for faults that do not name a role.
fn default_role(taken: &BTreeSet<String>) -> String {
    if !taken.contains("victim") {
        return "victim".into();
    }
    (2..).map(|i| format!("victim-{i}")).find(|r| !taken.contains(r)).expect("unbounded")
}
