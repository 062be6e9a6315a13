//! Getting what a run needs onto the machine: the `aarch64-unknown-none`
//! Rust target, QEMU, and the built test kernel.
//!
//! `rustup`, `apt-get`, `id` and `cargo` are driven with xshell, without
//! echoing them (`quiet`). QEMU is launched with `std::process` instead
//! (own process group, time bound, signals): see [`crate::launch::qemu`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use xshell::{cmd, Shell};

use crate::launch::qemu::{self, Qemu, INSTALL_HINT, QEMU_BIN};

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
    ensure_rust_target(KERNEL_TARGET)
}

/// Makes sure rustup has Rust target `target` (the kernel's, the KVM VMM's),
/// adding it if it can.
///
/// # Errors
/// The exact command to run when it cannot add it itself.
pub fn ensure_rust_target(target: &str) -> Result<(), String> {
    let unavailable = || {
        format!(
            "rustup is not available to check for the {target} target; install rustup, then run \
             `rustup target add {target}`"
        )
    };
    let sh = Shell::new().map_err(|_| unavailable())?;
    // Only a rustup that cannot be run is "not available": a failing
    // `target list` is read like any other (the add is then attempted).
    let installed =
        cmd!(sh, "rustup target list --installed").quiet().ignore_status().output().map_err(|_| unavailable())?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == target) {
        return Ok(());
    }
    eprintln!("gicv: adding Rust target {target} (rustup target add {target})");
    cmd!(sh, "rustup target add {target}")
        .quiet()
        .run()
        .map_err(|_| format!("could not add the Rust target; run `rustup target add {target}`"))
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

/// The `apt-get` arguments that install `package` without prompting,
/// without recommended packages and **without removing anything**:
/// `--no-remove` (APT::Get::Remove=false) makes apt stop with an error
/// where it would otherwise remove an installed package to make room
/// (e.g. bookworm's `qemu-system-arm` 7.2 next to `qemu-utils` 10.0 from
/// backports, which Breaks `qemu-system-common` << 8.0).
pub fn apt_install_args(package: &str) -> Vec<&str> {
    vec!["install", "-y", "-q", "--no-install-recommends", "--no-remove", package]
}

/// What stopped an `apt-get install` in its output (run with `LC_ALL=C`):
/// the packages listed under "The following packages will be REMOVED:",
/// or the lines under "The following packages have unmet dependencies:"
/// (apt's resolver gives up instead of removing, with `--no-remove`).
/// `None` when the output shows neither.
pub fn apt_conflict(output: &str) -> Option<String> {
    let block = |title: &str| -> Option<Vec<String>> {
        let mut lines = output.lines().skip_while(|l| !l.starts_with(title));
        lines.next()?;
        Some(lines.take_while(|l| l.starts_with(' ')).map(|l| l.trim().to_string()).collect::<Vec<_>>())
    };
    let removed: Vec<String> = block("The following packages will be REMOVED:")
        .unwrap_or_default()
        .join(" ")
        .split_whitespace()
        .map(String::from)
        .collect();
    if !removed.is_empty() {
        return Some(format!("it would remove {}", removed.join(", ")));
    }
    let unmet = block("The following packages have unmet dependencies:").unwrap_or_default();
    (!unmet.is_empty()).then(|| format!("it conflicts with installed packages ({})", unmet.join("; ")))
}

fn apt_install() -> Result<(), String> {
    eprintln!("gicv: {QEMU_BIN} not found; installing qemu-system-arm with apt-get (nothing is removed)");
    let sh = Shell::new().map_err(|_| "`apt-get update` failed".to_string())?;
    // `run`: stdout and stderr shown, stdin closed (nothing can prompt).
    cmd!(sh, "apt-get update -q").quiet().run().map_err(|_| "`apt-get update` failed".to_string())?;
    let args = apt_install_args("qemu-system-arm");
    // Captured (and then shown) so that a conflict can be named.
    let out = Command::from(
        cmd!(sh, "apt-get {args...}").env("DEBIAN_FRONTEND", "noninteractive").env("LC_ALL", "C").quiet(),
    )
    .stdin(Stdio::null())
    .output()
    .map_err(|e| format!("cannot run apt-get: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprint!("{text}");
    if out.status.success() {
        return Ok(());
    }
    Err(match apt_conflict(&text) {
        Some(what) => format!(
            "`apt-get install qemu-system-arm` stopped: {what}, and this project never removes a package; \
             unpack Debian's QEMU next to what is installed with `.ci/install-qemu bookworm` and pass the path \
             it prints with --qemu PATH"
        ),
        None => "`apt-get install qemu-system-arm` failed (apt's output is above)".to_string(),
    })
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
    cargo_build_kernel(root, target_dir, &["--release"])
}

/// Builds the guest-mode test kernel (the EL1 kernel that boots as a VM,
/// `testkernel/src/guest_view.rs`: profile `guest`, features `guest` only)
/// and writes its flat arm64 Image (Linux `booting.rst` header) next to
/// the ELF, as `testkernel.img`; returns the Image's path. QEMU boots it
/// with `-kernel` (entry at EL1, x0 = the DTB) as it boots Linux.
///
/// # Errors
/// Cargo's failure, with the command to reproduce it; an ELF that does not
/// make an arm64 Image ([`gic_devtree::image::ImageError`]); the Image
/// cannot be written.
pub fn build_guest_image(root: &Path) -> Result<PathBuf, String> {
    let elf = cargo_build_kernel(root, None, &["--profile", "guest", "--no-default-features", "--features", "guest"])?;
    let bytes = std::fs::read(&elf).map_err(|e| format!("cannot read {}: {e}", elf.display()))?;
    let (_, image) = gic_devtree::image::elf_to_flat(&bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    gic_devtree::image::Arm64Header::read(&image).map_err(|e| format!("{}: {e}", elf.display()))?;
    let out = elf.with_extension("img");
    std::fs::write(&out, &image).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(out)
}

/// `cargo build <args…> --target <target>` of the crate in `dir`, without
/// the host build's flags (`RUSTFLAGS`, `CARGO_ENCODED_RUSTFLAGS`,
/// `CARGO_BUILD_TARGET`) and with `envs` set; the executable `bin` as cargo
/// reports it.
///
/// # Errors
/// cargo not starting or failing, with the command to reproduce it; no
/// executable `bin` in cargo's messages.
pub(crate) fn cargo_build(
    dir: &Path,
    target: &str,
    bin: &str,
    args: &[&str],
    envs: &[(&str, &std::ffi::OsStr)],
) -> Result<PathBuf, String> {
    let sh = Shell::new().map_err(|e| format!("cannot run cargo: {e}"))?;
    sh.change_dir(dir);
    let cargo = sh.var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build =
        cmd!(sh, "{cargo} build {args...} --quiet --message-format=json-render-diagnostics --target {target}")
            // The host build's flags (coverage, sanitizers) must not leak into a cross build.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .quiet();
    for (k, v) in envs {
        build = build.env(k, v);
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
        let env: String = envs.iter().map(|(k, v)| format!("{k}='{}' ", v.to_string_lossy())).collect();
        return Err(format!(
            "building {bin} failed; reproduce with `cd {} && {env}cargo build {} --target {target}`",
            dir.display(),
            args.join(" ")
        ));
    }
    executable_from_messages(&String::from_utf8_lossy(&out.stdout), bin)
        .ok_or_else(|| format!("cargo built {bin} but reported no executable for it"))
}

/// The `testkernel` build of [`cargo_build`] for [`KERNEL_TARGET`].
fn cargo_build_kernel(root: &Path, target_dir: Option<&Path>, profile: &[&str]) -> Result<PathBuf, String> {
    let envs: Vec<_> = target_dir.map(|t| ("CARGO_TARGET_DIR", t.as_os_str())).into_iter().collect();
    cargo_build(&root.join("testkernel"), KERNEL_TARGET, "testkernel", profile, &envs)
}

/// The executable of the binary target `bin` named in cargo's JSON messages
/// (`--message-format=json`), if any.
pub fn executable_from_messages(stdout: &str, bin: &str) -> Option<PathBuf> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == bin)
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
            executable_from_messages(msgs, "testkernel"),
            Some(PathBuf::from("/elsewhere/aarch64-unknown-none/release/testkernel"))
        );
        assert_eq!(executable_from_messages("not json\n", "testkernel"), None);
    }

    #[test]
    fn apt_install_never_removes_a_package() {
        let args = apt_install_args("qemu-system-arm");
        assert!(args.contains(&"--no-remove"), "{args:?}");
        assert_eq!(args.last(), Some(&"qemu-system-arm"));
    }

    /// apt 2.6's output (LC_ALL=C) on a machine with qemu-utils 10.0 from
    /// bookworm-backports, `apt-get install --no-remove qemu-system-arm`.
    const UNMET: &str = "Reading package lists...\nSome packages could not be installed. This may mean that you have\n\
requested an impossible situation or if you are using the unstable\n\
The following information may help to resolve the situation:\n\n\
The following packages have unmet dependencies:\n \
qemu-utils : Breaks: qemu-system-common (< 1:8.0+dfsg-5~) but 1:7.2+dfsg-7+deb12u18+b2 is to be installed\n\
E: Error, pkgProblemResolver::Resolve generated breaks, this may be caused by held packages.\n";

    /// apt's output when the resolver finds a solution that removes packages.
    const REMOVED: &str = "Reading package lists...\nThe following packages will be REMOVED:\n  qemu-utils \
qemu-block-extra\nThe following NEW packages will be installed:\n  qemu-system-arm\n\
E: Packages need to be removed but remove is disabled.\n";

    #[test]
    fn apt_conflicts_are_named() {
        assert_eq!(apt_conflict(REMOVED).as_deref(), Some("it would remove qemu-utils, qemu-block-extra"));
        let unmet = apt_conflict(UNMET).unwrap();
        assert!(unmet.contains("qemu-utils : Breaks: qemu-system-common (< 1:8.0+dfsg-5~)"), "{unmet}");
        assert_eq!(apt_conflict("E: Unable to locate package qemu-system-arm\n"), None);
    }

    #[test]
    fn a_refused_install_says_what_to_run_instead() {
        let refuse = || Err("`apt-get install qemu-system-arm` stopped: it would remove qemu-utils".to_string());
        let m = Machine { path: vec![], system_dirs: vec![], can_install: true, install: &refuse };
        let e = m.locate_qemu().unwrap_err();
        assert!(e.contains("it would remove qemu-utils") && e.contains(".ci/install-qemu bookworm"), "{e}");
    }
}
