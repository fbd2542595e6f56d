//! `hadrill-workload`: the HA service of a hadrill lab and its observer.
//!
//! `write` runs on a cluster node as the Pacemaker resource (through the `hadrill/heartbeat`
//! OCF agent): it appends one fsync'ed heartbeat line per interval to its own file on the
//! shared storage. `observe` runs on the storage server: it reads what the writers appended and
//! stamps every line with the server's clock, the one clock a paused node cannot falsify.
//!
//! Formats (space-separated, one record per line):
//! - writer file `DIR/<service>.<node>.log`: `service node seq writer_unix_ms [start|stop]`;
//! - observer file: `server_unix_ms service node seq writer_unix_ms [start|stop]`, plus `#`
//!   comment lines (header, footer, truncations, lines it could not read).

mod args;
mod line;
mod observe;
mod signals;
mod write;

use std::process::ExitCode;

const USAGE: &str = "\
usage:
  hadrill-workload write --dir DIR --node NAME [--service ID] [--interval 1s] [--stamp FILE] [--detach]
  hadrill-workload observe --dir DIR --out FILE --for DURATION [--poll 200ms] [--no-stdin-watch]

write    append `service node seq unix_ms` to DIR/<service>.<node>.log every interval, fsync
         each line, then replace the local progress stamp FILE (content: `boottime_s unix_ms seq`,
         read by the OCF monitor). SIGTERM, SIGINT or SIGHUP: write a `stop` line and exit.
         --detach starts a new session, so the agent's process group and terminal do not reach it.
observe  every poll, append what is new in DIR/*.log to FILE as
         `server_unix_ms service node seq writer_unix_ms [start|stop]`. Stops by itself after
         --for, on SIGTERM/SIGINT/SIGHUP, when its parent exits, and (unless --no-stdin-watch)
         when a piped stdin reaches end of file: it dies with the SSH session that started it.
durations: 200ms, 1s, 1.5s, 2m, 1h, 1m30s";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = argv.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match cmd.as_str() {
        "write" => args::WriteArgs::parse(rest).map(|a| write::run(&a)),
        "observe" => args::ObserveArgs::parse(rest).map(|a| observe::run(&a)),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(format!("unknown command `{other}`: expected `write` or `observe`")),
    };
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("hadrill-workload {cmd}: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("hadrill-workload: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
