//! The run's SSH key pair: Ed25519, made from the kernel's random bytes, stored 0600 in the
//! run directory and handed to the guests on their kernel command line.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::{HashAlg, LineEnding, PrivateKey};

use super::SshError;

/// The run's key pair.
#[derive(Clone)]
pub struct RunKey {
    pub private: Arc<PrivateKey>,
    pub path: PathBuf,
}

impl std::fmt::Debug for RunKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunKey").field("path", &self.path).field("fingerprint", &self.fingerprint()).finish()
    }
}

fn key_err(path: &Path, e: impl std::fmt::Display) -> SshError {
    SshError::Key { path: path.to_owned(), message: e.to_string() }
}

impl RunKey {
    /// Makes a new key pair and writes the private half to `path` (mode 0600).
    pub fn create(path: &Path) -> Result<Self, SshError> {
        let mut seed = [0u8; 32];
        std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut seed)).map_err(|e| key_err(path, e))?;
        let private = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
        seed.fill(0);
        let pem = private.to_openssh(LineEnding::LF).map_err(|e| key_err(path, e))?;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| key_err(path, e))?;
        std::io::Write::write_all(&mut f, pem.as_bytes()).map_err(|e| key_err(path, e))?;
        Ok(RunKey { private: Arc::new(private), path: path.to_owned() })
    }

    pub fn load(path: &Path) -> Result<Self, SshError> {
        let pem = std::fs::read_to_string(path).map_err(|e| key_err(path, e))?;
        let private = PrivateKey::from_openssh(pem).map_err(|e| key_err(path, e))?;
        Ok(RunKey { private: Arc::new(private), path: path.to_owned() })
    }

    /// `ssh-ed25519 AAAA...`
    pub fn public_openssh(&self) -> String {
        self.private.public_key().to_openssh().unwrap_or_default()
    }

    /// The public key as one kernel command line argument (`lab.sshkey=TYPE:BASE64`); the
    /// image's `lab-net` turns it into `/root/.ssh/authorized_keys`.
    pub fn cmdline_arg(&self) -> String {
        let pk = self.public_openssh();
        let mut it = pk.split_whitespace();
        format!("lab.sshkey={}:{}", it.next().unwrap_or(""), it.next().unwrap_or(""))
    }

    pub fn fingerprint(&self) -> String {
        self.private.public_key().fingerprint(HashAlg::Sha256).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trips_and_fits_the_command_line() {
        let p = std::env::temp_dir().join(format!("hadrill-key-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let k = RunKey::create(&p).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&p).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        let again = RunKey::load(&p).unwrap();
        assert_eq!(k.public_openssh(), again.public_openssh());
        let arg = k.cmdline_arg();
        assert!(arg.starts_with("lab.sshkey=ssh-ed25519:AAAA"), "{arg}");
        assert!(!arg.contains(' '));
        assert!(RunKey::create(&p).is_err(), "never overwrites a key");
        let other = std::env::temp_dir().join(format!("hadrill-key2-{}", std::process::id()));
        let _ = std::fs::remove_file(&other);
        assert_ne!(RunKey::create(&other).unwrap().public_openssh(), k.public_openssh());
        std::fs::remove_file(&p).unwrap();
        std::fs::remove_file(&other).unwrap();
    }
}
