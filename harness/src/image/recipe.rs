//! An image recipe: `images/<name>/recipe.yaml` (what to install), `files/` (copied over the
//! root file system), `essential.sh` (run inside it before the recipe's packages) and
//! `customize.sh` (run inside it after them). Its hash covers all of that, the files it
//! borrows from other recipes, the extra APT repositories it was built with (given at build
//! time, e.g. a mirror of the Proxmox repository and its key) and the builder's own version,
//! and is the cache key.

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
    /// Other recipes whose `files/` are copied in first (this recipe's own files win), so
    /// that the lab's identity mechanism is written once.
    #[serde(default)]
    pub include_files: Vec<String>,
    /// Extra APT repositories the build must be given by name ([`ExtraRepository`]): their
    /// address and key are the user's, not the recipe's (a mirror this host may not reach).
    #[serde(default)]
    pub repositories: Vec<String>,
    /// The kernel the image must boot ends with this (e.g. `-pve`): a build that installed
    /// another kernel fails instead of booting the wrong one.
    #[serde(default)]
    pub kernel_suffix: Option<String>,
}

/// An APT repository added to one build, beside the recipe's Debian mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraRepository {
    /// The name the recipe asks for (`repositories:`).
    pub name: String,
    /// The repository's base URI (the directory that holds `dists/`).
    pub uri: String,
    pub suite: String,
    pub components: Vec<String>,
    /// The repository's key on this host.
    pub keyring: PathBuf,
    /// Where the key goes in the image, as the repository's install guide puts it; the
    /// image's sources name it with `signed-by`.
    pub keyring_target: String,
    /// An HTTP proxy for the repository's host, kept in the image's APT configuration.
    pub proxy: Option<String>,
}

impl ExtraRepository {
    /// The host part of `uri`, for a host-specific proxy setting.
    pub fn host(&self) -> &str {
        let rest = self.uri.split_once("://").map_or(self.uri.as_str(), |(_, r)| r);
        rest.split(['/', ':']).next().unwrap_or(rest)
    }

    /// The one-line source, signed by `keyring` (a host path while building, the image's path
    /// after).
    pub fn source_line(&self, keyring: &str) -> String {
        format!("deb [signed-by={keyring}] {} {} {}", self.uri, self.suite, self.components.join(" "))
    }

    /// Refuses values that would break a sources line or a shell word.
    fn check(&self) -> Result<(), String> {
        let bad = |s: &str| s.is_empty() || s.chars().any(|c| c.is_whitespace() || "'\"[]|\\".contains(c));
        let keyring = self.keyring.to_string_lossy();
        for (what, v) in [("uri", self.uri.as_str()), ("suite", &self.suite), ("keyring", &keyring)] {
            if bad(v) {
                return Err(format!("{what} `{v}` is empty or has spaces, quotes, brackets or `|`"));
            }
        }
        if bad(&self.keyring_target) || !self.keyring_target.starts_with('/') {
            return Err(format!("keyring target `{}` is not an absolute path without spaces", self.keyring_target));
        }
        if self.components.is_empty() || self.components.iter().any(|c| bad(c)) {
            return Err("components must be non-empty words".into());
        }
        if self.proxy.as_deref().is_some_and(bad) {
            return Err("the proxy has spaces or quotes".into());
        }
        Ok(())
    }
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
        if let Some(other) = file.include_files.iter().find(|o| *o == name || o.contains(['/', '.'])) {
            return Err(ImageError::Recipe {
                path,
                message: format!("include_files: `{other}` is not another recipe's name"),
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
        let rd = std::fs::read_dir(recipes_dir)
            .map_err(|source| ImageError::RecipesDir { dir: recipes_dir.to_owned(), source })?;
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

    /// Run in the root file system once the essential packages are in, before the recipe's
    /// packages: answers for their maintainer scripts.
    pub fn essential_script(&self) -> PathBuf {
        self.dir.join("essential.sh")
    }

    /// The `files/` directories of the recipes named in `include_files`, in order.
    pub fn included_files_dirs(&self) -> Result<Vec<PathBuf>, ImageError> {
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        self.file
            .include_files
            .iter()
            .map(|o| {
                let d = parent.join(o).join("files");
                if d.is_dir() {
                    Ok(d)
                } else {
                    Err(ImageError::Recipe {
                        path: self.dir.join("recipe.yaml"),
                        message: format!("include_files: {} is not a directory", d.display()),
                    })
                }
            })
            .collect()
    }

    /// Checks that `repos` are exactly the repositories the recipe asks for, each usable.
    pub fn check_repositories(&self, repos: &[ExtraRepository]) -> Result<(), ImageError> {
        for want in &self.file.repositories {
            if !repos.iter().any(|r| &r.name == want) {
                return Err(ImageError::MissingRepository { recipe: self.name().to_owned(), name: want.clone() });
            }
        }
        for r in repos {
            if !self.file.repositories.contains(&r.name) {
                return Err(ImageError::BadRepository {
                    name: r.name.clone(),
                    message: format!("recipe `{}` does not ask for it", self.name()),
                });
            }
            r.check().map_err(|message| ImageError::BadRepository { name: r.name.clone(), message })?;
        }
        Ok(())
    }

    /// The cache key of a build with `repos`: the recipe's own hash when there are none (so
    /// recipes without extra repositories keep their key), else SHA-256 over it and every
    /// repository (address, suite, components, key bytes, where the key goes, proxy).
    pub fn hash_with(&self, repos: &[ExtraRepository]) -> Result<String, ImageError> {
        let own = self.hash()?;
        if repos.is_empty() {
            return Ok(own);
        }
        let mut h = Sha256::new();
        h.update(own.as_bytes());
        for r in repos {
            let key = std::fs::read(&r.keyring).map_err(|e| ImageError::io(&r.keyring, e))?;
            for part in [&r.name, &r.uri, &r.suite, &r.components.join(" "), &r.keyring_target] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
            h.update((key.len() as u64).to_le_bytes());
            h.update(&key);
            h.update(r.proxy.as_deref().unwrap_or("").as_bytes());
            h.update([0]);
        }
        Ok(hex16(&h.finalize()))
    }

    /// The cache key: SHA-256 over the builder version and every file of the recipe (path,
    /// executable bit, content), in path order; the first 16 hex digits.
    /// Files borrowed through `include_files` count as `include/<recipe>/files/<path>`.
    pub fn hash(&self) -> Result<String, ImageError> {
        let mut files = Vec::new();
        collect(&self.dir, &self.dir, &mut files)?;
        files.sort();
        let mut all: Vec<(PathBuf, PathBuf)> = files.into_iter().map(|rel| (self.dir.join(&rel), rel)).collect();
        for (other, dir) in self.file.include_files.iter().zip(self.included_files_dirs()?) {
            let mut theirs = Vec::new();
            collect(&dir, &dir, &mut theirs)?;
            theirs.sort();
            let prefix = Path::new("include").join(other).join("files");
            all.extend(theirs.into_iter().map(|rel| (dir.join(&rel), prefix.join(rel))));
        }
        let mut h = Sha256::new();
        h.update(BUILDER_VERSION.as_bytes());
        for (p, rel) in all {
            let meta = std::fs::metadata(&p).map_err(|e| ImageError::io(&p, e))?;
            let exec = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0;
            let content = std::fs::read(&p).map_err(|e| ImageError::io(&p, e))?;
            h.update(rel.to_string_lossy().as_bytes());
            h.update([0, exec as u8]);
            h.update((content.len() as u64).to_le_bytes());
            h.update(&content);
        }
        Ok(hex16(&h.finalize()))
    }
}

fn hex16(digest: &[u8]) -> String {
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
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
    fn the_pve_recipe_borrows_debian_ha_files_and_asks_for_the_proxmox_repository() {
        let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("images");
        let r = Recipe::load(&images, "pve-debian").unwrap();
        assert_eq!(r.file.repositories, vec!["proxmox"]);
        assert_eq!(r.file.kernel_suffix.as_deref(), Some("-pve"));
        assert_eq!(r.included_files_dirs().unwrap(), vec![images.join("debian-ha/files")]);
        assert!(!r.file.packages.iter().any(|p| p == "linux-image-amd64"), "the -pve kernel only");
    }

    #[test]
    fn included_files_and_extra_repositories_are_part_of_the_key() {
        let d = scratch("include");
        std::fs::create_dir_all(d.join("base/files/etc")).unwrap();
        std::fs::write(
            d.join("base/recipe.yaml"),
            "name: base\nsuite: bookworm\nmirror: http://m/debian\nsize_mib: 1\npackages: []\n",
        )
        .unwrap();
        std::fs::write(d.join("base/files/etc/lab"), "v1\n").unwrap();
        std::fs::write(
            d.join("demo/recipe.yaml"),
            "name: demo\nsuite: bookworm\nmirror: http://m/debian\nsize_mib: 1\npackages: []\ninclude_files: [base]\nrepositories: [extra]\n",
        )
        .unwrap();
        let r = Recipe::load(&d, "demo").unwrap();
        let h1 = r.hash().unwrap();
        std::fs::write(d.join("base/files/etc/lab"), "v2\n").unwrap();
        let h2 = r.hash().unwrap();
        assert_ne!(h1, h2, "a borrowed file changed");

        let key = d.join("key.gpg");
        std::fs::write(&key, b"key one").unwrap();
        let repo = ExtraRepository {
            name: "extra".into(),
            uri: "http://mirror/pve".into(),
            suite: "bookworm".into(),
            components: vec!["pve-no-subscription".into()],
            keyring: key.clone(),
            keyring_target: "/etc/apt/trusted.gpg.d/extra.gpg".into(),
            proxy: None,
        };
        assert_eq!(r.hash_with(&[]).unwrap(), h2, "no repositories: the recipe's own key");
        let with = r.hash_with(std::slice::from_ref(&repo)).unwrap();
        assert_ne!(with, h2);
        let other_mirror = ExtraRepository { uri: "http://other/pve".into(), ..repo.clone() };
        assert_ne!(r.hash_with(&[other_mirror]).unwrap(), with, "another mirror");
        std::fs::write(&key, b"key two").unwrap();
        assert_ne!(r.hash_with(std::slice::from_ref(&repo)).unwrap(), with, "another key");

        r.check_repositories(std::slice::from_ref(&repo)).unwrap();
        assert!(matches!(r.check_repositories(&[]), Err(ImageError::MissingRepository { .. })));
        let stranger = ExtraRepository { name: "stranger".into(), ..repo.clone() };
        assert!(matches!(r.check_repositories(&[repo.clone(), stranger]), Err(ImageError::BadRepository { .. })));
        let spaced = ExtraRepository { uri: "http://mirror/p ve".into(), ..repo };
        assert!(matches!(r.check_repositories(&[spaced]), Err(ImageError::BadRepository { .. })));
        std::fs::remove_dir_all(&d).unwrap();
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
