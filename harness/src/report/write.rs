//! Writing a run's reports into a directory: `timeline.jsonl`, `junit.xml`, `report.html`,
//! `summary.md` and `timeline.snap`.
//!
//! Each file is written to a temporary name in the same directory, synced, and renamed over
//! the final name, so a crash or a full disk leaves either the previous file or the new one,
//! never half a report. The temporary name starts with a dot and ends in `.tmp` so that a
//! CI artefact glob on `*.xml` never picks it up.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::html::html;
use super::junit::junit_xml;
use super::summary::summary_md;
use super::view::ReportInput;

/// A report file that could not be written, and why.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ReportError {
    #[error("cannot create the report directory {}: {source}", path.display())]
    #[diagnostic(code(hadrill::report::dir))]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot write the report file {}: {source}", path.display())]
    #[diagnostic(code(hadrill::report::write))]
    Write { path: PathBuf, source: io::Error },
}

/// The file names, in the order they are written. The timeline goes first: if anything
/// later fails, the raw data is already safe.
pub const FILES: [&str; 5] = ["timeline.jsonl", "timeline.snap", "junit.xml", "summary.md", "report.html"];

/// Create `dir` (and its parents), write the five reports into it, and return their paths.
pub fn write_reports(dir: &Path, input: &ReportInput) -> Result<Vec<PathBuf>, ReportError> {
    fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir { path: dir.to_owned(), source })?;
    let mut written = Vec::with_capacity(FILES.len());
    for name in FILES {
        let content = match name {
            "timeline.jsonl" => input.timeline.to_jsonl(),
            "timeline.snap" => input.snapshot.to_owned(),
            "junit.xml" => junit_xml(input),
            "summary.md" => summary_md(input),
            "report.html" => html(input),
            _ => unreachable!("every name in FILES has a writer"),
        };
        let path = dir.join(name);
        write_atomic(&path, content.as_bytes()).map_err(|source| ReportError::Write { path: path.clone(), source })?;
        written.push(path);
    }
    Ok(written)
}

/// Write `bytes` to `path` through a temporary file and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("report");
    // The process id and a counter keep two processes, or two threads, writing into one
    // directory apart.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: a leftover temporary file is harmless, the error is what matters.
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{basic1_evaluation, basic1_timeline};

    fn temp_dir(tag: &str) -> PathBuf {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        std::env::temp_dir().join(format!("hadrill-report-{tag}-{}-{nanos}", std::process::id()))
    }

    #[test]
    fn writes_the_five_files() {
        let (tl, ev) = (basic1_timeline(), basic1_evaluation());
        let dir = temp_dir("five").join("nested");
        let input = ReportInput { timeline: &tl, evaluation: &ev, snapshot: "node victim: online -> lost\n" };
        let paths = write_reports(&dir, &input).expect("reports written");
        let names: Vec<_> = paths.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_owned()).collect();
        assert_eq!(names, FILES);
        for p in &paths {
            assert!(fs::metadata(p).unwrap().len() > 0, "{} is empty", p.display());
        }
        assert_eq!(fs::read_to_string(dir.join("timeline.jsonl")).unwrap(), tl.to_jsonl());
        assert_eq!(fs::read_to_string(dir.join("timeline.snap")).unwrap(), "node victim: online -> lost\n");
        assert_eq!(fs::read_to_string(dir.join("junit.xml")).unwrap(), junit_xml(&input));
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 5);
        // Writing again replaces the files in place.
        write_reports(&dir, &input).expect("rewritten");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 5);
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn says_which_file_failed() {
        let (tl, ev) = (basic1_timeline(), basic1_evaluation());
        let dir = temp_dir("blocked");
        fs::create_dir_all(&dir).unwrap();
        // A directory where junit.xml should go makes the rename fail for that file only.
        fs::create_dir(dir.join("junit.xml")).unwrap();
        fs::write(dir.join("junit.xml").join("keep"), "x").unwrap();
        let err = write_reports(&dir, &ReportInput { timeline: &tl, evaluation: &ev, snapshot: "" }).unwrap_err();
        assert!(matches!(&err, ReportError::Write { path, .. } if path.ends_with("junit.xml")), "{err}");
        assert!(err.to_string().contains("junit.xml"), "{err}");
        assert!(!fs::read_dir(&dir).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".tmp")));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn says_when_the_directory_cannot_be_made() {
        let (tl, ev) = (basic1_timeline(), basic1_evaluation());
        let file = temp_dir("file");
        fs::write(&file, "not a directory").unwrap();
        let err = write_reports(&file.join("sub"), &ReportInput { timeline: &tl, evaluation: &ev, snapshot: "" })
            .unwrap_err();
        assert!(matches!(err, ReportError::CreateDir { .. }), "{err}");
        fs::remove_file(&file).unwrap();
    }
}
