//! `hadrill run` before any lab is made: bad input is refused with exit 4, and the Proxmox VE
//! stack without usable access (the default repository's key out of reach or not the
//! documented one, a wrong key given, a file that is not an ISO, no assistant to prepare the
//! ISO with) with exit 3, all without building an image or touching libvirt. The key is only
//! ever fetched from the loopback.

use std::io::{BufRead, BufReader, Write};

use libtest_mimic::Trial;

use crate::support::{ensure, hadrill, hadrill_with, refusing_key_url, trial};

/// An HTTP server on the loopback that answers every request with `body`; its URL.
fn serve(body: &'static [u8]) -> Result<String, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
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
    Ok(format!("http://127.0.0.1:{port}/proxmox-release-bookworm.gpg"))
}

/// An empty state directory: nothing may appear in it when `run` stops before the lab.
fn untouched(state: &std::path::Path) -> Result<(), String> {
    let left: Vec<_> = std::fs::read_dir(state).map_err(|e| e.to_string())?.flatten().map(|e| e.path()).collect();
    ensure(left.is_empty(), || format!("run made {left:?} before stopping"))
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial("run_cli::invalid_scenario_is_refused_first", || {
            let r = hadrill(&[
                "run",
                "scenarios/pacemaker/power-pull.yaml",
                "tests/fixtures/scenarios/invalid/unknown-anchor.yaml",
            ]);
            ensure(r.code == 4, || format!("exit {} not 4\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(r.stderr.contains("unknown anchor"), || format!("no diagnostic:\n{}", r.stderr))
        }),
        trial("run_cli::pve_is_refused_without_a_lab", || {
            // No settings: the public repository, whose key cannot be fetched (the key URL is a
            // loopback port that refuses). The message says what was tried and how to use a mirror.
            let state = tempfile::tempdir().map_err(|e| e.to_string())?;
            let s = state.path().to_str().unwrap_or_default();
            let url = refusing_key_url();
            let r = hadrill_with(
                &["run", "--state-dir", s, "scenarios/pve/power-pull.yaml"],
                &[("HADRILL_PVE_KEY_URL", &url), ("HADRILL_STATE_DIR", s)],
            );
            ensure(r.code == 3, || format!("exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(r.stderr.contains("Proxmox") && r.stderr.contains("No lab was made"), || r.stderr.clone())?;
            ensure(r.stderr.contains(&format!("tried {url}")), || {
                format!("does not say what was tried:\n{}", r.stderr)
            })?;
            ensure(r.stderr.contains("http://download.proxmox.com/debian/pve (suite bookworm"), || r.stderr.clone())?;
            ensure(r.stderr.contains("HADRILL_PVE_MIRROR") && r.stderr.contains("HADRILL_PVE_KEYRING"), || {
                format!("does not say how:\n{}", r.stderr)
            })?;
            untouched(state.path())
        }),
        trial("run_cli::pve_default_key_with_another_digest_is_refused_and_not_kept", || {
            let state = tempfile::tempdir().map_err(|e| e.to_string())?;
            let s = state.path().to_str().unwrap_or_default();
            let url = serve(b"not the Proxmox key")?;
            let r = hadrill_with(
                &["run", "--state-dir", s, "scenarios/pve/power-pull.yaml"],
                &[("HADRILL_PVE_KEY_URL", &url), ("HADRILL_STATE_DIR", s)],
            );
            ensure(r.code == 3, || format!("exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(
                r.stderr.contains(&format!("the key fetched from {url} is not the Proxmox VE 8"))
                    && r.stderr.contains("sha512sum")
                    && r.stderr.contains("No lab was made"),
                || r.stderr.clone(),
            )?;
            untouched(state.path())
        }),
        trial("run_cli::pve_with_a_wrong_key_is_refused_before_the_image", || {
            let state = tempfile::tempdir().map_err(|e| e.to_string())?;
            let files = tempfile::tempdir().map_err(|e| e.to_string())?;
            let key = files.path().join("proxmox-release-bookworm.gpg");
            std::fs::write(&key, b"not the Proxmox key").map_err(|e| e.to_string())?;
            let s = state.path().to_str().unwrap_or_default();
            let r = hadrill_with(
                &["run", "--state-dir", s, "scenarios/pve/power-pull.yaml"],
                &[("HADRILL_PVE_MIRROR", "http://mirror.lab/debian"), ("HADRILL_PVE_KEYRING", &key.to_string_lossy())],
            );
            ensure(r.code == 3, || format!("exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(r.stderr.contains("sha512sum") && r.stderr.contains("No lab was made"), || r.stderr.clone())?;
            untouched(state.path())
        }),
        trial("run_cli::pve_iso_that_is_not_an_iso_is_refused", || {
            let state = tempfile::tempdir().map_err(|e| e.to_string())?;
            let files = tempfile::tempdir().map_err(|e| e.to_string())?;
            let iso = files.path().join("proxmox-ve_8.4-1.iso");
            std::fs::write(&iso, vec![0u8; 40_000]).map_err(|e| e.to_string())?;
            let s = state.path().to_str().unwrap_or_default();
            let r = hadrill_with(
                &["run", "--state-dir", s, "scenarios/pve/power-pull.yaml"],
                &[("HADRILL_PVE_ISO", &iso.to_string_lossy()), ("HADRILL_PVE_ISO_PREPARED", "1")],
            );
            ensure(r.code == 3, || format!("exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
            ensure(
                r.stderr.contains("proxmox-ve_8.4-1.iso")
                    && r.stderr.contains("HADRILL_PVE_ISO")
                    && r.stderr.contains("No lab was made"),
                || r.stderr.clone(),
            )?;
            untouched(state.path())
        }),
        trial("run_cli::pve_iso_without_an_assistant_says_what_is_missing", || {
            let state = tempfile::tempdir().map_err(|e| e.to_string())?;
            let files = tempfile::tempdir().map_err(|e| e.to_string())?;
            let iso = files.path().join("proxmox-ve_8.4-1.iso");
            let mut bytes = vec![0u8; 40_000];
            bytes[32768] = 1;
            bytes[32769..32774].copy_from_slice(b"CD001");
            std::fs::write(&iso, &bytes).map_err(|e| e.to_string())?;
            let s = state.path().to_str().unwrap_or_default();
            let iso = iso.to_string_lossy();
            // Neither on PATH nor where HADRILL_PVE_ASSISTANT says.
            for vars in [
                vec![("HADRILL_PVE_ISO", iso.as_ref()), ("PATH", "/nonexistent")],
                vec![("HADRILL_PVE_ISO", iso.as_ref()), ("HADRILL_PVE_ASSISTANT", "/nonexistent/assistant")],
            ] {
                let r = hadrill_with(&["run", "--state-dir", s, "scenarios/pve/power-pull.yaml"], &vars);
                ensure(r.code == 3, || format!("{vars:?}: exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
                ensure(
                    r.stderr.contains("proxmox-auto-install-assistant")
                        && r.stderr.contains("HADRILL_PVE_ISO_PREPARED")
                        && r.stderr.contains("No lab was made"),
                    || format!("{vars:?}:\n{}", r.stderr),
                )?;
                untouched(state.path())?;
            }
            Ok(())
        }),
        trial("run_cli::pve_image_and_lab_up_say_what_is_missing", || {
            // `image build` and `lab up` need the same Proxmox repository `run` does.
            let cases: [&[&str]; 2] = [&["image", "build", "pve-debian"], &["lab", "up", "--image", "pve-debian"]];
            for args in cases {
                let state = tempfile::tempdir().map_err(|e| e.to_string())?;
                let s = state.path().to_str().unwrap_or_default();
                let mut all = args.to_vec();
                all.extend(["--state-dir", s]);
                let r = hadrill_with(&all, &[]);
                ensure(r.code == 3, || format!("{args:?}: exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
                ensure(
                    r.stderr.contains("needs the Proxmox repository") && r.stderr.contains("HADRILL_PVE_MIRROR"),
                    || format!("{args:?}:\n{}", r.stderr),
                )?;
                untouched(state.path())?;
            }
            Ok(())
        }),
        trial("run_cli::pve9_has_its_own_image_and_says_what_is_missing", || {
            // Proxmox VE 9 (Debian 13) goes the Debian route with images/pve9-debian: without
            // access, run and image build say what is missing for 9 (the trixie key), nothing more.
            let nine = [("HADRILL_PVE_RELEASE", "9")];
            let cases: [&[&str]; 2] = [&["run", "scenarios/pve/power-pull.yaml"], &["image", "build", "pve9-debian"]];
            for args in cases {
                let state = tempfile::tempdir().map_err(|e| e.to_string())?;
                let s = state.path().to_str().unwrap_or_default();
                let mut all = args.to_vec();
                all.extend(["--state-dir", s]);
                let r = hadrill_with(&all, &nine);
                ensure(r.code == 3, || format!("{args:?}: exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
                ensure(
                    r.stderr.contains("9 (Debian 13 trixie)")
                        && r.stderr.contains("proxmox-archive-keyring-trixie.gpg")
                        && r.stderr.contains("HADRILL_PVE_MIRROR")
                        && !r.stderr.contains("so far"),
                    || format!("{args:?}:\n{}", r.stderr),
                )?;
                untouched(state.path())?;
            }
            Ok(())
        }),
        trial("run_cli::pve_image_of_the_other_release_is_refused", || {
            // A recipe on one Debian release with the repository of the other would mix them.
            let cases = [
                ("pve-debian", "9", "bookworm", "build pve9-debian", "HADRILL_PVE_RELEASE=8"),
                ("pve9-debian", "8", "trixie", "build pve-debian", "HADRILL_PVE_RELEASE=9"),
            ];
            for (recipe, release, suite, build, set) in cases {
                let state = tempfile::tempdir().map_err(|e| e.to_string())?;
                let s = state.path().to_str().unwrap_or_default();
                let r = hadrill_with(
                    &["image", "build", recipe, "--state-dir", s],
                    &[("HADRILL_PVE_RELEASE", release), ("HADRILL_PVE_MIRROR", "http://mirror.lab/debian")],
                );
                ensure(r.code == 3, || format!("{recipe}: exit {} not 3\n{}{}", r.code, r.stdout, r.stderr))?;
                ensure(
                    r.stderr.contains(&format!("recipe {recipe} is Debian {suite}"))
                        && r.stderr.contains(build)
                        && r.stderr.contains(set),
                    || format!("{recipe}:\n{}", r.stderr),
                )?;
                untouched(state.path())?;
            }
            Ok(())
        }),
    ]
}
