//! The `hadrill` command. Parsing and rendering live here; the engine knows nothing of clap.

mod args;
mod commands;
mod lab_cmds;
mod render;
mod run_cmd;

fn main() {
    std::process::exit(commands::main());
}
