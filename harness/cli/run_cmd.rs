//! `hadrill run`: the arguments into the engine's session (`hadrill::run::session`), its
//! progress onto a bar and the log, each scenario's summary on stdout, every problem as a
//! diagnostic, and the worst outcome as the exit code.

use std::time::{Duration, Instant};

use hadrill::exit::Outcome;
use hadrill::image::default_recipes_dir;
use hadrill::run::session::{self, ScenarioRun, SessionConfig, SessionObserver};
use hadrill::run::{Cancel, RunError, Stop};
use hadrill::scenario;
use tracing::info;
use tracing_indicatif::span_ext::IndicatifSpanExt;

use crate::args::RunArgs;
use crate::render;

pub fn run(args: RunArgs, color: bool) -> i32 {
    let cfg = SessionConfig {
        scenarios: args.scenarios,
        stack: args.stack.map(Into::into),
        junit: args.junit,
        keep: args.keep,
        out: args.out,
        image: args.image,
        recipes: args.recipes.unwrap_or_else(default_recipes_dir),
        sabotage: args.sabotage,
        uri: args.host.uri(),
        state_dir: args.host.state_dir(),
        seed: args.seed,
    };
    let prepared = match session::prepare(&cfg) {
        Ok(p) => p,
        Err(errors) => {
            for e in &errors {
                print_error(e, color);
            }
            return Outcome::worst(errors.iter().map(RunError::outcome)).code();
        }
    };
    let mut bar = Bar { span: None, last: String::new(), logged: Instant::now(), color };
    let report = match session::run(&cfg, prepared, &Cancel::new(), &mut bar) {
        Ok(r) => r,
        Err(e) => {
            print_error(&e, color);
            return e.outcome().code();
        }
    };
    if let Some(e) = &report.junit {
        print_error(e, color);
    }
    report.outcome().code()
}

/// A run error as diagnostics: a scenario that does not load shows each of its problems.
fn print_error(e: &RunError, color: bool) {
    match e {
        RunError::Scenario { source, .. } => render::load_error(source, color),
        RunError::Interrupted => {}
        e => eprint!("{}", render::diagnostic(e, color)),
    }
}

/// Progress on one line (a bar on a terminal), and a log line whenever what is awaited
/// changes or every 30 s, so that a CI log says what the run waits for.
struct Bar {
    span: Option<tracing::Span>,
    last: String,
    logged: Instant,
    color: bool,
}

impl SessionObserver for Bar {
    fn started(&mut self, scenario: &str) {
        let span = tracing::info_span!("run", scenario);
        span.pb_set_style(
            &tracing_indicatif::style::ProgressStyle::with_template("{spinner} {span_name} [{elapsed}] {wide_msg}")
                .unwrap_or_else(|_| tracing_indicatif::style::ProgressStyle::default_spinner()),
        );
        let _ = span.enter();
        self.span = Some(span);
    }

    fn progress(&mut self, what: &str, waited: Duration, limit: Option<Duration>) {
        let whole = |d: Duration| scenario::format_duration(Duration::from_secs(d.as_secs()));
        let limit = limit.map(|l| format!(" of at most {}", whole(l))).unwrap_or_default();
        let msg = format!("{what} (waited {}{limit})", whole(waited));
        if let Some(span) = &self.span {
            span.pb_set_message(&msg);
        }
        if what != self.last || self.logged.elapsed() >= Duration::from_secs(30) {
            info!("{msg}");
            self.last = what.to_owned();
            self.logged = Instant::now();
        }
    }

    fn finished(&mut self, run: &ScenarioRun) {
        self.span = None;
        for e in &run.errors {
            print_error(e, self.color);
        }
        if let Some(summary) = &run.summary {
            crate::out!("{summary}");
        }
        match &run.stopped {
            Some(Stop::Inconclusive(why)) => crate::outln!("stopped early (inconclusive): {why}"),
            Some(Stop::InfraError(why)) => crate::outln!("stopped early (infrastructure error): {why}"),
            None => {}
        }
        if let Some(dir) = &run.dir {
            crate::outln!("run directory: {}", dir.display());
        }
        if let Some(run_id) = &run.kept {
            crate::outln!("lab left up: `hadrill lab down {run_id}` removes it");
        }
        if run.dir.is_some() {
            crate::outln!("wall time: {:.0} s", run.wall.as_secs_f64());
        }
    }
}
