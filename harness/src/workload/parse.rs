//! Reading the observer log: `server_unix_ms service node seq writer_unix_ms [start|stop]` per
//! line, with `#` comment lines (header, footer, truncations, writer lines the observer could
//! not read) and blank lines skipped.

use std::path::{Path, PathBuf};

/// What an observer line records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BeatKind {
    /// A heartbeat written by a live writer.
    Beat,
    /// A writer process started (`seq` 0); it has not served anything yet.
    Start,
    /// A writer stopped on a signal (`seq` is its last beat). A reset or SIGKILL leaves none.
    Stop,
}

/// One writer line as the storage server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beat {
    /// When the observer read it, on the storage server's clock (unix ms): the only clock that
    /// decides order and overlap.
    pub server_ms: i64,
    pub service: String,
    pub node: String,
    /// Counts from 1 in each writer process; 0 on a start marker.
    pub seq: u64,
    /// The writer's own clock (unix ms). Wrong after a pause, kept for diagnosis only.
    pub writer_ms: i64,
    pub kind: BeatKind,
    /// 1-based line in the observer log.
    pub line: u64,
}

/// Why an observer log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("{}: cannot read the observer log: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}line {line}: expected {expected}, found `{found}`", at(file))]
    Syntax { file: Option<PathBuf>, line: u64, expected: &'static str, found: String },
    #[error(
        "{}line {line}: the last line is cut short (`{found}` without a newline): the observer was \
         killed while writing; expected {expected}",
        at(file)
    )]
    Truncated { file: Option<PathBuf>, line: u64, expected: &'static str, found: String },
}

fn at(file: &Option<PathBuf>) -> String {
    file.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default()
}

impl WorkloadError {
    /// Name the file the text came from.
    pub fn in_file(self, path: &Path) -> Self {
        match self {
            WorkloadError::Syntax { line, expected, found, .. } => {
                WorkloadError::Syntax { file: Some(path.to_owned()), line, expected, found }
            }
            WorkloadError::Truncated { line, expected, found, .. } => {
                WorkloadError::Truncated { file: Some(path.to_owned()), line, expected, found }
            }
            e @ WorkloadError::Read { .. } => e,
        }
    }

    /// The 1-based line the error is on, when it is about a line.
    pub fn line(&self) -> Option<u64> {
        match self {
            WorkloadError::Syntax { line, .. } | WorkloadError::Truncated { line, .. } => Some(*line),
            WorkloadError::Read { .. } => None,
        }
    }
}

const RECORD: &str = "`server_ms service node seq writer_ms` or the same followed by `start` or `stop`";

/// Parse an observer log. Lines are returned in file order (the observer's own order).
pub fn parse_observer_log(text: &str) -> Result<Vec<Beat>, WorkloadError> {
    let mut beats = Vec::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, raw) in lines.iter().enumerate() {
        let line = i as u64 + 1;
        let content = raw.strip_suffix('\n').unwrap_or(raw);
        let content = content.strip_suffix('\r').unwrap_or(content);
        if content.trim().is_empty() || content.starts_with('#') {
            continue;
        }
        let cut_short = i + 1 == lines.len() && !raw.ends_with('\n');
        let fail = |expected: &'static str, found: &str| {
            let found = clip(found);
            if cut_short {
                WorkloadError::Truncated { file: None, line, expected, found }
            } else {
                WorkloadError::Syntax { file: None, line, expected, found }
            }
        };
        beats.push(parse_line(content, line).map_err(|(expected, found)| fail(expected, found))?);
    }
    Ok(beats)
}

/// Read and parse an observer log file; errors name the file.
pub fn read_observer_log(path: &Path) -> Result<Vec<Beat>, WorkloadError> {
    let text = std::fs::read_to_string(path).map_err(|source| WorkloadError::Read { path: path.to_owned(), source })?;
    parse_observer_log(&text).map_err(|e| e.in_file(path))
}

fn parse_line(s: &str, line: u64) -> Result<Beat, (&'static str, &str)> {
    let f: Vec<&str> = s.split(' ').collect();
    if !(5..=6).contains(&f.len()) || f[1].is_empty() || f[2].is_empty() {
        return Err((RECORD, s));
    }
    let server_ms = f[0].parse().map_err(|_| ("field 1, the server time in unix milliseconds", f[0]))?;
    let seq = f[3].parse().map_err(|_| ("field 4, the sequence number (an unsigned integer)", f[3]))?;
    let writer_ms = f[4].parse().map_err(|_| ("field 5, the writer time in unix milliseconds", f[4]))?;
    let kind = match f.get(5) {
        None => BeatKind::Beat,
        Some(&"start") => BeatKind::Start,
        Some(&"stop") => BeatKind::Stop,
        Some(other) => return Err(("field 6, `start` or `stop`", other)),
    };
    Ok(Beat { server_ms, service: f[1].to_owned(), node: f[2].to_owned(), seq, writer_ms, kind, line })
}

/// Error messages quote at most this much of a garbled line.
fn clip(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beats_markers_comments() {
        let text = "# hadrill-workload observe dir=/srv/nfs poll_ms=200\n\
                    1000 svc n1 0 990 start\n\
                    \n\
                    1200 svc n1 1 1190\n\
                    # 1300 truncated svc.n1.log from 40 to 0 bytes\n\
                    1400 svc n1 1 1390 stop\n";
        let b = parse_observer_log(text).unwrap();
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].kind, BeatKind::Start);
        assert_eq!(
            b[1],
            Beat {
                server_ms: 1200,
                service: "svc".into(),
                node: "n1".into(),
                seq: 1,
                writer_ms: 1190,
                kind: BeatKind::Beat,
                line: 4
            }
        );
        assert_eq!((b[2].kind, b[2].line), (BeatKind::Stop, 6));
    }

    #[test]
    fn a_last_line_without_newline_is_fine_when_whole() {
        let b = parse_observer_log("1200 svc n1 1 1190").unwrap();
        assert_eq!(b[0].seq, 1);
    }

    #[test]
    fn a_cut_short_last_line_says_so() {
        let e = parse_observer_log("1200 svc n1 1 1190\n1400 svc n1 2").unwrap_err();
        assert!(matches!(e, WorkloadError::Truncated { line: 2, .. }), "{e:?}");
        assert!(
            e.to_string().starts_with("line 2: the last line is cut short (`1400 svc n1 2` without a newline)"),
            "{e}"
        );
    }

    #[test]
    fn garbled_lines_name_line_and_field() {
        let cases = [
            ("1200 svc n1 1 1190\n1400 svc n1 x 1390\n", 2, "field 4, the sequence number", "x"),
            ("12oo svc n1 1 1190\n", 1, "field 1, the server time", "12oo"),
            ("1200 svc n1 1 1190 restart\n", 1, "field 6, `start` or `stop`", "restart"),
            (
                "1200 svc n1 1 1190\n\n1300 svc n1 2 1290 1300 svc\n",
                3,
                "`server_ms service node seq writer_ms`",
                "1300",
            ),
            ("1200  n1 1 1190\n", 1, "`server_ms service node seq writer_ms`", "1200  n1"),
        ];
        for (text, line, expected, found) in cases {
            let e = parse_observer_log(text).unwrap_err();
            let WorkloadError::Syntax { line: l, expected: x, found: f, .. } = &e else { panic!("{e:?}") };
            assert_eq!(*l, line, "{text:?}");
            assert!(x.starts_with(expected), "{text:?}: {x}");
            assert!(f.starts_with(found), "{text:?}: {f}");
        }
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("hadrill-observer-parse-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("observer.log");
        std::fs::write(&p, "1 s n 1 1\nbad\n").unwrap();
        let e = read_observer_log(&p).unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().starts_with(&format!("{}: line 2: expected", p.display())), "{e}");
        let e = read_observer_log(&dir.join("missing.log")).unwrap_err();
        assert!(matches!(e, WorkloadError::Read { .. }));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
