//! Host keys of the run's VMs: learnt at first contact, then pinned. Stored one per line as
//! `NODE KEYTYPE BASE64` in the run directory, so a later `hadrill` process pins them too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The outcome of checking an offered host key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostKeyCheck {
    /// First contact: the key is now pinned.
    Learnt,
    /// The pinned key was offered.
    Matches,
    /// Another key than the pinned one was offered.
    Changed { pinned: String },
}

/// The run's known hosts.
#[derive(Debug)]
pub struct KnownHosts {
    path: PathBuf,
    keys: Mutex<BTreeMap<String, String>>,
}

impl KnownHosts {
    /// Loads the file if it exists (an absent file is an empty list).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let mut keys = BTreeMap::new();
        match std::fs::read_to_string(path) {
            Ok(s) => {
                for line in s.lines() {
                    if let Some((host, key)) = line.trim().split_once(' ') {
                        keys.insert(host.to_owned(), key.trim().to_owned());
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(KnownHosts { path: path.to_owned(), keys: Mutex::new(keys) })
    }

    /// Checks `key` (OpenSSH public key text) for `node`, learning it on first contact.
    pub fn check(&self, node: &str, key: &str) -> std::io::Result<HostKeyCheck> {
        let key = key.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        match keys.get(node) {
            Some(pinned) if *pinned == key => Ok(HostKeyCheck::Matches),
            Some(pinned) => Ok(HostKeyCheck::Changed { pinned: pinned.clone() }),
            None => {
                keys.insert(node.to_owned(), key);
                let text: String = keys.iter().map(|(h, k)| format!("{h} {k}\n")).collect();
                let tmp = self.path.with_extension("tmp");
                std::fs::write(&tmp, text)?;
                std::fs::rename(&tmp, &self.path)?;
                Ok(HostKeyCheck::Learnt)
            }
        }
    }

    pub fn get(&self, node: &str) -> Option<String> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).get(node).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_contact_pins_the_key() {
        let p = std::env::temp_dir().join(format!("hadrill-kh-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let kh = KnownHosts::open(&p).unwrap();
        assert_eq!(kh.check("node1", "ssh-ed25519 AAAA1 comment").unwrap(), HostKeyCheck::Learnt);
        assert_eq!(kh.check("node1", "ssh-ed25519 AAAA1").unwrap(), HostKeyCheck::Matches);
        assert_eq!(
            kh.check("node1", "ssh-ed25519 BBBB").unwrap(),
            HostKeyCheck::Changed { pinned: "ssh-ed25519 AAAA1".into() }
        );
        // Another process of the same run pins the same key.
        let again = KnownHosts::open(&p).unwrap();
        assert!(matches!(again.check("node1", "ssh-ed25519 BBBB").unwrap(), HostKeyCheck::Changed { .. }));
        assert_eq!(again.check("node2", "ssh-ed25519 CCCC").unwrap(), HostKeyCheck::Learnt);
        std::fs::remove_file(&p).unwrap();
    }
}
