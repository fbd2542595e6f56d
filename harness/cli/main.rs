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
    std::process::exit(dispatch());
}

/// Parse arguments, run, and return the process exit code.
fn dispatch() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap exits 2 on misuse, which here means "inconclusive".
            return if e.use_stderr() { Outcome::InvalidInput.code() } else { 0 };
        }
    };
    render::init_tracing();
    let color = render::use_color(cli.color);
    match cli.command {
        Command::Validate { files } => commands::validate(&files, color),
        Command::Analyze { log, expect, json, report } => {
            commands::analyze(&log, expect.as_deref(), json, report.as_deref(), color)
        }
        Command::Schema => commands::schema(),
        Command::Image(c) => edge(lab_cmds::run_image(c, color), color),
        Command::Lab(c) => edge(lab_cmds::run_lab(c, color), color),
        Command::Gc(a) => edge(lab_cmds::run_gc(a), color),
        Command::Run(a) => run_cmd::run(a, color),
    }
}

/// A lab command's error, drawn as a diagnostic: the lab broke (exit 3).
fn edge(r: miette::Result<i32>, color: bool) -> i32 {
    r.unwrap_or_else(|e| {
        eprint!("{}", render::diagnostic(e.as_ref(), color));
        Outcome::InfraError.code()
    })
}
