//! Getting what a run needs onto the machine: the `aarch64-unknown-none`
//! Rust target, QEMU, and the built test kernel.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::qemu::{self, Qemu, INSTALL_HINT, QEMU_BIN};

/// The kernel's Rust target.
pub const KERNEL_TARGET: &str = "aarch64-unknown-none";

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Makes sure rustup has the kernel's target, adding it if it can.
///
/// # Errors
/// The exact command to run when it cannot add it itself.
pub fn ensure_target() -> Result<(), String> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    match installed {
        Ok(o) if String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == KERNEL_TARGET) => Ok(()),
        Ok(_) => {
            eprintln!("gicv: adding Rust target {KERNEL_TARGET} (rustup target add {KERNEL_TARGET})");
            let st = Command::new("rustup").args(["target", "add", KERNEL_TARGET]).status();
            match st {
                Ok(s) if s.success() => Ok(()),
                _ => Err(format!("could not add the Rust target; run `rustup target add {KERNEL_TARGET}`")),
            }
        }
        Err(_) => Err(format!(
            "rustup is not available to check for the {KERNEL_TARGET} target; install rustup, then run \
             `rustup target add {KERNEL_TARGET}`"
        )),
    }
}

/// Finds QEMU (`explicit` or on `PATH`); if absent and we are root on a
/// Debian-like system, installs `qemu-system-arm` with apt.
///
/// # Errors
/// How to install QEMU by hand.
pub fn ensure_qemu(explicit: Option<&Path>) -> Result<Qemu, String> {
    if explicit.is_some() || qemu::which(QEMU_BIN).is_some() {
        return qemu::find(explicit);
    }
    if is_root() && qemu::which("apt-get").is_some() {
        eprintln!("gicv: {QEMU_BIN} not found; installing qemu-system-arm with apt-get");
        let update = Command::new("apt-get").args(["update", "-q"]).stdin(Stdio::null()).status();
        let install = update.and_then(|_| {
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends", "qemu-system-arm"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdin(Stdio::null())
                .status()
        });
        if !matches!(install, Ok(s) if s.success()) {
            return Err(format!("apt-get could not install qemu-system-arm; {INSTALL_HINT}"));
        }
    }
    qemu::find(None)
}

/// Builds the test kernel (release) and returns the ELF's path.
///
/// # Errors
/// Cargo's failure, with the command to reproduce it.
pub fn build_kernel(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join("testkernel");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let st = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--target", KERNEL_TARGET])
        .current_dir(&dir)
        // The host build's flags (coverage, sanitizers) must not leak into the kernel.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !st.success() {
        return Err(format!(
            "building the test kernel failed; reproduce with `cd {} && cargo build --release --target {KERNEL_TARGET}`",
            dir.display()
        ));
    }
    Ok(kernel_path(root))
}

/// Where `build_kernel` puts the ELF.
pub fn kernel_path(root: &Path) -> PathBuf {
    root.join("testkernel/target").join(KERNEL_TARGET).join("release/testkernel")
}

/// Everything a test run needs, prepared: target, kernel, QEMU.
///
/// # Errors
/// The first thing that could not be prepared, with what to do.
pub fn prepare(root: &Path, qemu: Option<&Path>) -> Result<(PathBuf, Qemu), String> {
    ensure_target()?;
    let kernel = build_kernel(root)?;
    let q = ensure_qemu(qemu)?;
    Ok((kernel, q))
}
