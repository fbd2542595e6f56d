//! The Proxmox VE repository key when the settings give none: fetched from where the install
//! guide downloads it (or from `HADRILL_PVE_KEY_URL`), checked against the digest the guide
//! documents before anything is kept, and kept in the state directory (`<state>/keys/<file>`),
//! where later runs find it without the network (re-checked on every use; a copy that no
//! longer matches is fetched again).
//!
//! The download is curl's (a subprocess): it is on every host that builds images, follows
//! redirects, speaks TLS and honours the usual proxy variables, and the key is a few kB.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::access::DigestKind;

/// The key the settings' release needs: its file name and its documented digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedKey<'a> {
    pub file: &'a str,
    pub kind: DigestKind,
    pub digest: &'a str,
}

/// Why the key could not be downloaded.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("curl could not be run ({source}); install curl, or give the key with HADRILL_PVE_KEYRING")]
    NoCurl {
        #[source]
        source: std::io::Error,
    },
    /// curl's own last line, e.g. `curl: (7) Failed to connect to … port 9 …`.
    #[error("{message}")]
    Failed { message: String },
}

/// Why no verified key is in the cache.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("fetching {url}: {source}")]
    Fetch {
        url: String,
        #[source]
        source: FetchError,
    },
    #[error("the key fetched from {url} has the {} {actual}, not the documented one", .kind.name())]
    Mismatch { url: String, kind: DigestKind, actual: String },
    #[error("keeping the key in {path}: {source}")]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A key larger than this is not a keyring (Proxmox's are a few kB).
const MAX_KEY_BYTES: &str = "1048576";

/// The verified key in `cache`, fetched from `url` first when there is none (or one that does
/// not match). Nothing is written unless the fetched key matches.
pub fn cached_or_fetched(url: &str, key: ExpectedKey<'_>, cache: &Path) -> Result<PathBuf, KeyError> {
    let path = cache.join(key.file);
    if std::fs::read(&path).is_ok_and(|bytes| key.kind.hex(&bytes) == key.digest) {
        return Ok(path);
    }
    let bytes = fetch(url).map_err(|source| KeyError::Fetch { url: url.to_owned(), source })?;
    let actual = key.kind.hex(&bytes);
    if actual != key.digest {
        return Err(KeyError::Mismatch { url: url.to_owned(), kind: key.kind, actual });
    }
    keep(&path, &bytes).map_err(|source| KeyError::Cache { path: path.clone(), source })?;
    Ok(path)
}

/// The body at `url` (http or https; the caller has checked the scheme), or curl's reason.
pub fn fetch(url: &str) -> Result<Vec<u8>, FetchError> {
    let mut cmd = Command::new("curl");
    cmd.args(["--fail", "--silent", "--show-error", "--location", "--proto", "=http,https"])
        .args(["--connect-timeout", "20", "--max-time", "120", "--max-filesize", MAX_KEY_BYTES])
        .args(["--output", "-"]);
    // A proxy cannot reach this host's loopback; without this, a proxy variable in the
    // environment would send a loopback URL elsewhere.
    if is_loopback(url) {
        cmd.args(["--noproxy", "*"]);
    }
    let out = cmd
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| FetchError::NoCurl { source })?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message = match stderr.lines().map(str::trim).rfind(|l| !l.is_empty()) {
        Some(line) => line.to_owned(),
        None => format!("curl exited with {}", out.status),
    };
    Err(FetchError::Failed { message })
}

/// The host of an http(s) URL is this machine.
fn is_loopback(url: &str) -> bool {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    host.starts_with("127.") || host.starts_with("[::1]") || host == "localhost" || host.starts_with("localhost:")
}

/// Written beside its final name, then renamed: a reader never sees half a key.
fn keep(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let written = std::fs::File::create(&partial).and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
    match written.and_then(|()| std::fs::rename(&partial, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    use super::*;

    /// An HTTP server on the loopback that answers every request with `body`, for as long as
    /// the test runs; its URL.
    pub(crate) fn serve(body: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the loopback");
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let mut s = &stream;
                let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = s.write_all(body);
            }
        });
        format!("http://127.0.0.1:{port}/proxmox-release-bookworm.gpg")
    }

    /// A loopback URL nothing listens on (a port just released), so that connecting is refused.
    pub(crate) fn refusing() -> String {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        format!("http://127.0.0.1:{port}/proxmox-release-bookworm.gpg")
    }

    fn expected(body: &[u8]) -> (DigestKind, String) {
        (DigestKind::Sha512, DigestKind::Sha512.hex(body))
    }

    #[test]
    fn fetched_once_checked_and_kept_then_used_without_the_network() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("keys");
        let body: &'static [u8] = b"a key as the server has it";
        let (kind, digest) = expected(body);
        let key = ExpectedKey { file: "proxmox-release-bookworm.gpg", kind, digest: &digest };
        let path = cached_or_fetched(&serve(body), key, &cache).unwrap();
        assert_eq!(path, cache.join("proxmox-release-bookworm.gpg"));
        assert_eq!(std::fs::read(&path).unwrap(), body);
        // The kept copy is used: nothing listens at the URL any more.
        assert_eq!(cached_or_fetched(&refusing(), key, &cache).unwrap(), path);
        // A kept copy that no longer matches is fetched again.
        std::fs::write(&path, b"damaged").unwrap();
        assert!(matches!(cached_or_fetched(&refusing(), key, &cache), Err(KeyError::Fetch { .. })));
        assert_eq!(cached_or_fetched(&serve(body), key, &cache).unwrap(), path);
        assert_eq!(std::fs::read(&path).unwrap(), body);
        let left: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, ["proxmox-release-bookworm.gpg"], "no partial files left");
    }

    #[test]
    fn a_key_with_another_digest_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("keys");
        let (kind, digest) = expected(b"the documented key");
        let key = ExpectedKey { file: "k.gpg", kind, digest: &digest };
        let err = cached_or_fetched(&serve(b"something else"), key, &cache).unwrap_err();
        assert!(matches!(&err, KeyError::Mismatch { actual, .. } if *actual == kind.hex(b"something else")), "{err}");
        assert!(!cache.exists(), "nothing was written");
    }

    #[test]
    fn a_refused_connection_is_curls_reason() {
        let url = refusing();
        match fetch(&url) {
            // curl's exit code 7: could not connect.
            Err(FetchError::Failed { message }) => assert!(message.contains("(7)"), "{message}"),
            other => panic!("{other:?}"),
        }
        assert!(is_loopback(&url) && is_loopback("http://localhost:8080/k") && is_loopback("https://[::1]/k"));
        assert!(!is_loopback("https://enterprise.proxmox.com/debian/k") && !is_loopback("http://127x.example/"));
    }
}
