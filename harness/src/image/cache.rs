//! Built images on disk: `<state>/images/<name>/<hash>/` with `base.qcow2`, `vmlinuz`,
//! `initrd.img` and `image.json`. A directory counts only once `image.json` is written,
//! which the builder does last.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ImageError;

/// One built image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BuiltImage {
    pub name: String,
    pub hash: String,
    /// Seconds since the Unix epoch when the build finished.
    pub built: f64,
    /// How long the build took, in seconds.
    pub build_secs: f64,
    /// Size of the qcow2 base on disk.
    pub base_bytes: u64,
    /// The kernel version the image boots.
    pub kernel_version: String,
    /// The root device on the kernel command line: the builder's ext4 is the whole disk, an
    /// installer's is on LVM (images cached before this field existed are the builder's).
    #[serde(default = "default_root")]
    pub root: String,
    #[serde(skip)]
    pub dir: PathBuf,
}

/// The builder's images: one ext4 file system on the whole virtio disk.
pub const WHOLE_DISK_ROOT: &str = "/dev/vda";

fn default_root() -> String {
    WHOLE_DISK_ROOT.to_owned()
}

impl BuiltImage {
    pub fn base(&self) -> PathBuf {
        self.dir.join("base.qcow2")
    }
    pub fn kernel(&self) -> PathBuf {
        self.dir.join("vmlinuz")
    }
    pub fn initrd(&self) -> PathBuf {
        self.dir.join("initrd.img")
    }
}

/// The image store under a state directory.
#[derive(Clone, Debug)]
pub struct ImageCache {
    pub root: PathBuf,
}

impl ImageCache {
    pub fn new(state_dir: &Path) -> Self {
        ImageCache { root: state_dir.join("images") }
    }

    pub fn dir(&self, name: &str, hash: &str) -> PathBuf {
        self.root.join(name).join(hash)
    }

    /// The image built from exactly this recipe hash, if there is one.
    pub fn get(&self, name: &str, hash: &str) -> Option<BuiltImage> {
        let dir = self.dir(name, hash);
        let s = std::fs::read_to_string(dir.join("image.json")).ok()?;
        let mut img: BuiltImage = serde_json::from_str(&s).ok()?;
        img.dir = dir;
        (img.base().is_file() && img.kernel().is_file() && img.initrd().is_file()).then_some(img)
    }

    pub fn save(&self, img: &BuiltImage) -> Result<(), ImageError> {
        let p = img.dir.join("image.json");
        let s = serde_json::to_string_pretty(img)
            .map_err(|e| ImageError::Recipe { path: p.clone(), message: e.to_string() })?;
        std::fs::write(&p, s).map_err(|e| ImageError::io(&p, e))
    }

    /// Every built image, newest first within a name.
    pub fn list(&self) -> Vec<BuiltImage> {
        let mut out = Vec::new();
        let Ok(names) = std::fs::read_dir(&self.root) else { return out };
        for n in names.flatten() {
            let Ok(hashes) = std::fs::read_dir(n.path()) else { continue };
            for h in hashes.flatten() {
                if let (Some(name), Some(hash)) = (n.file_name().to_str(), h.file_name().to_str())
                    && let Some(img) = self.get(name, hash)
                {
                    out.push(img);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name).then(b.built.total_cmp(&a.built)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complete_images_count() {
        let root = std::env::temp_dir().join(format!("hadrill-cache-{}", std::process::id()));
        let cache = ImageCache::new(&root);
        let dir = cache.dir("demo", "0123456789abcdef");
        std::fs::create_dir_all(&dir).unwrap();
        let img = BuiltImage {
            name: "demo".into(),
            hash: "0123456789abcdef".into(),
            built: 1.0,
            build_secs: 2.0,
            base_bytes: 3,
            kernel_version: "6.1".into(),
            root: WHOLE_DISK_ROOT.into(),
            dir: dir.clone(),
        };
        cache.save(&img).unwrap();
        assert!(cache.get("demo", "0123456789abcdef").is_none(), "files missing");
        for f in ["base.qcow2", "vmlinuz", "initrd.img"] {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        assert_eq!(cache.get("demo", "0123456789abcdef").unwrap().build_secs, 2.0);
        assert_eq!(cache.list().len(), 1);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn images_cached_before_the_root_field_boot_the_whole_disk() {
        let old = r#"{"name":"debian-ha","hash":"0123456789abcdef","built":1.0,"build_secs":2.0,"base_bytes":3,"kernel_version":"6.1"}"#;
        let img: BuiltImage = serde_json::from_str(old).unwrap();
        assert_eq!(img.root, "/dev/vda");
    }
}
