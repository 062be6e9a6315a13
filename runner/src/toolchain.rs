//! Getting what a run needs onto the machine: the `aarch64-unknown-none`
//! Rust target, QEMU, and the built test kernel.
//!
//! `rustup`, `apt-get`, `id` and `cargo` are driven with xshell, without
//! echoing them (`quiet`). QEMU is launched with `std::process` instead
//! (own process group, time bound, signals): see [`crate::qemu`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use xshell::{cmd, Shell};

use crate::qemu::{self, Qemu, INSTALL_HINT, QEMU_BIN};

/// The kernel's Rust target.
pub const KERNEL_TARGET: &str = "aarch64-unknown-none";

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// Makes sure rustup has the kernel's target, adding it if it can.
///
/// # Errors
/// The exact command to run when it cannot add it itself.
pub fn ensure_target() -> Result<(), String> {
    let unavailable = || {
        format!(
            "rustup is not available to check for the {KERNEL_TARGET} target; install rustup, then run \
             `rustup target add {KERNEL_TARGET}`"
        )
    };
    let sh = Shell::new().map_err(|_| unavailable())?;
    // Only a rustup that cannot be run is "not available": a failing
    // `target list` is read like any other (the add is then attempted).
    let installed =
        cmd!(sh, "rustup target list --installed").quiet().ignore_status().output().map_err(|_| unavailable())?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == KERNEL_TARGET) {
        return Ok(());
    }
    eprintln!("gicv: adding Rust target {KERNEL_TARGET} (rustup target add {KERNEL_TARGET})");
    cmd!(sh, "rustup target add {KERNEL_TARGET}")
        .quiet()
        .run()
        .map_err(|_| format!("could not add the Rust target; run `rustup target add {KERNEL_TARGET}`"))
}

/// Directories where Debian's `qemu-system-arm` package puts the binary,
/// searched when `PATH` does not have it.
pub const SYSTEM_DIRS: [&str; 2] = ["/usr/bin", "/usr/local/bin"];

/// Where to look for QEMU and how to install it: the real machine's
/// ([`Machine::real`]) or a test's.
pub struct Machine<'a> {
    /// Directories of `PATH`, in order.
    pub path: Vec<PathBuf>,
    /// Directories a package install puts `qemu-system-aarch64` in.
    pub system_dirs: Vec<PathBuf>,
    /// Whether an install may be attempted (root with apt-get).
    pub can_install: bool,
    /// Installs QEMU; `Err` says what failed.
    pub install: &'a dyn Fn() -> Result<(), String>,
}

fn apt_install() -> Result<(), String> {
    eprintln!("gicv: {QEMU_BIN} not found; installing qemu-system-arm with apt-get");
    // `run`: stdout and stderr shown, stdin closed (nothing can prompt).
    let sh = Shell::new().map_err(|_| "`apt-get update` failed".to_string())?;
    cmd!(sh, "apt-get update -q").quiet().run().map_err(|_| "`apt-get update` failed".to_string())?;
    cmd!(sh, "apt-get install -y -q --no-install-recommends qemu-system-arm")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .quiet()
        .run()
        .map_err(|_| "`apt-get install qemu-system-arm` failed".to_string())
}

impl Machine<'static> {
    /// This machine: `PATH`, Debian's directories, apt-get when root.
    pub fn real() -> Machine<'static> {
        let path = qemu::path_dirs();
        Machine {
            path,
            system_dirs: SYSTEM_DIRS.iter().map(PathBuf::from).collect(),
            can_install: is_root() && qemu::which("apt-get").is_some(),
            install: &apt_install,
        }
    }
}

impl Machine<'_> {
    /// Finds `qemu-system-aarch64`: on `PATH`, else in the system
    /// directories (a package install is not always on a CI job's `PATH`),
    /// else installs it when allowed and looks again in both.
    ///
    /// # Errors
    /// How to install QEMU by hand, and what the install attempt said.
    pub fn locate_qemu(&self) -> Result<PathBuf, String> {
        let look = || qemu::find_in(&self.path, QEMU_BIN).or_else(|| qemu::find_in(&self.system_dirs, QEMU_BIN));
        if let Some(p) = look() {
            return Ok(p);
        }
        if !self.can_install {
            return Err(format!("{QEMU_BIN} was not found on PATH or in {}; {INSTALL_HINT}", self.dirs()));
        }
        (self.install)().map_err(|e| format!("{e}; {INSTALL_HINT}"))?;
        look().ok_or_else(|| {
            format!(
                "qemu-system-arm was installed but {QEMU_BIN} is not on PATH or in {}; pass --qemu PATH",
                self.dirs()
            )
        })
    }

    fn dirs(&self) -> String {
        self.system_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
    }
}

/// Finds QEMU (`explicit`, else on `PATH` or in Debian's directories); if
/// absent and we are root on a Debian-like system, installs
/// `qemu-system-arm` with apt. The binary is probed ([`qemu::probe`]).
///
/// # Errors
/// How to install QEMU by hand, or why the binary found is not usable.
pub fn ensure_qemu(explicit: Option<&Path>) -> Result<Qemu, String> {
    match explicit {
        Some(p) => qemu::find(Some(p)),
        None => qemu::find(Some(&Machine::real().locate_qemu()?)),
    }
}

/// Builds the test kernel (release) and returns the ELF's path, as cargo
/// reports it: wherever the target directory is (`CARGO_TARGET_DIR`,
/// `build.target-dir`, or `testkernel/target`).
///
/// # Errors
/// Cargo's failure, with the command to reproduce it.
pub fn build_kernel(root: &Path) -> Result<PathBuf, String> {
    build_kernel_into(root, None)
}

/// As [`build_kernel`], with `target_dir` (when given) as
/// `CARGO_TARGET_DIR`.
///
/// # Errors
/// Cargo's failure, with the command to reproduce it; no executable in
/// cargo's messages.
pub fn build_kernel_into(root: &Path, target_dir: Option<&Path>) -> Result<PathBuf, String> {
    let dir = root.join("testkernel");
    let sh = Shell::new().map_err(|e| format!("cannot run cargo: {e}"))?;
    sh.change_dir(&dir);
    let cargo = sh.var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build =
        cmd!(sh, "{cargo} build --release --quiet --message-format=json-render-diagnostics --target {KERNEL_TARGET}")
            // The host build's flags (coverage, sanitizers) must not leak into the kernel.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .quiet();
    if let Some(t) = target_dir {
        build = build.env("CARGO_TARGET_DIR", t);
    }
    // Built with xshell, run with std::process: `build.read()` would close
    // stdin, show cargo's stderr and capture its stdout just like this, but
    // it returns one xshell::Error, with only a text of its own, both when
    // cargo cannot be started (the message quotes the OS error) and when
    // the build fails (a different message).
    let out = Command::from(build)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the test kernel failed; reproduce with `cd {} && cargo build --release --target {KERNEL_TARGET}`",
            dir.display()
        ));
    }
    kernel_from_messages(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| "cargo built the test kernel but reported no executable for it".to_string())
}

/// The `testkernel` executable named in cargo's JSON messages
/// (`--message-format=json`), if any.
pub fn kernel_from_messages(stdout: &str) -> Option<PathBuf> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "testkernel")
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
}

/// The QEMUs of a run: each of `explicit` in order (probed), or when it is
/// empty the default one ([`ensure_qemu`]).
///
/// # Errors
/// A QEMU that is not usable; two binaries with the same version (results
/// and logs are keyed by version, so they could not be told apart).
pub fn ensure_qemus(explicit: &[PathBuf]) -> Result<Vec<Qemu>, String> {
    if explicit.is_empty() {
        return Ok(vec![ensure_qemu(None)?]);
    }
    let mut qemus: Vec<Qemu> = Vec::new();
    for p in explicit {
        let q = ensure_qemu(Some(p))?;
        if let Some(same) = qemus.iter().find(|o| o.version == q.version) {
            return Err(format!(
                "{} and {} are both QEMU {}: results are kept per QEMU version, give each version once",
                same.path.display(),
                q.path.display(),
                q.version
            ));
        }
        qemus.push(q);
    }
    Ok(qemus)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gicv-toolchain-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn qemu_installed_off_path_is_used_not_reported_missing() {
        // As root with QEMU off PATH: the install puts it in a system
        // directory that PATH lacks; it must be found there afterwards.
        let d = scratch("offpath");
        let (bin, sys) = (d.join("bin"), d.join("usr-bin"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&sys).unwrap();
        let installs = Cell::new(0);
        let install = || {
            installs.set(installs.get() + 1);
            std::fs::write(sys.join(QEMU_BIN), "").map_err(|e| e.to_string())
        };
        let m =
            Machine { path: vec![bin.clone()], system_dirs: vec![sys.clone()], can_install: true, install: &install };
        assert_eq!(m.locate_qemu().unwrap(), sys.join(QEMU_BIN));
        assert_eq!(installs.get(), 1);
        // Found there again without another install.
        assert_eq!(m.locate_qemu().unwrap(), sys.join(QEMU_BIN));
        assert_eq!(installs.get(), 1);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn failed_install_says_what_failed_and_how_to_install() {
        let d = scratch("failinstall");
        let install = || Err("`apt-get update` failed".to_string());
        let m = Machine { path: vec![d.clone()], system_dirs: vec![], can_install: true, install: &install };
        let e = m.locate_qemu().unwrap_err();
        assert!(e.starts_with("`apt-get update` failed;") && e.contains("apt-get install"), "{e}");
        let m = Machine { path: vec![d.clone()], system_dirs: vec![], can_install: false, install: &install };
        assert!(m.locate_qemu().unwrap_err().contains("was not found on PATH"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn kernel_path_is_the_one_cargo_reports() {
        let msgs = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"aarch64_rt"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"testkernel"},"executable":"/elsewhere/aarch64-unknown-none/release/testkernel"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            kernel_from_messages(msgs),
            Some(PathBuf::from("/elsewhere/aarch64-unknown-none/release/testkernel"))
        );
        assert_eq!(kernel_from_messages("not json\n"), None);
    }
}
