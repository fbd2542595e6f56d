//! Diagnostics and verdicts for a person at a terminal (or a CI log), and stdout that may
//! fail: every command prints through [`out!`]/[`outln!`], and [`stdout_outcome`] turns a
//! failed write (a full disk) into exit 3 instead of a panic or a silent exit 0.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use hadrill::check::Verdict;
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use crate::args::ColorChoice;

/// Whether to colour output written to stderr.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
    }
}

/// A diagnostic as miette draws it: source excerpt, caret, label, help.
pub fn diagnostic(d: &dyn Diagnostic, color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    // Not wrapped: a URL, a path or a command split over two lines cannot be pasted.
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_wrap_lines(false).with_links(false);
    let mut out = String::new();
    let said = Unrepeated::new(d);
    let d: &dyn Diagnostic = if d.diagnostic_source().is_some() { d } else { &said };
    if handler.render_report(&mut out, d).is_err() {
        out = d.to_string();
    }
    out
}

/// A diagnostic without the causes its own message already says. Many errors carry their
/// cause in their message (for one-line logs) and keep it as `source` as well, which miette
/// would print once more under the message.
struct Unrepeated<'a> {
    inner: &'a dyn Diagnostic,
    causes: Option<Cause>,
}

/// One cause of the chain, as text.
#[derive(Debug)]
struct Cause {
    text: String,
    next: Option<Box<Cause>>,
}

impl<'a> Unrepeated<'a> {
    fn new(inner: &'a dyn Diagnostic) -> Self {
        let mut said = inner.to_string();
        let mut kept = Vec::new();
        let mut cause = inner.source();
        while let Some(c) = cause {
            let text = c.to_string();
            if !said.contains(&text) {
                said.push('\n');
                said.push_str(&text);
                kept.push(text);
            }
            cause = c.source();
        }
        let causes = kept.into_iter().rev().fold(None, |next, text| Some(Cause { text, next: next.map(Box::new) }));
        Unrepeated { inner, causes }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.next.as_deref().map(|c| c as _)
    }
}

impl std::fmt::Debug for Unrepeated<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.inner, f)
    }
}

impl std::fmt::Display for Unrepeated<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.inner, f)
    }
}

impl std::error::Error for Unrepeated<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.causes.as_ref().map(|c| c as _)
    }
}

impl Diagnostic for Unrepeated<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.code()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.help()
    }
    fn url<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.url()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.inner.source_code()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.inner.labels()
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn Diagnostic> + 'b>> {
        self.inner.related()
    }
}

/// The first failed write to stdout; later writes are skipped.
static STDOUT_FAILED: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// Writes to stdout, remembering the first failure instead of panicking as `print!` does.
pub fn out(args: std::fmt::Arguments<'_>) {
    let mut failed = STDOUT_FAILED.lock().unwrap_or_else(|e| e.into_inner());
    if failed.is_none()
        && let Err(e) = std::io::stdout().lock().write_fmt(args)
    {
        *failed = Some(e);
    }
}

/// Remembers a failed write to stdout made other than through [`out`].
pub fn stdout_failed(e: std::io::Error) {
    let mut failed = STDOUT_FAILED.lock().unwrap_or_else(|e| e.into_inner());
    failed.get_or_insert(e);
}

/// `print!` that cannot panic: see [`out`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::render::out(format_args!($($arg)*)) };
}

/// `println!` that cannot panic: see [`out`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::render::out(format_args!("{}\n", format_args!($($arg)*))) };
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot write to standard output")]
#[diagnostic(
    code(hadrill::stdout),
    help("what was printed is incomplete; free space where stdout goes, or redirect it")
)]
struct StdoutError(#[source] std::io::Error);

/// The exit code once stdout is flushed: `code`, or infrastructure error (3) if stdout could
/// not be written (unless `code` is worse). A reader that stopped early (`| head`) is no error.
pub fn stdout_outcome(code: i32, color: bool) -> i32 {
    use hadrill::exit::{Outcome, TABLE};
    let mut failed = STDOUT_FAILED.lock().unwrap_or_else(|e| e.into_inner());
    if failed.is_none()
        && let Err(e) = std::io::stdout().lock().flush()
    {
        *failed = Some(e);
    }
    match failed.take() {
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprint!("{}", diagnostic(&StdoutError(e), color));
            let ran = TABLE.iter().find(|r| r.code == code).map_or(Outcome::InfraError, |r| r.outcome);
            Outcome::worst([ran, Outcome::InfraError]).code()
        }
        _ => code,
    }
}

/// A scenario that did not load: the file it could not read, or each of its problems.
pub fn load_error(e: &hadrill::scenario::LoadError, color: bool) {
    use hadrill::scenario::LoadError;
    match e {
        LoadError::Read { .. } => eprint!("{}", diagnostic(e, color)),
        LoadError::Invalid { errors, .. } => {
            for err in errors {
                eprint!("{}", diagnostic(err, color));
            }
        }
    }
}

/// `PASS`, `FAIL`, … coloured for a terminal.
pub fn verdict(v: Verdict, color: bool) -> String {
    let word = v.as_str().to_uppercase();
    if !color {
        return word;
    }
    let code = match v {
        Verdict::Pass => "32",
        Verdict::Fail => "31",
        Verdict::Inconclusive => "33",
        Verdict::InfraError => "35",
    };
    format!("\x1b[1;{code}m{word}\x1b[0m")
}

/// One tracing subscriber for every command: log lines and progress bars share stderr.
/// `HADRILL_LOG` sets the filter (default `info`).
pub fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let indicatif = tracing_indicatif::IndicatifLayer::new();
    let filter = tracing_subscriber::EnvFilter::try_from_env("HADRILL_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(indicatif.get_stderr_writer()),
        )
        .with(indicatif)
        .try_init();
}
