//! The README's examples can be pasted and work: every `$ hadrill …` line in a code block is
//! run from the repository root, and what it prints must be what the README shows (up to the
//! next `$` line or the end of the block; `$ echo $?` checks the exit code).

use libtest_mimic::Trial;

use crate::support::{corpus, ensure, repo, skipped, trial};

struct Example {
    command: String,
    output: String,
    exit: Option<i32>,
    line: usize,
}

fn examples(text: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_block = false;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            if cmd == "echo $?" {
                continue;
            }
            out.push(Example { command: cmd.to_owned(), output: String::new(), exit: None, line: i + 1 });
        } else if let Some(last) = out.last_mut() {
            if let Ok(code) = line.trim().parse::<i32>()
                && text.lines().nth(i.saturating_sub(1)) == Some("$ echo $?")
            {
                last.exit = Some(code);
                continue;
            }
            if last.exit.is_none() {
                last.output.push_str(line);
                last.output.push('\n');
            }
        }
    }
    out
}

/// CI runs `hadrill run` with the README's own command: every such line of `.ci/run`
/// must appear in the README as written.
fn ci_runs_the_readme_command() -> Result<(), String> {
    let read = |p: &str| std::fs::read_to_string(repo().join(p)).map_err(|e| format!("{p}: {e}"));
    let (ci, readme) = (read(".ci/run")?, read("README.md")?);
    let runs: Vec<&str> =
        ci.lines().map(str::trim).filter(|l| l.starts_with("./target/release/hadrill run ")).collect();
    ensure(!runs.is_empty(), || ".ci/run runs no `./target/release/hadrill run`".to_owned())?;
    for r in runs {
        ensure(readme.contains(r), || format!("the README does not show the command CI runs: `{r}`"))?;
    }
    Ok(())
}

/// The README's exit-code table is the engine's (`hadrill::exit::TABLE`): every row, with its
/// code, name and meaning, and nothing else.
fn the_exit_code_table_is_the_engine_s() -> Result<(), String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).map_err(|e| e.to_string())?;
    let section = readme.split("## Exit codes").nth(1).ok_or("README: no `## Exit codes` section")?;
    let rows: Vec<&str> =
        section.lines().skip_while(|l| !l.starts_with("| code")).skip(2).take_while(|l| l.starts_with('|')).collect();
    let mut table: Vec<_> = hadrill::exit::TABLE.iter().collect();
    table.sort_by_key(|r| r.code);
    ensure(rows.len() == table.len(), || format!("README has {} rows, the engine {}", rows.len(), table.len()))?;
    for (line, row) in rows.iter().zip(table) {
        let want = format!("| {} | {} | {} |", row.code, row.name, row.meaning);
        ensure(*line == want, || {
            format!(
                "README row
  {line}
is not the engine's
  {want}"
            )
        })?;
    }
    Ok(())
}

pub fn trials() -> Vec<Trial> {
    let exit = trial("readme::the_exit_code_table_is_the_engine_s", the_exit_code_table_is_the_engine_s);
    let ci = trial("readme::ci_runs_the_readme_command", ci_runs_the_readme_command);
    if let Err(why) = corpus() {
        return vec![exit, ci, skipped("readme::examples", format!("the README's examples read the corpus: {why}"))];
    }
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap_or_default();
    examples(&text)
        .into_iter()
        .filter(|e| e.command.starts_with("hadrill "))
        .map(|e| {
            trial(format!("readme::example_at_line_{}", e.line), move || {
                let bin = std::path::Path::new(env!("CARGO_BIN_EXE_hadrill")).parent().unwrap().to_owned();
                let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(format!("{} 2>&1", e.command))
                    .current_dir(repo())
                    .env("PATH", path)
                    .env("NO_COLOR", "1")
                    .output()
                    .map_err(|err| err.to_string())?;
                let got = String::from_utf8_lossy(&out.stdout);
                if let Some(code) = e.exit {
                    ensure(out.status.code() == Some(code), || {
                        format!("`{}` exited {:?}, the README says {code}", e.command, out.status.code())
                    })?;
                }
                ensure(got == e.output, || {
                    format!("`{}` printed:\n{got}\nthe README (line {}) shows:\n{}", e.command, e.line, e.output)
                })
            })
        })
        .chain([ci, exit])
        .collect()
}
