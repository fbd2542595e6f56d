//! An image recipe: `images/<name>/recipe.yaml` (what to install), `files/` (copied over the
//! root file system) and `customize.sh` (run inside it). Its hash covers all of that and the
//! builder's own version, and is the cache key.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ImageError;

/// Bumped whenever the builder changes what it does with a recipe.
pub const BUILDER_VERSION: &str = "hadrill-image-builder/1";

/// `recipe.yaml`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeFile {
    pub name: String,
    #[serde(default)]
    pub about: String,
    pub suite: String,
    pub mirror: String,
    #[serde(default = "default_variant")]
    pub variant: String,
    pub size_mib: u32,
    pub packages: Vec<String>,
}

fn default_variant() -> String {
    "minbase".into()
}

/// A recipe and where it lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipe {
    pub dir: PathBuf,
    pub file: RecipeFile,
}

/// `$HADRILL_IMAGES_DIR`, else `./images` when it exists, else the repository's `images/`.
pub fn default_recipes_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HADRILL_IMAGES_DIR") {
        return PathBuf::from(d);
    }
    let here = PathBuf::from("images");
    if here.is_dir() { here } else { Path::new(env!("CARGO_MANIFEST_DIR")).join("images") }
}

impl Recipe {
    pub fn load(recipes_dir: &Path, name: &str) -> Result<Self, ImageError> {
        let dir = recipes_dir.join(name);
        let path = dir.join("recipe.yaml");
        if !path.is_file() {
            return Err(ImageError::NoRecipe { name: name.to_owned(), dir: recipes_dir.to_owned() });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| ImageError::io(&path, e))?;
        let file: RecipeFile = serde_saphyr::from_str(&text)
            .map_err(|e| ImageError::Recipe { path: path.clone(), message: e.to_string() })?;
        if file.name != name {
            return Err(ImageError::Recipe {
                path,
                message: format!("name is `{}` but the directory is `{name}`", file.name),
            });
        }
        if file.packages.iter().any(|p| p.is_empty() || p.contains([',', ' '])) {
            return Err(ImageError::Recipe {
                path,
                message: "package names must not be empty or contain spaces or commas".into(),
            });
        }
        Ok(Recipe { dir, file })
    }

    /// Every recipe under `recipes_dir`, by name.
    pub fn all(recipes_dir: &Path) -> Result<Vec<Recipe>, ImageError> {
        let mut out = Vec::new();
        let rd = std::fs::read_dir(recipes_dir).map_err(|e| ImageError::io(recipes_dir, e))?;
        for e in rd.flatten() {
            if e.path().join("recipe.yaml").is_file()
                && let Some(name) = e.file_name().to_str()
            {
                out.push(Recipe::load(recipes_dir, name)?);
            }
        }
        out.sort_by(|a, b| a.file.name.cmp(&b.file.name));
        Ok(out)
    }

    pub fn name(&self) -> &str {
        &self.file.name
    }

    pub fn files_dir(&self) -> PathBuf {
        self.dir.join("files")
    }

    pub fn customize_script(&self) -> PathBuf {
        self.dir.join("customize.sh")
    }

    /// The cache key: SHA-256 over the builder version and every file of the recipe (path,
    /// executable bit, content), in path order; the first 16 hex digits.
    pub fn hash(&self) -> Result<String, ImageError> {
        let mut files = Vec::new();
        collect(&self.dir, &self.dir, &mut files)?;
        files.sort();
        let mut h = Sha256::new();
        h.update(BUILDER_VERSION.as_bytes());
        for rel in files {
            let p = self.dir.join(&rel);
            let meta = std::fs::metadata(&p).map_err(|e| ImageError::io(&p, e))?;
            let exec = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0;
            let content = std::fs::read(&p).map_err(|e| ImageError::io(&p, e))?;
            h.update(rel.to_string_lossy().as_bytes());
            h.update([0, exec as u8]);
            h.update((content.len() as u64).to_le_bytes());
            h.update(&content);
        }
        Ok(h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect())
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ImageError> {
    let rd = std::fs::read_dir(dir).map_err(|e| ImageError::io(dir, e))?;
    for e in rd {
        let e = e.map_err(|e| ImageError::io(dir, e))?;
        let p = e.path();
        let ft = e.file_type().map_err(|e| ImageError::io(&p, e))?;
        if ft.is_dir() {
            collect(root, &p, out)?;
        } else {
            out.push(p.strip_prefix(root).unwrap_or(&p).to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hadrill-recipe-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("demo/files/etc")).unwrap();
        std::fs::write(
            d.join("demo/recipe.yaml"),
            "name: demo\nsuite: bookworm\nmirror: http://deb.debian.org/debian\nsize_mib: 1024\npackages: [systemd, openssh-server]\n",
        )
        .unwrap();
        std::fs::write(d.join("demo/files/etc/motd"), "hi\n").unwrap();
        d
    }

    #[test]
    fn the_shipped_recipe_loads() {
        let r = Recipe::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("images"), "debian-ha").unwrap();
        for p in ["openssh-server", "corosync", "pacemaker", "sbd", "nfs-kernel-server", "linux-image-amd64"] {
            assert!(r.file.packages.iter().any(|x| x == p), "{p} missing");
        }
        assert_eq!(r.hash().unwrap().len(), 16);
    }

    #[test]
    fn hash_changes_with_any_file() {
        let d = scratch("hash");
        let r = Recipe::load(&d, "demo").unwrap();
        assert_eq!(r.file.variant, "minbase");
        let h1 = r.hash().unwrap();
        assert_eq!(h1, r.hash().unwrap(), "stable");
        std::fs::write(d.join("demo/files/etc/motd"), "hello\n").unwrap();
        let h2 = r.hash().unwrap();
        assert_ne!(h1, h2);
        std::fs::write(d.join("demo/customize.sh"), "true\n").unwrap();
        assert_ne!(h2, r.hash().unwrap());
        assert_eq!(Recipe::all(&d).unwrap().len(), 1);
        assert!(matches!(Recipe::load(&d, "nope"), Err(ImageError::NoRecipe { .. })));
        std::fs::write(
            d.join("demo/recipe.yaml"),
            "name: demo\nsuite: x\nmirror: y\nsize_mib: 1\npackages: []\nbogus: 1\n",
        )
        .unwrap();
        assert!(matches!(Recipe::load(&d, "demo"), Err(ImageError::Recipe { .. })));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
