//! Diagnostics and verdicts for a person at a terminal (or a CI log).

use std::io::IsTerminal;

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
    if handler.render_report(&mut out, d).is_err() {
        out = d.to_string();
    }
    out
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
