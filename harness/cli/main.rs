//! TEMPORARY (lab worktree only): wires `image`, `lab` and `gc` so they can be tried before
//! the real `harness/cli/main.rs` takes them over.

mod lab_cmds;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "hadrill", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build and list node images.
    #[command(subcommand)]
    Image(lab_cmds::ImageCommand),
    /// Bring labs up, show them, take them down.
    #[command(subcommand)]
    Lab(lab_cmds::LabCommand),
    /// Remove what killed runs left behind.
    Gc(lab_cmds::GcArgs),
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Image(c) => lab_cmds::run_image(c),
        Command::Lab(c) => lab_cmds::run_lab(c),
        Command::Gc(a) => lab_cmds::run_gc(a),
    };
    std::process::exit(match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e:?}");
            3
        }
    });
}
