//! Scratch directories of image builds: `<cache>/<name>/.build-<hash>-<pid>/` (and the ISO
//! route's `.prepare-…`/`.build-…`), where a build works until it moves the result into
//! place. The builder writes `owner` (the `PID:START` of the building process) first thing,
//! so that `gc` can tell a build in progress from one whose process was killed; a directory
//! without it (an older hadrill, or killed in the instant before) is judged by the pid in its
//! name, erring on the side of "still building".

use std::path::{Path, PathBuf};

use super::ImageError;
use crate::lab::{holder_alive, holder_token, mounts_under, remove_tree};

/// The scratch directory of one build, removed however the build ends. Removal is skipped
/// while anything is still mounted below it (see [`crate::lab::gc`], which unmounts first):
/// removing a directory with a bind mount of the host's `/dev` under it would remove the
/// host's device nodes.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// Creates `path` afresh and marks it as this process's.
    pub fn create(path: &Path) -> Result<Scratch, ImageError> {
        let _ = remove_tree(path);
        std::fs::create_dir_all(path).map_err(|e| ImageError::io(path, e))?;
        let scratch = Scratch(path.to_owned());
        let owner = path.join(OWNER);
        std::fs::write(&owner, format!("{}\n", holder_token())).map_err(|e| ImageError::io(&owner, e))?;
        Ok(scratch)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if mounts_under(&self.0).is_empty() {
            let _ = remove_tree(&self.0);
        }
    }
}

/// The file in a scratch directory that names the building process.
pub const OWNER: &str = "owner";

/// A scratch directory found in the cache.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PartialBuild {
    pub path: PathBuf,
    /// The process building in it is still running.
    pub alive: bool,
}

/// Every scratch directory under the cache root `images` (`<images>/<name>/.<anything>`).
pub fn partial_builds(images: &Path) -> Vec<PartialBuild> {
    let mut out = Vec::new();
    let Ok(names) = std::fs::read_dir(images) else { return out };
    for n in names.flatten() {
        let Ok(entries) = std::fs::read_dir(n.path()) else { continue };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with('.') || !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = e.path();
            out.push(PartialBuild { alive: builder_alive(&path, name), path });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn builder_alive(path: &Path, name: &str) -> bool {
    if let Ok(token) = std::fs::read_to_string(path.join(OWNER)) {
        return holder_alive(token.trim());
    }
    // No owner file: the pid at the end of the name, alive as long as some process has it.
    name.rsplit('-')
        .next()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_and_live_builds_are_told_apart() {
        let images = std::env::temp_dir().join(format!("hadrill-scratch-{}", crate::lab::RunId::generate()));
        let live = images.join("demo").join(format!(".build-0123-{}", std::process::id()));
        let s = Scratch::create(&live).unwrap();
        // Killed: an owner that is not running any more.
        let dead = images.join("demo").join(".build-4567-1");
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::write(dead.join(OWNER), "1:1\n").unwrap();
        // An older build without an owner file, by a pid nobody has.
        let old = images.join("other").join(".prepare-89ab-4194303999");
        std::fs::create_dir_all(&old).unwrap();
        // A finished image is not a partial build.
        std::fs::create_dir_all(images.join("demo").join("0123")).unwrap();
        let found = partial_builds(&images);
        let alive: Vec<(&Path, bool)> = found.iter().map(|b| (b.path.as_path(), b.alive)).collect();
        assert_eq!(alive, vec![(live.as_path(), true), (dead.as_path(), false), (old.as_path(), false)]);
        drop(s);
        assert!(!live.exists(), "the scratch directory goes with the build");
        std::fs::remove_dir_all(&images).unwrap();
    }
}
