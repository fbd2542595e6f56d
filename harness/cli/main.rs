//! The `hadrill` command. Parsing and rendering live here; the engine knows nothing of clap.
//! `main` parses and dispatches; each command file imports only the argument types and the
//! rendering.

mod args;
mod commands;
mod lab_cmds;
mod render;
mod run_cmd;

use clap::Parser;
use hadrill::exit::Outcome;

use crate::args::{Cli, Command};

fn main() {
    let (code, color) = dispatch();
    std::process::exit(render::stdout_outcome(code, color));
}

/// Parse arguments, run, and return the process exit code (and whether diagnostics are
/// coloured).
fn dispatch() -> (i32, bool) {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let printed = e.print();
            if e.use_stderr() {
                // clap exits 2 on misuse, which here means "inconclusive".
                return (Outcome::InvalidInput.code(), false);
            }
            // --help and --version go to stdout, which may be full.
            if let Err(err) = printed {
                render::stdout_failed(err);
            }
            return (0, false);
        }
    };
    render::init_tracing();
    let color = render::use_color(cli.color);
    let code = match cli.command {
        Command::Validate { files } => commands::validate(&files, color),
        Command::Analyze { log, expect, json, report } => {
            commands::analyze(&log, expect.as_deref(), json, report.as_deref(), color)
        }
        Command::Schema => commands::schema(),
        Command::Image(c) => edge(lab_cmds::run_image(c, color), color),
        Command::Lab(c) => edge(lab_cmds::run_lab(c, color), color),
        Command::Gc(a) => edge(lab_cmds::run_gc(a), color),
        Command::Run(a) => run_cmd::run(a, color),
    };
    (code, color)
}

/// A lab command's error, drawn as a diagnostic: an unknown recipe or run is bad input
/// (exit 4), anything else means the lab broke (exit 3).
fn edge(r: miette::Result<i32>, color: bool) -> i32 {
    r.unwrap_or_else(|e| {
        eprint!("{}", render::diagnostic(e.as_ref(), color));
        if let Some(e) = e.downcast_ref::<hadrill::lab::LabError>() {
            e.outcome().code()
        } else if let Some(e) = e.downcast_ref::<hadrill::image::ImageError>() {
            e.outcome().code()
        } else {
            Outcome::InfraError.code()
        }
    })
}
